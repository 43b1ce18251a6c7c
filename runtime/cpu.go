package runtime

import (
	"os"
	"slices"
)

// ISA levels, from the most to the least capable. Kernels are selected at
// init for the best level the CPU supports; the environment variable
// TSMC_ISA may name a lower level (to compare kernels, or to test the
// fallbacks), never a higher one.
const (
	ISAAVX512  = "avx512"  // amd64: AVX-512F (+VL), 32 ZMM registers, masks
	ISAAVX2    = "avx2"    // amd64: AVX2 + FMA3
	ISANEON    = "neon"    // arm64: Advanced SIMD
	ISAGeneric = "generic" // pure Go
)

var isa = ISAGeneric

// ISA returns the instruction-set level the kernels were selected for.
func ISA() string { return isa }

// GemmKernels returns the names of the GEMM micro-kernels usable on this
// CPU, best first (the pure-Go kernels, always available, are not listed).
func GemmKernels() []string {
	names := make([]string, len(gemmKernels))
	for i, k := range gemmKernels {
		names[i] = k.Name
	}
	return names
}

func init() {
	levels := archLevels() // best first, ending with ISAGeneric
	if want := os.Getenv("TSMC_ISA"); want != "" {
		if i := slices.Index(levels, want); i >= 0 {
			levels = levels[i:]
		}
	}
	selectKernels(levels[0])
}

// selectKernels sets the kernel variables to the kernels of level (tests
// switch levels through it too).
func selectKernels(level string) {
	isa = level
	gemmKernels = archGemmKernels(level)
	gemmTC = archGemmTC(level)
	maxPoolRow = archMaxPoolRow(level)
	dwRow3x3 = dwRow3x3Go
	if k := archDWRow3x3(level); k != nil {
		dwRow3x3 = k
	}
	dwConv3x3 = archDWConv3x3(level)
	dwConvSmall3x3 = archDWConvSmall3x3(level)
	copyRowsAsm, copyRowsMaxSS = archCopyRows(level)
	mulRows = mulRowsGo
	if k := archMulRows(level); k != nil {
		mulRows = k
	}
	dwTaps = dwTapsGo
	if k := archDWTaps(level); k != nil {
		dwTaps = k
	}
	actKernels = actGoKernels
	for kind, k := range archActKernels(level) {
		if k != nil {
			actKernels[kind] = k
		}
	}
}
