package ops

import "github.com/tsmc-go/tsmc/ir"

// layoutDefs are the ops that move data without arithmetic.
func layoutDefs() []*Def {
	return []*Def{
		{Op: "Reshape", Infer: inferReshape, Lower: lowerAlias, Int8: true},
		{Op: "Flatten", Infer: inferFlatten, Lower: lowerAlias, Int8: true},
		{Op: "Transpose", Infer: inferTranspose, Lower: lowerTranspose, Int8: true},
		{Op: "Squeeze", Infer: inferSqueeze, Lower: lowerAlias, Int8: true},
		{Op: "Unsqueeze", Infer: inferUnsqueeze, Lower: lowerAlias, Int8: true},
		{Op: "Concat", Infer: inferConcat, Lower: lowerConcat, Int8: true},
		{Op: "Split", Infer: inferSplit, Lower: lowerSplit, Int8: true},
		{Op: "Slice", Infer: inferSlice, Lower: lowerSlice, Int8: true},
		{Op: "Pad", Infer: inferPad, Lower: lowerPad},
		{Op: "Tile", Infer: inferTile, Lower: lowerTile, Int8: true},
		{Op: "Expand", Infer: inferExpand, Lower: lowerExpand, Int8: true},
		{Op: "Gather", Infer: inferGather, Lower: lowerGather, Int8: true},
		{Op: "ScatterND", Infer: inferScatterND, Lower: lowerScatterND},
	}
}

// Shape rules of ops that move data without arithmetic: reshapes,
// transposes, concatenation, splitting, slicing, padding, gathering.

// inferReshape: the target shape comes from the "shape" attribute before
// opset 5 and from a known input after. 0 copies the input dim (unless
// allowzero=1, opset 14), one -1 takes the remaining size.
func inferReshape(ctx *ir.InferContext, n *ir.Node) error {
	var target []int64
	if ctx.Opset < 5 {
		if err := arity(n, 1, 1, 1, 1); err != nil {
			return err
		}
		var ok bool
		if target, ok = n.AttrInts("shape"); !ok {
			return n.Errorf("missing attribute shape")
		}
	} else {
		if err := arity(n, 2, 2, 1, 1); err != nil {
			return err
		}
		if err := attrsBecameInputs(n, ctx.Opset, 5, "shape"); err != nil {
			return err
		}
		var err error
		if target, err = ctx.KnownInts(n, 1, "shape"); err != nil {
			return err
		}
	}
	x := n.Inputs[0]
	allowZero := ctx.Opset >= 14 && n.AttrInt("allowzero", 0) != 0
	out, err := reshapeTarget(n, x.Shape, target, allowZero)
	if err != nil {
		return err
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

func reshapeTarget(n *ir.Node, in ir.Shape, target []int64, allowZero bool) (ir.Shape, error) {
	out := make(ir.Shape, len(target))
	inferred := -1
	known := 1
	hasZero := false
	for i, d := range target {
		switch {
		case d == -1:
			if inferred >= 0 {
				return nil, n.Errorf("target shape %v has more than one -1", target)
			}
			inferred = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, n.Errorf("target shape %v: 0 at index %d copies a dimension the input %v lacks", target, i, in)
			}
			out[i] = in[i]
		case d < -1 || d > ir.MaxElements:
			return nil, n.Errorf("target shape %v: invalid dimension %d", target, d)
		default:
			out[i] = int(d)
			hasZero = hasZero || d == 0
		}
		var ok bool
		if known, ok = mulDim(known, out[i]); !ok {
			return nil, n.Errorf("target shape %v has more than %d elements", target, ir.MaxElements)
		}
	}
	total := in.Size()
	if inferred >= 0 {
		if hasZero {
			return nil, n.Errorf("target shape %v has both -1 and 0 with allowzero=1", target)
		}
		if known == 0 || total%known != 0 {
			return nil, n.Errorf("cannot reshape %v (%d elements) to %v: the -1 dimension is not a whole number", in, total, target)
		}
		out[inferred] = total / known
	} else if known != total {
		return nil, n.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", in, total, out, known)
	}
	return out, nil
}

// inferFlatten: axis in [-r, r] splits the dims into two products.
func inferFlatten(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	r := int64(len(x.Shape))
	axis := n.AttrInt("axis", 1)
	if axis < -r || axis > r {
		return n.Errorf("axis %d is out of range [%d, %d]", axis, -r, r)
	}
	if axis < 0 {
		axis += r
	}
	setOutput(n, 0, x.DType, ir.Shape{x.Shape[:axis].Size(), x.Shape[axis:].Size()})
	return nil
}

// inferTranspose: perm defaults to reversing the dims.
func inferTranspose(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	perm, err := decodePerm(n)
	if err != nil {
		return err
	}
	out := make(ir.Shape, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// decodePerm reads a Transpose's perm, reversing the dims by default.
func decodePerm(n *ir.Node) ([]int, error) {
	r := len(n.Inputs[0].Shape)
	raw, ok := n.AttrInts("perm")
	if !ok {
		raw = make([]int64, r)
		for i := range raw {
			raw[i] = int64(r - 1 - i)
		}
	}
	if len(raw) != r {
		return nil, n.Errorf("perm %v has %d entries for rank %d", raw, len(raw), r)
	}
	seen := make([]bool, r)
	perm := make([]int, r)
	for i, p := range raw {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, n.Errorf("perm %v is not a permutation of 0..%d", raw, r-1)
		}
		seen[p] = true
		perm[i] = int(p)
	}
	return perm, nil
}

// inferSqueeze: axes from the attribute before opset 13, from an optional
// known input after; without axes every 1-dim goes.
func inferSqueeze(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, axesMaxInputs(ctx, 13), 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	axes, _, err := axesArg(ctx, n, 13, 1)
	if err != nil {
		return err
	}
	drop := make([]bool, len(x.Shape))
	if len(axes) == 0 {
		for i, d := range x.Shape {
			drop[i] = d == 1
		}
	} else {
		ax, err := normAxes(n, axes, len(x.Shape), "axes")
		if err != nil {
			return err
		}
		for _, a := range ax {
			if x.Shape[a] != 1 {
				return n.Errorf("cannot squeeze axis %d of %v: its size is %d, not 1", a, x.Shape, x.Shape[a])
			}
			drop[a] = true
		}
	}
	out := ir.Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// inferUnsqueeze: axes (attribute before opset 13, known input after) are
// positions in the output, negative ones counted from its end.
func inferUnsqueeze(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, axesMaxInputs(ctx, 13), 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	axes, present, err := axesArg(ctx, n, 13, 1)
	if err != nil {
		return err
	}
	if !present {
		return n.Errorf("missing axes")
	}
	rank := len(x.Shape) + len(axes)
	ax, err := normAxes(n, axes, rank, "axes")
	if err != nil {
		return err
	}
	out := make(ir.Shape, rank)
	for _, a := range ax {
		out[a] = -1
	}
	next := 0
	for i := range out {
		if out[i] == -1 {
			out[i] = 1
		} else {
			out[i] = x.Shape[next]
			next++
		}
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// axesMaxInputs is the input count of an op that takes axes as its second
// input from opset since.
func axesMaxInputs(ctx *ir.InferContext, since int64) int {
	if ctx.Opset >= since {
		return 2
	}
	return 1
}

// inferConcat: same dtype and rank, dims equal except along axis (which
// may be negative; before opset 4 it defaults to 1).
func inferConcat(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, -1, 1, 1); err != nil {
		return err
	}
	axis := int64(1)
	if a, ok := n.Attrs["axis"]; ok && a.Kind == ir.AttrInt {
		axis = a.Int
	} else if ctx.Opset >= 4 {
		return n.Errorf("missing attribute axis")
	}
	first := n.Inputs[0]
	ax, err := normAxis(n, axis, len(first.Shape), "axis")
	if err != nil {
		return err
	}
	out := first.Shape.Clone()
	out[ax] = 0
	for i, v := range n.Inputs {
		if v == nil {
			return n.Errorf("input %d is missing", i)
		}
		if v.DType != first.DType {
			return n.Errorf("input %d %v has dtype %v, want %v", i, v, v.DType, first.DType)
		}
		if len(v.Shape) != len(out) {
			return n.Errorf("input %d %v has shape %v, rank differs from %v", i, v, v.Shape, first.Shape)
		}
		for j, d := range v.Shape {
			if j != ax && d != out[j] {
				return n.Errorf("input %d %v has shape %v, which differs from %v outside axis %d", i, v, v.Shape, first.Shape, ax)
			}
		}
		out[ax] += v.Shape[ax]
	}
	setOutput(n, 0, first.DType, out)
	return nil
}

// inferSplit: sizes from the split attribute (before opset 13) or a known
// split input, else num_outputs (opset 18, last part smaller), else equal
// parts, one per output.
func inferSplit(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 2, 1, -1); err != nil {
		return err
	}
	if err := attrsBecameInputs(n, ctx.Opset, 13, "split"); err != nil {
		return err
	}
	x := n.Inputs[0]
	ax, err := normAxis(n, n.AttrInt("axis", 0), len(x.Shape), "axis")
	if err != nil {
		return err
	}
	d, k := x.Shape[ax], len(n.Outputs)
	var split []int64
	have := false
	if n.Input(1) != nil {
		if split, err = ctx.KnownInts(n, 1, "split"); err != nil {
			return err
		}
		have = true
	} else if ctx.Opset < 13 {
		split, have = n.AttrInts("split")
	}
	sizes := make([]int, k)
	_, hasNum := n.Attrs["num_outputs"]
	switch {
	case have:
		if len(split) != k {
			return n.Errorf("split %v has %d sizes for %d outputs", split, len(split), k)
		}
		sum := 0
		for i, s := range split {
			if sizes[i], err = toDim(n, s, "split"); err != nil {
				return err
			}
			sum += sizes[i]
		}
		if sum != d {
			return n.Errorf("split %v sums to %d, but axis %d has size %d", split, sum, ax, d)
		}
	case ctx.Opset >= 18 && hasNum:
		if num := n.AttrInt("num_outputs", 0); num != int64(k) {
			return n.Errorf("num_outputs is %d but the node has %d outputs", num, k)
		}
		chunk := (d + k - 1) / k
		for i := range sizes {
			sizes[i] = chunk
		}
		sizes[k-1] = d - chunk*(k-1)
		if sizes[k-1] < 0 {
			return n.Errorf("cannot split size %d into %d parts of %d", d, k, chunk)
		}
	default:
		if d%k != 0 {
			return n.Errorf("cannot split axis %d of size %d into %d equal parts", ax, d, k)
		}
		for i := range sizes {
			sizes[i] = d / k
		}
	}
	for i, s := range sizes {
		out := x.Shape.Clone()
		out[ax] = s
		setOutput(n, i, x.DType, out)
	}
	return nil
}

// inferSlice: starts, ends and axes are attributes before opset 10, known
// inputs (with optional steps) after. Indices are clamped as the spec says.
func inferSlice(ctx *ir.InferContext, n *ir.Node) error {
	sl, err := decodeSlice(ctx, n)
	if err != nil {
		return err
	}
	out := n.Inputs[0].Shape.Clone()
	for a, c := range sl.count {
		out[a] = c
	}
	setOutput(n, 0, n.Inputs[0].DType, out)
	return nil
}

// slicing is a decoded Slice: per axis of the input, the first index taken,
// the count and the step.
type slicing struct {
	start, count, step []int
}

// decodeSlice reads a Slice's starts, ends, axes and steps (attributes
// before opset 10, known inputs after) and resolves them against the
// input's shape.
func decodeSlice(ctx *ir.InferContext, n *ir.Node) (slicing, error) {
	var starts, ends, axes, steps []int64
	if ctx.Opset < 10 {
		if err := arity(n, 1, 1, 1, 1); err != nil {
			return slicing{}, err
		}
		var ok bool
		if starts, ok = n.AttrInts("starts"); !ok {
			return slicing{}, n.Errorf("missing attribute starts")
		}
		if ends, ok = n.AttrInts("ends"); !ok {
			return slicing{}, n.Errorf("missing attribute ends")
		}
		axes, _ = n.AttrInts("axes")
	} else {
		if err := arity(n, 3, 5, 1, 1); err != nil {
			return slicing{}, err
		}
		if err := attrsBecameInputs(n, ctx.Opset, 10, "starts", "ends", "axes"); err != nil {
			return slicing{}, err
		}
		var err error
		if starts, err = ctx.KnownInts(n, 1, "starts"); err != nil {
			return slicing{}, err
		}
		if ends, err = ctx.KnownInts(n, 2, "ends"); err != nil {
			return slicing{}, err
		}
		if n.Input(3) != nil {
			if axes, err = ctx.KnownInts(n, 3, "axes"); err != nil {
				return slicing{}, err
			}
		}
		if n.Input(4) != nil {
			if steps, err = ctx.KnownInts(n, 4, "steps"); err != nil {
				return slicing{}, err
			}
		}
	}
	x := n.Inputs[0]
	if len(ends) != len(starts) {
		return slicing{}, n.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return slicing{}, n.Errorf("starts %v, axes %v and steps %v differ in length", starts, axes, steps)
	}
	ax, err := normAxes(n, axes, len(x.Shape), "axes")
	if err != nil {
		return slicing{}, err
	}
	rank := len(x.Shape)
	sl := slicing{start: make([]int, rank), count: x.Shape.Clone(), step: make([]int, rank)}
	for a := range sl.step {
		sl.step[a] = 1
	}
	for i, a := range ax {
		if steps[i] == 0 {
			return slicing{}, n.Errorf("step for axis %d is 0", a)
		}
		d := int64(x.Shape[a])
		sl.count[a] = sliceLen(d, starts[i], ends[i], steps[i])
		sl.start[a] = int(sliceStart(d, starts[i], steps[i]))
		sl.step[a] = int(max(min(steps[i], d+1), -d-1))
	}
	return sl, nil
}

// sliceStart is the first index Slice takes from a dim of size d, clamped
// as sliceLen clamps it.
func sliceStart(d, start, step int64) int64 {
	if start < 0 {
		start += d
	}
	if step > 0 {
		return clampInt64(start, 0, d)
	}
	return clampInt64(start, 0, d-1)
}

// sliceLen is the number of elements Slice takes from a dim of size d:
// negative indices count from the end, then start and end are clamped to
// [0, d] for positive steps and to [0, d-1] and [-1, d-1] for negative ones.
func sliceLen(d, start, end, step int64) int {
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	if step > 0 {
		start, end = clampInt64(start, 0, d), clampInt64(end, 0, d)
		if end <= start {
			return 0
		}
		return int(ceilDivU(uint64(end-start), uint64(step)))
	}
	start, end = clampInt64(start, 0, d-1), clampInt64(end, -1, d-1)
	if start <= end {
		return 0
	}
	return int(ceilDivU(uint64(start-end), magnitude(step)))
}

// inferPad: pads from the attribute before opset 11 ("paddings" in opset
// 1), from a known input after, optionally for the given axes (opset 18).
// Negative pads crop.
func inferPad(ctx *ir.InferContext, n *ir.Node) error {
	x := n.Input(0)
	pads, err := decodePads(ctx, n)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	out := x.Shape.Clone()
	for a := range out {
		d := int64(out[a]) + int64(pads[a]) + int64(pads[a+r])
		if d < 0 {
			return n.Errorf("pads %v make axis %d of size %d negative", pads, a, out[a])
		}
		out[a] = int(d)
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// decodePads reads a Pad's pads (attribute before opset 11, "paddings" in
// opset 1, a known input after, for the given axes from opset 18) as
// begins then ends of every axis of the input.
func decodePads(ctx *ir.InferContext, n *ir.Node) ([]int, error) {
	x := n.Input(0)
	var pads []int64
	var axes []int
	if ctx.Opset < 11 {
		if err := arity(n, 1, 1, 1, 1); err != nil {
			return nil, err
		}
		name := "pads"
		if ctx.Opset < 2 {
			name = "paddings"
		}
		var ok bool
		if pads, ok = n.AttrInts(name); !ok {
			return nil, n.Errorf("missing attribute %s", name)
		}
	} else {
		if err := arity(n, 2, 4, 1, 1); err != nil {
			return nil, err
		}
		if err := attrsBecameInputs(n, ctx.Opset, 11, "pads", "value"); err != nil {
			return nil, err
		}
		var err error
		if pads, err = ctx.KnownInts(n, 1, "pads"); err != nil {
			return nil, err
		}
		if v := n.Input(2); v != nil && v.DType != x.DType {
			return nil, n.Errorf("constant_value %v has dtype %v, want %v", v, v.DType, x.DType)
		}
		if ctx.Opset >= 18 && n.Input(3) != nil {
			a, err := ctx.KnownInts(n, 3, "axes")
			if err != nil {
				return nil, err
			}
			if axes, err = normAxes(n, a, len(x.Shape), "axes"); err != nil {
				return nil, err
			}
		}
	}
	r := len(x.Shape)
	if axes == nil {
		axes = make([]int, r)
		for i := range axes {
			axes[i] = i
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, n.Errorf("pads %v has %d values, want %d", pads, len(pads), 2*len(axes))
	}
	full := make([]int, 2*r)
	for i, a := range axes {
		begin, end := pads[i], pads[i+len(axes)]
		if magnitude(begin) > ir.MaxElements || magnitude(end) > ir.MaxElements {
			return nil, n.Errorf("pads %v: value out of range", pads)
		}
		full[a], full[a+r] = int(begin), int(end)
	}
	return full, nil
}

// inferTile: known repeats, one per dim (Tile-1 before opset 6: a scalar
// tile count and axis).
func inferTile(ctx *ir.InferContext, n *ir.Node) error {
	var reps []int64
	x := n.Input(0)
	if ctx.Opset < 6 {
		if err := arity(n, 3, 3, 1, 1); err != nil {
			return err
		}
		tiles, err := ctx.KnownInts(n, 1, "tiles")
		if err != nil {
			return err
		}
		axis, err := ctx.KnownInts(n, 2, "axis")
		if err != nil {
			return err
		}
		if len(tiles) != 1 || len(axis) != 1 {
			return n.Errorf("tiles %v and axis %v must be scalars", tiles, axis)
		}
		ax, err := normAxis(n, axis[0], len(x.Shape), "axis")
		if err != nil {
			return err
		}
		reps = make([]int64, len(x.Shape))
		for i := range reps {
			reps[i] = 1
		}
		reps[ax] = tiles[0]
	} else {
		if err := arity(n, 2, 2, 1, 1); err != nil {
			return err
		}
		var err error
		if reps, err = ctx.KnownInts(n, 1, "repeats"); err != nil {
			return err
		}
	}
	if len(reps) != len(x.Shape) {
		return n.Errorf("repeats %v has %d values for rank %d", reps, len(reps), len(x.Shape))
	}
	out := make(ir.Shape, len(reps))
	for i, r := range reps {
		rep, err := toDim(n, r, "repeats")
		if err != nil {
			return err
		}
		var ok bool
		if out[i], ok = mulDim(x.Shape[i], rep); !ok {
			return n.Errorf("tiling %v by %v exceeds %d elements", x.Shape, reps, ir.MaxElements)
		}
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// inferExpand broadcasts the input with the known shape input, both ways.
func inferExpand(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	shape, err := knownShape(ctx, n, 1, "shape")
	if err != nil {
		return err
	}
	x := n.Inputs[0]
	out, err := broadcast(n, x.Shape, shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// inferGather: data[:axis] + indices + data[axis+1:]. Known indices are
// checked against the axis size (negative ones count from the end).
func inferGather(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	data, idx := n.Inputs[0], n.Inputs[1]
	if !idx.DType.IsInt() {
		return n.Errorf("indices %v must be integers, has dtype %v", idx, idx.DType)
	}
	ax, err := normAxis(n, n.AttrInt("axis", 0), len(data.Shape), "axis")
	if err != nil {
		return err
	}
	if t := ctx.Known(idx); t != nil {
		d := int64(data.Shape[ax])
		for _, i := range t.I64 {
			if i < -d || i >= d {
				return n.Errorf("index %d is out of range for axis %d of size %d", i, ax, d)
			}
		}
	}
	out := append(ir.Shape{}, data.Shape[:ax]...)
	out = append(out, idx.Shape...)
	out = append(out, data.Shape[ax+1:]...)
	setOutput(n, 0, data.DType, out)
	return nil
}

// inferScatterND: the output is the data's type; indices and updates are
// checked against it.
func inferScatterND(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	data, idx, upd := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if !idx.DType.IsInt() {
		return n.Errorf("indices %v must be integers, has dtype %v", idx, idx.DType)
	}
	if err := sameDTypes(n, 0, 2); err != nil {
		return err
	}
	q := len(idx.Shape)
	if q == 0 {
		return n.Errorf("indices %v must have rank >= 1", idx)
	}
	k := idx.Shape[q-1]
	if k > len(data.Shape) {
		return n.Errorf("indices %v of shape %v index %d dims of data with rank %d", idx, idx.Shape, k, len(data.Shape))
	}
	want := append(ir.Shape{}, idx.Shape[:q-1]...)
	want = append(want, data.Shape[k:]...)
	if !upd.Shape.Equal(want) {
		return n.Errorf("updates %v has shape %v, want %v", upd, upd.Shape, want)
	}
	setOutput(n, 0, data.DType, data.Shape.Clone())
	return nil
}

// lowerAlias lowers a reshape (and Identity, Dropout): the output is a
// view of the input.
func lowerAlias(l Lowering, n *ir.Node) error { return l.Alias() }

// lowerSlice lowers a Slice that keeps everything as a view, one that
// takes a contiguous range of one axis (the online models' state outputs)
// as a channel copy (of floats or bytes), and any other as a
// runtime.Slice (float32 only).
func lowerSlice(l Lowering, n *ir.Node) error {
	sl, err := decodeSlice(ir.ConstContext(l.Opset()), n)
	if err != nil {
		return err
	}
	in := n.Input(0).Shape
	axis, ranges := -1, 0
	for a := range in {
		if sl.count[a] == in[a] && (sl.step[a] == 1 || in[a] <= 1) {
			continue
		}
		axis, ranges = a, ranges+1
		if sl.step[a] != 1 {
			ranges = 2 // not a range
		}
	}
	if axis < 0 {
		return l.Alias()
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	if out.Floats() == 0 {
		return nil
	}
	if ranges == 1 {
		count := sl.count[axis]
		l.Run(Fn("CopyChannels", out, count, 0, ins[0], in[axis], sl.start[axis], count, in[:axis].Size(), in[axis+1:].Size()))
		return nil
	}
	s := l.Object("slice", "Slice", "NewSlice", []int(in), sl.start, sl.count, sl.step)
	l.Run(Method(s, runMethod(n), Pool, ins[0], out))
	return nil
}

// lowerConcat copies each input into its range of the output's axis (of
// floats or bytes).
func lowerConcat(l Lowering, n *ir.Node) error {
	shape := n.Outputs[0].Shape
	axis, err := normAxis(n, n.AttrInt("axis", 1), len(shape), "axis")
	if err != nil {
		return err
	}
	idx := make([]int, len(n.Inputs))
	for k := range idx {
		idx[k] = k
	}
	ins, out, err := operands(l, idx...)
	if err != nil {
		return err
	}
	outer, inner := shape[:axis].Size(), shape[axis+1:].Size()
	begin := 0
	for k, v := range n.Inputs {
		if d := v.Shape[axis]; d > 0 && ins[k].Floats() > 0 {
			l.Run(Fn("CopyChannels", out, shape[axis], begin, ins[k], d, 0, d, outer, inner))
		}
		begin += v.Shape[axis]
	}
	return nil
}

// runMethod is the Run method of the runtime's data movement objects
// for n's data: RunBytes on a quantised tensor.
func runMethod(n *ir.Node) string {
	if quantByte(n.Input(0).DType) {
		return "RunBytes"
	}
	return "Run"
}

// lowerTranspose runs a runtime.Transpose.
func lowerTranspose(l Lowering, n *ir.Node) error {
	perm, err := decodePerm(n)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	t := l.Object("transpose", "Transpose", "NewTranspose", []int(n.Input(0).Shape), perm)
	l.Run(Method(t, runMethod(n), Pool, ins[0], out))
	return nil
}

// lowerSplit copies each output's range of the split axis, read off the
// inferred output shapes.
func lowerSplit(l Lowering, n *ir.Node) error {
	in := n.Input(0).Shape
	axis, err := normAxis(n, n.AttrInt("axis", 0), len(in), "axis")
	if err != nil {
		return err
	}
	x, err := l.In(0)
	if err != nil {
		return err
	}
	outer, inner := in[:axis].Size(), in[axis+1:].Size()
	begin := 0
	for k, v := range n.Outputs {
		if v == nil {
			continue
		}
		out, err := l.Out(k)
		if err != nil {
			return err
		}
		if d := v.Shape[axis]; out.Floats() > 0 {
			l.Run(Fn("CopyChannels", out, d, 0, x, in[axis], begin, d, outer, inner))
		}
		begin += v.Shape[axis]
	}
	return nil
}

// padModes are the runtime.Pad modes of Pad's mode attribute.
var padModes = map[string]Named{"constant": "PadConstant", "reflect": "PadReflect", "edge": "PadEdge", "wrap": "PadWrap"}

// PadArgs reads a Pad node as a constant-free rewrite needs it: its pads
// (begins then ends of every axis), its mode and its constant value.
func PadArgs(n *ir.Node, opset int64) (pads []int, mode string, value float32, err error) {
	ctx := ir.ConstContext(opset)
	if pads, err = decodePads(ctx, n); err != nil {
		return nil, "", 0, err
	}
	mode = n.AttrString("mode", "constant")
	value = n.AttrFloat("value", 0)
	if opset >= 11 && n.Input(2) != nil {
		t := ctx.Known(n.Input(2))
		if t == nil || t.Len() != 1 || t.DType != ir.Float32 {
			return nil, "", 0, n.Errorf("constant_value %v must be a float32 scalar constant", n.Input(2))
		}
		value = t.F32[0]
	}
	return pads, mode, value, nil
}

// lowerPad runs a runtime.Pad.
func lowerPad(l Lowering, n *ir.Node) error {
	pads, modeName, value, err := PadArgs(n, l.Opset())
	if err != nil {
		return err
	}
	mode, ok := padModes[modeName]
	if !ok {
		return n.Errorf("unknown mode %q", modeName)
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	p := l.Object("pad", "Pad", "NewPad", []int(n.Input(0).Shape), pads, mode, value)
	l.Run(Method(p, "Run", Pool, ins[0], out))
	return nil
}

// lowerTile runs a runtime.Repeat; the repeats are read off the inferred
// output shape.
func lowerTile(l Lowering, n *ir.Node) error {
	in, outShape := n.Input(0).Shape, n.Outputs[0].Shape
	reps := make([]int, len(in))
	for a := range in {
		reps[a] = 1
		if in[a] > 0 {
			reps[a] = outShape[a] / in[a]
		}
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	r := l.Object("tile", "Repeat", "NewRepeat", []int(in), reps)
	l.Run(Method(r, runMethod(n), Pool, ins[0], out))
	return nil
}

// lowerExpand runs a runtime.Expand to the inferred output shape.
func lowerExpand(l Lowering, n *ir.Node) error {
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	e := l.Object("expand", "Expand", "NewExpand", []int(n.Input(0).Shape), []int(n.Outputs[0].Shape))
	l.Run(Method(e, runMethod(n), Pool, ins[0], out))
	return nil
}

// lowerGather runs a runtime.Gather of constant indices.
func lowerGather(l Lowering, n *ir.Node) error {
	data, idx := n.Input(0), n.Input(1)
	axis, err := normAxis(n, n.AttrInt("axis", 0), len(data.Shape), "axis")
	if err != nil {
		return err
	}
	if !idx.IsConst() {
		return n.Errorf("indices %v must be a constant: gathering at run-time indices is not supported", idx)
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	g := l.Object("gather", "Gather", "NewGather", []int(data.Shape), axis, idx.Const.I64, []int(idx.Shape))
	l.Run(Method(g, runMethod(n), Pool, ins[0], out))
	return nil
}

// scatterReductions are the runtime reductions of ScatterND's reduction
// attribute.
var scatterReductions = map[string]Named{"none": "ScatterNone", "add": "ScatterAdd", "mul": "ScatterMul", "max": "ScatterMax", "min": "ScatterMin"}

// lowerScatterND runs a runtime.ScatterND of constant indices.
func lowerScatterND(l Lowering, n *ir.Node) error {
	data, idx := n.Input(0), n.Input(1)
	if !idx.IsConst() {
		return n.Errorf("indices %v must be a constant: scattering to run-time indices is not supported", idx)
	}
	red, ok := scatterReductions[n.AttrString("reduction", "none")]
	if !ok {
		return n.Errorf("unknown reduction %q", n.AttrString("reduction", ""))
	}
	ins, out, err := operands(l, 0, 2)
	if err != nil {
		return err
	}
	s := l.Object("scatter", "ScatterND", "NewScatterND", []int(data.Shape), idx.Const.I64, []int(idx.Shape), red)
	l.Run(Method(s, "Run", Pool, ins[0], ins[1], out))
	return nil
}
