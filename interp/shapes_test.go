package interp

import (
	"math"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestReshapeFamily(t *testing.T) {
	x := seqF32(ir.Shape{2, 3, 4}, 0)
	same := func(shape ...int) *ir.Tensor { return reshaped(x, ir.Shape(shape)) }
	runCases(t, []opCase{
		{name: "reshape_zero_and_infer", op: "Reshape", opset: 13,
			inputs: []*ir.Tensor{x, vec(0, -1)}, want: []*ir.Tensor{same(2, 12)}},
		{name: "reshape_opset1_attr", op: "Reshape", opset: 1, attrs: attrs{"shape": aInts(4, 6)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{same(4, 6)}},
		{name: "reshape_allowzero", op: "Reshape", opset: 14, attrs: attrs{"allowzero": aInt(1)},
			inputs: []*ir.Tensor{f32s(ir.Shape{0, 3}), vec(3, 0)}, want: []*ir.Tensor{f32s(ir.Shape{3, 0})}},
		{name: "reshape_zero_copies_before_14", op: "Reshape", opset: 13, attrs: attrs{"allowzero": aInt(1)},
			inputs: []*ir.Tensor{x, vec(0, 12)}, want: []*ir.Tensor{same(2, 12)}},
		{name: "reshape_size_mismatch", op: "Reshape", opset: 13,
			inputs: []*ir.Tensor{x, vec(5, 5)}, wantErr: "cannot reshape"},
		{name: "reshape_two_infer", op: "Reshape", opset: 13,
			inputs: []*ir.Tensor{x, vec(-1, -1)}, wantErr: "more than one -1"},
		{name: "reshape_indivisible", op: "Reshape", opset: 13,
			inputs: []*ir.Tensor{x, vec(5, -1)}, wantErr: "cannot be inferred"},
		{name: "reshape_float_shape", op: "Reshape", opset: 13,
			inputs: []*ir.Tensor{x, f32s(ir.Shape{1}, 24)}, wantErr: "integer tensor"},
		{name: "flatten_default", op: "Flatten", opset: 13,
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{same(2, 12)}},
		{name: "flatten_axis0", op: "Flatten", opset: 13, attrs: attrs{"axis": aInt(0)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{same(1, 24)}},
		{name: "flatten_negative", op: "Flatten", opset: 13, attrs: attrs{"axis": aInt(-1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{same(6, 4)}},
		{name: "flatten_axis_rank", op: "Flatten", opset: 13, attrs: attrs{"axis": aInt(3)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{same(24, 1)}},
		{name: "flatten_out_of_range", op: "Flatten", opset: 13, attrs: attrs{"axis": aInt(4)},
			inputs: []*ir.Tensor{x}, wantErr: "out of range"},
	})
}

func TestSqueezeUnsqueeze(t *testing.T) {
	x := seqF32(ir.Shape{1, 3, 1}, 0)
	as := func(shape ...int) *ir.Tensor { return reshaped(x, ir.Shape(shape)) }
	runCases(t, []opCase{
		{name: "squeeze_attr_negative", op: "Squeeze", opset: 11, attrs: attrs{"axes": aInts(-1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{as(1, 3)}},
		{name: "squeeze_input", op: "Squeeze", opset: 13,
			inputs: []*ir.Tensor{x, vec(0)}, want: []*ir.Tensor{as(3, 1)}},
		{name: "squeeze_all", op: "Squeeze", opset: 13,
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{as(3)}},
		{name: "squeeze_not_one", op: "Squeeze", opset: 13,
			inputs: []*ir.Tensor{x, vec(1)}, wantErr: "size is not 1"},
		{name: "squeeze_bad_axis", op: "Squeeze", opset: 13,
			inputs: []*ir.Tensor{x, vec(3)}, wantErr: "out of range"},
		{name: "unsqueeze_attr", op: "Unsqueeze", opset: 11, attrs: attrs{"axes": aInts(0, -1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{as(1, 1, 3, 1, 1)}},
		{name: "unsqueeze_input", op: "Unsqueeze", opset: 13,
			inputs: []*ir.Tensor{as(3), vec(1, 0)}, want: []*ir.Tensor{as(1, 1, 3)}},
		{name: "unsqueeze_middle", op: "Unsqueeze", opset: 13,
			inputs: []*ir.Tensor{as(3, 1), vec(1)}, want: []*ir.Tensor{as(3, 1, 1)}},
		{name: "unsqueeze_scalar", op: "Unsqueeze", opset: 13,
			inputs: []*ir.Tensor{ir.Scalar(5), vec(0)}, want: []*ir.Tensor{f32s(ir.Shape{1}, 5)}},
		{name: "unsqueeze_duplicate", op: "Unsqueeze", opset: 13,
			inputs: []*ir.Tensor{x, vec(0, 0)}, wantErr: "repeated"},
		{name: "unsqueeze_missing_axes", op: "Unsqueeze", opset: 13,
			inputs: []*ir.Tensor{x}, wantErr: "missing axes"},
	})
}

func TestTranspose(t *testing.T) {
	x := seqF32(ir.Shape{2, 3}, 1) // [[1 2 3] [4 5 6]]
	y := seqF32(ir.Shape{2, 1, 3}, 1)
	runCases(t, []opCase{
		{name: "default_reverses", op: "Transpose", opset: 13, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{f32s(ir.Shape{3, 2}, 1, 4, 2, 5, 3, 6)}},
		{name: "perm", op: "Transpose", opset: 13, attrs: attrs{"perm": aInts(2, 0, 1)}, inputs: []*ir.Tensor{y},
			want: []*ir.Tensor{f32s(ir.Shape{3, 2, 1}, 1, 4, 2, 5, 3, 6)}},
		{name: "int64", op: "Transpose", opset: 13, inputs: []*ir.Tensor{i64s(ir.Shape{1, 2}, 7, 8)},
			want: []*ir.Tensor{i64s(ir.Shape{2, 1}, 7, 8)}},
		{name: "not_a_permutation", op: "Transpose", opset: 13, attrs: attrs{"perm": aInts(0, 0)},
			inputs: []*ir.Tensor{x}, wantErr: "not a permutation"},
		{name: "wrong_length", op: "Transpose", opset: 13, attrs: attrs{"perm": aInts(0)},
			inputs: []*ir.Tensor{x}, wantErr: "does not match rank"},
	})
}

func TestConcatSplit(t *testing.T) {
	a := f32s(ir.Shape{2, 1}, 1, 2)
	b := f32s(ir.Shape{2, 2}, 3, 4, 5, 6)
	runCases(t, []opCase{
		{name: "concat_last_negative", op: "Concat", opset: 13, attrs: attrs{"axis": aInt(-1)},
			inputs: []*ir.Tensor{a, b}, want: []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 3, 4, 2, 5, 6)}},
		{name: "concat_first", op: "Concat", opset: 13, attrs: attrs{"axis": aInt(0)},
			inputs: []*ir.Tensor{b, b}, want: []*ir.Tensor{f32s(ir.Shape{4, 2}, 3, 4, 5, 6, 3, 4, 5, 6)}},
		{name: "concat_int64_shapes", op: "Concat", opset: 13, attrs: attrs{"axis": aInt(0)},
			inputs: []*ir.Tensor{vec(1), vec(), vec(-1, 7)}, want: []*ir.Tensor{vec(1, -1, 7)}},
		{name: "concat_mismatch", op: "Concat", opset: 13, attrs: attrs{"axis": aInt(0)},
			inputs: []*ir.Tensor{a, b}, wantErr: "incompatible"},
		{name: "concat_no_axis", op: "Concat", opset: 13,
			inputs: []*ir.Tensor{a, a}, wantErr: "missing attribute axis"},
		{name: "split_attr", op: "Split", opset: 11, attrs: attrs{"axis": aInt(1), "split": aInts(1, 2)},
			inputs: []*ir.Tensor{seqF32(ir.Shape{2, 3}, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 1}, 1, 4), f32s(ir.Shape{2, 2}, 2, 3, 5, 6)}},
		{name: "split_input", op: "Split", opset: 13, attrs: attrs{"axis": aInt(-1)},
			inputs: []*ir.Tensor{seqF32(ir.Shape{2, 3}, 1), vec(2, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 1, 2, 4, 5), f32s(ir.Shape{2, 1}, 3, 6)}},
		{name: "split_equal", op: "Split", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{4}, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, 0, 1), f32s(ir.Shape{2}, 2, 3)}},
		{name: "split_num_outputs_uneven", op: "Split", opset: 18, attrs: attrs{"num_outputs": aInt(3)},
			inputs: []*ir.Tensor{seqF32(ir.Shape{7}, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 0, 1, 2), f32s(ir.Shape{3}, 3, 4, 5), f32s(ir.Shape{1}, 6)}},
		{name: "split_uneven_without_sizes", op: "Split", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{5}, 0)}, outputs: 2,
			wantErr: "equal parts"},
		{name: "split_sizes_wrong_sum", op: "Split", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{5}, 0), vec(1, 1)}, outputs: 2,
			wantErr: "sums to 2"},
	})
}

func TestSlice(t *testing.T) {
	x := seqF32(ir.Shape{2, 4}, 1) // [[1 2 3 4] [5 6 7 8]]
	const big = math.MaxInt64
	runCases(t, []opCase{
		{name: "spec_steps", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(1, 0), vec(2, 3), vec(0, 1), vec(1, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2}, 5, 7)}},
		{name: "spec_negative_end_clamped", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(0, 1), vec(-1, 1000)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 3}, 2, 3, 4)}},
		{name: "opset1_attrs", op: "Slice", opset: 1,
			attrs:  attrs{"starts": aInts(1), "ends": aInts(big), "axes": aInts(1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{2, 3}, 2, 3, 4, 6, 7, 8)}},
		{name: "reverse_all", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(-1), vec(math.MinInt64), vec(1), vec(-1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 4}, 4, 3, 2, 1, 8, 7, 6, 5)}},
		{name: "negative_step_start_clamped", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(100), vec(-100), vec(-1), vec(-2)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 4, 2, 8, 6)}},
		{name: "negative_axis", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(-3), vec(-1), vec(-1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 2, 3, 6, 7)}},
		{name: "empty_result", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(3), vec(1), vec(1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 0})}},
		{name: "int64_data", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{vec(10, 20, 30, 40), vec(-2), vec(big)},
			want:   []*ir.Tensor{vec(30, 40)}},
		{name: "step_zero", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(0), vec(1), vec(0), vec(0)}, wantErr: "step is 0"},
		{name: "lengths_differ", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(0, 0), vec(1)}, wantErr: "differ in length"},
		{name: "missing_ends", op: "Slice", opset: 13,
			inputs: []*ir.Tensor{x, vec(0)}, wantErr: "missing required input 2"},
	})
}

func TestGather(t *testing.T) {
	x := seqF32(ir.Shape{3, 2}, 1) // [[1 2] [3 4] [5 6]]
	runCases(t, []opCase{
		{name: "axis0_negative", op: "Gather", opset: 13,
			inputs: []*ir.Tensor{x, i64s(ir.Shape{1, 2}, -1, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 2}, 5, 6, 1, 2)}},
		{name: "axis1", op: "Gather", opset: 13, attrs: attrs{"axis": aInt(1)},
			inputs: []*ir.Tensor{x, vec(1)}, want: []*ir.Tensor{f32s(ir.Shape{3, 1}, 2, 4, 6)}},
		{name: "scalar_index_drops_axis", op: "Gather", opset: 13, attrs: attrs{"axis": aInt(-1)},
			inputs: []*ir.Tensor{x, i64s(ir.Shape{}, 0)}, want: []*ir.Tensor{f32s(ir.Shape{3}, 1, 3, 5)}},
		{name: "shape_entry", op: "Gather", opset: 13,
			inputs: []*ir.Tensor{vec(8, 3, 224), i64s(ir.Shape{}, 2)}, want: []*ir.Tensor{i64s(ir.Shape{}, 224)}},
		{name: "out_of_range", op: "Gather", opset: 13,
			inputs: []*ir.Tensor{x, vec(3)}, wantErr: "out of range"},
		{name: "float_indices", op: "Gather", opset: 13,
			inputs: []*ir.Tensor{x, ir.Scalar(0)}, wantErr: "must be integers"},
	})
}

func TestExpandTile(t *testing.T) {
	x := f32s(ir.Shape{2, 1}, 1, 2)
	runCases(t, []opCase{
		{name: "expand", op: "Expand", opset: 13, inputs: []*ir.Tensor{x, vec(2, 3)},
			want: []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 1, 1, 2, 2, 2)}},
		{name: "expand_bidirectional", op: "Expand", opset: 13, inputs: []*ir.Tensor{x, vec(1)},
			want: []*ir.Tensor{x}},
		{name: "expand_adds_axes", op: "Expand", opset: 13, inputs: []*ir.Tensor{x, vec(2, 1, 2)},
			want: []*ir.Tensor{f32s(ir.Shape{2, 2, 2}, 1, 1, 2, 2, 1, 1, 2, 2)}},
		{name: "expand_incompatible", op: "Expand", opset: 13, inputs: []*ir.Tensor{x, vec(3, 1)},
			wantErr: "cannot be broadcast"},
		{name: "tile", op: "Tile", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{1, 2}, 1, 2), vec(2, 2)},
			want: []*ir.Tensor{f32s(ir.Shape{2, 4}, 1, 2, 1, 2, 1, 2, 1, 2)}},
		{name: "tile_wrong_length", op: "Tile", opset: 13, inputs: []*ir.Tensor{x, vec(2)},
			wantErr: "does not match rank"},
	})
}

func TestShapeOps(t *testing.T) {
	x := seqF32(ir.Shape{2, 3, 4}, 0)
	zero := f32s(ir.Shape{2, 3}, 0, 0, 0, 0, 0, 0)
	runCases(t, []opCase{
		{name: "shape", op: "Shape", opset: 13, inputs: []*ir.Tensor{x}, want: []*ir.Tensor{vec(2, 3, 4)}},
		{name: "shape_start", op: "Shape", opset: 15, attrs: attrs{"start": aInt(1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{vec(3, 4)}},
		{name: "shape_negative_end", op: "Shape", opset: 15, attrs: attrs{"end": aInt(-1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{vec(2, 3)}},
		{name: "shape_attrs_ignored_before_15", op: "Shape", opset: 13, attrs: attrs{"start": aInt(1)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{vec(2, 3, 4)}},
		{name: "size", op: "Size", opset: 13, inputs: []*ir.Tensor{x}, want: []*ir.Tensor{i64s(ir.Shape{}, 24)}},
		{name: "constant_of_shape_default", op: "ConstantOfShape", opset: 9,
			inputs: []*ir.Tensor{vec(2, 3)}, want: []*ir.Tensor{zero}},
		{name: "constant_of_shape_int", op: "ConstantOfShape", opset: 9,
			attrs:  attrs{"value": aTensor(vec(7))},
			inputs: []*ir.Tensor{vec(3)}, want: []*ir.Tensor{vec(7, 7, 7)}},
		{name: "constant_of_shape_scalar", op: "ConstantOfShape", opset: 9,
			attrs:  attrs{"value": aTensor(f32s(ir.Shape{1}, 2))},
			inputs: []*ir.Tensor{vec()}, want: []*ir.Tensor{ir.Scalar(2)}},
		{name: "constant_of_shape_negative", op: "ConstantOfShape", opset: 9,
			inputs: []*ir.Tensor{vec(-1)}, wantErr: "negative"},
		{name: "constant_tensor", op: "Constant", opset: 13, attrs: attrs{"value": aTensor(vec(1, 2))},
			want: []*ir.Tensor{vec(1, 2)}},
		{name: "constant_float", op: "Constant", opset: 13, attrs: attrs{"value_float": aFloat(1.5)},
			want: []*ir.Tensor{ir.Scalar(1.5)}},
		{name: "constant_floats", op: "Constant", opset: 13, attrs: attrs{"value_floats": aFloats(1, 2)},
			want: []*ir.Tensor{f32s(ir.Shape{2}, 1, 2)}},
		{name: "constant_int", op: "Constant", opset: 13, attrs: attrs{"value_int": aInt(-3)},
			want: []*ir.Tensor{i64s(ir.Shape{}, -3)}},
		{name: "constant_ints", op: "Constant", opset: 13, attrs: attrs{"value_ints": aInts(4, 5)},
			want: []*ir.Tensor{vec(4, 5)}},
		{name: "constant_string", op: "Constant", opset: 13, attrs: attrs{"value_string": aString("x")},
			wantErr: "unsupported value attribute"},
		{name: "range_int", op: "Range", opset: 11,
			inputs: []*ir.Tensor{i64s(ir.Shape{}, 1), i64s(ir.Shape{}, 6), i64s(ir.Shape{}, 2)},
			want:   []*ir.Tensor{vec(1, 3, 5)}},
		{name: "range_negative_delta", op: "Range", opset: 11,
			inputs: []*ir.Tensor{i64s(ir.Shape{}, 10), i64s(ir.Shape{}, 4), i64s(ir.Shape{}, -3)},
			want:   []*ir.Tensor{vec(10, 7)}},
		{name: "range_float", op: "Range", opset: 11,
			inputs: []*ir.Tensor{ir.Scalar(0), ir.Scalar(1), ir.Scalar(0.25)},
			want:   []*ir.Tensor{f32s(ir.Shape{4}, 0, 0.25, 0.5, 0.75)}},
		{name: "range_empty", op: "Range", opset: 11,
			inputs: []*ir.Tensor{ir.Scalar(3), ir.Scalar(1), ir.Scalar(1)},
			want:   []*ir.Tensor{f32s(ir.Shape{0})}},
		{name: "range_zero_delta", op: "Range", opset: 11,
			inputs:  []*ir.Tensor{i64s(ir.Shape{}, 1), i64s(ir.Shape{}, 6), i64s(ir.Shape{}, 0)},
			wantErr: "delta is 0"},
	})
}

func TestPad(t *testing.T) {
	x := f32s(ir.Shape{3, 2}, 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)
	runCases(t, []opCase{
		{name: "opset2_attrs", op: "Pad", opset: 2, attrs: attrs{"pads": aInts(0, 1, 0, 0), "value": aFloat(9)},
			inputs: []*ir.Tensor{x}, want: []*ir.Tensor{f32s(ir.Shape{3, 3}, 9, 1.0, 1.2, 9, 2.3, 3.4, 9, 4.5, 5.7)}},
		{name: "opset11_constant", op: "Pad", opset: 11,
			inputs: []*ir.Tensor{x, vec(1, 0, 0, 0), ir.Scalar(-1)},
			want:   []*ir.Tensor{f32s(ir.Shape{4, 2}, -1, -1, 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)}},
		{name: "opset11_default_zero", op: "Pad", opset: 11,
			inputs: []*ir.Tensor{x, vec(0, 0, 0, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3, 3}, 1.0, 1.2, 0, 2.3, 3.4, 0, 4.5, 5.7, 0)}},
		{name: "negative_crops", op: "Pad", opset: 11,
			inputs: []*ir.Tensor{x, vec(-1, 1, 0, -1)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 0, 2.3, 0, 4.5)}},
		{name: "spec_reflect", op: "Pad", opset: 11, attrs: attrs{"mode": aString("reflect")},
			inputs: []*ir.Tensor{x, vec(0, 2, 0, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{3, 4}, 1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7)}},
		{name: "spec_edge", op: "Pad", opset: 11, attrs: attrs{"mode": aString("edge")},
			inputs: []*ir.Tensor{x, vec(0, 2, 0, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{3, 4}, 1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7)}},
		{name: "reflect_both_sides", op: "Pad", opset: 11, attrs: attrs{"mode": aString("reflect")},
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 1, 2, 3), vec(2, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{7}, 3, 2, 1, 2, 3, 2, 1)}},
		{name: "opset18_axes", op: "Pad", opset: 18,
			inputs: []*ir.Tensor{x, vec(1, 0), ir.Scalar(7), vec(-1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3, 3}, 7, 1.0, 1.2, 7, 2.3, 3.4, 7, 4.5, 5.7)}},
		{name: "int64", op: "Pad", opset: 13,
			inputs: []*ir.Tensor{vec(1, 2), vec(1, 1), i64s(ir.Shape{}, -1)},
			want:   []*ir.Tensor{vec(-1, 1, 2, -1)}},
		{name: "over_crop", op: "Pad", opset: 11,
			inputs: []*ir.Tensor{x, vec(-2, 0, -2, 0)}, wantErr: "crop more"},
		{name: "wrong_pads_length", op: "Pad", opset: 11,
			inputs: []*ir.Tensor{x, vec(1, 1)}, wantErr: "2*rank"},
		{name: "unknown_mode", op: "Pad", opset: 11, attrs: attrs{"mode": aString("mirror")},
			inputs: []*ir.Tensor{x, vec(1, 0, 0, 0)}, wantErr: "unsupported pad mode"},
	})
}

func TestScatterND(t *testing.T) {
	data := f32s(ir.Shape{8}, 1, 2, 3, 4, 5, 6, 7, 8)
	indices := i64s(ir.Shape{4, 1}, 4, 3, 1, 7)
	updates := f32s(ir.Shape{4}, 9, 10, 11, 12)
	runCases(t, []opCase{
		{name: "spec_1d", op: "ScatterND", opset: 13, inputs: []*ir.Tensor{data, indices, updates},
			want: []*ir.Tensor{f32s(ir.Shape{8}, 1, 11, 3, 10, 9, 6, 7, 12)}},
		{name: "slices", op: "ScatterND", opset: 13,
			inputs: []*ir.Tensor{seqF32(ir.Shape{3, 2}, 1), i64s(ir.Shape{1, 1}, -1), f32s(ir.Shape{1, 2}, 0, 0)},
			want:   []*ir.Tensor{f32s(ir.Shape{3, 2}, 1, 2, 3, 4, 0, 0)}},
		{name: "reduction_add", op: "ScatterND", opset: 16, attrs: attrs{"reduction": aString("add")},
			inputs: []*ir.Tensor{data, i64s(ir.Shape{2, 1}, 0, 0), f32s(ir.Shape{2}, 10, 100)},
			want:   []*ir.Tensor{f32s(ir.Shape{8}, 111, 2, 3, 4, 5, 6, 7, 8)}},
		{name: "updates_shape", op: "ScatterND", opset: 13,
			inputs: []*ir.Tensor{data, indices, f32s(ir.Shape{3}, 1, 2, 3)}, wantErr: "updates have shape"},
		{name: "index_out_of_range", op: "ScatterND", opset: 13,
			inputs: []*ir.Tensor{data, i64s(ir.Shape{1, 1}, 8), f32s(ir.Shape{1}, 0)}, wantErr: "out of range"},
	})
}

func TestIdentityDropout(t *testing.T) {
	x := f32s(ir.Shape{2}, 1, 2)
	runCases(t, []opCase{
		{name: "identity", op: "Identity", opset: 16, inputs: []*ir.Tensor{x}, want: []*ir.Tensor{x}},
		{name: "dropout", op: "Dropout", opset: 13, inputs: []*ir.Tensor{x}, want: []*ir.Tensor{x}},
		{name: "dropout_mask", op: "Dropout", opset: 13, inputs: []*ir.Tensor{x, ir.Scalar(0.5)},
			want: []*ir.Tensor{x, bools(ir.Shape{2}, true, true)}},
		{name: "dropout_mask_opset7", op: "Dropout", opset: 7, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{x, f32s(ir.Shape{2}, 1, 1)}},
		{name: "dropout_training", op: "Dropout", opset: 13,
			inputs: []*ir.Tensor{x, ir.Scalar(0.5), bools(ir.Shape{}, true)}, wantErr: "training mode"},
	})
}
