package ops

import (
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// The quantised operators of ONNX and of onnxruntime's com.microsoft
// domain: the pair that quantised (QDQ) models are written with,
// QuantizeLinear and DequantizeLinear, and the operator form (QLinearConv,
// QLinearMatMul, ConvInteger, MatMulInteger, QLinearAdd, QGemm). They are
// read, inferred and interpreted (interp/quant.go holds their kernels).
// The passes turn QDQ patterns and the operator form into tsmc's
// quantised ops (qconv.go), and code generation lowers those and the
// QuantizeLinear and DequantizeLinear left at the float32 boundary
// (qlower.go). ConvInteger and MatMulInteger, whose int32 outputs no
// kernel writes, are not compiled.

func quantDefs() []*Def {
	q := func(domain, op string, infer ir.InferFunc, macs ir.CostFunc) *Def {
		return &Def{Domain: domain, Op: op, Infer: infer, MACs: macs, Params: macs != nil, Quantized: true}
	}
	becomes := func(d *Def, op string) *Def {
		d.Becomes = Domain + "." + op
		return d
	}
	lowered := func(d *Def, lower LowerFunc) *Def {
		d.Lower, d.Int8 = lower, true
		return d
	}
	return []*Def{
		lowered(q("", "QuantizeLinear", inferQuantizeLinear, nil), lowerQuantizeLinear),
		lowered(q("", "DequantizeLinear", inferDequantizeLinear, nil), lowerDequantizeLinear),
		lowered(q(interp.MSDomain, "QuantizeLinear", inferQuantizeLinear, nil), lowerQuantizeLinear),
		lowered(q(interp.MSDomain, "DequantizeLinear", inferDequantizeLinear, nil), lowerDequantizeLinear),
		q("", "ConvInteger", inferConvInteger, inputConvMACs(1)),
		becomes(q("", "QLinearConv", inferQLinearConv, inputConvMACs(3)), OpQConv),
		q("", "MatMulInteger", inferMatMulInteger, matMulMACs),
		becomes(q("", "QLinearMatMul", inferQLinearMatMul, matMulMACs), OpQDense),
		becomes(q(interp.MSDomain, "QLinearAdd", inferQLinearAdd, nil), OpQAdd),
		becomes(q(interp.MSDomain, "QGemm", inferQGemm, gemmMACs), OpQDense),
	}
}

// quantized checks that input i of n is an 8-bit quantised tensor.
func quantized(n *ir.Node, i int) error {
	v := n.Input(i)
	if v == nil || v.DType != ir.Uint8 && v.DType != ir.Int8 {
		return n.Errorf("input %d %v must be uint8 or int8, is %v", i, v, dtypeOf(v))
	}
	return nil
}

func dtypeOf(v *ir.Value) ir.DType {
	if v == nil {
		return ir.Undefined
	}
	return v.DType
}

// QuantizeLinear: y has x's shape and the zero point's dtype, else (opset
// 21) output_dtype's, else uint8.
func inferQuantizeLinear(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.DType != ir.Float32 {
		return n.Errorf("input %v must be f32, is %v", x, x.DType)
	}
	dt := ir.Uint8
	if z := n.Input(2); z != nil {
		dt = z.DType
	} else if code := n.AttrInt("output_dtype", 0); ctx.Opset >= 21 && code != 0 {
		switch code {
		case 2:
			dt = ir.Uint8
		case 3:
			dt = ir.Int8
		case 5:
			dt = ir.Int16
		default:
			return n.Errorf("output_dtype %d is not uint8 (2), int8 (3) or int16 (5)", code)
		}
	}
	if dt != ir.Uint8 && dt != ir.Int8 && dt != ir.Int16 {
		return n.Errorf("cannot quantise to %v (uint8, int8 or int16)", dt)
	}
	if err := checkConstQParams(ctx, n, x); err != nil {
		return err
	}
	setOutput(n, 0, dt, x.Shape.Clone())
	return nil
}

// checkConstQParams checks the scale and zero point (inputs 1 and 2) of
// a QuantizeLinear or DequantizeLinear with input x by the interpreter's
// rules, where they are constants and x's shape is known: a zero or
// negative scale, or a zero point of another shape, is then reported at
// this node rather than by a later pass or at run time.
func checkConstQParams(ctx *ir.InferContext, n *ir.Node, x *ir.Value) error {
	s, z := n.Input(1), n.Input(2)
	if s == nil || !s.IsConst() || z != nil && !z.IsConst() || !x.Shape.Known() {
		return nil
	}
	var zt *ir.Tensor
	if z != nil {
		zt = z.Const
	}
	if err := interp.CheckQParams(n, ctx.Opset, x.Shape, s.Const, zt); err != nil {
		return n.Errorf("%v", err)
	}
	return nil
}

// DequantizeLinear: y is f32 of x's shape.
func inferDequantizeLinear(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if _, _, ok := interp.QuantRange(x.DType); !ok {
		return n.Errorf("input %v must be uint8, int8, int16 or int32, is %v", x, x.DType)
	}
	if err := checkConstQParams(ctx, n, x); err != nil {
		return err
	}
	setOutput(n, 0, ir.Float32, x.Shape.Clone())
	return nil
}

// ConvInteger: (x, w, optional x_zero_point, w_zero_point) -> int32.
func inferConvInteger(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 4, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 1} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := convOutput(n, n.Inputs[0], n.Inputs[1], nil)
	if err != nil {
		return err
	}
	setOutput(n, 0, ir.Int32, out)
	return nil
}

// QLinearConv: (x, x_scale, x_zero_point, w, w_scale, w_zero_point,
// y_scale, y_zero_point, optional B) -> the zero point's dtype.
func inferQLinearConv(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 8, 9, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 3, 7} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := convOutput(n, n.Inputs[0], n.Inputs[3], n.Input(8))
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[7].DType, out)
	return nil
}

// inputConvMACs counts a convolution's MACs with its weights at input w.
func inputConvMACs(w int) ir.CostFunc {
	return func(n *ir.Node) int64 {
		wv := n.Input(w)
		if wv == nil || !wv.Shape.Known() || len(wv.Shape) < 2 {
			return 0
		}
		perOut := int64(wv.Shape[1:].Size())
		return int64(n.Outputs[0].Shape.Size()) * perOut
	}
}

// MatMulInteger: (A, B, optional zero points) -> int32.
func inferMatMulInteger(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 4, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 1} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := matMulOutput(n, n.Inputs[0].Shape, n.Inputs[1].Shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, ir.Int32, out)
	return nil
}

// QLinearMatMul: (a, a_scale, a_zero_point, b, b_scale, b_zero_point,
// y_scale, y_zero_point) -> the zero point's dtype.
func inferQLinearMatMul(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 8, 8, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 3, 7} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := matMulOutput(n, n.Inputs[0].Shape, n.Inputs[3].Shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[7].DType, out)
	return nil
}

// QLinearAdd: (A, A_scale, A_zero_point, B, B_scale, B_zero_point,
// C_scale, C_zero_point) -> A's dtype, broadcast.
func inferQLinearAdd(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 7, 8, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 3} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := broadcast(n, n.Inputs[0].Shape, n.Inputs[3].Shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, out)
	return nil
}

// QGemm: (A, a_scale, a_zero_point, B, b_scale, b_zero_point, optional C,
// optional y_scale, optional y_zero_point) -> y_zero_point's dtype, or f32
// without it.
func inferQGemm(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 6, 9, 1, 1); err != nil {
		return err
	}
	for _, i := range []int{0, 3} {
		if err := quantized(n, i); err != nil {
			return err
		}
	}
	out, err := gemmOutput(n, n.Inputs[0], n.Inputs[3], n.Input(6))
	if err != nil {
		return err
	}
	dt := ir.Float32
	if z := n.Input(8); z != nil {
		if err := quantized(n, 8); err != nil {
			return err
		}
		dt = z.DType
	}
	setOutput(n, 0, dt, out)
	return nil
}
