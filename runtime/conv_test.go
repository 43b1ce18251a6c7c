package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

type convCase struct {
	s        ConvShape
	act      Act
	bias     bool
	residual bool
	shift    bool // read the input through a temporal shift (Frames = 2 clips of Frames/2)
	state    bool // online shift with a state buffer
}

func convCases() []convCase {
	clip6 := Clip(0, 6)
	return []convCase{
		// pointwise: pixel tails, frame-straddling tiles, Cout tails, K blocks
		{s: ConvShape{Frames: 3, Cin: 13, H: 5, W: 7, Cout: 7, KH: 1, KW: 1}, bias: true},
		{s: ConvShape{Frames: 2, Cin: 600, H: 3, W: 3, Cout: 25, KH: 1, KW: 1}, act: Relu, bias: true, residual: true},
		{s: ConvShape{Frames: 1, Cin: 16, H: 8, W: 8, Cout: 24, KH: 1, KW: 1}, act: clip6, bias: true},
		{s: ConvShape{Frames: 4, Cin: 32, H: 7, W: 7, Cout: 64, KH: 1, KW: 1}, act: Relu, bias: true, residual: true, shift: true},
		{s: ConvShape{Frames: 1, Cin: 5, H: 1, W: 1, Cout: 3, KH: 1, KW: 1}},
		{s: ConvShape{Frames: 5, Cin: 4, H: 1, W: 1, Cout: 13, KH: 1, KW: 1}, bias: true},
		// 1x1 stride 2 (ResNet downsample)
		{s: ConvShape{Frames: 2, Cin: 24, H: 9, W: 11, Cout: 20, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, bias: true},
		// strided 1x1s, run pointwise on their subsampled input: a shift,
		// uneven strides and groups, a row, panels over 14x14 frames
		{s: ConvShape{Frames: 4, Cin: 32, H: 9, W: 10, Cout: 36, Group: 2, KH: 1, KW: 1, StrideH: 3, StrideW: 2}, act: Relu, bias: true, residual: true, shift: true},
		{s: ConvShape{Frames: 2, Cin: 8, H: 1, W: 9, Cout: 5, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, bias: true},
		{s: ConvShape{Frames: 3, Cin: 40, H: 28, W: 27, Cout: 64, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, act: Relu, bias: true, residual: true},
		// 3x3 pad 1, stride 1 and 2
		{s: ConvShape{Frames: 2, Cin: 8, H: 9, W: 10, Cout: 16, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: Relu, bias: true, residual: true},
		{s: ConvShape{Frames: 4, Cin: 16, H: 6, W: 6, Cout: 13, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: Relu, bias: true, shift: true},
		{s: ConvShape{Frames: 2, Cin: 16, H: 6, W: 6, Cout: 12, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, bias: true, shift: true, state: true},
		{s: ConvShape{Frames: 1, Cin: 3, H: 17, W: 15, Cout: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: clip6, bias: true},
		{s: ConvShape{Frames: 2, Cin: 40, H: 7, W: 7, Cout: 9, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: Relu},
		// strided, deep enough for several K blocks, every panel straddling frames
		{s: ConvShape{Frames: 3, Cin: 72, H: 7, W: 7, Cout: 27, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: Relu, bias: true, residual: true},
		{s: ConvShape{Frames: 5, Cin: 300, H: 6, W: 5, Cout: 26, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, bias: true, residual: true},
		// stem-like 7x7 stride 2 pad 3, asymmetric pads, dilation, rectangular kernels
		{s: ConvShape{Frames: 2, Cin: 3, H: 20, W: 18, Cout: 8, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}, act: Relu, bias: true},
		{s: ConvShape{Frames: 1, Cin: 6, H: 8, W: 9, Cout: 10, KH: 3, KW: 2, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 3}, bias: true},
		{s: ConvShape{Frames: 2, Cin: 5, H: 10, W: 11, Cout: 7, KH: 3, KW: 3, DilationH: 2, DilationW: 3, PadTop: 2, PadLeft: 3, PadBottom: 2, PadRight: 3}, bias: true, residual: true},
		{s: ConvShape{Frames: 1, Cin: 4, H: 9, W: 13, Cout: 6, KH: 2, KW: 4, StrideH: 3, StrideW: 2}},
		// groups, including depthwise run as a grouped GEMM
		{s: ConvShape{Frames: 2, Cin: 8, H: 6, W: 7, Cout: 12, Group: 2, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: Relu, bias: true, residual: true},
		{s: ConvShape{Frames: 1, Cin: 16, H: 5, W: 5, Cout: 32, Group: 4, KH: 1, KW: 1}, bias: true},
		{s: ConvShape{Frames: 2, Cin: 6, H: 8, W: 8, Cout: 6, Group: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}, act: clip6, bias: true},
	}
}

// convInput builds the input rows of a case, plain or shifted.
func convInput(t *testing.T, rng *rand.Rand, c convCase) (Rows, []float32) {
	s := c.s.normalized()
	hw := s.H * s.W
	x := randFloats(rng, s.Frames*s.Cin*hw)
	rows := NewRows(s.Frames, s.Cin)
	if !c.shift {
		rows.SetPlain(x, s.Frames, s.Cin, hw)
		return rows, x
	}
	var sh TemporalShift
	var state []float32
	if c.state {
		sh = TemporalShift{Segments: 1, Ranges: []ShiftRange{{0, s.Cin / 8, -1}, {s.Cin / 4, s.Cin/4 + 1, -1}}}
		state = randFloats(rng, s.Frames*sh.StateChannels()*hw)
	} else {
		sh = TemporalShift{Segments: s.Frames / 2, Ranges: []ShiftRange{{0, s.Cin / 8, 1}, {s.Cin / 8, s.Cin / 4, -1}}}
	}
	if err := rows.SetShifted(x, s.Frames, s.Cin, hw, sh, state); err != nil {
		t.Fatal(err)
	}
	return rows, x
}

func TestConv(t *testing.T) {
	for ci, c := range convCases() {
		for _, packMR := range []int{PackMR, 6, 8, 5} {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(packMR)))
			checkConvCase(t, fmt.Sprintf("case%d/%v/act=%v/mr=%d", ci, c.s.normalized(), c.act, packMR), c, packMR, rng)
		}
	}
}

// TestConvWithoutAccumulators runs the cases of several K blocks with no
// room for accumulator tiles, so that their partial tiles go through the
// scratch tile block after block.
func TestConvWithoutAccumulators(t *testing.T) {
	defer func(b int) { accBudget = b }(accBudget)
	accBudget = 0
	deep := 0
	for ci, c := range convCases() {
		rng := rand.New(rand.NewPCG(uint64(ci), 5))
		if conv := checkConvCase(t, fmt.Sprintf("case%d/%v", ci, c.s.normalized()), c, PackMR, rng); conv.kc < conv.k {
			deep++
		}
	}
	if deep == 0 && GemmKernelForA(PackMR).KC > 0 {
		t.Fatal("no case of several K blocks")
	}
}

// convOperands returns random weights for case c, packed in panels of
// packMR too, and its bias and residual (nil where it has none).
func convOperands(t *testing.T, rng *rand.Rand, c convCase, packMR int) (w, packed, bias, res []float32) {
	t.Helper()
	s := c.s.normalized()
	w = randFloats(rng, s.Cout*s.Cin/s.Group*s.KH*s.KW)
	if c.bias {
		bias = randFloats(rng, s.Cout)
	}
	if c.residual {
		res = randFloats(rng, s.OutLen())
	}
	packed, err := PackConvWeights(w, s.Cout, s.Cin/s.Group, s.KH, s.KW, s.Group, packMR)
	if err != nil {
		t.Fatal(err)
	}
	return w, packed, bias, res
}

// checkConvCase plans case c with weights packed in panels of packMR and
// random data from rng, runs it at every thread count of withPools
// against the reference (every output written, all thread counts bit for
// bit the same) and returns the planned convolution.
func checkConvCase(t *testing.T, name string, c convCase, packMR int, rng *rand.Rand) *Conv {
	t.Helper()
	s := c.s.normalized()
	rows, _ := convInput(t, rng, c)
	w, packed, bias, res := convOperands(t, rng, c, packMR)
	conv, err := NewConv(c.s, packed, packMR, bias, c.act)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := refConv(s, rows, w, bias, res, c.act)
	checkAtThreads(t, name, s.OutLen(), want, func(p *Pool, out []float32) { conv.Run(p, rows, out, res) })
	return conv
}

// TestConvRunScaled runs RunScaled against the reference on the input
// scaled beforehand, and bit for bit against the pixel-major plan's Run
// on that input, for every unshifted case (Winograd and transposed ones
// among them) and weight packings.
func TestConvRunScaled(t *testing.T) {
	extra := []convCase{
		{s: ConvShape{Frames: 3, Cin: 40, H: 7, W: 7, Cout: 64, KH: 1, KW: 1}, bias: true, residual: true},
		{s: ConvShape{Frames: 2, Cin: 96, H: 14, W: 14, Cout: 24, KH: 1, KW: 1}, bias: true},
		{s: ConvShape{Frames: 2, Cin: 700, H: 4, W: 5, Cout: 40, KH: 1, KW: 1}, act: Relu},
	}
	for ci, c := range append(convCases(), extra...) {
		if c.shift {
			continue
		}
		for _, packMR := range []int{PackMR, 5} {
			name := fmt.Sprintf("case%d/%v/mr=%d", ci, c.s.normalized(), packMR)
			rng := rand.New(rand.NewPCG(uint64(ci), 77))
			s := c.s.normalized()
			hw := s.H * s.W
			x := randFloats(rng, s.Frames*s.Cin*hw)
			scale := randFloats(rng, s.Frames*s.Cin)
			scaled := make([]float32, len(x))
			for i, v := range x {
				scaled[i] = v * scale[i/hw]
			}
			rows, scaledRows := NewRows(s.Frames, s.Cin), NewRows(s.Frames, s.Cin)
			rows.SetPlain(x, s.Frames, s.Cin, hw)
			scaledRows.SetPlain(scaled, s.Frames, s.Cin, hw)
			w, packed, bias, res := convOperands(t, rng, c, packMR)
			conv, err := NewConv(c.s, packed, packMR, bias, c.act)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			gemm, err := NewConvPlan(c.s, packed, packMR, bias, c.act, Plan{Algo: AlgoGEMM})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := refConv(s, scaledRows, w, bias, res, c.act)
			checkAtThreads(t, name, s.OutLen(), want, func(p *Pool, out []float32) {
				conv.RunScaled(p, rows, scale, out, res)
				plain := make([]float32, len(out))
				gemm.Run(p, scaledRows, plain, res)
				if !floatcmp.SameBits(out, plain) {
					t.Errorf("%s: RunScaled differs from the GEMM plan on the scaled input", name)
				}
			})
		}
	}
}

func TestConvRejectsBadInput(t *testing.T) {
	s := ConvShape{Frames: 1, Cin: 4, H: 3, W: 3, Cout: 4, KH: 3, KW: 3}
	packed, _ := PackConvWeights(make([]float32, 4*4*9), 4, 4, 3, 3, 1, PackMR)
	if _, err := NewConv(s, packed[1:], PackMR, nil, Act{}); err == nil {
		t.Error("short packed weights accepted")
	}
	if _, err := NewConv(s, packed, PackMR, make([]float32, 3), Act{}); err == nil {
		t.Error("short bias accepted")
	}
	bad := s
	bad.KH = 5
	if _, err := NewConv(bad, packed, PackMR, nil, Act{}); err == nil {
		t.Error("kernel larger than input accepted")
	}
	bad = s
	bad.Group = 3
	if _, err := NewConv(bad, packed, PackMR, nil, Act{}); err == nil {
		t.Error("group not dividing channels accepted")
	}
	if _, err := NewConv(s, packed, PackMR, nil, Clip(6, 0)); err == nil {
		t.Error("empty clip accepted")
	}
	if _, err := PackConvWeights(make([]float32, 5), 4, 4, 3, 3, 1, PackMR); err == nil {
		t.Error("wrong weight count packed")
	}
}

// TestConvSteadyStateAllocs: after the first run has sized the worker
// state, a Run allocates at most its loop closure.
func TestConvSteadyStateAllocs(t *testing.T) {
	s := ConvShape{Frames: 2, Cin: 16, H: 9, W: 9, Cout: 20, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	rng := rand.New(rand.NewPCG(3, 4))
	packed, _ := PackConvWeights(randFloats(rng, 20*16*9), 20, 16, 3, 3, 1, PackMR)
	conv, err := NewConv(s, packed, PackMR, nil, Relu)
	if err != nil {
		t.Fatal(err)
	}
	rows := PlainRows(randFloats(rng, s.InLen()), 2, 16, 81)
	out := make([]float32, s.OutLen())
	p := NewPool(2)
	defer p.Close()
	conv.Run(p, rows, out, nil)
	conv.Run(p, rows, out, nil)
	if n := testing.AllocsPerRun(20, func() { conv.Run(p, rows, out, nil) }); n > 1 {
		t.Errorf("conv Run allocates %v times per call, want at most 1", n)
	}
}

// TestConvRerunsSeeNewInput: output-channel blocks share a worker's packed
// B block within a run; a new run with new input data must repack.
func TestConvRerunsSeeNewInput(t *testing.T) {
	s := ConvShape{Frames: 1, Cin: 64, H: 9, W: 9, Cout: 160, KH: 3, KW: 3} // no padding: not Winograd
	rng := rand.New(rand.NewPCG(8, 8))
	w := randFloats(rng, 160*64*9)
	packed, _ := PackConvWeights(w, 160, 64, 3, 3, 1, PackMR)
	conv, err := NewConv(s, packed, PackMR, nil, Act{})
	if err != nil {
		t.Fatal(err)
	}
	if !conv.packAll || conv.nCB < 2 || conv.Winograd() {
		t.Fatalf("plan packAll=%v nCB=%d: this test needs shared packing", conv.packAll, conv.nCB)
	}
	x := make([]float32, s.InLen())
	rows := PlainRows(x, 1, 64, 81)
	withPools(t, func(p *Pool) {
		for run := range 3 {
			copy(x, randFloats(rng, len(x)))
			out := make([]float32, s.OutLen())
			conv.Run(p, rows, out, nil)
			checkClose(t, fmt.Sprintf("threads %d run %d", p.Threads(), run), out, refConv(s, rows, w, nil, nil, Act{}), 1e-5)
		}
	})
}

// TestConvTailActivations runs the convolution cases, a transposed-C one
// and a Winograd-shaped one with the activations the drivers apply to
// finished tiles (SiLU, HardSwish, Sigmoid, HardSigmoid), checking that
// every plan the level has took one of them.
func TestConvTailActivations(t *testing.T) {
	pad1 := ConvShape{KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	winoShape := pad1
	winoShape.Frames, winoShape.Cin, winoShape.H, winoShape.W, winoShape.Cout = 2, 16, 9, 11, 24
	cases := append(convCases(),
		convCase{s: ConvShape{Frames: 1, Cin: 320, H: 7, W: 7, Cout: 100, KH: 1, KW: 1}, bias: true, residual: true},
		convCase{s: winoShape, bias: true, residual: true},
		convCase{s: ConvShape{Frames: 8, Cin: 96, H: 14, W: 14, Cout: 40, KH: 1, KW: 1}, bias: true, shift: true})
	var tc, wino, pixelMajor bool
	for ci, c := range cases {
		c.act = tailActs[ci%len(tailActs)]
		for _, packMR := range []int{PackMR, 6} {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(packMR)+100))
			conv := checkConvCase(t, fmt.Sprintf("case%d/%v/act=%v/mr=%d", ci, c.s.normalized(), c.act, packMR), c, packMR, rng)
			tc = tc || conv.tc != nil
			wino = wino || conv.Winograd()
			pixelMajor = pixelMajor || (conv.tc == nil && !conv.Winograd())
		}
	}
	if gemmTC != nil && !tc {
		t.Error("no case took the transposed-C plan")
	}
	if in, _, _ := archWinograd(isa); in != nil && !wino {
		t.Error("no case ran as Winograd")
	}
	if !pixelMajor {
		t.Error("no case took the pixel-major plan")
	}
}
