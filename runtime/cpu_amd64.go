//go:build amd64 && !purego

package runtime

import "golang.org/x/sys/cpu"

// archLevels returns the ISA levels this CPU supports, best first.
func archLevels() []string {
	var levels []string
	x := cpu.X86
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX2 && x.HasFMA && x.HasBMI2 {
		levels = append(levels, ISAAVX512)
	}
	if x.HasAVX2 && x.HasFMA {
		levels = append(levels, ISAAVX2)
	}
	return append(levels, ISAGeneric)
}

// archQLevels returns the int8 levels this CPU supports, best first.
func archQLevels() []string {
	var levels []string
	x := cpu.X86
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX512VNNI && x.HasAVX2 {
		levels = append(levels, ISAAVX512VNNI)
	}
	if x.HasAVXVNNI && x.HasAVX2 {
		levels = append(levels, ISAAVXVNNI)
	}
	if x.HasAVX2 {
		levels = append(levels, ISAAVX2)
	}
	return append(levels, ISAGeneric)
}

// archQGemmKernels returns the int8 GEMM kernels of int8 level level,
// best first (generated, kernels_amd64.go).
func archQGemmKernels(level string) []*QGemmKernel {
	return asmQGemmKernels(level)
}

// archTranspose returns the float32 block transpose of level
// (generated, kernels_amd64.go) and its block side, or nil.
func archTranspose(level string) (func(dst, src *float32, ld, ldd, blocks int), int) {
	return asmTranspose(level)
}

// archQFGemmKernel returns the int8 GEMM kernel with a float32 result of
// int8 level level (generated, kernels_amd64.go), or nil.
func archQFGemmKernel(level string) *QFGemmKernel { return asmQFGemmKernel(level) }

// qpackChunk is the shortest run of pixels the packing kernel (QPack)
// takes: its smaller step (runs of 16 or more take steps of 16).
const qpackChunk = 8

// archQuantize returns the quantisation, requantisation and
// dequantisation kernels of int8 level level (quantizeU8x8AVX2,
// requantizeU8x8AVX2 and dequantizeU8x16AVX2 at every level with AVX2),
// or nils.
func archQuantize(level string) (quantizeKernel, quantizeKernel, dequantizeKernel) {
	if level == ISAGeneric {
		return nil, nil, nil
	}
	return quantizeU8x8AVX2, requantizeU8x8AVX2, dequantizeU8x16AVX2
}

// archQPack returns the int8 packing kernel of int8 level level
// (generated, kernels_amd64.go), or nil.
func archQPack(level string) func(*QPack) { return asmQPack(level) }

// archQDWConv returns the int8 depthwise kernel of int8 level
// level (generated, kernels_amd64.go), or nil for the pure-Go one. The
// AVX-512 kernel also needs VPERMB (AVX512_VBMI), masked byte stores
// (AVX512BW) and BZHI.
func archQDWConv(level string) func(*QDWConv) {
	x := cpu.X86
	if !x.HasAVX512VBMI || !x.HasAVX512BW || !x.HasBMI2 {
		return nil
	}
	return asmQDWConv(level)
}

// archGemmKernels returns the assembly GEMM kernels of level, best first:
// the avo-generated AVX-512 (12x32) and AVX2 (6x16) kernels listed in the
// generated kernels_amd64.go.
func archGemmKernels(level string) []*GemmKernel {
	return asmGemmKernels(level)
}

// archDWRow3x3 returns the assembly depthwise 3x3 row kernel of level
// (generated, kernels_amd64.go), or nil for the pure-Go one.
func archDWRow3x3(level string) func(*DWRow) {
	return asmDWRow3x3(level)
}

// archDWConv3x3 returns the assembly depthwise 3x3 plane kernel of level
// (generated, kernels_amd64.go), or nil.
func archDWConv3x3(level string) func(*DWConv) {
	return asmDWConv3x3(level)
}

// archDWConvSmall3x3 returns the assembly small-plane depthwise 3x3
// kernels of level (generated, kernels_amd64.go), or nil, and where the
// flat one beats the plane kernel (BenchmarkDWFlatRule): on AVX-512
// where it runs at most two thirds of the plane kernel's vectors, or a
// call has at most two rows (within 8% elsewhere); on AVX2 for rows of
// up to 20 columns (it loses by 20-60% at 40 and 56).
func archDWConvSmall3x3(level string) (func(*DWConv) bool, dwFlatRule) {
	switch level {
	case ISAAVX512:
		return asmDWConvSmall3x3(level), dwFlatRule{lanes: 16, share: [2]int{2, 3}, maxRows: 2}
	case ISAAVX2:
		return asmDWConvSmall3x3(level), dwFlatRule{lanes: 8, maxWidth: 20}
	}
	return nil, dwFlatRule{}
}

// archIm2col returns the assembly im2col packing kernel of level for
// horizontal stride sw and the most pixels it packs per call (generated,
// kernels_amd64.go), or nil.
func archIm2col(level string, sw int) (func(*PackRun), int) {
	return asmIm2col(level, sw)
}

// archWinograd returns the assembly Winograd transforms of level and the
// most tiles they take per call (generated, kernels_amd64.go), or nils.
func archWinograd(level string) (func(*WinoIn), func(*WinoOut), int) {
	return asmWinograd(level)
}

// archActKernels returns the assembly activation kernels of level by kind
// (generated, kernels_amd64.go), nil where there is none.
func archActKernels(level string) [actKinds]func(*ActRows) {
	return asmActKernels(level)
}

// archDWTaps returns the assembly depthwise tap kernel of level
// (generated, kernels_amd64.go), or nil for the pure-Go one.
func archDWTaps(level string) func(*DWTaps) {
	return asmDWTaps(level)
}

// archMulRows returns the assembly row-times-constant kernel of level
// (generated, kernels_amd64.go), or nil for the pure-Go one.
func archMulRows(level string) func(*MulRows) {
	return asmMulRows(level)
}

// archCopyRows returns the assembly row copy of level and the largest
// source column stride it takes (generated, kernels_amd64.go), or nil.
func archCopyRows(level string) (func(*CopyRows), int) {
	return asmCopyRows(level)
}

// archCopyBytes returns the assembly byte-row copy of level, or nil: the
// AVX-512 one needs byte masks (AVX512BW) and BZHI.
func archCopyBytes(level string) func(*CopyBytes) {
	if level != ISAAVX512 || !cpu.X86.HasAVX512BW || !cpu.X86.HasBMI2 {
		return nil
	}
	return copyU8RowsAVX512
}

// readsVendor: CPUVendor reads CPUID.
const readsVendor = true

// CPUVendor returns the CPU's vendor string (CPUID leaf 0), such as
// GenuineIntel or AuthenticAMD.
func CPUVendor() string {
	ebx, edx, ecx := cpuVendor()
	var b [12]byte
	for i, r := range [3]uint32{ebx, edx, ecx} {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(r), byte(r>>8), byte(r>>16), byte(r>>24)
	}
	return string(b[:])
}
