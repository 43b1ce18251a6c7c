package runtime

import "fmt"

// Attention is the attention of a non-local block (embedded Gaussian) in
// the channel-major layout the convolutions around it use: for each of
// Batch members, with QT [D][M], K [D][N] and VT [E][N],
//
//	P[i][:] = softmax(Scale · Σ_d QT[d][i]·K[d][:])      (i < M, over N)
//	YT[e][i] = Σ_n VT[e][n]·P[i][n]
//
// It runs a block of query rows at a time, so the M x N attention matrix
// is never whole in memory: a work item computes its rows' scores into
// the worker's scratch (the GEMM driver, K packed once per run), takes
// their softmax there and multiplies them into its columns of YT (VT
// packed once per run). The blocks are fixed at plan time: results are
// the same at every thread count.
type Attention struct {
	batch, d, m, n, e int
	scale             float32
	rows              int // query rows per block
	blocks            int // blocks per member
	// scores[0] plans the full blocks, scores[1] the last one when it is
	// shorter (nil otherwise); a block is a member of these plans.
	scores [2]*gemmPlan
	// mix[0] and mix[1] are the same for the products with VT; each
	// worker runs a copy of them (mixes) whose B operand reads its scratch.
	mix [2]*gemmPlan
	// q, k and v read the operands of each part's plans
	q, k, v [2]*matrixPanels
	mixes   [][2]*gemmPlan
	bufs    [][]float32 // per worker: a block's scores
	// order[item] is the part and the place among its members of the
	// block a work item computes
	order [][2]int
	// qs computes the scores of quantised queries and keys
	// (NewQAttention) instead of the scores plans
	qs *qscores
}

// attentionScratch bounds a block's scores (floats): they stay in L2
// while the softmax and the second product read them.
const attentionScratch = 160 << 10

// NewAttention plans the attention of batch members of d x m queries
// (QT), d x n keys and e x n values (VT), the scores times scale.
func NewAttention(batch, d, m, n, e int, scale float32) (*Attention, error) {
	return newAttention(batch, d, m, n, e, scale, 0)
}

// newAttention plans an attention; qmr is the row panel of the int8
// scores of NewQAttention, whose blocks then take whole panels of it, and
// 0 for float32 scores.
func newAttention(batch, d, m, n, e int, scale float32, qmr int) (*Attention, error) {
	if batch <= 0 || d <= 0 || m <= 0 || n <= 0 || e <= 0 {
		return nil, fmt.Errorf("attention of %d members of %d x %d queries, %d keys, %d values: sizes must be positive", batch, d, m, n, e)
	}
	if !isFinite(scale) {
		return nil, fmt.Errorf("attention scale %g is not finite", scale)
	}
	kern := GemmKernelForA(PackMR)
	a := &Attention{batch: batch, d: d, m: m, n: n, e: e, scale: scale}
	// blocks of whole row panels in the scores and whole column panels
	// in the products with VT
	unit := lcm(kern.MR, kern.NR)
	if qmr > 0 {
		unit = lcm(unit, qmr)
	}
	a.rows = min(max(unit, attentionScratch/n/unit*unit), ceilDiv(m, unit)*unit)
	a.blocks = ceilDiv(m, a.rows)
	// the blocks of each part, member*blocks + block, and the part and
	// place of each work item's block
	var members [2][]int
	for b := range batch {
		for blk := range a.blocks {
			part := 0
			if blk == a.blocks-1 && m%a.rows != 0 {
				part = 1
			}
			a.order = append(a.order, [2]int{part, len(members[part])})
			members[part] = append(members[part], b*a.blocks+blk)
		}
	}
	for part, rows := range a.blockRows() {
		if rows == 0 {
			continue
		}
		ms := members[part]
		qOff, kOff, vOff, yOff := make([]int, len(ms)), make([]int, len(ms)), make([]int, len(ms)), make([]int, len(ms))
		for i, mb := range ms {
			b, blk := mb/a.blocks, mb%a.blocks
			qOff[i], kOff[i], vOff[i], yOff[i] = b*d*m+blk*a.rows, b*d*n, b*e*n, b*e*m+blk*a.rows
		}
		if qmr == 0 {
			// scores [rows x n] = (scale·Q block) [rows x d] · K [d x n]
			a.q[part] = &matrixPanels{ld: m, scale: scale, off: qOff}
			a.k[part] = &matrixPanels{ld: n, scale: 1, off: kOff}
			s := newGemmPlan(rows, n, d, len(ms), kern)
			s.a, s.b = gemmOperand{pack: a.q[part]}, gemmOperand{pack: a.k[part]}
			s.ldc = n
			s.bias = ZeroRow(s.paddedRows())
			s.packWhole(&s.b, n, kern.NR, true)
			if s.b.whole {
				s.widenColumns()
			}
			a.scores[part] = s
		}
		// YT columns [e x rows] = VT [e x n] · P block^T [n x rows]
		a.v[part] = &matrixPanels{ld: n, laneMajor: true, scale: 1, off: vOff}
		x := newGemmPlan(e, rows, n, len(ms), kern)
		x.a, x.b = gemmOperand{pack: a.v[part]}, gemmOperand{pack: &matrixPanels{ld: n, laneMajor: true, scale: 1}}
		x.cOff, x.ldc = yOff, m
		x.bias = ZeroRow(x.paddedRows())
		x.packWhole(&x.a, e, kern.MR, true)
		if x.a.whole {
			// one row block: the block's probabilities are packed once
			x.mc, x.nMB = ceilDiv(e, kern.MR)*kern.MR, 1
		}
		a.mix[part] = x
	}
	return a, nil
}

// blockRows returns the rows of the full blocks and of the last one when
// it is shorter (0 when there is none).
func (a *Attention) blockRows() [2]int {
	if r := a.m % a.rows; r != 0 {
		if a.blocks == 1 {
			return [2]int{0, r}
		}
		return [2]int{a.rows, r}
	}
	return [2]int{a.rows, 0}
}

// Shape returns YT's shape per member, [E, M].
func (a *Attention) Shape() []int { return []int{a.e, a.m} }

func (a *Attention) profileName() string {
	q := ""
	if a.qs != nil {
		q = "q"
	}
	return fmt.Sprintf("%sattention %dx[%d,%d] keys [%d,%d] values [%d,%d]", q, a.batch, a.d, a.m, a.d, a.n, a.e, a.n)
}

func (a *Attention) profileFLOPs() float64 {
	return 2 * float64(a.batch) * float64(a.m) * float64(a.n) * float64(a.d+a.e)
}

// prepare gives each of the pool's workers its scratch and its copies of
// the second products, reading that scratch.
func (a *Attention) prepare(p *Pool) {
	for len(a.bufs) < p.Threads() {
		buf := AlignedFloats(a.rows * a.n)
		probs := &matrixPanels{ld: a.n, laneMajor: true, scale: 1, data: buf}
		var mixes [2]*gemmPlan
		for part, x := range a.mix {
			if x != nil {
				c := *x
				c.b = gemmOperand{pack: probs}
				mixes[part] = &c
			}
		}
		a.bufs, a.mixes = append(a.bufs, buf), append(a.mixes, mixes)
	}
}

// Run computes yt from qt, k and vt, each Batch members in order; yt must
// not alias the others. Lengths that do not fit the plan, or an Attention
// of NewQAttention, are a code-generator bug and panic.
func (a *Attention) Run(p *Pool, qt, k, vt, yt []float32) {
	defer profileDone(a, profileStart())
	if a.qs != nil || len(qt) != a.batch*a.d*a.m || len(k) != a.batch*a.d*a.n || len(vt) != a.batch*a.e*a.n || len(yt) != a.batch*a.e*a.m {
		panic(fmt.Sprintf("runtime: %s of %d, %d, %d floats into %d", a.profileName(), len(qt), len(k), len(vt), len(yt)))
	}
	a.prepare(p)
	for part := range 2 {
		if a.scores[part] == nil {
			continue
		}
		a.q[part].data, a.k[part].data = qt, k
		a.scores[part].packWholeOperands(p)
	}
	a.run(p, vt, yt, func(worker, item int, buf []float32) []float32 {
		part, member := a.order[item][0], a.order[item][1]
		s := a.scores[part]
		per := s.nNB * s.nMB
		for i := range per {
			s.item(p, worker, member*per+i, buf, nil)
		}
		return nil
	})
}

// RunQ is Run for an Attention of NewQAttention, its queries and keys
// uint8.
func (a *Attention) RunQ(p *Pool, qt, k []uint8, vt, yt []float32) {
	defer profileDone(a, profileStart())
	if a.qs == nil || len(qt) != a.batch*a.d*a.m || len(k) != a.batch*a.d*a.n || len(vt) != a.batch*a.e*a.n || len(yt) != a.batch*a.e*a.m {
		panic(fmt.Sprintf("runtime: %s of %d, %d bytes, %d floats into %d", a.profileName(), len(qt), len(k), len(vt), len(yt)))
	}
	a.prepare(p)
	rows := a.blockRows()
	a.qs.prepare(p.Threads(), max(rows[0], rows[1]))
	p.For(a.batch*a.qs.panels, func(worker, item int) {
		a.qs.packKeys(k, item/a.qs.panels, item%a.qs.panels, a.d, a.n, &a.qs.packs[worker], a.qs.rows[worker][:0])
	})
	a.run(p, vt, yt, func(worker, item int, buf []float32) []float32 {
		// work items are the blocks member by member
		b, blk := item/a.blocks, item%a.blocks
		rows := len(buf) / a.n
		maxes := a.qs.scores(worker, qt, b, blk*a.rows, rows, a.d, a.m, a.n, buf)
		if a.scale != 1 {
			for i := range buf {
				buf[i] *= a.scale
			}
			if !(a.scale > 0) {
				return nil
			}
			// a positive scale keeps the maxima (rounding is monotone)
			for i := range maxes {
				maxes[i] *= a.scale
			}
		}
		return maxes
	})
}

// run runs the work items: a block's scores (made by scores into its
// worker's scratch), their softmax, the product with vt into yt.
func (a *Attention) run(p *Pool, vt, yt []float32, scores func(worker, item int, buf []float32) (maxes []float32)) {
	for part := range 2 {
		if a.mix[part] != nil {
			a.v[part].data = vt
			a.mix[part].packWholeOperands(p)
		}
	}
	rows := a.blockRows()
	p.For(len(a.order), func(worker, item int) {
		part, member := a.order[item][0], a.order[item][1]
		x := a.mixes[worker][part]
		buf := a.bufs[worker][:rows[part]*a.n]
		maxes := scores(worker, item, buf)
		softmaxRows(p.state(worker, 0, 0, 0), buf, buf, rows[part], a.n, maxes)
		per := x.nNB * x.nMB
		for i := range per {
			x.item(p, worker, member*per+i, yt, nil)
		}
	})
}

func lcm(a, b int) int { return a / gcd(a, b) * b }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
