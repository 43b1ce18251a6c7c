package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// convNdAttrs are the interpreter's attributes of s.
func convNdAttrs(s ConvNdShape) map[string]ir.Attr {
	var st, di, pads []int
	var pe []int
	for i := range s.In {
		w := s.window(i)
		st, di = append(st, w.stride), append(di, w.dilation)
		pads, pe = append(pads, w.padBegin), append(pe, w.padEnd)
	}
	return map[string]ir.Attr{"kernel_shape": attrInts(s.Kernel...), "strides": attrInts(st...),
		"dilations": attrInts(di...), "pads": attrInts(append(pads, pe...)...), "group": attrInt(s.group())}
}

// convNdCase is a convolution with its options.
type convNdCase struct {
	s        ConvNdShape
	bias     bool
	residual bool
	act      Act
}

func (c convNdCase) String() string {
	return fmt.Sprintf("%v/bias=%v/residual=%v/act=%v", c.s, c.bias, c.residual, c.act)
}

// randConvNd draws a convolution of 1 to 3 axes: kernels 1 to 4 (1 to 3
// in 3-D), strides 1 to 3, dilations 1 or 2, pads up to the kernel,
// groups, channel counts with panel tails.
func randConvNd(rng *rand.Rand) convNdCase {
	r := 1 + rng.IntN(3)
	g := []int{1, 1, 1, 2, 3}[rng.IntN(5)]
	s := ConvNdShape{Batch: 1 + rng.IntN(2), Cin: g * (1 + rng.IntN(6)), Cout: g * (1 + rng.IntN(15)), Group: g}
	maxK := 4
	if r == 3 {
		maxK = 3
	}
	for {
		s.In, s.Kernel, s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd = nil, nil, nil, nil, nil, nil
		for range r {
			k := 1 + rng.IntN(maxK)
			s.Kernel = append(s.Kernel, k)
			s.In = append(s.In, 1+rng.IntN([]int{40, 14, 8}[r-1]))
			s.Strides = append(s.Strides, 1+rng.IntN(3))
			s.Dilations = append(s.Dilations, 1+rng.IntN(2))
			s.PadsBegin = append(s.PadsBegin, rng.IntN(k+1))
			s.PadsEnd = append(s.PadsEnd, rng.IntN(k+1))
		}
		if s.Validate() == nil {
			break
		}
	}
	return convNdCase{s: s, bias: rng.IntN(2) == 1, residual: rng.IntN(3) == 0, act: []Act{{}, Relu, Clip(-1, 1.5), SiLU, HardSwish(1.0/6, 0.5)}[rng.IntN(5)]}
}

// convNdWant is the interpreter's act(conv(x) + bias + residual) for the
// case, and the largest magnitude before the activation.
func convNdWant(t *testing.T, c convNdCase, x, w, bias, res []float32) (*ir.Tensor, float64) {
	s := c.s
	var bT *ir.Tensor
	if bias != nil {
		bT = tensorF32([]int{s.Cout}, bias)
	}
	wShape := append([]int{s.Cout, s.Cin / s.group()}, s.Kernel...)
	want := interpEval(t, "Conv", convNdAttrs(s), tensorF32(append([]int{s.Batch, s.Cin}, s.In...), x), tensorF32(wShape, w), bT)
	if !slices.Equal([]int(want.Shape), append([]int{s.Batch, s.Cout}, s.Out()...)) {
		t.Fatalf("%v: the interpreter's output is %v, Out says %v", s, want.Shape, s.Out())
	}
	for i := range res {
		want.F32[i] += res[i]
	}
	scale := maxAbs(want.F32)
	for i, v := range want.F32 {
		want.F32[i] = float32(refAct(c.act, float64(v)))
	}
	return want, scale
}

func checkConvNd(t *testing.T, rng *rand.Rand, c convNdCase, via2D bool) *ConvNd {
	t.Helper()
	s := c.s
	x := randOffsetFloats(rng, s.InLen())
	w := randFloats(rng, s.Cout*s.Cin/s.group()*shapeProduct(s.Kernel))
	var bias, res []float32
	if c.bias {
		bias = randFloats(rng, s.Cout)
	}
	if c.residual {
		res = randOffsetFloats(rng, s.OutLen())
	}
	packMR := []int{PackMR, 6, 8}[rng.IntN(3)]
	packed, err := PackConvNdWeights(w, s, packMR)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	conv, err := newConvNd(s, packed, packMR, bias, c.act, via2D)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	want, scale := convNdWant(t, c, x, w, bias, res)
	checkOracleScaled(t, fmt.Sprintf("%v/via2D=%v/mr=%d", c, via2D, packMR), want, scale, func(p *Pool) []float32 {
		out := nanFloats(rng, s.OutLen())
		conv.Run(p, x, out, res)
		return out
	})
	return conv
}

func TestConvNd(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 1))
	cases := []convNdCase{
		// a non-local block's 1x1x1 convolutions and TSM's temporal (3,1,1)
		{s: ConvNdShape{Batch: 1, Cin: 64, Cout: 32, In: []int{8, 7, 7}, Kernel: []int{1, 1, 1}}, bias: true},
		{s: ConvNdShape{Batch: 2, Cin: 16, Cout: 24, In: []int{8, 6, 5}, Kernel: []int{3, 1, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{1, 0, 0}}, bias: true, act: Relu},
		// a full 3x3x3 convolution with every option, K blocks
		{s: ConvNdShape{Batch: 2, Cin: 12, Cout: 20, Group: 2, In: []int{5, 9, 8}, Kernel: []int{3, 3, 3}, Strides: []int{1, 2, 1}, Dilations: []int{2, 1, 1},
			PadsBegin: []int{2, 1, 1}, PadsEnd: []int{1, 1, 0}}, bias: true, residual: true, act: Clip(-1, 1)},
		{s: ConvNdShape{Batch: 1, Cin: 40, Cout: 13, In: []int{4, 6, 6}, Kernel: []int{2, 3, 3}, PadsBegin: []int{0, 1, 1}, PadsEnd: []int{1, 1, 1}}},
		// 1-D: wide rows, the im2col kernels' runs of 32 and their tails
		{s: ConvNdShape{Batch: 2, Cin: 5, Cout: 7, In: []int{100}, Kernel: []int{5}, Strides: []int{2}, PadsBegin: []int{2}, PadsEnd: []int{2}}, bias: true},
		{s: ConvNdShape{Batch: 1, Cin: 6, Cout: 6, Group: 6, In: []int{33}, Kernel: []int{3}, Dilations: []int{3}, PadsBegin: []int{3}, PadsEnd: []int{3}}},
		// kernel wider than the assembly packer takes
		{s: ConvNdShape{Batch: 1, Cin: 3, Cout: 8, In: []int{3, 4, 30}, Kernel: []int{2, 1, 9}, PadsBegin: []int{1, 0, 4}, PadsEnd: []int{0, 0, 4}}, residual: true},
	}
	for range 80 {
		cases = append(cases, randConvNd(rng))
	}
	paths := map[string]int{}
	for ci, c := range cases {
		for _, via2D := range []bool{true, false} {
			conv := checkConvNd(t, rand.New(rand.NewPCG(uint64(ci), 23)), c, via2D)
			switch {
			case conv.conv != nil:
				paths["Conv"]++
			case len(c.s.In) == 3:
				paths["3-D GEMM"]++
			default:
				paths["1-D/2-D GEMM"]++
			}
			if conv.plan != nil && conv.panel.im2col != nil {
				paths["assembly im2col"]++
			}
		}
	}
	for _, p := range []string{"Conv", "3-D GEMM", "1-D/2-D GEMM"} {
		if paths[p] == 0 {
			t.Errorf("no case ran on %s", p)
		}
	}
	if k, _ := archIm2col(isa, 1); k != nil && paths["assembly im2col"] == 0 {
		t.Error("no case packed with the assembly im2col kernels")
	}
}

// TestConv2DMapping checks which shapes ConvNdShape.Conv2D maps, and runs
// each mapped ConvShape on Conv directly (weights packed by
// PackConvWeights for it) against the interpreter's N-d convolution.
func TestConv2DMapping(t *testing.T) {
	for _, c := range []struct {
		s    ConvNdShape
		want ConvShape // zero: does not map
	}{
		{ConvNdShape{Batch: 2, Cin: 4, Cout: 6, In: []int{20}, Kernel: []int{3}, Strides: []int{2}, PadsBegin: []int{1}, PadsEnd: []int{0}},
			ConvShape{Frames: 2, Cin: 4, H: 1, W: 20, Cout: 6, Group: 1, KH: 1, KW: 3, StrideH: 1, StrideW: 2, DilationH: 1, DilationW: 1, PadLeft: 1}},
		{ConvNdShape{Batch: 1, Cin: 8, Cout: 16, In: []int{8, 7, 6}, Kernel: []int{3, 1, 1}, Strides: []int{2, 1, 1}, Dilations: []int{2, 3, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{2, 0, 0}},
			ConvShape{Frames: 1, Cin: 8, H: 8, W: 42, Cout: 16, Group: 1, KH: 3, KW: 1, StrideH: 2, StrideW: 1, DilationH: 2, DilationW: 1, PadTop: 1, PadBottom: 2}},
		{ConvNdShape{Batch: 2, Cin: 6, Cout: 9, Group: 3, In: []int{4, 5, 5}, Kernel: []int{1, 1, 1}},
			ConvShape{Frames: 2, Cin: 6, H: 1, W: 100, Cout: 9, Group: 3, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}},
		{ConvNdShape{Batch: 1, Cin: 3, Cout: 5, In: []int{1, 9, 10}, Kernel: []int{1, 3, 3}, Strides: []int{1, 2, 2}, PadsBegin: []int{0, 1, 1}, PadsEnd: []int{0, 1, 1}},
			ConvShape{Frames: 1, Cin: 3, H: 9, W: 10, Cout: 5, Group: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{ConvNdShape{Batch: 1, Cin: 3, Cout: 5, In: []int{6, 1, 9}, Kernel: []int{2, 1, 3}},
			ConvShape{Frames: 1, Cin: 3, H: 6, W: 9, Cout: 5, Group: 1, KH: 2, KW: 3, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}},
		{ConvNdShape{Batch: 1, Cin: 3, Cout: 5, In: []int{6, 4, 9}, Kernel: []int{1, 3, 3}}, ConvShape{}},                                                     // the depth stays
		{ConvNdShape{Batch: 1, Cin: 3, Cout: 5, In: []int{6, 4, 9}, Kernel: []int{3, 1, 1}, PadsBegin: []int{0, 1, 0}, PadsEnd: []int{0, 0, 0}}, ConvShape{}}, // padded rows
		{ConvNdShape{Batch: 1, Cin: 3, Cout: 5, In: []int{6, 4, 9}, Kernel: []int{3, 1, 1}, Strides: []int{1, 2, 1}}, ConvShape{}},                            // strided rows
	} {
		got, ok := c.s.Conv2D()
		if ok != (c.want != ConvShape{}) || got != c.want {
			t.Errorf("%v: Conv2D gives %v, %v; want %v", c.s, got, ok, c.want)
			continue
		}
		if !ok {
			continue
		}
		rng := rand.New(rand.NewPCG(5, 5))
		s := c.s
		cinG := s.Cin / s.group()
		x := randFloats(rng, s.InLen())
		w := randFloats(rng, s.Cout*cinG*shapeProduct(s.Kernel))
		bias := randFloats(rng, s.Cout)
		packed, err := PackConvWeights(w, got.Cout, cinG, got.KH, got.KW, got.Group, PackMR)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := NewConv(got, packed, PackMR, bias, Act{})
		if err != nil {
			t.Fatalf("%v: %v", got, err)
		}
		want, _ := convNdWant(t, convNdCase{s: s}, x, w, bias, nil)
		checkOracle(t, fmt.Sprintf("%v as %v", s, got), want, func(p *Pool) []float32 {
			out := nanFloats(rng, s.OutLen())
			conv.Run(p, PlainRows(x, s.Batch, s.Cin, shapeProduct(s.In)), out, nil)
			return out
		})
	}
}

func TestConvNdErrors(t *testing.T) {
	ok := ConvNdShape{Batch: 1, Cin: 4, Cout: 4, Group: 2, In: []int{5, 5, 5}, Kernel: []int{3, 3, 3}}
	for _, s := range []ConvNdShape{
		{Batch: 1, Cin: 4, Cout: 4, In: []int{}, Kernel: []int{}},
		{Batch: 1, Cin: 4, Cout: 4, In: []int{2, 2, 2, 2}, Kernel: []int{1, 1, 1, 1}},
		{Batch: 1, Cin: 4, Cout: 4, In: []int{5, 5}, Kernel: []int{3}},
		{Batch: 0, Cin: 4, Cout: 4, In: []int{5}, Kernel: []int{3}},
		{Batch: 1, Cin: 4, Cout: 4, Group: 3, In: []int{5}, Kernel: []int{3}},
		{Batch: 1, Cin: 4, Cout: 4, In: []int{5}, Kernel: []int{6}},
		{Batch: 1, Cin: 4, Cout: 4, In: []int{5}, Kernel: []int{4}, Strides: []int{2}, Dilations: []int{2}}, // 7 > 5, one less than the stride past
		{Batch: 1, Cin: 4, Cout: 4, In: []int{5}, Kernel: []int{3}, PadsBegin: []int{-1}},
		{Batch: 1, Cin: 4, Cout: 4, In: []int{5}, Kernel: []int{3}, Strides: []int{1, 1}},
	} {
		if _, err := NewConvNd(s, make([]float32, PackedConvNdWeightsLen(s, PackMR)), PackMR, nil, Act{}); err == nil {
			t.Errorf("%v: no error", s)
		}
	}
	if _, err := NewConvNd(ok, make([]float32, 3), PackMR, nil, Act{}); err == nil {
		t.Error("weights of the wrong length: no error")
	}
	if _, err := NewConvNd(ok, make([]float32, PackedConvNdWeightsLen(ok, PackMR)), PackMR, make([]float32, 3), Act{}); err == nil {
		t.Error("bias of the wrong length: no error")
	}
}

// BenchmarkConvNd runs 3-D convolutions of video networks: a 3x3x3 one
// (I3D-like, 64 channels, 8x28x28) on the GEMM, and a temporal (3,1,1)
// one and a non-local block's 1x1x1 one both on Conv (mapped) and on the
// GEMM.
func BenchmarkConvNd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 5))
	p1 := []int{1, 1, 1}
	for _, c := range []struct {
		name  string
		s     ConvNdShape
		via2D bool
	}{
		{"3x3x3_64x64_8x28x28", ConvNdShape{Batch: 1, Cin: 64, Cout: 64, In: []int{8, 28, 28}, Kernel: []int{3, 3, 3}, PadsBegin: p1, PadsEnd: p1}, false},
		{"3x1x1_256x128_8x14x14/Conv", ConvNdShape{Batch: 1, Cin: 256, Cout: 128, In: []int{8, 14, 14}, Kernel: []int{3, 1, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{1, 0, 0}}, true},
		{"3x1x1_256x128_8x14x14/gemm", ConvNdShape{Batch: 1, Cin: 256, Cout: 128, In: []int{8, 14, 14}, Kernel: []int{3, 1, 1}, PadsBegin: []int{1, 0, 0}, PadsEnd: []int{1, 0, 0}}, false},
		{"1x1x1_1024x512_8x14x14/Conv", ConvNdShape{Batch: 1, Cin: 1024, Cout: 512, In: []int{8, 14, 14}, Kernel: p1}, true},
		{"1x1x1_1024x512_8x14x14/gemm", ConvNdShape{Batch: 1, Cin: 1024, Cout: 512, In: []int{8, 14, 14}, Kernel: p1}, false},
	} {
		s := c.s
		packed, _ := PackConvNdWeights(randFloats(rng, s.Cout*s.Cin*shapeProduct(s.Kernel)), s, PackMR)
		conv, err := newConvNd(s, packed, PackMR, nil, Act{}, c.via2D)
		if err != nil {
			b.Fatal(err)
		}
		x, out := randFloats(rng, s.InLen()), make([]float32, s.OutLen())
		b.Run(c.name, func(b *testing.B) {
			benchRun(b, 1, s.FLOPs(), func(p *Pool) { conv.Run(p, x, out, nil) })
		})
	}
}

func TestConvNdRunTimeWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 2))
	for range 40 {
		c := randConvNd(rng)
		c.bias, c.residual = false, false
		s := c.s
		packed := make([]float32, PackedConvNdWeightsLen(s, PackMR))
		conv, err := NewConvNdRunTimeWeights(s, packed, PackMR, c.act)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if conv.conv != nil {
			t.Fatalf("%v: run-time weights took the 2-D plan, which transforms weights once", c)
		}
		// Two runs with different weights packed into the same buffer.
		for run := range 2 {
			x := randOffsetFloats(rng, s.InLen())
			w := randFloats(rng, s.Cout*s.Cin/s.group()*shapeProduct(s.Kernel))
			if err := PackConvNdWeightsTo(packed, w, s, PackMR); err != nil {
				t.Fatal(err)
			}
			want, scale := convNdWant(t, c, x, w, nil, nil)
			checkOracleScaled(t, fmt.Sprintf("%v/run %d", c, run), want, scale, func(p *Pool) []float32 {
				out := nanFloats(rng, s.OutLen())
				conv.Run(p, x, out, nil)
				return out
			})
		}
	}
	s := ConvNdShape{Batch: 1, Cin: 2, Cout: 2, In: []int{4}, Kernel: []int{3}}
	if err := PackConvNdWeightsTo(make([]float32, 3), make([]float32, 12), s, PackMR); err == nil {
		t.Error("packing into a buffer of the wrong size: no error")
	}
}
