package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// gemmSizes are the dimensions Sgemm cases draw from: empty, 1, tails of
// every kernel's MR (2, 4, 6, 8, 12) and NR (8, 16, 32) and of the K
// block (256), and sizes of several blocks.
var gemmSizes = []int{0, 1, 2, 3, 5, 7, 11, 12, 13, 17, 31, 32, 33, 47, 64, 65, 100, 129, 255, 256, 257, 300, 520}

// sgemmMode is how a case supplies its operands.
type sgemmMode int

const (
	sgemmRunTime sgemmMode = iota // both packed per run
	sgemmPackedA                  // A packed at compile time
	sgemmPackedB                  // B packed at compile time
)

func (m sgemmMode) String() string { return [...]string{"runtime", "packedA", "packedB"}[m] }

type sgemmCase struct {
	s           SgemmShape
	alpha, beta float32
	mode        sgemmMode
	pack        int // panel width of the compile-time operand
}

func (c sgemmCase) String() string {
	return fmt.Sprintf("%v/alpha=%g/beta=%g/%v/%d", c.s, c.alpha, c.beta, c.mode, c.pack)
}

// randSgemmCase draws a case whose sizes keep M*N*K below a few million.
func randSgemmCase(rng *rand.Rand) sgemmCase {
	pick := func() int { return gemmSizes[rng.IntN(len(gemmSizes))] }
	var c sgemmCase
	for {
		c.s = SgemmShape{M: pick(), N: pick(), K: pick(), TransA: rng.IntN(2) == 1, TransB: rng.IntN(2) == 1}
		if c.s.M*c.s.N*c.s.K <= 4<<20 {
			break
		}
	}
	if rng.IntN(3) == 0 { // leading dimensions past the stored rows
		_, ac := c.s.aDims()
		_, bc := c.s.bDims()
		c.s.LDA, c.s.LDB, c.s.LDC = ac+rng.IntN(5), bc+rng.IntN(5), c.s.N+rng.IntN(5)
	}
	scalars := []float32{1, 1, 0, 0.5, -1.25}
	c.alpha, c.beta = scalars[rng.IntN(len(scalars))], scalars[rng.IntN(len(scalars))]
	c.mode = sgemmMode(rng.IntN(3))
	c.pack = []int{PackMR, PackNR, 6, 8, 16, 5}[rng.IntN(6)]
	return c
}

// sgemmCases are the drawn cases plus the shapes every run must cover.
func sgemmCases() []sgemmCase {
	rng := rand.New(rand.NewPCG(13, 1))
	cases := []sgemmCase{
		{s: SgemmShape{M: 1, N: 1, K: 1}, alpha: 1},
		{s: SgemmShape{M: 300, N: 1, K: 70}, alpha: 0.5, beta: 1},                  // a column: computed as a row
		{s: SgemmShape{M: 300, N: 1, K: 70, TransA: true, TransB: true}, alpha: 1}, // the same, transposed operands
		{s: SgemmShape{M: 1, N: 300, K: 70, TransA: true}, alpha: 1, beta: 0.5},
		{s: SgemmShape{M: 37, N: 45, K: 0}, alpha: 1, beta: 0.5}, // K = 0: C = beta·C
		{s: SgemmShape{M: 37, N: 45, K: 0}, alpha: 1, beta: 0, mode: sgemmPackedB, pack: PackNR},
		{s: SgemmShape{M: 0, N: 45, K: 3}, alpha: 1},
		{s: SgemmShape{M: 8, N: 400, K: 2048, TransB: true}, alpha: 1, mode: sgemmPackedB, pack: PackNR}, // the classifier
		{s: SgemmShape{M: 64, N: 392, K: 700}, alpha: 1, mode: sgemmPackedA, pack: PackMR},
		{s: SgemmShape{M: 200, N: 150, K: 600, TransA: true, LDA: 203, LDB: 160, LDC: 151}, alpha: -1, beta: 1},
	}
	for range 120 {
		cases = append(cases, randSgemmCase(rng))
	}
	return cases
}

func TestSgemm(t *testing.T) {
	// how the cases ran: operands packed whole per run, per block, at
	// compile time; several K blocks; several items
	paths := map[string]int{}
	for ci, c := range sgemmCases() {
		rng := rand.New(rand.NewPCG(uint64(ci), 7))
		g := checkSgemmCase(t, rng, c)
		pl := g.plan
		for side, op := range map[string]gemmOperand{"A": pl.a, "B": pl.b} {
			switch {
			case op.whole:
				paths[side+" whole"]++
			case op.packed != nil:
				paths[side+" compile time"]++
			default:
				paths[side+" per block"]++
			}
		}
		if pl.k > pl.kc {
			paths["K blocks"]++
		}
		if pl.nMB*pl.nNB > 1 {
			paths["items"]++
		}
	}
	for _, p := range []string{"A whole", "A compile time", "A per block", "B whole", "B compile time", "B per block", "K blocks", "items"} {
		if paths[p] == 0 {
			t.Errorf("no case ran with %s", p)
		}
	}
}

func checkSgemmCase(t *testing.T, rng *rand.Rand, c sgemmCase) *Sgemm {
	t.Helper()
	s := c.s.normalized()
	ar, ac := s.aDims()
	br, bc := s.bDims()
	a := randOffsetFloats(rng, matrixLen(ar, ac, s.LDA))
	b := randOffsetFloats(rng, matrixLen(br, bc, s.LDB))
	c0 := randOffsetFloats(rng, matrixLen(s.M, s.N, s.LDC))
	if c.beta == 0 { // C is not read
		for i := range c0 {
			c0[i] = float32(math.NaN())
		}
	}
	var g *Sgemm
	var err error
	runA, runB := a, b
	switch c.mode {
	case sgemmRunTime:
		g, err = NewSgemm(c.s, c.alpha, c.beta)
	case sgemmPackedA:
		packed, perr := PackGemmA(a, s.M, s.K, s.LDA, s.TransA, c.pack)
		if perr != nil {
			t.Fatalf("%v: %v", c, perr)
		}
		g, err = NewSgemmPackedA(c.s, c.alpha, c.beta, packed, c.pack)
		runA = nil
	case sgemmPackedB:
		packed, perr := PackGemmB(b, s.K, s.N, s.LDB, s.TransB, c.pack)
		if perr != nil {
			t.Fatalf("%v: %v", c, perr)
		}
		g, err = NewSgemmPackedB(c.s, c.alpha, c.beta, packed, c.pack)
		runB = nil
	}
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}

	dense := func(x []float32, rows, cols, ld int) []float32 {
		d := make([]float32, 0, rows*cols)
		for i := range rows * min(cols, 1) {
			d = append(d, x[i*ld:][:cols]...)
		}
		return d
	}
	attrs := map[string]ir.Attr{"transA": attrBool(s.TransA), "transB": attrBool(s.TransB),
		"alpha": attrFloat(c.alpha), "beta": attrFloat(c.beta)}
	var cIn *ir.Tensor
	if c.beta != 0 {
		cIn = tensorF32([]int{s.M, s.N}, dense(c0, s.M, s.N, s.LDC))
	}
	want := interpEval(t, "Gemm", attrs, tensorF32([]int{ar, ac}, dense(a, ar, ac, s.LDA)),
		tensorF32([]int{br, bc}, dense(b, br, bc, s.LDB)), cIn)

	checkOracle(t, c.String(), want, func(p *Pool) []float32 {
		out := offsetFloats(len(c0), rng.IntN(AlignFloats), func(i int) float32 { return c0[i] })
		g.Run(p, runA, runB, out)
		for i := range out { // the gaps between the rows of C stay as they were
			if row, col := i/s.LDC, i%s.LDC; col >= s.N && !(math.Float32bits(out[i]) == math.Float32bits(c0[i])) {
				t.Fatalf("%v: C[%d][%d] past the row was written", c, row, col)
			}
		}
		return dense(out, s.M, s.N, s.LDC)
	})
	return g
}

func TestSgemmErrors(t *testing.T) {
	for _, s := range []SgemmShape{
		{M: -1, N: 2, K: 2},
		{M: 2, N: 2, K: 3, LDA: 2},
		{M: 2, N: 2, K: 3, TransA: true, LDA: 1},
		{M: 2, N: 4, K: 3, LDB: 3},
		{M: 2, N: 4, K: 3, LDC: 3},
	} {
		if _, err := NewSgemm(s, 1, 0); err == nil {
			t.Errorf("%v: no error", s)
		}
	}
	s := SgemmShape{M: 4, N: 5, K: 6}
	if _, err := NewSgemmPackedA(s, 1, 0, make([]float32, 7), PackMR); err == nil {
		t.Error("packed A of the wrong length: no error")
	}
	if _, err := NewSgemmPackedB(s, 1, 0, make([]float32, PackedGemmBLen(6, 5, PackNR)), 0); err == nil {
		t.Error("packed B of panel width 0: no error")
	}
	if _, err := PackGemmB(make([]float32, 29), 6, 5, 0, false, PackNR); err == nil {
		t.Error("PackGemmB of too few values: no error")
	}
	if _, err := PackGemmA(make([]float32, 24), 4, 6, 0, false, 0); err == nil {
		t.Error("PackGemmA in panels of 0: no error")
	}
}

// BenchmarkSgemm runs Sgemm on the shapes of the existing GEMM drivers,
// beside them: the classifier (Dense), a pointwise convolution (Conv) and
// the products of a non-local block.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	bench := func(name string, flops float64, run func(p *Pool)) {
		b.Run(name, func(b *testing.B) { benchRun(b, 1, flops, run) })
	}
	sgemm := func(name string, s SgemmShape, mode sgemmMode) {
		s = s.normalized()
		ar, ac := s.aDims()
		br, bc := s.bDims()
		a, bm, c := randFloats(rng, ar*ac), randFloats(rng, br*bc), make([]float32, s.M*s.N)
		var g *Sgemm
		var err error
		switch mode {
		case sgemmRunTime:
			g, err = NewSgemm(s, 1, 0)
		case sgemmPackedA:
			packed, _ := PackGemmA(a, s.M, s.K, 0, s.TransA, PackMR)
			g, err = NewSgemmPackedA(s, 1, 0, packed, PackMR)
			a = nil
		case sgemmPackedB:
			packed, _ := PackGemmB(bm, s.K, s.N, 0, s.TransB, PackNR)
			g, err = NewSgemmPackedB(s, 1, 0, packed, PackNR)
			bm = nil
		}
		if err != nil {
			b.Fatal(err)
		}
		bench(fmt.Sprintf("%s/sgemm_%v", name, mode), 2*float64(s.M*s.N*s.K), func(p *Pool) { g.Run(p, a, bm, c) })
	}

	// the classifier: Dense against Sgemm with the weights as B
	{
		const batch, in, out = 8, 2048, 400
		packed, _ := PackDenseWeights(randFloats(rng, in*out), out, in, PackNR)
		d, err := NewDense(batch, in, out, packed, PackNR, nil, Act{})
		if err != nil {
			b.Fatal(err)
		}
		x, y := randFloats(rng, batch*in), make([]float32, batch*out)
		bench("8x2048x400/dense", 2*batch*in*out, func(p *Pool) { d.Run(p, x, y) })
		s := SgemmShape{M: batch, N: out, K: in, TransB: true}
		sgemm("8x2048x400", s, sgemmPackedB)
		sgemm("8x2048x400", s, sgemmRunTime)
	}
	// pointwise convolutions: Conv against Sgemm with the weights as A
	for _, cs := range []ConvShape{
		{Frames: 1, Cin: 1024, H: 14, W: 14, Cout: 256, KH: 1, KW: 1},
		{Frames: 1, Cin: 256, H: 56, W: 56, Cout: 64, KH: 1, KW: 1},
	} {
		name := fmt.Sprintf("%dx%dx%d", cs.Cout, cs.Cin, cs.H*cs.W)
		packed, _ := PackConvWeights(randFloats(rng, cs.Cout*cs.Cin), cs.Cout, cs.Cin, 1, 1, 1, PackMR)
		conv, err := NewConv(cs, packed, PackMR, nil, Act{})
		if err != nil {
			b.Fatal(err)
		}
		x, y := randFloats(rng, cs.InLen()), make([]float32, cs.OutLen())
		rows := PlainRows(x, 1, cs.Cin, cs.H*cs.W)
		bench(name+"/conv", cs.FLOPs(), func(p *Pool) { conv.Run(p, rows, y, nil) })
		s := SgemmShape{M: cs.Cout, N: cs.H * cs.W, K: cs.Cin}
		sgemm(name, s, sgemmPackedA)
		sgemm(name, s, sgemmRunTime)
	}
	// a non-local block's products at 8x14x14 positions, 256 channels
	sgemm("1568x256x392", SgemmShape{M: 1568, N: 392, K: 256}, sgemmRunTime)
	sgemm("1568x392x256", SgemmShape{M: 1568, N: 256, K: 392}, sgemmRunTime)
	sgemm("512x512x512_AtBt", SgemmShape{M: 512, N: 512, K: 512, TransA: true, TransB: true}, sgemmRunTime)
}
