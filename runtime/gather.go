package runtime

import (
	"fmt"
	"slices"
)

// Gather picks entries along one axis of a tensor by constant indices
// (ONNX Gather): with data [outer][dim][inner] and k indices, the output
// is [outer][k][inner], entry j of the middle axis being data's entry
// indices[j]. The output shape is shape[:axis] + indicesShape +
// shape[axis+1:].
//
//	NewGather(shape []int, axis int, indices []int64, indicesShape []int) (*Gather, error)
//	(*Gather).Run(p *Pool, x, out []float32)
//	(*Gather).RunBytes(p *Pool, x, out []uint8)
//
// axis may be negative (counted from the end); so may indices, in
// [-dim, dim), ONNX's rule.
type Gather struct {
	in, out           []int
	outer, dim, inner int
	idx               []int
}

// NewGather plans a gather from a tensor of the given shape.
func NewGather(shape []int, axis int, indices []int64, indicesShape []int) (*Gather, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("gather %v: %w", shape, err)
	}
	k, err := shapeSize(indicesShape)
	if err != nil {
		return nil, fmt.Errorf("gather %v: indices: %w", shape, err)
	}
	if len(indices) != k {
		return nil, fmt.Errorf("gather %v: %d indices for an indices shape %v", shape, len(indices), indicesShape)
	}
	g := &Gather{in: slices.Clone(shape), outer: product(shape[:a]), dim: shape[a], inner: product(shape[a+1:]), idx: make([]int, k)}
	for j, v := range indices {
		if v < -int64(g.dim) || v >= int64(g.dim) {
			return nil, fmt.Errorf("gather %v: index %d is out of range for axis %d of size %d", shape, v, a, g.dim)
		}
		if v < 0 {
			v += int64(g.dim)
		}
		g.idx[j] = int(v)
	}
	g.out = append(append(slices.Clone(shape[:a]), indicesShape...), shape[a+1:]...)
	if _, err := shapeSize(g.out); err != nil {
		return nil, fmt.Errorf("gather %v: %w", shape, err)
	}
	return g, nil
}

// Shape returns the output shape.
func (g *Gather) Shape() []int { return slices.Clone(g.out) }

func (g *Gather) profileName() string {
	return fmt.Sprintf("gather %v -> %v", g.in, g.out)
}
func (g *Gather) profileFLOPs() float64 { return 0 }

// Run writes the gathered entries of x to out (which must not overlap x).
func (g *Gather) Run(p *Pool, x, out []float32) { gatherRun(g, p, x, out) }

// RunBytes is Run on bytes (a quantised tensor).
func (g *Gather) RunBytes(p *Pool, x, out []uint8) { gatherRun(g, p, x, out) }

func gatherRun[E float32 | uint8](g *Gather, p *Pool, x, out []E) {
	defer profileDone(g, profileStart())
	checkLen("gather", "x", len(x), g.outer*g.dim*g.inner)
	rows := g.outer * len(g.idx)
	checkLen("gather", "out", len(out), rows*g.inner)
	if g.inner == 0 {
		return
	}
	perItem := max(1, ewChunk/g.inner)
	p.For(ceilDiv(rows, perItem), func(_, item int) {
		for q := item * perItem; q < min(rows, (item+1)*perItem); q++ {
			o, j := q/len(g.idx), q%len(g.idx)
			src := (o*g.dim + g.idx[j]) * g.inner
			copy(out[q*g.inner:(q+1)*g.inner], x[src:src+g.inner])
		}
	})
}

// ScatterReduction is how ScatterND combines an update with the data it
// lands on.
type ScatterReduction uint8

// Scatter reductions (ONNX ScatterND's reduction attribute).
const (
	ScatterNone ScatterReduction = iota // replace
	ScatterAdd
	ScatterMul
	ScatterMax
	ScatterMin
)

func (r ScatterReduction) String() string {
	switch r {
	case ScatterNone:
		return "none"
	case ScatterAdd:
		return "add"
	case ScatterMul:
		return "mul"
	case ScatterMax:
		return "max"
	case ScatterMin:
		return "min"
	}
	return fmt.Sprintf("reduction(%d)", r)
}

// ScatterND writes run-time updates into a copy of run-time data at
// constant index tuples (ONNX ScatterND): indices has shape [batch...][k],
// each row an index into the first k axes of data (negative indices count
// from the end), and updates has shape [batch...] + shape[k:]. Updates
// are applied in order, so with repeated indices the last one wins (or
// all are combined, with a reduction). Max and Min propagate NaN.
//
//	NewScatterND(shape []int, indices []int64, indicesShape []int, reduction ScatterReduction) (*ScatterND, error)
//	(*ScatterND).Run(p *Pool, data, updates, out []float32)
type ScatterND struct {
	shape, updates []int
	n, block       int
	offs           []int // where each update block lands
	red            ScatterReduction
	repeated       bool // some offset is written twice
}

// NewScatterND plans a scatter into a tensor of the given shape.
func NewScatterND(shape []int, indices []int64, indicesShape []int, reduction ScatterReduction) (*ScatterND, error) {
	n, err := shapeSize(shape)
	if err != nil {
		return nil, fmt.Errorf("scatternd: %w", err)
	}
	count, err := shapeSize(indicesShape)
	if err != nil || len(indicesShape) == 0 || len(indices) != count {
		return nil, fmt.Errorf("scatternd %v: %d indices do not fill an indices shape %v of rank >= 1", shape, len(indices), indicesShape)
	}
	if reduction > ScatterMin {
		return nil, fmt.Errorf("scatternd %v: unknown reduction %v", shape, reduction)
	}
	k := indicesShape[len(indicesShape)-1]
	if k > len(shape) {
		return nil, fmt.Errorf("scatternd %v: index tuples of length %d exceed the rank", shape, k)
	}
	s := &ScatterND{shape: slices.Clone(shape), n: n, block: product(shape[k:]), red: reduction}
	s.updates = append(slices.Clone(indicesShape[:len(indicesShape)-1]), shape[k:]...)
	if _, err := shapeSize(s.updates); err != nil {
		return nil, fmt.Errorf("scatternd %v: updates: %w", shape, err)
	}
	strides := stridesOf(shape)
	batch := product(indicesShape[:len(indicesShape)-1])
	seen := map[int]bool{}
	for b := range batch {
		off := 0
		for j, v := range indices[b*k : (b+1)*k] {
			dim := int64(shape[j])
			if v < -dim || v >= dim {
				return nil, fmt.Errorf("scatternd %v: index %d is out of range for axis %d of size %d", shape, v, j, dim)
			}
			if v < 0 {
				v += dim
			}
			off += int(v) * strides[j]
		}
		s.repeated = s.repeated || seen[off]
		seen[off] = true
		s.offs = append(s.offs, off)
	}
	return s, nil
}

// UpdatesShape returns the shape updates must have.
func (s *ScatterND) UpdatesShape() []int { return slices.Clone(s.updates) }

func (s *ScatterND) profileName() string {
	return fmt.Sprintf("scatternd %v <- %v (%v)", s.shape, s.updates, s.red)
}
func (s *ScatterND) profileFLOPs() float64 { return 0 }

// Run copies data to out (skipped when out is data) and scatters updates
// into it. Updates to distinct places run in parallel; repeated indices
// run in order on one worker.
func (s *ScatterND) Run(p *Pool, data, updates, out []float32) {
	defer profileDone(s, profileStart())
	checkLen("scatternd", "data", len(data), s.n)
	checkLen("scatternd", "updates", len(updates), len(s.offs)*s.block)
	checkLen("scatternd", "out", len(out), s.n)
	if s.n == 0 {
		return
	}
	if &out[0] != &data[0] {
		p.For(ceilDiv(s.n, ewChunk), func(_, item int) {
			i0, i1 := item*ewChunk, min(s.n, (item+1)*ewChunk)
			copy(out[i0:i1], data[i0:i1])
		})
	}
	if s.block == 0 {
		return
	}
	if s.repeated {
		for b := range s.offs {
			s.scatter(out, updates, b)
		}
		return
	}
	perItem := max(1, ewChunk/s.block)
	p.For(ceilDiv(len(s.offs), perItem), func(_, item int) {
		for b := item * perItem; b < min(len(s.offs), (item+1)*perItem); b++ {
			s.scatter(out, updates, b)
		}
	})
}

// scatter applies update block b.
func (s *ScatterND) scatter(out, updates []float32, b int) {
	o, u := out[s.offs[b]:s.offs[b]+s.block], updates[b*s.block:(b+1)*s.block]
	switch s.red {
	case ScatterNone:
		copy(o, u)
	case ScatterAdd:
		for i, v := range u {
			o[i] += v
		}
	case ScatterMul:
		for i, v := range u {
			o[i] *= v
		}
	case ScatterMax:
		for i, v := range u {
			o[i] = max(o[i], v)
		}
	case ScatterMin:
		for i, v := range u {
			o[i] = min(o[i], v)
		}
	}
}

// PadMode is how Pad fills the border.
type PadMode uint8

// Pad modes (ONNX Pad's mode attribute).
const (
	PadConstant PadMode = iota // the constant value
	PadReflect                 // mirrored about the edge, the edge not repeated
	PadEdge                    // the edge value repeated
	PadWrap                    // the tensor repeated periodically
)

func (m PadMode) String() string {
	switch m {
	case PadConstant:
		return "constant"
	case PadReflect:
		return "reflect"
	case PadEdge:
		return "edge"
	case PadWrap:
		return "wrap"
	}
	return fmt.Sprintf("padmode(%d)", m)
}

// Pad pads a tensor (ONNX Pad): axis d gets pads[d] elements before and
// pads[rank+d] after, ONNX's order; a negative pad crops. Reflect pads
// wider than the axis keep reflecting (numpy's rule); reflect, edge and
// wrap need a non-empty axis wherever they pad.
//
//	NewPad(shape, pads []int, mode PadMode, value float32) (*Pad, error)
//	(*Pad).Run(p *Pool, x, out []float32)
//
// value is the constant of PadConstant (ignored by the other modes).
type Pad struct {
	in, out []int
	mode    PadMode
	value   float32
	dims    []int   // output dims, unpadded neighbours merged
	src     [][]int // per merged dim and output index: input offset, -1 for the constant
	// the output columns [c0, c1) of a row copy the input from its
	// column c0-before
	c0, c1, before int
}

// NewPad plans the padding of a tensor of the given shape.
func NewPad(shape, pads []int, mode PadMode, value float32) (*Pad, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("pad: %w", err)
	}
	r := len(shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pad %v: pads %v must have 2 entries per axis", shape, pads)
	}
	if mode > PadWrap {
		return nil, fmt.Errorf("pad %v: unknown mode %v", shape, mode)
	}
	pd := &Pad{in: slices.Clone(shape), out: make([]int, r), mode: mode, value: value}
	// merged axes: size and pads
	var size, before, after []int
	for d, n := range shape {
		b, a := pads[d], pads[r+d]
		if b < -maxElements || b > maxElements || a < -maxElements || a > maxElements {
			return nil, fmt.Errorf("pad %v: pads %v are out of range", shape, pads)
		}
		pd.out[d] = n + b + a
		if pd.out[d] < 0 {
			return nil, fmt.Errorf("pad %v: pads %v crop more than axis %d holds", shape, pads, d)
		}
		if mode != PadConstant && n == 0 && pd.out[d] > 0 {
			return nil, fmt.Errorf("pad %v: cannot %v-pad the empty axis %d", shape, mode, d)
		}
		switch last := len(size) - 1; {
		case b == 0 && a == 0 && n == 1:
		case b == 0 && a == 0 && last >= 0 && before[last] == 0 && after[last] == 0:
			size[last] *= n
		default:
			size, before, after = append(size, n), append(before, b), append(after, a)
		}
	}
	if _, err := shapeSize(pd.out); err != nil {
		return nil, fmt.Errorf("pad %v by %v: %w", shape, pads, err)
	}
	if len(size) == 0 {
		size, before, after = []int{1}, []int{0}, []int{0}
	}
	strides := stridesOf(size)
	for d, n := range size {
		tab := make([]int, n+before[d]+after[d])
		for o := range tab {
			tab[o] = -1
			if i, ok := padSource(o-before[d], n, mode); ok {
				tab[o] = i * strides[d]
			}
		}
		pd.dims = append(pd.dims, len(tab))
		pd.src = append(pd.src, tab)
	}
	last := len(size) - 1
	pd.before = before[last]
	pd.c0 = min(max(0, before[last]), pd.dims[last])
	pd.c1 = max(pd.c0, min(pd.dims[last], before[last]+size[last]))
	return pd, nil
}

// padSource returns the index along an axis of size n that position i
// (relative to the axis' first element) reads, false for the constant.
func padSource(i, n int, mode PadMode) (int, bool) {
	switch {
	case i >= 0 && i < n:
		return i, true
	case mode == PadEdge:
		return min(max(i, 0), n-1), true
	case mode == PadWrap:
		return (i%n + n) % n, true
	case mode == PadReflect && n == 1:
		return 0, true
	case mode == PadReflect:
		period := 2 * (n - 1)
		i = (i%period + period) % period
		if i >= n {
			i = period - i
		}
		return i, true
	}
	return 0, false
}

// Shape returns the output shape.
func (pd *Pad) Shape() []int { return slices.Clone(pd.out) }

func (pd *Pad) profileName() string {
	return fmt.Sprintf("pad %v -> %v (%v)", pd.in, pd.out, pd.mode)
}
func (pd *Pad) profileFLOPs() float64 { return 0 }

// Run writes x padded to out (which must not overlap x).
func (pd *Pad) Run(p *Pool, x, out []float32) {
	defer profileDone(pd, profileStart())
	checkLen("pad", "x", len(x), product(pd.in))
	n := product(pd.dims)
	checkLen("pad", "out", len(out), n)
	last := len(pd.dims) - 1
	inner := pd.dims[last]
	if n == 0 {
		return
	}
	rows := n / inner
	perItem := max(1, ewChunk/inner)
	p.For(ceilDiv(rows, perItem), func(_, item int) {
		q0, q1 := item*perItem, min(rows, (item+1)*perItem)
		var od odometer
		od.init(pd.dims[:last], nil)
		od.seek(q0)
		for q := q0; q < q1; q++ {
			o := out[q*inner : (q+1)*inner]
			base := 0
			for d := range last {
				if s := pd.src[d][od.idx(d)]; s >= 0 && base >= 0 {
					base += s
				} else {
					base = -1
				}
			}
			od.next()
			if base < 0 {
				for j := range o {
					o[j] = pd.value
				}
				continue
			}
			tab := pd.src[last]
			for j := range pd.c0 {
				o[j] = pd.at(x, base, tab[j])
			}
			copy(o[pd.c0:pd.c1], x[base+pd.c0-pd.before:])
			for j := pd.c1; j < inner; j++ {
				o[j] = pd.at(x, base, tab[j])
			}
		}
	})
}

// at is the value of a padded position whose offset along the last axis
// is s.
func (pd *Pad) at(x []float32, base, s int) float32 {
	if s < 0 {
		return pd.value
	}
	return x[base+s]
}

// Concat joins tensors along one axis (ONNX Concat): the inputs have
// equal shapes but for that axis. Each input is a channel copy
// ([outer][axis][inner], see CopyChannels) into its place.
//
//	NewConcat(shapes [][]int, axis int) (*Concat, error)
//	(*Concat).Run(p *Pool, ins [][]float32, out []float32)
//
// axis may be negative.
type Concat struct {
	out []int
	ac  axisCopy
}

// NewConcat plans the concatenation of tensors of the given shapes.
func NewConcat(shapes [][]int, axis int) (*Concat, error) {
	if len(shapes) == 0 {
		return nil, fmt.Errorf("concat: no inputs")
	}
	first := shapes[0]
	a, err := normAxis(axis, len(first))
	if err != nil {
		return nil, fmt.Errorf("concat %v: %w", shapes, err)
	}
	out := slices.Clone(first)
	out[a] = 0
	var sizes []int
	for i, s := range shapes {
		if _, err := shapeSize(s); err != nil {
			return nil, fmt.Errorf("concat: input %d: %w", i, err)
		}
		ok := len(s) == len(first)
		for d := 0; ok && d < len(s); d++ {
			ok = d == a || s[d] == first[d]
		}
		if !ok {
			return nil, fmt.Errorf("concat %v: input %d does not match input 0 but along axis %d", shapes, i, a)
		}
		out[a] += s[a]
		sizes = append(sizes, s[a])
	}
	if _, err := shapeSize(out); err != nil {
		return nil, fmt.Errorf("concat %v: %w", shapes, err)
	}
	return &Concat{out: out, ac: newAxisCopy(out, a, sizes)}, nil
}

// Shape returns the output shape.
func (c *Concat) Shape() []int { return slices.Clone(c.out) }

func (c *Concat) profileName() string {
	return fmt.Sprintf("concat %d -> %v on axis %d", len(c.ac.sizes), c.out, c.ac.axis)
}
func (c *Concat) profileFLOPs() float64 { return 0 }

// Run writes the concatenation of ins (one slice per planned input) to
// out (which must not overlap them).
func (c *Concat) Run(p *Pool, ins [][]float32, out []float32) {
	defer profileDone(c, profileStart())
	c.ac.run(p, "concat", ins, out, true)
}

// Split cuts a tensor along one axis into parts of the given sizes (ONNX
// Split with its sizes resolved), each a channel copy ([outer][axis]
// [inner], see CopyChannels) out of the input.
//
//	NewSplit(shape []int, axis int, sizes []int) (*Split, error)
//	(*Split).Run(p *Pool, x []float32, outs [][]float32)
//
// axis may be negative; the sizes are non-negative and sum to the axis.
type Split struct {
	in []int
	ac axisCopy
}

// NewSplit plans the split of a tensor of the given shape.
func NewSplit(shape []int, axis int, sizes []int) (*Split, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("split %v: %w", shape, err)
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("split %v: negative size in %v", shape, sizes)
		}
		total += s
	}
	if len(sizes) == 0 || total != shape[a] {
		return nil, fmt.Errorf("split %v: sizes %v do not sum to axis %d of size %d", shape, sizes, a, shape[a])
	}
	return &Split{in: slices.Clone(shape), ac: newAxisCopy(shape, a, sizes)}, nil
}

// Shapes returns the output shapes.
func (s *Split) Shapes() [][]int {
	out := make([][]int, len(s.ac.sizes))
	for i, n := range s.ac.sizes {
		out[i] = slices.Clone(s.in)
		out[i][s.ac.axis] = n
	}
	return out
}

func (s *Split) profileName() string {
	return fmt.Sprintf("split %v -> %d on axis %d", s.in, len(s.ac.sizes), s.ac.axis)
}
func (s *Split) profileFLOPs() float64 { return 0 }

// Run writes the parts of x to outs (one slice per part, not overlapping
// x).
func (s *Split) Run(p *Pool, x []float32, outs [][]float32) {
	defer profileDone(s, profileStart())
	s.ac.run(p, "split", outs, x, false)
}

// axisCopy moves parts [outer][sizes[k]][inner] to or from their places
// along the axis of a whole [outer][Σ sizes][inner]; an item is a run of
// outer rows of one part.
type axisCopy struct {
	axis, outer, inner int
	sizes, begins      []int
	total              int // Σ sizes
	items              []axisSpan
}

// axisSpan is the outer rows [f0, f1) of a part.
type axisSpan struct{ part, f0, f1 int }

func newAxisCopy(whole []int, axis int, sizes []int) axisCopy {
	ac := axisCopy{axis: axis, outer: product(whole[:axis]), inner: product(whole[axis+1:]), sizes: slices.Clone(sizes)}
	for k, n := range sizes {
		ac.begins = append(ac.begins, ac.total)
		ac.total += n
		if n*ac.inner == 0 {
			continue
		}
		per := max(1, ewChunk/(n*ac.inner))
		for f := 0; f < ac.outer; f += per {
			ac.items = append(ac.items, axisSpan{k, f, min(ac.outer, f+per)})
		}
	}
	return ac
}

// run copies the parts into whole (join) or whole into the parts.
func (ac *axisCopy) run(p *Pool, op string, parts [][]float32, whole []float32, join bool) {
	checkLen(op, "part count", len(parts), len(ac.sizes))
	checkLen(op, "whole", len(whole), ac.outer*ac.total*ac.inner)
	for k, n := range ac.sizes {
		checkLenOf(op, "part", k, len(parts[k]), ac.outer*n*ac.inner)
	}
	p.For(len(ac.items), func(_, item int) {
		it := ac.items[item]
		n := ac.sizes[it.part]
		w := whole[it.f0*ac.total*ac.inner : it.f1*ac.total*ac.inner]
		pt := parts[it.part][it.f0*n*ac.inner : it.f1*n*ac.inner]
		if join {
			copyChannels(w, ac.total, ac.begins[it.part], pt, n, 0, n, it.f1-it.f0, ac.inner)
		} else {
			copyChannels(pt, n, 0, w, ac.total, ac.begins[it.part], n, it.f1-it.f0, ac.inner)
		}
	})
}
