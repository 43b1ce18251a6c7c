package interp

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// Data-movement and shape-arithmetic kernels. They work on every dtype.

func identityKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	return []*ir.Tensor{inputs[0]}, nil
}

// dropoutKernel is the inference-mode identity; the optional mask output
// is all true (all ones of X's dtype before opset 10).
func dropoutKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	if t := optional(inputs, 2); opset >= 12 && t != nil {
		if t.DType != ir.Bool || t.Len() != 1 {
			return nil, fmt.Errorf("training_mode must be a bool scalar, got %v%v", t.DType, t.Shape)
		}
		if t.B[0] {
			return nil, errors.New("training mode is not supported (dropout is random)")
		}
	}
	outs := []*ir.Tensor{x}
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		maskType := ir.Bool
		if opset < 10 {
			maskType = x.DType
		}
		mask, err := alloc(maskType, x.Shape)
		if err != nil {
			return nil, err
		}
		fill(mask, 1)
		outs = append(outs, mask)
	}
	return outs, nil
}

// reshapeKernel: shape from attribute "shape" before opset 5, from the
// second input after; 0 copies the input dimension (unless allowzero),
// -1 is inferred.
func reshapeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	var spec []int
	if opset < 5 {
		s, ok := n.AttrInts("shape")
		if !ok {
			return nil, errors.New("missing attribute shape")
		}
		spec = toInts(s)
	} else {
		if err := required(inputs, "data", "shape"); err != nil {
			return nil, err
		}
		var err error
		if spec, err = intsOf(inputs[1], "shape"); err != nil {
			return nil, err
		}
	}
	allowZero := opset >= 14 && n.AttrInt("allowzero", 0) != 0
	shape, err := resolveReshape(inputs[0].Shape, spec, allowZero)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{reshaped(inputs[0], shape)}, nil
}

func resolveReshape(in ir.Shape, spec []int, allowZero bool) (ir.Shape, error) {
	out := make(ir.Shape, len(spec))
	inferred := -1
	for i, d := range spec {
		switch {
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d (0) of an input of rank %d", spec, i, len(in))
			}
			out[i] = in[i]
		case d == -1:
			if inferred >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			inferred = i
			out[i] = 1
		case d < 0:
			return nil, fmt.Errorf("shape %v has invalid dimension %d", spec, d)
		default:
			out[i] = d
		}
	}
	known := out.Size()
	total := in.Size()
	if known < 0 {
		return nil, fmt.Errorf("shape %v is too large", spec)
	}
	if inferred >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v: -1 cannot be inferred", in, spec)
		}
		out[inferred] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", in, total, out, known)
	}
	return out, nil
}

// flattenKernel reshapes to 2-D [prod(dims before axis), prod(dims from axis)].
func flattenKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	x := inputs[0]
	rank := len(x.Shape)
	axis := int(n.AttrInt("axis", 1))
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis > rank {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", n.AttrInt("axis", 1), rank)
	}
	shape := ir.Shape{product(x.Shape[:axis]), product(x.Shape[axis:])}
	return []*ir.Tensor{reshaped(x, shape)}, nil
}

// axesArg reads the axes of Squeeze, Unsqueeze and the reductions: an
// attribute before opset attrUntil, the input at index inputIndex from
// then on. present is false when no axes were given.
func axesArg(n *ir.Node, opset, attrUntil int64, inputs []*ir.Tensor, inputIndex int) (axes []int, present bool, err error) {
	if opset < attrUntil {
		v, ok := n.AttrInts("axes")
		return toInts(v), ok, nil
	}
	t := optional(inputs, inputIndex)
	if t == nil {
		return nil, false, nil
	}
	axes, err = intsOf(t, "axes")
	return axes, true, err
}

func squeezeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	axes, present, err := axesArg(n, opset, 13, inputs, 1)
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}
	if present {
		norm, err := normAxes(axes, len(x.Shape))
		if err != nil {
			return nil, err
		}
		for _, a := range norm {
			if x.Shape[a] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of shape %v: size is not 1", a, x.Shape)
			}
			drop[a] = true
		}
	} else {
		for a, d := range x.Shape {
			drop[a] = d == 1
		}
	}
	shape := ir.Shape{}
	for a, d := range x.Shape {
		if !drop[a] {
			shape = append(shape, d)
		}
	}
	return []*ir.Tensor{reshaped(x, shape)}, nil
}

func unsqueezeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	axes, present, err := axesArg(n, opset, 13, inputs, 1)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, errors.New("missing axes")
	}
	rank := len(x.Shape) + len(axes)
	norm, err := normAxes(axes, rank)
	if err != nil {
		return nil, err
	}
	inserted := map[int]bool{}
	for _, a := range norm {
		inserted[a] = true
	}
	shape := make(ir.Shape, 0, rank)
	rest := x.Shape
	for a := 0; a < rank; a++ {
		if inserted[a] {
			shape = append(shape, 1)
		} else {
			shape = append(shape, rest[0])
			rest = rest[1:]
		}
	}
	return []*ir.Tensor{reshaped(x, shape)}, nil
}

func transposeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	rank := len(x.Shape)
	perm := attrInts(n, "perm", nil)
	if perm == nil {
		for a := rank - 1; a >= 0; a-- {
			perm = append(perm, a)
		}
	}
	out, err := transpose(x, perm)
	return []*ir.Tensor{out}, err
}

// transpose permutes the axes of x: output axis d is input axis perm[d].
func transpose(x *ir.Tensor, perm []int) (*ir.Tensor, error) {
	rank := len(x.Shape)
	if len(perm) != rank {
		return nil, fmt.Errorf("perm %v does not match rank %d", perm, rank)
	}
	if _, err := normAxes(perm, rank); err != nil {
		return nil, fmt.Errorf("perm %v is not a permutation: %v", perm, err)
	}
	strides := x.Shape.Strides()
	offs := make([][]int, rank)
	for d, a := range perm {
		if a < 0 {
			return nil, fmt.Errorf("perm %v has a negative axis", perm)
		}
		offs[d] = axisOffsets(seq(x.Shape[a]), strides[a])
	}
	return gatherOffsets(x, offs, 0)
}

func concatKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no inputs")
	}
	for i, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("input %d is empty", i)
		}
	}
	if _, ok := n.Attrs["axis"]; !ok && opset >= 4 {
		return nil, errors.New("missing attribute axis")
	}
	first := inputs[0]
	axis, err := normAxis(int(n.AttrInt("axis", 1)), len(first.Shape))
	if err != nil {
		return nil, err
	}
	shape := first.Shape.Clone()
	shape[axis] = 0
	for i, t := range inputs {
		if err := sameDType(first, t); err != nil {
			return nil, err
		}
		ok := len(t.Shape) == len(first.Shape)
		for d := 0; ok && d < len(t.Shape); d++ {
			ok = d == axis || t.Shape[d] == first.Shape[d]
		}
		if !ok {
			return nil, fmt.Errorf("input %d has shape %v, incompatible with %v along axis %d", i, t.Shape, first.Shape, axis)
		}
		shape[axis] += t.Shape[axis]
	}
	out, err := alloc(first.DType, shape)
	if err != nil {
		return nil, err
	}
	outer, inner := product(shape[:axis]), product(shape[axis+1:])
	dst := 0
	for o := 0; o < outer; o++ {
		for _, t := range inputs {
			block := t.Shape[axis] * inner
			copyElems(out, dst, t, o*block, block)
			dst += block
		}
	}
	return []*ir.Tensor{out}, nil
}

// sliceAxis returns x restricted to the given indices along axis.
func sliceAxis(x *ir.Tensor, axis int, indices []int) (*ir.Tensor, error) {
	offs := naturalOffsets(x.Shape)
	offs[axis] = axisOffsets(indices, x.Shape.Strides()[axis])
	return gatherOffsets(x, offs, 0)
}

// splitKernel: sizes from attribute "split" (before opset 13) or the second
// input; otherwise equal parts, one per output (with num_outputs from
// opset 18 the last part may be smaller).
func splitKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	x := inputs[0]
	axis, err := normAxis(int(n.AttrInt("axis", 0)), len(x.Shape))
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	parts := len(n.Outputs)
	var sizes []int
	if opset < 13 {
		sizes = attrInts(n, "split", nil)
	} else if t := optional(inputs, 1); t != nil {
		if sizes, err = intsOf(t, "split"); err != nil {
			return nil, err
		}
	}
	if sizes == nil {
		if num, ok := n.Attrs["num_outputs"]; ok && opset >= 18 {
			if int(num.Int) != parts || parts <= 0 {
				return nil, fmt.Errorf("num_outputs %d does not match %d outputs", num.Int, parts)
			}
			chunk := (dim + parts - 1) / parts
			for i := 0; i < parts; i++ {
				sizes = append(sizes, max(0, min(chunk, dim-i*chunk)))
			}
		} else {
			if parts == 0 || dim%parts != 0 {
				return nil, fmt.Errorf("axis %d of size %d cannot be split into %d equal parts", axis, dim, parts)
			}
			sizes = repeatInt(dim/parts, parts)
		}
	}
	if len(sizes) != parts {
		return nil, fmt.Errorf("split %v has %d parts but the node has %d outputs", sizes, len(sizes), parts)
	}
	begin := 0
	outs := make([]*ir.Tensor, parts)
	for i, s := range sizes {
		if s < 0 || begin+s > dim {
			return nil, fmt.Errorf("split %v does not fit axis %d of size %d", sizes, axis, dim)
		}
		indices := seq(s)
		for j := range indices {
			indices[j] += begin
		}
		if outs[i], err = sliceAxis(x, axis, indices); err != nil {
			return nil, err
		}
		begin += s
	}
	if begin != dim {
		return nil, fmt.Errorf("split %v sums to %d, axis %d has size %d", sizes, begin, axis, dim)
	}
	return outs, nil
}

// sliceKernel: starts/ends/axes attributes before opset 10; inputs starts,
// ends and optional axes and steps from 10 on. Indices are clamped as the
// spec says; negative steps walk backwards.
func sliceKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	var starts, ends, axes, steps []int
	if opset < 10 {
		s, ok1 := n.AttrInts("starts")
		e, ok2 := n.AttrInts("ends")
		if !ok1 || !ok2 {
			return nil, errors.New("missing attribute starts or ends")
		}
		starts, ends = toInts(s), toInts(e)
		axes = attrInts(n, "axes", nil)
	} else {
		if err := required(inputs, "data", "starts", "ends"); err != nil {
			return nil, err
		}
		args := []*[]int{&starts, &ends, &axes, &steps}
		for i, name := range []string{"starts", "ends", "axes", "steps"} {
			if t := optional(inputs, i+1); t != nil {
				var err error
				if *args[i], err = intsOf(t, name); err != nil {
					return nil, err
				}
			}
		}
	}
	if axes == nil {
		axes = seq(len(starts))
	}
	if steps == nil {
		steps = repeatInt(1, len(starts))
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	axes, err := normAxes(axes, len(x.Shape))
	if err != nil {
		return nil, err
	}
	offs := naturalOffsets(x.Shape)
	strides := x.Shape.Strides()
	for i, a := range axes {
		indices, err := sliceIndices(starts[i], ends[i], steps[i], x.Shape[a])
		if err != nil {
			return nil, err
		}
		offs[a] = axisOffsets(indices, strides[a])
	}
	out, err := gatherOffsets(x, offs, 0)
	return []*ir.Tensor{out}, err
}

// sliceIndices lists the indices start, start+step, ... before end along
// an axis of size dim, after the spec's adjustment of negative and
// out-of-range values.
func sliceIndices(start, end, step, dim int) ([]int, error) {
	if step == 0 {
		return nil, errors.New("slice step is 0")
	}
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	var indices []int
	if step > 0 {
		start, end = clamp(start, 0, dim), clamp(end, 0, dim)
		for i := start; i < end; i += step {
			indices = append(indices, i)
		}
	} else {
		start, end = clamp(start, 0, dim-1), clamp(end, -1, dim-1)
		for i := start; i > end; i += step {
			indices = append(indices, i)
		}
	}
	return indices, nil
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// gatherKernel picks entries along axis; negative indices count from the
// end.
func gatherKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data", "indices"); err != nil {
		return nil, err
	}
	data, indices := inputs[0], inputs[1]
	if !indices.DType.IsInt() {
		return nil, fmt.Errorf("indices must be integers, got %v", indices.DType)
	}
	axis, err := normAxis(int(n.AttrInt("axis", 0)), len(data.Shape))
	if err != nil {
		return nil, err
	}
	dim := data.Shape[axis]
	picked := make([]int, len(indices.I64))
	for i, v := range indices.I64 {
		if v < -int64(dim) || v >= int64(dim) {
			return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", v, axis, dim)
		}
		picked[i] = int(v)
		if v < 0 {
			picked[i] += dim
		}
	}
	// View data as [outer, dim, inner] and pick along the middle axis.
	outer, inner := product(data.Shape[:axis]), product(data.Shape[axis+1:])
	flat, err := gatherOffsets(data, [][]int{
		axisOffsets(seq(outer), dim*inner),
		axisOffsets(picked, inner),
		seq(inner),
	}, 0)
	if err != nil {
		return nil, err
	}
	shape := append(append(data.Shape[:axis:axis], indices.Shape...), data.Shape[axis+1:]...)
	return []*ir.Tensor{reshaped(flat, shape)}, nil
}

// shapeOf reads a shape input: a 1-D integer tensor of non-negative sizes.
func shapeOf(t *ir.Tensor) (ir.Shape, error) {
	dims, err := intsOf(t, "shape")
	if err != nil {
		return nil, err
	}
	for _, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", dims)
		}
	}
	return ir.Shape(dims), nil
}

func expandKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input", "shape"); err != nil {
		return nil, err
	}
	target, err := shapeOf(inputs[1])
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(inputs[0].Shape, target)
	if err != nil {
		return nil, err
	}
	out, err := broadcastTo(inputs[0], shape)
	return []*ir.Tensor{out}, err
}

func tileKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input", "repeats"); err != nil {
		return nil, err
	}
	x := inputs[0]
	repeats, err := intsOf(inputs[1], "repeats")
	if err != nil {
		return nil, err
	}
	if len(repeats) != len(x.Shape) {
		return nil, fmt.Errorf("repeats %v does not match rank %d", repeats, len(x.Shape))
	}
	shape := make(ir.Shape, len(repeats))
	for d, r := range repeats {
		if r < 0 || x.Shape[d] > 0 && r > ir.MaxElements/x.Shape[d] {
			return nil, fmt.Errorf("invalid repeats %v for shape %v", repeats, x.Shape)
		}
		shape[d] = x.Shape[d] * r
	}
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	strides := x.Shape.Strides()
	offs := make([][]int, len(x.Shape))
	for d, r := range repeats {
		indices := make([]int, x.Shape[d]*r)
		for o := range indices {
			indices[o] = o % x.Shape[d]
		}
		offs[d] = axisOffsets(indices, strides[d])
	}
	out, err := gatherOffsets(x, offs, 0)
	return []*ir.Tensor{out}, err
}

// shapeKernel returns the input's dimensions, limited to [start, end) from
// opset 15.
func shapeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	dims := inputs[0].Shape
	rank := len(dims)
	start, end := 0, rank
	if opset >= 15 {
		start, end = int(n.AttrInt("start", 0)), int(n.AttrInt("end", int64(rank)))
		if start < 0 {
			start += rank
		}
		if end < 0 {
			end += rank
		}
		start, end = clamp(start, 0, rank), clamp(end, 0, rank)
		end = max(start, end)
	}
	out := make([]int64, 0, end-start)
	for _, d := range dims[start:end] {
		out = append(out, int64(d))
	}
	return []*ir.Tensor{ir.Int64s(ir.Shape{len(out)}, out)}, nil
}

func sizeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	return []*ir.Tensor{ir.Int64s(ir.Shape{}, []int64{int64(inputs[0].Len())})}, nil
}

// constantOfShapeKernel fills a tensor of the given shape with the
// one-element "value" attribute (default f32 zero).
func constantOfShapeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	shape, err := shapeOf(inputs[0])
	if err != nil {
		return nil, err
	}
	value := ir.Scalar(0)
	if v := n.AttrTensor("value"); v != nil {
		value = v
	}
	if value.Len() != 1 {
		return nil, fmt.Errorf("attribute value must hold one element, got shape %v", value.Shape)
	}
	out, err := alloc(value.DType, shape)
	if err != nil {
		return nil, err
	}
	for i := range out.Len() {
		copyElems(out, i, value, 0, 1)
	}
	return []*ir.Tensor{out}, nil
}

// constantKernel returns the tensor of its one value attribute.
func constantKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("want exactly one value attribute, got %v", n.AttrNames())
	}
	for name, a := range n.Attrs {
		var t *ir.Tensor
		switch {
		case name == "value" && a.Kind == ir.AttrTensor && a.Tensor != nil:
			t = a.Tensor
		case name == "value_float" && a.Kind == ir.AttrFloat:
			t = ir.Scalar(a.Float)
		case name == "value_floats" && a.Kind == ir.AttrFloats:
			t = ir.Float32s(ir.Shape{len(a.Floats)}, append([]float32(nil), a.Floats...))
		case name == "value_int" && a.Kind == ir.AttrInt:
			t = ir.Int64s(ir.Shape{}, []int64{a.Int})
		case name == "value_ints" && a.Kind == ir.AttrInts:
			t = ir.Int64s(ir.Shape{len(a.Ints)}, append([]int64(nil), a.Ints...))
		default:
			return nil, fmt.Errorf("unsupported value attribute %q", name)
		}
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("attribute %s: %v", name, err)
		}
		return []*ir.Tensor{t}, nil
	}
	return nil, errors.New("missing value attribute")
}

// rangeKernel: start, start+delta, ... up to (not including) limit.
func rangeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "start", "limit", "delta"); err != nil {
		return nil, err
	}
	start, limit, delta := inputs[0], inputs[1], inputs[2]
	if err := sameDType(start, limit, delta); err != nil {
		return nil, err
	}
	for _, t := range inputs[:3] {
		if t.Len() != 1 {
			return nil, fmt.Errorf("start, limit and delta must be scalars, got shape %v", t.Shape)
		}
	}
	if start.DType.IsInt() {
		s, l, d := start.I64[0], limit.I64[0], delta.I64[0]
		if d == 0 {
			return nil, errors.New("delta is 0")
		}
		count := max(0, ceilDiv(l-s, d))
		out, err := alloc(start.DType, ir.Shape{int(min(count, ir.MaxElements+1))})
		if err != nil {
			return nil, err
		}
		for i := range out.I64 {
			out.I64[i] = s + int64(i)*d
		}
		return []*ir.Tensor{out}, nil
	}
	s, l, d := start.Float(0), limit.Float(0), delta.Float(0)
	if d == 0 {
		return nil, errors.New("delta is 0")
	}
	count := max(0, math.Ceil((l-s)/d))
	if !(count <= ir.MaxElements) { // also catches NaN
		return nil, fmt.Errorf("range of %g elements is too large", count)
	}
	out, err := alloc(start.DType, ir.Shape{int(count)})
	if err != nil {
		return nil, err
	}
	for i := range out.Len() {
		v := s + float64(i)*d
		if out.DType == ir.Float32 {
			out.F32[i] = float32(v)
		} else {
			out.F64[i] = v
		}
	}
	return []*ir.Tensor{out}, nil
}

// ceilDiv is ceil(a/b) for integers, b != 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) == (b < 0) {
		q++
	}
	return q
}

// padKernel pads (or, with negative pads, crops) every axis. Pads and the
// constant come from attributes before opset 11 and from inputs after;
// modes constant, reflect, edge and wrap.
func padKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data"); err != nil {
		return nil, err
	}
	x := inputs[0]
	rank := len(x.Shape)
	mode := n.AttrString("mode", "constant")
	var pads []int
	value := 0.0
	if opset < 11 {
		pads = attrInts(n, "pads", attrInts(n, "paddings", nil))
		if pads == nil {
			return nil, errors.New("missing attribute pads")
		}
		value = float64(n.AttrFloat("value", 0))
	} else {
		if err := required(inputs, "data", "pads"); err != nil {
			return nil, err
		}
		var err error
		if pads, err = intsOf(inputs[1], "pads"); err != nil {
			return nil, err
		}
		if cv := optional(inputs, 2); cv != nil {
			if value, err = scalarOf(cv, "constant_value"); err != nil {
				return nil, err
			}
		}
		if t := optional(inputs, 3); t != nil {
			if pads, err = padsForAxes(t, pads, rank); err != nil {
				return nil, err
			}
		}
	}
	if len(pads) != 2*rank {
		return nil, fmt.Errorf("pads %v must have 2*rank = %d entries", pads, 2*rank)
	}
	shape := make(ir.Shape, rank)
	for d, size := range x.Shape {
		if abs(int64(pads[d])) > ir.MaxElements || abs(int64(pads[d+rank])) > ir.MaxElements {
			return nil, fmt.Errorf("pads %v are out of range", pads)
		}
		shape[d] = size + pads[d] + pads[d+rank]
		if shape[d] < 0 {
			return nil, fmt.Errorf("pads %v crop more than axis %d of size %d", pads, d, size)
		}
	}
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	strides := x.Shape.Strides()
	offs := make([][]int, rank)
	for d, size := range x.Shape {
		before, outSize := pads[d], shape[d]
		indices := make([]int, outSize)
		for o := range indices {
			i, err := padSource(o-before, size, mode)
			if err != nil {
				return nil, err
			}
			indices[o] = i
		}
		offs[d] = axisOffsets(indices, strides[d])
	}
	out, err := gatherOffsets(x, offs, value)
	return []*ir.Tensor{out}, err
}

// padsForAxes expands pads given for some axes (opset 18) to all axes.
func padsForAxes(axesT *ir.Tensor, pads []int, rank int) ([]int, error) {
	axes, err := intsOf(axesT, "axes")
	if err != nil {
		return nil, err
	}
	if axes, err = normAxes(axes, rank); err != nil {
		return nil, err
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("pads %v must have 2 entries per axis of %v", pads, axes)
	}
	full := make([]int, 2*rank)
	for i, a := range axes {
		full[a], full[a+rank] = pads[i], pads[i+len(axes)]
	}
	return full, nil
}

// padSource maps position i (relative to the start of the original data)
// along an axis of the given size to the index it reads, or -1 for the
// constant.
func padSource(i, size int, mode string) (int, error) {
	if i >= 0 && i < size {
		return i, nil
	}
	if mode != "constant" && size == 0 {
		return 0, fmt.Errorf("cannot %s-pad an empty axis", mode)
	}
	switch mode {
	case "constant":
		return -1, nil
	case "edge":
		return clamp(i, 0, size-1), nil
	case "wrap":
		return ((i % size) + size) % size, nil
	case "reflect":
		if size == 1 {
			return 0, nil
		}
		period := 2 * (size - 1)
		i = ((i % period) + period) % period
		if i >= size {
			i = period - i
		}
		return i, nil
	}
	return 0, fmt.Errorf("unsupported pad mode %q", mode)
}

// scatterNDKernel writes updates into a copy of data at the index tuples
// in the last axis of indices, replacing (or reducing with add, mul, max,
// min from opset 16).
func scatterNDKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "data", "indices", "updates"); err != nil {
		return nil, err
	}
	data, indices, updates := inputs[0], inputs[1], inputs[2]
	if err := sameDType(data, updates); err != nil {
		return nil, err
	}
	if !indices.DType.IsInt() || len(indices.Shape) == 0 {
		return nil, fmt.Errorf("indices must be an integer tensor of rank >= 1, got %v%v", indices.DType, indices.Shape)
	}
	k := indices.Shape[len(indices.Shape)-1]
	if k > len(data.Shape) {
		return nil, fmt.Errorf("index tuples of length %d exceed data rank %d", k, len(data.Shape))
	}
	batch := indices.Shape[:len(indices.Shape)-1]
	want := append(batch.Clone(), data.Shape[k:]...)
	if !updates.Shape.Equal(want) {
		return nil, fmt.Errorf("updates have shape %v, want %v", updates.Shape, want)
	}
	var combine *binaryOp
	switch r := n.AttrString("reduction", "none"); r {
	case "none":
	case "add", "mul", "max", "min":
		op := binaryOps[map[string]string{"add": "Add", "mul": "Mul", "max": "Max", "min": "Min"}[r]]
		combine = &op
	default:
		return nil, fmt.Errorf("unsupported reduction %q", r)
	}
	out := data.Clone()
	strides := data.Shape.Strides()
	block := product(data.Shape[k:])
	for b := 0; b < product(batch); b++ {
		off := 0
		for j, v := range indices.I64[b*k : (b+1)*k] {
			dim := int64(data.Shape[j])
			if v < -dim || v >= dim {
				return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", v, j, dim)
			}
			if v < 0 {
				v += dim
			}
			off += int(v) * strides[j]
		}
		if combine == nil {
			copyElems(out, off, updates, b*block, block)
		} else if err := combineElems(out, off, updates, b*block, block, *combine); err != nil {
			return nil, err
		}
	}
	return []*ir.Tensor{out}, nil
}

// combineElems sets dst[dOff+i] = op(dst[dOff+i], src[sOff+i]) for i < n.
func combineElems(dst *ir.Tensor, dOff int, src *ir.Tensor, sOff, n int, op binaryOp) error {
	for i := 0; i < n; i++ {
		switch {
		case dst.DType == ir.Float32:
			dst.F32[dOff+i] = float32(op.float(float64(dst.F32[dOff+i]), float64(src.F32[sOff+i])))
		case dst.DType == ir.Float64:
			dst.F64[dOff+i] = op.float(dst.F64[dOff+i], src.F64[sOff+i])
		case dst.DType.IsInt():
			v, err := op.int(dst.I64[dOff+i], src.I64[sOff+i])
			if err != nil {
				return err
			}
			dst.I64[dOff+i] = wrapInt(dst.DType, v)
		default:
			return fmt.Errorf("reduction is not supported for dtype %v", dst.DType)
		}
	}
	return nil
}
