package runtime

import (
	"fmt"
	"math/bits"
	"slices"
)

// Shape arithmetic shared by the generic N-d kernels (layout, elementwise,
// reductions). Their constructors take shapes as []int, row-major, rank 0
// being a scalar; size-0 dimensions are allowed and give empty tensors.

// maxElements bounds the elements of any tensor a plan accepts: 2^40, or
// 2^28 where int has 32 bits (so that their bytes still count in an int).
const maxElements = 1 << (28 + 12*(bits.UintSize/64))

// shapeSize returns the number of elements of shape, or an error for a
// negative dimension or a product above maxElements.
func shapeSize(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return n, nil
}

// product multiplies dims (already validated).
func product(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// stridesOf returns the row-major strides of shape.
func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// normAxis maps axis in [-rank, rank) to [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// broadcastShape returns the numpy broadcast of shapes.
func broadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		if _, err := shapeSize(s); err != nil {
			return nil, err
		}
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		lead := rank - len(s)
		for i, d := range s {
			switch o := out[lead+i]; {
			case d == o || d == 1:
			case o == 1:
				out[lead+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast together (axis %d: %d against %d)", shapes, lead+i, o, d)
			}
		}
	}
	if _, err := shapeSize(out); err != nil {
		return nil, err
	}
	return out, nil
}

// broadcastStrides returns the strides that read a row-major tensor of
// shape in as the broadcast shape out: 0 along broadcast axes.
func broadcastStrides(in, out []int) []int {
	s := make([]int, len(out))
	inStrides := stridesOf(in)
	lead := len(out) - len(in)
	for i, d := range in {
		if d != 1 {
			s[lead+i] = inStrides[i]
		}
	}
	return s
}

// mergeDims simplifies a loop nest over dims in which operand k reads at
// Σ idx[d]*strides[k][d]: it drops dims of size 1 and merges each dim
// into the next where every operand steps through both as through one
// (strides[k][d] == strides[k][d+1]*dims[d+1]). The result has rank >= 1
// (a lone dim of size 1 with stride 0 when nothing is left). A dense
// output is one more operand with the row-major strides of dims.
func mergeDims(dims []int, strides ...[]int) ([]int, [][]int) {
	md := []int{}
	ms := make([][]int, len(strides))
	for k := range ms {
		ms[k] = []int{}
	}
	for d, n := range dims {
		if n == 1 {
			continue
		}
		last := len(md) - 1
		merge := last >= 0
		for k := range strides {
			merge = merge && ms[k][last] == strides[k][d]*n
		}
		if merge {
			md[last] *= n
			for k := range strides {
				ms[k][last] = strides[k][d]
			}
			continue
		}
		md = append(md, n)
		for k := range strides {
			ms[k] = append(ms[k], strides[k][d])
		}
	}
	if len(md) == 0 {
		md = append(md, 1)
		for k := range ms {
			ms[k] = append(ms[k], 0)
		}
	}
	return md, ms
}

// odometerInline is the most dims plus operands an odometer holds
// without allocating.
const odometerInline = 16

// odometer walks the index space of dims in row-major order and keeps
// one offset per operand, Σ idx[d]*strides[k][d]. It is a value that
// lives on its loop's stack (declare it, then init it).
type odometer struct {
	dims    []int
	strides [][]int
	inline  [odometerInline]int // the indices, then the offsets
	heap    []int               // instead of inline when they do not fit
}

func (o *odometer) init(dims []int, strides [][]int) {
	o.dims, o.strides, o.heap = dims, strides, nil
	if len(dims)+len(strides) > odometerInline {
		o.heap = make([]int, len(dims)+len(strides))
	}
}

// buf returns the indices followed by the offsets.
func (o *odometer) buf() []int {
	if o.heap != nil {
		return o.heap
	}
	return o.inline[:len(o.dims)+len(o.strides)]
}

// off returns operand k's offset.
func (o *odometer) off(k int) int { return o.buf()[len(o.dims)+k] }

// idx returns the index along dim d.
func (o *odometer) idx(d int) int { return o.buf()[d] }

// seek moves to the i-th index of the walk.
func (o *odometer) seek(i int) {
	b := o.buf()
	idx, off := b[:len(o.dims)], b[len(o.dims):]
	clear(off)
	for d := len(o.dims) - 1; d >= 0; d-- {
		idx[d] = i % o.dims[d]
		i /= o.dims[d]
		for k, s := range o.strides {
			off[k] += idx[d] * s[d]
		}
	}
}

// next moves to the following index (after the last: back to the first).
func (o *odometer) next() {
	b := o.buf()
	idx, off := b[:len(o.dims)], b[len(o.dims):]
	for d := len(o.dims) - 1; d >= 0; d-- {
		idx[d]++
		for k, s := range o.strides {
			off[k] += s[d]
		}
		if idx[d] < o.dims[d] {
			return
		}
		idx[d] = 0
		for k, s := range o.strides {
			off[k] -= s[d] * o.dims[d]
		}
	}
}

// advance moves n >= 1 steps on; the first n-1 must not leave the
// innermost dim's current run.
func (o *odometer) advance(n int) {
	if d := len(o.dims) - 1; d >= 0 && n > 1 {
		b := o.buf()
		b[d] += n - 1
		for k, s := range o.strides {
			b[len(o.dims)+k] += (n - 1) * s[d]
		}
	}
	o.next()
}

// view is a copy into a dense row-major output from a strided view of the
// input: out[i] = in[base + Σ idx[d]*strides[d]] for i the row-major
// index of idx in dims. Transpose, Slice, Expand and Tile are views. When
// the output's last dim steps through the input by more than one float
// and another dim steps by exactly one (a transpose), the copy runs in
// square blocks so that both sides use whole cache lines.
type view struct {
	n       int   // output elements
	base    int   // input offset of the first element
	dims    []int // merged
	strides []int // input strides along dims
	outer   [][]int
	// a blocked copy: t is the dim of input stride 1 (-1: not blocked);
	// the other dims but the last, and their output and input strides
	t           int
	bDims       []int
	bStrides    [][]int
	tStride     int // output stride of dim t
	tBlocks     int
	pairs       int // (other index, block of t) pairs
	pairsInItem int
}

// transposeBlock is the side of the square blocks of a blocked copy: 16
// floats, one 64-byte cache line.
const transposeBlock = 16

func newView(dims, strides []int, base int) *view {
	md, ms := mergeDims(dims, strides, stridesOf(dims))
	last := len(md) - 1
	v := &view{n: product(dims), base: base, dims: md, strides: ms[0], outer: [][]int{ms[0][:last]}, t: -1}
	if s := v.strides[last]; s != 0 && s != 1 && md[last] > 1 {
		v.t = slices.Index(v.strides[:last], 1)
	}
	if v.t < 0 {
		return v
	}
	outStrides := stridesOf(md)
	var os, ins []int
	for d := range last {
		if d != v.t {
			v.bDims = append(v.bDims, md[d])
			os = append(os, outStrides[d])
			ins = append(ins, v.strides[d])
		}
	}
	v.bStrides = [][]int{os, ins}
	v.tStride = outStrides[v.t]
	v.tBlocks = ceilDiv(md[v.t], transposeBlock)
	v.pairs = product(v.bDims) * v.tBlocks
	v.pairsInItem = max(1, ewChunk/(transposeBlock*md[last]))
	return v
}

// viewRun copies the view of in to out, of floats or bytes.
func viewRun[E float32 | uint8](v *view, p *Pool, in, out []E) {
	if v.n == 0 {
		return
	}
	if v.t >= 0 {
		viewRunBlocked(v, p, in, out)
		return
	}
	last := len(v.dims) - 1
	inner, s := v.dims[last], v.strides[last]
	p.For(ceilDiv(v.n, ewChunk), func(_, item int) {
		i0, i1 := item*ewChunk, min(v.n, (item+1)*ewChunk)
		var od odometer
		od.init(v.dims[:last], v.outer)
		od.seek(i0 / inner)
		col := i0 % inner
		for i := i0; i < i1; {
			n := min(inner-col, i1-i)
			o := out[i : i+n]
			at := v.base + od.off(0) + col*s
			switch s {
			case 1:
				copy(o, in[at:at+n])
			case 0:
				x := in[at]
				for j := range o {
					o[j] = x
				}
			default:
				for j := range o {
					o[j] = in[at]
					at += s
				}
			}
			i += n
			col = 0
			od.next()
		}
	})
}

// viewRunBlocked copies in blocks of transposeBlock x transposeBlock over the
// dim t (input stride 1) and the last dim (output stride 1); an item is a
// run of consecutive (other index, block of t) pairs.
func viewRunBlocked[E float32 | uint8](v *view, p *Pool, in, out []E) {
	last := len(v.dims) - 1
	T, M, ot, s := v.dims[v.t], v.dims[last], v.tStride, v.strides[last]
	p.For(ceilDiv(v.pairs, v.pairsInItem), func(_, item int) {
		q0, q1 := item*v.pairsInItem, min(v.pairs, (item+1)*v.pairsInItem)
		var w odometer
		w.init(v.bDims, v.bStrides)
		w.seek(q0 / v.tBlocks)
		for q := q0; q < q1; q++ {
			tb := q % v.tBlocks
			if q > q0 && tb == 0 {
				w.next()
			}
			oo, io := w.off(0), v.base+w.off(1)
			t0, t1 := tb*transposeBlock, min(T, (tb+1)*transposeBlock)
			for m0 := 0; m0 < M; m0 += transposeBlock {
				m1 := min(M, m0+transposeBlock)
				for t := t0; t < t1; t++ {
					o := out[oo+t*ot+m0 : oo+t*ot+m1]
					at := io + t + m0*s
					for j := range o {
						o[j] = in[at]
						at += s
					}
				}
			}
		}
	})
}

// checkLen panics unless a slice handed to a Run method has the planned
// length: only a code-generator bug can cause that.
func checkLen(op, what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("runtime: %s: %s has %d floats, want %d", op, what, got, want))
	}
}

// checkLenOf is checkLen for the k-th of a list of slices.
func checkLenOf(op, what string, k, got, want int) {
	if got != want {
		checkLen(op, fmt.Sprintf("%s %d", what, k), got, want)
	}
}
