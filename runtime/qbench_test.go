package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// mbv2Pointwise are the pointwise convolutions of the online MobileNetV2
// (one 224x224 frame): Cin -> Cout at HxW, each shape once.
var mbv2Pointwise = []struct{ cin, cout, hw int }{
	{32, 16, 112}, {16, 96, 112}, {96, 24, 56}, {24, 144, 56}, {144, 24, 56},
	{144, 32, 28}, {32, 192, 28}, {192, 32, 28}, {192, 64, 14}, {64, 384, 14},
	{384, 64, 14}, {384, 96, 14}, {96, 576, 14}, {576, 96, 14}, {576, 160, 7},
	{160, 960, 7}, {960, 160, 7}, {960, 320, 7}, {320, 1280, 7},
}

// BenchmarkQConvPointwise times the int8 and the float32 convolution on
// each pointwise shape of the online MobileNetV2, one after the other
// (run it pinned, with -count, on a quiet machine):
//
//	taskset -c 1 go test -run '^$' -bench QConvPointwise -count 5 ./runtime/
//
// GOP/s counts 2 operations per multiply-add for both.
func BenchmarkQConvPointwise(b *testing.B) {
	for _, sh := range mbv2Pointwise {
		s := ConvShape{Frames: 1, Cin: sh.cin, H: sh.hw, W: sh.hw, Cout: sh.cout, KH: 1, KW: 1}
		name := fmt.Sprintf("M%d_K%d_N%d", sh.cout, sh.cin, sh.hw*sh.hw)
		rng := rand.New(rand.NewPCG(1, 2))
		b.Run(name+"/f32", func(b *testing.B) {
			w := randFloats(rng, s.Cout*s.Cin)
			packed, err := PackConvWeights(w, s.Cout, s.Cin, 1, 1, 1, PackMR)
			if err != nil {
				b.Fatal(err)
			}
			conv, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Relu)
			if err != nil {
				b.Fatal(err)
			}
			in := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
			out := make([]float32, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { conv.Run(p, in, out, nil) })
		})
		b.Run(name+"/int8", func(b *testing.B) {
			c := qconvCase{s: s, packMR: PackQMR, inZero: 128}
			x, w, bias, rq, _ := qconvData(rng, c)
			conv := planQConv(b, c, w, bias, rq)
			in := PlainQRows(x, s.Frames, s.Cin, s.H*s.W)
			out := make([]uint8, s.OutLen())
			b.Logf("%s", conv.Kernel())
			benchOps(b, s.FLOPs(), func(p *Pool) { conv.Run(p, in, out, nil) })
		})
	}
}

// benchOps times run on one worker and reports GOP/s.
func benchOps(b *testing.B, ops float64, run func(p *Pool)) {
	p := NewPool(1)
	defer p.Close()
	run(p)
	b.ResetTimer()
	for range b.N {
		run(p)
	}
	b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
}

// mbv2Depthwise are the depthwise 3x3 convolutions of the online
// MobileNetV2 (one frame, padding 1): channels, input size, stride.
var mbv2Depthwise = []struct{ c, hw, stride int }{
	{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1}, {192, 28, 2},
	{384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1},
}

// BenchmarkQDepthwise times the int8 and the float32 depthwise
// convolution (ReLU6) on each depthwise shape of the online MobileNetV2,
// one after the other, one worker:
//
//	taskset -c 1 go test -run '^$' -bench QDepthwise -count 5 ./runtime/
func BenchmarkQDepthwise(b *testing.B) {
	for _, sh := range mbv2Depthwise {
		s := ConvShape{Frames: 1, Cin: sh.c, Cout: sh.c, Group: sh.c, H: sh.hw, W: sh.hw, KH: 3, KW: 3,
			StrideH: sh.stride, StrideW: sh.stride, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
		name := fmt.Sprintf("C%d_%dx%d_s%d", sh.c, sh.hw, sh.hw, sh.stride)
		rng := rand.New(rand.NewPCG(3, 4))
		b.Run(name+"/f32", func(b *testing.B) {
			d, err := NewDepthwiseConv(s, randFloats(rng, 9*s.Cin), randFloats(rng, s.Cin), Clip(0, 6))
			if err != nil {
				b.Fatal(err)
			}
			in := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
			out := make([]float32, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { d.Run(p, in, out, nil) })
		})
		b.Run(name+"/int8", func(b *testing.B) {
			c := qconvCase{s: s, inZero: 128, relu6: true}
			x, w, bias, rq, _ := qconvData(rng, c)
			d, err := NewQDepthwiseConv(s, w, bias, c.inZero, rq)
			if err != nil {
				b.Fatal(err)
			}
			in := PlainQRows(x, s.Frames, s.Cin, s.H*s.W)
			out := make([]uint8, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { d.Run(p, in, out) })
		})
	}
}

// BenchmarkQConvIm2col times the int8 and the float32 convolution on the
// im2col shapes of the models: MobileNetV2's stem and a ResNet50 3x3.
func BenchmarkQConvIm2col(b *testing.B) {
	for _, c := range []struct {
		name string
		s    ConvShape
	}{
		{"S_mbv2_stem_3x3s2", ConvShape{Frames: 1, Cin: 3, H: 224, W: 224, Cout: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_resnet_3x3_64_56", ConvShape{Frames: 1, Cin: 64, H: 56, W: 56, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_resnet_3x3_256_14_8f", ConvShape{Frames: 8, Cin: 256, H: 14, W: 14, Cout: 256, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_resnet_3x3s2_128_56_8f", ConvShape{Frames: 8, Cin: 128, H: 56, W: 56, Cout: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_tsm_stem_7x7s2_32_112_16f", ConvShape{Frames: 16, Cin: 3, H: 112, W: 112, Cout: 32, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
		{"S_narrow_3x3_32_28_16f", ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_narrow_3x3s2_32_28_16f", ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_narrow_3x3_64_14_16f", ConvShape{Frames: 16, Cin: 64, H: 14, W: 14, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_narrow_3x3_256_4_16f", ConvShape{Frames: 16, Cin: 256, H: 4, W: 4, Cout: 256, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_r18_96_3x3_512_3_16f", ConvShape{Frames: 16, Cin: 512, H: 3, W: 3, Cout: 512, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_r18_96_3x3_64_24_16f", ConvShape{Frames: 16, Cin: 64, H: 24, W: 24, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_r18_96_3x3_128_12_16f", ConvShape{Frames: 16, Cin: 128, H: 12, W: 12, Cout: 128, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"S_resnet_3x3_512_7_8f", ConvShape{Frames: 8, Cin: 512, H: 7, W: 7, Cout: 512, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	} {
		s := c.s
		rng := rand.New(rand.NewPCG(1, 2))
		b.Run(c.name+"/f32", func(b *testing.B) {
			packed, err := PackConvWeights(randFloats(rng, s.Cout*s.Cin*s.KH*s.KW), s.Cout, s.Cin, s.KH, s.KW, 1, PackMR)
			if err != nil {
				b.Fatal(err)
			}
			conv, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Relu)
			if err != nil {
				b.Fatal(err)
			}
			in := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
			out := make([]float32, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { conv.Run(p, in, out, nil) })
		})
		b.Run(c.name+"/int8", func(b *testing.B) {
			qc := qconvCase{s: s, packMR: PackQMR, inZero: 128}
			x, w, bias, rq, _ := qconvData(rng, qc)
			conv := planQConv(b, qc, w, bias, rq)
			in := PlainQRows(x, s.Frames, s.Cin, s.H*s.W)
			out := make([]uint8, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { conv.Run(p, in, out, nil) })
		})
	}
}

// BenchmarkQR50Pointwise times the int8 pointwise convolutions of an
// 8-frame ResNet50-TSM at one worker: the reductions, the expansions
// with their requantised residual add, and a stride-2 downsample:
//
//	taskset -c 1 go test -run '^$' -bench QR50Pointwise -count 5 ./runtime/
func BenchmarkQR50Pointwise(b *testing.B) {
	for _, c := range []struct {
		cin, cout, hw, stride int
		res                   bool
	}{
		{256, 64, 56, 1, false}, {64, 256, 56, 1, true}, {64, 256, 56, 1, false}, {256, 128, 56, 1, false},
		{256, 512, 56, 2, false}, {512, 128, 28, 1, false}, {128, 512, 28, 1, true}, {1024, 256, 14, 1, false},
		{256, 1024, 14, 1, true},
	} {
		s := ConvShape{Frames: 8, Cin: c.cin, H: c.hw, W: c.hw, Cout: c.cout, KH: 1, KW: 1, StrideH: c.stride, StrideW: c.stride}
		b.Run(fmt.Sprintf("%d_%d_%d_s%d_r%v", c.cin, c.cout, c.hw, c.stride, c.res), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			qc := qconvCase{s: s, packMR: PackQMR, inZero: 128, residual: c.res}
			x, w, bias, rq, res := qconvData(rng, qc)
			conv := planQConv(b, qc, w, bias, rq)
			in := PlainQRows(x, s.Frames, s.Cin, s.H*s.W)
			out := make([]uint8, s.OutLen())
			benchOps(b, s.FLOPs(), func(p *Pool) { conv.Run(p, in, out, res) })
		})
	}
}

// BenchmarkQInvertedResidual times the int8 inverted residual blocks of
// MobileNetV2 fused (QInvertedResidual) and as their three operations,
// for one frame (the online model) and eight (a clip), at 1 and 2
// threads:
//
//	go test -run '^$' -bench QInvertedResidual -count 5 ./runtime/
func BenchmarkQInvertedResidual(b *testing.B) {
	type block struct {
		cin, ce, cout, hw, stride int
		stem                      bool
	}
	for _, bl := range []block{
		{3, 32, 16, 112, 1, true}, {16, 96, 24, 112, 2, false}, {24, 144, 24, 56, 1, false},
		{24, 144, 32, 56, 2, false}, {32, 192, 32, 28, 1, false}, {32, 192, 64, 28, 2, false},
		{64, 384, 64, 14, 1, false}, {96, 576, 96, 14, 1, false}, {96, 576, 160, 14, 2, false},
		{160, 960, 160, 7, 1, false},
	} {
		for _, frames := range []int{1, 8} {
			rng := rand.New(rand.NewPCG(1, 1))
			newQConv := func(s ConvShape) *QConv {
				c := qconvCase{s: s, packMR: PackQMR, inZero: 3, relu6: true}
				_, w, bias, rq, _ := qconvData(rng, c)
				return planQConv(b, c, w, bias, rq)
			}
			es := ConvShape{Frames: frames, Cin: bl.cin, H: bl.hw, W: bl.hw, Cout: bl.ce, KH: 1, KW: 1}
			if bl.stem {
				es = ConvShape{Frames: frames, Cin: bl.cin, H: 2 * bl.hw, W: 2 * bl.hw, Cout: bl.ce, KH: 3, KW: 3,
					StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
			}
			ds := ConvShape{Frames: frames, Cin: bl.ce, Cout: bl.ce, Group: bl.ce, H: bl.hw, W: bl.hw, KH: 3, KW: 3,
				StrideH: bl.stride, StrideW: bl.stride, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
			dc := qconvCase{s: ds, inZero: 3, relu6: true}
			_, dw8, dbias, drq, _ := qconvData(rng, dc)
			dw, err := NewQDepthwiseConv(ds, dw8, dbias, dc.inZero, drq)
			if err != nil {
				b.Fatal(err)
			}
			ps := ConvShape{Frames: frames, Cin: bl.ce, H: ds.OutH(), W: ds.OutW(), Cout: bl.cout, KH: 1, KW: 1}
			expand, project := newQConv(es), newQConv(ps)
			blk, err := NewQInvertedResidual(expand, dw, project)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]uint8, es.InLen())
			in := PlainQRows(x, frames, es.Cin, es.H*es.W)
			e, d, out := make([]uint8, ds.InLen()), make([]uint8, ds.OutLen()), make([]uint8, ps.OutLen())
			eRows, dRows := PlainQRows(e, frames, ds.Cin, ds.H*ds.W), PlainQRows(d, frames, ps.Cin, ps.H*ps.W)
			flops := es.FLOPs() + ds.FLOPs() + ps.FLOPs()
			name := fmt.Sprintf("%d_%d_%d_%d_s%d/frames=%d", bl.cin, bl.ce, bl.cout, bl.hw, bl.stride, frames)
			for _, threads := range benchThreads {
				b.Run(fmt.Sprintf("%s/threads=%d/fused", name, threads), func(b *testing.B) {
					benchRun(b, threads, flops, func(p *Pool) { blk.Run(p, in, out, nil) })
				})
				b.Run(fmt.Sprintf("%s/threads=%d/unfused", name, threads), func(b *testing.B) {
					benchRun(b, threads, flops, func(p *Pool) {
						expand.Run(p, in, e, nil)
						dw.Run(p, eRows, d)
						project.Run(p, dRows, out, nil)
					})
				})
			}
		}
	}
}

// BenchmarkDequantize times Dequantize on the sizes of MobileNetV2's
// last feature map (1280x7x7, one frame and eight), one worker, at each
// int8 level.
func BenchmarkDequantize(b *testing.B) {
	for _, n := range []int{62720, 501760} {
		q, out := make([]uint8, n), make([]float32, n)
		for i := range q {
			q[i] = uint8(i * 7)
		}
		for _, level := range archQLevels() {
			b.Run(fmt.Sprintf("%d/%s", n, level), func(b *testing.B) {
				withQISA(level, func() {
					benchOps(b, float64(n), func(p *Pool) { Dequantize(p, q, out, 0.03, 9) })
				})
			})
		}
	}
}
