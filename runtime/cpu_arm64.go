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

// archQLevels returns the int8 levels this CPU supports, best first:
// neondot with the dot-product extension (SDOT; x/sys/cpu calls it
// ASIMDDP), neon without it.
func archQLevels() []string {
	if !cpu.ARM64.HasASIMD {
		return []string{ISAGeneric}
	}
	if cpu.ARM64.HasASIMDDP {
		return []string{ISANEONDOT, ISANEON, ISAGeneric}
	}
	return []string{ISANEON, ISAGeneric}
}

// archQGemmKernels returns the int8 GEMM kernels of int8 level level,
// best first (generated, kernels_arm64.go).
func archQGemmKernels(level string) []*QGemmKernel { return asmQGemmKernels(level) }

// archTranspose: arm64 packs lane-major panels in Go.
func archTranspose(level string) (func(dst, src *float32, ld, ldd, blocks int), int) { return nil, 0 }

// archQFGemmKernel: arm64 has no int8 GEMM kernel with a float32 result
// yet; the pure-Go one runs.
func archQFGemmKernel(level string) *QFGemmKernel { return nil }

// qpackChunk is the pixel step of the packing kernel (QPack).
const qpackChunk = 8

// archQuantize: arm64 quantises and dequantises in Go.
func archQuantize(level string) (quantizeKernel, quantizeKernel, dequantizeKernel) {
	return nil, nil, nil
}

// archQPack returns the int8 packing kernel of int8 level level
// (generated, kernels_arm64.go), or nil.
func archQPack(level string) func(*QPack) { return asmQPack(level) }

// archQDWConv returns the int8 depthwise kernel of int8 level level:
// the SDOT plane kernel with the dot-product extension, else nil for the
// pure-Go one.
func archQDWConv(level string) func(*QDWConv) {
	if level == ISANEONDOT {
		return qdwConvNEON
	}
	return nil
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
func archDWConvSmall3x3(level string) (func(*DWConv) bool, dwFlatRule) {
	return nil, dwFlatRule{}
}

// archIm2col returns the im2col packing kernel of level and the most
// pixels it packs per call: none on arm64 yet, so convolutions pack in Go.
func archIm2col(level string, sw int) (func(*PackRun), int) {
	return nil, 0
}

// archWinograd returns the Winograd transforms of level and the most
// tiles they take per call: none on arm64 yet, so 3x3 convolutions run as
// im2col GEMMs.
func archWinograd(level string) (func(*WinoIn), func(*WinoOut), int) {
	return nil, nil, 0
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

func archCopyBytes(level string) func(*CopyBytes) { return nil }
