package runtime

import (
	"fmt"
	"math"
)

// The general GEMM: one blocked, parallel driver (gemmPlan) on the GEMM
// micro-kernels, under Sgemm, MatMul, Gemm and ConvNd. The driver owns no
// operand layout: each side is either panels packed at compile time or a
// panelPacker that packs a block into the worker's buffer per run.

// Blocking of gemmPlan besides the Rules' BBudget, MaxNC, MinNCPanels
// and TargetItems (plan.go): aBudget bounds the packed A block (MC x KC),
// which streams from L2 past each B panel; minItemMACs is the least work
// an item is cut down to for more parallel items (about the cost of
// handing an item to another worker, 1-2 µs, ten times over).
const (
	aBudget     = 32 << 10
	maxMC       = 1024
	minItemMACs = 1 << 17
)

// panelPacker packs one operand of a gemmPlan at run time. packPanels,
// run by the worker whose state is w (its argument blocks are free to
// use), writes lanes [l0, l0+nl) at depths [k0, k0+kn) of batch member b
// into dst as panels of width lanes: lane l0+q*width+i at depth k0+d goes
// to dst[(q*kn+d)*width+i]; the lanes of the last panel past nl are not
// written (the driver zeroes them, or keeps them zero). Lanes are the
// rows of op(A) or the columns of op(B), depth is K.
type panelPacker interface {
	packPanels(w *workerState, dst []float32, b, l0, nl, k0, kn, width int)
	// source identifies member b's matrix: members of one source read the
	// same values
	source(b int) int
}

// gemmOperand is the A or the B side of a gemmPlan: panels packed at
// compile time (packed, of width lanes, batch member b's at off[b]), or
// packed per run by pack.
type gemmOperand struct {
	packed []float32
	width  int
	off    []int // nil: every member reads the same panels
	pack   panelPacker
	// whole: pack has all of the operand packed into packed (panels of
	// the kernel's MR or NR, member b's at off[b]) before the items run,
	// one copy per distinct matrix, the one of member reps[i] at i
	whole bool
	reps  []int
}

// panel returns the compile-time panel holding lane l (a multiple of the
// kernel's MR or NR) at depth k0 of member b, for a GEMM of depth k.
func (o *gemmOperand) panel(b, l, k0, k int) []float32 {
	w := o.width
	return o.packed[memberOff(o.off, b)+(l/w*k+k0)*w+l%w:]
}

func memberOff(offs []int, b int) int {
	if offs == nil {
		return 0
	}
	return offs[b]
}

// gemmPlan computes, for each of batch members b,
//
//	C_b[i][j] = tail(clamp(beta·C_b[i][j] + Σ_k op(A_b)[i][k]·op(B_b)[k][j] + bias_b[i] + R_b[i*ldr+j], lo, hi))
//
// for i < m, j < n, with C_b at cOff[b] (row stride ldc), R_b (when a
// residual is given) at the same offset with row stride ldr (0: one row
// for all), bias_b at biasOff[b]. beta 0 means C is not read. Each
// product is a K-ordered chain of float32 multiply-adds per K block; the
// blocks, fixed at plan time, do not depend on the pool, so results are
// the same at every thread count.
type gemmPlan struct {
	m, n, k, batch int
	kern           *GemmKernel
	kc, mc, nc     int // blocks of K, rows (a multiple of MR) and columns (of NR)
	nMB, nNB       int // row and column blocks
	a, b           gemmOperand
	cOff           []int
	ldc, ldr       int
	beta           float32
	bias           []float32 // padded so that every tile reads MR values
	biasOff        []int
	lo, hi         float32
	tail           actTail // the activation's elementwise part, applied to finished tiles
}

// newGemmPlan plans the blocks of a batch of m x n x k products on kern;
// callers set the operands, strides, bias and bounds. Work items are
// (member, column block, row block); blocks start as large as the cache
// budgets allow and shrink, columns first, until there are TargetItems
// items or an item would fall below minItemMACs.
func newGemmPlan(m, n, k, batch int, kern *GemmKernel) *gemmPlan {
	mr, nr := kern.MR, kern.NR
	g := &gemmPlan{m: m, n: n, k: k, batch: batch, kern: kern, ldc: n,
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
	g.kc = max(k, 1)
	if kc := kern.KC; kc > 0 && k > kc {
		g.kc = ceilDiv(k, ceilDiv(k, kc))
	}
	if m == 0 || n == 0 || batch == 0 {
		return g
	}
	nc := min(max(nr, rules.BBudget/g.kc/nr*nr), rules.MaxNC, ceilDiv(n, nr)*nr)
	mc := min(max(mr, aBudget/g.kc/mr*mr), maxMC, ceilDiv(m, mr)*mr)
shrink:
	for batch*ceilDiv(m, mc)*ceilDiv(n, nc) < rules.TargetItems {
		half := func(v, unit int) int { return ceilDiv(ceilDiv(v, 2), unit) * unit }
		switch {
		case nc > rules.MinNCPanels*nr && min(mc, m)*half(nc, nr)*max(k, 1) >= minItemMACs:
			nc = half(nc, nr)
		case mc > 2*mr && half(mc, mr)*min(nc, n)*max(k, 1) >= minItemMACs:
			mc = half(mc, mr)
		default:
			break shrink
		}
	}
	// balance the blocks: equal sizes, in whole panels
	g.nNB = ceilDiv(n, nc)
	g.nc = ceilDiv(ceilDiv(n, g.nNB), nr) * nr
	g.nNB = ceilDiv(n, g.nc)
	g.nMB = ceilDiv(m, mc)
	g.mc = ceilDiv(ceilDiv(m, g.nMB), mr) * mr
	g.nMB = ceilDiv(m, g.mc)
	return g
}

// wholeBudget bounds the floats of an operand packed whole per run (4 MB).
const wholeBudget = 1 << 20

// packWhole makes op, a run-time operand of lanes x k per member, packed
// whole per run into a buffer of the plan when blocks would pack the same
// panels again (reused: several blocks of the other side) or members
// share a matrix, and the distinct matrices fit wholeBudget. The
// buffer's padding lanes stay zero from its allocation.
func (g *gemmPlan) packWhole(op *gemmOperand, lanes, w int, reused bool) {
	if op.packed != nil || g.k == 0 || lanes == 0 {
		return
	}
	size := ceilDiv(lanes, w) * w * g.k
	slot := map[int]int{} // member's source -> its panels in the buffer
	var reps []int        // a member of each distinct source
	off := make([]int, g.batch)
	for b := range g.batch {
		src := op.pack.source(b)
		i, ok := slot[src]
		if !ok {
			i = len(reps)
			slot[src] = i
			reps = append(reps, b)
		}
		off[b] = i * size
	}
	if !reused && len(reps) == g.batch || len(reps)*size > wholeBudget {
		return
	}
	op.whole, op.width, op.off, op.reps = true, w, off, reps
	op.packed = AlignedFloats(len(reps) * size)
}

// prepare sets up the operands for the blocks chosen: call it once, after
// the operands are set.
func (g *gemmPlan) prepare() {
	g.packWhole(&g.b, g.n, g.kern.NR, g.nMB > 1)
	if g.b.packed != nil && g.a.packed == nil {
		g.widenColumns()
	}
	g.packWhole(&g.a, g.m, g.kern.MR, g.nNB > 1)
}

// widenColumns makes column blocks as wide as the items allow when B is
// packed before the items run and A is packed per item: Rules.BBudget bounds a
// B block only where an item packs it, and every column block packs the
// item's A block again.
func (g *gemmPlan) widenColumns() {
	if g.m == 0 || g.n == 0 || g.batch == 0 || g.k == 0 {
		return
	}
	nNB := 1
	for g.batch*g.nMB*nNB < rules.TargetItems && ceilDiv(g.n, nNB*2) >= rules.MinNCPanels*g.kern.NR &&
		min(g.mc, g.m)*ceilDiv(g.n, nNB*2)*g.k >= minItemMACs {
		nNB *= 2
	}
	nNB = min(nNB, g.nNB)
	g.nc = ceilDiv(ceilDiv(g.n, nNB), g.kern.NR) * g.kern.NR
	g.nNB = ceilDiv(g.n, g.nc)
}

// packWholeOperands packs the operands marked whole, each distinct
// matrix in items of about wholeChunk floats.
func (g *gemmPlan) packWholeOperands(p *Pool) {
	const wholeChunk = 32 << 10
	type part struct {
		op         *gemmOperand
		lanes, per int // per: panels per item
		items      int // per matrix
	}
	var parts []part
	total := 0
	for _, side := range []struct {
		op    *gemmOperand
		lanes int
	}{{&g.a, g.m}, {&g.b, g.n}} {
		if !side.op.whole {
			continue
		}
		per := max(1, wholeChunk/(side.op.width*g.k))
		pt := part{side.op, side.lanes, per, ceilDiv(ceilDiv(side.lanes, side.op.width), per)}
		parts = append(parts, pt)
		total += pt.items * len(pt.op.reps)
	}
	if total == 0 {
		return
	}
	p.For(total, func(worker, item int) {
		for _, pt := range parts {
			if n := pt.items * len(pt.op.reps); item >= n {
				item -= n
				continue
			}
			w, b := pt.op.width, pt.op.reps[item/pt.items]
			l0 := item % pt.items * pt.per * w
			nl := min(pt.per*w, pt.lanes-l0)
			dst := pt.op.packed[pt.op.off[b]+l0*g.k:][:ceilDiv(nl, w)*w*g.k]
			pt.op.pack.packPanels(p.state(worker, 0, 0, 0), dst, b, l0, nl, 0, g.k, w)
			return
		}
	})
}

// paddedRows returns the bias length a member needs: every row tile reads
// MR values.
func (g *gemmPlan) paddedRows() int { return ceilDiv(g.m, g.kern.MR) * g.kern.MR }

// run computes every member into c, with the residual res (nil for none).
func (g *gemmPlan) run(p *Pool, c, res []float32) {
	if g.m == 0 || g.n == 0 || g.batch == 0 {
		return
	}
	if g.k == 0 {
		g.epilogueOnly(c, res)
		return
	}
	g.packWholeOperands(p)
	p.For(g.batch*g.nNB*g.nMB, func(worker, item int) { g.item(p, worker, item, c, res) })
}

// epilogueOnly is run for K = 0: the product is zero.
func (g *gemmPlan) epilogueOnly(c, res []float32) {
	for b := range g.batch {
		cb, bias := c[memberOff(g.cOff, b):], g.bias[memberOff(g.biasOff, b):]
		for i := range g.m {
			row := cb[i*g.ldc:][:g.n]
			for j := range row {
				var v float32
				if g.beta != 0 {
					v = g.beta * row[j]
				}
				v += bias[i]
				if res != nil {
					v += res[memberOff(g.cOff, b)+i*g.ldr+j]
				}
				row[j] = clamp(v, g.lo, g.hi)
			}
			if g.tail.kern != nil {
				g.tail.kern(&ActRows{X: row, Rows: 1, Cols: len(row), Alpha: g.tail.alpha, Beta: g.tail.beta})
			}
		}
	}
}

func (g *gemmPlan) item(p *Pool, worker, item int, c, res []float32) {
	kern := g.kern
	mr, nr := kern.MR, kern.NR
	per := g.nNB * g.nMB
	b, r := item/per, item%per
	jb, ib := r/g.nMB, r%g.nMB
	i0, j0 := ib*g.mc, jb*g.nc
	mi, nj := min(g.mc, g.m-i0), min(g.nc, g.n-j0)
	mPan, nPan := ceilDiv(mi, mr), ceilDiv(nj, nr)
	aLen, bLen := 0, 0
	if g.a.packed == nil {
		aLen = mPan * mr * g.kc
	}
	if g.b.packed == nil {
		bLen = nPan * nr * g.kc
	}
	w := p.state(worker, aLen+bLen, mr, nr)
	w.packed = packKey{} // the buffer no longer holds a Conv's B block
	bufA, bufB := w.buf[:aLen], w.buf[aLen:aLen+bLen]
	cOff := memberOff(g.cOff, b)
	cb := c[cOff:]
	var rb []float32
	if res != nil {
		rb = res[cOff:]
	}
	if g.beta != 0 && g.beta != 1 {
		for i := i0; i < i0+mi; i++ {
			row := cb[i*g.ldc+j0:][:nj]
			for j := range row {
				row[j] *= g.beta
			}
		}
	}
	bias := g.bias[memberOff(g.biasOff, b):]
	t := &w.tile
	t.Lo, t.Hi = g.lo, g.hi
	for k0 := 0; k0 < g.k; k0 += g.kc {
		kn := min(g.kc, g.k-k0)
		if g.b.packed == nil {
			g.b.pack.packPanels(w, bufB[:nPan*nr*kn], b, j0, nj, k0, kn, nr)
			zeroPanelTail(bufB[:nPan*nr*kn], nj, kn, nr)
		}
		if g.a.packed == nil {
			g.a.pack.packPanels(w, bufA[:mPan*mr*kn], b, i0, mi, k0, kn, mr)
			zeroPanelTail(bufA[:mPan*mr*kn], mi, kn, mr)
		}
		flags := kBlockFlags(k0, kn, g.k)
		if g.beta != 0 {
			flags |= TileAccumulate
		}
		t.K = kn
		// each B panel stays in L1 while the A panels stream past it
		for jp := range nPan {
			j := j0 + jp*nr
			if g.b.packed != nil {
				t.B, t.LDB = g.b.panel(b, j, k0, g.k), g.b.width
			} else {
				t.B, t.LDB = bufB[jp*kn*nr:], nr
			}
			segs := [1]colSeg{{n: min(nr, g.n-j), c: j, r: j}}
			for ip := range mPan {
				i := i0 + ip*mr
				if g.a.packed != nil {
					t.A, t.LDA = g.a.panel(b, i, k0, g.k), g.a.width
				} else {
					t.A, t.LDA = bufA[ip*kn*mr:], mr
				}
				t.Bias = bias[i:]
				w.runTile(kern, min(mr, g.m-i), segs[:], cb, i*g.ldc, g.ldc, rb, i*g.ldr, g.ldr, flags)
				if flags&TileEpilogue != 0 {
					g.tail.applySegs(w, cb, i*g.ldc, g.ldc, min(mr, g.m-i), segs[:])
				}
			}
		}
	}
}

// matrixPanels packs a row-major matrix operand at run time: lane l at
// depth k of member b is scale·data[off[b] + l*ld + k] (laneMajor) or
// scale·data[off[b] + k*ld + l].
type matrixPanels struct {
	data      []float32 // set before each run
	ld        int
	laneMajor bool
	scale     float32
	off       []int
}

func (mp *matrixPanels) source(b int) int { return memberOff(mp.off, b) }

func (mp *matrixPanels) packPanels(_ *workerState, dst []float32, b, l0, nl, k0, kn, w int) {
	base := memberOff(mp.off, b)
	if mp.laneMajor {
		packLaneMajor(dst, mp.data[base+l0*mp.ld+k0:], mp.ld, nl, kn, w, mp.scale)
	} else {
		packDepthMajor(dst, mp.data[base+k0*mp.ld+l0:], mp.ld, nl, kn, w, mp.scale)
	}
}

// transposeBlocks is the float32 block transpose of the selected level
// (transposeSide x transposeSide blocks: for blocks b,
// dst[b*side*ldd + c*ldd + r] = src[r*ld + b*side + c]), or nil.
var (
	transposeBlocks func(dst, src *float32, ld, ldd, blocks int)
	transposeSide   int
)

// packLaneMajor packs nl lanes whose kn values are contiguous (lane i at
// src[i*ld:][:kn]), times scale, into panels of w lanes: lane i at depth
// d goes to dst[(i/w*kn+d)*w + i%w]. Lanes past nl are not written. With
// a scale of 1 and panels of whole blocks, the level's transpose packs
// the blocks of the lanes and depths that fill them and Go the rest.
func packLaneMajor(dst, src []float32, ld, nl, kn, w int, scale float32) {
	side := transposeSide
	if transposeBlocks == nil || scale != 1 || w%side != 0 || nl < side || kn < side {
		packLaneMajorGo(dst, src, ld, nl, kn, w, scale)
		return
	}
	nb, kb := nl/side*side, kn/side*side
	for d0 := 0; d0 < kb; d0 += packChunk {
		dn := min(packChunk, kb-d0)
		for i0 := 0; i0 < nb; i0 += side {
			// the blocks' last rows lie inside the slices
			s := src[i0*ld+d0 : (i0+side-1)*ld+d0+dn]
			o := dst[(i0/w*kn+d0)*w+i0%w : (i0/w*kn+d0+dn-1)*w+i0%w+side]
			transposeBlocks(&o[0], &s[0], ld, w, dn/side)
		}
	}
	// the lanes past the blocks, then the depths past them
	for i := nb; i < nl; i++ {
		r := src[i*ld:][:kn]
		for d, v := range r {
			dst[(i/w*kn+d)*w+i%w] = v * scale
		}
	}
	for i := range nb {
		r := src[i*ld:][:kn]
		for d := kb; d < kn; d++ {
			dst[(i/w*kn+d)*w+i%w] = r[d] * scale
		}
	}
}

// packLaneMajorGo is packLaneMajor in Go. The depths go in chunks of
// packChunk, so that the panel rows a chunk writes stay in L1 while
// every lane fills its column of them.
func packLaneMajorGo(dst, src []float32, ld, nl, kn, w int, scale float32) {
	for d0 := 0; d0 < kn; d0 += packChunk {
		dn := min(packChunk, kn-d0)
		for q := 0; q*w < nl; q++ {
			n := min(w, nl-q*w)
			panel := dst[(q*kn+d0)*w:]
			i := 0
			for ; i+4 <= n; i += 4 {
				l := (q*w + i) * ld
				r0, r1 := src[l+d0:][:dn], src[l+ld+d0:][:dn]
				r2, r3 := src[l+2*ld+d0:][:dn], src[l+3*ld+d0:][:dn]
				for d := range dn {
					o := panel[d*w+i:][:4]
					o[0], o[1], o[2], o[3] = r0[d]*scale, r1[d]*scale, r2[d]*scale, r3[d]*scale
				}
			}
			for ; i < n; i++ {
				r := src[(q*w+i)*ld+d0:][:dn]
				for d, v := range r {
					panel[d*w+i] = v * scale
				}
			}
		}
	}
}

// packChunk is the depth chunk of packLaneMajor: 64 panel rows of up to
// 32 lanes, 8 KB.
const packChunk = 64

// packDepthMajor packs nl lanes stored depth by depth (depth d's lanes at
// src[d*ld:][:nl]), times scale, into panels of w lanes like
// packLaneMajor.
func packDepthMajor(dst, src []float32, ld, nl, kn, w int, scale float32) {
	for q := 0; q*w < nl; q++ {
		n := min(w, nl-q*w)
		panel := dst[q*kn*w:]
		for d := range kn {
			in, out := src[d*ld+q*w:][:n], panel[d*w:][:n]
			if scale == 1 {
				copyFloats(out, in)
				continue
			}
			for i, v := range in {
				out[i] = v * scale
			}
		}
	}
}

// zeroPanelTail zeroes the lanes past nl of the last of the panels of w
// lanes and depth kn in dst.
func zeroPanelTail(dst []float32, nl, kn, w int) {
	r := nl % w
	if r == 0 {
		return
	}
	last := dst[nl/w*kn*w:]
	for d := range kn {
		clear(last[d*w+r : (d+1)*w])
	}
}

// SgemmShape is the static shape of C = alpha·op(A)·op(B) + beta·C, where
// op(A) is M x K and op(B) is K x N: op(A) = A, stored M x K with row
// stride LDA, or Aᵀ with TransA, A stored K x M; op(B) = B (K x N, row
// stride LDB) or Bᵀ (B stored N x K). C is M x N with row stride LDC. A
// zero leading dimension means the stored row length (K or M for A, N or
// K for B, N for C). M, N and K may be 0.
type SgemmShape struct {
	M, N, K        int
	TransA, TransB bool
	LDA, LDB, LDC  int
}

func (s SgemmShape) aDims() (rows, cols int) {
	if s.TransA {
		return s.K, s.M
	}
	return s.M, s.K
}

func (s SgemmShape) bDims() (rows, cols int) {
	if s.TransB {
		return s.N, s.K
	}
	return s.K, s.N
}

func (s SgemmShape) normalized() SgemmShape {
	if s.LDA == 0 {
		_, s.LDA = s.aDims()
	}
	if s.LDB == 0 {
		_, s.LDB = s.bDims()
	}
	if s.LDC == 0 {
		s.LDC = s.N
	}
	return s
}

func (s SgemmShape) String() string {
	t := func(b bool) string {
		if b {
			return "ᵀ"
		}
		return ""
	}
	return fmt.Sprintf("sgemm %dx%d·%dx%d (A%s lda %d, B%s ldb %d, ldc %d)", s.M, s.K, s.K, s.N, t(s.TransA), s.LDA, t(s.TransB), s.LDB, s.LDC)
}

// Validate reports shapes no Sgemm can run: negative sizes, or a leading
// dimension shorter than its stored rows.
func (s SgemmShape) Validate() error {
	n := s.normalized()
	_, ac := n.aDims()
	_, bc := n.bDims()
	switch {
	case n.M < 0 || n.N < 0 || n.K < 0:
		return fmt.Errorf("%v: negative size", s)
	case n.LDA < ac || n.LDB < bc || n.LDC < n.N:
		return fmt.Errorf("%v: a leading dimension is shorter than its rows (A %d, B %d, C %d)", s, ac, bc, n.N)
	}
	return nil
}

// matrixLen is the fewest floats a rows x cols matrix of row stride ld
// spans.
func matrixLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// Sgemm is a general matrix product planned for a fixed shape:
// C = alpha·op(A)·op(B) + beta·C (SgemmShape). Operands are packed into
// the workers' buffers block by block, or one of them was packed at
// compile time (NewSgemmPackedA, NewSgemmPackedB). Run must not be called
// concurrently on one Sgemm.
type Sgemm struct {
	s          SgemmShape
	plan       *gemmPlan
	ap, bp     *matrixPanels // run-time packers of A and B (nil: packed at compile time)
	aLen, bLen int
	cLen       int
}

// NewSgemm plans C = alpha·op(A)·op(B) + beta·C with both operands packed
// at run time. beta 0 means C is only written (it may hold anything,
// NaN included); otherwise it is read. It fails on shapes Validate
// rejects.
func NewSgemm(s SgemmShape, alpha, beta float32) (*Sgemm, error) {
	return newSgemm(s, alpha, beta, nil, 0, nil, 0)
}

// NewSgemmPackedA plans the product of NewSgemm with A a constant packed
// at compile time: packedA = PackGemmA(a, M, K, lda, transA, packMR)
// (codegen packs with packMR = PackMR). s.TransA and s.LDA are ignored.
func NewSgemmPackedA(s SgemmShape, alpha, beta float32, packedA []float32, packMR int) (*Sgemm, error) {
	if packMR <= 0 {
		return nil, fmt.Errorf("%v: panel height %d", s, packMR)
	}
	s.TransA, s.LDA = false, 0
	if want := PackedGemmALen(s.M, s.K, packMR); len(packedA) != want {
		return nil, fmt.Errorf("%v: packed A has %d values, want %d", s, len(packedA), want)
	}
	return newSgemm(s, alpha, beta, packedA, packMR, nil, 0)
}

// NewSgemmPackedB plans the product of NewSgemm with B a constant packed
// at compile time: packedB = PackGemmB(b, K, N, ldb, transB, packNR)
// (codegen packs with packNR = PackNR). s.TransB and s.LDB are ignored.
func NewSgemmPackedB(s SgemmShape, alpha, beta float32, packedB []float32, packNR int) (*Sgemm, error) {
	if packNR <= 0 {
		return nil, fmt.Errorf("%v: panel width %d", s, packNR)
	}
	s.TransB, s.LDB = false, 0
	if want := PackedGemmBLen(s.K, s.N, packNR); len(packedB) != want {
		return nil, fmt.Errorf("%v: packed B has %d values, want %d", s, len(packedB), want)
	}
	return newSgemm(s, alpha, beta, nil, 0, packedB, packNR)
}

func newSgemm(s SgemmShape, alpha, beta float32, packedA []float32, packMR int, packedB []float32, packNR int) (*Sgemm, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	g := &Sgemm{s: s, cLen: matrixLen(s.M, s.N, s.LDC)}
	ar, ac := s.aDims()
	br, bc := s.bDims()
	// A is lane-major unless transposed; B the other way round
	a := &matrixPanels{ld: s.LDA, laneMajor: !s.TransA, scale: 1}
	b := &matrixPanels{ld: s.LDB, laneMajor: s.TransB, scale: 1}
	var kern *GemmKernel
	switch {
	case packedA != nil:
		kern = GemmKernelForA(packMR)
		b.scale = alpha
		g.bp, g.bLen = b, matrixLen(br, bc, s.LDB)
	case packedB != nil:
		kern = GemmKernelForB(packNR)
		a.scale = alpha
		g.ap, g.aLen = a, matrixLen(ar, ac, s.LDA)
	default:
		kern = GemmKernelForA(PackMR)
		a.scale = alpha
		g.ap, g.bp = a, b
		g.aLen, g.bLen = matrixLen(ar, ac, s.LDA), matrixLen(br, bc, s.LDB)
	}
	m, n := s.M, s.N
	// A single column of contiguous C is computed as a row, Cᵀ =
	// op(B)ᵀ·op(A)ᵀ, so that it fills the kernel's wide side: the lanes of
	// op(B) (its columns) become the rows of the first operand, and those
	// of op(A) the columns of the second, read as before.
	if packedA == nil && packedB == nil && n == 1 && m > 1 && s.LDC == 1 {
		m, n = n, m
		a, b = b, a
	}
	plan := newGemmPlan(m, n, s.K, 1, kern)
	plan.ldc = s.LDC
	plan.beta = beta
	plan.bias = ZeroRow(plan.paddedRows())
	plan.a = gemmOperand{packed: packedA, width: packMR}
	plan.b = gemmOperand{packed: packedB, width: packNR}
	if packedA == nil {
		plan.a.pack = a
	}
	if packedB == nil {
		plan.b.pack = b
	}
	plan.prepare()
	g.plan = plan
	return g, nil
}

// Shape returns the planned shape (leading dimensions filled in).
func (g *Sgemm) Shape() SgemmShape { return g.s }

// Kernel returns the name of the micro-kernel in use.
func (g *Sgemm) Kernel() string { return g.plan.kern.Name }

func (g *Sgemm) profileName() string   { return g.s.String() }
func (g *Sgemm) profileFLOPs() float64 { return 2 * float64(g.s.M) * float64(g.s.N) * float64(g.s.K) }

// Run computes c = alpha·op(a)·op(b) + beta·c. a and b are the stored
// matrices (at least (rows-1)·ld + cols floats); the operand packed at
// compile time is passed as nil. c must not alias a or b. Lengths that do
// not fit the plan are a code-generator bug and panic.
func (g *Sgemm) Run(p *Pool, a, b, c []float32) {
	defer profileDone(g, profileStart())
	check := func(what string, x []float32, packed bool, n int) {
		if packed && x != nil {
			panic(fmt.Sprintf("runtime: %v: %s was packed at compile time, got %d floats", g.s, what, len(x)))
		}
		if len(x) < n {
			panic(fmt.Sprintf("runtime: %v: %s has %d floats, want at least %d", g.s, what, len(x), n))
		}
	}
	check("A", a, g.ap == nil, g.aLen)
	check("B", b, g.bp == nil, g.bLen)
	check("C", c, false, g.cLen)
	if g.ap != nil {
		g.ap.data = a
	}
	if g.bp != nil {
		g.bp.data = b
	}
	g.plan.run(p, c, nil)
}

// PackedGemmALen returns the length of PackGemmA's result.
func PackedGemmALen(m, k, mr int) int {
	if m <= 0 || k <= 0 {
		return 0
	}
	return PackedConvWeightsLen(m, k, 1, 1, 1, mr)
}

// PackGemmA packs the constant op(A), M x K (A stored M x K with row stride
// lda, or K x M with transA; lda 0 means the stored row length), into the
// A panels of the GEMM kernels: the layout of PackConvWeights, panels of
// mr rows, for each k the mr values contiguous, the last panel zero-padded.
func PackGemmA(a []float32, m, k, lda int, transA bool, mr int) ([]float32, error) {
	s := SgemmShape{M: m, K: k, TransA: transA, LDA: lda}
	if err := s.Validate(); err != nil || mr <= 0 {
		return nil, fmt.Errorf("runtime: cannot pack A of %dx%d (lda %d) in panels of %d", m, k, lda, mr)
	}
	s = s.normalized()
	rows, cols := s.aDims()
	if len(a) < matrixLen(rows, cols, s.LDA) {
		return nil, fmt.Errorf("runtime: A of %dx%d (lda %d) has %d values", rows, cols, s.LDA, len(a))
	}
	if m == 0 || k == 0 {
		return []float32{}, nil
	}
	dense := make([]float32, m*k) // op(A), row-major
	for i := range m {
		for kk := range k {
			if transA {
				dense[i*k+kk] = a[kk*s.LDA+i]
			} else {
				dense[i*k+kk] = a[i*s.LDA+kk]
			}
		}
	}
	return PackConvWeights(dense, m, k, 1, 1, 1, mr)
}

// PackedGemmBLen returns the length of PackGemmB's result.
func PackedGemmBLen(k, n, nr int) int {
	if k <= 0 || n <= 0 {
		return 0
	}
	return PackedDenseWeightsLen(n, k, nr)
}

// PackGemmB packs the constant op(B), K x N (B stored K x N with row stride
// ldb, or N x K with transB; ldb 0 means the stored row length), into the
// B panels of the GEMM kernels: the layout of PackDenseWeights, panels of
// nr columns, for each k the nr values contiguous, the last panel
// zero-padded.
func PackGemmB(b []float32, k, n, ldb int, transB bool, nr int) ([]float32, error) {
	s := SgemmShape{K: k, N: n, TransB: transB, LDB: ldb}
	if err := s.Validate(); err != nil || nr <= 0 {
		return nil, fmt.Errorf("runtime: cannot pack B of %dx%d (ldb %d) in panels of %d", k, n, ldb, nr)
	}
	s = s.normalized()
	rows, cols := s.bDims()
	if len(b) < matrixLen(rows, cols, s.LDB) {
		return nil, fmt.Errorf("runtime: B of %dx%d (ldb %d) has %d values", rows, cols, s.LDB, len(b))
	}
	if k == 0 || n == 0 {
		return []float32{}, nil
	}
	dense := make([]float32, n*k) // op(B)ᵀ, row-major: the dense layer's [out][in]
	for j := range n {
		for kk := range k {
			if transB {
				dense[j*k+kk] = b[j*s.LDB+kk]
			} else {
				dense[j*k+kk] = b[kk*s.LDB+j]
			}
		}
	}
	return PackDenseWeights(dense, n, k, nr)
}
