//go:build (amd64 || arm64) && !purego

package runtime

// Tests of the generated assembly kernels (asm/: avo for amd64, the neon
// emitter for arm64, run under qemu-aarch64 on other hosts): every
// assembly kernel against its twins, and the whole drivers at every ISA
// level of this CPU.
//
// Two twins per kernel. The exact-FMA twin evaluates the contract with
// each multiply-add rounded once, as VFMADD231PS and FMLA do: the assembly
// must match it bit for bit. The pure-Go kernels (gemm_go.go, dwRow3x3Go)
// may round the product and the sum separately (on amd64 the compiler
// fuses only at GOAMD64=v3), so against them results agree within
// rounding: for the GEMM, per element, the error bound of two K-term
// float32 sums, (K+2)·2⁻²³·Σ|terms| (a max-norm relative 1e-6 is too
// tight: K = 63 already reaches 2.4e-6); for the 9-tap depthwise rows,
// relative 1e-6.

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// fma32 returns a*b+c rounded once to float32. a*b is exact in float64 and
// math.FMA rounds the sum once to float64; rounding that to float32 again
// can differ from rounding the exact sum only when the float64 result is a
// float32 midpoint (every float32 midpoint is a float64, and rounding is
// monotonic), and then the exact sum is rounded with math/big.
func fma32(a, b, c float32) float32 {
	r := math.FMA(float64(a), float64(b), float64(c))
	f := float32(r)
	if float64(f) == r || math.IsInf(float64(f), 0) || math.IsNaN(r) {
		return f
	}
	g := math.Nextafter32(f, float32(math.Copysign(math.Inf(1), r-float64(f))))
	if (float64(f)+float64(g))/2 != r {
		return f
	}
	x := new(big.Float).SetPrec(1 << 10).SetFloat64(float64(a))
	x.Mul(x, big.NewFloat(float64(b)))
	x.Add(x, big.NewFloat(float64(c)))
	f, _ = x.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	// a*b = 2^-24 - 2^-70 + 2^-47·..., so a*b+c lies just below the midpoint
	// 1 + 2^-23 + 2^-24: rounded once it is 1 + 2^-23; rounded to float64
	// first it lands on the midpoint, which rounds to even, 1 + 2^-22.
	a, b, c := float32(1+0x1p-23), float32(0x1p-24-0x1p-47), float32(1+0x1p-23)
	if naive := float32(math.FMA(float64(a), float64(b), float64(c))); naive != 1+0x1p-22 {
		t.Fatalf("not a double-rounding case: %g", naive)
	}
	if got := fma32(a, b, c); got != 1+0x1p-23 {
		t.Errorf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, float32(1+0x1p-23))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 { // against math/big on random operands
		a, b, c := float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		x := new(big.Float).SetPrec(1 << 10).SetFloat64(float64(a))
		x.Mul(x, big.NewFloat(float64(b)))
		x.Add(x, big.NewFloat(float64(c)))
		want, _ := x.Float32()
		if got := fma32(a, b, c); got != want {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}

// gemmTileFMA is the exact-FMA twin of the GEMM kernels: the Tile
// contract with every multiply-add rounded once.
func gemmTileFMA(t *Tile, mr, nr int) { gemmTileRef(t, mr, nr, fma32) }

// dwRowFMA is the exact-FMA twin of the depthwise row kernels: the first
// tap a product, the others fused multiply-adds in row-major order.
func dwRowFMA(a *DWRow) {
	for j := range a.O {
		var acc float32
		for y, r := range [3][]float32{a.R0, a.R1, a.R2} {
			for x := range 3 {
				v := r[j*a.Stride+x]
				if y == 0 && x == 0 {
					acc = a.W[0] * v
				} else {
					acc = fma32(a.W[3*y+x], v, acc)
				}
			}
		}
		acc += a.Bias
		if a.Res != nil {
			acc += a.Res[j]
		}
		a.O[j] = clamp(acc, a.Lo, a.Hi)
	}
}

// asmLevels returns the assembly levels this CPU runs, best first.
func asmLevels() []string {
	return slices.DeleteFunc(archLevels(), func(l string) bool { return l == ISAGeneric })
}

// asmGemmOnThisCPU returns every assembly GEMM kernel this CPU runs.
func asmGemmOnThisCPU() []*GemmKernel {
	var ks []*GemmKernel
	for _, l := range asmLevels() {
		for _, k := range asmGemmKernels(l) {
			for _, k := range append([]*GemmKernel{k}, k.Short...) {
				if !slices.Contains(ks, k) {
					ks = append(ks, k)
				}
			}
		}
	}
	return ks
}

// withISA runs fn with the kernels of level selected, as TSMC_ISA=level
// would select them at init.
func withISA(level string, fn func()) {
	saved := isa
	defer selectKernels(saved)
	selectKernels(level)
	fn()
}

// TestAsmLayout checks that the assembly was generated for the current
// layout of every argument block it reads (regenerate with go generate
// ./runtime/).
func TestAsmLayout(t *testing.T) {
	types := map[string]reflect.Type{
		"Tile": reflect.TypeFor[Tile](), "DWRow": reflect.TypeFor[DWRow](), "DWConv": reflect.TypeFor[DWConv](),
		"PackRun": reflect.TypeFor[PackRun](), "WinoIn": reflect.TypeFor[WinoIn](), "WinoOut": reflect.TypeFor[WinoOut](),
		"MaxPoolRow": reflect.TypeFor[MaxPoolRow](), "QTile": reflect.TypeFor[QTile](), "QFTile": reflect.TypeFor[QFTile](),
		"QPack": reflect.TypeFor[QPack](), "QDWConv": reflect.TypeFor[QDWConv](), "QDWPlane": reflect.TypeFor[QDWPlane](),
		"ActRows": reflect.TypeFor[ActRows](), "DWTaps": reflect.TypeFor[DWTaps](), "MulRows": reflect.TypeFor[MulRows](),
		"CopyRows": reflect.TypeFor[CopyRows](), "CopyBytes": reflect.TypeFor[CopyBytes](), "colSeg": reflect.TypeFor[colSeg](),
	}
	for _, name := range []string{"Tile", "DWRow"} {
		if asmLayouts[name] == nil {
			t.Errorf("the assembly records no layout of %s", name)
		}
	}
	for name, asm := range asmLayouts {
		typ, ok := types[name]
		if !ok {
			t.Errorf("the assembly reads an argument block %s this test does not know", name)
			continue
		}
		if typ.NumField() != len(asm) {
			t.Errorf("%v has %d fields, the assembly knows %d", typ, typ.NumField(), len(asm))
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if off, ok := asm[f.Name]; !ok || off != f.Offset {
				t.Errorf("%v.%s at offset %d, the assembly reads %d (known: %v)", typ, f.Name, f.Offset, off, ok)
			}
		}
	}
}

// gemmCase is a random tile for kernel k: strides, buffer offsets (1..15
// floats of misalignment), clamp bounds and the residual are drawn from
// rng. rmode: 0 no residual, 1 a broadcast row (LDR 0), 2 a full one.
func gemmCase(rng *rand.Rand, k *GemmKernel, K, flags, rmode int) Tile {
	pick := func(v ...int) int { return v[rng.IntN(len(v))] }
	off := func() int { return rng.IntN(16) }
	buf := func(n int) []float32 { o := off(); return randFloats(rng, o+n)[o:] }
	lda := pick(k.MR, k.MR+1, 2*k.MR+3, PackMR*((k.MR+PackMR-1)/PackMR))
	ldb := pick(k.NR, k.NR+1, k.NR+5)
	ldc := pick(k.NR, k.NR+3, 2*k.NR)
	bounds := [][2]float32{{float32(math.Inf(-1)), float32(math.Inf(1))}, {0, float32(math.Inf(1))}, {0, 6}, {-0.5, 0.25}}[rng.IntN(4)]
	tl := Tile{
		// A and B get one spare row: the Go kernels slice them even at K = 0
		A: buf((K + 1) * lda), C: buf(k.MR * ldc), Bias: buf(k.MR),
		K: K, LDA: lda, LDB: ldb, LDC: ldc, Lo: bounds[0], Hi: bounds[1], Flags: flags,
	}
	if flags&TileRowsB != 0 {
		tl.BOff = off()
		tl.BRows = make([][]float32, K)
		for kk := range tl.BRows {
			tl.BRows[kk] = buf(tl.BOff + k.NR + rng.IntN(3))
		}
	} else {
		tl.B = buf((K + 1) * ldb)
	}
	switch rmode {
	case 1:
		tl.R, tl.LDR = buf(k.NR), 0
	case 2:
		tl.LDR = pick(k.NR, k.NR+7)
		tl.R = buf(k.MR * tl.LDR)
	}
	return tl
}

// beyondRoundingBound returns the first element of the tile t (with C
// initially c0) where got and want differ by more than two K-term float32
// sums can, (K+2)·2⁻²³·Σ|terms|, or -1.
func beyondRoundingBound(t *Tile, c0 []float32, mr, nr int, got, want []float32) int {
	for i := range mr {
		for j := range nr {
			var sum float64
			if t.Flags&TileAccumulate != 0 {
				sum = math.Abs(float64(c0[i*t.LDC+j]))
			}
			for k := range t.K {
				b := float64(0)
				if t.Flags&TileRowsB != 0 {
					b = float64(t.BRows[k][t.BOff+j])
				} else {
					b = float64(t.B[k*t.LDB+j])
				}
				sum += math.Abs(float64(t.A[k*t.LDA+i]) * b)
			}
			if t.Flags&TileEpilogue != 0 {
				sum += math.Abs(float64(t.Bias[i]))
				if t.R != nil {
					sum += math.Abs(float64(t.R[i*t.LDR+j]))
				}
			}
			e := i*t.LDC + j
			if math.Abs(float64(got[e])-float64(want[e])) > float64(t.K+2)*0x1p-23*sum {
				return e
			}
		}
	}
	return -1
}

// firstBitDiff returns the first index where a and b differ in bits, or -1.
func firstBitDiff(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestAsmGemmKernels runs every assembly GEMM kernel of this CPU over K
// sizes around the unrolling, all flag combinations, residual modes,
// strides and misalignments: bit-identical to the exact-FMA twin over the
// whole C buffer (so nothing outside the tile is written), within 1e-6 of
// the pure-Go kernel of the same tile.
func TestAsmGemmKernels(t *testing.T) {
	ks := asmGemmOnThisCPU()
	if len(ks) == 0 {
		t.Skip("no assembly kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, k := range ks {
		goTwin := genericGemm(k.MR, k.NR)
		for _, K := range []int{0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 300} {
			for flags := range 8 {
				for rmode := range 3 {
					tl := gemmCase(rng, k, K, flags, rmode)
					name := fmt.Sprintf("%s K=%d flags=%03b rmode=%d LDA=%d LDB=%d LDC=%d LDR=%d", k.Name, K, flags, rmode, tl.LDA, tl.LDB, tl.LDC, tl.LDR)
					c0 := slices.Clone(tl.C)
					tw := tl
					tw.C = slices.Clone(c0)
					gemmTileFMA(&tw, k.MR, k.NR)
					k.Tile(&tl)
					if i := firstBitDiff(tl.C, tw.C); i >= 0 {
						t.Errorf("%s: C[%d] = %g, exact-FMA twin %g", name, i, tl.C[i], tw.C[i])
						continue
					}
					tg := tw
					tg.C = slices.Clone(c0)
					if flags&TileRowsB != 0 { // the Go kernels read packed B only
						tg.Flags &^= TileRowsB
						tg.B, tg.LDB = make([]float32, (K+1)*k.NR), k.NR
						for kk, row := range tl.BRows {
							copy(tg.B[kk*k.NR:], row[tl.BOff:tl.BOff+k.NR])
						}
					}
					goTwin.Tile(&tg)
					if i := beyondRoundingBound(&tw, c0, k.MR, k.NR, tl.C, tg.C); i >= 0 {
						t.Errorf("%s: C[%d] = %g, %s gives %g", name, i, tl.C[i], goTwin.Name, tg.C[i])
					}
				}
			}
		}
	}
}

// TestAsmGemmSpecialValues: infinities and NaNs flow through the epilogue
// as in the Go clamp (a NaN sum stays NaN, ±Inf are clamped).
func TestAsmGemmSpecialValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, k := range asmGemmOnThisCPU() {
		tl := gemmCase(rng, k, 5, TileAccumulate|TileEpilogue, 2)
		tl.Lo, tl.Hi = -1, 1
		for i, v := range []float32{nan, inf, -inf, nan} {
			tl.C[i*3] = v
		}
		tw := tl
		tw.C = slices.Clone(tl.C)
		gemmTileFMA(&tw, k.MR, k.NR)
		k.Tile(&tl)
		for i := range tl.C {
			g, w := tl.C[i], tw.C[i]
			if g != w && !(g != g && w != w) {
				t.Errorf("%s: C[%d] = %g, twin %g", k.Name, i, g, w)
			}
		}
	}
}

// TestAsmDWRowKernels runs every depthwise row kernel of this CPU over
// row lengths around the vector widths, with and without a residual, on
// rows that end at a guard page: bit-identical to the exact-FMA twin,
// within 1e-6 of the pure-Go row kernel.
func TestAsmDWRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ns := []int{55, 56, 57, 111, 112, 113}
	for n := 1; n <= 40; n++ {
		ns = append(ns, n)
	}
	tested := 0
	for _, level := range asmLevels() {
		kern := asmDWRow3x3(level)
		if kern == nil {
			continue
		}
		for _, stride := range []int{1, 2} {
			for _, n := range ns {
				for _, withRes := range []bool{false, true} {
					var free []func()
					alloc := func(m int) []float32 {
						s, f := guarded(t, m)
						free = append(free, f)
						copy(s, randFloats(rng, m))
						return s
					}
					rowLen := (n-1)*stride + 3
					a := DWRow{O: alloc(n), R0: alloc(rowLen), R1: alloc(rowLen), R2: alloc(rowLen),
						W: (*[9]float32)(randFloats(rng, 9)), Stride: stride, Bias: float32(rng.NormFloat64()), Lo: -1.5, Hi: 2}
					if withRes {
						a.Res = alloc(n)
					}
					if n%3 == 0 {
						a.Lo, a.Hi = float32(math.Inf(-1)), float32(math.Inf(1))
					}
					name := fmt.Sprintf("%s n=%d stride=%d res=%v", level, n, stride, withRes)
					twin := a
					twin.O = make([]float32, n)
					dwRowFMA(&twin)
					goRow := a
					goRow.O = make([]float32, n)
					dwRow3x3Go(&goRow)
					kern(&a)
					if i := firstBitDiff(a.O, twin.O); i >= 0 {
						t.Errorf("%s: O[%d] = %g, exact-FMA twin %g", name, i, a.O[i], twin.O[i])
					} else if e := floatcmp.Slices(a.O, goRow.O); e > 1e-6 {
						t.Errorf("%s: relative difference %.3g from the Go row kernel", name, e)
					}
					for _, f := range free {
						f()
					}
					tested++
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly depthwise kernels on this CPU")
	}
}

// TestDriversAtEveryISA runs the convolution, depthwise and dense tests
// with the kernels of every level this CPU has (the lower ones forced as
// TSMC_ISA would), checking that each level's best kernel is the one the
// drivers use.
func TestDriversAtEveryISA(t *testing.T) {
	for _, level := range archLevels() {
		t.Run(level, func(t *testing.T) {
			withISA(level, func() {
				s := ConvShape{Frames: 1, Cin: 8, H: 5, W: 5, Cout: 12, KH: 1, KW: 1}
				packed, _ := PackConvWeights(make([]float32, 96), 12, 8, 1, 1, 1, PackMR)
				conv, err := NewConv(s, packed, PackMR, nil, Act{})
				if err != nil {
					t.Fatal(err)
				}
				if want := "__" + level; !strings.HasSuffix(conv.Kernel(), want) && !(level == ISAGeneric && strings.HasSuffix(conv.Kernel(), "__go")) {
					t.Errorf("at %s the conv runs %s", level, conv.Kernel())
				}
				TestConv(t)
				TestConvTailActivations(t)
				TestActKernels(t)
				TestMulRowsKernels(t)
				TestDepthwiseConv(t)
				TestDWTapsKernels(t)
				TestCopyRowsKernels(t)
				TestDWRowKernels(t)
				TestInvertedResidual(t)
				TestDense(t)
				TestEveryConvPlan(t)
				TestEveryDepthwisePlan(t)
				TestEveryBlockPlan(t)
				TestEveryDensePlan(t)
				TestPlansSameBits(t)
			})
		})
	}
}

// TestAsmGemmSegs runs the kernels with SegsC on tiles whose columns go
// to runs (TileSegs: a pixel panel crossing frames, a short last panel):
// every run element is the bit the same tile run on a scratch C (and R)
// gives, and nothing outside the runs changes. Runs cut the NR columns
// at random points, leave random columns out, and land in an output and
// residual of random leading dimensions and offsets.
func TestAsmGemmSegs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	tested := 0
	for _, k := range asmGemmOnThisCPU() {
		if !k.SegsC {
			continue
		}
		tested++
		for _, K := range []int{0, 1, 5, 64, 65, 300} {
			for flags := range 8 {
				for rmode := range 2 {
					for range 4 {
						tl := gemmCase(rng, k, K, flags, 0)
						// the runs: cut points in [0, NR], each piece kept or not
						var segs []colSeg
						out := 5 + rng.IntN(40)
						ldc := k.NR + rng.IntN(50)
						for j := 0; j < k.NR; {
							n := 1 + rng.IntN(k.NR-j)
							if rng.IntN(4) > 0 {
								segs = append(segs, colSeg{j: j, n: n, c: out, r: out + 3})
								out += n + rng.IntN(9)
							}
							j += n
						}
						size := out + (k.MR-1)*ldc + k.NR + 16
						c := randFloats(rng, size)
						var r []float32
						if rmode == 1 {
							r = randFloats(rng, size+3)
						}
						// the reference: the tile on a scratch C and R, gathered and scattered
						ref := slices.Clone(c)
						scratch, rs := make([]float32, k.MR*k.NR), make([]float32, k.MR*k.NR)
						for _, s := range segs {
							for i := range k.MR {
								copy(scratch[i*k.NR+s.j:][:s.n], c[s.c+i*ldc:][:s.n])
								if r != nil {
									copy(rs[i*k.NR+s.j:][:s.n], r[s.r+i*ldc:][:s.n])
								}
							}
						}
						tr := tl
						tr.C, tr.LDC, tr.R, tr.LDR = scratch, k.NR, nil, 0
						if r != nil {
							tr.R, tr.LDR = rs, k.NR
						}
						k.Tile(&tr)
						for _, s := range segs {
							for i := range k.MR {
								copy(ref[s.c+i*ldc:][:s.n], scratch[i*k.NR+s.j:][:s.n])
							}
						}
						tl.C, tl.LDC, tl.R, tl.LDR, tl.Segs = c, ldc, r, ldc, segs
						tl.Flags |= TileSegs
						k.Tile(&tl)
						if i := firstBitDiff(c, ref); i >= 0 {
							t.Fatalf("%s K=%d flags=%03b residual=%d runs %v: C[%d] = %g, want %g", k.Name, K, flags, rmode, segs, i, c[i], ref[i])
						}
					}
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no kernel with column runs on this CPU")
	}
}
