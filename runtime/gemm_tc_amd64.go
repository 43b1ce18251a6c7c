//go:build amd64 && !purego

package runtime

// archGemmTC returns the transposed-C kernel of level (AVX-512 only: its
// in-register transposes need the 32 registers and masked stores), its
// short kernels in Short, or nil.
func archGemmTC(level string) *GemmKernel {
	if level != ISAAVX512 {
		return nil
	}
	tc := func(name string, mr int, tile func(*Tile)) *GemmKernel {
		return &GemmKernel{Name: name, MR: mr, NR: 32, TransC: true, Tile: tile}
	}
	k := tc("f32_gemm_tc_minmax_12x32__avx512", 12, gemmTCF32Minmax12x32AVX512)
	k.Short = []*GemmKernel{
		tc("f32_gemm_tc_minmax_4x32__avx512", 4, gemmTCF32Minmax4x32AVX512),
		tc("f32_gemm_tc_minmax_8x32__avx512", 8, gemmTCF32Minmax8x32AVX512),
	}
	return k
}
