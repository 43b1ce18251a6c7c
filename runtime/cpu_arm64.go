//go:build arm64 && !purego

package runtime

import "golang.org/x/sys/cpu"

// archLevels returns the ISA levels this CPU supports, best first.
func archLevels() []string {
	if cpu.ARM64.HasASIMD {
		return []string{ISANEON, ISAGeneric}
	}
	return []string{ISAGeneric}
}

// archGemmKernels returns the assembly GEMM kernels of level, best first:
// the NEON 12x8 kernel listed in the generated kernels_arm64.go.
func archGemmKernels(level string) []*GemmKernel {
	return asmGemmKernels(level)
}

// archDWRow3x3 returns the assembly depthwise 3x3 row kernel of level
// (generated, kernels_arm64.go), or nil for the pure-Go one.
func archDWRow3x3(level string) func(*DWRow) {
	return asmDWRow3x3(level)
}

// archDWConv3x3 returns the depthwise 3x3 plane kernel of level: none on
// arm64 yet, so depthwise planes run the row kernel.
func archDWConv3x3(level string) func(*DWConv) {
	return nil
}

// archDWConvSmall3x3 returns the small-plane depthwise kernels of level:
// none on arm64 (there is no plane kernel to go with them).
func archDWConvSmall3x3(level string) func(*DWConv) bool {
	return nil
}

// archIm2col returns the im2col packing kernel of level: none on arm64
// yet, so convolutions pack in Go.
func archIm2col(level string, sw int) func(*PackRun) {
	return nil
}

// archWinograd returns the Winograd transforms of level: none on arm64
// yet, so 3x3 convolutions run as im2col GEMMs.
func archWinograd(level string) (func(*WinoIn), func(*WinoOut)) {
	return nil, nil
}

// archActKernels returns the activation kernels of level: none on arm64
// yet, so activations run the pure-Go kernels.
func archActKernels(level string) [actKinds]func(*ActRows) {
	return [actKinds]func(*ActRows){}
}

// archDWTaps returns the depthwise tap kernel of level: none on arm64
// yet, so those convolutions run the pure-Go one.
func archDWTaps(level string) func(*DWTaps) {
	return nil
}

// archMulRows returns the row-times-constant kernel of level: none on
// arm64 yet.
func archMulRows(level string) func(*MulRows) {
	return nil
}

// archCopyRows returns the row copy of level: none on arm64 yet.
func archCopyRows(level string) (func(*CopyRows), int) {
	return nil, 0
}
