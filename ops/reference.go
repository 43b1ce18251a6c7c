package ops

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// This file gives tsmc's fused operators their meaning: reference kernels
// written as compositions of the ONNX kernels they replace, so that a
// fused graph computes exactly what the unfused one did.

func init() {
	interp.Register(Domain, OpTemporalShift, temporalShiftKernel)
	interp.Register(Domain, OpConv, fusedConvKernel)
	interp.Register(Domain, OpDense, denseKernel)
	interp.Register(Domain, OpSegmentMean, segmentMeanKernel)
	interp.Register(Domain, OpInvertedResidual, blockKernel)
	interp.Register(Domain, OpQInvertedResidual, blockKernel)
	interp.Register(Domain, OpTemporalPool, temporalPoolKernel)
	interp.Register(Domain, OpActivation, activationKernel)
	interp.Register(Domain, OpAttention, attentionKernel)
}

// onnxOpset is the ai.onnx version of the ops the fused kernels compose;
// Conv, Gemm, Add, Relu, Clip (bounds as inputs), GlobalAveragePool,
// Flatten, Reshape and ReduceMean (axes attribute) all have their current
// form at 13.
const onnxOpset = 13

// EvalOp runs one kernel of the interpreter on tensors, for kernels
// composed of simpler ones and for passes that transform constants.
func EvalOp(domain, op string, opset int64, attrs map[string]ir.Attr, inputs ...*ir.Tensor) (*ir.Tensor, error) {
	n := &ir.Node{Name: op, Op: op, Domain: domain, Attrs: attrs, Outputs: []*ir.Value{{Name: "out"}}}
	for i, t := range inputs {
		if t == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		n.Inputs = append(n.Inputs, &ir.Value{Name: fmt.Sprintf("in%d", i), DType: t.DType, Shape: t.Shape.Clone()})
	}
	outs, err := interp.Eval(n, opset, inputs)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// convAttrNames are the attributes a tsmc.Conv shares with ONNX Conv.
var convAttrNames = []string{"strides", "pads", "dilations", "group", "kernel_shape"}

// convKernel computes act(conv(shift(X) * G, W) + B + R): the shift
// materialised by the TemporalShift kernel, the channel scale G by Mul,
// the convolution and bias by
// the ONNX Conv kernel, then the ONNX Add, Relu or Clip kernels.
func fusedConvKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 3 || in[ConvX] == nil || in[ConvW] == nil || in[ConvB] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	x := in[ConvX]
	if _, shifted := n.AttrInts("shift"); shifted {
		attrs := map[string]ir.Attr{"segments": n.Attrs["segments"], "shift": n.Attrs["shift"]}
		var state *ir.Tensor
		if len(in) > ConvState {
			state = in[ConvState]
		}
		inputs := []*ir.Tensor{x}
		if state != nil {
			inputs = append(inputs, state)
		}
		var err error
		if x, err = EvalOp(Domain, OpTemporalShift, 1, attrs, inputs...); err != nil {
			return nil, fmt.Errorf("fused shift: %w", err)
		}
	}
	if len(in) > ConvScale && in[ConvScale] != nil {
		var err error
		if x, err = EvalOp("", "Mul", onnxOpset, nil, x, in[ConvScale]); err != nil {
			return nil, fmt.Errorf("channel scale: %w", err)
		}
	}
	attrs := map[string]ir.Attr{}
	for _, k := range convAttrNames {
		if a, ok := n.Attrs[k]; ok {
			attrs[k] = a
		}
	}
	y, err := EvalOp("", "Conv", onnxOpset, attrs, x, in[ConvW], in[ConvB])
	if err != nil {
		return nil, err
	}
	if len(in) > ConvResidual && in[ConvResidual] != nil {
		if !in[ConvResidual].Shape.Equal(y.Shape) {
			return nil, fmt.Errorf("residual has shape %v, the convolution gives %v", in[ConvResidual].Shape, y.Shape)
		}
		if y, err = EvalOp("", "Add", onnxOpset, nil, y, in[ConvResidual]); err != nil {
			return nil, err
		}
	}
	y, err = applyActivation(n, y)
	if err != nil {
		return nil, err
	}
	if pool, pooled, err := PoolOf(n); err != nil {
		return nil, err
	} else if pooled {
		if y, err = EvalOp("", "MaxPool", onnxOpset, pool.Attrs(), y); err != nil {
			return nil, fmt.Errorf("fused max pool: %w", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// applyActivation runs the epilogue activation named by n's attributes
// as the ONNX ops it replaces: Relu, Clip, Sigmoid, Mul of x and
// Sigmoid(x), HardSigmoid, Mul of x and HardSigmoid(x), HardSwish.
func applyActivation(n *ir.Node, y *ir.Tensor) (*ir.Tensor, error) {
	switch act := n.AttrString("activation", ActNone); act {
	case ActNone:
		return y, nil
	case ActRelu:
		return EvalOp("", "Relu", onnxOpset, nil, y)
	case ActClip:
		lo, hi := n.Attrs["clip_min"], n.Attrs["clip_max"]
		if lo.Kind != ir.AttrFloat || hi.Kind != ir.AttrFloat {
			return nil, fmt.Errorf("activation clip needs float attributes clip_min and clip_max")
		}
		return EvalOp("", "Clip", onnxOpset, nil, y, ir.Scalar(lo.Float), ir.Scalar(hi.Float))
	case ActSigmoid, ActSiLU:
		s, err := EvalOp("", "Sigmoid", onnxOpset, nil, y)
		if err != nil || act == ActSigmoid {
			return s, err
		}
		return EvalOp("", "Mul", onnxOpset, nil, y, s)
	case ActHardSigmoid, ActHardSwish:
		if act == ActHardSwish && onnxHardSwish(n) {
			return hardSwish(y)
		}
		alpha, beta, err := hardParams(n)
		if err != nil {
			return nil, err
		}
		h, err := hardSigmoid(y, alpha, beta)
		if err != nil || act == ActHardSigmoid {
			return h, err
		}
		return EvalOp("", "Mul", onnxOpset, nil, y, h)
	default:
		return nil, fmt.Errorf("unknown activation %q", act)
	}
}

// hardSigmoid is ONNX HardSigmoid, max(0, min(1, alpha*x + beta)),
// computed the way the interpreter computes elementwise ops: in float64,
// rounded to float32 once (NaN stays NaN).
func hardSigmoid(x *ir.Tensor, alpha, beta float32) (*ir.Tensor, error) {
	if x.DType != ir.Float32 {
		return nil, fmt.Errorf("hardsigmoid of a %v tensor, want float32", x.DType)
	}
	y, err := ir.NewTensor(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	a, b := float64(alpha), float64(beta)
	for i, v := range x.F32 {
		y.F32[i] = float32(math.Max(0, math.Min(1, a*float64(v)+b)))
	}
	return y, nil
}

// hardSwish is ONNX HardSwish, x * max(0, min(1, x/6 + 1/2)), computed
// in float64 and rounded to float32 once.
func hardSwish(x *ir.Tensor) (*ir.Tensor, error) {
	if x.DType != ir.Float32 {
		return nil, fmt.Errorf("hardswish of a %v tensor, want float32", x.DType)
	}
	y, err := ir.NewTensor(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	for i, v := range x.F32 {
		v := float64(v)
		y.F32[i] = float32(v * math.Max(0, math.Min(1, v/6+0.5)))
	}
	return y, nil
}

// activationKernel computes a tsmc.Activation: its activation applied to X.
func activationKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, fmt.Errorf("needs one input")
	}
	y, err := applyActivation(n, in[0])
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// denseKernel computes GlobalAveragePool, Flatten and Gemm (transB=1).
func denseKernel(_ *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	x := in[0]
	if len(x.Shape) > 2 {
		var err error
		if x, err = EvalOp("", "GlobalAveragePool", onnxOpset, nil, x); err != nil {
			return nil, err
		}
		if x, err = EvalOp("", "Flatten", onnxOpset, map[string]ir.Attr{"axis": ir.Attr{Kind: ir.AttrInt, Int: 1}}, x); err != nil {
			return nil, err
		}
	}
	y, err := EvalOp("", "Gemm", onnxOpset, map[string]ir.Attr{"transB": ir.Attr{Kind: ir.AttrInt, Int: 1}}, x, in[1], in[2])
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// segmentMeanKernel views X [N*T, rest...] as [N, T, rest...] and averages
// over T with the ONNX Reshape and ReduceMean kernels.
func segmentMeanKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, fmt.Errorf("needs one input")
	}
	x := in[0]
	t := int(n.AttrInt("segments", 0))
	if len(x.Shape) < 1 || t <= 0 || x.Shape[0]%t != 0 {
		return nil, fmt.Errorf("cannot split %v into segments of %d frames", x.Shape, t)
	}
	shape := []int64{int64(x.Shape[0] / t), int64(t)}
	for _, d := range x.Shape[1:] {
		shape = append(shape, int64(d))
	}
	v, err := EvalOp("", "Reshape", onnxOpset, nil, x, ir.Int64s(ir.Shape{len(shape)}, shape))
	if err != nil {
		return nil, err
	}
	y, err := EvalOp("", "ReduceMean", onnxOpset, map[string]ir.Attr{"axes": ir.Attr{Kind: ir.AttrInts, Ints: []int64{1}}, "keepdims": ir.Attr{Kind: ir.AttrInt, Int: 0}}, v)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// temporalShiftKernel computes Y[n*T+t, c] = X[n*T+t+d(c), c] when
// 0 <= t+d(c) < T, else S_prev[n, state channel of c] when there is a
// state, else zeros (a quantised shift's fill).
func temporalShiftKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 1 || in[0] == nil {
		return nil, fmt.Errorf("needs input X")
	}
	s, ok, err := ShiftOf(n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("has no shift attribute")
	}
	x := in[0]
	fill, err := ShiftFill(n, x.DType)
	if err != nil {
		return nil, err
	}
	var state *ir.Tensor
	var stateShape ir.Shape
	if len(in) > 1 && in[1] != nil {
		state, stateShape = in[1], in[1].Shape
	}
	if state != nil && state.DType != x.DType {
		return nil, fmt.Errorf("state is %v, X is %v", state.DType, x.DType)
	}
	if err := s.Check(x.Shape, stateShape); err != nil {
		return nil, err
	}
	frames, channels := x.Shape[0], x.Shape[1]
	inner := x.Shape[2:].Size()
	offset := make([]int, channels)
	stateChannel := make([]int, channels)
	next := 0
	for _, r := range s.Ranges {
		for c := r.Begin; c < r.End; c++ {
			offset[c], stateChannel[c] = r.Offset, next
			next++
		}
	}
	y, err := ir.NewTensor(x.DType, x.Shape)
	if err != nil {
		return nil, err
	}
	// copyRow copies row src of from (X or the state) into row dst of y,
	// or fills it.
	copyRow := func(dst int, from *ir.Tensor, src int) {
		switch {
		case y.DType == ir.Float32 && from != nil:
			copy(y.F32[dst*inner:][:inner], from.F32[src*inner:][:inner])
		case from != nil:
			copy(y.I64[dst*inner:][:inner], from.I64[src*inner:][:inner])
		case y.DType != ir.Float32:
			for i := range y.I64[dst*inner:][:inner] {
				y.I64[dst*inner+i] = fill
			}
		}
	}
	for f := 0; f < frames; f++ {
		t := f % s.Segments
		for c := 0; c < channels; c++ {
			switch src := t + offset[c]; {
			case src >= 0 && src < s.Segments:
				copyRow(f*channels+c, x, (f+offset[c])*channels+c)
			case state != nil:
				copyRow(f*channels+c, state, f/s.Segments*next+stateChannel[c])
			default:
				copyRow(f*channels+c, nil, 0)
			}
		}
	}
	return []*ir.Tensor{y}, nil
}

// blockKernel runs a tsmc.InvertedResidual's stages one after the other
// with the tsmc.Conv kernel (a tsmc.QInvertedResidual's with tsmc.QConv's).
func blockKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	// The stages are typed from the actual tensors, not from n's values.
	typed := *n
	typed.Inputs = make([]*ir.Value, len(n.Inputs))
	tensorOf := map[*ir.Value]*ir.Tensor{}
	for i, v := range n.Inputs {
		if v == nil || i >= len(in) || in[i] == nil {
			continue
		}
		typed.Inputs[i] = &ir.Value{Name: v.Name, DType: in[i].DType, Shape: in[i].Shape.Clone()}
		tensorOf[typed.Inputs[i]] = in[i]
	}
	stages, err := BlockStages(&typed)
	if err != nil {
		return nil, err
	}
	var y *ir.Tensor
	for _, s := range stages {
		if s == nil {
			continue
		}
		args := make([]*ir.Tensor, len(s.Inputs))
		for i, v := range s.Inputs {
			if v != nil {
				args[i] = tensorOf[v]
			}
		}
		kernel := fusedConvKernel
		if s.Op == OpQConv {
			kernel = qconvKernel
		}
		outs, err := kernel(s, onnxOpset, args)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		y = outs[0]
		tensorOf[s.Outputs[0]] = y
	}
	return []*ir.Tensor{y}, nil
}
