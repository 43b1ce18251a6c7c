package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// TestConvTransposedPlan checks which convolutions take the transposed-C
// plan (MobileNetV2's one-frame 7x7 to 28x28 layers; not those whose
// pixels fill panels of 32, nor several 14x14 frames of shallow weights)
// and that they match the reference, plain, through a
// shift (rows from two buffers, so the pixel tiles are packed) and with
// output channels that leave a partial panel.
func TestConvTransposedPlan(t *testing.T) {
	if gemmTC == nil {
		t.Skip("no transposed-C kernels at this ISA level")
	}
	cases := []struct {
		c  convCase
		tc bool
	}{
		{convCase{s: ConvShape{Frames: 1, Cin: 320, H: 7, W: 7, Cout: 1280, KH: 1, KW: 1}, act: Clip(0, 6), bias: true}, true},
		{convCase{s: ConvShape{Frames: 1, Cin: 960, H: 7, W: 7, Cout: 160, KH: 1, KW: 1}, bias: true, residual: true}, true},
		// 25 pixels: tiles of 12 and 13
		{convCase{s: ConvShape{Frames: 1, Cin: 960, H: 5, W: 5, Cout: 160, KH: 1, KW: 1}, bias: true, residual: true}, true},
		// 18 pixels: a tile of 12, then one whose 8 rows read the frame's
		// last 8 pixels in place and store the last 6
		{convCase{s: ConvShape{Frames: 1, Cin: 960, H: 3, W: 6, Cout: 160, KH: 1, KW: 1}, bias: true, residual: true}, true},
		{convCase{s: ConvShape{Frames: 2, Cin: 160, H: 5, W: 5, Cout: 96, KH: 1, KW: 1}, act: Clip(0, 6), bias: true}, true},
		{convCase{s: ConvShape{Frames: 2, Cin: 320, H: 7, W: 7, Cout: 80, KH: 1, KW: 1}, act: Relu, bias: true, residual: true, shift: true}, true},
		{convCase{s: ConvShape{Frames: 2, Cin: 400, H: 3, W: 3, Cout: 56, KH: 1, KW: 1}, bias: true, shift: true, state: true}, true},
		{convCase{s: ConvShape{Frames: 1, Cin: 576, H: 14, W: 14, Cout: 96, KH: 1, KW: 1}, bias: true, residual: true}, true},
		{convCase{s: ConvShape{Frames: 1, Cin: 64, H: 14, W: 14, Cout: 384, KH: 1, KW: 1}, bias: true}, true},
		{convCase{s: ConvShape{Frames: 1, Cin: 192, H: 28, W: 28, Cout: 32, KH: 1, KW: 1}, bias: true, residual: true}, true},
		{convCase{s: ConvShape{Frames: 1, Cin: 32, H: 28, W: 28, Cout: 192, KH: 1, KW: 1}, bias: true}, false},
		{convCase{s: ConvShape{Frames: 4, Cin: 64, H: 14, W: 14, Cout: 128, KH: 1, KW: 1}, act: Relu}, false},
		// deep weights on several 14x14 frames: planned, and taken only
		// while the rows form one matrix (TestTransposedPlanNeedsDirect)
		{convCase{s: ConvShape{Frames: 4, Cin: 256, H: 14, W: 14, Cout: 64, KH: 1, KW: 1}, bias: true, shift: true}, true},
		{convCase{s: ConvShape{Frames: 8, Cin: 256, H: 56, W: 56, Cout: 64, KH: 1, KW: 1}}, false},
		{convCase{s: ConvShape{Frames: 1, Cin: 32, H: 7, W: 7, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}}, false},
	}
	for ci, tc := range cases {
		for _, packMR := range []int{PackMR, 8} {
			name := fmt.Sprintf("case%d/%v/mr=%d", ci, tc.c.s.normalized(), packMR)
			conv := checkConvCase(t, name, tc.c, packMR, rand.New(rand.NewPCG(uint64(ci), 3)))
			// (other panel heights run other pixel-major kernels)
			if got := conv.tc != nil; packMR == PackMR && got != tc.tc {
				t.Errorf("%s: transposed plan %v, want %v", name, got, tc.tc)
			}
		}
	}
}

// TestTransposedPlanNeedsDirect: on several frames larger than 8x8 the
// transposed plan runs only on rows that form one matrix; through a
// shift the run takes the pixel-major plan. Single frames and 7x7 maps
// keep it either way.
func TestTransposedPlanNeedsDirect(t *testing.T) {
	if gemmTC == nil {
		t.Skip("no transposed-C kernels at this ISA level")
	}
	for _, c := range []struct {
		s           ConvShape
		takeShifted bool
	}{
		{ConvShape{Frames: 4, Cin: 256, H: 14, W: 14, Cout: 64, KH: 1, KW: 1}, false},
		{ConvShape{Frames: 4, Cin: 512, H: 7, W: 7, Cout: 128, KH: 1, KW: 1}, true},
		{ConvShape{Frames: 1, Cin: 96, H: 14, W: 14, Cout: 576, KH: 1, KW: 1}, true},
	} {
		rng := rand.New(rand.NewPCG(5, 5))
		packed, _ := PackConvWeights(randFloats(rng, c.s.Cout*c.s.Cin), c.s.Cout, c.s.Cin, 1, 1, 1, PackMR)
		conv, err := NewConv(c.s, packed, PackMR, nil, Relu)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := convInput(t, rng, convCase{s: c.s})
		shiftCase := convCase{s: c.s, shift: c.s.Frames > 1, state: c.s.Frames == 1}
		shifted, _ := convInput(t, rng, shiftCase)
		if !conv.takesTC(plain, nil) {
			t.Errorf("%v: plain rows do not take the transposed plan", c.s)
		}
		if got := conv.takesTC(shifted, nil); got != c.takeShifted {
			t.Errorf("%v: shifted rows take the transposed plan: %v, want %v", c.s, got, c.takeShifted)
		}
	}
}

// TestTransposedPlanSameBits: the two plans give the same bits (each
// output the same K-ordered chain of fused multiply-adds, then bias,
// residual and clamp), so the driver may pick either per run. A 7x7 map
// splits into whole tiles, a 3x6 one ends on a partial tile read in place.
func TestTransposedPlanSameBits(t *testing.T) {
	if gemmTC == nil {
		t.Skip("no transposed-C kernels at this ISA level")
	}
	for _, s := range []ConvShape{
		{Frames: 2, Cin: 600, H: 7, W: 7, Cout: 96, KH: 1, KW: 1},
		{Frames: 2, Cin: 600, H: 3, W: 6, Cout: 96, KH: 1, KW: 1},
	} {
		rng := rand.New(rand.NewPCG(9, 9))
		packed, _ := PackConvWeights(randFloats(rng, s.Cout*s.Cin), s.Cout, s.Cin, 1, 1, 1, PackMR)
		conv, err := NewConv(s, packed, PackMR, randFloats(rng, s.Cout), Clip(-0.5, 3))
		if err != nil {
			t.Fatal(err)
		}
		if conv.tc == nil {
			t.Fatalf("%v: no transposed plan", s)
		}
		rows := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
		p := NewPool(1)
		for _, res := range [][]float32{nil, randFloats(rng, s.OutLen())} {
			tc, pm := make([]float32, s.OutLen()), make([]float32, s.OutLen())
			conv.takesTC(rows, nil) // notes the frames read in place
			conv.runTC(p, rows, tc, res)
			plan := conv.tc
			conv.tc = nil
			conv.Run(p, rows, pm, res)
			conv.tc = plan
			if !floatcmp.SameBits(tc, pm) {
				t.Errorf("%v, residual %v: the transposed and pixel-major plans differ", s, res != nil)
			}
		}
		p.Close()
	}
}

// TestTCTiles checks the transposed plan's split of a frame's pixels for
// the AVX-512 kernels' rows (13, and 12, 8 and 4 short): tiles end to
// end from pixel 0, whole ones of a kernel's rows, a last one of at most
// 13, and as few rows computed as any sum of the kernels' rows covering
// the frame.
func TestTCTiles(t *testing.T) {
	k := &GemmKernel{MR: 13, Short: []*GemmKernel{{MR: 4}, {MR: 8}, {MR: 12}}}
	sizes := []int{13, 12, 8, 4}
	const most = 400
	reach := make([]bool, most+14) // sums of the kernels' rows
	reach[0] = true
	for j := range reach {
		for _, sz := range sizes {
			if j >= sz && reach[j-sz] {
				reach[j] = true
			}
		}
	}
	for n := 1; n <= most; n++ {
		at, rows := tcTiles(k, n)
		if len(at) == 0 || at[0] != 0 {
			t.Fatalf("%d pixels: tiles start at %v", n, at)
		}
		for i := 1; i < len(at); i++ {
			if d := at[i] - at[i-1]; !slices.Contains(sizes, d) {
				t.Fatalf("%d pixels: tile %d of %v has %d pixels, no kernel's rows", n, i-1, at, d)
			}
		}
		if m := n - at[len(at)-1]; m < 1 || m > 13 {
			t.Fatalf("%d pixels: last tile of %v has %d", n, at, m)
		}
		want := n
		for !reach[want] {
			want++
		}
		if rows != want {
			t.Errorf("%d pixels: %v computes %d rows, want %d", n, at, rows, want)
		}
		last := at[len(at)-1]
		if got := last + shortFor(k, n-last).MR; got != rows {
			t.Errorf("%d pixels: %v reports %d rows, its kernels compute %d", n, at, rows, got)
		}
	}
	for _, n := range []int{25, 49, 100, 196} {
		if _, got := tcTiles(k, n); got != n {
			t.Errorf("%d pixels: %d rows computed, want none past the frame", n, got)
		}
	}
}
