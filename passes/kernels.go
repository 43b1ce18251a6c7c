package passes

import (
	"fmt"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// This file gives tsmc's fused operators their meaning: reference kernels
// for the interpreter, written as compositions of the ONNX kernels they
// replace (so a fused graph computes exactly what the unfused one did),
// shape rules for ir.InferShapes and MAC counts for ir.Stats.

// onnxOpset is the ai.onnx version of the ops the fused kernels compose;
// Conv, Gemm, Add, Relu, Clip (bounds as inputs), GlobalAveragePool,
// Flatten, Reshape and ReduceMean (axes attribute) all have their current
// form at 13.
const onnxOpset = 13

func init() {
	interp.Register(Domain, OpConv, convKernel)
	interp.Register(Domain, OpDense, denseKernel)
	interp.Register(Domain, OpSegmentMean, segmentMeanKernel)
	ir.RegisterInfer(Domain, OpConv, inferConv)
	ir.RegisterInfer(Domain, OpDense, inferDense)
	ir.RegisterInfer(Domain, OpSegmentMean, inferSegmentMean)
	ir.RegisterCost(Domain, OpConv, convMACs)
	ir.RegisterCost(Domain, OpDense, denseMACs)
}

// convAttrNames are the attributes a tsmc.Conv shares with ONNX Conv.
var convAttrNames = []string{"strides", "pads", "dilations", "group", "kernel_shape"}

// convKernel computes act(conv(shift(X), W) + B + R): the shift
// materialised by the TemporalShift kernel, the convolution and bias by
// the ONNX Conv kernel, then the ONNX Add, Relu or Clip kernels.
func convKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 3 || in[convX] == nil || in[convW] == nil || in[convB] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	x := in[convX]
	if _, shifted := n.AttrInts("shift"); shifted {
		attrs := map[string]ir.Attr{"segments": n.Attrs["segments"], "shift": n.Attrs["shift"]}
		var state *ir.Tensor
		if len(in) > convState {
			state = in[convState]
		}
		inputs := []*ir.Tensor{x}
		if state != nil {
			inputs = append(inputs, state)
		}
		var err error
		if x, err = evalOp(Domain, OpTemporalShift, 1, attrs, inputs...); err != nil {
			return nil, fmt.Errorf("fused shift: %w", err)
		}
	}
	attrs := map[string]ir.Attr{}
	for _, k := range convAttrNames {
		if a, ok := n.Attrs[k]; ok {
			attrs[k] = a
		}
	}
	y, err := evalOp("", "Conv", onnxOpset, attrs, x, in[convW], in[convB])
	if err != nil {
		return nil, err
	}
	if len(in) > convResidual && in[convResidual] != nil {
		if !in[convResidual].Shape.Equal(y.Shape) {
			return nil, fmt.Errorf("residual has shape %v, the convolution gives %v", in[convResidual].Shape, y.Shape)
		}
		if y, err = evalOp("", "Add", onnxOpset, nil, y, in[convResidual]); err != nil {
			return nil, err
		}
	}
	y, err = applyActivation(n, y)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// applyActivation runs the epilogue activation named by n's attributes.
func applyActivation(n *ir.Node, y *ir.Tensor) (*ir.Tensor, error) {
	switch act := n.AttrString("activation", ActNone); act {
	case ActNone:
		return y, nil
	case ActRelu:
		return evalOp("", "Relu", onnxOpset, nil, y)
	case ActClip:
		lo, hi := n.Attrs["clip_min"], n.Attrs["clip_max"]
		if lo.Kind != ir.AttrFloat || hi.Kind != ir.AttrFloat {
			return nil, fmt.Errorf("activation clip needs float attributes clip_min and clip_max")
		}
		return evalOp("", "Clip", onnxOpset, nil, y, ir.Scalar(lo.Float), ir.Scalar(hi.Float))
	default:
		return nil, fmt.Errorf("unknown activation %q", act)
	}
}

// denseKernel computes GlobalAveragePool, Flatten and Gemm (transB=1).
func denseKernel(_ *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, fmt.Errorf("needs inputs X, W and B")
	}
	x := in[0]
	if len(x.Shape) > 2 {
		var err error
		if x, err = evalOp("", "GlobalAveragePool", onnxOpset, nil, x); err != nil {
			return nil, err
		}
		if x, err = evalOp("", "Flatten", onnxOpset, map[string]ir.Attr{"axis": newIntAttr(1)}, x); err != nil {
			return nil, err
		}
	}
	y, err := evalOp("", "Gemm", onnxOpset, map[string]ir.Attr{"transB": newIntAttr(1)}, x, in[1], in[2])
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
	shape := append([]int64{int64(x.Shape[0] / t), int64(t)}, ints64(x.Shape[1:])...)
	v, err := evalOp("", "Reshape", onnxOpset, nil, x, ir.Int64s(ir.Shape{len(shape)}, shape))
	if err != nil {
		return nil, err
	}
	y, err := evalOp("", "ReduceMean", onnxOpset, map[string]ir.Attr{"axes": newIntsAttr(1), "keepdims": newIntAttr(0)}, v)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{y}, nil
}

// inferConv checks a tsmc.Conv's operands and sets its output type.
func inferConv(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) < 3 || len(n.Inputs) > 5 || n.Input(convX) == nil || n.Input(convW) == nil || n.Input(convB) == nil {
		return n.Errorf("needs inputs (X, W, B, optional residual, optional shift state)")
	}
	x, w, b := n.Inputs[convX], n.Inputs[convW], n.Inputs[convB]
	spatial := len(w.Shape) - 2
	if spatial < 1 || len(x.Shape) != len(w.Shape) {
		return n.Errorf("input %v%v and weight %v%v must both have rank 3 or more", x, x.Shape, w, w.Shape)
	}
	group := int(n.AttrInt("group", 1))
	m := w.Shape[0]
	if group <= 0 || x.Shape[1] != w.Shape[1]*group || m%group != 0 {
		return n.Errorf("input has %d channels, weight %v with group %d wants %d", x.Shape[1], w.Shape, group, w.Shape[1]*group)
	}
	if !b.Shape.Equal(ir.Shape{m}) {
		return n.Errorf("bias %v has shape %v, want [%d]", b, b.Shape, m)
	}
	ints := func(name string, length int) ([]int64, error) {
		v, ok := n.AttrInts(name)
		if !ok || len(v) != length {
			return nil, n.Errorf("attribute %s must list %d values, got %v", name, length, v)
		}
		return v, nil
	}
	kernel, err := ints("kernel_shape", spatial)
	if err != nil {
		return err
	}
	strides, err := ints("strides", spatial)
	if err != nil {
		return err
	}
	dilations, err := ints("dilations", spatial)
	if err != nil {
		return err
	}
	pads, err := ints("pads", 2*spatial)
	if err != nil {
		return err
	}
	out := ir.Shape{x.Shape[0], m}
	for i := 0; i < spatial; i++ {
		if kernel[i] != int64(w.Shape[2+i]) {
			return n.Errorf("kernel_shape %v disagrees with weight shape %v", kernel, w.Shape)
		}
		if strides[i] <= 0 || dilations[i] <= 0 || pads[i] < 0 || pads[i+spatial] < 0 {
			return n.Errorf("strides %v, dilations %v and pads %v must be positive (pads non-negative)", strides, dilations, pads)
		}
		span := int64(x.Shape[2+i]) + pads[i] + pads[i+spatial] - (kernel[i]-1)*dilations[i] - 1
		if span < 0 {
			return n.Errorf("kernel %v does not fit the padded input %v", kernel, x.Shape)
		}
		out = append(out, int(span/strides[i]+1))
	}
	if r := n.Input(convResidual); r != nil && (!r.Shape.Equal(out) || r.DType != x.DType) {
		return n.Errorf("residual %v is %s%v, the output is %s%v", r, r.DType, r.Shape, x.DType, out)
	}
	if err := checkFusedShift(n, x); err != nil {
		return err
	}
	if a := n.AttrString("activation", ActNone); a != ActNone && a != ActRelu && a != ActClip {
		return n.Errorf("unknown activation %q", a)
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, out
	return nil
}

// checkFusedShift checks the shift attributes and state of a tsmc.Conv
// against its input.
func checkFusedShift(n *ir.Node, x *ir.Value) error {
	s, ok, err := ShiftOf(n)
	if err != nil {
		return err
	}
	state := n.Input(convState)
	if !ok {
		if state != nil {
			return n.Errorf("has a shift state input but no shift attributes")
		}
		return nil
	}
	var stateShape ir.Shape
	if state != nil {
		if state.DType != x.DType {
			return n.Errorf("shift state %v is %v, input %v is %v", state, state.DType, x, x.DType)
		}
		stateShape = state.Shape
	}
	if err := checkShiftOperands(s, x.Shape, stateShape); err != nil {
		return n.Errorf("fused shift: %v", err)
	}
	return nil
}

// inferDense checks a tsmc.Dense's operands and sets its output type.
func inferDense(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) != 3 || n.Input(0) == nil || n.Input(1) == nil || n.Input(2) == nil {
		return n.Errorf("needs inputs (X, W, B)")
	}
	x, w, b := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if len(x.Shape) < 2 || len(w.Shape) != 2 || w.Shape[1] != x.Shape[1] || !b.Shape.Equal(ir.Shape{w.Shape[0]}) {
		return n.Errorf("input %v, weight %v and bias %v do not fit X [N, C, ...], W [K, C], B [K]", x.Shape, w.Shape, b.Shape)
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, ir.Shape{x.Shape[0], w.Shape[0]}
	return nil
}

// inferSegmentMean sets the output type of a tsmc.SegmentMean.
func inferSegmentMean(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) != 1 || n.Input(0) == nil {
		return n.Errorf("needs one input")
	}
	x := n.Inputs[0]
	t := int(n.AttrInt("segments", 0))
	if len(x.Shape) < 1 || t <= 0 || x.Shape[0]%t != 0 {
		return n.Errorf("cannot split input %v into segments of %d frames", x.Shape, t)
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, append(ir.Shape{x.Shape[0] / t}, x.Shape[1:]...)
	return nil
}

// convMACs is the multiply-accumulate count of a tsmc.Conv: C/group times
// the kernel size per output element.
func convMACs(n *ir.Node) int64 {
	w, y := n.Input(convW), n.Outputs[0]
	if w == nil || y == nil || !w.Shape.Known() || !y.Shape.Known() || len(w.Shape) < 2 {
		return 0
	}
	per := int64(1)
	for _, d := range w.Shape[1:] {
		per *= int64(d)
	}
	return int64(y.Shape.Size()) * per
}

// denseMACs is N*K*C for a tsmc.Dense (the pooling adds are not counted).
func denseMACs(n *ir.Node) int64 {
	w, y := n.Input(1), n.Outputs[0]
	if w == nil || y == nil || !w.Shape.Known() || !y.Shape.Known() || len(w.Shape) != 2 {
		return 0
	}
	return int64(y.Shape.Size()) * int64(w.Shape[1])
}
