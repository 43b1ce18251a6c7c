package ops

import (
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// sourceDefs are the ops whose values are known at compile time.
func sourceDefs() []*Def {
	return []*Def{
		{Op: "Constant", Folded: true, Infer: inferConstant},
		{Op: "ConstantOfShape", Folded: true, Infer: inferConstantOfShape},
		{Op: "Shape", Folded: true, Infer: inferShapeOp},
		{Op: "Size", Folded: true, Infer: inferSize},
		{Op: "Range", Folded: true, Infer: inferRange},
	}
}

// Shape rules of ops whose output data is known from attributes or shapes
// alone (Constant, ConstantOfShape, Shape, Size) or whose output shape
// depends on input values (Range).

// constantAttrs are the attributes of Constant that carry its value.
var constantAttrs = map[string]ir.AttrKind{
	"value": ir.AttrTensor, "value_float": ir.AttrFloat, "value_floats": ir.AttrFloats,
	"value_int": ir.AttrInt, "value_ints": ir.AttrInts,
	"sparse_value": 0, "value_string": 0, "value_strings": 0,
}

func inferConstant(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 0, 0, 1, 1); err != nil {
		return err
	}
	var given []string
	var t *ir.Tensor
	for _, name := range n.AttrNames() {
		kind, ok := constantAttrs[name]
		if !ok {
			continue
		}
		given = append(given, name)
		a := n.Attrs[name]
		if kind == 0 {
			return n.Errorf("attribute %s is not supported", name)
		}
		if a.Kind != kind {
			return n.Errorf("attribute %s has the wrong kind", name)
		}
		switch name {
		case "value":
			t = a.Tensor
		case "value_float":
			t = ir.Scalar(a.Float)
		case "value_floats":
			t = ir.Float32s(ir.Shape{len(a.Floats)}, append([]float32(nil), a.Floats...))
		case "value_int":
			t = ir.Int64s(ir.Shape{}, []int64{a.Int})
		case "value_ints":
			t = ir.Int64s(ir.Shape{len(a.Ints)}, append([]int64(nil), a.Ints...))
		}
	}
	if len(given) != 1 {
		return n.Errorf("needs exactly one value attribute, has %d %v", len(given), given)
	}
	if t == nil {
		return n.Errorf("attribute %s holds no tensor", given[0])
	}
	if err := t.Check(); err != nil {
		return n.Errorf("attribute %s: %v", given[0], err)
	}
	setOutput(n, 0, t.DType, append(ir.Shape{}, t.Shape...))
	ctx.SetKnown(n.Outputs[0], t)
	return nil
}

// inferConstantOfShape: the shape input must be known; the value attribute
// (a one-element tensor, default float32 0) gives the dtype. Small results
// are materialised as known values, large ones only get their shape.
func inferConstantOfShape(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	shape, err := knownShape(ctx, n, 0, "shape")
	if err != nil {
		return err
	}
	if shape.Size() < 0 {
		return n.Errorf("shape %v has more than %d elements", shape, ir.MaxElements)
	}
	fill := ir.Scalar(0)
	if a, ok := n.Attrs["value"]; ok {
		if a.Kind != ir.AttrTensor || a.Tensor == nil {
			return n.Errorf("attribute value must be a tensor")
		}
		if err := a.Tensor.Check(); err != nil {
			return n.Errorf("attribute value: %v", err)
		}
		if a.Tensor.Len() != 1 {
			return n.Errorf("attribute value must hold one element, has shape %v", a.Tensor.Shape)
		}
		fill = a.Tensor
	}
	setOutput(n, 0, fill.DType, shape)
	if ir.Foldable(fill.DType, shape) {
		t, err := splat(fill, shape)
		if err != nil {
			return n.Errorf("%v", err)
		}
		ctx.SetKnown(n.Outputs[0], t)
	}
	return nil
}

// splat returns a tensor of the given shape with every element equal to
// the single element of fill.
func splat(fill *ir.Tensor, shape ir.Shape) (*ir.Tensor, error) {
	t, err := ir.NewTensor(fill.DType, shape)
	if err != nil {
		return nil, err
	}
	for i := range t.F32 {
		t.F32[i] = fill.F32[0]
	}
	for i := range t.F64 {
		t.F64[i] = fill.F64[0]
	}
	for i := range t.I64 {
		t.I64[i] = fill.I64[0]
	}
	for i := range t.B {
		t.B[i] = fill.B[0]
	}
	return t, nil
}

// inferShapeOp: the output is the input's shape (from opset 15 the part
// [start, end), negative values counting from the back, clamped to the
// rank), always a known value.
func inferShapeOp(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	in := n.Inputs[0].Shape
	r := int64(len(in))
	start, end := int64(0), r
	if ctx.Opset >= 15 {
		start, end = n.AttrInt("start", 0), n.AttrInt("end", r)
	}
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = clampInt64(start, 0, r), clampInt64(end, 0, r)
	data := []int64{}
	for i := start; i < end; i++ {
		data = append(data, int64(in[i]))
	}
	setOutput(n, 0, ir.Int64, ir.Shape{len(data)})
	ctx.SetKnown(n.Outputs[0], ir.Int64s(ir.Shape{len(data)}, data))
	return nil
}

func inferSize(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	setOutput(n, 0, ir.Int64, ir.Shape{})
	ctx.SetKnown(n.Outputs[0], ir.Int64s(ir.Shape{}, []int64{int64(n.Inputs[0].Shape.Size())}))
	return nil
}

// inferRange: start, limit and delta must be known scalars; the length is
// max(ceil((limit-start)/delta), 0).
func inferRange(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1, 2); err != nil {
		return err
	}
	var args [3]*ir.Tensor
	for i, what := range [...]string{"start", "limit", "delta"} {
		t, err := ctx.KnownInput(n, i, what)
		if err != nil {
			return err
		}
		if t.Len() != 1 {
			return n.Errorf("input %d (%s) must be a scalar, has shape %v", i, what, t.Shape)
		}
		args[i] = t
	}
	dt := n.Inputs[0].DType
	var count int
	switch {
	case dt.IsInt():
		start, limit, delta := args[0].I64[0], args[1].I64[0], args[2].I64[0]
		if delta == 0 {
			return n.Errorf("delta is 0")
		}
		c := rangeCount(start, limit, delta)
		if c > ir.MaxElements {
			return n.Errorf("range of %d elements is larger than %d", c, ir.MaxElements)
		}
		count = int(c)
	case dt == ir.Float32 || dt == ir.Float64:
		start, limit, delta := args[0].Float(0), args[1].Float(0), args[2].Float(0)
		if delta == 0 {
			return n.Errorf("delta is 0")
		}
		var err error
		if count, err = countFromFloat(n, math.Ceil((limit-start)/delta), "range"); err != nil {
			return err
		}
	default:
		return n.Errorf("unsupported dtype %v", dt)
	}
	setOutput(n, 0, dt, ir.Shape{count})
	return nil
}

// rangeCount is max(ceil((limit-start)/delta), 0) for delta != 0, exact for
// any int64 arguments.
func rangeCount(start, limit, delta int64) uint64 {
	switch {
	case delta > 0 && limit > start:
		return ceilDivU(uint64(limit)-uint64(start), uint64(delta))
	case delta < 0 && limit < start:
		return ceilDivU(uint64(start)-uint64(limit), magnitude(delta))
	}
	return 0
}
