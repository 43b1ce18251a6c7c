package ops

import (
	"fmt"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// Domain is the operator domain of tsmc's own operators.
const Domain = "tsmc"

// tsmc's own operators, produced by the passes. Their semantics are defined
// by their reference kernels for the interpreter (reference.go), written as
// compositions of the ONNX kernels they replace.
const (
	// OpTemporalShift: inputs (X [N*T, C, ...], optional S_prev); output Y of
	// X's shape. Attributes: "segments" T and "shift", a flat list of
	// triples (c_begin, c_end, offset): channels [c_begin, c_end) of frame t
	// are read from frame t+offset of the same clip, or are zero where
	// t+offset falls outside [0, T). Channels in no range read frame t.
	// With the state input S_prev (online models, T frames per call, every
	// offset -1), frame -1 is S_prev instead of zeros: S_prev has the
	// shifted ranges' channels concatenated in range order. X may be
	// float32 or quantised (uint8, int8); a quantised shift's vacated
	// rows hold the attribute "fill" (its zero point: real zero).
	OpTemporalShift = "TemporalShift"
	// OpConv is a convolution with a fused epilogue: inputs (X, W, B,
	// optional residual R, optional shift state S_prev, optional channel
	// scale G). It computes act(conv(shift(X), W) + B + R), or with G
	// [N, C, 1...] (a squeeze-and-excitation gate, never with a shift)
	// act(conv(X * G, W) + B + R). Attributes: those of ONNX Conv
	// (strides, pads, dilations, group, kernel_shape; pads explicit, no
	// auto_pad), "activation" with its parameters (activation.go: "" none,
	// "relu", "clip" with "clip_min" and "clip_max", "sigmoid", "silu",
	// "hardsigmoid" and "hardswish" with "act_alpha" and "act_beta"), and
	// when a shift is fused, "segments" and "shift" as for TemporalShift;
	// with a fused max pool (no residual then), "pool_kernel",
	// "pool_strides" and "pool_pads" (convpool.go): the output is then
	// the pooled one.
	OpConv = "Conv"
	// OpDense is the classifier head: global average pooling followed by a
	// fully connected layer. Inputs (X [N, C, spatial...], W [K, C], B [K]);
	// output Y [N, K] with Y[n,k] = B[k] + sum_c W[k,c] * mean(X[n,c,...]),
	// the mean taken over every spatial position (X of rank 2 is used as
	// is). W is stored output-major, one row of C weights per class.
	OpDense = "Dense"
	// OpSegmentMean is the TSN consensus: input X [N*T, rest...], attribute
	// "segments" T; output Y [N, rest...] with Y[n,...] = (1/T) * sum over
	// t in [0, T) of X[n*T+t, ...], the average of each clip's T frames.
	OpSegmentMean = "SegmentMean"
)

// Input slots of tsmc.Conv.
const (
	ConvX = iota
	ConvW
	ConvB
	ConvResidual
	ConvState
	ConvScale
)

// ShiftRange is one triple of a TemporalShift's "shift" attribute.
type ShiftRange struct {
	Begin, End int // channel range [Begin, End)
	Offset     int // frame t reads frame t+Offset
}

// Shift is the decoded temporal shift of a TemporalShift or fused Conv.
type Shift struct {
	Segments int
	Ranges   []ShiftRange
}

// runtime returns s as the runtime's TemporalShift.
func (s Shift) runtime() runtime.TemporalShift {
	ts := runtime.TemporalShift{Segments: s.Segments}
	for _, r := range s.Ranges {
		ts.Ranges = append(ts.Ranges, runtime.ShiftRange{Begin: r.Begin, End: r.End, Offset: r.Offset})
	}
	return ts
}

// Attrs encodes s as node attributes.
func (s Shift) Attrs(n *ir.Node) {
	flat := make([]int64, 0, 3*len(s.Ranges))
	for _, r := range s.Ranges {
		flat = append(flat, int64(r.Begin), int64(r.End), int64(r.Offset))
	}
	n.SetAttr("segments", ir.Attr{Kind: ir.AttrInt, Int: int64(s.Segments)})
	n.SetAttr("shift", ir.Attr{Kind: ir.AttrInts, Ints: flat})
}

// ShiftOf decodes the shift attributes of n; ok is false when n has none.
func ShiftOf(n *ir.Node) (s Shift, ok bool, err error) {
	flat, has := n.AttrInts("shift")
	if !has {
		return Shift{}, false, nil
	}
	if len(flat)%3 != 0 {
		return Shift{}, true, n.Errorf("attribute shift has %d values, want triples", len(flat))
	}
	s.Segments = int(n.AttrInt("segments", 0))
	if s.Segments <= 0 {
		return Shift{}, true, n.Errorf("attribute segments must be positive, got %d", s.Segments)
	}
	prevEnd := 0
	for i := 0; i < len(flat); i += 3 {
		r := ShiftRange{int(flat[i]), int(flat[i+1]), int(flat[i+2])}
		if r.Begin < prevEnd || r.End <= r.Begin {
			return Shift{}, true, n.Errorf("shift range [%d,%d) is empty or overlaps the previous one", r.Begin, r.End)
		}
		prevEnd = r.End
		s.Ranges = append(s.Ranges, r)
	}
	return s, true, nil
}

// Source returns the frame offset of channel c (0 when it is not shifted).
func (s Shift) Source(c int) int {
	for _, r := range s.Ranges {
		if c >= r.Begin && c < r.End {
			return r.Offset
		}
	}
	return 0
}

// StateChannels is the channel count of the state S_prev of a stateful shift.
func (s Shift) StateChannels() int {
	n := 0
	for _, r := range s.Ranges {
		n += r.End - r.Begin
	}
	return n
}

func (s Shift) String() string {
	str := fmt.Sprintf("T=%d", s.Segments)
	for _, r := range s.Ranges {
		str += fmt.Sprintf(" [%d,%d)%+d", r.Begin, r.End, r.Offset)
	}
	return str
}

// Check checks a shift against the shapes of its input x
// ([N*T, C, ...]) and optional state (nil, or [N, StateChannels, ...]).
func (s Shift) Check(x, state ir.Shape) error {
	if len(x) < 2 {
		return fmt.Errorf("input has shape %v, want [N*T, C, ...]", x)
	}
	if x[0]%s.Segments != 0 {
		return fmt.Errorf("batch %d is not a multiple of %d segments", x[0], s.Segments)
	}
	if n := len(s.Ranges); n > 0 && s.Ranges[n-1].End > x[1] {
		return fmt.Errorf("shift range [%d,%d) exceeds the %d channels", s.Ranges[n-1].Begin, s.Ranges[n-1].End, x[1])
	}
	if state == nil {
		return nil
	}
	for _, r := range s.Ranges {
		if r.Offset != -1 {
			return fmt.Errorf("a shift with state must read the previous frame, range [%d,%d) has offset %+d", r.Begin, r.End, r.Offset)
		}
	}
	if want := append(ir.Shape{x[0] / s.Segments, s.StateChannels()}, x[2:]...); !state.Equal(want) {
		return fmt.Errorf("state has shape %v, want %v", state, want)
	}
	return nil
}

// inferTemporalShift gives the output X's type after checking the operands.
func inferTemporalShift(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) < 1 || len(n.Inputs) > 2 || n.Input(0) == nil || len(n.Outputs) != 1 {
		return n.Errorf("needs inputs (X, optional S_prev) and one output")
	}
	s, ok, err := ShiftOf(n)
	if err != nil {
		return err
	}
	if !ok {
		return n.Errorf("has no shift attribute")
	}
	x := n.Inputs[0]
	if _, err := ShiftFill(n, x.DType); err != nil {
		return err
	}
	var state ir.Shape
	if sv := n.Input(1); sv != nil {
		if sv.DType != x.DType {
			return n.Errorf("state %v is %v, input %v is %v", sv, sv.DType, x, x.DType)
		}
		state = sv.Shape
	}
	if err := s.Check(x.Shape, state); err != nil {
		return n.Errorf("%v", err)
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, x.Shape.Clone()
	return nil
}

// ShiftFill is the value the vacated rows of n's shift hold for an input
// of dtype dt: 0 for float32, the "fill" attribute (default 0) for a
// quantised input, which must lie in dt's range.
func ShiftFill(n *ir.Node, dt ir.DType) (int64, error) {
	fill, has := n.Attrs["fill"]
	switch {
	case dt == ir.Float32:
		if has {
			return 0, n.Errorf("a float32 shift fills with zeros; the fill attribute is for quantised inputs")
		}
		return 0, nil
	case dt == ir.Uint8 || dt == ir.Int8:
	default:
		return 0, n.Errorf("shifts float32, uint8 or int8 tensors, not %v", dt)
	}
	if !has {
		return 0, nil
	}
	lo, hi, _ := interp.QuantRange(dt)
	if fill.Kind != ir.AttrInt || fill.Int < lo || fill.Int > hi {
		return 0, n.Errorf("fill %v is not an integer in %v's range", fill.Int, dt)
	}
	return fill.Int, nil
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

// denseMACs is N*K*C for a tsmc.Dense (the pooling adds are not counted).
func denseMACs(n *ir.Node) int64 {
	w, y := n.Input(1), n.Outputs[0]
	if w == nil || y == nil || !w.Shape.Known() || !y.Shape.Known() || len(w.Shape) != 2 {
		return 0
	}
	return int64(y.Shape.Size()) * int64(w.Shape[1])
}

// tsmcDefs are tsmc's own operators.
func tsmcDefs() []*Def {
	return []*Def{
		{Domain: Domain, Op: OpTemporalShift, Infer: inferTemporalShift, Lower: lowerTemporalShift, Int8: true},
		{Domain: Domain, Op: OpDense, Infer: inferDense, MACs: denseMACs, Params: true, Lower: lowerDense},
		{Domain: Domain, Op: OpSegmentMean, Infer: inferSegmentMean, Lower: lowerSegmentMean},
	}
}

// shiftVar checks shift against an input of frames x channels rows of hw
// floats (and its state) and declares it as a runtime.TemporalShift.
func shiftVar(l Lowering, n *ir.Node, shift Shift, frames, channels, hw int, state Buf) (Obj, error) {
	ts := shift.runtime()
	if err := ts.Validate(frames, channels); err != nil {
		return Obj{}, n.Errorf("%v", err)
	}
	if state != nil {
		if want := frames / ts.Segments * ts.StateChannels() * hw; state.Len() != want {
			return Obj{}, n.Errorf("shift state has %d values, want %d", state.Len(), want)
		}
	}
	return l.Global("shift", "the temporal shift "+shift.String(), ts), nil
}

// lowerTemporalShift materialises a shift that a consumer other than a
// convolution reads.
func lowerTemporalShift(l Lowering, n *ir.Node) error {
	shift, ok, err := ShiftOf(n)
	if err != nil {
		return err
	}
	if !ok {
		return n.Errorf("temporal shift without a shift attribute")
	}
	xv := n.Input(0)
	x, err := l.In(0)
	if err != nil {
		return err
	}
	state, err := l.In(1)
	if err != nil {
		return err
	}
	out, err := l.Out(0)
	if err != nil {
		return err
	}
	frames, channels, hw := xv.Shape[0], xv.Shape[1], xv.Shape[2:].Size()
	v, err := shiftVar(l, n, shift, frames, channels, hw, state)
	if err != nil {
		return err
	}
	if quantByte(xv.DType) {
		fill, err := ShiftFill(n, xv.DType)
		if err != nil {
			return err
		}
		l.Run(Method(v, "ApplyQ", out, x, frames, channels, hw, state, u8Param(xv.DType, fill)).Checked())
		return nil
	}
	l.Run(Method(v, "Apply", out, x, frames, channels, hw, state).Checked())
	return nil
}

// lowerDense runs the spatial mean (when X has spatial positions) into a
// temporary, then the fully connected layer on packed weights.
func lowerDense(l Lowering, n *ir.Node) error {
	x, wv, bv := n.Input(0), n.Input(1), n.Input(2)
	if !wv.IsConst() || wv.DType != ir.Float32 {
		return n.Errorf("weights %v must be a float32 constant", wv)
	}
	batch, in, hw, classes := x.Shape[0], x.Shape[1], x.Shape[2:].Size(), wv.Shape[0]
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	rows := ins[0]
	if hw != 1 {
		rows = l.Temp(batch * in)
		l.Run(Fn("GlobalAveragePool", Pool, ins[0], rows, batch*in, hw))
	}
	weights := l.Packed(wv, "dense", runtime.PackedDenseWeightsLen(classes, in, runtime.PackNR), func() ([]float32, error) {
		return runtime.PackDenseWeights(wv.Const.F32, classes, in, runtime.PackNR)
	})
	bias, err := l.Weights(bv)
	if err != nil {
		return err
	}
	var dense Obj
	w := tunerun.Workload{Op: tunerun.OpDense, Dense: &tunerun.DenseShape{Batch: batch, In: in, Out: classes}, Act: runtime.Act{}.String()}
	if tuned, ok := l.Tuned(w); ok {
		dense = l.Object("dense", "Dense", "NewDensePlan", batch, in, classes, weights, Ident("packNR"), bias, runtime.Act{}, PlanFor{tuned})
	} else {
		dense = l.Object("dense", "Dense", "NewDense", batch, in, classes, weights, Ident("packNR"), bias, runtime.Act{})
	}
	l.Run(Method(dense, "Run", Pool, rows, out))
	return nil
}

// lowerSegmentMean averages [N*T, rest...] over each clip's T frames.
func lowerSegmentMean(l Lowering, n *ir.Node) error {
	x := n.Input(0).Shape
	t := int(n.AttrInt("segments", 0))
	return lowerMeanOverMiddle(l, x[0]/t, t, x[1:].Size())
}
