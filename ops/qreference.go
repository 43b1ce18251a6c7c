package ops

import (
	"fmt"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Reference kernels of tsmc's quantised operators, made of the
// interpreter's quantised primitives: the integer convolution of
// ConvInteger and QLinearConv (interp.IntConv), MatMulInteger, the
// requantisation rule of QLinearConv (interp.Requantize) and the quantised
// sum of QLinearAdd (interp.Rescale).

func init() {
	interp.Register(Domain, OpQConv, qconvKernel)
	interp.Register(Domain, OpQDense, qdenseKernel)
	interp.Register(Domain, OpQAdd, qaddKernel)
}

// requantized makes the quantised result of int32 accumulators acc
// ([..., channels, inner...] with inner elements per channel index): the
// bias added per channel, then interp.Requantize with the channel's
// multiplier (x_scale × w_scales[c]) / y_scale, clamped to the spec's y
// bounds.
func requantized(s QuantSpec, acc *ir.Tensor, bias *ir.Tensor, channels, inner int) (*ir.Tensor, error) {
	if len(s.WScales) != 1 && len(s.WScales) != channels || bias.Len() != channels {
		return nil, fmt.Errorf("%d weight scales and %d biases for %d output channels", len(s.WScales), bias.Len(), channels)
	}
	mult := make([]float32, channels)
	for c := range mult {
		mult[c] = interp.Multiplier(s.X.Scale, s.WScales[min(c, len(s.WScales)-1)], s.Y.Scale)
	}
	y, err := ir.NewTensor(s.Output, acc.Shape)
	if err != nil {
		return nil, err
	}
	for i, a := range acc.I64 {
		c := i / inner % channels
		y.I64[i] = interp.Requantize(int32(a)+int32(bias.I64[c]), mult[c], s.Y.Zero, s.Y.Min, s.Y.Max)
	}
	return y, nil
}

// qconvKernel: the shift materialised (vacated rows read x_zero_point),
// the integer convolution, the bias and requantisation, then the
// residual's quantised sum.
func qconvKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 3 || in[ConvX] == nil || in[ConvW] == nil || in[ConvB] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return nil, err
	}
	x := in[ConvX]
	if _, shifted := n.AttrInts("shift"); shifted {
		attrs := map[string]ir.Attr{"segments": n.Attrs["segments"], "shift": n.Attrs["shift"], "fill": {Kind: ir.AttrInt, Int: s.X.Zero}}
		inputs := []*ir.Tensor{x}
		if len(in) > ConvState && in[ConvState] != nil {
			inputs = append(inputs, in[ConvState])
		}
		if x, err = EvalOp(Domain, OpTemporalShift, 1, attrs, inputs...); err != nil {
			return nil, fmt.Errorf("fused shift: %w", err)
		}
	}
	conv := &ir.Node{Name: n.Name, Op: "ConvInteger", Attrs: map[string]ir.Attr{}}
	for _, k := range convAttrNames {
		if a, ok := n.Attrs[k]; ok {
			conv.Attrs[k] = a
		}
	}
	acc, err := interp.IntConv(conv, x, s.X.Zero, in[ConvW], s.WZeros)
	if err != nil {
		return nil, err
	}
	if in[ConvB].DType != ir.Int32 {
		return nil, fmt.Errorf("bias must be int32, got %v", in[ConvB].DType)
	}
	y, err := requantized(s, acc, in[ConvB], acc.Shape[1], acc.Shape[2:].Size())
	if err != nil {
		return nil, err
	}
	if len(in) > ConvResidual && in[ConvResidual] != nil {
		a, ap, b, bp := y, s.Y.QParams, in[ConvResidual], *s.Residual
		if s.ResidualFirst {
			a, ap, b, bp = b, bp, a, ap
		}
		if y, err = quantizedSum(a, ap, b, bp, *s.Out, s.Output); err != nil {
			return nil, fmt.Errorf("residual: %w", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// quantizedSum is the interp.Rescale sum of two tensors of one shape.
func quantizedSum(a *ir.Tensor, ap QParams, b *ir.Tensor, bp QParams, out Requant, dt ir.DType) (*ir.Tensor, error) {
	if !a.Shape.Equal(b.Shape) {
		return nil, fmt.Errorf("operands %v%v and %v%v differ", a.DType, a.Shape, b.DType, b.Shape)
	}
	y, err := ir.NewTensor(dt, a.Shape)
	if err != nil {
		return nil, err
	}
	r := interp.NewRescale(ap.Scale, ap.Zero, bp.Scale, bp.Zero, out.Scale, out.Zero, out.Min, out.Max)
	for i := range y.I64 {
		y.I64[i] = r.Add(a.I64[i], b.I64[i])
	}
	return y, nil
}

// qdenseKernel: MatMulInteger of X and the transposed weights (per-output
// zero points), then the bias and requantisation.
func qdenseKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	wt, err := EvalOp("", "Transpose", onnxOpset, map[string]ir.Attr{"perm": {Kind: ir.AttrInts, Ints: []int64{1, 0}}}, w)
	if err != nil {
		return nil, err
	}
	zeros := func(dt ir.DType, v []int64) *ir.Tensor {
		shape := ir.Shape{len(v)}
		if len(v) == 1 {
			shape = ir.Shape{}
		}
		return &ir.Tensor{DType: dt, Shape: shape, I64: v}
	}
	acc, err := EvalOp("", "MatMulInteger", onnxOpset, nil, x, wt, zeros(x.DType, []int64{s.X.Zero}), zeros(w.DType, s.WZeros))
	if err != nil {
		return nil, err
	}
	if in[2].DType != ir.Int32 {
		return nil, fmt.Errorf("bias must be int32, got %v", in[2].DType)
	}
	y, err := requantized(s, acc, in[2], w.Shape[0], 1)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// qaddKernel is the interp.Rescale sum elementwise.
func qaddKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("needs inputs A and B")
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return nil, err
	}
	if in[0].DType != in[1].DType {
		return nil, fmt.Errorf("A is %v and B is %v", in[0].DType, in[1].DType)
	}
	y, err := quantizedSum(in[0], s.X, in[1], s.B, s.Y, s.Output)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}
