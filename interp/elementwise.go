package interp

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime/fma"
)

// Elementwise kernels compute float32 and float64 in float64 and round once,
// which for + - * / and sqrt gives exactly the float32 result.

// unaryOp is an elementwise function of one tensor.
type unaryOp struct {
	float func(x float64) float64
	int   func(x int64) int64 // nil when the op is defined on floats only
	// f32, where set, is the function on float32 tensors, when it is
	// defined by its float32 arithmetic rather than as float rounded
	f32 func(x float32) float32
}

func relu(x float64) float64 {
	if x < 0 {
		return 0
	}
	return x
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

var unaryOps = map[string]unaryOp{
	"Relu":       {relu, func(x int64) int64 { return max(x, 0) }, nil},
	"Neg":        {func(x float64) float64 { return -x }, func(x int64) int64 { return -x }, nil},
	"Abs":        {math.Abs, abs, nil},
	"Exp":        {math.Exp, nil, nil},
	"Log":        {math.Log, nil, nil},
	"Sqrt":       {math.Sqrt, nil, nil},
	"Tanh":       {math.Tanh, nil, nil},
	"Floor":      {math.Floor, nil, nil},
	"Ceil":       {math.Ceil, nil, nil},
	"Reciprocal": {func(x float64) float64 { return 1 / x }, nil, nil},
	// Sigmoid on float32 is onnxruntime's, whose rounding decides
	// quantised gates (fma.Sigmoid)
	"Sigmoid": {func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, nil, fma.Sigmoid},
}

func (op unaryOp) apply(x *ir.Tensor) (*ir.Tensor, error) {
	out, err := alloc(x.DType, x.Shape)
	if err != nil {
		return nil, err
	}
	switch {
	case x.DType == ir.Float32 && op.f32 != nil:
		for i, v := range x.F32 {
			out.F32[i] = op.f32(v)
		}
	case x.DType == ir.Float32:
		for i, v := range x.F32 {
			out.F32[i] = float32(op.float(float64(v)))
		}
	case x.DType == ir.Float64:
		for i, v := range x.F64 {
			out.F64[i] = op.float(v)
		}
	case x.DType.IsInt() && op.int != nil:
		for i, v := range x.I64 {
			out.I64[i] = wrapInt(x.DType, op.int(v))
		}
	default:
		return nil, fmt.Errorf("dtype %v is not supported", x.DType)
	}
	return out, nil
}

func unaryKernel(op unaryOp) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "X"); err != nil {
			return nil, err
		}
		out, err := op.apply(inputs[0])
		return []*ir.Tensor{out}, err
	}
}

// binaryOp is an elementwise function of two tensors of one dtype, with
// numpy broadcasting.
type binaryOp struct {
	float func(x, y float64) float64
	int   func(x, y int64) (int64, error) // nil when floats only
}

var errDivideByZero = errors.New("integer division by zero")

var binaryOps = map[string]binaryOp{
	"Add": {
		func(x, y float64) float64 { return x + y },
		func(x, y int64) (int64, error) { return x + y, nil },
	},
	"Sub": {
		func(x, y float64) float64 { return x - y },
		func(x, y int64) (int64, error) { return x - y, nil },
	},
	"Mul": {
		func(x, y float64) float64 { return x * y },
		func(x, y int64) (int64, error) { return x * y, nil },
	},
	"Div": {
		func(x, y float64) float64 { return x / y },
		func(x, y int64) (int64, error) {
			if y == 0 {
				return 0, errDivideByZero
			}
			return x / y, nil // truncates toward zero
		},
	},
	"Pow": {math.Pow, nil},
	"Max": {math.Max, func(x, y int64) (int64, error) { return max(x, y), nil }},
	"Min": {math.Min, func(x, y int64) (int64, error) { return min(x, y), nil }},
}

func (op binaryOp) apply(a, b *ir.Tensor) (*ir.Tensor, error) {
	if err := sameDType(a, b); err != nil {
		return nil, err
	}
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out, err := alloc(a.DType, shape)
	if err != nil {
		return nil, err
	}
	strides := [][]int{broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape)}
	switch {
	case a.DType == ir.Float32:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.F32[i] = float32(op.float(float64(a.F32[o[0]]), float64(b.F32[o[1]])))
		})
	case a.DType == ir.Float64:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.F64[i] = op.float(a.F64[o[0]], b.F64[o[1]])
		})
	case a.DType.IsInt() && op.int != nil:
		var firstErr error
		forEachBroadcast(shape, strides, func(i int, o []int) {
			v, err := op.int(a.I64[o[0]], b.I64[o[1]])
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out.I64[i] = wrapInt(a.DType, v)
		})
		if firstErr != nil {
			return nil, firstErr
		}
	default:
		return nil, fmt.Errorf("dtype %v is not supported", a.DType)
	}
	return out, nil
}

func binaryKernel(op binaryOp) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "A", "B"); err != nil {
			return nil, err
		}
		out, err := op.apply(inputs[0], inputs[1])
		return []*ir.Tensor{out}, err
	}
}

// variadicKernel folds op over one or more inputs (Sum, Max, Min); with
// mean set it divides the sum by the input count (Mean).
func variadicKernel(op binaryOp, mean bool) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "data_0"); err != nil {
			return nil, err
		}
		acc := inputs[0]
		for i, t := range inputs[1:] {
			if t == nil {
				return nil, fmt.Errorf("input %d is empty", i+1)
			}
			var err error
			if acc, err = op.apply(acc, t); err != nil {
				return nil, err
			}
		}
		if mean {
			count := float64(len(inputs))
			var err error
			acc, err = unaryOp{float: func(x float64) float64 { return x / count }}.apply(acc)
			if err != nil {
				return nil, err
			}
		}
		if acc == inputs[0] {
			acc = acc.Clone()
		}
		return []*ir.Tensor{acc}, nil
	}
}

// predicateOp is an elementwise comparison or logical op with a bool result.
type predicateOp struct {
	float func(x, y float64) bool
	int   func(x, y int64) bool
	bool  func(x, y bool) bool
}

var predicateOps = map[string]predicateOp{
	"Equal": {
		func(x, y float64) bool { return x == y },
		func(x, y int64) bool { return x == y },
		func(x, y bool) bool { return x == y },
	},
	"Less": {
		func(x, y float64) bool { return x < y },
		func(x, y int64) bool { return x < y },
		nil,
	},
	"LessOrEqual": {
		func(x, y float64) bool { return x <= y },
		func(x, y int64) bool { return x <= y },
		nil,
	},
	"Greater": {
		func(x, y float64) bool { return x > y },
		func(x, y int64) bool { return x > y },
		nil,
	},
	"GreaterOrEqual": {
		func(x, y float64) bool { return x >= y },
		func(x, y int64) bool { return x >= y },
		nil,
	},
	"And": {bool: func(x, y bool) bool { return x && y }},
	"Or":  {bool: func(x, y bool) bool { return x || y }},
	"Xor": {bool: func(x, y bool) bool { return x != y }},
}

func (op predicateOp) apply(a, b *ir.Tensor) (*ir.Tensor, error) {
	if err := sameDType(a, b); err != nil {
		return nil, err
	}
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out, err := alloc(ir.Bool, shape)
	if err != nil {
		return nil, err
	}
	strides := [][]int{broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape)}
	switch {
	case a.DType == ir.Float32 && op.float != nil:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.B[i] = op.float(float64(a.F32[o[0]]), float64(b.F32[o[1]]))
		})
	case a.DType == ir.Float64 && op.float != nil:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.B[i] = op.float(a.F64[o[0]], b.F64[o[1]])
		})
	case a.DType.IsInt() && op.int != nil:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.B[i] = op.int(a.I64[o[0]], b.I64[o[1]])
		})
	case a.DType == ir.Bool && op.bool != nil:
		forEachBroadcast(shape, strides, func(i int, o []int) {
			out.B[i] = op.bool(a.B[o[0]], b.B[o[1]])
		})
	default:
		return nil, fmt.Errorf("dtype %v is not supported", a.DType)
	}
	return out, nil
}

func predicateKernel(op predicateOp) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "A", "B"); err != nil {
			return nil, err
		}
		out, err := op.apply(inputs[0], inputs[1])
		return []*ir.Tensor{out}, err
	}
}

func notKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "X"); err != nil {
		return nil, err
	}
	x := inputs[0]
	if x.DType != ir.Bool {
		return nil, fmt.Errorf("X must be bool, got %v", x.DType)
	}
	out, err := alloc(ir.Bool, x.Shape)
	if err != nil {
		return nil, err
	}
	for i, v := range x.B {
		out.B[i] = !v
	}
	return []*ir.Tensor{out}, nil
}

// whereKernel: Y = condition ? X : Y, broadcasting all three.
func whereKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "condition", "X", "Y"); err != nil {
		return nil, err
	}
	cond, x, y := inputs[0], inputs[1], inputs[2]
	if cond.DType != ir.Bool {
		return nil, fmt.Errorf("condition must be bool, got %v", cond.DType)
	}
	if err := sameDType(x, y); err != nil {
		return nil, err
	}
	shape, err := broadcastShape(cond.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	out, err := alloc(x.DType, shape)
	if err != nil {
		return nil, err
	}
	strides := [][]int{
		broadcastStrides(cond.Shape, shape),
		broadcastStrides(x.Shape, shape),
		broadcastStrides(y.Shape, shape),
	}
	forEachBroadcast(shape, strides, func(i int, o []int) {
		if cond.B[o[0]] {
			copyElems(out, i, x, o[1], 1)
		} else {
			copyElems(out, i, y, o[2], 1)
		}
	})
	return []*ir.Tensor{out}, nil
}

// clipKernel bounds X to [min, max]: attributes before opset 11, optional
// scalar inputs of X's dtype from 11 on.
func clipKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	x := inputs[0]
	var bounds [2]*ir.Tensor // min, max
	if opset >= 11 {
		for i := range bounds {
			t := optional(inputs, i+1)
			if t == nil {
				continue
			}
			if t.DType != x.DType {
				return nil, fmt.Errorf("bound %d has dtype %v, input has %v", i+1, t.DType, x.DType)
			}
			if t.Len() != 1 {
				return nil, fmt.Errorf("bound %d must hold one element, got shape %v", i+1, t.Shape)
			}
			bounds[i] = t
		}
	}
	if x.DType.IsInt() {
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if bounds[0] != nil {
			lo = bounds[0].I64[0]
		}
		if bounds[1] != nil {
			hi = bounds[1].I64[0]
		}
		out := x.Clone()
		for i, v := range out.I64 {
			out.I64[i] = min(max(v, lo), hi)
		}
		return []*ir.Tensor{out}, nil
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if opset < 11 {
		lo = float64(n.AttrFloat("min", -math.MaxFloat32))
		hi = float64(n.AttrFloat("max", math.MaxFloat32))
	}
	if bounds[0] != nil {
		lo = bounds[0].Float(0)
	}
	if bounds[1] != nil {
		hi = bounds[1].Float(0)
	}
	out, err := unaryOp{float: func(v float64) float64 {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		return v
	}}.apply(x)
	return []*ir.Tensor{out}, err
}

// castTo converts x to dtype to, as Cast does.
func castTo(x *ir.Tensor, to ir.DType) (*ir.Tensor, error) {
	out, err := alloc(to, x.Shape)
	if err != nil {
		return nil, err
	}
	for i := range x.Len() {
		switch {
		case to == ir.Float32 && x.DType.IsInt():
			out.F32[i] = float32(x.I64[i])
		case to == ir.Float32:
			out.F32[i] = float32(x.Float(i))
		case to == ir.Float64:
			out.F64[i] = x.Float(i)
		case to.IsInt() && x.DType.IsInt():
			out.I64[i] = wrapInt(to, x.I64[i])
		case to.IsInt():
			out.I64[i] = wrapInt(to, truncToInt(x.Float(i)))
		case to == ir.Bool && x.DType.IsInt():
			out.B[i] = x.I64[i] != 0
		case to == ir.Bool:
			out.B[i] = x.Float(i) != 0
		}
	}
	return out, nil
}

// castLikeKernel is Cast to the dtype of the second input.
func castLikeKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input", "target_type"); err != nil {
		return nil, err
	}
	out, err := castTo(inputs[0], inputs[1].DType)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// castKernel converts to the dtype of attribute "to": floats to integers
// truncate toward zero and wrap to the target width; anything non-zero is
// true.
func castKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "input"); err != nil {
		return nil, err
	}
	x := inputs[0]
	if _, ok := n.Attrs["to"]; !ok {
		return nil, errors.New("missing attribute to")
	}
	to, err := dtypeFromONNX(n.AttrInt("to", 0))
	if err != nil {
		return nil, err
	}
	out, err := castTo(x, to)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}
