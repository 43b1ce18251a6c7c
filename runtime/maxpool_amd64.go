//go:build amd64 && !purego

package runtime

import "golang.org/x/sys/cpu"

// archMaxPoolRow returns the 3x3 stride-2 max-pool row kernel of level
// (AVX-512 only: it deinterleaves with two-source permutes), or nil.
func archMaxPoolRow(level string) func(*MaxPoolRow) {
	if level == ISAAVX512 {
		return maxpoolF32S2P1AVX512
	}
	return nil
}

// archQMaxPoolRow returns the uint8 twin of archMaxPoolRow's kernel
// (AVX-512 with byte and word instructions), or nil.
func archQMaxPoolRow(level string) func(*QMaxPoolRow) {
	if level == ISAAVX512 && cpu.X86.HasAVX512BW {
		return maxpoolU8S2P1AVX512
	}
	return nil
}
