//go:build amd64 && !purego

package runtime

// archMaxPoolRow returns the 3x3 stride-2 max-pool row kernel of level
// (AVX-512 only: it deinterleaves with two-source permutes), or nil.
func archMaxPoolRow(level string) func(*MaxPoolRow) {
	if level == ISAAVX512 {
		return maxpoolF32S2P1AVX512
	}
	return nil
}
