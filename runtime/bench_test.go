package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// peakPerCore is the FP32 FMA peak of one Zen 4 core (2 x 256-bit FMA
// pipes, 32 FLOP/cycle at about 3.5 GHz), the yardstick of issue 5.
const peakPerCore = 112e9

// reportFLOPs reports GFLOP/s per wall second, per CPU second, and the
// percentage of the FMA peak of the pool's cores.
func reportFLOPs(b *testing.B, flops float64, threads int, cpu0 time.Duration) {
	wall := b.Elapsed().Seconds()
	total := flops * float64(b.N)
	b.ReportMetric(total/wall/1e9, "GFLOP/s")
	b.ReportMetric(100*total/wall/(peakPerCore*float64(threads)), "%peak")
	if cpu := (processCPU() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(total/cpu/1e9, "GFLOP/cpu-s")
	}
}

// benchRun times run (one call of the operation under test) on a pool of
// threads workers after one untimed call, and reports its FLOP rates.
func benchRun(b *testing.B, threads int, flops float64, run func(p *Pool)) {
	p := NewPool(threads)
	defer p.Close()
	run(p) // size the worker state
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		run(p)
	}
	reportFLOPs(b, flops, threads, cpu0)
}

var benchThreads = []int{1, 2}

func BenchmarkConv(b *testing.B) {
	same := func(s ConvShape, k int) ConvShape {
		s.KH, s.KW = k, k
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = k/2, k/2, k/2, k/2
		return s
	}
	// shifted: the input goes through a TSM shift (which should cost
	// nothing); residual: a residual is added in the epilogue; cold: the
	// calls take turns over inputs larger together than the core's L2,
	// as a layer reads what earlier layers wrote; coldWeights: they take
	// turns over convolutions whose weights are larger together than the
	// last-level cache is in practice, as a run of a model reads each
	// layer's weights once
	type shape struct {
		name                                 string
		s                                    ConvShape
		shifted, residual, cold, coldWeights bool
	}
	shift := ConvShape{Frames: 8, Cin: 256, H: 56, W: 56, Cout: 64, KH: 1, KW: 1}
	s2 := func(s ConvShape) ConvShape {
		s = same(s, 3)
		s.StrideH, s.StrideW = 2, 2
		return s
	}
	shapes := []shape{
		{name: "resnet_1x1_256x64_56", s: ConvShape{Frames: 1, Cin: 256, H: 56, W: 56, Cout: 64, KH: 1, KW: 1}},
		{name: "resnet_3x3_64x64_56", s: same(ConvShape{Frames: 1, Cin: 64, H: 56, W: 56, Cout: 64}, 3)},
		{name: "resnet_3x3_128x128_28", s: same(ConvShape{Frames: 1, Cin: 128, H: 28, W: 28, Cout: 128}, 3)},
		{name: "resnet_3x3_256x256_14", s: same(ConvShape{Frames: 1, Cin: 256, H: 14, W: 14, Cout: 256}, 3)},
		{name: "resnet_1x1_1024x256_14", s: ConvShape{Frames: 1, Cin: 1024, H: 14, W: 14, Cout: 256, KH: 1, KW: 1}},
		{name: "resnet_3x3_512x512_7_8f", s: same(ConvShape{Frames: 8, Cin: 512, H: 7, W: 7, Cout: 512}, 3)},
		{name: "resnet_stem_7x7s2", s: ConvShape{Frames: 1, Cin: 3, H: 224, W: 224, Cout: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
		{name: "tsm_stem_7x7s2_32_112_16f", s: ConvShape{Frames: 16, Cin: 3, H: 112, W: 112, Cout: 32, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
		{name: "tsm_stem_7x7s2_64_96_16f", s: ConvShape{Frames: 16, Cin: 3, H: 96, W: 96, Cout: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
		{name: "mbv2_stem_3x3s2", s: s2(ConvShape{Frames: 1, Cin: 3, H: 224, W: 224, Cout: 32})},
		{name: "mbv2_1x1_32x16_112", s: ConvShape{Frames: 1, Cin: 32, H: 112, W: 112, Cout: 16, KH: 1, KW: 1}},
		{name: "mbv2_1x1_16x96_112", s: ConvShape{Frames: 1, Cin: 16, H: 112, W: 112, Cout: 96, KH: 1, KW: 1}},
		{name: "mbv2_1x1_96x24_56", s: ConvShape{Frames: 1, Cin: 96, H: 56, W: 56, Cout: 24, KH: 1, KW: 1}},
		{name: "mbv2_1x1_24x144_56", s: ConvShape{Frames: 1, Cin: 24, H: 56, W: 56, Cout: 144, KH: 1, KW: 1}},
		{name: "mbv2_1x1_144x24_56", s: ConvShape{Frames: 1, Cin: 144, H: 56, W: 56, Cout: 24, KH: 1, KW: 1}},
		{name: "resnet_1x1_256x64_56_8f", s: shift},
		{name: "resnet_1x1_256x64_56_8f_shifted", s: shift, shifted: true},
		// ResNet50 8f shapes that profile below the others
		{name: "resnet_1x1_64x256_56_8f_residual", s: ConvShape{Frames: 8, Cin: 64, H: 56, W: 56, Cout: 256, KH: 1, KW: 1}, residual: true},
		{name: "resnet_1x1_256x1024_14_8f_residual", s: ConvShape{Frames: 8, Cin: 256, H: 14, W: 14, Cout: 1024, KH: 1, KW: 1}, residual: true},
		{name: "resnet_1x1_1024x256_14_8f", s: ConvShape{Frames: 8, Cin: 1024, H: 14, W: 14, Cout: 256, KH: 1, KW: 1}},
		{name: "resnet_1x1_512x128_28_8f", s: ConvShape{Frames: 8, Cin: 512, H: 28, W: 28, Cout: 128, KH: 1, KW: 1}},
		{name: "resnet_1x1_512x128_28_8f_shifted", s: ConvShape{Frames: 8, Cin: 512, H: 28, W: 28, Cout: 128, KH: 1, KW: 1}, shifted: true},
		{name: "resnet_1x1_1024x256_14_8f_shifted", s: ConvShape{Frames: 8, Cin: 1024, H: 14, W: 14, Cout: 256, KH: 1, KW: 1}, shifted: true},
		{name: "resnet_1x1_2048x512_7_8f", s: ConvShape{Frames: 8, Cin: 2048, H: 7, W: 7, Cout: 512, KH: 1, KW: 1}},
		{name: "resnet_1x1_2048x512_7_8f_shifted", s: ConvShape{Frames: 8, Cin: 2048, H: 7, W: 7, Cout: 512, KH: 1, KW: 1}, shifted: true},
		{name: "resnet_3x3s2_512x512_14_8f", s: s2(ConvShape{Frames: 8, Cin: 512, H: 14, W: 14, Cout: 512})},
		{name: "resnet_1x1s2_1024x2048_14_8f", s: ConvShape{Frames: 8, Cin: 1024, H: 14, W: 14, Cout: 2048, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "resnet_1x1s2_256x512_56_8f", s: ConvShape{Frames: 8, Cin: 256, H: 56, W: 56, Cout: 512, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "resnet_3x3s2_128x128_56_8f", s: s2(ConvShape{Frames: 8, Cin: 128, H: 56, W: 56, Cout: 128})},
		// ResNet18-TSM shapes of issue 16: 16 frames of narrow maps, and two clips of 8 frames at 96x96
		{name: "narrow_3x3_256x256_4_16f", s: same(ConvShape{Frames: 16, Cin: 256, H: 4, W: 4, Cout: 256}, 3)},
		{name: "narrow_3x3_256x256_4_16f_coldweights", s: same(ConvShape{Frames: 16, Cin: 256, H: 4, W: 4, Cout: 256}, 3), coldWeights: true},
		{name: "narrow_3x3s2_128x256_7_16f_coldweights", s: s2(ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 256}), coldWeights: true},
		{name: "narrow_3x3_32x32_28_16f", s: same(ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 32}, 3)},
		{name: "narrow_3x3_128x128_7_16f", s: same(ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 128}, 3)},
		{name: "narrow_3x3s2_32x64_28_16f", s: s2(ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 64})},
		{name: "narrow_3x3s2_128x256_7_16f", s: s2(ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 256})},
		{name: "narrow_3x3s2_64x128_14_16f", s: s2(ConvShape{Frames: 16, Cin: 64, H: 14, W: 14, Cout: 128})},
		{name: "r18_3x3s2_64x128_24_16f", s: s2(ConvShape{Frames: 16, Cin: 64, H: 24, W: 24, Cout: 128})},
		{name: "r18_3x3s2_128x256_12_16f", s: s2(ConvShape{Frames: 16, Cin: 128, H: 12, W: 12, Cout: 256})},
		{name: "r18_3x3s2_256x512_6_16f", s: s2(ConvShape{Frames: 16, Cin: 256, H: 6, W: 6, Cout: 512})},
		{name: "narrow_3x3s2_32x64_28_16f_cold", s: s2(ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 64}), cold: true},
		{name: "narrow_3x3s2_64x128_14_16f_cold", s: s2(ConvShape{Frames: 16, Cin: 64, H: 14, W: 14, Cout: 128}), cold: true},
		{name: "narrow_3x3s2_128x256_7_16f_cold", s: s2(ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 256}), cold: true},
		{name: "narrow_1x1s2_32x64_28_16f_cold", s: ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 64, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, cold: true},
		{name: "narrow_1x1s2_64x128_14_16f_cold", s: ConvShape{Frames: 16, Cin: 64, H: 14, W: 14, Cout: 128, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, cold: true},
		{name: "narrow_1x1s2_128x256_7_16f_cold", s: ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 256, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, cold: true},
		{name: "narrow_1x1s2_64x128_14_16f", s: ConvShape{Frames: 16, Cin: 64, H: 14, W: 14, Cout: 128, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "narrow_1x1s2_128x256_7_16f", s: ConvShape{Frames: 16, Cin: 128, H: 7, W: 7, Cout: 256, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "narrow_1x1s2_32x64_28_16f", s: ConvShape{Frames: 16, Cin: 32, H: 28, W: 28, Cout: 64, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "r18_1x1s2_64x128_24_16f", s: ConvShape{Frames: 16, Cin: 64, H: 24, W: 24, Cout: 128, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "r18_1x1s2_128x256_12_16f", s: ConvShape{Frames: 16, Cin: 128, H: 12, W: 12, Cout: 256, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "r18_1x1s2_256x512_6_16f", s: ConvShape{Frames: 16, Cin: 256, H: 6, W: 6, Cout: 512, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
		{name: "r18_3x3_512x512_3_16f", s: same(ConvShape{Frames: 16, Cin: 512, H: 3, W: 3, Cout: 512}, 3)},
		// MobileNetV2 one frame (the online model): 7x7 and 14x14 maps
		{name: "mbv2_1x1_320x1280_7", s: ConvShape{Frames: 1, Cin: 320, H: 7, W: 7, Cout: 1280, KH: 1, KW: 1}},
		{name: "mbv2_1x1_960x160_7_residual", s: ConvShape{Frames: 1, Cin: 960, H: 7, W: 7, Cout: 160, KH: 1, KW: 1}, residual: true},
		{name: "mbv2_1x1_96x576_14", s: ConvShape{Frames: 1, Cin: 96, H: 14, W: 14, Cout: 576, KH: 1, KW: 1}},
		{name: "mbv2_1x1_96x576_14_shifted", s: ConvShape{Frames: 1, Cin: 96, H: 14, W: 14, Cout: 576, KH: 1, KW: 1}, shifted: true},
		{name: "mbv2_1x1_160x960_7", s: ConvShape{Frames: 1, Cin: 160, H: 7, W: 7, Cout: 960, KH: 1, KW: 1}},
		{name: "mbv2_1x1_160x960_7_shifted", s: ConvShape{Frames: 1, Cin: 160, H: 7, W: 7, Cout: 960, KH: 1, KW: 1}, shifted: true},
	}
	for _, sh := range shapes {
		for _, threads := range benchThreads {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				s := sh.s.normalized()
				rng := rand.New(rand.NewPCG(1, 1))
				x := randFloats(rng, s.InLen())
				rows := PlainRows(x, s.Frames, s.Cin, s.H*s.W)
				if sh.shifted && s.Frames == 1 { // online: the shifted channels come from the state
					for c := range s.Cin / 8 {
						rows[c] = randFloats(rng, s.H*s.W)
					}
				} else if sh.shifted {
					ts := TemporalShift{Segments: 8, Ranges: []ShiftRange{{0, s.Cin / 8, 1}, {s.Cin / 8, s.Cin / 4, -1}}}
					if err := rows.SetShifted(x, s.Frames, s.Cin, s.H*s.W, ts, nil); err != nil {
						b.Fatal(err)
					}
				}
				var res []float32
				if sh.residual {
					res = randFloats(rng, s.OutLen())
				}
				var convs []*Conv
				for len(convs) == 0 || sh.coldWeights && len(convs)*s.Cout*s.Cin*s.KH*s.KW < 32<<20 {
					packed, _ := PackConvWeights(randFloats(rng, s.Cout*s.Cin*s.KH*s.KW), s.Cout, s.Cin, s.KH, s.KW, 1, PackMR)
					conv, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Relu)
					if err != nil {
						b.Fatal(err)
					}
					convs = append(convs, conv)
				}
				out := make([]float32, s.OutLen())
				ins := []Rows{rows}
				for sh.cold && len(ins)*s.InLen() < 8<<20 {
					ins = append(ins, PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W))
				}
				call := 0
				benchRun(b, threads, s.FLOPs(), func(p *Pool) {
					convs[call%len(convs)].Run(p, ins[call%len(ins)], out, res)
					call++
				})
			})
		}
	}
}

// BenchmarkPooledConv runs the stems of issue 16 with their 3x3 stride-2
// max pool fused, on the default plan (FLOPs are the convolution's).
func BenchmarkPooledConv(b *testing.B) {
	stem := func(frames, hw, cout int) ConvShape {
		return ConvShape{Frames: frames, Cin: 3, H: hw, W: hw, Cout: cout, KH: 7, KW: 7, StrideH: 2, StrideW: 2,
			PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}
	}
	for _, sh := range []struct {
		name string
		s    ConvShape
	}{
		{"resnet_stem_7x7s2", stem(1, 224, 64)},
		{"resnet_stem_7x7s2_8f", stem(8, 224, 64)},
		{"tsm_stem_7x7s2_32_112_16f", stem(16, 112, 32)},
		{"tsm_stem_7x7s2_64_96_16f", stem(16, 96, 64)},
	} {
		for _, threads := range benchThreads {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				s := sh.s.normalized()
				rng := rand.New(rand.NewPCG(1, 1))
				rows := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
				packed, _ := PackConvWeights(randFloats(rng, s.Cout*s.Cin*s.KH*s.KW), s.Cout, s.Cin, s.KH, s.KW, 1, PackMR)
				conv, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Relu)
				if err != nil {
					b.Fatal(err)
				}
				ps := PoolShape{Planes: s.Frames * s.Cout, H: s.OutH(), W: s.OutW(), KH: 3, KW: 3, StrideH: 2, StrideW: 2,
					PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
				pc, err := NewPooledConv(conv, ps)
				if err != nil {
					b.Fatal(err)
				}
				out, tmp := make([]float32, ps.Planes*pc.mp.oh*pc.mp.ow), make([]float32, s.OutLen())
				benchRun(b, threads, s.FLOPs(), func(p *Pool) { pc.Run(p, rows, out, tmp) })
			})
		}
	}
}

func BenchmarkDepthwise(b *testing.B) {
	dwK := func(c, hw, stride, k int) ConvShape {
		return ConvShape{Frames: 1, Cin: c, Cout: c, Group: c, H: hw, W: hw, KH: k, KW: k, StrideH: stride, StrideW: stride,
			PadTop: k / 2, PadLeft: k / 2, PadBottom: k / 2, PadRight: k / 2}
	}
	dw := func(c, hw, stride int) ConvShape { return dwK(c, hw, stride, 3) }
	for _, sh := range []struct {
		name string
		s    ConvShape
	}{
		{"mbv2_32_112_s1", dw(32, 112, 1)},
		{"mbv2_96_112_s2", dw(96, 112, 2)},
		{"mbv2_144_56_s1", dw(144, 56, 1)},
		{"mbv2_144_56_s2", dw(144, 56, 2)},
		{"mbv2_192_28_s1", dw(192, 28, 1)},
		{"mbv2_192_28_s2", dw(192, 28, 2)},
		{"mbv2_384_14_s1", dw(384, 14, 1)},
		{"mbv2_576_14_s1", dw(576, 14, 1)},
		{"mbv2_576_14_s2", dw(576, 14, 2)},
		{"mbv2_960_7_s1", dw(960, 7, 1)},
		// MobileNetV3-Large's and EfficientNet-B0's 5x5 layers
		{"mbv3_5x5_72_56_s2", dwK(72, 56, 2, 5)},
		{"mbv3_5x5_120_28_s1", dwK(120, 28, 1, 5)},
		{"mbv3_5x5_672_14_s2", dwK(672, 14, 2, 5)},
		{"mbv3_5x5_960_7_s1", dwK(960, 7, 1, 5)},
		{"effb0_5x5_672_14_s1", dwK(672, 14, 1, 5)},
		{"effb0_5x5_144_56_s2", dwK(144, 56, 2, 5)},
		{"effb0_5x5_240_28_s1", dwK(240, 28, 1, 5)},
	} {
		for _, threads := range benchThreads {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				s := sh.s.normalized()
				rng := rand.New(rand.NewPCG(1, 1))
				rows := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
				d, err := NewDepthwiseConv(s, randFloats(rng, s.Cin*s.KH*s.KW), randFloats(rng, s.Cin), Clip(0, 6))
				if err != nil {
					b.Fatal(err)
				}
				out := make([]float32, s.OutLen())
				benchRun(b, threads, s.FLOPs(), func(p *Pool) { d.Run(p, rows, out, nil) })
			})
		}
	}
}

// BenchmarkDense runs the classifiers: ResNet50's over a clip's 8 frames
// and the online MobileNetV2's over one frame.
func BenchmarkDense(b *testing.B) {
	for _, sh := range []struct{ batch, in, out int }{{8, 2048, 400}, {1, 1280, 27}} {
		b.Run(fmt.Sprintf("%dx%d->%d", sh.batch, sh.in, sh.out), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			packed, _ := PackDenseWeights(randFloats(rng, sh.in*sh.out), sh.out, sh.in, PackNR)
			d, err := NewDense(sh.batch, sh.in, sh.out, packed, PackNR, randFloats(rng, sh.out), Act{})
			if err != nil {
				b.Fatal(err)
			}
			x, y := randFloats(rng, sh.batch*sh.in), make([]float32, sh.batch*sh.out)
			benchRun(b, 1, 2*float64(sh.batch*sh.in*sh.out), func(p *Pool) { d.Run(p, x, y) })
		})
	}
}

// BenchmarkGlobalAveragePool runs the online MobileNetV2's head pooling,
// 1280 planes of 7x7 (one FLOP per input).
func BenchmarkGlobalAveragePool(b *testing.B) {
	const planes, hw = 1280, 49
	rng := rand.New(rand.NewPCG(1, 1))
	x, out := randFloats(rng, planes*hw), make([]float32, planes)
	benchRun(b, 1, planes*hw, func(p *Pool) { GlobalAveragePool(p, x, out, planes, hw) })
}

func BenchmarkMaxPool(b *testing.B) {
	s := PoolShape{Planes: 64, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	mp, err := NewMaxPool(s)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x, out := randFloats(rng, s.Planes*s.H*s.W), make([]float32, s.Planes*mp.oh*mp.ow)
	p := NewPool(1)
	defer p.Close()
	mp.Run(p, x, out)
	b.ResetTimer()
	for range b.N {
		mp.Run(p, x, out)
	}
	b.ReportMetric(float64(len(x)*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s-in")
}

// BenchmarkPackB measures the B packing of whole convolutions (what the
// assembly kernels will pay besides their FLOPs): packed floats per ns,
// and the FLOPs per packed float the GEMM amortises it over.
func BenchmarkPackB(b *testing.B) {
	for _, sh := range []struct {
		name string
		s    ConvShape
	}{
		{"1x1_256_56", ConvShape{Frames: 1, Cin: 256, H: 56, W: 56, Cout: 64, KH: 1, KW: 1}},
		{"3x3_64_56", ConvShape{Frames: 1, Cin: 64, H: 56, W: 56, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"3x3s2_128_56", ConvShape{Frames: 1, Cin: 128, H: 56, W: 56, Cout: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"3x3_512_7_8f", ConvShape{Frames: 8, Cin: 512, H: 7, W: 7, Cout: 512, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	} {
		b.Run(sh.name, func(b *testing.B) {
			s := sh.s.normalized()
			rng := rand.New(rand.NewPCG(1, 1))
			rows := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
			packed, _ := PackConvWeights(make([]float32, s.Cout*s.Cin*s.KH*s.KW), s.Cout, s.Cin, s.KH, s.KW, 1, PackMR)
			c, err := NewConv(s, packed, PackMR, nil, Act{})
			if err != nil {
				b.Fatal(err)
			}
			p := NewPool(1)
			defer p.Close()
			nr := c.kern.NR
			floats := 0
			cpu0 := processCPU()
			b.ResetTimer()
			for range b.N {
				floats = 0
				for jb := range c.nJB {
					p0 := jb * c.nc
					np := min(c.nc, c.pixels-p0)
					nPan := ceilDiv(np, nr)
					w := p.state(0, c.kc*nPan*nr, c.kern.MR, nr)
					c.plan(w, p0, np, true)
					for k0 := 0; k0 < c.k; k0 += c.kc {
						kn := min(c.kc, c.k-k0)
						c.packB(w.buf[:kn*nPan*nr], rows, nil, 0, w, k0, kn, np)
						floats += kn * nPan * nr
					}
				}
			}
			b.ReportMetric(float64(floats)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "floats/ns")
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(floats)*float64(b.N)/float64(cpu.Nanoseconds()), "floats/cpu-ns")
			}
			b.ReportMetric(s.FLOPs()/float64(floats), "FLOP/float")
		})
	}
}

// BenchmarkPoolFor measures the cost of one parallel loop of trivial
// items: the per-layer overhead of threading.
func BenchmarkPoolFor(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			var sink [64]int
			for b.Loop() {
				p.For(threads, func(w, i int) { sink[w*8]++ })
			}
		})
	}
}

// BenchmarkInvertedResidual times the MobileNetV2 blocks the online model
// runs fused (the stem as the first one's expansion) on one frame.
func BenchmarkInvertedResidual(b *testing.B) {
	type block struct {
		name                        string
		cin, ce, cout, h, w, stride int
		stem                        bool
		// coldInputs: the run cycles through this many input frames
		// (600 KB each, 24 MB in all), more than the caches hold, as a
		// stream's frames arrive
		coldInputs int
	}
	for _, bl := range []block{
		{"stem_32_16_112", 3, 32, 16, 112, 112, 1, true, 0},
		{"stem_32_16_112_cold_input", 3, 32, 16, 112, 112, 1, true, 40},
		{"16_96_24_112_s2", 16, 96, 24, 112, 112, 2, false, 0},
		{"24_144_24_56", 24, 144, 24, 56, 56, 1, false, 0},
		{"24_144_32_56_s2", 24, 144, 32, 56, 56, 2, false, 0},
		{"32_192_32_28", 32, 192, 32, 28, 28, 1, false, 0},
		{"32_192_64_28_s2", 32, 192, 64, 28, 28, 2, false, 0},
	} {
		for _, threads := range benchThreads {
			b.Run(fmt.Sprintf("%s/threads=%d", bl.name, threads), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				newConv := func(s ConvShape) *Conv {
					packed, _ := PackConvWeights(randFloats(rng, s.Cin*s.Cout*s.KH*s.KW), s.Cout, s.Cin, s.KH, s.KW, 1, PackMR)
					c, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Clip(0, 6))
					if err != nil {
						b.Fatal(err)
					}
					return c
				}
				es := ConvShape{Frames: 1, Cin: bl.cin, H: bl.h, W: bl.w, Cout: bl.ce, KH: 1, KW: 1}
				if bl.stem {
					es = ConvShape{Frames: 1, Cin: bl.cin, H: 2 * bl.h, W: 2 * bl.w, Cout: bl.ce, KH: 3, KW: 3,
						StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
				}
				ds := ConvShape{Frames: 1, Cin: bl.ce, Cout: bl.ce, Group: bl.ce, H: bl.h, W: bl.w, KH: 3, KW: 3,
					StrideH: bl.stride, StrideW: bl.stride, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
				dw, err := NewDepthwiseConv(ds, randFloats(rng, 9*bl.ce), randFloats(rng, bl.ce), Clip(0, 6))
				if err != nil {
					b.Fatal(err)
				}
				ps := ConvShape{Frames: 1, Cin: bl.ce, H: ds.OutH(), W: ds.OutW(), Cout: bl.cout, KH: 1, KW: 1}
				blk, err := NewInvertedResidual(newConv(es), dw, newConv(ps))
				if err != nil {
					b.Fatal(err)
				}
				inputs := make([]Rows, max(1, bl.coldInputs))
				for i := range inputs {
					inputs[i] = PlainRows(randFloats(rng, es.InLen()), 1, es.Cin, es.H*es.W)
				}
				out := make([]float32, ps.OutLen())
				run := 0
				benchRun(b, threads, blk.FLOPs(), func(p *Pool) {
					blk.Run(p, inputs[run%len(inputs)], out, nil)
					run++
				})
			})
		}
	}
}
