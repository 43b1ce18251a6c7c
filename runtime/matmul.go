package runtime

import (
	"fmt"
	"slices"
)

// ONNX MatMul and Gemm on the GEMM driver of sgemm.go.

// MatMul is ONNX MatMul (numpy matmul) planned for fixed shapes: A
// [..., M, K] times B [..., K, N] gives Y [..., M, N], the leading (batch)
// axes broadcast the numpy way; a 1-D A is a row [1, K] and a 1-D B a
// column [K, 1], whose axis is then dropped from Y. Batches whose B is one
// matrix (no batch axes, or all of size 1) and whose A is not broadcast
// run as one product with M rows per batch member stacked. Run must not
// be called concurrently on one MatMul.
type MatMul struct {
	aShape, bShape, out []int
	m, n, k             int
	plan                *gemmPlan
	ap, bp              *matrixPanels // nil: packed at compile time
	aLen, bLen          int
}

// matmulOperands is the geometry of a MatMul: sizes, Y's shape, and per
// product of the broadcast batch, the index of its A and B matrices.
type matmulOperands struct {
	m, k, n        int
	out            []int
	aIndex, bIndex []int
	aMats, bMats   int // matrices in A and B
}

func matmulGeometry(aShape, bShape []int) (matmulOperands, error) {
	var g matmulOperands
	if len(aShape) == 0 || len(bShape) == 0 {
		return g, fmt.Errorf("matmul %v x %v: operands must have rank 1 or more", aShape, bShape)
	}
	if slices.ContainsFunc(aShape, func(d int) bool { return d < 0 }) || slices.ContainsFunc(bShape, func(d int) bool { return d < 0 }) {
		return g, fmt.Errorf("matmul %v x %v: negative dimension", aShape, bShape)
	}
	a, b := aShape, bShape
	if len(a) == 1 {
		a = []int{1, a[0]}
	}
	if len(b) == 1 {
		b = []int{b[0], 1}
	}
	g.m, g.k = a[len(a)-2], a[len(a)-1]
	k2, n := b[len(b)-2], b[len(b)-1]
	g.n = n
	if g.k != k2 {
		return g, fmt.Errorf("matmul %v x %v: inner dimensions %d and %d differ", aShape, bShape, g.k, k2)
	}
	aBatch, bBatch := a[:len(a)-2], b[:len(b)-2]
	rank := max(len(aBatch), len(bBatch))
	batch := make([]int, rank)
	dim := func(s []int, i int) int { // axis i of the right-aligned batch
		if j := i - (rank - len(s)); j >= 0 {
			return s[j]
		}
		return 1
	}
	for i := range batch {
		da, db := dim(aBatch, i), dim(bBatch, i)
		switch {
		case da == db || db == 1:
			batch[i] = da
		case da == 1:
			batch[i] = db
		default:
			return g, fmt.Errorf("matmul %v x %v: batch axes %v and %v do not broadcast", aShape, bShape, aBatch, bBatch)
		}
	}
	g.aMats, g.bMats = shapeProduct(aBatch), shapeProduct(bBatch)
	members := shapeProduct(batch)
	g.aIndex, g.bIndex = make([]int, members), make([]int, members)
	idx := make([]int, rank)
	for p := range members {
		ai, bi := 0, 0
		for i := range rank {
			da, db := dim(aBatch, i), dim(bBatch, i)
			ai = ai*da + min(idx[i], da-1) // a size-1 axis reads index 0
			bi = bi*db + min(idx[i], db-1)
		}
		g.aIndex[p], g.bIndex[p] = ai, bi
		for i := rank - 1; i >= 0; i-- { // next batch index, row-major
			if idx[i]++; idx[i] < batch[i] {
				break
			}
			idx[i] = 0
		}
	}
	g.out = batch
	if len(aShape) > 1 {
		g.out = append(g.out, g.m)
	}
	if len(bShape) > 1 {
		g.out = append(g.out, g.n)
	}
	return g, nil
}

func shapeProduct(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// NewMatMul plans Y = A·B for A of shape aShape and B of shape bShape, both
// read at run time. It fails on ranks below 1, inner dimensions that
// differ and batch axes that do not broadcast.
func NewMatMul(aShape, bShape []int) (*MatMul, error) {
	return newMatMul(aShape, bShape, nil, 0)
}

// NewMatMulPackedB plans NewMatMul's product with B a constant (the
// weights) packed at compile time: packedB = PackMatMulB(b, bShape,
// packNR), codegen packing with packNR = PackNR. No run then packs B.
func NewMatMulPackedB(aShape, bShape []int, packedB []float32, packNR int) (*MatMul, error) {
	if packNR <= 0 {
		return nil, fmt.Errorf("matmul %v x %v: panel width %d", aShape, bShape, packNR)
	}
	if want := PackedMatMulBLen(bShape, packNR); len(packedB) != want {
		return nil, fmt.Errorf("matmul %v x %v: packed B has %d values, want %d", aShape, bShape, len(packedB), want)
	}
	return newMatMul(aShape, bShape, packedB, packNR)
}

func newMatMul(aShape, bShape []int, packedB []float32, packNR int) (*MatMul, error) {
	geo, err := matmulGeometry(aShape, bShape)
	if err != nil {
		return nil, err
	}
	mm := &MatMul{aShape: slices.Clone(aShape), bShape: slices.Clone(bShape), out: geo.out,
		m: geo.m, n: geo.n, k: geo.k}
	m, n, k := geo.m, geo.n, geo.k
	mm.aLen, mm.bLen = geo.aMats*m*k, geo.bMats*k*n
	a := &matrixPanels{ld: k, laneMajor: true, scale: 1}
	b := &matrixPanels{ld: n, scale: 1}
	batch := len(geo.aIndex)
	var aOff, bOff, cOff []int
	if geo.bMats == 1 && geo.aMats == batch { // one B: stack the A matrices
		m, batch = m*batch, 1
	} else {
		aOff, bOff, cOff = make([]int, batch), make([]int, batch), make([]int, batch)
		bStride := k * n
		if packedB != nil {
			bStride = PackedGemmBLen(k, n, packNR)
		}
		for p := range batch {
			aOff[p], bOff[p], cOff[p] = geo.aIndex[p]*m*k, geo.bIndex[p]*bStride, p*m*n
		}
	}
	a.off, b.off = aOff, bOff
	kern := GemmKernelForA(PackMR)
	if packedB != nil {
		kern = GemmKernelForB(packNR)
	}
	ao, bo := gemmOperand{pack: a}, gemmOperand{packed: packedB, width: packNR, off: bOff}
	if packedB == nil {
		bo.pack = b
		mm.bp = b
		if n == 1 && m > 1 { // a column per member: computed as a row (see newSgemm)
			m, n = n, m
			ao, bo = bo, ao
		}
	}
	mm.ap = a
	plan := newGemmPlan(m, n, k, batch, kern)
	plan.a, plan.b, plan.cOff = ao, bo, cOff
	plan.bias = ZeroRow(plan.paddedRows())
	plan.prepare()
	mm.plan = plan
	return mm, nil
}

// Shape returns the shape of Y.
func (mm *MatMul) Shape() []int { return slices.Clone(mm.out) }

// Kernel returns the name of the micro-kernel in use.
func (mm *MatMul) Kernel() string { return mm.plan.kern.Name }

func (mm *MatMul) profileName() string {
	return fmt.Sprintf("matmul %v x %v -> %v", mm.aShape, mm.bShape, mm.out)
}

func (mm *MatMul) profileFLOPs() float64 {
	return 2 * float64(shapeProduct(mm.out)) * float64(mm.k)
}

// Run computes y = a·b: a, b and y hold the tensors row-major (b nil when
// packed at compile time); y must not alias a or b. Lengths that do not
// fit the plan are a code-generator bug and panic.
func (mm *MatMul) Run(p *Pool, a, b, y []float32) {
	defer profileDone(mm, profileStart())
	if len(a) != mm.aLen || (mm.bp != nil && len(b) != mm.bLen) || (mm.bp == nil && b != nil) || len(y) != shapeProduct(mm.out) {
		panic(fmt.Sprintf("runtime: matmul %v x %v -> %v of %d x %d floats into %d", mm.aShape, mm.bShape, mm.out, len(a), len(b), len(y)))
	}
	mm.ap.data = a
	if mm.bp != nil {
		mm.bp.data = b
	}
	mm.plan.run(p, y, nil)
}

// PackedMatMulBLen returns the length of PackMatMulB's result, 0 for a
// shape MatMul cannot take.
func PackedMatMulBLen(bShape []int, nr int) int {
	k, n, mats, ok := matmulB(bShape)
	if !ok || nr <= 0 {
		return 0
	}
	return mats * PackedGemmBLen(k, n, nr)
}

// matmulB returns the matrix sizes and count of a MatMul's B.
func matmulB(bShape []int) (k, n, mats int, ok bool) {
	switch r := len(bShape); {
	case r == 0 || slices.ContainsFunc(bShape, func(d int) bool { return d < 0 }):
		return 0, 0, 0, false
	case r == 1:
		return bShape[0], 1, 1, true
	default:
		return bShape[r-2], bShape[r-1], shapeProduct(bShape[:r-2]), true
	}
}

// PackMatMulB packs MatMul's constant B of shape bShape (each of its
// [K, N] matrices, a 1-D B as [K, 1]) with PackGemmB in panels of nr
// columns, the matrices one after the other.
func PackMatMulB(b []float32, bShape []int, nr int) ([]float32, error) {
	k, n, mats, ok := matmulB(bShape)
	if !ok || nr <= 0 || len(b) != mats*k*n {
		return nil, fmt.Errorf("runtime: cannot pack %d values as a MatMul B of shape %v in panels of %d", len(b), bShape, nr)
	}
	out := make([]float32, 0, PackedMatMulBLen(bShape, nr))
	for i := range mats {
		p, err := PackGemmB(b[i*k*n:(i+1)*k*n], k, n, 0, false, nr)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// GemmSpec is the static description of ONNX Gemm, Y = act(Alpha·op(A)·op(B)
// + Beta·C): op(A) is M x K (A stored [M, K], or [K, M] with TransA),
// op(B) K x N (B stored [K, N], or [N, K] with TransB), Y [M, N]. C is the
// shape of the optional input C, nil when there is none; it broadcasts to
// [M, N] one way: [], [1], [N], [1, N], [M, 1] or [M, N] (any of them with
// 1 where M or N is 1). Act is fused into the epilogue (none for plain
// Gemm). Alpha and Beta have no defaults: ONNX's are 1.
type GemmSpec struct {
	M, N, K        int
	TransA, TransB bool
	Alpha, Beta    float32
	C              []int
	Act            Act
}

func (s GemmSpec) String() string {
	return fmt.Sprintf("gemm %dx%d·%dx%d (transA %v, transB %v, alpha %g, beta %g, C %v, act %v)",
		s.M, s.K, s.K, s.N, s.TransA, s.TransB, s.Alpha, s.Beta, s.C, s.Act)
}

// Gemm is ONNX Gemm planned for a fixed GemmSpec. C enters the epilogue:
// a per-row C ([M, 1] or a scalar) as the tile bias, any other as the
// residual (one row for all rows when C has one), scaled by Beta per run
// unless Beta is 1. Run must not be called concurrently on one Gemm.
type Gemm struct {
	s          GemmSpec
	plan       *gemmPlan
	ap, bp     *matrixPanels // nil: packed at compile time
	aLen, bLen int
	// C: cRows x cCols values; asBias: C is the plan's bias, else the
	// residual (scaled into scaled unless Beta is 1)
	cRows, cCols int
	useC, asBias bool
	scaled       []float32
}

// NewGemm plans Gemm with A and B read at run time. It fails on negative
// sizes, a C that does not broadcast to [M, N] and invalid activations.
func NewGemm(s GemmSpec) (*Gemm, error) { return newGemm(s, nil, 0) }

// NewGemmPackedB plans NewGemm's Gemm with B a constant (the weights)
// packed at compile time: packedB = PackGemmB(b, K, N, 0, TransB, packNR),
// codegen packing with packNR = PackNR.
func NewGemmPackedB(s GemmSpec, packedB []float32, packNR int) (*Gemm, error) {
	if packNR <= 0 {
		return nil, fmt.Errorf("%v: panel width %d", s, packNR)
	}
	if want := PackedGemmBLen(s.K, s.N, packNR); len(packedB) != want {
		return nil, fmt.Errorf("%v: packed B has %d values, want %d", s, len(packedB), want)
	}
	return newGemm(s, packedB, packNR)
}

func newGemm(s GemmSpec, packedB []float32, packNR int) (*Gemm, error) {
	sh := SgemmShape{M: s.M, N: s.N, K: s.K, TransA: s.TransA, TransB: s.TransB}
	if err := sh.Validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	if err := s.Act.validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	g := &Gemm{s: s}
	g.s.C = slices.Clone(s.C)
	if s.C != nil {
		if len(s.C) > 2 {
			return nil, fmt.Errorf("%v: C of rank %d does not broadcast to [M, N]", s, len(s.C))
		}
		g.cRows, g.cCols = 1, 1
		if r := len(s.C); r >= 1 {
			g.cCols = s.C[r-1]
			if r == 2 {
				g.cRows = s.C[0]
			}
		}
		if (g.cRows != 1 && g.cRows != s.M) || (g.cCols != 1 && g.cCols != s.N) {
			return nil, fmt.Errorf("%v: C does not broadcast to [%d, %d]", s, s.M, s.N)
		}
		g.useC = s.Beta != 0
	}
	sh = sh.normalized()
	ar, ac := sh.aDims()
	a := &matrixPanels{ld: sh.LDA, laneMajor: !s.TransA, scale: s.Alpha}
	g.ap, g.aLen = a, ar*ac
	kern := GemmKernelForA(PackMR)
	bo := gemmOperand{packed: packedB, width: packNR}
	if packedB != nil {
		kern = GemmKernelForB(packNR)
	} else {
		br, bc := sh.bDims()
		g.bp = &matrixPanels{ld: sh.LDB, laneMajor: s.TransB, scale: 1}
		g.bLen = br * bc
		bo.pack = g.bp
	}
	plan := newGemmPlan(s.M, s.N, s.K, 1, kern)
	plan.a, plan.b = gemmOperand{pack: a}, bo
	plan.lo, plan.hi = s.Act.Bounds()
	plan.tail = s.Act.tail()
	plan.bias = ZeroRow(plan.paddedRows())
	if g.useC {
		// a C of one column is the bias; any other the residual
		g.asBias = g.cCols == 1 && s.N > 1
		switch {
		case g.asBias:
			plan.bias = make([]float32, plan.paddedRows())
		case g.cRows == s.M && s.M > 1:
			plan.ldr = s.N
		}
		if !g.asBias && s.Beta != 1 {
			g.scaled = make([]float32, g.cRows*g.cCols)
		}
	}
	plan.prepare()
	g.plan = plan
	return g, nil
}

// Spec returns the planned description.
func (g *Gemm) Spec() GemmSpec { return g.s }

// Kernel returns the name of the micro-kernel in use.
func (g *Gemm) Kernel() string { return g.plan.kern.Name }

func (g *Gemm) profileName() string   { return g.s.String() }
func (g *Gemm) profileFLOPs() float64 { return 2 * float64(g.s.M) * float64(g.s.N) * float64(g.s.K) }

// Run computes y = act(alpha·op(a)·op(b) + beta·c): a, b and c are the
// stored tensors row-major (b nil when packed at compile time, c nil
// without C), y [M][N] must not alias them. Lengths that do not fit the
// plan are a code-generator bug and panic.
func (g *Gemm) Run(p *Pool, a, b, c, y []float32) {
	defer profileDone(g, profileStart())
	s := g.s
	if len(a) != g.aLen || (g.bp != nil && len(b) != g.bLen) || (g.bp == nil && b != nil) ||
		(s.C == nil) != (c == nil) || (c != nil && len(c) != g.cRows*g.cCols) || len(y) != s.M*s.N {
		panic(fmt.Sprintf("runtime: %v of %d, %d and %d floats into %d", s, len(a), len(b), len(c), len(y)))
	}
	g.ap.data = a
	if g.bp != nil {
		g.bp.data = b
	}
	var res []float32
	if g.useC {
		switch {
		case g.asBias:
			for i := range s.M {
				g.plan.bias[i] = s.Beta * c[min(i, g.cRows-1)]
			}
		case g.scaled != nil:
			for i, v := range c {
				g.scaled[i] = s.Beta * v
			}
			res = g.scaled
		default:
			res = c
		}
	}
	g.plan.run(p, y, res)
}
