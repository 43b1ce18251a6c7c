package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// blockCase is a fused inverted residual block of the float32 and int8
// block tests: an optional expansion (1x1, or a stem's kxk of stride es)
// of cin channels to ce, a 3x3 depthwise convolution of stride on h x w,
// and an optional projection to cout.
type blockCase struct {
	frames, cin, ce, cout, h, w, stride int
	expand, residual, shift             bool
	ek, es                              int  // expansion kernel and stride (0: 1x1)
	noProject                           bool // the block ends with the depthwise convolution
}

// shapes returns the block's expansion and depthwise shapes, and its
// input's channels and plane size.
func (c blockCase) shapes() (es, ds ConvShape, inC, inHW int) {
	es = ConvShape{Frames: c.frames, Cin: c.cin, H: c.h, W: c.w, Cout: c.ce, KH: 1, KW: 1}
	if c.ek > 0 {
		es = ConvShape{Frames: c.frames, Cin: c.cin, H: c.h * c.es, W: c.w * c.es, Cout: c.ce, KH: c.ek, KW: c.ek,
			StrideH: c.es, StrideW: c.es, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	}
	ds = ConvShape{Frames: c.frames, Cin: c.ce, Cout: c.ce, Group: c.ce, H: c.h, W: c.w, KH: 3, KW: 3,
		StrideH: c.stride, StrideW: c.stride, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	if !c.expand {
		return es, ds, c.ce, c.h * c.w
	}
	return es, ds, c.cin, es.H * es.W
}

// temporalShift is the shift a shifted case reads its input of inC
// channels through.
func (c blockCase) temporalShift(inC int) TemporalShift {
	return TemporalShift{Segments: c.frames, Ranges: []ShiftRange{{0, max(1, inC/8), 1}, {max(1, inC/8), max(2, inC/4), -1}}}
}

// TestInvertedResidual runs fused blocks against their three operations
// run one after the other: bit-identical where the depthwise plane kernel
// is the one the unfused convolution uses (and the expansion is not run as
// Winograd when unfused), else within 1e-5; for every
// thread count (a frame is split into parts at 2 and 3 threads).
// TestDriversAtEveryISA runs it at every ISA level.
func TestInvertedResidual(t *testing.T) {
	cases := []blockCase{
		{frames: 2, cin: 8, ce: 48, cout: 8, h: 9, w: 11, stride: 1, expand: true, residual: true},
		{frames: 1, cin: 16, ce: 96, cout: 24, h: 40, w: 40, stride: 2, expand: true},
		{frames: 1, cin: 24, ce: 144, cout: 24, h: 37, w: 33, stride: 1, expand: true, residual: true},
		{frames: 4, cin: 16, ce: 30, cout: 13, h: 7, w: 7, stride: 1, expand: true, residual: true, shift: true},
		{frames: 2, cin: 32, ce: 32, cout: 16, h: 50, w: 45, stride: 1},
		{frames: 1, cin: 12, ce: 12, cout: 20, h: 15, w: 16, stride: 2},
		{frames: 3, cin: 5, ce: 7, cout: 3, h: 1, w: 2, stride: 1, expand: true, residual: true},
		// MobileNetV2's small planes: a frame's parts are bands of a 14x14 plane
		{frames: 1, cin: 16, ce: 96, cout: 16, h: 14, w: 14, stride: 1, expand: true, residual: true},
		{frames: 2, cin: 16, ce: 48, cout: 24, h: 14, w: 14, stride: 2, expand: true, shift: true},
		// a stem as the expansion: 3x3 stride 2, and 3x3 stride 1 (Winograd-shaped)
		{frames: 2, cin: 3, ce: 32, cout: 16, h: 40, w: 39, stride: 1, expand: true, ek: 3, es: 2},
		{frames: 1, cin: 3, ce: 24, cout: 8, h: 9, w: 10, stride: 2, expand: true, ek: 3, es: 2, shift: true},
		{frames: 2, cin: 8, ce: 24, cout: 8, h: 12, w: 13, stride: 1, expand: true, ek: 3, es: 1, residual: true},
		// no projection (a squeeze-and-excitation block reads the output)
		{frames: 2, cin: 16, ce: 96, cout: 96, h: 40, w: 40, stride: 2, expand: true, noProject: true},
		{frames: 3, cin: 24, ce: 144, cout: 144, h: 14, w: 15, stride: 1, expand: true, shift: true, noProject: true},
		{frames: 1, cin: 3, ce: 32, cout: 32, h: 20, w: 21, stride: 1, expand: true, ek: 3, es: 2, noProject: true},
	}
	for ci, c := range cases {
		name := fmt.Sprintf("%s/case%d/%+v", ISA(), ci, c)
		rng := rand.New(rand.NewPCG(uint64(ci), 21))
		var expand *Conv
		es, ds, inC, inHW := c.shapes()
		x := randFloats(rng, c.frames*inC*inHW)
		rows := PlainRows(x, c.frames, inC, inHW)
		if c.shift {
			if err := rows.SetShifted(x, c.frames, inC, inHW, c.temporalShift(inC), nil); err != nil {
				t.Fatal(err)
			}
		}
		newConv := func(s ConvShape, act Act) *Conv {
			cin, cout := s.Cin, s.Cout
			packed, _ := PackConvWeights(randFloats(rng, cin*cout*s.KH*s.KW), cout, cin, s.KH, s.KW, 1, PackMR)
			conv, err := NewConv(s, packed, PackMR, randFloats(rng, cout), act)
			if err != nil {
				t.Fatal(err)
			}
			return conv
		}
		// MobileNetV2's ReLU6, MobileNetV3's HardSwish, EfficientNet's SiLU
		act := []Act{Clip(0, 6), HardSwish(1.0/6, 0.5), SiLU}[ci%3]
		if c.expand {
			expand = newConv(es, act)
		}
		dw, err := NewDepthwiseConv(ds, randFloats(rng, 9*c.ce), randFloats(rng, c.ce), act)
		if err != nil {
			t.Fatal(err)
		}
		oh, ow := ds.OutH(), ds.OutW()
		var project *Conv
		if !c.noProject {
			project = newConv(ConvShape{Frames: c.frames, Cin: c.ce, H: oh, W: ow, Cout: c.cout, KH: 1, KW: 1}, Act{})
		}
		var res []float32
		if c.residual {
			res = randFloats(rng, c.frames*c.cout*oh*ow)
		}
		b, err := NewInvertedResidual(expand, dw, project)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// the three operations one after the other
		want := make([]float32, c.frames*c.cout*oh*ow)
		func() {
			p := NewPool(1)
			defer p.Close()
			dwIn := rows
			if expand != nil {
				e := make([]float32, c.frames*c.ce*c.h*c.w)
				expand.Run(p, rows, e, nil)
				dwIn = PlainRows(e, c.frames, c.ce, c.h*c.w)
			}
			if project == nil {
				dw.Run(p, dwIn, want, nil)
				return
			}
			d := make([]float32, c.frames*c.ce*oh*ow)
			dw.Run(p, dwIn, d, nil)
			project.Run(p, PlainRows(d, c.frames, c.ce, oh*ow), want, res)
		}()
		for _, threads := range []int{1, 2, 3} {
			p := NewPool(threads)
			got := make([]float32, len(want))
			for i := range got {
				got[i] = 1e30
			}
			b.Run(p, rows, got, res)
			p.Close()
			// the unfused expansion may run as Winograd, the fused one never
			if dwConv3x3 != nil && (expand == nil || !expand.Winograd()) {
				if i := firstDiff(got, want); i >= 0 {
					t.Errorf("%s threads=%d: out[%d] = %g, unfused %g", name, threads, i, got[i], want[i])
				}
			} else if e := floatcmp.Slices(got, want); e > 1e-5 {
				t.Errorf("%s threads=%d: relative difference %.3g from the unfused ops", name, threads, e)
			}
		}
	}
}

func TestInvertedResidualNeedsExpansionOrProjection(t *testing.T) {
	ds := ConvShape{Frames: 1, Cin: 8, Cout: 8, Group: 8, H: 6, W: 6, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	dw, err := NewDepthwiseConv(ds, make([]float32, 72), nil, Act{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewInvertedResidual(nil, dw, nil); err == nil {
		t.Error("a block of a depthwise convolution alone accepted")
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestFrameParts(t *testing.T) {
	for _, c := range []struct{ frames, oh, threads, parts, rows int }{
		{1, 56, 1, 1, 56}, // one worker: no split
		{1, 56, 2, 4, 14}, // two rounds of two
		{1, 28, 2, 4, 7},
		{1, 14, 2, 2, 7}, // not 3: one worker would run two of them
		{1, 7, 2, 1, 7},  // parts of at least 4 rows
		{1, 14, 3, 3, 5},
		{1, 112, 4, 8, 14},
		{1, 34, 4, 4, 9},  // 8 parts of 5 rows would be 7 parts
		{3, 56, 2, 2, 28}, // 6 items in 3 rounds
		{8, 56, 2, 1, 56}, // frames enough
	} {
		parts, rows := frameParts(c.frames, c.oh, c.threads, 4)
		if parts != c.parts || rows != c.rows {
			t.Errorf("frameParts(%d frames, %d rows, %d threads) = %d parts of %d rows, want %d of %d",
				c.frames, c.oh, c.threads, parts, rows, c.parts, c.rows)
		}
	}
}

// TestWarmRows checks that warmRows reads the first float of every cache
// line's worth of each row's range, ranges ending mid-line included.
func TestWarmRows(t *testing.T) {
	rows := make(Rows, 3)
	for c := range rows {
		rows[c] = make([]float32, 100)
		for i := range rows[c] {
			rows[c][i] = float32(1000*c + i)
		}
	}
	for _, r := range [][2]int{{0, 100}, {0, 0}, {5, 6}, {17, 64}, {84, 100}} {
		var want float32
		for c := range rows {
			for i := r[0]; i < r[1]; i += Align / 4 {
				want += rows[c][i]
			}
		}
		if got := warmRows(rows, r[0], r[1]); got != want {
			t.Errorf("warmRows(%d:%d) = %v, want %v", r[0], r[1], got, want)
		}
	}
}
