package ops

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// arity checks the number of inputs and outputs of n: inputs
// [0, minIn) must be present, at most maxIn inputs (-1: any), and between
// minOut and maxOut outputs with the first present.
func arity(n *ir.Node, minIn, maxIn, minOut, maxOut int) error {
	if len(n.Inputs) < minIn || (maxIn >= 0 && len(n.Inputs) > maxIn) {
		return n.Errorf("has %d inputs, want %s", len(n.Inputs), countRange(minIn, maxIn))
	}
	for i := 0; i < minIn; i++ {
		if n.Inputs[i] == nil {
			return n.Errorf("required input %d is missing", i)
		}
	}
	if len(n.Outputs) < minOut || (maxOut >= 0 && len(n.Outputs) > maxOut) {
		return n.Errorf("has %d outputs, want %s", len(n.Outputs), countRange(minOut, maxOut))
	}
	if len(n.Outputs) > 0 && n.Outputs[0] == nil {
		return n.Errorf("output 0 is missing")
	}
	return nil
}

func countRange(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d", lo)
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// since wraps the rule of an op that ONNX defines from opset first on;
// nodes of older opsets are unsupported.
func since(first int64, rule ir.InferFunc) ir.InferFunc {
	return func(ctx *ir.InferContext, n *ir.Node) error {
		if ctx.Opset < first {
			return n.Errorf("unsupported op at opset %d (defined from opset %d)", ctx.Opset, first)
		}
		return rule(ctx, n)
	}
}

// setOutput sets the type of output i of n when that output is present.
func setOutput(n *ir.Node, i int, dt ir.DType, s ir.Shape) {
	if i < len(n.Outputs) && n.Outputs[i] != nil {
		n.Outputs[i].DType = dt
		n.Outputs[i].Shape = s
	}
}

// sameDTypes checks that the present inputs of n listed in idx share a dtype.
func sameDTypes(n *ir.Node, idx ...int) error {
	var first *ir.Value
	for _, i := range idx {
		v := n.Input(i)
		if v == nil {
			continue
		}
		if first == nil {
			first = v
		} else if v.DType != first.DType {
			return n.Errorf("inputs %v (%v) and %v (%v) must have the same dtype", first, first.DType, v, v.DType)
		}
	}
	return nil
}

// mulDim multiplies two non-negative sizes, failing when the product
// exceeds MaxElements.
func mulDim(a, b int) (int, bool) {
	if a < 0 || b < 0 || a > ir.MaxElements || b > ir.MaxElements {
		return 0, false
	}
	if a != 0 && b > ir.MaxElements/a {
		return 0, false
	}
	return a * b, true
}

// toDim converts a shape value read from an attribute or known tensor to a
// dimension, which must lie in [0, MaxElements].
func toDim(n *ir.Node, v int64, what string) (int, error) {
	if v < 0 || v > ir.MaxElements {
		return 0, n.Errorf("%s: dimension %d out of range [0, %d]", what, v, ir.MaxElements)
	}
	return int(v), nil
}

// knownShape reads input i of n, whose value must be known, as a shape
// (named what in errors): every dimension in [0, MaxElements].
func knownShape(ctx *ir.InferContext, n *ir.Node, i int, what string) (ir.Shape, error) {
	dims, err := ctx.KnownInts(n, i, what)
	if err != nil {
		return nil, err
	}
	shape := make(ir.Shape, len(dims))
	for j, d := range dims {
		if shape[j], err = toDim(n, d, what); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

// normAxis maps an axis in [-rank, rank-1] to [0, rank-1].
func normAxis(n *ir.Node, axis int64, rank int, what string) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, n.Errorf("%s %d is out of range for rank %d", what, axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// normAxes normalises a list of axes for the given rank, rejecting repeats.
func normAxes(n *ir.Node, axes []int64, rank int, what string) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		ax, err := normAxis(n, a, rank, what)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, n.Errorf("%s %v repeats axis %d", what, axes, ax)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// broadcast applies numpy's multidirectional broadcasting to shapes.
func broadcast(n *ir.Node, shapes ...ir.Shape) (ir.Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(ir.Shape, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, n.Errorf("cannot broadcast shapes %s: dimension %d is %d in one and %d in another",
					shapeList(shapes), off+i-rank, o, d)
			}
		}
	}
	return out, nil
}

// broadcastTo checks that s broadcasts unidirectionally to target.
func broadcastTo(n *ir.Node, s, target ir.Shape, what string) error {
	out, err := broadcast(n, s, target)
	if err != nil || !out.Equal(target) {
		return n.Errorf("%s of shape %v does not broadcast to %v", what, s, target)
	}
	return nil
}

func shapeList(shapes []ir.Shape) string {
	s := ""
	for i, sh := range shapes {
		if i > 0 {
			s += " and "
		}
		s += sh.String()
	}
	return s
}

// attrsBecameInputs rejects a node that carries, at an opset from since on,
// an attribute the op took before since and takes as an input from then:
// attrs[i] became input i+1. Read by the opset's rules the attribute would
// be ignored, and the node would silently compute something else than its
// exporter meant (a ReduceMean over every axis, say).
func attrsBecameInputs(n *ir.Node, opset, since int64, attrs ...string) error {
	if opset < since {
		return nil
	}
	for i, a := range attrs {
		if _, ok := n.Attrs[a]; ok {
			return n.Errorf("attribute %s is not valid at opset %d: from opset %d %s takes it as input %d", a, opset, since, n.Op, i+1)
		}
	}
	return nil
}

// axesArg reads an "axes" argument: from input idx when the node's opset is
// at least since (where an axes attribute is an error), else from the
// "axes" attribute. present says whether it was given at all.
func axesArg(ctx *ir.InferContext, n *ir.Node, since int64, idx int) (axes []int64, present bool, err error) {
	if ctx.Opset >= since {
		if err := attrsBecameInputs(n, ctx.Opset, since, "axes"); err != nil {
			return nil, false, err
		}
		if n.Input(idx) == nil {
			return nil, false, nil
		}
		axes, err = ctx.KnownInts(n, idx, "axes")
		return axes, err == nil, err
	}
	axes, present = n.AttrInts("axes")
	return axes, present, nil
}

// intsAttr reads an ints attribute of count values, each at least lo and
// at most MaxElements, filling def when the attribute is absent.
func intsAttr(n *ir.Node, name string, count int, def int64, lo int64) ([]int, error) {
	vals, ok := n.AttrInts(name)
	if !ok {
		out := make([]int, count)
		for i := range out {
			out[i] = int(def)
		}
		return out, nil
	}
	if len(vals) != count {
		return nil, n.Errorf("attribute %s has %d values, want %d", name, len(vals), count)
	}
	out := make([]int, count)
	for i, v := range vals {
		if v < lo || v > ir.MaxElements {
			return nil, n.Errorf("attribute %s value %d out of range [%d, %d]", name, v, lo, ir.MaxElements)
		}
		out[i] = int(v)
	}
	return out, nil
}

// ceilDivU returns ceil(a/b) for b > 0 without overflow.
func ceilDivU(a, b uint64) uint64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// magnitude returns |v| as a uint64, correct for math.MinInt64 too.
func magnitude(v int64) uint64 {
	if v >= 0 {
		return uint64(v)
	}
	return uint64(-(v + 1)) + 1
}

// clampInt64 limits v to [lo, hi].
func clampInt64(v, lo, hi int64) int64 {
	return min(max(v, lo), hi)
}

// countFromFloat converts a float element count to an int, rejecting NaN and
// counts beyond MaxElements; negative counts become 0.
func countFromFloat(n *ir.Node, f float64, what string) (int, error) {
	if math.IsNaN(f) || f > ir.MaxElements {
		return 0, n.Errorf("%s: element count %v is not in [0, %d]", what, f, ir.MaxElements)
	}
	if f < 0 {
		return 0, nil
	}
	return int(f), nil
}

// int64sToShape converts values to a Shape for comparison; values outside
// the int range of dims become -1, which never matches a real dim.
func int64sToShape(vals []int64) ir.Shape {
	s := make(ir.Shape, len(vals))
	for i, v := range vals {
		s[i] = -1
		if v >= 0 && v <= ir.MaxElements {
			s[i] = int(v)
		}
	}
	return s
}
