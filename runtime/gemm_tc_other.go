//go:build !amd64 || purego

package runtime

// archGemmTC returns nil: only the AVX-512 level has transposed-C kernels.
func archGemmTC(string) *GemmKernel { return nil }
