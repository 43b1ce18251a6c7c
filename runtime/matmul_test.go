package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// randMatMulShapes draws MatMul operand shapes: ranks 1 to 5, batch axes
// of up to 3 dims broadcast against each other (size-1 axes on either
// side, missing leading axes), matrix sizes with kernel tails.
func randMatMulShapes(rng *rand.Rand) (a, b []int) {
	sizes := []int{1, 2, 3, 7, 12, 13, 33, 47, 70}
	pick := func() int { return sizes[rng.IntN(len(sizes))] }
	m, k, n := pick(), pick(), pick()
	if rng.IntN(8) == 0 {
		k = 300 // K blocks
	}
	batch := make([]int, rng.IntN(4))
	for i := range batch {
		batch[i] = 1 + rng.IntN(3)
	}
	// each side takes a suffix of the batch, some axes as 1
	side := func() []int {
		s := append([]int(nil), batch[rng.IntN(len(batch)+1):]...)
		for i := range s {
			if rng.IntN(3) == 0 {
				s[i] = 1
			}
		}
		return s
	}
	a, b = append(side(), m, k), append(side(), k, n)
	if rng.IntN(6) == 0 {
		a = []int{k}
	}
	if rng.IntN(6) == 0 {
		b = []int{k}
	}
	return a, b
}

func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 3))
	cases := [][2][]int{
		{{5}, {5}},                        // a dot product
		{{7}, {7, 9}},                     // a row times a matrix
		{{300, 70}, {70}},                 // a matrix times a column
		{{2, 3, 300, 70}, {70}},           // a batch of them
		{{2, 1, 37, 20}, {3, 20, 45}},     // both broadcast
		{{4, 8, 49, 64}, {64, 96}},        // stacked rows, one B
		{{6, 35, 24}, {1, 24, 33}},        // stacked rows, a B of batch size 1
		{{13, 24}, {5, 24, 33}},           // one A, batched B
		{{1, 2, 1, 3, 9, 10}, {3, 10, 4}}, // rank 6
		{{3, 0, 5}, {5, 4}},               // M = 0
		{{3, 6, 0}, {0, 4}},               // K = 0
		{{0, 6, 5}, {5, 4}},               // an empty batch
	}
	for range 100 {
		a, b := randMatMulShapes(rng)
		cases = append(cases, [2][]int{a, b})
	}
	paths := map[string]int{}
	for ci, c := range cases {
		for _, packed := range []bool{false, true} {
			name := fmt.Sprintf("%v x %v/packedB=%v", c[0], c[1], packed)
			mm := checkMatMul(t, rand.New(rand.NewPCG(uint64(ci), 9)), name, c[0], c[1], packed)
			if mm == nil {
				continue
			}
			if mm.plan.batch == 1 && len(mm.out) > 2 {
				paths["stacked"]++
			}
			if mm.plan.batch > 1 {
				paths["batched"]++
			}
			if mm.plan.m == 1 && mm.m > 1 {
				paths["column as a row"]++
			}
			for _, op := range []gemmOperand{mm.plan.a, mm.plan.b} {
				if op.whole && mm.plan.batch > 1 {
					paths["batched, packed whole"]++
					if len(op.reps) < mm.plan.batch {
						paths["a shared matrix packed once"]++
					}
				}
			}
		}
	}
	for _, p := range []string{"stacked", "batched", "column as a row", "batched, packed whole", "a shared matrix packed once"} {
		if paths[p] == 0 {
			t.Errorf("no case ran %s", p)
		}
	}
}

func checkMatMul(t *testing.T, rng *rand.Rand, name string, aShape, bShape []int, packed bool) *MatMul {
	t.Helper()
	a := randOffsetFloats(rng, shapeProduct(aShape))
	b := randOffsetFloats(rng, shapeProduct(bShape))
	var mm *MatMul
	var err error
	runB := b
	if packed {
		pb, perr := PackMatMulB(b, bShape, PackNR)
		if perr != nil {
			t.Fatalf("%s: %v", name, perr)
		}
		mm, err = NewMatMulPackedB(aShape, bShape, pb, PackNR)
		runB = nil
	} else {
		mm, err = NewMatMul(aShape, bShape)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := interpEval(t, "MatMul", nil, tensorF32(aShape, a), tensorF32(bShape, b))
	if !want.Shape.Equal(ir.Shape(mm.Shape())) {
		t.Fatalf("%s: shape %v, the interpreter's %v", name, mm.Shape(), want.Shape)
	}
	checkOracle(t, name, want, func(p *Pool) []float32 {
		y := nanFloats(rng, len(want.F32))
		mm.Run(p, a, runB, y)
		return y
	})
	return mm
}

func TestMatMulErrors(t *testing.T) {
	for _, c := range [][2][]int{
		{{}, {3}},
		{{3, 4}, {5, 2}},
		{{2, 3, 4}, {3, 4, 2}},
		{{3, -1}, {-1, 2}},
	} {
		if _, err := NewMatMul(c[0], c[1]); err == nil {
			t.Errorf("%v x %v: no error", c[0], c[1])
		}
	}
	if _, err := NewMatMulPackedB([]int{3, 4}, []int{4, 5}, make([]float32, 20), PackNR); err == nil {
		t.Error("unpacked B passed as packed: no error")
	}
	if _, err := PackMatMulB(make([]float32, 19), []int{4, 5}, PackNR); err == nil {
		t.Error("PackMatMulB of too few values: no error")
	}
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 4))
	sizes := []int{1, 2, 5, 12, 13, 32, 33, 70, 129}
	pick := func() int { return sizes[rng.IntN(len(sizes))] }
	var specs []GemmSpec
	for range 150 {
		s := GemmSpec{M: pick(), N: pick(), K: pick(), TransA: rng.IntN(2) == 1, TransB: rng.IntN(2) == 1,
			Alpha: []float32{1, 0.5, -2}[rng.IntN(3)], Beta: []float32{1, 0.25, 0, -1}[rng.IntN(4)]}
		if rng.IntN(10) == 0 {
			s.K = 600
		}
		cShapes := [][]int{nil, {}, {1}, {s.N}, {1, s.N}, {s.M, 1}, {s.M, s.N}, {1, 1}}
		s.C = cShapes[rng.IntN(len(cShapes))]
		s.Act = []Act{{}, Relu, Clip(-0.5, 0.75), Sigmoid, HardSigmoid(0.2, 0.5)}[rng.IntN(5)]
		specs = append(specs, s)
	}
	specs = append(specs,
		GemmSpec{M: 8, N: 400, K: 2048, TransB: true, Alpha: 1, Beta: 1, C: []int{400}}, // a classifier
		GemmSpec{M: 37, N: 45, K: 0, Alpha: 1, Beta: 0.5, C: []int{37, 1}, Act: Relu},
		GemmSpec{M: 37, N: 45, K: 0, Alpha: 1, Beta: 0.5, C: []int{37, 45}},
		GemmSpec{M: 37, N: 45, K: 0, Alpha: 1, Beta: 1, C: []int{45}},
		GemmSpec{M: 1, N: 1, K: 1, Alpha: 1, Beta: 1, C: []int{}},
	)
	for si, s := range specs {
		for _, packed := range []bool{false, true} {
			checkGemm(t, rand.New(rand.NewPCG(uint64(si), 11)), s, packed)
		}
	}
}

func checkGemm(t *testing.T, rng *rand.Rand, s GemmSpec, packed bool) {
	t.Helper()
	name := fmt.Sprintf("%v/packedB=%v", s, packed)
	sh := SgemmShape{M: s.M, N: s.N, K: s.K, TransA: s.TransA, TransB: s.TransB}
	ar, ac := sh.aDims()
	br, bc := sh.bDims()
	a, b := randOffsetFloats(rng, ar*ac), randOffsetFloats(rng, br*bc)
	var c []float32
	var cT *ir.Tensor
	if s.C != nil {
		c = randOffsetFloats(rng, shapeProduct(s.C))
		cT = tensorF32(s.C, c)
	}
	var g *Gemm
	var err error
	runB := b
	if packed {
		pb, perr := PackGemmB(b, s.K, s.N, 0, s.TransB, PackNR)
		if perr != nil {
			t.Fatalf("%s: %v", name, perr)
		}
		g, err = NewGemmPackedB(s, pb, PackNR)
		runB = nil
	} else {
		g, err = NewGemm(s)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	attrs := map[string]ir.Attr{"transA": attrBool(s.TransA), "transB": attrBool(s.TransB),
		"alpha": attrFloat(s.Alpha), "beta": attrFloat(s.Beta)}
	want := interpEval(t, "Gemm", attrs, tensorF32([]int{ar, ac}, a), tensorF32([]int{br, bc}, b), cT)
	scale := maxAbs(want.F32)
	for i, v := range want.F32 { // the fused activation
		want.F32[i] = float32(refAct(s.Act, float64(v)))
	}
	checkOracleScaled(t, name, want, scale, func(p *Pool) []float32 {
		y := nanFloats(rng, s.M*s.N)
		g.Run(p, a, runB, c, y)
		return y
	})
}

func TestGemmErrors(t *testing.T) {
	for _, s := range []GemmSpec{
		{M: 3, N: 4, K: -1, Alpha: 1},
		{M: 3, N: 4, K: 2, Alpha: 1, Beta: 1, C: []int{3}},
		{M: 3, N: 4, K: 2, Alpha: 1, Beta: 1, C: []int{4, 4}},
		{M: 3, N: 4, K: 2, Alpha: 1, Beta: 1, C: []int{1, 3, 4}},
		{M: 3, N: 4, K: 2, Alpha: 1, Act: Clip(1, 0)},
	} {
		if _, err := NewGemm(s); err == nil {
			t.Errorf("%v: no error", s)
		}
	}
	if _, err := NewGemmPackedB(GemmSpec{M: 3, N: 4, K: 2, Alpha: 1}, make([]float32, 8), PackNR); err == nil {
		t.Error("unpacked B passed as packed: no error")
	}
}

// BenchmarkMatMul runs a non-local block's attention products (batch 2,
// 8x14x14 positions, 256 channels, the keys pooled to a quarter) and a
// linear layer over a clip's tokens with constant weights.
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 3))
	for _, c := range []struct {
		name   string
		a, b   []int
		packed bool
	}{
		{"nonlocal_theta_phi", []int{2, 1568, 256}, []int{2, 256, 392}, false},
		{"nonlocal_attn_g", []int{2, 1568, 392}, []int{2, 392, 256}, false},
		{"nonlocal_56_theta_phi", []int{1, 6272, 256}, []int{1, 256, 1568}, false},
		{"nonlocal_56_attn_g", []int{1, 6272, 1568}, []int{1, 1568, 256}, false},
		{"linear_8x196x768_packed", []int{8, 196, 768}, []int{768, 768}, true},
	} {
		x, w := randFloats(rng, shapeProduct(c.a)), randFloats(rng, shapeProduct(c.b))
		var mm *MatMul
		var err error
		if c.packed {
			pw, _ := PackMatMulB(w, c.b, PackNR)
			mm, err = NewMatMulPackedB(c.a, c.b, pw, PackNR)
			w = nil
		} else {
			mm, err = NewMatMul(c.a, c.b)
		}
		if err != nil {
			b.Fatal(err)
		}
		y := make([]float32, shapeProduct(mm.Shape()))
		b.Run(c.name, func(b *testing.B) {
			benchRun(b, 1, mm.profileFLOPs(), func(p *Pool) { mm.Run(p, x, w, y) })
		})
	}
}
