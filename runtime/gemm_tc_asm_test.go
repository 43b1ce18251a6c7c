//go:build (amd64 || arm64) && !purego

package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// gemmTileTCFMA is the exact-FMA twin of the transposed-C kernels (see
// GemmKernel.TransC).
func gemmTileTCFMA(t *Tile, mr, nr int) {
	for i := range mr {
		for j := range nr {
			var acc float32
			for k := range t.K {
				acc = fma32(t.A[k*t.LDA+i], t.B[k*t.LDB+j], acc)
			}
			acc += t.Bias[j]
			if t.R != nil {
				acc += t.R[j*t.LDR+i]
			}
			t.C[j*t.LDC+i] = clamp(acc, t.Lo, t.Hi)
		}
	}
}

// TestAsmGemmTCKernels runs the transposed-C kernels over K sizes around
// the unrolling, strides, misalignments, clamp bounds, with and without a
// residual: bit-identical to the exact-FMA twin over the whole C buffer,
// so nothing outside the transposed tile is written.
func TestAsmGemmTCKernels(t *testing.T) {
	k := archGemmTC(ISAAVX512)
	if k == nil || !slices.Contains(archLevels(), ISAAVX512) {
		t.Skip("no transposed-C kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, k := range append([]*GemmKernel{k}, k.Short...) {
		if !k.TransC {
			t.Fatalf("%s is not marked TransC", k.Name)
		}
		for _, K := range []int{0, 1, 3, 4, 5, 8, 63, 64, 65, 300} {
			for rmode := range 2 {
				for range 3 {
					tl := gemmCase(rng, k, K, TileEpilogue, 0)
					// transposed shapes: C and R are NR rows of MR, Bias NR long
					ldc := []int{k.MR, k.MR + 1, 49}[rng.IntN(3)]
					o := rng.IntN(16)
					tl.C, tl.LDC = randFloats(rng, o+k.NR*ldc)[o:], ldc
					tl.Bias = randFloats(rng, k.NR)
					if rmode == 1 {
						tl.LDR = []int{k.MR, 49, 196}[rng.IntN(3)]
						tl.R = randFloats(rng, o+k.NR*tl.LDR)[o:]
					}
					// the flags the kernel must ignore
					tl.Flags |= []int{0, TileAccumulate, TileRowsB}[rng.IntN(3)]
					name := fmt.Sprintf("%s K=%d residual=%d LDA=%d LDB=%d LDC=%d LDR=%d flags=%03b", k.Name, K, rmode, tl.LDA, tl.LDB, tl.LDC, tl.LDR, tl.Flags)
					tw := tl
					tw.C = slices.Clone(tl.C)
					gemmTileTCFMA(&tw, k.MR, k.NR)
					k.Tile(&tl)
					if i := firstBitDiff(tl.C, tw.C); i >= 0 {
						t.Errorf("%s: C[%d] = %g, exact-FMA twin %g", name, i, tl.C[i], tw.C[i])
					}
				}
			}
		}
	}
}
