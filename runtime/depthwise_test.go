package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
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
		// small planes (the small-plane kernels where the CPU has them)
		{s: pad(dw(2, 24, 14, 14, 3, 1), 1, 1, 1, 1), act: Clip(0, 6), bias: true, residual: true, shift: true},
		{s: pad(dw(1, 20, 14, 14, 3, 2), 1, 1, 1, 1), act: Clip(0, 6), bias: true},
		{s: pad(dw(2, 6, 5, 12, 3, 1), 1, 1, 1, 1), bias: true, residual: true},
		{s: pad(dw(1, 5, 9, 13, 3, 2), 0, 1, 1, 0), act: Relu, bias: true, residual: true},
		// the activations applied after the kernels, on each path
		{s: pad(dw(2, 5, 9, 11, 3, 1), 1, 1, 1, 1), act: SiLU, bias: true, residual: true},
		{s: pad(dw(2, 24, 14, 14, 3, 2), 1, 1, 1, 1), act: HardSwish(1.0/6, 0.5), bias: true, shift: true},
		{s: pad(dw(1, 3, 12, 13, 5, 2), 2, 1, 2, 3), act: Sigmoid, bias: true},
		{s: pad(dw(2, 6, 5, 12, 3, 1), 1, 1, 1, 1), act: HardSigmoid(0.2, 0.5), bias: true, residual: true},
		{s: pad(dw(2, 7, 11, 10, 5, 1), 2, 2, 2, 2), act: HardSwish(1.0/6, 0.5), bias: true, residual: true},
		// the tap kernel: MobileNetV3's and EfficientNet's 5x5 layers,
		// 7x7, strides and dilations of each axis, thread-splitting channels
		{s: pad(dw(2, 20, 7, 7, 5, 1), 2, 2, 2, 2), act: SiLU, bias: true},
		{s: pad(dw(1, 6, 56, 56, 5, 2), 2, 2, 2, 2), act: HardSwish(1.0/6, 0.5), bias: true},
		{s: pad(dw(1, 50, 14, 14, 5, 2), 2, 2, 2, 2), act: Relu, bias: true},
		{s: pad(dw(2, 9, 13, 11, 7, 1), 3, 3, 3, 3), act: Relu, bias: true, residual: true},
		{s: pad(dw(4, 16, 9, 9, 5, 1), 2, 2, 2, 2), act: Clip(0, 6), bias: true, residual: true, shift: true},
		{s: pad(dw(2, 16, 6, 7, 5, 1), 2, 2, 2, 2), bias: true, shift: true, state: true},
		{s: pad(ConvShape{Frames: 1, Cin: 5, Cout: 5, Group: 5, H: 15, W: 12, KH: 5, KW: 3, StrideH: 2, StrideW: 1}, 2, 1, 1, 1), act: Sigmoid, bias: true},
		{s: pad(ConvShape{Frames: 1, Cin: 4, Cout: 4, Group: 4, H: 17, W: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 3, DilationH: 2, DilationW: 2}, 2, 2, 2, 2), bias: true},
		{s: dw(1, 3, 9, 9, 5, 3)},
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
		checkAtThreads(t, name, s.OutLen(), want, func(p *Pool, out []float32) { d.Run(p, rows, out, res) })
	}
	if _, err := NewDepthwiseConv(ConvShape{Frames: 1, Cin: 4, Cout: 8, Group: 4, H: 3, W: 3, KH: 3, KW: 3}, make([]float32, 72), nil, Act{}); err == nil {
		t.Error("channel multiplier accepted as depthwise")
	}
	if _, err := NewDepthwiseConv(dw(1, 4, 3, 3, 3, 1), make([]float32, 35), nil, Act{}); err == nil {
		t.Error("wrong weight count accepted")
	}
}

// TestDWRowLayout pins the DWRow field offsets the assembly kernels read.
func TestDWRowLayout(t *testing.T) {
	var a DWRow
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("offsets documented for 64-bit targets")
	}
	for name, got := range map[string][2]uintptr{
		"O": {unsafe.Offsetof(a.O), 0}, "R0": {unsafe.Offsetof(a.R0), 24}, "R1": {unsafe.Offsetof(a.R1), 48},
		"R2": {unsafe.Offsetof(a.R2), 72}, "Res": {unsafe.Offsetof(a.Res), 96}, "W": {unsafe.Offsetof(a.W), 120},
		"Stride": {unsafe.Offsetof(a.Stride), 128}, "Bias": {unsafe.Offsetof(a.Bias), 136},
		"Lo": {unsafe.Offsetof(a.Lo), 140}, "Hi": {unsafe.Offsetof(a.Hi), 144},
	} {
		if got[0] != got[1] {
			t.Errorf("DWRow.%s at offset %d, documented %d", name, got[0], got[1])
		}
	}
}

// TestDWRowKernels checks the selected and the pure-Go row kernels against
// the DWRow contract evaluated in float64.
func TestDWRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, k := range []func(*DWRow){dwRow3x3, dwRow3x3Go} {
		for _, n := range []int{1, 2, 7, 8, 9, 17, 56} {
			for _, stride := range []int{1, 2, 3} {
				for _, withRes := range []bool{false, true} {
					w := (*[9]float32)(randFloats(rng, 9))
					a := DWRow{O: make([]float32, n), W: w, Stride: stride, Bias: 0.3, Lo: -1, Hi: 1.5}
					a.R0, a.R1, a.R2 = randFloats(rng, (n-1)*stride+3), randFloats(rng, (n-1)*stride+3), randFloats(rng, (n-1)*stride+3)
					if withRes {
						a.Res = randFloats(rng, n)
					}
					want := make([]float64, n)
					for j := range n {
						acc := 0.3
						for y, r := range [][]float32{a.R0, a.R1, a.R2} {
							for x := range 3 {
								acc += float64(w[3*y+x]) * float64(r[j*stride+x])
							}
						}
						if withRes {
							acc += float64(a.Res[j])
						}
						want[j] = math.Min(math.Max(acc, -1), 1.5)
					}
					k(&a)
					checkClose(t, fmt.Sprintf("n=%d stride=%d res=%v", n, stride, withRes), a.O, want, 1e-5)
				}
			}
		}
	}
}

// TestDWFlatRule checks where the rules of the amd64 levels take the flat
// small-plane kernel (BenchmarkDWFlatRule measures them), and that the
// zero rule never does.
func TestDWFlatRule(t *testing.T) {
	avx512 := dwFlatRule{lanes: 16, share: [2]int{2, 3}, maxRows: 2}
	avx2 := dwFlatRule{lanes: 8, maxWidth: 20}
	for _, c := range []struct {
		rule        dwFlatRule
		ow, oh      int
		flat        bool
		description string
	}{
		{avx512, 7, 7, true, "a 7x7 plane: 4 vectors against 7"},
		{avx512, 14, 14, false, "a 14x14 plane: 13 vectors against 14"},
		{avx512, 20, 4, true, "a band of 4 rows of 20: 5 vectors against 8"},
		{avx512, 56, 2, true, "a band of 2 rows"},
		{avx512, 56, 4, false, "a band of 4 rows of 56: 14 vectors against 16"},
		{avx2, 20, 12, true, "rows of 20 columns"},
		{avx2, 40, 1, false, "rows of 40 columns"},
		{dwFlatRule{}, 5, 5, false, "the zero rule"},
	} {
		a := &DWConv{OW: c.ow, IW: c.ow, OH: c.oh, Stride: 1}
		if got := c.rule.pays(a); got != c.flat {
			t.Errorf("%s (%+v): flat %v, want %v", c.description, c.rule, got, c.flat)
		}
	}
}
