package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestDepthwiseConv(t *testing.T) {
	pad := func(s ConvShape, t, l, b, r int) ConvShape {
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = t, l, b, r
		return s
	}
	dw := func(f, c, h, w, k, stride int) ConvShape {
		return ConvShape{Frames: f, Cin: c, Cout: c, Group: c, H: h, W: w, KH: k, KW: k, StrideH: stride, StrideW: stride}
	}
	cases := []convCase{
		{s: pad(dw(2, 5, 9, 11, 3, 1), 1, 1, 1, 1), act: Clip(0, 6), bias: true},
		{s: pad(dw(2, 4, 10, 9, 3, 2), 1, 1, 1, 1), act: Relu, bias: true, residual: true},
		{s: pad(dw(2, 4, 7, 8, 3, 2), 0, 0, 1, 1), bias: true},
		{s: pad(dw(1, 3, 1, 1, 3, 1), 1, 1, 1, 1), bias: true},
		{s: pad(dw(1, 3, 2, 2, 3, 2), 1, 1, 1, 1), act: Relu},
		{s: pad(dw(4, 16, 7, 7, 3, 1), 1, 1, 1, 1), act: Clip(0, 6), bias: true, residual: true, shift: true},
		{s: pad(dw(2, 16, 6, 6, 3, 1), 1, 1, 1, 1), bias: true, shift: true, state: true},
		{s: pad(dw(1, 3, 12, 13, 5, 1), 2, 2, 2, 2), bias: true},
		{s: pad(dw(1, 3, 12, 13, 5, 2), 2, 1, 2, 3), act: Relu, bias: true},
		{s: dw(1, 2, 6, 7, 3, 1)},
		{s: pad(ConvShape{Frames: 1, Cin: 3, Cout: 3, Group: 3, H: 9, W: 10, KH: 3, KW: 3, DilationH: 2, DilationW: 2}, 2, 2, 2, 2), bias: true},
		{s: pad(ConvShape{Frames: 1, Cin: 3, Cout: 3, Group: 3, H: 9, W: 10, KH: 1, KW: 4, StrideW: 3}, 0, 1, 0, 2), bias: true},
		{s: pad(dw(3, 40, 28, 28, 3, 1), 1, 1, 1, 1), act: Clip(0, 6), bias: true},
	}
	for ci, c := range cases {
		s := c.s.normalized()
		name := fmt.Sprintf("case%d/%v/act=%v", ci, s, c.act)
		rng := rand.New(rand.NewPCG(uint64(ci), 7))
		rows, _ := convInput(t, rng, c)
		w := randFloats(rng, s.Cin*s.KH*s.KW)
		var bias, res []float32
		if c.bias {
			bias = randFloats(rng, s.Cin)
		}
		if c.residual {
			res = randFloats(rng, s.OutLen())
		}
		d, err := NewDepthwiseConv(c.s, w, bias, c.act)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := refConv(s, rows, w, bias, res, c.act)
		var first []float32
		withPools(t, func(p *Pool) {
			out := make([]float32, s.OutLen())
			for i := range out {
				out[i] = 1e30
			}
			d.Run(p, rows, out, res)
			checkClose(t, fmt.Sprintf("%s/threads=%d", name, p.Threads()), out, want, 1e-5)
			if first == nil {
				first = out
			} else if !bitsEqual(first, out) {
				t.Errorf("%s: %d threads differ from 1 thread", name, p.Threads())
			}
		})
	}
	if _, err := NewDepthwiseConv(ConvShape{Frames: 1, Cin: 4, Cout: 8, Group: 4, H: 3, W: 3, KH: 3, KW: 3}, make([]float32, 72), nil, Act{}); err == nil {
		t.Error("channel multiplier accepted as depthwise")
	}
	if _, err := NewDepthwiseConv(dw(1, 4, 3, 3, 3, 1), make([]float32, 35), nil, Act{}); err == nil {
		t.Error("wrong weight count accepted")
	}
}
