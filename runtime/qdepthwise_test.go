package runtime

import (
	"math/rand/v2"
	"testing"
)

// qdwShapes are the depthwise convolutions of the int8 tests: 3x3 at
// strides 1 and 2 with symmetric and one-sided padding, widths around
// the kernels' vectors, narrower kernels and other shapes (the direct
// path).
func qdwShapes() []ConvShape {
	pad := func(s ConvShape, t, l, b, r int) ConvShape {
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = t, l, b, r
		return s
	}
	var ss []ConvShape
	for _, hw := range [][2]int{{1, 1}, {3, 5}, {7, 7}, {5, 16}, {6, 17}, {4, 33}, {14, 14}, {9, 64}} {
		for _, st := range []int{1, 2} {
			s := ConvShape{Frames: 2, Cin: 3, Cout: 3, Group: 3, H: hw[0], W: hw[1], KH: 3, KW: 3, StrideH: st, StrideW: st}
			ss = append(ss, pad(s, 1, 1, 1, 1))
			if hw[0] >= 3 && hw[1] >= 3 {
				ss = append(ss, s, pad(s, 0, 1, 1, 0), pad(s, 1, 0, 0, 1))
			}
		}
	}
	return append(ss,
		ConvShape{Frames: 1, Cin: 40, Cout: 40, Group: 40, H: 28, W: 28, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		ConvShape{Frames: 1, Cin: 5, Cout: 5, Group: 5, H: 8, W: 9, KH: 3, KW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1},
		ConvShape{Frames: 1, Cin: 4, Cout: 4, Group: 4, H: 8, W: 9, KH: 3, KW: 4, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 2, PadBottom: 1, PadRight: 1},
		ConvShape{Frames: 1, Cin: 4, Cout: 4, Group: 4, H: 9, W: 9, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		ConvShape{Frames: 3, Cin: 19, Cout: 19, Group: 19, H: 15, W: 13, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 1, PadRight: 2},
		ConvShape{Frames: 2, Cin: 7, Cout: 7, Group: 7, H: 7, W: 7, KH: 7, KW: 7, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3},
		ConvShape{Frames: 1, Cin: 5, Cout: 5, Group: 5, H: 12, W: 12, KH: 5, KW: 5, DilationH: 2, DilationW: 2, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4},
		ConvShape{Frames: 1, Cin: 4, Cout: 4, Group: 4, H: 9, W: 9, KH: 3, KW: 3, DilationH: 2, DilationW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		ConvShape{Frames: 2, Cin: 6, Cout: 6, Group: 6, H: 10, W: 11, KH: 3, KW: 3, StrideH: 3, StrideW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	)
}

// runQDepthwise checks the depthwise convolution of every shape at the
// selected level against the ONNX reference.
func runQDepthwise(t *testing.T, p *Pool) map[string]bool {
	t.Helper()
	paths := map[string]bool{}
	for si, s := range qdwShapes() {
		for _, relu6 := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(si), 31))
			c := qconvCase{s: s, inZero: []uint8{0, 128, 255, 19}[si%4], relu6: relu6, w7: si%5 == 1}
			x, w, bias, rq, _ := qconvData(rng, c)
			d, err := NewQDepthwiseConv(s, w, bias, c.inZero, rq)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]uint8, s.OutLen())
			d.Run(p, PlainQRows(x, s.Frames, s.Cin, s.H*s.W), got)
			want := qconvRef(s, x, w, bias, c.inZero, rq, nil)
			if i := firstByteDiff(got, want); i >= 0 {
				t.Fatalf("%v, input zero %d, relu6 %v (planes %v): output %d is %d, want %d", s, c.inZero, relu6, d.planes, i, got[i], want[i])
			}
			paths[d.path()] = true
		}
	}
	return paths
}

func TestQDepthwiseConv(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	paths := runQDepthwise(t, p)
	if !paths["planes"] || !paths["float"] {
		t.Errorf("paths taken: %v", paths)
	}
}

// path names the way d runs: the int8 plane kernels, the exact float32
// convolution or the Go loop.
func (d *QDepthwiseConv) path() string {
	switch {
	case d.planes:
		return "planes"
	case d.viaFloat != nil:
		return "float"
	}
	return "direct"
}

// TestQDepthwiseDirect runs a kernel whose sums float32 might not hold
// exactly (23x23 taps of weight ±127: 255·Σ|w| over 2^24), which takes
// the Go loop, and checks it and a 5x5 one at the limit's other side
// against the reference.
func TestQDepthwiseDirect(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(7, 23))
	for _, k := range []int{5, 23} {
		s := ConvShape{Frames: 2, Cin: 3, Cout: 3, Group: 3, H: 24, W: 25, KH: k, KW: k,
			PadTop: k / 2, PadLeft: k / 2, PadBottom: k / 2, PadRight: k / 2}
		c := qconvCase{s: s, inZero: 7}
		x, w, bias, rq, _ := qconvData(rng, c)
		for i := range w {
			w[i] = []int8{-127, 127}[rng.IntN(2)]
		}
		d, err := NewQDepthwiseConv(s, w, bias, c.inZero, rq)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]string{5: "float", 23: "direct"}[k]; d.path() != want {
			t.Errorf("%dx%d: path %s, want %s", k, k, d.path(), want)
		}
		got := make([]uint8, s.OutLen())
		d.Run(p, PlainQRows(x, s.Frames, s.Cin, s.H*s.W), got)
		if i := firstByteDiff(got, qconvRef(s, x, w, bias, c.inZero, rq, nil)); i >= 0 {
			t.Fatalf("%v: output %d differs", s, i)
		}
	}
}

func TestQDepthwiseErrors(t *testing.T) {
	s := ConvShape{Frames: 1, Cin: 2, Cout: 2, Group: 2, H: 4, W: 4, KH: 3, KW: 3}
	rq := QRequant{Scale: []float32{0.1}, Hi: 255}
	for name, f := range map[string]func() error{
		"not depthwise": func() error {
			_, err := NewQDepthwiseConv(ConvShape{Frames: 1, Cin: 2, Cout: 2, H: 4, W: 4, KH: 3, KW: 3}, make([]int8, 36), nil, 0, rq)
			return err
		},
		"weights": func() error { _, err := NewQDepthwiseConv(s, make([]int8, 17), nil, 0, rq); return err },
		"bias":    func() error { _, err := NewQDepthwiseConv(s, make([]int8, 18), []int32{1}, 0, rq); return err },
		"residual": func() error {
			r := rq
			r.Add = &QAdd{ConvScale: 1, ResScale: 1, OutScale: 1}
			_, err := NewQDepthwiseConv(s, make([]int8, 18), nil, 0, r)
			return err
		},
		"scales": func() error {
			_, err := NewQDepthwiseConv(s, make([]int8, 18), nil, 0, QRequant{Scale: []float32{1, 1, 1}, Hi: 255})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
