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

// archGemmKernels returns the assembly GEMM kernels of level, best first.
// The NEON (12x8) kernel registers here; until it exists every level runs
// the pure-Go kernels.
func archGemmKernels(level string) []*GemmKernel {
	return nil
}

// archDWRow3x3 returns the assembly depthwise 3x3 row kernel of level
// (NEON, once written), or nil for the pure-Go one.
func archDWRow3x3(level string) func(*DWRow) {
	return nil
}
