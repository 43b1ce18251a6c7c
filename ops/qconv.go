package ops

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// tsmc's quantised operators, made by the fuse-qdq pass out of QDQ
// patterns. They carry, as attributes, everything an int8 kernel needs:
// the activation's scale and zero point, per-channel weight scales, the
// requantisation of the result with its clamp (a fused ReLU or ReLU6 is a
// clamp in the quantised domain), and, for a fused residual, its own
// scale and zero point and the sum's. Weights and the int32 bias are
// constant inputs. Their meaning is their reference kernels' (qreference.go):
//
//	acc[m]  = B[m] + Σ (X - x_zero_point) × (W - w_zero_points[m])   (exact, int32)
//	y       = clamp(roundHalfEven(float32(acc) × m[m]) + y_zero_point, y_min, y_max),  m[m] = (x_scale × w_scales[m]) / y_scale
//	Y       = y, or with a residual R:
//	Y       = clamp(roundHalfEven(fma(a, rA, fma(b, rB, F))), out_min, out_max)
//
// where (a, b) = (y, R), or (R, y) with residual_first = 1, rA and rB
// their scales over out_scale and F = out_zero_point - fma(rA,
// a_zero_point, rB × b_zero_point), all in float32 with single-rounding
// fused multiply-adds. Both stages are onnxruntime's arithmetic: its
// QLinearConv (interp.Requantize) and its QLinearAdd (interp.Rescale), so
// that a QDQ model runs here as it runs there. The literal float reading
// of the QDQ pattern (float32 DequantizeLinear, Conv or Add,
// QuantizeLinear) agrees with both except by one step where the exact
// value lies within its rounding error of a tie (tested). Clamp bounds are
// integers in the quantised domain, already within the type's range.
const (
	// OpQConv is a quantised convolution with its epilogue. Inputs (X,
	// W, B, optional residual R, optional shift state S; tsmc.Conv's
	// slots ConvX ... ConvState): X uint8 or int8
	// [N, C, spatial...]; W int8 (or uint8) [M, C/group, kernel...]; B
	// int32 [M]; R of the output's type and shape; S of X's type.
	// Attributes: tsmc.Conv's geometry (strides, pads, dilations, group,
	// kernel_shape; pads explicit), x_scale, x_zero_point, w_scales and
	// w_zero_points (one value, or one per output channel), y_scale,
	// y_zero_point, y_min, y_max, output_type ("u8" or "i8", Y's type),
	// and with R r_scale, r_zero_point, out_scale, out_zero_point,
	// out_min, out_max and residual_first (1 when R is the sum's first
	// operand). A fused temporal shift has tsmc.Conv's "segments"
	// and "shift"; its vacated rows read x_zero_point (real zero).
	OpQConv = "QConv"
	// OpQDense is a quantised fully connected layer (no pooling: a
	// quantised head pools before it). Inputs (X [..., K], W [N, K], B
	// int32 [N]): W output-major; Y [..., N]. Attributes as tsmc.QConv's
	// without geometry and residual.
	OpQDense = "QDense"
	// OpQAdd is a quantised sum of two tensors of one shape and type,
	// Y = clamp(roundHalfEven(fma(A, rA, fma(B, rB, F))), y_min, y_max)
	// as for tsmc.QConv's residual. Attributes a_scale, a_zero_point,
	// b_scale, b_zero_point, y_scale, y_zero_point, y_min, y_max,
	// output_type.
	OpQAdd = "QAdd"
)

// QParams are a quantised tensor's scale and zero point.
type QParams struct {
	Scale float32
	Zero  int64
}

// Requant is how a quantised result is made: its scale and zero point
// and the clamp [Min, Max] of its quantised values (the type's range, or
// narrower for a fused activation).
type Requant struct {
	QParams
	Min, Max int64
}

// QuantSpec is the decoded attributes of a tsmc.QConv, tsmc.QDense or
// tsmc.QAdd.
type QuantSpec struct {
	// X is the activation's parameters (tsmc.QAdd: A's).
	X QParams
	// WScales and WZeros are the weights' (one value or one per output
	// channel); nil for tsmc.QAdd.
	WScales []float32
	WZeros  []int64
	// B is tsmc.QAdd's second operand.
	B QParams
	// Y is the requantisation of the product (tsmc.QAdd: of the sum).
	Y Requant
	// Residual and Out describe a tsmc.QConv's fused residual: R's
	// parameters and the sum's requantisation; nil without one.
	// ResidualFirst says R is the sum's first operand.
	Residual      *QParams
	Out           *Requant
	ResidualFirst bool
	// Output is Y's type.
	Output ir.DType
}

// Attrs stores the spec on n.
func (s QuantSpec) Attrs(n *ir.Node) {
	setQ := func(prefix string, p QParams) {
		n.SetAttr(prefix+"_scale", ir.Attr{Kind: ir.AttrFloat, Float: p.Scale})
		n.SetAttr(prefix+"_zero_point", ir.Attr{Kind: ir.AttrInt, Int: p.Zero})
	}
	setR := func(prefix string, r Requant) {
		setQ(prefix, r.QParams)
		n.SetAttr(prefix+"_min", ir.Attr{Kind: ir.AttrInt, Int: r.Min})
		n.SetAttr(prefix+"_max", ir.Attr{Kind: ir.AttrInt, Int: r.Max})
	}
	if n.Op == OpQAdd {
		setQ("a", s.X)
		setQ("b", s.B)
	} else {
		setQ("x", s.X)
		n.SetAttr("w_scales", ir.Attr{Kind: ir.AttrFloats, Floats: s.WScales})
		n.SetAttr("w_zero_points", ir.Attr{Kind: ir.AttrInts, Ints: s.WZeros})
	}
	setR("y", s.Y)
	if s.Residual != nil {
		setQ("r", *s.Residual)
		setR("out", *s.Out)
		first := int64(0)
		if s.ResidualFirst {
			first = 1
		}
		n.SetAttr("residual_first", ir.Attr{Kind: ir.AttrInt, Int: first})
	}
	n.SetAttr("output_type", ir.Attr{Kind: ir.AttrString, String: s.Output.String()})
}

// QuantSpecOf decodes the attributes of a tsmc.QConv, tsmc.QDense or
// tsmc.QAdd and checks them: positive finite scales, zero points and
// clamps within the output type, weight parameters of one count.
func QuantSpecOf(n *ir.Node) (QuantSpec, error) {
	var s QuantSpec
	var errs []string
	getF := func(name string) float32 {
		a, ok := n.Attrs[name]
		if !ok || a.Kind != ir.AttrFloat {
			errs = append(errs, "float attribute "+name+" is missing")
			return 1
		}
		if !(a.Float > 0) || math.IsInf(float64(a.Float), 1) {
			errs = append(errs, fmt.Sprintf("%s %v is not a positive finite number", name, a.Float))
		}
		return a.Float
	}
	getI := func(name string) int64 {
		a, ok := n.Attrs[name]
		if !ok || a.Kind != ir.AttrInt {
			errs = append(errs, "int attribute "+name+" is missing")
		}
		return a.Int
	}
	getQ := func(prefix string) QParams {
		return QParams{Scale: getF(prefix + "_scale"), Zero: getI(prefix + "_zero_point")}
	}
	getR := func(prefix string) Requant {
		return Requant{QParams: getQ(prefix), Min: getI(prefix + "_min"), Max: getI(prefix + "_max")}
	}
	switch n.Op {
	case OpQAdd:
		s.X, s.B = getQ("a"), getQ("b")
	default:
		s.X = getQ("x")
		s.WScales, _ = n.AttrFloats("w_scales")
		s.WZeros, _ = n.AttrInts("w_zero_points")
		if len(s.WScales) == 0 || len(s.WScales) != len(s.WZeros) {
			errs = append(errs, fmt.Sprintf("w_scales (%d values) and w_zero_points (%d) must be given, one count", len(s.WScales), len(s.WZeros)))
		}
		for _, w := range s.WScales {
			if !(w > 0) || math.IsInf(float64(w), 1) {
				errs = append(errs, fmt.Sprintf("weight scale %v is not a positive finite number", w))
				break
			}
		}
	}
	s.Y = getR("y")
	if _, ok := n.Attrs["out_scale"]; ok {
		r, o := getQ("r"), getR("out")
		s.Residual, s.Out = &r, &o
		s.ResidualFirst = n.AttrInt("residual_first", 0) != 0
	}
	switch t := n.AttrString("output_type", ""); t {
	case "u8":
		s.Output = ir.Uint8
	case "i8":
		s.Output = ir.Int8
	default:
		errs = append(errs, fmt.Sprintf("output_type %q is not u8 or i8", t))
	}
	if len(errs) > 0 {
		return QuantSpec{}, n.Errorf("%s", errs[0])
	}
	lo, hi, _ := interp.QuantRange(s.Output)
	for _, r := range []*Requant{&s.Y, s.Out} {
		if r != nil && (r.Min < lo || r.Max > hi || r.Min > r.Max) {
			return QuantSpec{}, n.Errorf("clamp [%d, %d] is empty or outside %v's [%d, %d]", r.Min, r.Max, s.Output, lo, hi)
		}
	}
	return s, nil
}

// qconvDefs are tsmc's quantised operators.
func qconvDefs() []*Def {
	return []*Def{
		{Domain: Domain, Op: OpQConv, Infer: inferQConv, MACs: convMACs, Params: true, Quantized: true, Int8: true, Lower: lowerQConv},
		{Domain: Domain, Op: OpQDense, Infer: inferQDense, MACs: qdenseMACs, Params: true, Quantized: true, Int8: true, Lower: lowerQDense},
		{Domain: Domain, Op: OpQAdd, Infer: inferQAdd, Quantized: true, Int8: true, Lower: lowerQAdd},
	}
}

// inferQConv checks a tsmc.QConv's operands against its attributes.
func inferQConv(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) < 3 || len(n.Inputs) > 5 || n.Input(ConvX) == nil || n.Input(ConvW) == nil || n.Input(ConvB) == nil || len(n.Outputs) != 1 {
		return n.Errorf("needs inputs (X, W, B, optional residual, optional shift state) and one output")
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	x, w, b := n.Inputs[ConvX], n.Inputs[ConvW], n.Inputs[ConvB]
	for _, i := range []int{ConvX, ConvW} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	if b.DType != ir.Int32 {
		return n.Errorf("bias %v must be int32, is %v", b, b.DType)
	}
	out, err := convOutput(n, x, w, b)
	if err != nil {
		return err
	}
	if len(s.WScales) != 1 && len(s.WScales) != w.Shape[0] {
		return n.Errorf("%d weight scales for %d output channels", len(s.WScales), w.Shape[0])
	}
	if r := n.Input(ConvResidual); (r != nil) != (s.Residual != nil) {
		return n.Errorf("a residual input and the r_ and out_ attributes go together")
	} else if r != nil && (!r.Shape.Equal(out) || r.DType != s.Output) {
		return n.Errorf("residual %v is %s%v, the output is %s%v", r, r.DType, r.Shape, s.Output, out)
	}
	if err := checkFusedShift(n, x); err != nil {
		return err
	}
	setOutput(n, 0, s.Output, out)
	return nil
}

// inferQDense: X [..., K], W [N, K], B int32 [N] -> [..., N].
func inferQDense(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	x, w, b := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	for _, i := range []int{0, 1} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	if len(x.Shape) < 1 || len(w.Shape) != 2 || w.Shape[1] != x.Shape[len(x.Shape)-1] || b.DType != ir.Int32 || !b.Shape.Equal(ir.Shape{w.Shape[0]}) {
		return n.Errorf("input %v, weight %v and int32 bias %v%v do not fit X [..., K], W [N, K], B [N]", x.Shape, w.Shape, b.DType, b.Shape)
	}
	if len(s.WScales) != 1 && len(s.WScales) != w.Shape[0] {
		return n.Errorf("%d weight scales for %d outputs", len(s.WScales), w.Shape[0])
	}
	out := append(x.Shape[:len(x.Shape)-1].Clone(), w.Shape[0])
	setOutput(n, 0, s.Output, out)
	return nil
}

// qdenseMACs: K per output element.
func qdenseMACs(n *ir.Node) int64 {
	w := n.Input(1)
	if w == nil || len(w.Shape) != 2 {
		return 0
	}
	return int64(n.Outputs[0].Shape.Size()) * int64(w.Shape[1])
}

// inferQAdd: A and B of one shape and type.
func inferQAdd(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	s, err := QuantSpecOf(n)
	if err != nil {
		return err
	}
	a, b := n.Inputs[0], n.Inputs[1]
	for _, i := range []int{0, 1} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	if !a.Shape.Equal(b.Shape) {
		return n.Errorf("operands %v%v and %v%v must have one shape", a, a.Shape, b, b.Shape)
	}
	setOutput(n, 0, s.Output, a.Shape.Clone())
	return nil
}
