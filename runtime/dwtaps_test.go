package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// TestDWTapsKernels runs the tap kernel in use against the pure-Go one
// and a float64 sum over channel counts, run lengths (every tail),
// tap counts and offsets, clamps, and checks that nothing outside the
// outputs is written.
func TestDWTapsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for ci, c := range []struct{ C, N, T, span int }{
		{1, 1, 1, 1}, {1, 15, 9, 30}, {1, 16, 25, 40}, {2, 17, 25, 40}, {3, 63, 9, 70}, {1, 64, 49, 100},
		{4, 65, 25, 90}, {2, 73, 25, 121}, {5, 248, 25, 324}, {1, 892, 25, 1024}, {3, 129, 4, 150}, {2, 200, 1, 200},
	} {
		for _, clip := range []bool{false, true} {
			name := fmt.Sprintf("case%d/C=%d/N=%d/T=%d/clip=%v", ci, c.C, c.N, c.T, clip)
			off := make([]int, c.T)
			for i := range off {
				off[i] = rng.IntN(c.span - c.N + 1)
			}
			istride, ostride := c.span+rng.IntN(5), c.N+rng.IntN(20)
			in := randFloats(rng, (c.C-1)*istride+c.span)
			w, bias := randFloats(rng, c.C*c.T), randFloats(rng, c.C)
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			if clip {
				lo, hi = -0.5, 1.5
			}
			want := make([]float64, c.C*ostride)
			for ch := range c.C {
				for q := range c.N {
					acc := float64(bias[ch])
					for tp := range c.T {
						acc += float64(w[ch*c.T+tp]) * float64(in[ch*istride+q+off[tp]])
					}
					want[ch*ostride+q] = math.Min(math.Max(acc, float64(lo)), float64(hi))
				}
			}
			run := func(kern func(*DWTaps)) []float32 {
				o := make([]float32, c.C*ostride+3)
				for i := range o {
					o[i] = 1e30
				}
				kern(&DWTaps{O: o, In: in, W: w, Off: off, Bias: bias, C: c.C, N: c.N, T: c.T, OStride: ostride, IStride: istride, Lo: lo, Hi: hi})
				for i, v := range o {
					if ch, q := i/ostride, i%ostride; (ch >= c.C || q >= c.N) && v != 1e30 {
						t.Fatalf("%s: wrote outside the outputs at %d", name, i)
					}
				}
				return o[:c.C*ostride]
			}
			got, gotGo := run(dwTaps), run(dwTapsGo)
			for i := range want {
				if i%ostride >= c.N {
					got[i], gotGo[i] = 0, 0
				}
			}
			if e := floatcmp.Slices(got, want); e > 1e-5 {
				t.Errorf("%s: kernel in use off by %.3g", name, e)
			}
			if e := floatcmp.Slices(gotGo, want); e > 1e-5 {
				t.Errorf("%s: Go kernel off by %.3g", name, e)
			}
		}
	}
}

// TestCopyRowsKernels runs the row copy in use against the Go one over
// column counts (every tail), strides 1 and 2, pitches and row counts;
// nothing outside the destination rows may be written.
func TestCopyRowsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	for _, ss := range []int{1, 2, 3} {
		for _, c := range []struct{ planes, rows, cols, dld, sld int }{
			{1, 1, 1, 1, 1}, {1, 3, 7, 9, 7}, {2, 2, 15, 15, 40}, {1, 4, 16, 18, 33}, {3, 2, 17, 17, 35}, {1, 5, 31, 32, 64},
			{1, 1, 32, 32, 64}, {4, 3, 33, 40, 70}, {1, 2, 56, 60, 112}, {2, 1, 100, 100, 200}, {5, 7, 7, 7, 11},
			{3, 4, 3, 3, 5}, {6, 2, 4, 32, 6}, {2, 9, 12, 12, 14},
			{32, 3, 14, 96, 30}, {3, 14, 14, 15, 56}, {2, 3, 47, 50, 95}, {2, 2, 63, 64, 130}, {6, 1, 4, 32, 9},
		} {
			name := fmt.Sprintf("ss=%d/%+v", ss, c)
			sld := max(c.sld, (c.cols-1)*ss+1)
			sps, dps := c.rows*sld+3, c.rows*c.dld+2
			src := randFloats(rng, (c.planes-1)*sps+(c.rows-1)*sld+(c.cols-1)*ss+1)
			run := func(kern func(*CopyRows)) []float32 {
				n := (c.planes-1)*dps + (c.rows-1)*c.dld + c.cols
				d := make([]float32, n+5)
				for i := range d {
					d[i] = 1e30
				}
				kern(&CopyRows{Dst: d[:n], Src: src, Rows: c.rows, Cols: c.cols, DLD: c.dld, SLD: sld, SS: ss,
					Planes: c.planes, DPS: dps, SPS: sps})
				for i, v := range d {
					if p, q := i/dps, i%dps; (p >= c.planes || q/c.dld >= c.rows || q%c.dld >= c.cols) && v != 1e30 {
						t.Fatalf("%s: wrote outside the rows at %d", name, i)
					}
				}
				return d
			}
			want := run(copyRowsGo)
			for p := range c.planes {
				for r := range c.rows {
					for j := range c.cols {
						if want[p*dps+r*c.dld+j] != src[p*sps+r*sld+j*ss] {
							t.Fatalf("%s: the Go copy is wrong at %d, %d, %d", name, p, r, j)
						}
					}
				}
			}
			if got := run(copyRows); !floatcmp.SameBits(got, want) {
				t.Errorf("%s: the copy in use differs from the Go one", name)
			}
		}
	}
	// one source row copied to every row and plane (SLD and SPS 0), as
	// the padding of the phase split is written
	for _, cols := range []int{1, 3, 16, 21, 40} {
		src := randFloats(rng, cols)
		d := make([]float32, 3*5*cols)
		copyRows(&CopyRows{Dst: d, Src: src, Planes: 3, Rows: 5, Cols: cols, DPS: 5 * cols, DLD: cols, SS: 1})
		for i, v := range d {
			if v != src[i%cols] {
				t.Fatalf("cols %d: row copied with SLD 0 differs at %d", cols, i)
			}
		}
	}
}

// BenchmarkCopyRows times the row copy on the rows of narrow maps: a
// frame of 32 planes of 28 rows split into its column phases (stride 2)
// or copied into a padded plane (stride 1), ns per row.
func BenchmarkCopyRows(b *testing.B) {
	src := make([]float32, 32*28*28)
	dst := make([]float32, 32*30*30+64)
	for _, ss := range []int{1, 2} {
		for _, cols := range []int{7, 14, 28} {
			if cols*ss > 28 {
				continue
			}
			b.Run(fmt.Sprintf("ss=%d/cols=%d", ss, cols), func(b *testing.B) {
				a := &CopyRows{Dst: dst[31:], Src: src, Planes: 32, Rows: 28 / ss, Cols: cols, DPS: 900, DLD: 30, SPS: 784, SLD: 28 * ss, SS: ss}
				for range b.N {
					copyRows(a)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*a.Planes*a.Rows), "ns/row")
			})
		}
	}
}
