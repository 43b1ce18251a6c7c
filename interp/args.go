package interp

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// required checks that the inputs named by names (in order) are present.
func required(inputs []*ir.Tensor, names ...string) error {
	for i, name := range names {
		if i >= len(inputs) || inputs[i] == nil {
			return fmt.Errorf("missing required input %d (%s)", i, name)
		}
	}
	return nil
}

// optional returns input i, or nil when it is absent.
func optional(inputs []*ir.Tensor, i int) *ir.Tensor {
	if i < len(inputs) {
		return inputs[i]
	}
	return nil
}

// requireFloat32 checks that t holds float32 data.
func requireFloat32(t *ir.Tensor, what string) error {
	if t.DType != ir.Float32 {
		return fmt.Errorf("%s must be f32, got %v", what, t.DType)
	}
	return nil
}

// requireRank checks t's rank.
func requireRank(t *ir.Tensor, rank int, what string) error {
	if len(t.Shape) != rank {
		return fmt.Errorf("%s must have rank %d, got shape %v", what, rank, t.Shape)
	}
	return nil
}

// sameDType checks that all tensors share one dtype.
func sameDType(ts ...*ir.Tensor) error {
	for _, t := range ts[1:] {
		if t.DType != ts[0].DType {
			return fmt.Errorf("operands have different dtypes %v and %v", ts[0].DType, t.DType)
		}
	}
	return nil
}

// intsOf reads an integer tensor (shape, axes, pads, ...) as ints.
func intsOf(t *ir.Tensor, what string) ([]int, error) {
	if !t.DType.IsInt() {
		return nil, fmt.Errorf("%s must be an integer tensor, got %v", what, t.DType)
	}
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("%s must be 1-D, got shape %v", what, t.Shape)
	}
	return toInts(t.I64), nil
}

// scalarOf reads a one-element tensor as float64.
func scalarOf(t *ir.Tensor, what string) (float64, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must hold one element, got shape %v", what, t.Shape)
	}
	return t.Float(0), nil
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// attrInts returns an ints attribute as ints, or def when absent.
func attrInts(n *ir.Node, name string, def []int) []int {
	if v, ok := n.AttrInts(name); ok {
		return toInts(v)
	}
	return def
}

// repeatInt returns a slice of n copies of v.
func repeatInt(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// normAxis turns a possibly negative axis into [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// normAxes normalises a list of axes and rejects duplicates.
func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := map[int]bool{}
	for i, a := range axes {
		na, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[na] {
			return nil, fmt.Errorf("axis %d is repeated in %v", a, axes)
		}
		seen[na] = true
		out[i] = na
	}
	return out, nil
}

// product multiplies dims.
func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// checkShape rejects output shapes with negative dimensions or more than
// ir.MaxElements elements; kernels call it before building index tables.
func checkShape(shape ir.Shape) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("invalid output shape %v", shape)
		}
	}
	if shape.Size() < 0 {
		return fmt.Errorf("output shape %v has more than %d elements", shape, ir.MaxElements)
	}
	return nil
}

// alloc allocates a zeroed tensor, failing on negative or huge shapes.
func alloc(dt ir.DType, shape ir.Shape) (*ir.Tensor, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	return ir.NewTensor(dt, shape)
}

// reshaped returns a tensor sharing t's storage with another shape of the
// same size.
func reshaped(t *ir.Tensor, shape ir.Shape) *ir.Tensor {
	r := *t
	r.Shape = shape.Clone()
	return &r
}

// onnxDTypes maps ONNX TensorProto.DataType codes to tsmc dtypes.
var onnxDTypes = map[int64]ir.DType{
	1:  ir.Float32,
	2:  ir.Uint8,
	3:  ir.Int8,
	5:  ir.Int16,
	6:  ir.Int32,
	7:  ir.Int64,
	9:  ir.Bool,
	11: ir.Float64,
}

// dtypeFromONNX decodes a data type attribute such as Cast's "to".
func dtypeFromONNX(code int64) (ir.DType, error) {
	if dt, ok := onnxDTypes[code]; ok {
		return dt, nil
	}
	return ir.Undefined, fmt.Errorf("unsupported ONNX data type %d", code)
}

// fill converts v to t's element type and writes it to every element.
func fill(t *ir.Tensor, v float64) {
	switch {
	case t.DType == ir.Float32:
		for i := range t.F32 {
			t.F32[i] = float32(v)
		}
	case t.DType == ir.Float64:
		for i := range t.F64 {
			t.F64[i] = v
		}
	case t.DType.IsInt():
		for i := range t.I64 {
			t.I64[i] = wrapInt(t.DType, truncToInt(v))
		}
	case t.DType == ir.Bool:
		for i := range t.B {
			t.B[i] = v != 0
		}
	}
}

// truncToInt converts a float to an integer, rounding toward zero; NaN
// becomes 0 and infinities saturate.
func truncToInt(v float64) int64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}

// wrapInt reduces v to the range of the integer dtype dt, as a C cast does.
func wrapInt(dt ir.DType, v int64) int64 {
	switch dt {
	case ir.Int32:
		return int64(int32(v))
	case ir.Int16:
		return int64(int16(v))
	case ir.Int8:
		return int64(int8(v))
	case ir.Uint8:
		return int64(uint8(v))
	}
	return v
}
