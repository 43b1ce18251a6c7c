//go:build (amd64 || arm64) && !purego

package runtime

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The int8 assembly kernels against their twin, qgemmTileGo: the QTile
// contract has one exact result (integer accumulation, float32 steps
// rounded one by one), so every kernel must match it bit for bit.

// asmQLevels returns the int8 assembly levels this CPU runs, best first.
func asmQLevels() []string {
	return slices.DeleteFunc(archQLevels(), func(l string) bool { return l == ISAGeneric })
}

// asmQGemmOnThisCPU returns every int8 assembly GEMM kernel this CPU runs,
// short ones included.
func asmQGemmOnThisCPU() []*QGemmKernel {
	var ks []*QGemmKernel
	for _, l := range asmQLevels() {
		for _, k := range archQGemmKernels(l) {
			for _, k := range append([]*QGemmKernel{k}, k.Short...) {
				if !slices.Contains(ks, k) {
					ks = append(ks, k)
				}
			}
		}
	}
	return ks
}

// randQTile returns a tile for kernel k with random operands: K4 quads,
// A panels of lda bytes per quad, C and R rows of ldc and ldr bytes, and
// scales that spread the outputs over the byte range.
func randQTile(rng *rand.Rand, k *QGemmKernel, k4, lda, ldc, ldr int, res bool) *QTile {
	t := &QTile{K4: k4, LDA: lda, LDC: ldc, LDR: ldr}
	t.A = make([]int8, max(1, k4)*lda)
	for i := range t.A {
		if k.Weights7Bit {
			t.A[i] = int8(rng.IntN(129) - 64)
		} else {
			t.A[i] = int8(rng.IntN(256) - 128)
		}
	}
	t.B = make([]uint8, max(1, k4)*4*k.NR)
	for i := range t.B {
		t.B[i] = uint8(rng.IntN(256))
	}
	t.Offset = make([]int32, k.MR)
	t.Scale = make([]float32, k.MR)
	for i := range k.MR {
		t.Offset[i] = int32(rng.IntN(1<<20) - 1<<19)
		t.Scale[i] = float32((0.5 + rng.Float64()) * 100 / (float64(max(1, k4)) * 2000 * 64))
	}
	t.C = make([]uint8, (k.MR-1)*ldc+k.NR)
	rq := QRequant{Zero: uint8(rng.IntN(256)), Lo: uint8(rng.IntN(40)), Hi: uint8(215 + rng.IntN(41))}
	if res {
		rq.Add = &QAdd{ConvScale: 0.02, ConvZero: uint8(rng.IntN(256)), ResScale: 0.015 + 0.01*rng.Float32(),
			ResZero: uint8(rng.IntN(256)), OutScale: 0.025 + 0.01*rng.Float32(), ResidualFirst: rng.IntN(2) == 0}
		t.R = make([]uint8, (k.MR-1)*ldr+k.NR)
		for i := range t.R {
			t.R[i] = uint8(rng.IntN(256))
		}
	}
	rq.setEpilogue(t)
	return t
}

func TestQGemmKernelsAgainstTwin(t *testing.T) {
	ks := asmQGemmOnThisCPU()
	if len(ks) == 0 {
		t.Skip("no int8 assembly kernels on this CPU")
	}
	for ki, k := range ks {
		checkQGemmKernel(t, k, rand.New(rand.NewPCG(uint64(ki), 99)))
	}
}

// checkQGemmKernel runs k on random tiles (depths, residuals and their
// operand orders, row strides) against qgemmTileGo, bit for bit, and
// checks that it writes nothing between the rows.
func checkQGemmKernel(t *testing.T, k *QGemmKernel, rng *rand.Rand) {
	t.Helper()
	n := 0
	for _, k4 := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 80} {
		for _, res := range []bool{false, true} {
			for _, lda := range []int{4 * k.MR, 4*k.MR + 4*rng.IntN(3)} {
				ldc, ldr := k.NR+rng.IntN(5), k.NR+rng.IntN(5)
				tile := randQTile(rng, k, k4, lda, ldc, ldr, res)
				want := *tile
				want.C = slices.Clone(tile.C)
				qgemmTileGo(&want, k.MR, k.NR, k.SignedB)
				rows := k.RowsB && rng.IntN(2) == 1
				if rows {
					// B's quads in rows at an offset, B itself gone
					tile.BOff = rng.IntN(40)
					tile.BRows = make([][]uint8, k4)
					for q := range tile.BRows {
						row := make([]uint8, tile.BOff+4*k.NR+rng.IntN(5))
						copy(row[tile.BOff:], tile.B[q*4*k.NR:(q+1)*4*k.NR])
						tile.BRows[q] = row
					}
					tile.B = nil
				}
				k.Tile(tile)
				for i := range k.MR {
					for j := range k.NR {
						if g, w := tile.C[i*ldc+j], want.C[i*ldc+j]; g != w {
							t.Fatalf("%s, K4 %d, LDA %d, residual %v, B in rows %v: C[%d][%d] = %d, twin %d", k.Name, k4, lda, res, rows, i, j, g, w)
						}
					}
				}
				// bytes between the rows are not the kernel's
				for i := range len(tile.C) {
					if i%ldc >= k.NR && tile.C[i] != 0 {
						t.Fatalf("%s: wrote C[%d] outside the tile", k.Name, i)
					}
				}
				n++
			}
		}
	}
	t.Logf("%s: %d tiles", k.Name, n)
}

// TestQConvLevels runs the convolution cases at every int8 level of this
// CPU against the reference, and checks that each level runs its own
// kernels.
func TestQConvLevels(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, level := range archQLevels() {
		withQISA(level, func() {
			seen := checkQConvCases(t, p, "level "+level, 23)
			for kern := range seen {
				_, kl, _ := strings.Cut(kern, "__")
				if kl != "go" && !slices.Contains(capLevels(archQLevels(), level), kl) {
					t.Errorf("level %s ran %s, of a higher level", level, kern)
				}
			}
			if level != ISAGeneric && !seenSuffix(seen, "__"+level) {
				t.Errorf("level %s never ran its kernels: %v", level, seen)
			}
			t.Logf("level %s: %v", level, seen)
		})
	}
}

func seenSuffix(seen map[string]bool, suffix string) bool {
	for k := range seen {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

func TestQPackKernel(t *testing.T) {
	var kern func(*QPack)
	for _, l := range asmQLevels() {
		if k := archQPack(l); k != nil {
			kern = k
		}
	}
	if kern == nil {
		t.Skip("no int8 packing kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 0
	for _, nr := range []int{8, 16, 32} {
		for np := qpackChunk; np <= nr; np++ {
			for _, q := range []int{1, 2, 5} {
				sw := 1 + n%2
				flip := []uint32{0, 0x80808080}[n/2%2]
				off := rng.IntN(7)
				a := QPack{Off: off, Q: q, SW: sw, N: np, NR: nr, Flip: flip}
				a.Rows = make([][]uint8, 4*q)
				for i := range a.Rows {
					a.Rows[i] = make([]uint8, off+sw*np+rng.IntN(5))
					for x := range a.Rows[i] {
						a.Rows[i][x] = uint8(rng.IntN(256))
					}
				}
				want := make([]uint8, 4*q*nr+4)
				for i := range want {
					want[i] = uint8(rng.IntN(256))
				}
				got := slices.Clone(want)
				a.Dst = want
				qpackGo(&a)
				a.Dst = got
				kern(&a)
				if i := firstByteDiff(got, want); i >= 0 {
					t.Fatalf("NR %d, N %d, Q %d, SW %d, flip %#x: byte %d is %d, want %d", nr, np, q, sw, flip, i, got[i], want[i])
				}
				n++
			}
		}
	}
	t.Logf("%d packings", n)
}

// TestQDWConvKernels checks each level's int8 depthwise kernel against
// qdwConvGo on random planes (shapes, paddings, strides, channels), then
// the depthwise shapes at every level against the reference.
func TestQDWConvKernels(t *testing.T) {
	n := 0
	for _, level := range asmQLevels() {
		kern := archQDWConv(level)
		if kern == nil {
			continue
		}
		rng := rand.New(rand.NewPCG(7, 8))
		for _, stride := range []int{1, 2} {
			for _, iw := range []int{1, 2, 5, 15, 16, 17, 31, 33, 40, 56, 63, 64, 65, 90, 100, 112, 130, 150, 200, 226} {
				ih := 1 + rng.IntN(5)
				pt, pl := rng.IntN(3), rng.IntN(3)
				oh := max(1, (ih+pt+rng.IntN(3)-3)/stride+1)
				ow := max(1, (iw+pl+rng.IntN(3)-3)/stride+1)
				ch := 1 + rng.IntN(3)
				a := QDWConv{C: ch, IH: ih, IW: iw, OH: oh, OW: ow, Stride: stride, PadTop: pt, PadLeft: pl,
					InZero: int32(rng.IntN(256)), Zero: int32(rng.IntN(256)),
					Scratch: make([]uint8, qdwScratchLen(oh, ow, stride))}
				a.Lo, a.Hi = float32(-a.Zero+int32(rng.IntN(30))), float32(255-a.Zero-int32(rng.IntN(30)))
				for range ch {
					row := make([]uint8, ih*iw)
					for i := range row {
						row[i] = uint8(rng.IntN(256))
					}
					a.In = append(a.In, row)
					a.Offset = append(a.Offset, int32(rng.IntN(20000)-10000))
					a.Scale = append(a.Scale, float32(0.002+0.002*rng.Float64()))
					for range 12 {
						a.W = append(a.W, int8(rng.IntN(256)-128))
					}
				}
				want := make([]uint8, ch*oh*ow+16)
				for i := range want {
					want[i] = uint8(rng.IntN(256))
				}
				got := slices.Clone(want)
				a.O = want[:ch*oh*ow]
				qdwConvGo(&a)
				a.O = got[:ch*oh*ow]
				kern(&a)
				if i := firstByteDiff(got, want); i >= 0 {
					t.Fatalf("level %s, stride %d, %d channels %dx%d -> %dx%d, pads %d,%d: byte %d is %d, want %d",
						level, stride, ch, ih, iw, oh, ow, pt, pl, i, got[i], want[i])
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Skip("no int8 depthwise kernel on this CPU")
	}
	p := NewPool(2)
	defer p.Close()
	for _, level := range archQLevels() {
		withQISA(level, func() { runQDepthwise(t, p) })
	}
	t.Logf("%d kernel calls", n)
}
