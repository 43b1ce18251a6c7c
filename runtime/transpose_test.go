package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackLaneMajorTranspose checks packLaneMajor with the block
// transpose of every level this CPU runs against packLaneMajorGo bit for
// bit: lanes and depths below, at and past the blocks, panels of several
// widths, strides and alignments, scales, and that nothing past the
// panels' lanes is written.
func TestPackLaneMajorTranspose(t *testing.T) {
	defer func(f func(dst, src *float32, ld, ldd, blocks int), side int) {
		transposeBlocks, transposeSide = f, side
	}(transposeBlocks, transposeSide)
	rng := rand.New(rand.NewPCG(3, 3))
	levels := 0
	for _, l := range archLevels() {
		f, side := archTranspose(l)
		if f == nil {
			continue
		}
		levels++
		transposeBlocks, transposeSide = f, side
		for _, nl := range []int{1, 7, 8, 15, 16, 17, 33, 96, 100} {
			for _, kn := range []int{1, 8, 15, 16, 17, 64, 65, 130, 400} {
				for _, w := range []int{8, 12, 16, 32} {
					for _, extra := range []int{0, 3} {
						for _, scale := range []float32{1, 0.5} {
							ld := kn + extra
							shift := rng.IntN(4)
							src := make([]float32, shift+nl*ld)
							for i := range src {
								src[i] = rng.Float32()
							}
							size := ceilDiv(nl, w)*kn*w + 5
							want, got := make([]float32, size), make([]float32, size)
							for i := range want {
								want[i], got[i] = -1, -1
							}
							packLaneMajorGo(want, src[shift:], ld, nl, kn, w, scale)
							packLaneMajor(got, src[shift:], ld, nl, kn, w, scale)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s: nl=%d kn=%d w=%d ld=%d scale=%g: dst[%d] = %v, want %v", l, nl, kn, w, ld, scale, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	}
	if levels == 0 {
		t.Skip(fmt.Sprintf("no block transpose at %v", archLevels()))
	}
}
