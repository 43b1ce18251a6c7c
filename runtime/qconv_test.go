package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
)

// The int8 convolution against a reference written from the ONNX
// formulas: the exact accumulator of (x - inZero) * w + bias over the
// unpadded input (padding contributes nothing), then QLinearConv's
// requantisation and, for a residual, QLinearAdd's, with saturation after
// rounding (the kernels clamp before it).

// qconvRef returns the output of the quantised convolution of x
// [frames][cin][h][w].
func qconvRef(s ConvShape, x []uint8, w []int8, bias []int32, inZero uint8, rq QRequant, res []uint8) []uint8 {
	s = s.normalized()
	oh, ow := s.OutH(), s.OutW()
	cinG, coutG := s.Cin/s.Group, s.Cout/s.Group
	out := make([]uint8, s.Frames*s.Cout*oh*ow)
	for f := range s.Frames {
		for co := range s.Cout {
			g := co / coutG
			for oy := range oh {
				for ox := range ow {
					var acc int64
					if bias != nil {
						acc = int64(bias[co])
					}
					for ci := range cinG {
						for ky := range s.KH {
							iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
							if iy < 0 || iy >= s.H {
								continue
							}
							for kx := range s.KW {
								ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
								if ix < 0 || ix >= s.W {
									continue
								}
								xv := x[((f*s.Cin+g*cinG+ci)*s.H+iy)*s.W+ix]
								wv := w[((co*cinG+ci)*s.KH+ky)*s.KW+kx]
								acc += (int64(xv) - int64(inZero)) * int64(wv)
							}
						}
					}
					i := ((f*s.Cout+co)*oh+oy)*ow + ox
					var r uint8
					if res != nil {
						r = res[i]
					}
					out[i] = requantRef(int32(acc), rq.scale(co), rq, r)
				}
			}
		}
	}
	return out
}

// requantRef is the ONNX requantisation of accumulator acc: round half to
// even of acc*scale, saturate, and for a residual add the interpreter's
// QLinearAdd (onnxruntime's) on the saturated convolution output y.
func requantRef(acc int32, scale float32, rq QRequant, r uint8) uint8 {
	sat := func(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
	round := func(v float32) int64 { return int64(math.RoundToEven(float64(v))) }
	v := float32(acc) * scale
	if a := rq.Add; a != nil {
		y := sat(round(v)+int64(a.ConvZero), 0, 255)
		if a.ResidualFirst {
			return uint8(interp.NewRescale(a.ResScale, int64(a.ResZero), a.ConvScale, int64(a.ConvZero), a.OutScale, int64(rq.Zero), int64(rq.Lo), int64(rq.Hi)).Add(int64(r), y))
		}
		return uint8(interp.NewRescale(a.ConvScale, int64(a.ConvZero), a.ResScale, int64(a.ResZero), a.OutScale, int64(rq.Zero), int64(rq.Lo), int64(rq.Hi)).Add(y, int64(r)))
	}
	return uint8(sat(round(v)+int64(rq.Zero), int64(rq.Lo), int64(rq.Hi)))
}

func TestQuantizeU8(t *testing.T) {
	// The ONNX QuantizeLinear example (scale 2, zero point 128), ties to
	// even and saturation included.
	for i, x := range []float32{0, 2, 3, 1000, -254, -1000, 5, -3} {
		want := []uint8{128, 129, 130, 255, 1, 0, 130, 126}[i]
		if got := QuantizeU8(x, 2, 128); got != want {
			t.Errorf("QuantizeU8(%g, 2, 128) = %d, want %d", x, got, want)
		}
	}
	if got := QuantizeU8(float32(math.NaN()), 0.5, 7); got != 0 {
		t.Errorf("NaN quantises to %d, want 0 (MLAS's MAXPS returns the bound)", got)
	}
	if got := DequantizeU8(130, 2, 128); got != 4 {
		t.Errorf("DequantizeU8(130, 2, 128) = %g, want 4", got)
	}
	s8 := []int8{-128, -1, 0, 1, 127}
	u8 := make([]uint8, len(s8))
	S8ToU8(u8, s8)
	back := make([]int8, len(s8))
	U8ToS8(back, u8)
	for i, v := range s8 {
		z := int8(-3)
		if int32(u8[i])-int32(U8Zero(z)) != int32(v)-int32(z) || back[i] != v {
			t.Errorf("int8 %d: uint8 form %d (zero %d), back %d", v, u8[i], U8Zero(z), back[i])
		}
	}
	lo, hi, err := QuantBounds(Clip(0, 6), 0.05, 10)
	if err != nil || lo != 10 || hi != 130 {
		t.Errorf("ReLU6 at scale 0.05, zero 10: [%d, %d], %v; want [10, 130]", lo, hi, err)
	}
	if _, _, err := QuantBounds(Relu, 0, 10); err == nil {
		t.Error("a zero output scale was accepted")
	}
}

func TestQTileRequantTies(t *testing.T) {
	// acc * 0.5 is a tie for every odd acc: rounded to even.
	tile := QTile{Zero: 100, Lo: -100, Hi: 155}
	for acc, want := range map[int32]uint8{1: 100, 3: 102, 5: 102, -1: 100, -3: 98, 7: 104} {
		if got := tile.requant(acc, 0.5, false, 0); got != want {
			t.Errorf("requant(%d * 0.5) + 100 = %d, want %d", acc, got, want)
		}
	}
	// saturation on both sides
	if got := tile.requant(1000, 1, false, 0); got != 255 {
		t.Errorf("saturated high: %d", got)
	}
	if got := tile.requant(-1000, 1, false, 0); got != 0 {
		t.Errorf("saturated low: %d", got)
	}
}

// qconvCase is a convolution of the int8 tests.
type qconvCase struct {
	s        ConvShape
	packMR   int
	inZero   uint8
	residual bool
	relu6    bool
	w7       bool // weights in [-64, 64]
}

func qconvCases() []qconvCase {
	var cs []qconvCase
	zeros := []uint8{0, 128, 255, 37}
	i := 0
	add := func(s ConvShape, packMR int) {
		for _, res := range []bool{false, true} {
			cs = append(cs, qconvCase{s: s, packMR: packMR, inZero: zeros[i%len(zeros)], residual: res, relu6: i%3 == 1, w7: i%4 == 2})
			i++
		}
	}
	// pointwise: K around the quads, Cout around the panels, pixels
	// around the tiles and across frames
	for _, cin := range []int{1, 3, 4, 5, 8, 17, 32, 67} {
		for _, cout := range []int{1, 4, 11, 12, 16, 24, 30} {
			hw := []int{1, 7, 16, 33, 49}[(cin+cout)%5]
			add(ConvShape{Frames: 1 + (cin+cout)%3, Cin: cin, H: 1, W: hw, Cout: cout, KH: 1, KW: 1}, PackQMR)
		}
	}
	add(ConvShape{Frames: 2, Cin: 24, H: 14, W: 14, Cout: 144, KH: 1, KW: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 96, H: 7, W: 7, Cout: 40, KH: 1, KW: 1}, PackQMR)
	// im2col: 3x3 with padding and strides, dilation, groups, odd kernels
	add(ConvShape{Frames: 2, Cin: 3, H: 9, W: 11, Cout: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 8, H: 6, W: 5, Cout: 13, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 6, H: 8, W: 8, Cout: 8, KH: 3, KW: 3, DilationH: 2, DilationW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, Group: 2}, PackQMR)
	add(ConvShape{Frames: 3, Cin: 5, H: 7, W: 9, Cout: 7, KH: 1, KW: 5, StrideW: 3, PadLeft: 2, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 4, H: 5, W: 5, Cout: 9, KH: 2, KW: 2, StrideH: 2, StrideW: 2}, 5)
	add(ConvShape{Frames: 2, Cin: 12, H: 4, W: 4, Cout: 12, KH: 1, KW: 1, Group: 3}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 16, H: 5, W: 3, Cout: 20, KH: 1, KW: 1}, 4)
	// one-row planes, a stem's wide rows, taps of a few channels (packed
	// together inside the rows)
	add(ConvShape{Frames: 1, Cin: 3, H: 1, W: 5, Cout: 4, KH: 1, KW: 3, StrideH: 1, StrideW: 2, PadLeft: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 3, H: 1, W: 6, Cout: 5, KH: 1, KW: 2, StrideW: 2}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 3, H: 12, W: 90, Cout: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 7, H: 9, W: 41, Cout: 13, KH: 3, KW: 3, DilationH: 2, DilationW: 3, PadTop: 2, PadLeft: 3, PadBottom: 2, PadRight: 3}, PackQMR)
	// taps of many channels, packed a tap at a time
	add(ConvShape{Frames: 2, Cin: 20, H: 7, W: 19, Cout: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	// from the padded input: output rows across panels, maps narrower
	// than a packing step, padding channels, uneven padding, dilation
	add(ConvShape{Frames: 3, Cin: 36, H: 9, W: 13, Cout: 30, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 13, H: 5, W: 5, Cout: 12, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 12, H: 8, W: 11, Cout: 20, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadBottom: 2, PadLeft: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 16, H: 10, W: 12, Cout: 8, KH: 3, KW: 3, DilationH: 2, DilationW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 40, H: 6, W: 6, Cout: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 24, H: 9, W: 13, Cout: 16, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 16, H: 9, W: 37, Cout: 12, KH: 3, KW: 5, StrideW: 2, DilationW: 2, PadLeft: 4, PadRight: 3}, PackQMR)
	add(ConvShape{Frames: 2, Cin: 36, H: 11, W: 35, Cout: 40, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	// in place (stride 1, rows of 14 and more): tiles across rows, a
	// short last panel, uneven padding, a 3x1 kernel, dilation, bands
	add(ConvShape{Frames: 2, Cin: 36, H: 9, W: 16, Cout: 30, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	add(ConvShape{Frames: 3, Cin: 13, H: 5, W: 29, Cout: 44, KH: 3, KW: 3, PadLeft: 2, PadBottom: 2}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 8, H: 6, W: 5, Cout: 12, KH: 3, KW: 1, PadTop: 1, PadBottom: 1}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 8, H: 10, W: 30, Cout: 16, KH: 3, KW: 3, DilationH: 2, DilationW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}, PackQMR)
	add(ConvShape{Frames: 1, Cin: 16, H: 28, W: 28, Cout: 20, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, PackQMR)
	return cs
}

func (c qconvCase) String() string {
	return fmt.Sprintf("%v, panels of %d, input zero %d, residual %v, relu6 %v, 7-bit weights %v",
		c.s, c.packMR, c.inZero, c.residual, c.relu6, c.w7)
}

// qconvData returns random inputs, weights, bias, requantisation and
// residual for c, with scales that spread the outputs over the whole
// range (a few saturate).
func qconvData(rng *rand.Rand, c qconvCase) (x []uint8, w []int8, bias []int32, rq QRequant, res []uint8) {
	s := c.s.normalized()
	x = make([]uint8, s.InLen())
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	k := s.Cin / s.Group * s.KH * s.KW
	w = make([]int8, s.Cout*k)
	for i := range w {
		if c.w7 {
			w[i] = int8(rng.IntN(129) - 64)
		} else {
			w[i] = int8(rng.IntN(256) - 128)
		}
	}
	bias = make([]int32, s.Cout)
	for i := range bias {
		bias[i] = int32(rng.IntN(20001) - 10000)
	}
	// accumulators spread about 128*74*sqrt(k)
	base := float32(100 / (128 * 74 * math.Sqrt(float64(k))))
	rq.Scale = make([]float32, s.Cout)
	for i := range rq.Scale {
		rq.Scale[i] = base * float32(0.5+rng.Float64())
	}
	if rng.IntN(4) == 0 {
		rq.Scale = rq.Scale[:1]
	}
	rq.Zero, rq.Lo, rq.Hi = uint8(rng.IntN(256)), 0, 255
	if c.relu6 {
		rq.Lo = rq.Zero
		rq.Hi = uint8(min(255, int(rq.Zero)+100))
	}
	if c.residual {
		rq.Add = &QAdd{ConvScale: 0.02 * float32(0.5+rng.Float64()), ConvZero: uint8(rng.IntN(256)),
			ResScale: 0.02 * float32(0.5+rng.Float64()), ResZero: uint8(rng.IntN(256)),
			OutScale: 0.03 * float32(0.5+rng.Float64()), ResidualFirst: rng.IntN(2) == 0}
		res = make([]uint8, s.OutLen())
		for i := range res {
			res[i] = uint8(rng.IntN(256))
		}
	}
	return x, w, bias, rq, res
}

// runQConv plans and runs c on this level's kernels, returning the output
// and the kernel's name.
func runQConv(t *testing.T, p *Pool, c qconvCase, x []uint8, w []int8, bias []int32, rq QRequant, res []uint8) ([]uint8, string) {
	t.Helper()
	s := c.s.normalized()
	conv := planQConv(t, c, w, bias, rq)
	out := make([]uint8, s.OutLen())
	conv.Run(p, PlainQRows(x, s.Frames, s.Cin, s.H*s.W), out, res)
	return out, conv.Kernel()
}

func TestQConv(t *testing.T) {
	for _, threads := range []int{1, 3} {
		p := NewPool(threads)
		checkQConvCases(t, p, fmt.Sprintf("%d threads", threads), 17)
		p.Close()
	}
}

// checkQConvCases runs the convolution cases (data from seed) with the
// selected kernels against the reference and returns the kernels they
// ran.
func checkQConvCases(t *testing.T, p *Pool, label string, seed uint64) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for ci, c := range qconvCases() {
		rng := rand.New(rand.NewPCG(uint64(ci), seed))
		x, w, bias, rq, res := qconvData(rng, c)
		got, kern := runQConv(t, p, c, x, w, bias, rq, res)
		want := qconvRef(c.s, x, w, bias, c.inZero, rq, res)
		if i := firstByteDiff(got, want); i >= 0 {
			t.Fatalf("%s, %v (%s): output %d is %d, want %d", label, c, kern, i, got[i], want[i])
		}
		seen[kern] = true
	}
	return seen
}

// firstByteDiff returns the first index where a and b differ, or -1.
func firstByteDiff(a, b []uint8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestQConvSpread(t *testing.T) {
	// The cases' scales must exercise the whole output range, or the
	// comparison would pass on saturated outputs.
	c := qconvCase{s: ConvShape{Frames: 2, Cin: 32, H: 7, W: 7, Cout: 24, KH: 1, KW: 1}, packMR: PackQMR, inZero: 128}
	rng := rand.New(rand.NewPCG(3, 4))
	x, w, bias, rq, res := qconvData(rng, c)
	out := qconvRef(c.s, x, w, bias, c.inZero, rq, res)
	var hist [256]int
	for _, v := range out {
		hist[v]++
	}
	distinct, sat := 0, hist[0]+hist[255]
	for _, n := range hist {
		if n > 0 {
			distinct++
		}
	}
	if distinct < 128 || sat > len(out)/10 {
		t.Errorf("outputs take %d values, %d of %d saturated", distinct, sat, len(out))
	}
}

func TestQConvErrors(t *testing.T) {
	s := ConvShape{Frames: 1, Cin: 4, H: 2, W: 2, Cout: 3, KH: 1, KW: 1}
	packed, sums, err := PackQConvWeights(make([]int8, 12), 3, 4, 1, 1, 1, PackQMR)
	if err != nil {
		t.Fatal(err)
	}
	ok := QRequant{Scale: []float32{0.1}, Hi: 255}
	for name, f := range map[string]func() error{
		"packed length": func() error { _, err := NewQConv(s, packed[1:], sums, PackQMR, nil, 0, ok); return err },
		"sums":          func() error { _, err := NewQConv(s, packed, sums[:2], PackQMR, nil, 0, ok); return err },
		"bias":          func() error { _, err := NewQConv(s, packed, sums, PackQMR, []int32{1}, 0, ok); return err },
		"scales": func() error {
			_, err := NewQConv(s, packed, sums, PackQMR, nil, 0, QRequant{Scale: []float32{1, 2}, Hi: 255})
			return err
		},
		"zero scale": func() error {
			_, err := NewQConv(s, packed, sums, PackQMR, nil, 0, QRequant{Scale: []float32{0}, Hi: 255})
			return err
		},
		"empty clamp": func() error {
			_, err := NewQConv(s, packed, sums, PackQMR, nil, 0, QRequant{Scale: []float32{1}, Lo: 9, Hi: 8})
			return err
		},
		"add scale": func() error {
			_, err := NewQConv(s, packed, sums, PackQMR, nil, 0, QRequant{Scale: []float32{1}, Hi: 255, Add: &QAdd{ConvScale: 1, ResScale: float32(math.Inf(1)), OutScale: 1}})
			return err
		},
		"weights": func() error { _, _, err := PackQConvWeights(make([]int8, 11), 3, 4, 1, 1, 1, PackQMR); return err },
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestQRowsSetShifted checks the int8 row table of a temporal shift: rows
// moved by the ranges, the zero point where the frame is outside the
// clip, and the state where an online shift has one.
func TestQRowsSetShifted(t *testing.T) {
	const frames, channels, hw, zero = 4, 6, 3, 77
	x := make([]uint8, frames*channels*hw)
	for i := range x {
		x[i] = uint8(i)
	}
	s := TemporalShift{Segments: 2, Ranges: []ShiftRange{{0, 2, -1}, {2, 3, 1}}}
	r := make(QRows, frames*channels)
	if err := r.SetShifted(x, frames, channels, hw, s, nil, zero); err != nil {
		t.Fatal(err)
	}
	state := make([]uint8, frames/2*s.StateChannels()*hw)
	for i := range state {
		state[i] = 200 + uint8(i)
	}
	rs := make(QRows, frames*channels)
	if err := rs.SetShifted(x, frames, channels, hw, s, state, zero); err != nil {
		t.Fatal(err)
	}
	for f := range frames {
		clip, tt := f/2, f%2
		for c := range channels {
			src := tt
			switch {
			case c < 2:
				src = tt - 1
			case c < 3:
				src = tt + 1
			}
			want := func(withState bool) []uint8 {
				switch {
				case src >= 0 && src < 2:
					i := ((clip*2+src)*channels + c) * hw
					return x[i : i+hw]
				case src == -1 && withState:
					i := (clip*s.StateChannels() + c) * hw
					return state[i : i+hw]
				}
				return []uint8{zero, zero, zero}
			}
			if string(r[f*channels+c]) != string(want(false)) || string(rs[f*channels+c]) != string(want(true)) {
				t.Errorf("frame %d channel %d: rows %v / %v, want %v / %v", f, c, r[f*channels+c], rs[f*channels+c], want(false), want(true))
			}
		}
	}
	if err := r.SetShifted(x[1:], frames, channels, hw, s, nil, zero); err == nil {
		t.Error("a short input was accepted")
	}
}

// planQConv packs w and plans case c.
func planQConv(t testing.TB, c qconvCase, w []int8, bias []int32, rq QRequant) *QConv {
	t.Helper()
	s := c.s.normalized()
	packed, sums, err := PackQConvWeights(w, s.Cout, s.Cin/s.Group, s.KH, s.KW, s.Group, c.packMR)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewQConv(c.s, packed, sums, c.packMR, bias, c.inZero, rq)
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

// TestQConvPaddedRuns checks that the cases meant for the padded input
// take it, at strides 1 and 2, and that a second run with another input
// rewrites it.
func TestQConvPaddedRuns(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	strides := map[int]bool{}
	for ci, c := range qconvCases() {
		s := c.s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 29))
		x, w, bias, rq, res := qconvData(rng, c)
		conv := planQConv(t, c, w, bias, rq)
		if !conv.usePadded() {
			continue
		}
		strides[s.StrideW] = true
		x2, _, _, _, _ := qconvData(rng, c)
		for run, in := range [][]uint8{x, x2} {
			out := make([]uint8, s.OutLen())
			conv.Run(p, PlainQRows(in, s.Frames, s.Cin, s.H*s.W), out, res)
			if conv.padded == nil {
				t.Fatalf("%v: no padded input after a run", c)
			}
			want := qconvRef(c.s, in, w, bias, c.inZero, rq, res)
			if i := firstByteDiff(out, want); i >= 0 {
				t.Fatalf("%v, run %d: output %d is %d, want %d", c, run, i, out[i], want[i])
			}
		}
	}
	if !strides[1] || !strides[2] {
		t.Errorf("padded cases ran at strides %v, want 1 and 2", strides)
	}
}

// TestQConvInPlace checks that the stride-1 cases with few output
// channels and rows wide enough run in place where the kernel reads rows, bit for bit as the packed
// plan and the reference, at 1 and 3 threads (bands and channel blocks).
func TestQConvInPlace(t *testing.T) {
	if !qgemmFor(PackQMR, false).RowsB {
		t.Skip("no int8 kernel reads B in rows at this level")
	}
	ran := 0
	for _, threads := range []int{1, 3} {
		p := NewPool(threads)
		for ci, c := range qconvCases() {
			s := c.s.normalized()
			rng := rand.New(rand.NewPCG(uint64(ci), 31))
			x, w, bias, rq, res := qconvData(rng, c)
			conv := planQConv(t, c, w, bias, rq)
			wide := s.StrideH == 1 && s.StrideW == 1 && s.KH*s.KW > 1 && s.Group == 1 && s.Cout <= qInPlaceMaxCout &&
				s.OutW() >= qInPlaceRowPerPad*(s.KW-1)*s.DilationW
			if (conv.inPlace != nil) != (wide && conv.kern.RowsB) {
				t.Fatalf("%v: in place %v, want %v", c, conv.inPlace != nil, wide)
			}
			if conv.inPlace == nil {
				continue
			}
			in := PlainQRows(x, s.Frames, s.Cin, s.H*s.W)
			out := make([]uint8, s.OutLen())
			conv.Run(p, in, out, res)
			packed := planQConv(t, c, w, bias, rq)
			packed.inPlace = nil
			ref := make([]uint8, s.OutLen())
			packed.Run(p, in, ref, res)
			if i := firstByteDiff(out, ref); i >= 0 {
				t.Fatalf("%v, %d threads: output %d is %d, the packed plan's %d", c, threads, i, out[i], ref[i])
			}
			want := qconvRef(c.s, x, w, bias, c.inZero, rq, res)
			if i := firstByteDiff(out, want); i >= 0 {
				t.Fatalf("%v, %d threads: output %d is %d, want %d", c, threads, i, out[i], want[i])
			}
			ran++
		}
		p.Close()
	}
	if ran < 10 {
		t.Errorf("%d cases ran in place, want 10 or more", ran)
	}
}
