package ops

import (
	"fmt"
	"math"
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// Lowerings of quantised models: QuantizeLinear and DequantizeLinear at
// the float32 boundary, tsmc's quantised ops on the runtime's int8
// kernels. Generated code holds every quantised activation as uint8
// bytes: an int8 tensor has its sign bit flipped (runtime.S8ToU8), so its
// zero point and clamp move by 128 (u8Param) and every kernel sees uint8.

// u8Param is a quantised value (a zero point or clamp bound) of a tensor
// of type dt in the runtime's uint8 form.
func u8Param(dt ir.DType, v int64) uint8 {
	if dt == ir.Int8 {
		return uint8(v + 128)
	}
	return uint8(v)
}

// scalarQParams reads the per-tensor scale and zero point of a
// QuantizeLinear or DequantizeLinear whose quantised side has type dt.
func scalarQParams(n *ir.Node, dt ir.DType) (float32, uint8, error) {
	sv, zv := n.Input(1), n.Input(2)
	if sv == nil || !sv.IsConst() || sv.DType != ir.Float32 || sv.Const.Len() != 1 {
		return 0, 0, n.Errorf("scale %v must be one float32 constant: code generation quantises per tensor", sv)
	}
	scale := sv.Const.F32[0]
	if !(scale > 0) || scale > math.MaxFloat32 {
		return 0, 0, n.Errorf("scale %v is not positive and finite", scale)
	}
	var zero int64
	if zv != nil {
		if !zv.IsConst() || zv.Const.Len() != 1 || zv.DType != dt {
			return 0, 0, n.Errorf("zero point %v must be one %v constant", zv, dt)
		}
		zero = zv.Const.I64[0]
	}
	return scale, u8Param(dt, zero), nil
}

// quantByte reports whether dt is a type generated code holds as bytes.
func quantByte(dt ir.DType) bool { return dt == ir.Uint8 || dt == ir.Int8 }

// lowerQuantizeLinear quantises a float32 tensor (a graph input, or a
// float32 result such as a pooled mean) per tensor.
func lowerQuantizeLinear(l Lowering, n *ir.Node) error {
	y := n.Outputs[0]
	if !quantByte(y.DType) {
		return n.Errorf("output %v is %v: code generation quantises to uint8 or int8", y, y.DType)
	}
	scale, zero, err := scalarQParams(n, y.DType)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn("Quantize", Pool, ins[0], out, scale, zero))
	return nil
}

// lowerDequantizeLinear dequantises a uint8 or int8 tensor per tensor.
func lowerDequantizeLinear(l Lowering, n *ir.Node) error {
	x := n.Input(0)
	if !quantByte(x.DType) {
		return n.Errorf("input %v is %v: code generation dequantises uint8 or int8", x, x.DType)
	}
	scale, zero, err := scalarQParams(n, x.DType)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn("Dequantize", Pool, ins[0], out, scale, zero))
	return nil
}

// qweights checks that a quantised op's weights are what the int8
// kernels take: an int8 constant, symmetric (zero points 0).
func qweights(n *ir.Node, w *ir.Value, s QuantSpec) error {
	if !w.IsConst() || w.DType != ir.Int8 {
		return n.Errorf("weights %v must be an int8 constant, are %v", w, w.DType)
	}
	if slices.ContainsFunc(s.WZeros, func(z int64) bool { return z != 0 }) {
		return n.Errorf("weights %v have non-zero zero points: the int8 kernels take symmetric weights", w)
	}
	return nil
}

// int8Data and int32Data are a constant's values as the kernels take them.
func int8Data(v *ir.Value) []int8 {
	out := make([]int8, len(v.Const.I64))
	for i, x := range v.Const.I64 {
		out[i] = int8(x)
	}
	return out
}

func int32Data(v *ir.Value) []int32 {
	out := make([]int32, len(v.Const.I64))
	for i, x := range v.Const.I64 {
		out[i] = int32(x)
	}
	return out
}

// qrequant is the runtime's requantisation of a tsmc.QConv or
// tsmc.QDense of cout output channels, with its fused residual add.
func qrequant(n *ir.Node, s QuantSpec, cout int) (runtime.QRequant, error) {
	dt := s.Output
	rq := runtime.QRequant{Scale: make([]float32, len(s.WScales)),
		Zero: u8Param(dt, s.Y.Zero), Lo: u8Param(dt, s.Y.Min), Hi: u8Param(dt, s.Y.Max)}
	for c, ws := range s.WScales {
		rq.Scale[c] = runtime.QuantScale(s.X.Scale, ws, s.Y.Scale)
	}
	if len(rq.Scale) != 1 && len(rq.Scale) != cout {
		return rq, n.Errorf("%d weight scales for %d output channels", len(rq.Scale), cout)
	}
	if s.Residual == nil {
		return rq, nil
	}
	if lo, hi, _ := interp.QuantRange(dt); s.Y.Min != lo || s.Y.Max != hi {
		return rq, n.Errorf("the convolution's own clamp [%d, %d] before its fused residual add is not supported", s.Y.Min, s.Y.Max)
	}
	rq.Add = &runtime.QAdd{ConvScale: s.Y.Scale, ConvZero: rq.Zero,
		ResScale: s.Residual.Scale, ResZero: u8Param(dt, s.Residual.Zero), OutScale: s.Out.Scale,
		ResidualFirst: s.ResidualFirst}
	rq.Zero, rq.Lo, rq.Hi = u8Param(dt, s.Out.Zero), u8Param(dt, s.Out.Min), u8Param(dt, s.Out.Max)
	return rq, nil
}

// qconvPlan is a tsmc.QConv or tsmc.QDense with its weights in
// weights.bin, run as runtime.QDepthwiseConv or runtime.QConv.
type qconvPlan struct {
	cs        runtime.ConvShape
	depthwise bool
	rq        runtime.QRequant
	inZero    uint8
	weights   Buf // raw [C][KH][KW] (depthwise) or packed panels
	sums      Buf // packed: the weight sums per output channel
	bias      Buf
}

// planQConv stores the weights of a quantised convolution of shape cs
// with weights w ([Cout][Cin/group][KH][KW]) and int32 bias b.
func planQConv(l Lowering, n *ir.Node, cs runtime.ConvShape, w, b *ir.Value, s QuantSpec) (*qconvPlan, error) {
	if err := qweights(n, w, s); err != nil {
		return nil, err
	}
	if !b.IsConst() || b.DType != ir.Int32 || b.Const.Len() != cs.Cout {
		return nil, n.Errorf("bias %v must be an int32 constant of %d values", b, cs.Cout)
	}
	rq, err := qrequant(n, s, cs.Cout)
	if err != nil {
		return nil, err
	}
	if err := cs.Validate(); err != nil {
		return nil, n.Errorf("%v", err)
	}
	c := &qconvPlan{cs: cs, rq: rq, inZero: u8Param(n.Input(0).DType, s.X.Zero), depthwise: Depthwise(cs) && rq.Add == nil}
	c.bias = l.Int32s(b, "raw", cs.Cout, func() ([]int32, error) { return int32Data(b), nil })
	if c.depthwise {
		c.weights = l.Int8s(w, "raw", w.Const.Len(), func() ([]int8, error) { return int8Data(w), nil })
		return c, nil
	}
	cinG := cs.Cin / cs.Group
	pack := func() ([]int8, []int32, error) {
		return runtime.PackQConvWeights(int8Data(w), cs.Cout, cinG, cs.KH, cs.KW, cs.Group, runtime.PackQMR)
	}
	c.weights = l.Int8s(w, "qconv", runtime.PackedQConvWeightsLen(cs.Cout, cinG, cs.KH, cs.KW, cs.Group, runtime.PackQMR), func() ([]int8, error) {
		p, _, err := pack()
		return p, err
	})
	c.sums = l.Int32s(w, "qconv-sums", cs.Cout, func() ([]int32, error) {
		_, sums, err := pack()
		return sums, err
	})
	return c, nil
}

// object plans the runtime convolution in New.
func (c *qconvPlan) object(l Lowering) Obj {
	if c.depthwise {
		return l.Object("qconv", "QDepthwiseConv", "NewQDepthwiseConv", c.cs, c.weights, c.bias, c.inZero, c.rq)
	}
	return l.Object("qconv", "QConv", "NewQConv", c.cs, c.weights, c.sums, runtime.PackQMR, c.bias, c.inZero, c.rq)
}

// lowerQConv runs a tsmc.QConv as the int8 depthwise kernel or the int8
// GEMM, reading its input through a row table that carries a fused shift
// (its vacated rows read the input's zero point) and its residual add
// fused into the epilogue.
func lowerQConv(l Lowering, n *ir.Node) error {
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	cs, nd, err := convShapes(n)
	if err != nil {
		return err
	}
	if nd != nil {
		return n.Errorf("a quantised %d-D convolution that is not a 2-D one is not supported", len(nd.In))
	}
	c, err := planQConv(l, n, cs, n.Input(ConvW), n.Input(ConvB), s)
	if err != nil {
		return err
	}
	x, err := l.In(ConvX)
	if err != nil {
		return err
	}
	residual, err := l.In(ConvResidual)
	if err != nil {
		return err
	}
	state, err := l.In(ConvState)
	if err != nil {
		return err
	}
	out, err := l.Out(0)
	if err != nil {
		return err
	}
	if residual != nil && residual.Len() != out.Len() {
		return n.Errorf("residual has %d values, the output %d", residual.Len(), out.Len())
	}
	rows, err := qconvRows(l, n, c, x, state)
	if err != nil {
		return err
	}
	conv := c.object(l)
	if c.depthwise {
		l.Run(Method(conv, "Run", Pool, rows, out))
		return nil
	}
	l.Run(Method(conv, "Run", Pool, rows, out, residual))
	return nil
}

// qconvRows is the row table the quantised convolution c (node n) reads
// x through: with n's fused shift (its vacated rows the input's zero
// point) and state, if any.
func qconvRows(l Lowering, n *ir.Node, c *qconvPlan, x, state Buf) (Obj, error) {
	cs := c.cs
	hw := cs.H * cs.W
	shift, shifted, err := ShiftOf(n)
	if err != nil {
		return Obj{}, err
	}
	if !shifted {
		return l.Rows(x, cs.Frames, cs.Cin, hw, nil, nil, 0), nil
	}
	v, err := shiftVar(l, n, shift, cs.Frames, cs.Cin, hw, state)
	if err != nil {
		return Obj{}, err
	}
	return l.Rows(x, cs.Frames, cs.Cin, hw, &v, state, c.inZero), nil
}

// lowerQDense runs a tsmc.QDense as a 1x1 quantised convolution over
// 1x1 maps: one frame per row of X.
func lowerQDense(l Lowering, n *ir.Node) error {
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	x, w := n.Input(0), n.Input(1)
	k, classes := w.Shape[1], w.Shape[0]
	rowsN := x.Shape.Size() / k
	cs := runtime.ConvShape{Frames: rowsN, Cin: k, H: 1, W: 1, Cout: classes, Group: 1, KH: 1, KW: 1,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	c, err := planQConv(l, n, cs, w, n.Input(2), s)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	rows := l.Rows(ins[0], rowsN, k, 1, nil, nil, 0)
	l.Run(Method(c.object(l), "Run", Pool, rows, out, nil))
	return nil
}

// lowerQAdd runs a tsmc.QAdd elementwise.
func lowerQAdd(l Lowering, n *ir.Node) error {
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	a, b := n.Input(0), n.Input(1)
	if a.DType != s.Output || b.DType != s.Output {
		return n.Errorf("operands %v and %v and the output %v must have one type", a.DType, b.DType, s.Output)
	}
	dt := s.Output
	op := runtime.QAddOp{AScale: s.X.Scale, BScale: s.B.Scale, OutScale: s.Y.Scale,
		AZero: u8Param(dt, s.X.Zero), BZero: u8Param(dt, s.B.Zero), Zero: u8Param(dt, s.Y.Zero),
		Lo: u8Param(dt, s.Y.Min), Hi: u8Param(dt, s.Y.Max)}
	ins, out, err := operands(l, 0, 1)
	if err != nil {
		return err
	}
	v := l.Global("qadd", fmt.Sprintf("the quantised sum (%v)", dt), op)
	l.Run(Method(v, "Run", Pool, ins[0], ins[1], out))
	return nil
}
