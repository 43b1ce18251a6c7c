//go:build amd64 && !purego && unix

package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAsmWinogradTransforms runs the assembly transforms of every level
// (AVX-512, AVX2) against their Go twins, bit for bit: tile rows of 1 to
// the kernels' most tiles (16, 8) starting left of, inside and at the
// right edge of planes of every small width and height, rows above and
// below the plane, residual or not; planes, V, M, outputs and residuals
// against guard pages; entries outside the contract untouched.
func TestAsmWinogradTransforms(t *testing.T) {
	tested := 0
	for _, level := range asmLevels() {
		in, out, maxN := asmWinograd(level)
		if in == nil {
			continue
		}
		rng := rand.New(rand.NewPCG(3, 3))
		for n := 1; n <= maxN; n++ {
			for w := 1; w <= 36; w += 1 + rng.IntN(4) {
				for trial := range 3 {
					checkWinogradTransforms(t, rng, level, in, out, n, w, trial)
					tested++
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly Winograd transforms on this CPU")
	}
	t.Logf("%d cases", tested)
}

// checkWinogradTransforms runs in and out on a random tile row of n tiles
// of a plane w wide (trial 2: the row's last tiles) against the twins.
func checkWinogradTransforms(t *testing.T, rng *rand.Rand, level string, in func(*WinoIn), out func(*WinoOut), n, w, trial int) {
	t.Helper()
	h := 1 + rng.IntN(7)
	tx := rng.IntN(max(1, (w+1)/2-n+1))
	if trial == 2 {
		tx = max(0, (w+1)/2-n)
	}
	ty := rng.IntN((h+1)/2 + 1)
	c := 1 + rng.IntN(3)
	bufs := &guardedBufs{t: t, rng: rng, front: rng.IntN(2) == 0}
	defer bufs.release()
	alloc := bufs.alloc
	name := fmt.Sprintf("%s n=%d %dx%d c=%d tile (%d,%d)", level, n, h, w, c, ty, tx)
	// input transform
	sc := 16 + rng.IntN(20)
	sxi := c*sc + rng.IntN(5)
	a := WinoIn{C: c, H: h, W: w, N: n, IY: 2*ty - 1, IX: 2*tx - 1, SXi: sxi, SC: sc}
	for range c {
		a.Rows = append(a.Rows, alloc(h*w))
	}
	a.V = alloc(15*sxi + (c-1)*sc + n)
	twin := a
	twin.V = append([]float32(nil), a.V...)
	winoInGo(&twin)
	in(&a)
	if i := firstBitDiff(a.V, twin.V); i >= 0 {
		t.Errorf("in %s: V[%d] = %g, twin %g", name, i, a.V[i], twin.V[i])
	}
	// output transform
	b := WinoOut{C: c, H: h, W: w, N: n, OY: 2 * min(ty, (h-1)/2), OX: 2 * tx, OStride: h*w + rng.IntN(3),
		SXi: c*sc + rng.IntN(5), SC: sc, Lo: -1.5, Hi: 2}
	if b.OX+1 > w+1 || 2*(tx+n-1) >= w+1 {
		b.OX = 0
	}
	b.M = alloc(15*b.SXi + (c-1)*sc + n)
	b.Bias = randFloats(rng, c)
	b.O = alloc((c-1)*b.OStride + h*w)
	if rng.IntN(2) == 0 {
		b.Res = alloc(len(b.O))
	}
	twinOut := b
	twinOut.O = append([]float32(nil), b.O...)
	winoOutGo(&twinOut)
	out(&b)
	if i := firstBitDiff(b.O, twinOut.O); i >= 0 {
		t.Errorf("out %s res=%v: O[%d] = %g, twin %g", name, b.Res != nil, i, b.O[i], twinOut.O[i])
	}
}

// TestWinogradConv checks whole Winograd convolutions at every level with
// transforms (AVX-512 on its 12x32 kernel, AVX2 on its 6x16 one running
// each 12-row weight panel as two halves) against the float64
// reference: odd and even sizes, small maps over many frames, channel
// counts that are not multiples of the panels, K blocks, residuals,
// shifts, and identical results for every thread count.
func TestWinogradConv(t *testing.T) {
	var levels []string
	for _, l := range asmLevels() {
		if in, _, _ := asmWinograd(l); in != nil {
			levels = append(levels, l)
		}
	}
	if len(levels) == 0 {
		t.Skip("no assembly Winograd transforms on this CPU")
	}
	pad1 := func(s ConvShape) ConvShape {
		s.KH, s.KW, s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = 3, 3, 1, 1, 1, 1
		return s
	}
	cases := []convCase{
		{s: pad1(ConvShape{Frames: 2, Cin: 8, H: 9, W: 10, Cout: 16}), act: Relu, bias: true, residual: true},
		{s: pad1(ConvShape{Frames: 8, Cin: 20, H: 7, W: 7, Cout: 13}), act: Clip(0, 6), bias: true, shift: true},
		{s: pad1(ConvShape{Frames: 4, Cin: 16, H: 14, W: 14, Cout: 24}), act: Relu, bias: true, residual: true, shift: true},
		{s: pad1(ConvShape{Frames: 1, Cin: 300, H: 5, W: 6, Cout: 12}), bias: true},
		{s: pad1(ConvShape{Frames: 1, Cin: 3, H: 1, W: 1, Cout: 5}), bias: true},
		{s: pad1(ConvShape{Frames: 1, Cin: 4, H: 40, W: 37, Cout: 7})},
		{s: pad1(ConvShape{Frames: 2, Cin: 16, H: 6, W: 6, Cout: 12}), bias: true, shift: true, state: true},
	}
	for _, level := range levels {
		withISA(level, func() {
			for ci, c := range cases {
				s := c.s.normalized()
				name := fmt.Sprintf("%s/case%d/%v", level, ci, s)
				rng := rand.New(rand.NewPCG(uint64(ci), 11))
				rows, _ := convInput(t, rng, c)
				w := randFloats(rng, s.Cout*s.Cin*9)
				var bias, res []float32
				if c.bias {
					bias = randFloats(rng, s.Cout)
				}
				if c.residual {
					res = randFloats(rng, s.OutLen())
				}
				packed, _ := PackConvWeights(w, s.Cout, s.Cin, 3, 3, 1, PackMR)
				conv, err := NewConvPlan(c.s, packed, PackMR, bias, c.act, Plan{Algo: AlgoWinograd})
				if err != nil {
					t.Fatal(err)
				}
				if !conv.Winograd() {
					t.Fatalf("%s: not run as Winograd", name)
				}
				want := refConv(s, rows, w, bias, res, c.act)
				checkAtThreads(t, name, s.OutLen(), want, func(p *Pool, out []float32) { conv.Run(p, rows, out, res) })
			}
		})
	}
}

// TestWinogradNarrowRule checks that a default Winograd plan takes the
// narrowest kernel up to Rules.WinoNarrowMaxCout output channels and the
// default kernel past it, that a plan naming a kernel keeps it, and that
// both kernels give the same bits (each output one K-ordered chain of
// fused multiply-adds), so the rule cannot make results depend on it.
func TestWinogradNarrowRule(t *testing.T) {
	for _, level := range asmLevels() {
		withISA(level, func() {
			narrow := narrowKernel(PackMR)
			if in, _, _ := asmWinograd(level); in == nil || narrow == nil {
				return
			}
			def := GemmKernelForA(PackMR)
			s := ConvShape{Frames: 2, Cin: 24, H: 10, W: 9, Cout: 40, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
			rng := rand.New(rand.NewPCG(3, 5))
			packed, _ := PackConvWeights(randFloats(rng, s.Cout*s.Cin*9), s.Cout, s.Cin, 3, 3, 1, PackMR)
			bias := randFloats(rng, s.Cout)
			rows := PlainRows(randFloats(rng, s.InLen()), s.Frames, s.Cin, s.H*s.W)
			p := NewPool(1)
			defer p.Close()
			outs := map[string][]float32{}
			for _, c := range []struct {
				maxCout int
				plan    Plan
				want    *GemmKernel
			}{
				{40, Plan{}, narrow},
				{39, Plan{}, def},
				{40, Plan{Algo: AlgoWinograd, Kernel: def.Name}, def},
				{0, Plan{Algo: AlgoWinograd}, def},
			} {
				r := DefaultRules()
				r.WinoNarrowMaxCout = c.maxCout
				old := SetDefaultRules(r)
				conv, err := NewConvPlan(s, packed, PackMR, bias, Relu, c.plan)
				SetDefaultRules(old)
				if err != nil {
					t.Fatal(err)
				}
				if !conv.Winograd() || conv.kern != c.want {
					t.Errorf("%s: rule %d, plan %v: Winograd %v on %s, want %s", level, c.maxCout, c.plan, conv.Winograd(), conv.Kernel(), c.want.Name)
					continue
				}
				out := make([]float32, s.OutLen())
				conv.Run(p, rows, out, nil)
				outs[conv.Kernel()] = out
			}
			if i := firstBitDiff(outs[narrow.Name], outs[def.Name]); i >= 0 {
				t.Errorf("%s: output %d is %g on %s, %g on %s", level, i, outs[narrow.Name][i], narrow.Name, outs[def.Name][i], def.Name)
			}
		})
	}
}
