//go:build amd64 && !purego && unix

package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// smallKernel wraps the small-plane kernels of a level as a DWConv
// kernel that fails the test when they refuse a shape they should take.
func smallKernel(t *testing.T, small func(*DWConv) bool, name string) func(*DWConv) {
	return func(a *DWConv) {
		if !small(a) {
			t.Errorf("%s: the small-plane kernels refused the shape", name)
		}
	}
}

// takesStride2 reports whether small has a stride-2 kernel (AVX2 has
// none), running it on a 3x3 plane.
func takesStride2(small func(*DWConv) bool) bool {
	a := DWConv{O: make([]float32, 4), In: [][]float32{make([]float32, 9)}, Zero: make([]float32, 3), W: make([]float32, 9), Bias: make([]float32, 1),
		C: 1, IH: 3, IW: 3, OH: 2, OW: 2, OStride: 4, Stride: 2, PadTop: 1, PadLeft: 1}
	return small(&a)
}

// dwSmallBounds are the clamp bounds the cases cycle through
// (checkDWConvKernel makes them infinite when IW%3 == 0).
var dwSmallBounds = [][2]float32{{-1.5, 2}, {0, 6}, {float32(math.Inf(-1)), float32(math.Inf(1))}, {-0.25, 0.25}, {0, float32(math.Inf(1))}}

// TestAsmDWConvSmallKernels runs the small-plane kernels of every level
// of this CPU on every plane of up to 16x16 (square or not) they take:
// stride 1 with every left padding (OW == IW), stride 2 with every left
// and right padding giving OW <= 7; top paddings 0..2 and output heights
// shorter or longer than the plane's (as the fused blocks' bands ask),
// 1..4 channels, with and without a residual, several clamp bounds.
// Every plane, the output and the residual sit against a guard page,
// alternately after their end and before their start (so their starts
// have every alignment), and results must be bit-identical to the
// exact-FMA twin of the plane kernels.
func TestAsmDWConvSmallKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	tested := 0
	for _, level := range asmLevels() {
		small := asmDWConvSmall3x3(level)
		if small == nil {
			continue
		}
		s2 := takesStride2(small)
		if level == ISAAVX512 && !s2 {
			t.Errorf("%s: no stride-2 small-plane kernel", level)
		}
		n := 0
		run := func(a DWConv, pb int) {
			n++
			if a.OH <= 0 || a.OW <= 0 || a.Stride == 1 && a.OH*a.OW > 256 || a.Stride == 2 && !s2 {
				return
			}
			withRes := n%2 == 0
			bounds := dwSmallBounds[n%len(dwSmallBounds)]
			a.Lo, a.Hi = bounds[0], bounds[1]
			a.C = 1 + n%4
			a.OStride = a.OH*a.OW + n%3
			name := fmt.Sprintf("%s s%d %dx%d -> %dx%d pads t%d l%d (b%d) c%d res=%v",
				level, a.Stride, a.IH, a.IW, a.OH, a.OW, a.PadTop, a.PadLeft, pb, a.C, withRes)
			checkDWConvKernel(t, rng, smallKernel(t, small, name), name, n%3 == 0, a, withRes)
			tested++
		}
		for ih := 1; ih <= 16; ih++ {
			for iw := 1; iw <= 16; iw++ {
				// stride 1: OW == IW, so PadRight = 2 - PadLeft
				pl, pt, pb := (ih+iw)%3, (ih+2*iw)%3, (2*ih+iw)%3
				run(DWConv{IH: ih, IW: iw, OH: ih + pt + pb - 2, OW: iw, Stride: 1, PadTop: pt, PadLeft: pl}, pb)
				// stride 2: the pads cycle, OW from them
				pl, pr := (ih+iw)%3, (ih*iw)%3
				ow := (iw+pl+pr-3)/2 + 1
				if iw+pl+pr >= 3 && ow <= 7 && (ow-1)*2+2-pl <= iw+1 {
					oh := (ih+pt+pb-3)/2 + 1
					if ih+pt+pb < 3 {
						oh = 0
					}
					run(DWConv{IH: ih, IW: iw, OH: oh, OW: ow, Stride: 2, PadTop: pt, PadLeft: pl}, pb)
				}
			}
		}
		// MobileNetV2's planes with every padding, and bands: output
		// rows fewer or more than the plane gives
		for _, hw := range []int{7, 14} {
			for pt := range 3 {
				for pl := range 3 {
					for _, dh := range []int{-3, 0, 2} {
						run(DWConv{IH: hw, IW: hw, OH: hw + dh, OW: hw, Stride: 1, PadTop: pt, PadLeft: pl}, -1)
						if hw == 14 {
							run(DWConv{IH: hw, IW: hw, OH: 7 + dh, OW: 7, Stride: 2, PadTop: pt, PadLeft: pl}, -1)
						}
					}
				}
			}
		}
		// the largest planes they take
		run(DWConv{IH: 16, IW: 16, OH: 16, OW: 16, Stride: 1, PadTop: 1, PadLeft: 1}, 1)
		run(DWConv{IH: 2, IW: 128, OH: 2, OW: 128, Stride: 1, PadTop: 1, PadLeft: 1}, 1)
		run(DWConv{IH: 256, IW: 1, OH: 256, OW: 1, Stride: 1, PadTop: 1, PadLeft: 1}, 1)
		run(DWConv{IH: 64, IW: 13, OH: 32, OW: 7, Stride: 2, PadTop: 1, PadLeft: 1}, 1)
		run(DWConv{IH: 63, IW: 14, OH: 32, OW: 7, Stride: 2, PadTop: 1, PadLeft: 1}, 2)
	}
	if tested == 0 {
		t.Skip("no small-plane depthwise kernels on this CPU")
	}
	t.Logf("%d cases", tested)
}

// TestAsmDWConvSmallRefuses checks that the small-plane kernels leave the
// shapes they do not take to the plane kernels, without writing.
func TestAsmDWConvSmallRefuses(t *testing.T) {
	for _, level := range asmLevels() {
		small := asmDWConvSmall3x3(level)
		if small == nil {
			continue
		}
		for _, a := range []DWConv{
			{IH: 16, IW: 17, OH: 16, OW: 17, Stride: 1, PadTop: 1, PadLeft: 1}, // 272 outputs
			{IH: 14, IW: 14, OH: 14, OW: 13, Stride: 1, PadTop: 1, PadLeft: 1}, // OW != IW
			{IH: 28, IW: 28, OH: 28, OW: 28, Stride: 1, PadTop: 1, PadLeft: 1},
			{IH: 16, IW: 16, OH: 8, OW: 8, Stride: 2, PadTop: 1, PadLeft: 1},  // OW 8
			{IH: 70, IW: 14, OH: 34, OW: 7, Stride: 2, PadTop: 1, PadLeft: 1}, // 17 pairs
			{IH: 0, IW: 7, OH: 7, OW: 7, Stride: 1, PadTop: 1, PadLeft: 1},
		} {
			a.C, a.OStride = 1, a.OH*a.OW
			a.O = make([]float32, a.OStride)
			if small(&a) {
				t.Errorf("%s: the small-plane kernels took s%d %dx%d -> %dx%d", level, a.Stride, a.IH, a.IW, a.OH, a.OW)
			}
		}
	}
}

// BenchmarkAsmDWConvSmall runs the small-plane kernels of each level on
// MobileNetV2's small planes (8 channels per call, padding 1), 18 FLOP
// per output; BenchmarkAsmDWConv runs the plane kernels on the same.
func BenchmarkAsmDWConvSmall(b *testing.B) {
	for _, level := range asmLevels() {
		small := asmDWConvSmall3x3(level)
		if small == nil {
			continue
		}
		for _, c := range []struct{ n, stride int }{{7, 1}, {14, 1}, {14, 2}} {
			b.Run(fmt.Sprintf("%s/s%d/n=%d", level, c.stride, c.n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				const ch = 8
				n, o := c.n, (c.n+2-3)/c.stride+1
				a := DWConv{O: make([]float32, ch*o*o), Zero: make([]float32, n), W: randFloats(rng, 9*ch), Bias: randFloats(rng, ch),
					C: ch, IH: n, IW: n, OH: o, OW: o, OStride: o * o, Stride: c.stride, PadTop: 1, PadLeft: 1, Lo: 0, Hi: 6}
				for range ch {
					a.In = append(a.In, randFloats(rng, n*n))
				}
				if !small(&a) {
					b.Skip("not a small-plane shape at this level")
				}
				b.ResetTimer()
				for range b.N {
					small(&a)
				}
				reportKernelFLOPs(b, float64(18*ch*o*o))
			})
		}
	}
}

// BenchmarkDWFlatRule times the flat small-plane kernel beside the plane
// kernel on whole planes (a padding row above and below: "plane"), on
// the bands of fused blocks (input rows around them: "band") and on a
// block's top band ("top"), 32 channels per call, and reports as
// "flat-picked" whether dwFlatRule (archDWConvSmall3x3) runs the flat
// one there: the data the rule is read from.
func BenchmarkDWFlatRule(b *testing.B) {
	type shape struct {
		w, oh int
		kind  string
	}
	var shapes []shape
	for n := 5; n <= 16; n++ {
		shapes = append(shapes, shape{n, n, "plane"})
	}
	for _, w := range []int{10, 14, 20, 28, 40, 56} {
		for _, oh := range []int{1, 2, 3, 4, 6, 8, 12} {
			if w*oh <= 256 {
				shapes = append(shapes, shape{w, oh, "band"}, shape{w, oh, "top"})
			}
		}
	}
	for _, level := range asmLevels() {
		small, rule := archDWConvSmall3x3(level)
		if small == nil {
			continue
		}
		for _, sh := range shapes {
			ih, padTop := sh.oh, 1
			switch sh.kind {
			case "band":
				ih, padTop = sh.oh+2, 0
			case "top":
				ih = sh.oh + 1
			}
			rng := rand.New(rand.NewPCG(1, 1))
			const ch = 32
			// the planes one after the other in a guarded buffer, as in an
			// arena: the masked-off lanes of the loads past a plane stay on
			// mapped pages (see guardFloats)
			in := AlignedFloats(ch * ih * sh.w)
			copy(in, randFloats(rng, len(in)))
			a := DWConv{O: AlignedFloats(ch * sh.oh * sh.w), Zero: ZeroRow(sh.w), W: randFloats(rng, 9*ch), Bias: randFloats(rng, ch),
				C: ch, IH: ih, IW: sh.w, OH: sh.oh, OW: sh.w, OStride: sh.oh * sh.w, Stride: 1, PadTop: padTop, PadLeft: 1, Lo: 0, Hi: 6}
			for c := range ch {
				a.In = append(a.In, in[c*ih*sh.w:(c+1)*ih*sh.w])
			}
			picked := 0.0
			if rule.pays(&a) {
				picked = 1
			}
			for _, kern := range []string{"flat", "plane"} {
				b.Run(fmt.Sprintf("%s/%s/w=%d/oh=%d/%s", level, sh.kind, sh.w, sh.oh, kern), func(b *testing.B) {
					run := func() { asmDWConv3x3(level)(&a) }
					if kern == "flat" {
						run = func() { small(&a) }
					}
					for b.Loop() {
						run()
					}
					reportKernelFLOPs(b, float64(18*ch*sh.oh*sh.w))
					b.ReportMetric(picked, "flat-picked")
				})
			}
		}
	}
}
