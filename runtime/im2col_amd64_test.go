//go:build amd64 && !purego && unix

package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAsmIm2col runs the im2col kernels of every level (AVX-512, AVX2)
// over kernel sizes up to 8x8 with dilations, windows starting left of,
// inside and right of the plane, above and below it, runs of 1 to the
// kernel's most pixels (32, 16), K ranges starting mid-kernel, against
// packRunGo: identical copies, the other Dst columns untouched, input
// rows and Dst against guard pages (before or after them).
func TestAsmIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	tested := 0
	for _, level := range asmLevels() {
		for _, sw := range []int{1, 2} {
			kern, maxN := asmIm2col(level, sw)
			if kern == nil {
				continue
			}
			for n := 1; n <= maxN; n++ {
				for _, kk := range [][2]int{{1, 1}, {3, 3}, {7, 7}, {1, 8}, {3, 2}} {
					kh, kw := kk[0], kk[1]
					h, w := 1+rng.IntN(9), 1+rng.IntN(70)
					dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
					cin := 1 + rng.IntN(3)
					bufs := &guardedBufs{t: t, rng: rng, front: rng.IntN(2) == 0}
					alloc := bufs.alloc
					a := PackRun{N: n, LDD: n + rng.IntN(5), KH: kh, KW: kw, DH: dh, DW: dw, H: h, W: w, SW: sw,
						IY: rng.IntN(h+4) - 2 - (kh-1)*dh, IX: rng.IntN(w+6) - 3 - (kw-1)*dw}
					if rng.IntN(3) == 0 { // a window inside the plane
						a.IX = rng.IntN(max(1, w-(n-1)*sw-(kw-1)*dw))
					}
					for range cin {
						a.Rows = append(a.Rows, alloc(h*w))
					}
					total := cin * kh * kw
					a.K0 = rng.IntN(total)
					a.KN = 1 + rng.IntN(total-a.K0)
					a.Dst = alloc((a.KN-1)*a.LDD + n)
					checkPackRun(t, kern, a, fmt.Sprintf("%s s%d: %v", level, sw, fmt.Sprint(a.K0, a.KN, a.N, a.IY, a.IX, kh, kw, dh, dw, h, w)))
					bufs.release()
					tested++
				}
			}
		}
	}
	// full runs at the edges of the kernels' interior test: every load of
	// the run inside the row, or the last one reaching one column past it
	for _, level := range asmLevels() {
		for _, sw := range []int{1, 2} {
			kern, n := asmIm2col(level, sw)
			if kern == nil {
				continue
			}
			for _, kk := range [][2]int{{3, 3}, {1, 1}, {7, 7}} {
				kh, kw := kk[0], kk[1]
				const h, dh, dw = 4, 1, 1
				w := n*sw + (kw-1)*dw + 5
				reach := n*sw - 1 + (kw-1)*dw // the last column the loads read, from IX
				for _, ix := range []int{-1, 0, 1, w - 1 - reach, w - reach} {
					bufs := &guardedBufs{t: t, rng: rng, front: ix%2 == 0}
					a := PackRun{N: n, LDD: n, KH: kh, KW: kw, DH: dh, DW: dw, H: h, W: w, SW: sw, IY: -1, IX: ix}
					a.Rows = append(a.Rows, bufs.alloc(h*w))
					a.KN = kh * kw
					a.Dst = bufs.alloc((a.KN-1)*a.LDD + n)
					checkPackRun(t, kern, a, fmt.Sprintf("%s s%d kernel %dx%d IX %d of W %d", level, sw, kh, kw, ix, w))
					bufs.release()
					tested++
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly im2col kernels on this CPU")
	}
}

// checkPackRun runs kern on a and compares Dst bit for bit with what the
// Go packer writes.
func checkPackRun(t *testing.T, kern func(*PackRun), a PackRun, name string) {
	t.Helper()
	want := append([]float32(nil), a.Dst...)
	twin := a
	twin.Dst = want
	packRunGo(&twin)
	kern(&a)
	if i := firstBitDiff(a.Dst, want); i >= 0 {
		t.Errorf("%s: Dst[%d] = %g, want %g", name, i, a.Dst[i], want[i])
	}
}

// TestIm2colConv runs the convolutions of convCases that pack their B
// panels at every level with im2col kernels (AVX-512 for its 32-wide GEMM
// panels, AVX2 for the 16-wide panels of its 6x16 kernel) against the
// reference, weights packed for every CPU and for the level's kernel.
func TestIm2colConv(t *testing.T) {
	tested := 0
	for _, level := range asmLevels() {
		withISA(level, func() {
			for ci, c := range convCases() {
				s := c.s.normalized()
				if k, _ := archIm2col(level, s.StrideW); k == nil || s.KW > im2colMaxKW {
					continue
				}
				mrs := []int{PackMR}
				if mr := GemmKernelForA(PackMR).MR; mr != PackMR {
					mrs = append(mrs, mr)
				}
				for _, packMR := range mrs {
					rng := rand.New(rand.NewPCG(uint64(ci), 7))
					name := fmt.Sprintf("%s/case%d/%v/mr=%d", level, ci, s, packMR)
					conv := checkConvCase(t, name, c, packMR, rng)
					if conv.pointwise {
						continue
					}
					if conv.im2col == nil {
						t.Errorf("%s: packs without the im2col kernel", name)
					}
					tested++
				}
			}
		})
	}
	if tested == 0 {
		t.Skip("no assembly im2col kernels on this CPU")
	}
}
