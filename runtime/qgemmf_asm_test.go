//go:build (amd64 || arm64) && !purego

package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQFGemmKernelsAgainstTwin checks every int8 assembly kernel with a
// float32 result this CPU runs against qfgemmTileGo bit for bit (the
// QFTile contract has one exact result): depths from none to past the
// unrolled loop, A panels wider than the tile, C rows of several strides
// and alignments, the values at the ends of their ranges, the rows'
// maxima with and without Max, and that nothing outside the tile is
// written.
func TestQFGemmKernelsAgainstTwin(t *testing.T) {
	var ks []*QFGemmKernel
	for _, l := range asmQLevels() {
		if k := archQFGemmKernel(l); k != nil {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		t.Skip("no int8 assembly kernels with a float32 result on this CPU")
	}
	for ki, k := range ks {
		checkQFGemmKernel(t, k, rand.New(rand.NewPCG(uint64(ki), 7)))
	}
}

// checkQFGemmKernel runs k against qfgemmTileGo on the tiles
// TestQFGemmKernelsAgainstTwin describes.
func checkQFGemmKernel(t *testing.T, k *QFGemmKernel, rng *rand.Rand) {
	t.Helper()
	for _, k4 := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 64, 65, 130} {
		for _, extraA := range []int{0, 4, 12} {
			for _, ldc := range []int{k.NR, k.NR + 1, k.NR + 7, 3 * k.NR} {
				for _, shift := range []int{0, 1, 3} {
					for _, extreme := range []bool{false, true} {
						for _, withMax := range []bool{false, true} {
							name := fmt.Sprintf("%s k4=%d lda=%d ldc=%d shift=%d extreme=%v max=%v", k.Name, k4, 4*k.MR+extraA, ldc, shift, extreme, withMax)
							checkQFTile(t, name, rng, k, k4, 4*k.MR+extraA, ldc, shift, extreme, withMax)
						}
					}
				}
			}
		}
	}
}

func checkQFTile(t *testing.T, name string, rng *rand.Rand, k *QFGemmKernel, k4, lda, ldc, shift int, extreme, withMax bool) {
	t.Helper()
	tile := QFTile{K4: k4, LDA: lda, LDC: ldc, Scale: float32(math.Ldexp(0.5+rng.Float64(), -12))}
	tile.A = make([]int8, max(1, k4)*lda)
	tile.B = make([]uint8, max(1, k4)*4*k.NR)
	for i := range tile.A {
		tile.A[i] = int8(rng.IntN(256) - 128)
		if extreme {
			tile.A[i] = -128
		}
	}
	for i := range tile.B {
		tile.B[i] = uint8(rng.IntN(256))
		if extreme {
			tile.B[i] = 255
		}
	}
	tile.Offset, tile.Col = make([]int32, k.MR), make([]int32, k.NR)
	for i := range tile.Offset {
		tile.Offset[i] = int32(rng.IntN(1<<24) - 1<<23)
	}
	for j := range tile.Col {
		tile.Col[j] = int32(rng.IntN(1<<24) - 1<<23)
	}
	n := shift + (k.MR-1)*ldc + k.NR + 5
	want, got := make([]float32, n), make([]float32, n)
	for i := range got {
		want[i], got[i] = -7, -7
	}
	// Max starts below, inside and above the tile's values
	var wantMax, gotMax []float32
	if withMax {
		wantMax = make([]float32, k.MR)
		for i := range wantMax {
			wantMax[i] = float32(math.Ldexp(rng.Float64()-0.5, 14)) * tile.Scale
		}
		wantMax[0] = float32(math.Inf(-1))
		gotMax = append([]float32(nil), wantMax...)
	}
	tile.C, tile.Max = want[shift:], wantMax
	qfgemmTileGo(&tile, k.MR, k.NR)
	tile.C, tile.Max = got[shift:], gotMax
	k.Tile(&tile)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: C[%d] = %v, want %v", name, i-shift, got[i], want[i])
		}
	}
	for i := range gotMax {
		if gotMax[i] != wantMax[i] {
			t.Fatalf("%s: Max[%d] = %v, want %v", name, i, gotMax[i], wantMax[i])
		}
	}
}
