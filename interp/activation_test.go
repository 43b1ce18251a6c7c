package interp

import (
	"math"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// Expected values below are worked out by hand from the ONNX definitions;
// the transcendental ones are the textbook values (erf(1), Phi(1), ln 2).

func TestHardSigmoidHardSwish(t *testing.T) {
	nan := float32(math.NaN())
	runCases(t, []opCase{
		{name: "hardsigmoid_defaults", op: "HardSigmoid", opset: 6,
			inputs: []*ir.Tensor{f32s(ir.Shape{7}, -3, -2.5, 0, 1, 2.5, 3, nan)},
			want:   []*ir.Tensor{f32s(ir.Shape{7}, 0, 0, 0.5, 0.7, 1, 1, nan)}},
		{name: "hardsigmoid_attrs", op: "HardSigmoid", opset: 6, attrs: attrs{"alpha": aFloat(0.5), "beta": aFloat(0.25)},
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 2}, -1, 0, 1, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 2}, 0, 0.25, 0.75, 1)}},
		{name: "hardsigmoid_opset1", op: "HardSigmoid", opset: 1,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, want: []*ir.Tensor{f32s(ir.Shape{1}, 0.7)}},
		// Zero below -3, x*(x+3)/6 between, x above 3.
		{name: "hardswish", op: "HardSwish", opset: 14,
			inputs: []*ir.Tensor{f32s(ir.Shape{8}, -4, -3, -1.5, 0, 1.5, 3, 4, nan)},
			want:   []*ir.Tensor{f32s(ir.Shape{8}, 0, 0, -0.375, 0, 1.125, 3, 4, nan)}},
		{name: "hardswish_f64", op: "HardSwish", opset: 14,
			inputs: []*ir.Tensor{{DType: ir.Float64, Shape: ir.Shape{2}, F64: []float64{-1, 2}}},
			want:   []*ir.Tensor{{DType: ir.Float64, Shape: ir.Shape{2}, F64: []float64{-1.0 / 3, 5.0 / 3}}}},
		{name: "hardswish_before_opset14", op: "HardSwish", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, wantErr: "defined from opset 14"},
		{name: "hardswish_int", op: "HardSwish", opset: 14,
			inputs: []*ir.Tensor{vec(1)}, wantErr: "not supported"},
	})
}

func TestRectifiers(t *testing.T) {
	runCases(t, []opCase{
		{name: "leakyrelu_default", op: "LeakyRelu", opset: 16,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, -2, 0, 3)}, want: []*ir.Tensor{f32s(ir.Shape{3}, -0.02, 0, 3)}},
		{name: "leakyrelu_alpha", op: "LeakyRelu", opset: 6, attrs: attrs{"alpha": aFloat(0.5)},
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, -2, 0, 3)}, want: []*ir.Tensor{f32s(ir.Shape{3}, -1, 0, 3)}},
		{name: "prelu_last_axis", op: "PRelu", opset: 16,
			inputs: []*ir.Tensor{f32s(ir.Shape{2, 3}, -1, -1, -1, 2, -2, 2), f32s(ir.Shape{3}, 0.5, 1, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{2, 3}, -0.5, -1, -2, 2, -2, 2)}},
		{name: "prelu_per_channel", op: "PRelu", opset: 9,
			inputs: []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 2}, -1, 4, -1, 4), f32s(ir.Shape{2, 1, 1}, 0.25, 3)},
			want:   []*ir.Tensor{f32s(ir.Shape{1, 2, 1, 2}, -0.25, 4, -3, 4)}},
		{name: "prelu_same_shape", op: "PRelu", opset: 7,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, -2, -2), f32s(ir.Shape{2}, 1, 3)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, -2, -6)}},
		{name: "prelu_int64", op: "PRelu", opset: 16,
			inputs: []*ir.Tensor{vec(-2, 3), vec(2)}, want: []*ir.Tensor{vec(-4, 3)}},
		{name: "prelu_slope_wider_than_x", op: "PRelu", opset: 16,
			inputs:  []*ir.Tensor{f32s(ir.Shape{2}, -1, 1), f32s(ir.Shape{2, 2}, 1, 1, 1, 1)},
			wantErr: "does not broadcast to X's shape [2]"},
		{name: "prelu_slope_misfit", op: "PRelu", opset: 16,
			inputs:  []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 1, 1, 1, 1, 1), f32s(ir.Shape{2}, 1, 1)},
			wantErr: "cannot be broadcast"},
		// Before opset 7 a one-element slope of any rank is shared.
		{name: "prelu_opset6_shared", op: "PRelu", opset: 6,
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, -4, 4), f32s(ir.Shape{1, 1, 1}, 0.5)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, -2, 4)}},
		{name: "prelu_opset6_broadcast", op: "PRelu", opset: 6,
			inputs:  []*ir.Tensor{f32s(ir.Shape{2, 3}, 1, 1, 1, 1, 1, 1), f32s(ir.Shape{3}, 1, 1, 1)},
			wantErr: "before opset 7"},
		{name: "elu_default", op: "Elu", opset: 6,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, -1, 0, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, float32(math.Exp(-1)-1), 0, 2)}},
		{name: "elu_alpha", op: "Elu", opset: 6, attrs: attrs{"alpha": aFloat(2)},
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, -1, 0.5)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, float32(2*(math.Exp(-1)-1)), 0.5)}},
		// gamma * alpha * (e^x - 1) at or below 0, gamma * x above.
		{name: "selu_default", op: "Selu", opset: 6,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, -1, 0, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, -1.1113307, 0, 1.0507010)}},
		{name: "selu_attrs", op: "Selu", opset: 6, attrs: attrs{"alpha": aFloat(2), "gamma": aFloat(3)},
			inputs: []*ir.Tensor{f32s(ir.Shape{2}, -1, 2)},
			want:   []*ir.Tensor{f32s(ir.Shape{2}, float32(6*(math.Exp(-1)-1)), 6)}},
	})
}

func TestSmoothActivations(t *testing.T) {
	inf := float32(math.Inf(1))
	runCases(t, []opCase{
		{name: "softplus", op: "Softplus", opset: 1,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 0, 1, -1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, float32(math.Ln2), 1.3132617, 0.31326169)}},
		// ln(1+e^x) neither overflows at +1000 nor loses e^x far below 0.
		{name: "softplus_extremes", op: "Softplus", opset: 1,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 1000, -1000, inf)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 1000, 0, inf)}},
		{name: "softplus_tiny", op: "Softplus", opset: 1,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, -50)},
			want:   []*ir.Tensor{f32s(ir.Shape{1}, float32(math.Exp(-50)))}},
		{name: "softsign", op: "Softsign", opset: 1,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, -3, 0, 1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, -0.75, 0, 0.5)}},
		{name: "erf", op: "Erf", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{4}, 0, 1, -1, 10)},
			want:   []*ir.Tensor{f32s(ir.Shape{4}, 0, 0.84270079, -0.84270079, 1)}},
		{name: "erf_before_opset9", op: "Erf", opset: 8,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, wantErr: "defined from opset 9"},
		{name: "tanh", op: "Tanh", opset: 13,
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 0, float32(math.Log(3)), -100)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 0, 0.8, -1)}},
		// x * Phi(x): Phi(1) = 0.8413447460685429.
		{name: "gelu", op: "Gelu", opset: 20,
			inputs: []*ir.Tensor{f32s(ir.Shape{4}, 0, 1, -1, -10)},
			want:   []*ir.Tensor{f32s(ir.Shape{4}, 0, 0.84134475, -0.15865525, 0)}},
		// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) at x = 1:
		// tanh(0.7978845608 * 1.044715) = tanh(0.8335617) = 0.6823840.
		{name: "gelu_tanh", op: "Gelu", opset: 20, attrs: attrs{"approximate": aString("tanh")},
			inputs: []*ir.Tensor{f32s(ir.Shape{3}, 0, 1, -1)},
			want:   []*ir.Tensor{f32s(ir.Shape{3}, 0, 0.84119199, -0.15880801)}},
		{name: "gelu_none_explicit", op: "Gelu", opset: 20, attrs: attrs{"approximate": aString("none")},
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, want: []*ir.Tensor{f32s(ir.Shape{1}, 0.84134475)}},
		{name: "gelu_bad_approximation", op: "Gelu", opset: 20, attrs: attrs{"approximate": aString("erf")},
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, wantErr: `approximate is "erf"`},
		{name: "gelu_before_opset20", op: "Gelu", opset: 19,
			inputs: []*ir.Tensor{f32s(ir.Shape{1}, 1)}, wantErr: "defined from opset 20"},
	})
}
