package interp

import (
	"math"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestArgReduceCastLikeMish(t *testing.T) {
	x := f32s(ir.Shape{2, 3}, 1, 5, 5, 7, -2, 7)
	nan := float32(math.NaN())
	runCases(t, []opCase{
		{name: "argmax axis 1", op: "ArgMax", opset: 13, attrs: attrs{"axis": aInt(1)}, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{i64s(ir.Shape{2, 1}, 1, 0)}},
		{name: "argmax last index", op: "ArgMax", opset: 13, attrs: attrs{"axis": aInt(1), "select_last_index": aInt(1)}, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{i64s(ir.Shape{2, 1}, 2, 2)}},
		{name: "argmin axis 0 no keepdims", op: "ArgMin", opset: 13, attrs: attrs{"keepdims": aInt(0)}, inputs: []*ir.Tensor{x},
			want: []*ir.Tensor{vec(0, 1, 0)}},
		{name: "argmax skips NaN", op: "ArgMax", opset: 13, inputs: []*ir.Tensor{f32s(ir.Shape{3}, nan, 2, 1)},
			want: []*ir.Tensor{i64s(ir.Shape{1}, 1)}},
		{name: "argmax axis out of range", op: "ArgMax", opset: 13, attrs: attrs{"axis": aInt(2)}, inputs: []*ir.Tensor{x},
			wantErr: "axis out of range"},
		{name: "castlike to int64", op: "CastLike", opset: 15, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 2.7, -1.5), vec(0)},
			want: []*ir.Tensor{vec(2, -1)}},
		{name: "castlike to bool", op: "CastLike", opset: 15, inputs: []*ir.Tensor{f32s(ir.Shape{2}, 0, 3), bools(ir.Shape{}, true)},
			want: []*ir.Tensor{bools(ir.Shape{2}, false, true)}},
		// mish(x) = x * tanh(ln(1+e^x)): mish(0) = 0, mish(1) = tanh(ln(1+e)) = 0.8650983882673103
		{name: "mish", op: "Mish", opset: 18, inputs: []*ir.Tensor{f32s(ir.Shape{3}, 0, 1, -30)},
			want: []*ir.Tensor{f32s(ir.Shape{3}, 0, 0.8650983882673103, float32(-30*math.Tanh(math.Log1p(math.Exp(-30)))))}},
		{name: "mish before opset 18", op: "Mish", opset: 17, inputs: []*ir.Tensor{f32s(ir.Shape{1}, 0)}, wantErr: "opset 18"},
	})
}
