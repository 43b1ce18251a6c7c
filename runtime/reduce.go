package runtime

import (
	"fmt"
	"math"
	"slices"
)

// ReduceKind names a reduction.
type ReduceKind uint8

// Reductions (ONNX ReduceSum, ...) over a set of axes. All accumulate in
// float64 and round once; an empty reduction gives the fold's identity
// (Sum 0, Prod 1, Max -Inf, Min +Inf, Mean NaN, LogSum and LogSumExp
// -Inf). LogSumExp subtracts the maximum first, so it does not overflow
// where e^x would.
const (
	ReduceSum       ReduceKind = iota // Σx
	ReduceMean                        // Σx / count
	ReduceMax                         // max x (NaN propagates)
	ReduceMin                         // min x (NaN propagates)
	ReduceProd                        // Πx
	ReduceSumSquare                   // Σx²
	ReduceL1                          // Σ|x|
	ReduceL2                          // √Σx²
	ReduceLogSum                      // ln Σx
	ReduceLogSumExp                   // ln Σe^x
	reduceKinds
)

var reduceNames = [reduceKinds]string{"reducesum", "reducemean", "reducemax", "reducemin", "reduceprod",
	"reducesumsquare", "reducel1", "reducel2", "reducelogsum", "reducelogsumexp"}

func (k ReduceKind) String() string {
	if k < reduceKinds {
		return reduceNames[k]
	}
	return fmt.Sprintf("reduce(%d)", k)
}

// fold is how a reduction combines an element into its accumulator.
type fold uint8

const (
	foldSum      fold = iota // acc + x
	foldSquare               // acc + x²
	foldAbs                  // acc + |x|
	foldProd                 // acc * x
	foldMax                  // max(acc, x)
	foldMin                  // min(acc, x)
	foldExpShift             // acc + e^(x - shift)
)

func (f fold) init() float64 {
	switch f {
	case foldProd:
		return 1
	case foldMax:
		return math.Inf(-1)
	case foldMin:
		return math.Inf(1)
	}
	return 0
}

// foldRun folds the elements of x into acc.
func (f fold) foldRun(acc float64, x []float32, shift float64) float64 {
	switch f {
	case foldSum:
		for _, v := range x {
			acc += float64(v)
		}
	case foldSquare:
		for _, v := range x {
			acc += float64(v) * float64(v)
		}
	case foldAbs:
		for _, v := range x {
			acc += math.Abs(float64(v))
		}
	case foldProd:
		for _, v := range x {
			acc *= float64(v)
		}
	case foldMax:
		for _, v := range x {
			acc = max(acc, float64(v))
		}
	case foldMin:
		for _, v := range x {
			acc = min(acc, float64(v))
		}
	case foldExpShift:
		for _, v := range x {
			acc += math.Exp(float64(v) - shift)
		}
	}
	return acc
}

// foldVec folds x[j] into acc[j] for every j.
func (f fold) foldVec(acc []float64, x []float32, shift []float64) {
	x = x[:len(acc)]
	switch f {
	case foldSum:
		for j, v := range x {
			acc[j] += float64(v)
		}
	case foldSquare:
		for j, v := range x {
			acc[j] += float64(v) * float64(v)
		}
	case foldAbs:
		for j, v := range x {
			acc[j] += math.Abs(float64(v))
		}
	case foldProd:
		for j, v := range x {
			acc[j] *= float64(v)
		}
	case foldMax:
		for j, v := range x {
			acc[j] = max(acc[j], float64(v))
		}
	case foldMin:
		for j, v := range x {
			acc[j] = min(acc[j], float64(v))
		}
	case foldExpShift:
		shift = shift[:len(acc)]
		for j, v := range x {
			acc[j] += math.Exp(float64(v) - shift[j])
		}
	}
}

// reduceBlock is the number of output columns a kept inner axis is
// reduced in at a time, with accumulators on the stack.
const reduceBlock = 256

// Reduce reduces a tensor over a set of axes.
//
//	NewReduce(kind ReduceKind, shape, axes []int) (*Reduce, error)
//	(*Reduce).Run(p *Pool, x, out []float32)
//
// axes may be negative and must not repeat; no axes means no reduction
// (each output is its one element, folded: x, x², |x|, ...; ONNX's "all
// axes" and noop_with_empty_axes are the caller's to resolve). out holds
// the kept axes in order (keepdims is a reshape of it). Adjacent reduced
// axes and adjacent kept axes merge; when the innermost axis is kept,
// outputs are accumulated as vectors along it.
type Reduce struct {
	kind    ReduceKind
	in, out []int
	fold    fold
	count   int   // elements per output
	dims    []int // merged dims
	red     []bool
	strides []int // input strides of dims
	// The loops: with the innermost dim reduced (rows), each output folds
	// runs of run floats at the reduced odometer's offsets (rd, rs); with
	// it kept (columns), blocks of the cols innermost outputs fold
	// vectors. kd and ks are the other kept dims and their input strides.
	columns   bool
	run, cols int
	kd, rd    []int
	ks, rs    [][]int
}

// NewReduce plans a reduction of a tensor of the given shape.
func NewReduce(kind ReduceKind, shape, axes []int) (*Reduce, error) {
	if kind >= reduceKinds {
		return nil, fmt.Errorf("reduce: unknown kind %d", kind)
	}
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("%v: %w", kind, err)
	}
	reduced := make([]bool, len(shape))
	for _, a := range axes {
		na, err := normAxis(a, len(shape))
		if err != nil {
			return nil, fmt.Errorf("%v %v axes %v: %w", kind, shape, axes, err)
		}
		if reduced[na] {
			return nil, fmt.Errorf("%v %v: axis %d repeats in %v", kind, shape, a, axes)
		}
		reduced[na] = true
	}
	r := &Reduce{kind: kind, in: slices.Clone(shape), out: slices.Clone(shape), count: 1}
	r.fold = [reduceKinds]fold{ReduceSum: foldSum, ReduceMean: foldSum, ReduceMax: foldMax, ReduceMin: foldMin,
		ReduceProd: foldProd, ReduceSumSquare: foldSquare, ReduceL1: foldAbs, ReduceL2: foldSquare,
		ReduceLogSum: foldSum, ReduceLogSumExp: foldMax}[kind]
	strides := stridesOf(shape)
	for d, n := range shape {
		if reduced[d] {
			r.out[d] = 1
			r.count *= n
		}
		last := len(r.dims) - 1
		switch {
		case n == 1:
		case last >= 0 && r.red[last] == reduced[d]:
			r.dims[last] *= n
			r.strides[last] = strides[d]
		default:
			r.dims, r.red, r.strides = append(r.dims, n), append(r.red, reduced[d]), append(r.strides, strides[d])
		}
	}
	var ks, rs []int
	for d, n := range r.dims {
		if r.red[d] {
			r.rd, rs = append(r.rd, n), append(rs, r.strides[d])
		} else {
			r.kd, ks = append(r.kd, n), append(ks, r.strides[d])
		}
	}
	r.columns = len(r.dims) > 0 && !r.red[len(r.dims)-1]
	r.run, r.cols = 1, 1
	switch {
	case r.columns:
		r.cols = r.kd[len(r.kd)-1]
		r.kd, ks = r.kd[:len(r.kd)-1], ks[:len(ks)-1]
	case len(r.rd) > 0:
		r.run = r.rd[len(r.rd)-1]
		r.rd, rs = r.rd[:len(r.rd)-1], rs[:len(rs)-1]
	}
	r.ks, r.rs = [][]int{ks}, [][]int{rs}
	return r, nil
}

// Shape returns the output shape with the reduced axes kept as 1.
func (r *Reduce) Shape() []int { return slices.Clone(r.out) }

func (r *Reduce) profileName() string   { return fmt.Sprintf("%v %v -> %v", r.kind, r.in, r.out) }
func (r *Reduce) profileFLOPs() float64 { return float64(product(r.in)) }

// finish turns an accumulator (for LogSumExp: the sum of e^(x-shift))
// into the result.
func (r *Reduce) finish(acc, shift float64) float32 {
	switch r.kind {
	case ReduceMean:
		acc /= float64(r.count)
	case ReduceL2:
		acc = math.Sqrt(acc)
	case ReduceLogSum:
		acc = math.Log(acc)
	case ReduceLogSumExp:
		if math.IsInf(shift, 0) { // all -Inf or nothing (ln 0), or a +Inf
			return float32(shift)
		}
		acc = shift + math.Log(acc)
	}
	return float32(acc)
}

// Run reduces x into out.
func (r *Reduce) Run(p *Pool, x, out []float32) {
	defer profileDone(r, profileStart())
	checkLen(r.kind.String(), "x", len(x), product(r.in))
	n := product(r.out)
	checkLen(r.kind.String(), "out", len(out), n)
	switch {
	case n == 0:
		return
	case r.count == 0:
		for i := range out {
			out[i] = r.finish(r.fold.init(), math.Inf(-1))
		}
		return
	}
	if r.columns {
		r.runColumns(p, x, out)
	} else {
		r.runRows(p, x, out)
	}
}

// runRows reduces one output at a time: the innermost reduced dim is a
// contiguous run, the other reduced dims an odometer.
func (r *Reduce) runRows(p *Pool, x, out []float32) {
	runs := product(r.rd)
	perItem := max(1, ewChunk/r.count)
	p.For(ceilDiv(len(out), perItem), func(_, item int) {
		i0, i1 := item*perItem, min(len(out), (item+1)*perItem)
		var ko, ro odometer
		ko.init(r.kd, r.ks)
		ro.init(r.rd, r.rs)
		ko.seek(i0)
		for i := i0; i < i1; i++ {
			base := ko.off(0)
			ko.next()
			pass := func(f fold, shift float64) float64 {
				acc := f.init()
				ro.seek(0)
				for range runs {
					at := base + ro.off(0)
					acc = f.foldRun(acc, x[at:at+r.run], shift)
					ro.next()
				}
				return acc
			}
			acc := pass(r.fold, 0)
			if r.kind == ReduceLogSumExp {
				m := acc
				out[i] = r.finish(pass(foldExpShift, m), m)
				continue
			}
			out[i] = r.finish(acc, 0)
		}
	})
}

// runColumns reduces reduceBlock outputs along the kept innermost dim at
// a time, folding whole rows of the input into a vector of accumulators.
func (r *Reduce) runColumns(p *Pool, x, out []float32) {
	cols, runs := r.cols, product(r.rd)
	blocks := ceilDiv(cols, reduceBlock)
	pairs := product(r.kd) * blocks // (outer output row, column block)
	perItem := max(1, ewChunk/(r.count*min(cols, reduceBlock)))
	p.For(ceilDiv(pairs, perItem), func(_, item int) {
		var accBuf, shiftBuf [reduceBlock]float64
		q0, q1 := item*perItem, min(pairs, (item+1)*perItem)
		var ko, ro odometer
		ko.init(r.kd, r.ks)
		ro.init(r.rd, r.rs)
		ko.seek(q0 / blocks)
		for q := q0; q < q1; q++ {
			b := q % blocks
			if q > q0 && b == 0 {
				ko.next()
			}
			c0, c1 := b*reduceBlock, min(cols, (b+1)*reduceBlock)
			acc, shift := accBuf[:c1-c0], shiftBuf[:c1-c0]
			base := ko.off(0) + c0
			pass := func(f fold) {
				for j := range acc {
					acc[j] = f.init()
				}
				ro.seek(0)
				for range runs {
					at := base + ro.off(0)
					f.foldVec(acc, x[at:at+len(acc)], shift)
					ro.next()
				}
			}
			pass(r.fold)
			o := out[(q/blocks)*cols+c0 : (q/blocks)*cols+c1]
			if r.kind == ReduceLogSumExp {
				copy(shift, acc)
				pass(foldExpShift)
			}
			for j := range o {
				o[j] = r.finish(acc[j], shift[j])
			}
		}
	})
}

// SoftmaxAxis is Softmax or LogSoftmax along one axis of a tensor viewed
// as [outer][n][inner] (ONNX Softmax and LogSoftmax from opset 13; the
// older ones, which normalise over all axes from axis on, are shape
// [outer][n] with axis 1). The maximum is subtracted first and the sums
// run in float64:
//
//	softmax: e^(x-max) / Σe^(x-max)    log: (x-max) - ln Σe^(x-max)
//
// Softmax keeps each e^(x-max) rounded to float32 between the sum and the
// division (one exponential per element instead of two), so it is within
// an ulp of the interpreter's; LogSoftmax is its formula exactly.
//
//	NewSoftmaxAxis(shape []int, axis int, log bool) (*SoftmaxAxis, error)
//	(*SoftmaxAxis).Run(p *Pool, x, out []float32)
//
// axis may be negative. out may alias x.
type SoftmaxAxis struct {
	shape           []int
	log             bool
	outer, n, inner int
}

// NewSoftmaxAxis plans a softmax (log: log-softmax) of a tensor of the
// given shape along axis.
func NewSoftmaxAxis(shape []int, axis int, log bool) (*SoftmaxAxis, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("softmax %v: %w", shape, err)
	}
	return &SoftmaxAxis{shape: slices.Clone(shape), log: log, outer: product(shape[:a]), n: shape[a], inner: product(shape[a+1:])}, nil
}

func (s *SoftmaxAxis) profileName() string {
	name := "softmax"
	if s.log {
		name = "logsoftmax"
	}
	return fmt.Sprintf("%s [%d][%d][%d]", name, s.outer, s.n, s.inner)
}
func (s *SoftmaxAxis) profileFLOPs() float64 { return 0 }

// Run computes the softmax of x into out.
func (s *SoftmaxAxis) Run(p *Pool, x, out []float32) {
	defer profileDone(s, profileStart())
	total := s.outer * s.n * s.inner
	checkLen("softmax", "x", len(x), total)
	checkLen("softmax", "out", len(out), total)
	if total == 0 {
		return
	}
	// items: runs of (outer index, block of inner columns) pairs
	cols := min(s.inner, reduceBlock)
	blocks := ceilDiv(s.inner, cols)
	pairs := s.outer * blocks
	perItem := max(1, ewChunk/(s.n*cols))
	p.For(ceilDiv(pairs, perItem), func(_, item int) {
		var topBuf, sumBuf [reduceBlock]float64
		for q := item * perItem; q < min(pairs, (item+1)*perItem); q++ {
			o, b := q/blocks, q%blocks
			c0, c1 := b*cols, min(s.inner, (b+1)*cols)
			top, sum := topBuf[:c1-c0], sumBuf[:c1-c0]
			row := func(j int) int { return (o*s.n+j)*s.inner + c0 }
			for c := range top {
				top[c], sum[c] = math.Inf(-1), 0
			}
			for j := range s.n {
				foldMax.foldVec(top, x[row(j):], nil)
			}
			if s.log {
				for j := range s.n {
					foldExpShift.foldVec(sum, x[row(j):], top)
				}
				for c := range sum {
					sum[c] = math.Log(sum[c])
				}
				for j := range s.n {
					xs, os := x[row(j):row(j)+len(top)], out[row(j):row(j)+len(top)]
					for c, v := range xs {
						os[c] = float32(float64(v) - top[c] - sum[c])
					}
				}
				continue
			}
			for j := range s.n { // out holds e^(x-max) until the division
				xs, os := x[row(j):row(j)+len(top)], out[row(j):row(j)+len(top)]
				for c, v := range xs {
					e := math.Exp(float64(v) - top[c])
					sum[c] += e
					os[c] = float32(e)
				}
			}
			for j := range s.n {
				os := out[row(j) : row(j)+len(top)]
				for c, e := range os {
					os[c] = float32(float64(e) / sum[c])
				}
			}
		}
	})
}
