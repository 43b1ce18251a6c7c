package passes

import (
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// The operator form of quantised models: QLinearConv and QLinearMatMul
// (ONNX), QGemm and QLinearAdd (onnxruntime's com.microsoft domain), as
// onnxruntime's quantiser writes them with QuantFormat.QOperator. Each
// carries its operands' and result's parameters as inputs; where those
// are constants, it is exactly one of the quantised ops fuse-qdq makes of
// a QDQ pattern (the same integer sum and float32 requantisation), so
// both forms compile alike.

// FuseQLinear turns QLinearConv into tsmc.QConv, QLinearMatMul and QGemm
// with constant 2-D weights into tsmc.QDense, and QLinearAdd of two
// tensors of one shape into tsmc.QAdd, when their scales, zero points,
// weights and bias are constants (per-tensor for activations, per
// output channel or per tensor for weights). A QGemm with a float output
// (no y_scale), a transposed A or an alpha other than 1 stays, as does
// anything else: the interpreter runs those. It assumes inferred shapes
// and folded constants.
func FuseQLinear(g *ir.Graph) error {
	nm := newNamer(g)
	for i, n := range g.Nodes {
		var q *ir.Node
		switch {
		case isOp(n, "QLinearConv"):
			q = qlinearConv(n, nm)
		case isOp(n, "QLinearMatMul"):
			q = qlinearDense(n, nm, n.Input(3), false, nil, 6)
		case isMS(n, "QGemm") && n.Input(7) != nil && n.AttrInt("transA", 0) == 0 && n.AttrFloat("alpha", 1) == 1:
			q = qlinearDense(n, nm, n.Input(3), n.AttrInt("transB", 0) != 0, n.Input(6), 7)
		case isMS(n, "QLinearAdd"):
			q = qlinearAdd(n)
		}
		if q != nil {
			g.Nodes[i] = q
		}
	}
	return nil
}

// isMS reports whether n is op of onnxruntime's com.microsoft domain.
func isMS(n *ir.Node, op string) bool { return n.Domain == interp.MSDomain && n.Op == op }

// operandParams reads the per-tensor parameters of an 8-bit operand of
// n: value, then constant scale and zero point at inputs i and i+1 (a
// missing zero point is 0).
func operandParams(n *ir.Node, v *ir.Value, i int) (quantParams, bool) {
	if v == nil || v.DType != ir.Uint8 && v.DType != ir.Int8 {
		return quantParams{}, false
	}
	return constParams(n.Input(i), n.Input(i+1), v.DType)
}

// resultParams reads the parameters of n's output from its scale and
// zero point at inputs i and i+1, as the whole type's clamp.
func resultParams(n *ir.Node, i int) (ops.Requant, ir.DType, bool) {
	y := n.Outputs[0]
	p, ok := operandParams(n, y, i)
	return p.full(), y.DType, ok
}

// weightParams reads the constant weight scales and zero points of n at
// inputs i and i+1 (a missing zero point is 0): one value or one per
// output channel each, returned as equally long lists.
func weightParams(n *ir.Node, i, channels int) ([]float32, []int64, bool) {
	scale, zero := n.Input(i), n.Input(i+1)
	if !scale.IsConst() || scale.Const.DType != ir.Float32 || len(scale.Shape) > 1 || zero != nil && (!zero.IsConst() || len(zero.Shape) > 1) {
		return nil, nil, false
	}
	scales, zeros := scale.Const.F32, []int64{0}
	if zero != nil {
		zeros = zero.Const.I64
	}
	if len(scales) != 1 && len(scales) != channels || len(zeros) != 1 && len(zeros) != channels {
		return nil, nil, false
	}
	if len(scales) != len(zeros) { // one of them per tensor: repeat it
		scales, zeros = repeatTo(scales, channels), repeatTo(zeros, channels)
	}
	for _, s := range scales {
		if !(s > 0) {
			return nil, nil, false
		}
	}
	return slices.Clone(scales), slices.Clone(zeros), true
}

// repeatTo returns v, or its one value n times.
func repeatTo[T any](v []T, n int) []T {
	if len(v) == n {
		return v
	}
	out := make([]T, n)
	for i := range out {
		out[i] = v[0]
	}
	return out
}

// int32Bias returns the constant int32 bias b of channels values ([N] or
// [1, N]) as [N], or zeros named after name when b is nil.
func int32Bias(nm *namer, b *ir.Value, name string, channels int) (*ir.Value, bool) {
	t := &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{channels}, I64: make([]int64, channels)}
	switch {
	case b == nil:
		return nm.Constant(name, t), true
	case !b.IsConst() || b.DType != ir.Int32 || b.Const.Len() != channels || len(b.Shape) > 2:
		return nil, false
	case len(b.Shape) == 1:
		return b, true
	}
	copy(t.I64, b.Const.I64)
	return nm.Constant(b.Name+"_1d", t), true
}

// qlinearConv makes a tsmc.QConv of a QLinearConv (x, x_scale,
// x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B).
func qlinearConv(n *ir.Node, nm *namer) *ir.Node {
	x, w := n.Input(0), n.Input(3)
	xp, ok := operandParams(n, x, 1)
	if !ok || !w.IsConst() || len(w.Shape) < 3 {
		return nil
	}
	ws, wz, ok := weightParams(n, 4, w.Shape[0])
	if !ok {
		return nil
	}
	y, dtype, ok := resultParams(n, 6)
	if !ok {
		return nil
	}
	b, ok := int32Bias(nm, n.Input(8), w.Name+"_bias", w.Shape[0])
	if !ok {
		return nil
	}
	attrs, err := convGeometry(n, x, w)
	if err != nil {
		return nil
	}
	q := &ir.Node{Name: n.Name, Op: ops.OpQConv, Domain: ops.Domain, Attrs: attrs, Inputs: []*ir.Value{x, w, b}, Outputs: n.Outputs}
	weightSpec(xp, ws, wz, y, dtype).Attrs(q)
	return q
}

// qlinearDense makes a tsmc.QDense of a QLinearMatMul (a, a_scale,
// a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) or a
// QGemm (..., C, y_scale, y_zero_point) whose weights w are a constant
// [K, N] ([N, K] when transposed); bias is the int32 C or nil, y the
// input index of y_scale.
func qlinearDense(n *ir.Node, nm *namer, w *ir.Value, transposed bool, bias *ir.Value, y int) *ir.Node {
	x := n.Input(0)
	xp, ok := operandParams(n, x, 1)
	if !ok || len(x.Shape) < 2 || !w.IsConst() || len(w.Shape) != 2 || w.DType != ir.Int8 && w.DType != ir.Uint8 {
		return nil
	}
	if !transposed { // tsmc.QDense stores W output-major, [N, K]
		t, err := ops.EvalOp("", "Transpose", 13, map[string]ir.Attr{"perm": newIntsAttr(1, 0)}, w.Const)
		if err != nil {
			return nil
		}
		w = nm.Constant(w.Name+"_t", t)
	}
	channels := w.Shape[0]
	ws, wz, ok := weightParams(n, 4, channels)
	if !ok {
		return nil
	}
	yr, dtype, ok := resultParams(n, y)
	if !ok {
		return nil
	}
	b, ok := int32Bias(nm, bias, w.Name+"_bias", channels)
	if !ok {
		return nil
	}
	q := &ir.Node{Name: n.Name, Op: ops.OpQDense, Domain: ops.Domain, Inputs: []*ir.Value{x, w, b}, Outputs: n.Outputs}
	weightSpec(xp, ws, wz, yr, dtype).Attrs(q)
	return q
}

// qlinearAdd makes a tsmc.QAdd of a QLinearAdd (A, A_scale,
// A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point) of two
// tensors of one shape and type.
func qlinearAdd(n *ir.Node) *ir.Node {
	a, b := n.Input(0), n.Input(3)
	ap, ok := operandParams(n, a, 1)
	if !ok || b == nil || !sameType(a, b) {
		return nil
	}
	bp, ok := operandParams(n, b, 4)
	if !ok {
		return nil
	}
	y, dtype, ok := resultParams(n, 6)
	if !ok {
		return nil
	}
	q := &ir.Node{Name: n.Name, Op: ops.OpQAdd, Domain: ops.Domain, Inputs: []*ir.Value{a, b}, Outputs: n.Outputs}
	ops.QuantSpec{X: ap.QParams, B: bp.QParams, Y: y, Output: dtype}.Attrs(q)
	return q
}

// CenterWeights rewrites the 8-bit weights of a tsmc.QConv or
// tsmc.QDense that have zero points (or are uint8) as int8 weights
// without, W - w_zero_points[m], where every value fits int8: the sums
// (X - x_zero_point)(W - w_zero_point) are the same, and the int8
// kernels take symmetric weights. uint8 weights with zero point 128, the
// form older quantisers write, always fit. Others stay (code generation
// then says why it cannot take them).
func CenterWeights(g *ir.Graph) error {
	nm := newNamer(g)
	for _, n := range g.Nodes {
		if !isTsmc(n, ops.OpQConv) && !isTsmc(n, ops.OpQDense) {
			continue
		}
		w := n.Input(1)
		s, err := ops.QuantSpecOf(n)
		if err != nil || !w.IsConst() || w.DType != ir.Uint8 && w.DType != ir.Int8 || len(w.Shape) == 0 {
			continue
		}
		if w.DType == ir.Int8 && !slices.ContainsFunc(s.WZeros, func(z int64) bool { return z != 0 }) {
			continue
		}
		per := w.Const.Len() / w.Shape[0] // values per output channel
		t := &ir.Tensor{DType: ir.Int8, Shape: w.Shape.Clone(), I64: make([]int64, w.Const.Len())}
		fits := true
		for i, v := range w.Const.I64 {
			c := v - s.WZeros[min(i/per, len(s.WZeros)-1)]
			fits = fits && c >= -128 && c <= 127
			t.I64[i] = c
		}
		if !fits {
			continue
		}
		n.Inputs[1] = nm.Constant(w.Name+"_centered", t)
		s.WZeros = make([]int64, len(s.WZeros))
		s.Attrs(n)
	}
	return nil
}
