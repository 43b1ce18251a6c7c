package runtime

import (
	"os"
	"slices"
)

// ISA levels, from the most to the least capable. Kernels are selected at
// init for the best level the CPU supports; the environment variable
// TSMC_ISA may name a lower level (to compare kernels, or to test the
// fallbacks), never a higher one.
//
// The float32 kernels and the int8 kernels have levels of their own (ISA
// and QISA), ranked in one order:
//
//	amd64: avx512vnni > avx512 > avxvnni > avx2 > generic
//	arm64: neondot > neon > generic
//
// TSMC_ISA=x keeps, of each list, the levels ranked at or below x:
// TSMC_ISA=avxvnni runs the AVX2 float32 kernels and the AVX-VNNI int8
// ones, TSMC_ISA=avx2 AVX2 kernels only, TSMC_ISA=neon the NEON float32
// kernels and the int8 kernels without the dot-product instructions.
const (
	ISAAVX512VNNI = "avx512vnni" // amd64 int8: AVX512_VNNI (VPDPBUSD on ZMM)
	ISAAVX512     = "avx512"     // amd64: AVX-512F (+VL), 32 ZMM registers, masks
	ISAAVXVNNI    = "avxvnni"    // amd64 int8: AVX-VNNI (VEX-encoded VPDPBUSD on YMM)
	ISAAVX2       = "avx2"       // amd64: AVX2 + FMA3
	ISANEONDOT    = "neondot"    // arm64 int8: the dot-product extension (SDOT)
	ISANEON       = "neon"       // arm64: Advanced SIMD
	ISAGeneric    = "generic"    // pure Go
)

// isaRanks orders the levels of each architecture, best first (see the
// constants).
var isaRanks = [][]string{
	{ISAAVX512VNNI, ISAAVX512, ISAAVXVNNI, ISAAVX2, ISAGeneric},
	{ISANEONDOT, ISANEON, ISAGeneric},
}

// capLevels returns the levels of list (best first, ending with
// ISAGeneric) ranked at or below want; a want of another architecture or
// unknown leaves the list as it is.
func capLevels(list []string, want string) []string {
	for _, rank := range isaRanks {
		r := slices.Index(rank, want)
		if r < 0 || !slices.Contains(rank, list[0]) {
			continue
		}
		for i, l := range list {
			if slices.Index(rank, l) >= r {
				return list[i:]
			}
		}
	}
	return list
}

var isa = ISAGeneric

// qisa is the level of the int8 kernels.
var qisa = ISAGeneric

// ISA returns the instruction-set level the float32 kernels were selected
// for.
func ISA() string { return isa }

// QISA returns the instruction-set level the int8 kernels were selected
// for.
func QISA() string { return qisa }

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
	levels, qlevels := archLevels(), archQLevels() // best first, ending with ISAGeneric
	if want := os.Getenv("TSMC_ISA"); want != "" {
		levels, qlevels = capLevels(levels, want), capLevels(qlevels, want)
	}
	selectKernels(levels[0])
	selectQKernels(qlevels[0])
}

// selectQKernels sets the int8 kernel variables to the kernels of level.
func selectQKernels(level string) {
	qisa = level
	qgemmKernels = archQGemmKernels(level)
	qfgemmKernel = qfgemmGo
	if k := archQFGemmKernel(level); k != nil {
		qfgemmKernel = k
	}
	qpack = qpackGo
	if k := archQPack(level); k != nil {
		qpack = k
	}
	qdwConv = archQDWConv(level)
	quantizeAsm, requantizeAsm, dequantizeAsm = archQuantize(level)
}

// selectKernels sets the kernel variables to the kernels of level (tests
// switch levels through it too).
func selectKernels(level string) {
	isa = level
	gemmKernels = archGemmKernels(level)
	gemmTC = archGemmTC(level)
	maxPoolRow = archMaxPoolRow(level)
	transposeBlocks, transposeSide = archTranspose(level)
	qmaxPoolRow = archQMaxPoolRow(level)
	dwRow3x3 = dwRow3x3Go
	if k := archDWRow3x3(level); k != nil {
		dwRow3x3 = k
	}
	dwConv3x3 = archDWConv3x3(level)
	dwConvSmall3x3, dwFlat = archDWConvSmall3x3(level)
	copyRowsAsm, copyRowsMaxSS = archCopyRows(level)
	copyBytesAsm = archCopyBytes(level)
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
