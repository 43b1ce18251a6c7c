package interp

import (
	"math"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestArithmetic(t *testing.T) {
	runCases(t, []opCase{
		{name: "add_bcast_row", op: "Add", opset: 14,
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6), f32s(ir.Shape{3}, 10, 20, 30)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 3}, 11, 22, 33, 14, 25, 36)}},
		{name: "add_scalar", op: "Add", opset: 7,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2), ir.Scalar(0.5)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, 1.5, 2.5)}},
		{name: "mul_outer", op: "Mul", opset: 14,
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 1}, 2, 3), f32s(ir.Shape{1, 3}, 1, 10, 100)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 3}, 2, 20, 200, 3, 30, 300)}},
		{name: "sub_int64", op: "Sub", opset: 14,
			inputs: []*ir.Tensor{vec(5, 2, 1), i64s(ir.Shape{}, 1)},
			want:   []*ir.Tensor{vec(4, 1, 0)}},
		{name: "sub_bcast_leading", op: "Sub", opset: 14,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 10), f32s(ir.Shape{2, 2}, 1, 2, 3, 4)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 9, 8, 7, 6)}},
		{name: "div_float", op: "Div", opset: 14,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, -3), f32s(ir.Shape{2}, 4, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, 0.25, -1.5)}},
		{name: "div_int_truncates", op: "Div", opset: 14,
			inputs: []*ir.Tensor{vec(7, -7, 6), vec(2, 2, -4)},
			want:   []*ir.Tensor{vec(3, -3, -1)}},
		{name: "div_int_by_zero", op: "Div", opset: 14,
			inputs: []*ir.Tensor{vec(1), vec(0)}, wantErr: "division by zero"},
		{name: "pow", op: "Pow", opset: 15,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 2, 3, 4), ir.Scalar(2)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 4, 9, 16)}},
		{name: "mismatched_broadcast", op: "Add", opset: 14,
			inputs:  []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6), f32s(ir.Shape{2}, 1, 2)},
			wantErr: "cannot be broadcast"},
		{name: "mixed_dtypes", op: "Mul", opset: 14,
			inputs: []*ir.Tensor{ir.Scalar(1), vec(1)}, wantErr: "different dtypes"},
		{name: "missing_input", op: "Add", opset: 14,
			inputs: []*ir.Tensor{ir.Scalar(1), nil}, wantErr: "missing required input 1"},
		{name: "pow_int_unsupported", op: "Pow", opset: 15,
			inputs: []*ir.Tensor{vec(2), vec(2)}, wantErr: "not supported"},
	})
}

func TestVariadic(t *testing.T) {
	runCases(t, []opCase{
		{name: "sum_three_bcast", op: "Sum", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2), ir.Scalar(10), f32s(ir.Shape{2, 1}, 100, 200)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 111, 112, 211, 212)}},
		{name: "sum_one", op: "Sum", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2)}, want: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2)}},
		{name: "max", op: "Max", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 1, 5, -2), f32s(ir.Shape{3}, 3, 4, -1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 3, 5, -1)}},
		{name: "min_int", op: "Min", opset: 13,
			inputs: []*ir.Tensor{vec(1, 5, -2), vec(3, 4, -1)}, want: []*ir.Tensor{vec(1, 4, -2)}},
		{name: "mean", op: "Mean", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2), f32s(ir.Shape{2}, 3, 5)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, 2, 3.5)}},
	})
}

func TestUnary(t *testing.T) {
	x := f32s(ir.Shape{4}, -2, -0.5, 0, 4)
	runCases(t, []opCase{
		{name: "relu", op: "Relu", opset: 14, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{f32s(ir.Shape{4}, 0, 0, 0, 4)}},
		{name: "neg", op: "Neg", opset: 13, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{f32s(ir.Shape{4}, 2, 0.5, 0, -4)}},
		{name: "abs_int", op: "Abs", opset: 13, inputs: []*ir.Tensor{vec(-3, 0, 2)},
			want: []*ir.Tensor{vec(3, 0, 2)}},
		{name: "sqrt", op: "Sqrt", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 4, 0.25)},
			want: []*ir.Tensor{f32s(ir.Shape{2}, 2, 0.5)}},
		{name: "exp", op: "Exp", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 0, 1)},
			want: []*ir.Tensor{f32s(ir.Shape{2}, 1, float32(math.E))}},
		{name: "sigmoid", op: "Sigmoid", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{3}, 0, float32(math.Log(3)), -1000)},
			want: []*ir.Tensor{f32s(ir.Shape{3}, 0.5, 0.75, 0)}},
		{name: "sqrt_int_unsupported", op: "Sqrt", opset: 13, inputs: []*ir.Tensor{vec(4)},
			wantErr: "not supported"},
		{name: "not", op: "Not", opset: 1, inputs: []*ir.Tensor{bools(ir.Shape{2}, true, false)},
			want: []*ir.Tensor{bools(ir.Shape{2}, false, true)}},
		{name: "not_float", op: "Not", opset: 1, inputs: []*ir.Tensor{x}, wantErr: "must be bool"},
	})
}

func TestPredicates(t *testing.T) {
	runCases(t, []opCase{
		{name: "equal_int", op: "Equal", opset: 13, inputs: []*ir.Tensor{vec(1, 2, 3), i64s(ir.Shape{}, 2)},
			want: []*ir.Tensor{bools(ir.Shape{3}, false, true, false)}},
		{name: "equal_bool", op: "Equal", opset: 13,
			inputs: []*ir.Tensor{bools(ir.Shape{2}, true, false), bools(ir.Shape{2}, true, true)},
			want:   []*ir.Tensor{bools(ir.Shape{2}, true, false)}},
		{name: "less_bcast", op: "Less", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 1}, 1, 3), f32s(ir.Shape{2}, 2, 4)},
			want:   []*ir.Tensor{bools(ir.Shape{2, 2}, true, true, false, true)}},
		{name: "greater", op: "Greater", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 1, 2, 3), ir.Scalar(2)},
			want:   []*ir.Tensor{bools(ir.Shape{3}, false, false, true)}},
		{name: "less_bool_unsupported", op: "Less", opset: 13,
			inputs:  []*ir.Tensor{bools(ir.Shape{1}, true), bools(ir.Shape{1}, false)},
			wantErr: "not supported"},
	})
}

func TestWhere(t *testing.T) {
	runCases(t, []opCase{
		{name: "bcast_three_ways", op: "Where", opset: 16,
			inputs: []*ir.Tensor{bools(ir.Shape{2, 1}, true, false), f32s(ir.Shape{1, 2}, 1, 2), ir.Scalar(9)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 1, 2, 9, 9)}},
		{name: "int64", op: "Where", opset: 16,
			inputs: []*ir.Tensor{bools(ir.Shape{3}, true, false, true), vec(1, 2, 3), vec(-1, -2, -3)},
			want:   []*ir.Tensor{vec(1, -2, 3)}},
		{name: "float_condition", op: "Where", opset: 16,
			inputs: []*ir.Tensor{ir.Scalar(1), ir.Scalar(1), ir.Scalar(2)}, wantErr: "condition must be bool"},
	})
}

func TestClip(t *testing.T) {
	x := f32s(ir.Shape{5}, -3, -1, 0, 1, 3)
	runCases(t, []opCase{
		{name: "opset6_attrs", op: "Clip", opset: 6, attrs: attrs{"min": aFloat(-1), "max": aFloat(2)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{5}, -1, -1, 0, 1, 2)}},
		{name: "opset6_default_max", op: "Clip", opset: 6, attrs: attrs{"min": aFloat(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{5}, 0, 0, 0, 1, 3)}},
		{name: "opset13_inputs", op: "Clip", opset: 13,
			inputs: []*ir.Tensor{x, ir.Scalar(-2), ir.Scalar(0.5)},
			want:   []*ir.Tensor{f32s(ir.Shape{5}, -2, -1, 0, 0.5, 0.5)}},
		{name: "opset13_max_only", op: "Clip", opset: 13,
			inputs: []*ir.Tensor{x, nil, ir.Scalar(0)},
			want:   []*ir.Tensor{f32s(ir.Shape{5}, -3, -1, 0, 0, 0)}},
		{name: "opset13_attrs_ignored", op: "Clip", opset: 13, attrs: attrs{"min": aFloat(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{x}},
		{name: "int64", op: "Clip", opset: 13,
			inputs: []*ir.Tensor{vec(-5, 0, 5), i64s(ir.Shape{}, -1), i64s(ir.Shape{}, 2)},
			want:   []*ir.Tensor{vec(-1, 0, 2)}},
		{name: "bound_not_scalar", op: "Clip", opset: 13,
			inputs: []*ir.Tensor{x, f32s(ir.Shape{2}, 0, 1)}, wantErr: "one element"},
	})
}

func TestCast(t *testing.T) {
	x := f32s(ir.Shape{4}, 1.7, -1.7, 2.5, 0)
	runCases(t, []opCase{
		{name: "f32_to_i32_truncates", op: "Cast", opset: 13, attrs: attrs{"to": aInt(6)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{{DType: ir.Int32, Shape: ir.Shape{4}, I64: []int64{1, -1, 2, 0}}}},
		{name: "f32_to_i64", op: "Cast", opset: 13, attrs: attrs{"to": aInt(7)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{vec(1, -1, 2, 0)}},
		{name: "f32_to_bool", op: "Cast", opset: 13, attrs: attrs{"to": aInt(9)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{bools(ir.Shape{4}, true, true, true, false)}},
		{name: "i64_to_f32", op: "Cast", opset: 13, attrs: attrs{"to": aInt(1)},
			inputs: []*ir.Tensor{vec(3, -4)}, want: []*ir.Tensor{f32s(ir.Shape{2}, 3, -4)}},
		{name: "i64_to_u8_wraps", op: "Cast", opset: 13, attrs: attrs{"to": aInt(2)},
			inputs: []*ir.Tensor{vec(300, -1)}, want: []*ir.Tensor{{DType: ir.Uint8, Shape: ir.Shape{2}, I64: []int64{44, 255}}}},
		{name: "f32_to_f64", op: "Cast", opset: 13, attrs: attrs{"to": aInt(11)},
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 0.5)},
			want:   []*ir.Tensor{{DType: ir.Float64, Shape: ir.Shape{1}, F64: []float64{0.5}}}},
		{name: "bool_to_f32", op: "Cast", opset: 13, attrs: attrs{"to": aInt(1)},
			inputs: []*ir.Tensor{bools(ir.Shape{2}, true, false)}, want: []*ir.Tensor{f32s(ir.Shape{2}, 1, 0)}},
		{name: "to_string", op: "Cast", opset: 13, attrs: attrs{"to": aInt(8)},
			inputs: []*ir.Tensor{x}, wantErr: "unsupported ONNX data type 8"},
		{name: "no_to", op: "Cast", opset: 13, inputs: []*ir.Tensor{x}, wantErr: "missing attribute to"},
	})
}
