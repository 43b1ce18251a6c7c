package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

func refMaxPool(s PoolShape, x []float32) []float64 {
	s = s.normalized()
	oh, ow := s.OutH(), s.OutW()
	out := make([]float64, s.Planes*oh*ow)
	for pl := range s.Planes {
		for oy := range oh {
			for ox := range ow {
				m := math.Inf(-1)
				for ky := range s.KH {
					for kx := range s.KW {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
						ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
						if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
							m = math.Max(m, float64(x[(pl*s.H+iy)*s.W+ix]))
						}
					}
				}
				out[(pl*oh+oy)*ow+ox] = m
			}
		}
	}
	return out
}

func TestMaxPool(t *testing.T) {
	cases := []PoolShape{
		{Planes: 3, H: 12, W: 12, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 11, W: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, CeilMode: true},
		{Planes: 2, H: 10, W: 10, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{Planes: 1, H: 7, W: 8, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1, CeilMode: true},
		{Planes: 2, H: 9, W: 9, KH: 2, KW: 2, DilationH: 2, DilationW: 2},
		{Planes: 70, H: 20, W: 20, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		// the row kernel's: windows in the padding above or below, or not,
		// runs of inner windows of every length
		{Planes: 3, H: 13, W: 15, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 1, PadBottom: 1, PadRight: 0, CeilMode: true},
		{Planes: 2, H: 14, W: 33, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1},
		{Planes: 2, H: 3, W: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 2, W: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 1, W: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Planes: 2, H: 4, W: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadLeft: 1, PadBottom: 1},
	}
	for ci, s := range cases {
		rng := rand.New(rand.NewPCG(uint64(ci), 3))
		x := randFloats(rng, s.Planes*s.H*s.W)
		mp, err := NewMaxPool(s)
		if err != nil {
			t.Fatal(err)
		}
		want := refMaxPool(s, x)
		withPools(t, func(p *Pool) {
			out := make([]float32, len(want))
			mp.Run(p, x, out)
			for i := range out {
				if float64(out[i]) != want[i] {
					t.Fatalf("case %d threads %d: out[%d] = %g, want %g", ci, p.Threads(), i, out[i], want[i])
				}
			}
		})
	}
	if got := PoolOutSize(112, 3, 2, 1, 1, 1, false); got != 56 {
		t.Errorf("ResNet maxpool output %d, want 56", got)
	}
	// ceil mode keeps a last window starting inside the input, drops one
	// starting in the end padding
	if got := PoolOutSize(11, 3, 2, 1, 0, 0, true); got != 5 {
		t.Errorf("ceil output %d, want 5", got)
	}
	if got := PoolOutSize(5, 2, 2, 1, 0, 1, true); got != 3 {
		t.Errorf("ceil output with pad %d, want 3", got)
	}
	if _, err := NewMaxPool(PoolShape{Planes: 1, H: 4, W: 4, KH: 2, KW: 2, PadTop: 2}); err == nil {
		t.Error("pad as large as the window accepted")
	}
}

// TestPoolOutSize checks PoolOutSize against the interpreter's output
// shape of a 1-D MaxPool over a grid of windows, both rounding modes: 0
// where the interpreter refuses the window as larger than the padded
// input. In ceil mode a window starting in the end padding is dropped
// even when nothing was rounded up (in 8, kernel 1, pads 1 and 1 give
// 9, not 10).
func TestPoolOutSize(t *testing.T) {
	x := ir.Float32s(ir.Shape{1, 1, 8}, make([]float32, 8))
	for in := 1; in <= 8; in++ {
		x.Shape[2], x.F32 = in, make([]float32, in)
		for k := 1; k <= 4; k++ {
			for st := 1; st <= 3; st++ {
				for d := 1; d <= 2; d++ {
					for pb := range 4 {
						for pe := range 4 {
							for _, ceil := range []bool{false, true} {
								n := &ir.Node{Name: "pool", Op: "MaxPool", Inputs: []*ir.Value{{Name: "x"}}, Outputs: []*ir.Value{{Name: "y"}},
									Attrs: map[string]ir.Attr{"kernel_shape": attrInts(k), "strides": attrInts(st), "dilations": attrInts(d),
										"pads": attrInts(pb, pe), "ceil_mode": attrBool(ceil)}}
								want := 0
								if outs, err := interp.Eval(n, interpOpset, []*ir.Tensor{x}); err == nil {
									want = outs[0].Shape[2]
								}
								if got := PoolOutSize(in, k, st, d, pb, pe, ceil); got != want {
									t.Errorf("in %d kernel %d stride %d dilation %d pads %d,%d ceil %v: %d, the interpreter %d", in, k, st, d, pb, pe, ceil, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
	// a window one longer than the padded input, stride 2
	if _, err := NewMaxPool(PoolShape{Planes: 1, H: 3, W: 3, KH: 4, KW: 1, StrideH: 2}); err == nil {
		t.Error("MaxPool with a window larger than the padded input: no error")
	}
}

func TestGlobalAveragePoolAndSegmentMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hw := range []int{1, 7, 8, 49, 196, 3136} {
		planes := 37
		x := randFloats(rng, planes*hw)
		want := make([]float64, planes)
		for i := range want {
			for _, v := range x[i*hw : (i+1)*hw] {
				want[i] += float64(v)
			}
			want[i] /= float64(hw)
		}
		withPools(t, func(p *Pool) {
			out := make([]float32, planes)
			GlobalAveragePool(p, x, out, planes, hw)
			checkClose(t, fmt.Sprintf("gap hw=%d", hw), out, want, 1e-5)
		})
	}
	clips, T, n := 2, 8, 27
	x := randFloats(rng, clips*T*n)
	want := make([]float64, clips*n)
	for c := range clips {
		for i := range n {
			for tt := range T {
				want[c*n+i] += float64(x[(c*T+tt)*n+i])
			}
			want[c*n+i] /= float64(T)
		}
	}
	out := make([]float32, clips*n)
	SegmentMean(x, out, clips, T, n)
	checkClose(t, "segment mean", out, want, 1e-6)
}

func TestDense(t *testing.T) {
	for ci, c := range []struct {
		batch, in, out, packNR int
		act                    Act
		bias                   bool
	}{
		{8, 2048, 400, PackNR, Act{}, true},
		{1, 1280, 27, PackNR, Act{}, true},
		{13, 300, 50, PackNR, Relu, true},
		{3, 5, 7, 8, Clip(-0.5, 0.5), false},
		{7, 33, 16, 16, Act{}, true},
		{8, 1280, 400, PackNR, HardSwish(1.0/6, 0.5), true},
		{13, 60, 45, 8, SiLU, false},
	} {
		rng := rand.New(rand.NewPCG(uint64(ci), 11))
		x := randFloats(rng, c.batch*c.in)
		w := randFloats(rng, c.out*c.in)
		var bias []float32
		if c.bias {
			bias = randFloats(rng, c.out)
		}
		want := make([]float64, c.batch*c.out)
		for n := range c.batch {
			for o := range c.out {
				var acc float64
				for k := range c.in {
					acc += float64(x[n*c.in+k]) * float64(w[o*c.in+k])
				}
				if bias != nil {
					acc += float64(bias[o])
				}
				want[n*c.out+o] = refAct(c.act, acc)
			}
		}
		packed, err := PackDenseWeights(w, c.out, c.in, c.packNR)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDense(c.batch, c.in, c.out, packed, c.packNR, bias, c.act)
		if err != nil {
			t.Fatal(err)
		}
		var first []float32
		withPools(t, func(p *Pool) {
			y := make([]float32, c.batch*c.out)
			d.Run(p, x, y)
			checkClose(t, fmt.Sprintf("dense %+v threads %d", c, p.Threads()), y, want, 1e-5)
			if first == nil {
				first = y
			} else if !floatcmp.SameBits(first, y) {
				t.Errorf("dense %+v: %d threads differ from 1", c, p.Threads())
			}
		})
	}
	if _, err := NewDense(1, 4, 4, make([]float32, 3), PackNR, nil, Act{}); err == nil {
		t.Error("short packed weights accepted")
	}
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 3*ewChunk + 17
	a, b := randFloats(rng, n), randFloats(rng, n)
	for _, act := range []Act{{}, Relu, Clip(-0.25, 0.5)} {
		want := make([]float64, n)
		wantAct := make([]float64, n)
		for i := range want {
			want[i] = refAct(act, float64(a[i]+b[i]))
			wantAct[i] = refAct(act, float64(a[i]))
		}
		withPools(t, func(p *Pool) {
			out := make([]float32, n)
			Add(p, a, b, out, act)
			checkClose(t, "add "+act.String(), out, want, 0)
			Activate(p, a, out, act)
			checkClose(t, "activate "+act.String(), out, wantAct, 0)
		})
	}
	// in place
	p := NewPool(2)
	defer p.Close()
	c := append([]float32(nil), a...)
	Add(p, c, b, c, Relu)
	for i := range c {
		if want := max(a[i]+b[i], 0); c[i] != want {
			t.Fatalf("in-place add[%d] = %g, want %g", i, c[i], want)
		}
	}

	rows, cols := 3, 10
	x := randFloats(rng, rows*cols)
	x[5] = 80 // large values must not overflow
	want := make([]float64, rows*cols)
	for r := range rows {
		var sum float64
		for i := range cols {
			sum += math.Exp(float64(x[r*cols+i]))
		}
		for i := range cols {
			want[r*cols+i] = math.Exp(float64(x[r*cols+i])) / sum
		}
	}
	sm := make([]float32, rows*cols)
	Softmax(p, x, sm, rows, cols)
	checkClose(t, "softmax", sm, want, 1e-6)
}

// TestSoftmaxRows checks Softmax over rows of many lengths (the exp
// kernel's vector steps and masked tails) at 1, 2 and 3 threads, in
// place too, against the float64 definition.
func TestSoftmaxRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, sh := range [][2]int{{1, 1}, {3, 7}, {5, 16}, {2, 17}, {4, 31}, {3, 33}, {7, 100}, {33, 1568}, {2, 5000}, {3000, 12}} {
		rows, n := sh[0], sh[1]
		x := randFloats(rng, rows*n)
		for i := range x {
			x[i] *= 30 // spread: some e^(x-max) far below one, some flushed
		}
		want := make([]float64, rows*n)
		for r := range rows {
			row := x[r*n : (r+1)*n]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, float64(v))
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - m)
			}
			for i, v := range row {
				want[r*n+i] = math.Exp(float64(v)-m) / sum
			}
		}
		name := fmt.Sprintf("softmax/%dx%d", rows, n)
		checkAtThreads(t, name, rows*n, want, func(p *Pool, out []float32) { Softmax(p, x, out, rows, n) })
		inPlace := append([]float32(nil), x...)
		p := NewPool(2)
		Softmax(p, inPlace, inPlace, rows, n)
		p.Close()
		checkClose(t, name+"/in place", inPlace, want, 1e-5)
	}
}

func TestCopyChannels(t *testing.T) {
	frames, hw := 2, 3
	src := make([]float32, frames*4*hw)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, frames*6*hw)
	CopyChannels(dst, 6, 3, src, 4, 1, 2, frames, hw)
	for f := range frames {
		for c := range 6 {
			for i := range hw {
				var want float32
				if c >= 3 && c < 5 {
					want = src[(f*4+c-2)*hw+i]
				}
				if got := dst[(f*6+c)*hw+i]; got != want {
					t.Fatalf("dst[%d][%d][%d] = %g, want %g", f, c, i, got, want)
				}
			}
		}
	}
}

// TestSum4Order pins sum4's summation order bit for bit: lane l takes
// v[l], v[l+4], ... of the whole groups of four, the lanes are added as
// (0+2) + (1+3), then the rest in turn.
func TestSum4Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 60 {
		v := randFloats(rng, n)
		for i := range v {
			v[i] *= float32(int(1) << (i % 20)) // magnitudes far apart, so the order shows
		}
		var l [4]float32
		whole := n / 4 * 4
		for i, x := range v[:whole] {
			l[i%4] += x
		}
		want := (l[0] + l[2]) + (l[1] + l[3])
		for _, x := range v[whole:] {
			want += x
		}
		if got := sum4(v); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("sum4 of %d floats = %g, want %g", n, got, want)
		}
	}
}

// BenchmarkSoftmax times the attention softmax of a non-local block at
// 56x56 over 8 frames, keys pooled (rows of 1568), 512 of its rows.
func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows, n := 512, 1568
	x, out := randFloats(rng, rows*n), make([]float32, rows*n)
	benchRun(b, 1, 0, func(p *Pool) { Softmax(p, x, out, rows, n) })
}
