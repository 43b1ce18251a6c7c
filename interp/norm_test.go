package interp

import (
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// The inputs are chosen so that mean and variance come out whole: [1 3 1 3]
// has mean 2 and variance 1, [0 4 0 4] mean 2 and variance 4.

func TestInstanceNormalization(t *testing.T) {
	runCases(t, []opCase{
		{name: "per_channel", op: "InstanceNormalization", opset: 6, attrs: attrs{"epsilon": aFloat(0)},
			inputs: []*ir.Tensor{
				f32s(ir.Shape{1, 2, 4}, 1, 3, 1, 3, 0, 4, 0, 4),
				f32s(ir.Shape{2}, 2, 3), f32s(ir.Shape{2}, 0.5, -1)},
			want: []*ir.Tensor{f32s(ir.Shape{1, 2, 4}, -1.5, 2.5, -1.5, 2.5, -4, 2, -4, 2)}},
		// Statistics are per image: a constant plane gives B; [-1 0 1] has
		// variance 2/3, which epsilon 1/3 rounds up to 1.
		{name: "per_image_epsilon", op: "InstanceNormalization", opset: 6, attrs: attrs{"epsilon": aFloat(1.0 / 3)},
			inputs: []*ir.Tensor{
				f32s(ir.Shape{2, 1, 3}, 7, 7, 7, -1, 0, 1),
				f32s(ir.Shape{1}, 2), f32s(ir.Shape{1}, 1)},
			want: []*ir.Tensor{f32s(ir.Shape{2, 1, 3}, 1, 1, 1, -1, 1, 3)}},
		{name: "spatial_3d", op: "InstanceNormalization", opset: 1, attrs: attrs{"epsilon": aFloat(0)},
			inputs: []*ir.Tensor{
				f32s(ir.Shape{1, 1, 2, 1, 2}, 1, 3, 1, 3),
				f32s(ir.Shape{1}, 1), f32s(ir.Shape{1}, 0)},
			want: []*ir.Tensor{f32s(ir.Shape{1, 1, 2, 1, 2}, -1, 1, -1, 1)}},
		{name: "no_spatial_axis", op: "InstanceNormalization", opset: 6,
			inputs:  []*ir.Tensor{f32s(ir.Shape{1, 2}, 1, 2), f32s(ir.Shape{2}, 1, 1), f32s(ir.Shape{2}, 0, 0)},
			wantErr: "one or more spatial axes"},
		{name: "scale_shape", op: "InstanceNormalization", opset: 6,
			inputs:  []*ir.Tensor{f32s(ir.Shape{1, 2, 1}, 1, 2), f32s(ir.Shape{1}, 1), f32s(ir.Shape{2}, 0, 0)},
			wantErr: "scale has shape [1], want [2]"},
		{name: "missing_bias", op: "InstanceNormalization", opset: 6,
			inputs:  []*ir.Tensor{f32s(ir.Shape{1, 1, 1}, 1), f32s(ir.Shape{1}, 1), nil},
			wantErr: "missing required input 2"},
	})
}

func TestLayerNormalization(t *testing.T) {
	rows := f32s(ir.Shape{2, 4}, 1, 3, 1, 3, 0, 4, 0, 4)
	runCases(t, []opCase{
		{name: "last_axis_with_stats", op: "LayerNormalization", opset: 17, attrs: attrs{"epsilon": aFloat(0)},
			inputs: []*ir.Tensor{rows, f32s(ir.Shape{4}, 1, 2, 3, 4), f32s(ir.Shape{4}, 0, 0, 0, 1)},
			want: []*ir.Tensor{
				f32s(ir.Shape{2, 4}, -1, 2, -3, 5, -1, 2, -3, 5),
				f32s(ir.Shape{2, 1}, 2, 2),
				f32s(ir.Shape{2, 1}, 1, 0.5)}},
		// axis 0 normalises everything; a rank-0 Scale broadcasts, B is
		// omitted.
		{name: "axis0_no_bias", op: "LayerNormalization", opset: 17, attrs: attrs{"axis": aInt(0), "epsilon": aFloat(0)},
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 2}, 1, 3, 1, 3), ir.Scalar(2), nil},
			want: []*ir.Tensor{
				f32s(ir.Shape{2, 2}, -2, 2, -2, 2),
				f32s(ir.Shape{1, 1}, 2),
				f32s(ir.Shape{1, 1}, 1)}},
		// axis -2 of [2,2,2]: each image's 2x2 block; Scale [2,1] varies
		// along the middle axis only.
		{name: "negative_axis_scale_bcast", op: "LayerNormalization", opset: 18,
			attrs:  attrs{"axis": aInt(-2), "epsilon": aFloat(0)},
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 2, 2}, 1, 3, 1, 3, 0, 4, 0, 4), f32s(ir.Shape{2, 1}, 1, 10)},
			want: []*ir.Tensor{
				f32s(ir.Shape{2, 2, 2}, -1, 1, -10, 10, -1, 1, -10, 10),
				f32s(ir.Shape{2, 1, 1}, 2, 2),
				f32s(ir.Shape{2, 1, 1}, 1, 0.5)}},
		// Default epsilon 1e-5 keeps a constant row finite: Y = B.
		{name: "constant_row", op: "LayerNormalization", opset: 17,
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 3}, 5, 5, 5), f32s(ir.Shape{3}, 1, 1, 1), f32s(ir.Shape{3}, 1, 2, 3)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 3}, 1, 2, 3)}},
		{name: "before_opset17", op: "LayerNormalization", opset: 16,
			inputs: []*ir.Tensor{rows, f32s(ir.Shape{4}, 1, 1, 1, 1)}, wantErr: "defined from opset 17"},
		{name: "scale_misfit", op: "LayerNormalization", opset: 17,
			inputs: []*ir.Tensor{rows, f32s(ir.Shape{3}, 1, 1, 1)}, wantErr: "Scale of shape [3] does not broadcast"},
		{name: "bias_wider", op: "LayerNormalization", opset: 17,
			inputs:  []*ir.Tensor{rows, f32s(ir.Shape{4}, 1, 1, 1, 1), f32s(ir.Shape{1, 1, 4}, 0, 0, 0, 0)},
			wantErr: "B of shape [1,1,4] does not broadcast"},
		{name: "axis_out_of_range", op: "LayerNormalization", opset: 17, attrs: attrs{"axis": aInt(2)},
			inputs: []*ir.Tensor{rows, f32s(ir.Shape{4}, 1, 1, 1, 1)}, wantErr: "axis 2 is out of range"},
		{name: "stash_double", op: "LayerNormalization", opset: 17, attrs: attrs{"stash_type": aInt(11)},
			inputs: []*ir.Tensor{rows, f32s(ir.Shape{4}, 1, 1, 1, 1)}, wantErr: "stash_type 11 is not supported"},
	})
}
