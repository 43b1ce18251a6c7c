package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// TestActRowsLayout pins the ActRows field offsets the assembly kernels
// read.
func TestActRowsLayout(t *testing.T) {
	var a ActRows
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("offsets documented for 64-bit targets")
	}
	for name, got := range map[string][2]uintptr{
		"X": {unsafe.Offsetof(a.X), 0}, "Rows": {unsafe.Offsetof(a.Rows), 24}, "Cols": {unsafe.Offsetof(a.Cols), 32},
		"LD": {unsafe.Offsetof(a.LD), 40}, "Alpha": {unsafe.Offsetof(a.Alpha), 48}, "Beta": {unsafe.Offsetof(a.Beta), 52},
	} {
		if got[0] != got[1] {
			t.Errorf("ActRows.%s at offset %d, documented %d", name, got[0], got[1])
		}
	}
}

// actInputs returns n inputs that cover the activations' interesting
// ranges: around zero, the hard kinds' corners, large values of both
// signs (where e^-|x| underflows) and the specials.
func actInputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 3, -3, 2.5, -2.5, 1e-30, -1e-30, 80, -80, 87.5, -87.5, 88.8, -88.8,
		100, -100, 1e20, -1e20, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1))}
	x := make([]float32, n)
	for i := range x {
		switch r := rng.IntN(10); {
		case r == 0:
			x[i] = special[rng.IntN(len(special))]
		case r < 4:
			x[i] = float32(rng.NormFloat64() * 30)
		default:
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

// checkActValue compares one activation output with the float64
// reference: within 8 float32 ulps of it relative to max(|want|, 2^-64)
// (below that, both are zero for every purpose).
func checkActValue(a Act, x, got float32) error {
	want := refAct(a, float64(x))
	if math.IsNaN(want) || math.IsNaN(float64(got)) {
		if math.IsNaN(want) != math.IsNaN(float64(got)) {
			return fmt.Errorf("%v(%g) = %g, want %g", a, x, got, want)
		}
		return nil
	}
	if math.IsInf(want, 0) {
		if float64(got) != want {
			return fmt.Errorf("%v(%g) = %g, want %g", a, x, got, want)
		}
		return nil
	}
	if d := math.Abs(float64(got) - want); d > 8*0x1p-24*math.Max(math.Abs(want), 0x1p-64) {
		return fmt.Errorf("%v(%g) = %g, want %g (off by %.3g relative)", a, x, got, want, d/math.Abs(want))
	}
	return nil
}

// TestActKernels runs the activation kernels in use and the pure-Go ones
// over blocks of many shapes against the float64 definitions, checking
// that the elements between rows are left alone.
func TestActKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	kernels := map[string]*[actKinds]func(*ActRows){"in use (" + ISA() + ")": &actKernels, "go": &actGoKernels}
	for kname, ks := range kernels {
		for _, a := range append(tailActs, HardSwish(0.25, -0.3), HardSigmoid(-2, 1)) {
			kern := ks[a.Kind]
			for _, sh := range [][3]int{{1, 1, 1}, {1, 7, 7}, {1, 16, 16}, {1, 17, 17}, {1, 100, 100}, {3, 5, 9}, {4, 32, 40},
				{2, 33, 33}, {12, 32, 196}, {5, 12, 49}, {3, 64, 64}, {1, 1000, 1000}, {7, 31, 31}} {
				rows, cols, ld := sh[0], sh[1], sh[2]
				off := rng.IntN(5) // misaligned starts too
				name := fmt.Sprintf("%s/%v/%dx%d/ld=%d/off=%d", kname, a, rows, cols, ld, off)
				x := actInputs(rng, off+(rows-1)*ld+cols+3)
				got := append([]float32(nil), x...)
				kern(&ActRows{X: got[off : off+(rows-1)*ld+cols], Rows: rows, Cols: cols, LD: ld, Alpha: a.Alpha, Beta: a.Beta})
				for i := range x {
					if r, j := (i-off)/ld, (i-off)%ld; i >= off && r < rows && j < cols && i-off < (rows-1)*ld+cols {
						if err := checkActValue(a, x[i], got[i]); err != nil {
							t.Fatalf("%s: element %d: %v", name, i, err)
						}
					} else if math.Float32bits(got[i]) != math.Float32bits(x[i]) {
						t.Fatalf("%s: element %d outside the block changed from %g to %g", name, i, x[i], got[i])
					}
				}
			}
		}
	}
}

// TestActivate runs the standalone activation (and Add's epilogue) with
// every tail kind at every thread count.
func TestActivate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 13, ewChunk + 77} {
		x, y := actInputs(rng, n), randFloats(rng, n)
		for _, a := range tailActs {
			want, wantAdd := make([]float64, n), make([]float64, n)
			for i := range x {
				want[i] = refAct(a, float64(x[i]))
				wantAdd[i] = refAct(a, float64(x[i]+y[i]))
			}
			for i := range want { // the comparisons are relative to the largest value
				if math.IsInf(want[i], 0) || math.IsNaN(want[i]) || math.Abs(want[i]) > 1e6 {
					x[i], want[i], wantAdd[i] = 0, refAct(a, 0), refAct(a, float64(y[i]))
				}
			}
			name := fmt.Sprintf("%v/n=%d", a, n)
			checkAtThreads(t, name, n, want, func(p *Pool, out []float32) { Activate(p, x, out, a) })
			checkAtThreads(t, "add/"+name, n, wantAdd, func(p *Pool, out []float32) { Add(p, x, y, out, a) })
		}
	}
}

func TestActValidate(t *testing.T) {
	for _, a := range []Act{HardSwish(float32(math.NaN()), 0.5), HardSigmoid(0.2, float32(math.Inf(1))), {Kind: actKinds}} {
		if err := a.validate(); err == nil {
			t.Errorf("%v accepted", a)
		}
	}
	if _, err := NewChannelAffine(1, 2, 3, make([]float32, 2), nil, SiLU); err == nil {
		t.Error("channel affine accepted silu")
	}
}

// BenchmarkActKernels times the activation kernels in use and the pure-Go
// ones on a tile-sized block (12 rows of 32) and a 14x14 plane's 196.
func BenchmarkActKernels(b *testing.B) {
	for _, a := range tailActs {
		for _, sh := range [][3]int{{12, 32, 196}, {1, 196, 196}} {
			for kname, ks := range map[string]*[actKinds]func(*ActRows){ISA(): &actKernels, "go": &actGoKernels} {
				b.Run(fmt.Sprintf("%v/%dx%d/%s", a, sh[0], sh[1], kname), func(b *testing.B) {
					x := actInputs(rand.New(rand.NewPCG(1, 2)), (sh[0]-1)*sh[2]+sh[1])
					arg := &ActRows{X: x, Rows: sh[0], Cols: sh[1], LD: sh[2], Alpha: a.Alpha, Beta: a.Beta}
					kern := ks[a.Kind]
					for b.Loop() {
						kern(arg)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sh[0]*sh[1]), "ns/float")
				})
			}
		}
	}
}

// TestMulRowsKernels runs the row-times-constant kernel in use against
// the Go one over row lengths (every tail), input and output row strides,
// shared constants and in place; products are exact, so they must agree
// bit for bit, and nothing outside the output rows may be written.
func TestMulRowsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct{ rows, cols, xrs, crs, ors int }{
		{1, 1, 1, 1, 1}, {3, 7, 7, 1, 7}, {2, 16, 20, 2, 16}, {5, 17, 17, 0, 17}, {4, 49, 49, 1, 49}, {2, 63, 64, 3, 63},
		{3, 64, 64, 1, 64}, {2, 65, 70, 1, 65}, {1, 196, 196, 1, 196}, {7, 200, 210, 2, 200}, {1, 3136, 3136, 1, 3136},
		{6, 5, 32, 1, 32}, {9, 32, 32, 1, 32}, {4, 31, 40, 0, 33}, {3, 13, 13, 1, 16},
	} {
		name := fmt.Sprintf("%+v", c)
		x := randFloats(rng, (c.rows-1)*c.xrs+c.cols)
		cs := randFloats(rng, (c.rows-1)*c.crs+1)
		olen := (c.rows-1)*c.ors + c.cols
		inRow := func(i int) bool { return i < olen && i%c.ors < c.cols }
		run := func(kern func(*MulRows), inPlace bool) []float32 {
			o := make([]float32, olen+5)
			for i := range o {
				o[i] = 1e30
			}
			src := x
			if inPlace {
				src = append([]float32(nil), x...)
				o = append(src, o[len(src):]...)
			}
			kern(&MulRows{O: o[:olen], X: src, C: cs, Rows: c.rows, Cols: c.cols, XRS: c.xrs, CRS: c.crs, ORS: c.ors})
			for i, v := range o {
				if !inRow(i) && v != 1e30 && !(inPlace && i < len(x) && v == x[i]) {
					t.Fatalf("%s: wrote outside the rows at %d", name, i)
				}
			}
			got := make([]float32, 0, c.rows*c.cols)
			for r := range c.rows {
				got = append(got, o[r*c.ors:r*c.ors+c.cols]...)
			}
			return got
		}
		want := run(mulRowsGo, false)
		for r := range c.rows {
			for j := range c.cols {
				if want[r*c.cols+j] != x[r*c.xrs+j]*cs[r*c.crs] {
					t.Fatalf("%s: the Go kernel is wrong at row %d column %d", name, r, j)
				}
			}
		}
		for _, inPlace := range []bool{false, true} {
			if inPlace && c.xrs != c.ors {
				continue
			}
			if got := run(mulRows, inPlace); !floatcmp.SameBits(got, want) {
				t.Errorf("%s in place %v: the kernel in use differs from the Go one", name, inPlace)
			}
		}
	}
}

// TestExpShiftKernel runs the exp kernel in use against its pure-Go twin
// and the float64 e^(x+beta) over rows of many lengths and offsets: the
// twin's steps are the kernel's, so they agree within one ulp (the
// AVX2 rounding is a fused multiply-add, the Go one two roundings), and
// both within 4 ulps of the exact value; below e^-87.34 both flush to 0.
// Both set Sum to the results' sum.
func TestExpShiftKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 5, 8, 15, 16, 17, 31, 32, 33, 47, 64, 100, 1568} {
		for _, beta := range []float32{0, -3.5, 12.25} {
			off := rng.IntN(5)
			x := make([]float32, off+n+3)
			for i := range x {
				x[i] = -float32(rng.Float64()*100) - beta
			}
			x[off] = -beta // the row's maximum: e^0
			got, twin := append([]float32(nil), x...), append([]float32(nil), x...)
			ka := ActRows{X: got[off : off+n], Rows: 1, Cols: n, LD: n, Beta: beta, Sum: 7}
			ta := ActRows{X: twin[off : off+n], Rows: 1, Cols: n, LD: n, Beta: beta, Sum: 7}
			actKernels[actExpShift](&ka)
			actExpShiftGo(&ta)
			var sum float64
			for _, v := range twin[off : off+n] {
				sum += float64(v)
			}
			for _, s := range []float32{ka.Sum, ta.Sum} {
				if math.Abs(float64(s)-sum) > 1e-6*sum {
					t.Fatalf("n=%d beta=%g: sum %g, want %g", n, beta, s, sum)
				}
			}
			for i := range x {
				if i < off || i >= off+n {
					if got[i] != x[i] {
						t.Fatalf("n=%d: element %d outside the row changed", n, i)
					}
					continue
				}
				y := float64(x[i] + beta)
				exact := math.Exp(y)
				if y < -87.33654 {
					exact = 0
				}
				for _, v := range []float32{got[i], twin[i]} {
					if d := math.Abs(float64(v) - exact); d > 4*ulp32(float32(exact)) {
						t.Fatalf("n=%d beta=%g: e^%g = %g, want %g", n, beta, y, v, exact)
					}
				}
				if d := math.Abs(float64(got[i]) - float64(twin[i])); d > ulp32(twin[i]) {
					t.Fatalf("n=%d beta=%g: e^%g: kernel %g, twin %g", n, beta, y, got[i], twin[i])
				}
			}
		}
	}
}

// ulp32 is the spacing of float32 values at v.
func ulp32(v float32) float64 {
	return float64(math.Nextafter32(v, float32(math.Inf(1))) - v)
}
