package naming

import "testing"

func TestNames(t *testing.T) {
	for _, c := range []struct {
		k            Kernel
		name, goName string
	}{
		{Kernel{Op: "gemm", MinMax: true, Shape: "12x32", ISA: "avx512"},
			"f32_gemm_minmax_12x32__avx512", "gemmF32Minmax12x32AVX512"},
		{Kernel{Op: "gemm", Variant: "TC", MinMax: true, Shape: "4x32", ISA: "avx512"},
			"f32_gemm_tc_minmax_4x32__avx512", "gemmTCF32Minmax4x32AVX512"},
		{Kernel{Op: "dwconv", Variant: "2Row", MinMax: true, Shape: "3x3s2", ISA: "avx512"},
			"f32_dwconv_2row_minmax_3x3s2__avx512", "dwconv2RowF32Minmax3x3s2AVX512"},
		{Kernel{Op: "im2col", Shape: "S1", ISA: "avx512"},
			"f32_im2col_s1__avx512", "im2colF32S1AVX512"},
		{Kernel{Op: "gemm", MinMax: true, Shape: "12x8", ISA: "neon"},
			"f32_gemm_minmax_12x8__neon", "gemmF32Minmax12x8NEON"},
		{Kernel{Type: "qu8_qc8w", Op: "gemm", MinMax: true, Requant: "fp32", Shape: "12x32c4", ISA: "avx512vnni"},
			"qu8_qc8w_gemm_minmax_fp32_12x32c4__avx512vnni", "gemmQU8Minmax12x32c4AVX512VNNI"},
		{Kernel{Type: "qu8_qc8w", Op: "gemm", Variant: "W7", MinMax: true, Requant: "fp32", Shape: "4x16c4", ISA: "avx2"},
			"qu8_qc8w_gemm_w7_minmax_fp32_4x16c4__avx2", "gemmW7QU8Minmax4x16c4AVX2"},
	} {
		if got := c.k.Name(); got != c.name {
			t.Errorf("%+v: Name %q, want %q", c.k, got, c.name)
		}
		if got := c.k.GoName(); got != c.goName {
			t.Errorf("%+v: GoName %q, want %q", c.k, got, c.goName)
		}
	}
}
