//go:build amd64 && !purego

package runtime

import "golang.org/x/sys/cpu"

// archLevels returns the ISA levels this CPU supports, best first.
func archLevels() []string {
	var levels []string
	x := cpu.X86
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX2 && x.HasFMA {
		levels = append(levels, ISAAVX512)
	}
	if x.HasAVX2 && x.HasFMA {
		levels = append(levels, ISAAVX2)
	}
	return append(levels, ISAGeneric)
}

// archGemmKernels returns the assembly GEMM kernels of level, best first.
// The avo-generated AVX2 (6x16) and AVX-512 (12x32) kernels register here;
// until they exist every level runs the pure-Go kernels.
func archGemmKernels(level string) []*GemmKernel {
	return nil
}

// archDWRow3x3 returns the assembly depthwise 3x3 row kernel of level
// (AVX2 and AVX-512, once written), or nil for the pure-Go one.
func archDWRow3x3(level string) func(*DWRow) {
	return nil
}
