package ops

import (
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// Convolutions: ONNX's Conv and tsmc.Conv, the convolution with a fused
// shift and epilogue that the passes make of it.

func convDefs() []*Def {
	return []*Def{
		{Op: "Conv", Infer: inferConv, MACs: convMACs, Params: true, Lower: lowerConv},
		{Domain: Domain, Op: OpConv, Infer: inferFusedConv, MACs: convMACs, Params: true, Lower: lowerConv},
	}
}

// inferConv: X [N, C, D...], W [M, C/group, K...], optional B [M].
func inferConv(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1, 2); err != nil {
		return err
	}
	x := n.Inputs[0]
	out, err := convOutput(n, x, n.Inputs[1], n.Input(2))
	if err != nil {
		return err
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// convOutput checks the shapes of a convolution's input x [N, C, D...],
// weights w [M, C/group, K...] and optional bias b [M] against n's window
// attributes and returns the output shape [N, M, D'...]. Conv and the
// quantised convolutions share it.
func convOutput(n *ir.Node, x, w, b *ir.Value) (ir.Shape, error) {
	if len(x.Shape) < 3 {
		return nil, n.Errorf("input %v must have rank >= 3 (N, C, spatial...), has shape %v", x, x.Shape)
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, n.Errorf("weight %v has shape %v, want rank %d like the input %v", w, w.Shape, len(x.Shape), x.Shape)
	}
	group := n.AttrInt("group", 1)
	c, m := x.Shape[1], w.Shape[0]
	if group < 1 || group > ir.MaxElements {
		return nil, n.Errorf("group %d is out of range", group)
	}
	if perGroup, ok := mulDim(w.Shape[1], int(group)); !ok || perGroup != c {
		return nil, n.Errorf("weight %v has %d input channels per group with group=%d, but the input %v has %d channels", w.Shape, w.Shape[1], group, x.Shape, c)
	}
	if int64(m)%group != 0 {
		return nil, n.Errorf("weight %v has %d output channels, not a multiple of group=%d", w.Shape, m, group)
	}
	kernel := append([]int(nil), w.Shape[2:]...)
	if ks, ok := n.AttrInts("kernel_shape"); ok && !ir.Shape(kernel).Equal(int64sToShape(ks)) {
		return nil, n.Errorf("kernel_shape %v does not match weight shape %v", ks, w.Shape)
	}
	if b != nil && !b.Shape.Equal(ir.Shape{m}) {
		return nil, n.Errorf("bias %v has shape %v, want [%d]", b, b.Shape, m)
	}
	win, err := parseWindow(n, kernel, false)
	if err != nil {
		return nil, err
	}
	spatial, err := win.outDims(n, x.Shape[2:])
	if err != nil {
		return nil, err
	}
	return append(ir.Shape{x.Shape[0], m}, spatial...), nil
}

// inferFusedConv checks a tsmc.Conv's operands and sets its output type.
func inferFusedConv(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) < 3 || len(n.Inputs) > 6 || n.Input(ConvX) == nil || n.Input(ConvW) == nil || n.Input(ConvB) == nil {
		return n.Errorf("needs inputs (X, W, B, optional residual, optional shift state, optional channel scale)")
	}
	x, w, b := n.Inputs[ConvX], n.Inputs[ConvW], n.Inputs[ConvB]
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
	if r := n.Input(ConvResidual); r != nil && (!r.Shape.Equal(out) || r.DType != x.DType) {
		return n.Errorf("residual %v is %s%v, the output is %s%v", r, r.DType, r.Shape, x.DType, out)
	}
	if err := checkFusedShift(n, x); err != nil {
		return err
	}
	if err := checkChannelScale(n, x); err != nil {
		return err
	}
	if _, err := Activation(n); err != nil {
		return err
	}
	if out, err = pooledShape(n, out); err != nil {
		return err
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
	state := n.Input(ConvState)
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
	if err := s.Check(x.Shape, stateShape); err != nil {
		return n.Errorf("fused shift: %v", err)
	}
	return nil
}

// channelScaleShape is the shape of a channel scale of x [N, C, spatial...]:
// [N, C, 1...].
func channelScaleShape(x ir.Shape) ir.Shape {
	s := ir.Shape{x[0], x[1]}
	for range x[2:] {
		s = append(s, 1)
	}
	return s
}

// checkChannelScale checks the channel scale input of a tsmc.Conv, if
// any, against its input x.
func checkChannelScale(n *ir.Node, x *ir.Value) error {
	g := n.Input(ConvScale)
	if g == nil {
		return nil
	}
	if _, shifted := n.AttrInts("shift"); shifted {
		return n.Errorf("channel scale %v and a fused shift do not combine", g)
	}
	if _, pooled, _ := PoolOf(n); pooled {
		return n.Errorf("channel scale %v and a fused max pool do not combine", g)
	}
	if want := channelScaleShape(x.Shape); g.DType != x.DType || !g.Shape.Equal(want) {
		return n.Errorf("channel scale %v is %s%v, want %s%v", g, g.DType, g.Shape, x.DType, want)
	}
	return nil
}

// TakesChannelScale reports whether the tsmc.Conv n can read its input
// times a channel scale of shape [N, C, 1...] (ConvScale), and it pays
// (runtime.ScaleFoldPays): a 2-D convolution on the GEMM with constant
// weights, no shift and not depthwise or a dense layer. The scale is
// applied as its B panels are packed.
func TakesChannelScale(n *ir.Node) bool {
	if n.Domain != Domain || n.Op != OpConv || n.Input(ConvScale) != nil || n.Input(ConvState) != nil {
		return false
	}
	if _, shifted := n.AttrInts("shift"); shifted || !n.Input(ConvW).IsConst() || n.Input(ConvX).DType != ir.Float32 {
		return false
	}
	if _, pooled, err := PoolOf(n); pooled || err != nil {
		return false
	}
	cs, nd, err := convShapes(n)
	return err == nil && nd == nil && !Depthwise(cs) && !denseShape(cs) && runtime.ScaleFoldPays(cs)
}

// convMACs: every output element of the convolution (before a fused
// pool) takes C/group * prod(kernel) MACs.
func convMACs(n *ir.Node) int64 {
	w := n.Input(1)
	if w == nil || !w.Shape.Known() || len(w.Shape) < 2 {
		return 0
	}
	perOut := int64(1)
	for _, d := range w.Shape[1:] {
		perOut *= int64(d)
	}
	outs := int64(n.Outputs[0].Shape.Size())
	if _, pooled, _ := PoolOf(n); pooled {
		cs, err := ConvShape(n)
		if err != nil {
			return 0
		}
		outs = int64(cs.OutLen())
	}
	return outs * perOut
}

// ConvShape reads the runtime shape of the Conv or tsmc.Conv n that runs
// as a 2-D convolution: a 2-D one, or one of 1 or 3 spatial axes that is
// exactly a 2-D one (runtime.ConvNdShape.Conv2D).
func ConvShape(n *ir.Node) (runtime.ConvShape, error) {
	cs, nd, err := convShapes(n)
	if err != nil {
		return runtime.ConvShape{}, err
	}
	if nd != nil {
		return runtime.ConvShape{}, n.Errorf("the %d-D convolution of input %v and weights %v is not a 2-D one", len(nd.In), n.Input(ConvX).Shape, n.Input(ConvW).Shape)
	}
	return cs, nil
}

// convShapes reads the runtime shape of the Conv or tsmc.Conv n: a
// ConvShape when it runs as a 2-D convolution, else its ConvNdShape.
func convShapes(n *ir.Node) (runtime.ConvShape, *runtime.ConvNdShape, error) {
	x, w := n.Input(ConvX), n.Input(ConvW)
	if x == nil || w == nil {
		return runtime.ConvShape{}, nil, n.Errorf("convolution needs inputs X and W")
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return runtime.ConvShape{}, nil, n.Errorf("input %v and weights %v are not [N, C, spatial...] and [M, C/group, kernel...]", x.Shape, w.Shape)
	}
	win, err := parseWindow(n, w.Shape[2:], false)
	if err != nil {
		return runtime.ConvShape{}, nil, err
	}
	begin, end := win.explicitPads(x.Shape[2:])
	group := int(n.AttrInt("group", 1))
	if group <= 0 || w.Shape[1]*group != x.Shape[1] {
		return runtime.ConvShape{}, nil, n.Errorf("weights %v do not fit %d input channels in %d groups", w.Shape, x.Shape[1], group)
	}
	nd := runtime.ConvNdShape{
		Batch: x.Shape[0], Cin: x.Shape[1], Cout: w.Shape[0], Group: group,
		In: x.Shape[2:], Kernel: w.Shape[2:], Strides: win.strides, Dilations: win.dilations, PadsBegin: begin, PadsEnd: end,
	}
	if err := nd.Validate(); err != nil {
		return runtime.ConvShape{}, nil, n.Errorf("%v", err)
	}
	want, err := pooledShape(n, append(ir.Shape{nd.Batch, nd.Cout}, nd.Out()...))
	if err != nil {
		return runtime.ConvShape{}, nil, err
	}
	if got := n.Outputs[0].Shape; !got.Equal(want) {
		return runtime.ConvShape{}, nil, n.Errorf("output shape %v, but the kernel computes %v", got, want)
	}
	if len(nd.In) == 2 { // as it is: the 2-D kernels plan on its real H and W
		return runtime.ConvShape{
			Frames: nd.Batch, Cin: nd.Cin, H: nd.In[0], W: nd.In[1], Cout: nd.Cout, Group: group, KH: nd.Kernel[0], KW: nd.Kernel[1],
			StrideH: nd.Strides[0], StrideW: nd.Strides[1], DilationH: nd.Dilations[0], DilationW: nd.Dilations[1],
			PadTop: begin[0], PadLeft: begin[1], PadBottom: end[0], PadRight: end[1],
		}, nil, nil
	}
	cs, ok := nd.Conv2D()
	if !ok {
		return runtime.ConvShape{}, &nd, nil
	}
	if err := cs.Validate(); err != nil {
		return runtime.ConvShape{}, nil, n.Errorf("%v", err)
	}
	return cs, nil, nil
}

// Depthwise reports whether the runtime runs cs with its depthwise kernel:
// one input and one output channel per group.
func Depthwise(cs runtime.ConvShape) bool {
	return cs.Group > 1 && cs.Group == cs.Cin && cs.Cout == cs.Cin
}

// denseShape reports whether cs is a fully connected layer: a 1x1
// convolution of one group over 1x1 maps (a squeeze-and-excitation
// block's convolutions, after its global pool). runtime.Dense runs them 5
// to 12 times faster than the convolution's GEMM, planned over pixels,
// which a frame has one of.
func denseShape(cs runtime.ConvShape) bool {
	return cs.H == 1 && cs.W == 1 && cs.KH == 1 && cs.KW == 1 && cs.Group <= 1 &&
		cs.PadTop == 0 && cs.PadLeft == 0 && cs.PadBottom == 0 && cs.PadRight == 0
}

// convPlan is a validated convolution with its weights in weights.bin:
// packed for the GEMM or the dense layer, or raw for the depthwise kernel.
// nd is the shape of one that is not a 2-D convolution, run as
// runtime.ConvNd.
type convPlan struct {
	cs            runtime.ConvShape
	nd            *runtime.ConvNdShape
	act           runtime.Act
	depthwise     bool
	dense         bool // run as runtime.Dense (denseShape)
	weights, bias Buf
	shift         *Shift
}

// planConv validates the Conv or tsmc.Conv n and stores its weights; a
// convolution of denseShape runs as a dense layer when mayBeDense (it has
// no residual and is no stage of a block).
func planConv(l Lowering, n *ir.Node, mayBeDense bool) (*convPlan, error) {
	cs, nd, err := convShapes(n)
	if err != nil {
		return nil, err
	}
	if nd != nil {
		cs.Cout = nd.Cout
	}
	wv, bv := n.Input(ConvW), n.Input(ConvB)
	if bv != nil && bv.Shape.Size() != cs.Cout {
		return nil, n.Errorf("bias has %d values, want %d", bv.Shape.Size(), cs.Cout)
	}
	act, err := Activation(n)
	if err != nil {
		return nil, err
	}
	c := &convPlan{cs: cs, nd: nd, act: act, depthwise: nd == nil && Depthwise(cs)}
	if s, shifted, err := ShiftOf(n); err != nil {
		return nil, err
	} else if shifted {
		c.shift = &s
	}
	c.dense = mayBeDense && nd == nil && !c.depthwise && c.shift == nil && denseShape(cs)
	if !wv.IsConst() || wv.DType != ir.Float32 {
		return nil, n.Errorf("weights %v must be a float32 constant", wv)
	}
	switch {
	case nd != nil:
		if c.shift != nil {
			return nil, n.Errorf("a shift fused into a %d-D convolution that is not a 2-D one is not supported", len(nd.In))
		}
		c.weights = l.Packed(wv, "convnd", runtime.PackedConvNdWeightsLen(*nd, runtime.PackMR), func() ([]float32, error) {
			return runtime.PackConvNdWeights(wv.Const.F32, *nd, runtime.PackMR)
		})
	case c.depthwise:
		if c.weights, err = l.Weights(wv); err != nil {
			return nil, err
		}
	case c.dense: // [Cout][Cin][1][1] is the dense layer's [out][in]
		c.weights = l.Packed(wv, "dense", runtime.PackedDenseWeightsLen(cs.Cout, cs.Cin, runtime.PackNR), func() ([]float32, error) {
			return runtime.PackDenseWeights(wv.Const.F32, cs.Cout, cs.Cin, runtime.PackNR)
		})
	default:
		cinG := cs.Cin / cs.Group
		c.weights = l.Packed(wv, "conv", runtime.PackedConvWeightsLen(cs.Cout, cinG, cs.KH, cs.KW, cs.Group, runtime.PackMR), func() ([]float32, error) {
			return runtime.PackConvWeights(wv.Const.F32, cs.Cout, cinG, cs.KH, cs.KW, cs.Group, runtime.PackMR)
		})
	}
	if bv != nil {
		if c.bias, err = l.Weights(bv); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// workload is the signature of the convolution as a planned layer, with
// its epilogue's residual and its input's shift and state.
func (c *convPlan) workload(residual, state bool) tunerun.Workload {
	cs := c.cs.Normalized()
	if c.dense {
		return tunerun.Workload{Op: tunerun.OpDense, Dense: &tunerun.DenseShape{Batch: cs.Frames, In: cs.Cin, Out: cs.Cout}, Act: c.act.String()}
	}
	w := tunerun.Workload{Op: tunerun.OpConv, Shape: &cs, Act: c.act.String(), Residual: residual, State: state}
	if c.depthwise {
		w.Op = tunerun.OpDepthwise
	}
	if c.shift != nil {
		ts := c.shift.runtime()
		w.Shift = &ts
	}
	return w
}

// object plans the runtime convolution in New. w is its signature as a
// planned layer, or nil for a stage of a fused block (which plans the
// block instead).
func (c *convPlan) object(l Lowering, hint string, w *tunerun.Workload) Obj {
	if c.nd != nil {
		return l.Object(hint, "ConvNd", "NewConvNd", *c.nd, c.weights, Ident("packMR"), c.bias, c.act)
	}
	var tuned Obj
	ok := false
	if w != nil {
		tuned, ok = l.Tuned(*w)
	}
	switch {
	case c.depthwise && ok:
		return l.Object(hint, "DepthwiseConv", "NewDepthwiseConvPlan", c.cs, c.weights, c.bias, c.act, PlanFor{tuned})
	case c.depthwise:
		return l.Object(hint, "DepthwiseConv", "NewDepthwiseConv", c.cs, c.weights, c.bias, c.act)
	case c.dense && ok:
		return l.Object(hint, "Dense", "NewDensePlan", c.cs.Frames, c.cs.Cin, c.cs.Cout, c.weights, Ident("packNR"), c.bias, c.act, PlanFor{tuned})
	case c.dense:
		return l.Object(hint, "Dense", "NewDense", c.cs.Frames, c.cs.Cin, c.cs.Cout, c.weights, Ident("packNR"), c.bias, c.act)
	case ok:
		return l.Object(hint, "Conv", "NewConvPlan", c.cs, c.weights, Ident("packMR"), c.bias, c.act, PlanFor{tuned})
	}
	return l.Object(hint, "Conv", "NewConv", c.cs, c.weights, Ident("packMR"), c.bias, c.act)
}

// rows is the row table the convolution reads x through, with its shift.
func (c *convPlan) rows(l Lowering, n *ir.Node, x, state Buf) (Obj, error) {
	cs := c.cs
	if c.shift == nil {
		return l.Rows(x, cs.Frames, cs.Cin, cs.H*cs.W, nil, state, 0), nil
	}
	shift, err := shiftVar(l, n, *c.shift, cs.Frames, cs.Cin, cs.H*cs.W, state)
	if err != nil {
		return Obj{}, err
	}
	return l.Rows(x, cs.Frames, cs.Cin, cs.H*cs.W, &shift, state, 0), nil
}

// lowerConv runs a convolution as the GEMM on packed weights or the
// depthwise kernel, reading its input through a row table that carries a
// fused shift; one whose weights are a run-time tensor packs them every
// run.
func lowerConv(l Lowering, n *ir.Node) error {
	if w := n.Input(ConvW); !w.IsConst() {
		return lowerRunTimeWeightsConv(l, n)
	}
	pool, pooled, err := PoolOf(n)
	if err != nil {
		return err
	}
	c, err := planConv(l, n, !pooled && n.Input(ConvResidual) == nil && n.Input(ConvState) == nil)
	if err != nil {
		return err
	}
	if pooled && (c.nd != nil || c.depthwise) {
		return n.Errorf("a max pool fuses only into a 2-D convolution run as a GEMM")
	}
	x, err := l.In(ConvX)
	if err != nil {
		return err
	}
	var residual, state, scale Buf
	if n.Domain == Domain {
		if residual, err = l.In(ConvResidual); err != nil {
			return err
		}
		if state, err = l.In(ConvState); err != nil {
			return err
		}
		if scale, err = l.In(ConvScale); err != nil {
			return err
		}
	}
	out, err := l.Out(0)
	if err != nil {
		return err
	}
	if residual != nil && residual.Floats() != out.Floats() {
		return n.Errorf("residual has %d floats, the output %d", residual.Floats(), out.Floats())
	}
	if c.nd != nil {
		conv := c.object(l, "conv", nil)
		l.Run(Method(conv, "Run", Pool, x, out, residual))
		return nil
	}
	if c.dense {
		w := c.workload(false, false)
		l.Run(Method(c.object(l, "dense", &w), "Run", Pool, x, out))
		return nil
	}
	rows, err := c.rows(l, n, x, state)
	if err != nil {
		return err
	}
	if scale != nil {
		if c.depthwise || c.dense || c.shift != nil || pooled {
			return n.Errorf("a channel scale needs a convolution on the GEMM without a shift or a fused pool (see TakesChannelScale)")
		}
		// the GEMM plan the scaled run takes is the rules' own: not tuned
		l.Run(Method(c.object(l, "conv", nil), "RunScaled", Pool, rows, scale, out, residual))
		return nil
	}
	w := c.workload(residual != nil, state != nil)
	if pooled {
		ps := pool.Shape(c.cs.Frames*c.cs.Cout, c.cs.OutH(), c.cs.OutW())
		w.Pool = &ps
		conv := c.object(l, "conv", &w)
		// the convolution's output, for the plans that do not pool band by band
		tmp := l.Temp(c.cs.OutLen())
		pc := l.Object("pooled", "PooledConv", "NewPooledConv", conv, ps)
		l.Run(Method(pc, "Run", Pool, rows, out, tmp))
		return nil
	}
	conv := c.object(l, "conv", &w)
	l.Run(Method(conv, "Run", Pool, rows, out, residual))
	return nil
}

// lowerRunTimeWeightsConv runs a convolution whose weights are computed at
// run time (an ONNX Conv of two inputs): they are packed into a temporary
// before every run of the GEMM plan.
func lowerRunTimeWeightsConv(l Lowering, n *ir.Node) error {
	_, nd, err := convShapes(n)
	if err != nil {
		return err
	}
	if nd == nil {
		x, w := n.Input(ConvX).Shape, n.Input(ConvW).Shape
		win, err := parseWindow(n, w[2:], false)
		if err != nil {
			return err
		}
		begin, end := win.explicitPads(x[2:])
		nd = &runtime.ConvNdShape{Batch: x[0], Cin: x[1], Cout: w[0], Group: int(n.AttrInt("group", 1)),
			In: x[2:], Kernel: w[2:], Strides: win.strides, Dilations: win.dilations, PadsBegin: begin, PadsEnd: end}
	}
	if _, shifted := n.AttrInts("shift"); shifted || (n.Domain == Domain && (n.Input(ConvResidual) != nil || n.Input(ConvState) != nil)) {
		return n.Errorf("a convolution with run-time weights takes no fused shift or residual")
	}
	act, err := Activation(n)
	if err != nil {
		return err
	}
	if b := n.Input(ConvB); b != nil && !b.IsConst() {
		return n.Errorf("bias %v must be a constant", b)
	}
	var bias Buf
	if b := n.Input(ConvB); b != nil && slices.ContainsFunc(b.Const.F32, func(v float32) bool { return v != 0 }) {
		if bias, err = l.Weights(b); err != nil {
			return err
		}
	}
	ins, out, err := operands(l, ConvX, ConvW)
	if err != nil {
		return err
	}
	packed := l.Temp(runtime.PackedConvNdWeightsLen(*nd, runtime.PackMR))
	convAct := act
	if bias != nil {
		convAct = runtime.Act{} // after the bias
	}
	conv := l.Object("conv", "ConvNd", "NewConvNdRunTimeWeights", *nd, packed, Ident("packMR"), convAct)
	l.Run(Fn("PackConvNdWeightsTo", packed, ins[1], *nd, Ident("packMR")).Checked())
	l.Run(Method(conv, "Run", Pool, ins[0], out, nil))
	if bias == nil {
		return nil
	}
	shape := []int(n.Outputs[0].Shape)
	bshape := make([]int, len(shape))
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[1] = shape[1]
	add := l.Object("bias", "Binary", "NewBinary", Named("BinaryAdd"), shape, bshape)
	l.Run(Method(add, "Run", Pool, out, bias, out))
	if act != (runtime.Act{}) {
		l.Run(Fn("Activate", Pool, out, out, act))
	}
	return nil
}
