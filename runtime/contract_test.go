package runtime

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// rowsTiles counts the tiles contract kernels computed under TileRowsB.
var rowsTiles atomic.Int64

// contractKernel is the Tile contract evaluated literally, with TileRowsB
// support: a stand-in for the assembly kernels, so the drivers' paths for
// them (direct rows, other tile sizes) are tested before they exist.
func contractKernel(mr, nr int) *GemmKernel {
	return &GemmKernel{
		Name: fmt.Sprintf("f32_gemm_minmax_%dx%d__contract", mr, nr), MR: mr, NR: nr, KC: 48, RowsB: true,
		Tile: func(t *Tile) {
			if t.Flags&TileRowsB != 0 {
				rowsTiles.Add(1)
			}
			gemmTileRef(t, mr, nr, func(a, b, acc float32) float32 { return acc + a*b })
		},
	}
}

// gemmTileRef implements the Tile contract for an mr x nr tile element by
// element, each multiply-add done by madd(a, b, acc).
func gemmTileRef(t *Tile, mr, nr int, madd func(a, b, acc float32) float32) {
	for i := range mr {
		for j := range nr {
			var acc float32
			if t.Flags&TileAccumulate != 0 {
				acc = t.C[i*t.LDC+j]
			}
			for k := range t.K {
				var b float32
				if t.Flags&TileRowsB != 0 {
					b = t.BRows[k][t.BOff+j]
				} else {
					b = t.B[k*t.LDB+j]
				}
				acc = madd(t.A[k*t.LDA+i], b, acc)
			}
			if t.Flags&TileEpilogue != 0 {
				acc += t.Bias[i]
				if t.R != nil {
					acc += t.R[i*t.LDR+j]
				}
				acc = clamp(acc, t.Lo, t.Hi)
			}
			t.C[i*t.LDC+j] = acc
		}
	}
}

// withKernels runs fn with ks as the registered kernels (and no
// transposed-C kernel).
func withKernels(ks []*GemmKernel, fn func()) {
	saved, savedTC := gemmKernels, gemmTC
	gemmKernels, gemmTC = ks, nil
	defer func() { gemmKernels, gemmTC = saved, savedTC }()
	fn()
}

// TestConvWithOtherKernels runs the conv and dense cases on kernels of the
// planned assembly shapes (6x16 AVX2, 12x32 AVX-512, 12x8 NEON), reading
// pointwise inputs and a stem's phase planes straight from the rows.
func TestConvWithOtherKernels(t *testing.T) {
	for _, k := range []*GemmKernel{contractKernel(6, 16), contractKernel(12, 32), contractKernel(12, 8)} {
		withKernels([]*GemmKernel{k}, func() {
			for ci, c := range convCases() {
				s := c.s.normalized()
				rng := rand.New(rand.NewPCG(uint64(ci), 77))
				rows, _ := convInput(t, rng, c)
				w := randFloats(rng, s.Cout*s.Cin/s.Group*s.KH*s.KW)
				bias := randFloats(rng, s.Cout)
				var res []float32
				if c.residual {
					res = randFloats(rng, s.OutLen())
				}
				packed, _ := PackConvWeights(w, s.Cout, s.Cin/s.Group, s.KH, s.KW, s.Group, PackMR)
				conv, err := NewConv(c.s, packed, PackMR, bias, c.act)
				if err != nil {
					t.Fatal(err)
				}
				if conv.Kernel() != k.Name {
					t.Fatalf("conv chose %s, want %s", conv.Kernel(), k.Name)
				}
				want := refConv(s, rows, w, bias, res, c.act)
				before := rowsTiles.Load()
				withPools(t, func(p *Pool) {
					out := make([]float32, s.OutLen())
					conv.Run(p, rows, out, res)
					checkClose(t, fmt.Sprintf("%s case%d %v threads=%d", k.Name, ci, s, p.Threads()), out, want, 1e-5)
				})
				direct := rowsTiles.Load() > before
				// a phase plan reads every tile from its phase planes' rows, a
				// strided 1x1 its subsampled input's as a pointwise one
				pw := conv
				if conv.sub != nil {
					pw = conv.sub
				}
				if wantDirect := pw.pointwise && pw.ohw >= k.NR || conv.phase != nil; direct != wantDirect {
					t.Errorf("%s case%d %v: tiles read from rows: %v, want %v", k.Name, ci, s, direct, wantDirect)
				}
			}
			batch, in, outN := 5, 100, 70
			rng := rand.New(rand.NewPCG(1, 77))
			x, w, bias := randFloats(rng, batch*in), randFloats(rng, outN*in), randFloats(rng, outN)
			packed, _ := PackDenseWeights(w, outN, in, PackNR)
			d, err := NewDense(batch, in, outN, packed, PackNR, bias, Relu)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, batch*outN)
			for n := range batch {
				for o := range outN {
					acc := float64(bias[o])
					for kk := range in {
						acc += float64(x[n*in+kk]) * float64(w[o*in+kk])
					}
					want[n*outN+o] = refAct(Relu, acc)
				}
			}
			p := NewPool(2)
			defer p.Close()
			y := make([]float32, batch*outN)
			d.Run(p, x, y)
			checkClose(t, k.Name+" dense", y, want, 1e-5)
		})
	}
}

func TestKernelSelection(t *testing.T) {
	avx512, avx2 := contractKernel(12, 32), contractKernel(6, 16)
	withKernels([]*GemmKernel{avx512, avx2}, func() {
		for _, c := range []struct {
			pack   int
			forA   bool
			wantMR int
			wantNR int
		}{
			{12, true, 12, 32}, // the best kernel whose MR divides the panel
			{6, true, 6, 16},   // 12 rows do not fit 6-row panels
			{8, true, 4, 16},   // no registered kernel: pure Go, MR dividing 8
			{5, true, 5, 16},
			{32, false, 12, 32}, // dense: NR divides the packed width
			{16, false, 6, 16},
			{24, false, 6, 8}, // pure Go, NR dividing 24
		} {
			var k *GemmKernel
			if c.forA {
				k = GemmKernelForA(c.pack)
			} else {
				k = GemmKernelForB(c.pack)
			}
			if k.MR != c.wantMR || k.NR != c.wantNR {
				t.Errorf("pack %d (A %v): got %s, want %dx%d", c.pack, c.forA, k.Name, c.wantMR, c.wantNR)
			}
		}
	})
	switch ISA() {
	case ISAAVX512, ISAAVX2, ISANEON, ISAGeneric:
	default:
		t.Errorf("unknown ISA level %q", ISA())
	}
	if len(GemmKernels()) != len(gemmKernels) {
		t.Error("GemmKernels does not list the registered kernels")
	}
}
