package ops

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// OpAttention is the attention of a non-local block (embedded Gaussian) in
// channel-major layout: inputs QT [..., D, M], K [..., D, N] and VT [...,
// E, N] (the leading dims equal); output YT [..., E, M] with
//
//	YT = Transpose(Softmax(scale · Transpose(QT)·K, axis -1) · Transpose(VT))
//
// the transposes swapping the last two axes, "scale" a float attribute
// (default 1). The fuse-attention pass makes it from MatMul, Softmax,
// MatMul; it runs by blocks of query rows (runtime.Attention).
//
// In its quantised form QT and K are uint8 or int8 tensors quantised per
// tensor, with float attributes q_scale and k_scale (positive, finite)
// and int attributes q_zero_point and k_zero_point (in their types'
// ranges); VT stays float32. The scores are then the integer product of
// onnxruntime's MatMulIntegerToFloat, exact in int32, then scaled:
//
//	S[i][j] = scale · (float32(Σ_d (QT[d][i] - zq)·(K[d][j] - zk)) · (q_scale·k_scale))
//
// every product rounded to float32 on its own (the scale multiply only
// when scale is not 1); the softmax and the product with VT are as in the
// float32 form. The quantize-attention pass makes it.
const OpAttention = "Attention"

func attentionDefs() []*Def {
	return []*Def{{Domain: Domain, Op: OpAttention, Infer: inferAttention, MACs: attentionMACs, Lower: lowerAttention, Int8: true}}
}

// attentionDims are the sizes of an attention: batch members (the
// leading dims' product), channels of queries and keys D, queries M, keys
// N, value channels E.
type attentionDims struct{ batch, d, m, n, e int }

// attentionShapes checks the operand shapes of a tsmc.Attention.
func attentionShapes(n *ir.Node, qt, k, vt ir.Shape) (attentionDims, error) {
	r := len(qt)
	if r < 2 || len(k) != r || len(vt) != r {
		return attentionDims{}, n.Errorf("operands %v, %v, %v: want three of one rank, at least 2", qt, k, vt)
	}
	for i := range r - 2 {
		if qt[i] != k[i] || qt[i] != vt[i] {
			return attentionDims{}, n.Errorf("operands %v, %v, %v: leading dims differ", qt, k, vt)
		}
	}
	dd := attentionDims{batch: qt[:r-2].Size(), d: qt[r-2], m: qt[r-1], n: k[r-1], e: vt[r-2]}
	if k[r-2] != dd.d || vt[r-1] != dd.n {
		return dd, n.Errorf("queries %v, keys %v, values %v: want [..., D, M], [..., D, N], [..., E, N]", qt, k, vt)
	}
	return dd, nil
}

// AttentionScale is a tsmc.Attention's scale attribute.
func AttentionScale(n *ir.Node) (float32, error) {
	a, ok := n.Attrs["scale"]
	if !ok {
		return 1, nil
	}
	if a.Kind != ir.AttrFloat || math.IsNaN(float64(a.Float)) || math.IsInf(float64(a.Float), 0) {
		return 0, n.Errorf("attribute scale must be a finite float")
	}
	return a.Float, nil
}

// AttentionQuant is the quantisation of a quantised tsmc.Attention's
// queries and keys: their types (uint8 or int8) and parameters.
type AttentionQuant struct {
	QType, KType ir.DType
	Q, K         QParams
}

// maxAttentionDepth bounds the channels D of a quantised attention: the
// integer scores must fit int32, |Σ_d| <= D·255·255.
const maxAttentionDepth = math.MaxInt32 / (255 * 255)

// AttentionQuantOf reads the quantisation of a tsmc.Attention whose
// inputs are known: ok is false for the float32 form. Inputs of other
// types, one operand quantised and not the other, or parameters missing
// or out of range are errors.
func AttentionQuantOf(n *ir.Node) (aq AttentionQuant, ok bool, err error) {
	qt, k, vt := n.Input(0), n.Input(1), n.Input(2)
	if qt == nil || k == nil || vt == nil {
		return aq, false, n.Errorf("needs inputs QT, K and VT")
	}
	if vt.DType != ir.Float32 {
		return aq, false, n.Errorf("input VT must be float32, is %v", vt.DType)
	}
	if qt.DType == ir.Float32 && k.DType == ir.Float32 {
		for _, a := range []string{"q_scale", "q_zero_point", "k_scale", "k_zero_point"} {
			if _, has := n.Attrs[a]; has {
				return aq, false, n.Errorf("attribute %s belongs to the quantised form: queries and keys are float32", a)
			}
		}
		return aq, false, nil
	}
	if !quantByte(qt.DType) || !quantByte(k.DType) {
		return aq, false, n.Errorf("queries %v and keys %v must be both float32 or both uint8/int8", qt.DType, k.DType)
	}
	aq.QType, aq.KType = qt.DType, k.DType
	if aq.Q, err = attentionParams(n, "q", qt.DType); err != nil {
		return aq, false, err
	}
	if aq.K, err = attentionParams(n, "k", k.DType); err != nil {
		return aq, false, err
	}
	return aq, true, nil
}

// attentionParams reads the attributes <x>_scale and <x>_zero_point of
// an operand of type dt.
func attentionParams(n *ir.Node, x string, dt ir.DType) (QParams, error) {
	s, ok := n.Attrs[x+"_scale"]
	if !ok || s.Kind != ir.AttrFloat || !(s.Float > 0) || s.Float > math.MaxFloat32 {
		return QParams{}, n.Errorf("attribute %s_scale must be a positive finite float", x)
	}
	z, ok := n.Attrs[x+"_zero_point"]
	lo, hi, _ := interp.QuantRange(dt)
	if !ok || z.Kind != ir.AttrInt || z.Int < lo || z.Int > hi {
		return QParams{}, n.Errorf("attribute %s_zero_point must be an int in [%d, %d]", x, lo, hi)
	}
	return QParams{Scale: s.Float, Zero: z.Int}, nil
}

func inferAttention(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	_, quantised, err := AttentionQuantOf(n)
	if err != nil {
		return err
	}
	if _, err := AttentionScale(n); err != nil {
		return err
	}
	qt, k, vt := n.Input(0).Shape, n.Input(1).Shape, n.Input(2).Shape
	dd, err := attentionShapes(n, qt, k, vt)
	if err != nil {
		return err
	}
	if quantised && dd.d > maxAttentionDepth {
		return n.Errorf("%d channels of queries and keys: the quantised scores take at most %d (int32)", dd.d, maxAttentionDepth)
	}
	out := qt.Clone()
	out[len(out)-2] = vt[len(vt)-2]
	setOutput(n, 0, ir.Float32, out)
	return nil
}

func attentionMACs(n *ir.Node) int64 {
	if n.Input(0) == nil || n.Input(1) == nil || n.Input(2) == nil {
		return 0
	}
	dd, err := attentionShapes(n, n.Input(0).Shape, n.Input(1).Shape, n.Input(2).Shape)
	if err != nil {
		return 0
	}
	return int64(dd.batch) * int64(dd.m) * int64(dd.n) * int64(dd.d+dd.e)
}

// lowerAttention runs a runtime.Attention, of NewQAttention in the
// quantised form.
func lowerAttention(l Lowering, n *ir.Node) error {
	scale, err := AttentionScale(n)
	if err != nil {
		return err
	}
	dd, err := attentionShapes(n, n.Input(0).Shape, n.Input(1).Shape, n.Input(2).Shape)
	if err != nil {
		return err
	}
	aq, quantised, err := AttentionQuantOf(n)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0, 1, 2)
	if err != nil {
		return err
	}
	if quantised {
		// generated code holds int8 tensors as uint8 (u8Param)
		att := l.Object("attention", "Attention", "NewQAttention", dd.batch, dd.d, dd.m, dd.n, dd.e, scale,
			aq.Q.Scale, u8Param(aq.QType, aq.Q.Zero), aq.K.Scale, u8Param(aq.KType, aq.K.Zero))
		l.Run(Method(att, "RunQ", Pool, ins[0], ins[1], ins[2], out))
		return nil
	}
	att := l.Object("attention", "Attention", "NewAttention", dd.batch, dd.d, dd.m, dd.n, dd.e, scale)
	l.Run(Method(att, "Run", Pool, ins[0], ins[1], ins[2], out))
	return nil
}

// attentionKernel is the reference: the ONNX Transpose, MatMul, Mul,
// Softmax and MatMul kernels in the order of the definition.
func attentionKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, fmt.Errorf("needs inputs QT, K and VT")
	}
	scale, err := AttentionScale(n)
	if err != nil {
		return nil, err
	}
	dd, err := attentionShapes(n, in[0].Shape, in[1].Shape, in[2].Shape)
	if err != nil {
		return nil, err
	}
	aq, quantised, err := AttentionQuantOf(n)
	if err != nil {
		return nil, err
	}
	r := len(in[0].Shape)
	swap := make([]int64, r)
	for i := range swap {
		swap[i] = int64(i)
	}
	swap[r-2], swap[r-1] = swap[r-1], swap[r-2]
	perm := map[string]ir.Attr{"perm": {Kind: ir.AttrInts, Ints: swap}}
	var s *ir.Tensor
	if quantised {
		s = integerScores(dd, aq, in[0], in[1])
	} else {
		q, err := EvalOp("", "Transpose", onnxOpset, perm, in[0])
		if err != nil {
			return nil, err
		}
		if s, err = EvalOp("", "MatMul", onnxOpset, nil, q, in[1]); err != nil {
			return nil, err
		}
	}
	if scale != 1 {
		c := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{}, F32: []float32{scale}}
		if s, err = EvalOp("", "Mul", onnxOpset, nil, s, c); err != nil {
			return nil, err
		}
	}
	p, err := EvalOp("", "Softmax", onnxOpset, map[string]ir.Attr{"axis": {Kind: ir.AttrInt, Int: -1}}, s)
	if err != nil {
		return nil, err
	}
	v, err := EvalOp("", "Transpose", onnxOpset, perm, in[2])
	if err != nil {
		return nil, err
	}
	y, err := EvalOp("", "MatMul", onnxOpset, nil, p, v)
	if err != nil {
		return nil, err
	}
	yt, err := EvalOp("", "Transpose", onnxOpset, perm, y)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{yt}, nil
}

// integerScores is MatMulIntegerToFloat of Transpose(QT) and K: the
// scores [..., M, N] of a quantised attention before its scale.
func integerScores(dd attentionDims, aq AttentionQuant, qt, k *ir.Tensor) *ir.Tensor {
	shape := qt.Shape.Clone()
	shape[len(shape)-2], shape[len(shape)-1] = dd.m, dd.n
	out := &ir.Tensor{DType: ir.Float32, Shape: shape, F32: make([]float32, dd.batch*dd.m*dd.n)}
	mult := aq.Q.Scale * aq.K.Scale
	for b := range dd.batch {
		q, kk := qt.I64[b*dd.d*dd.m:], k.I64[b*dd.d*dd.n:]
		s := out.F32[b*dd.m*dd.n:]
		for i := range dd.m {
			for j := range dd.n {
				var acc int64
				for d := range dd.d {
					acc += (q[d*dd.m+i] - aq.Q.Zero) * (kk[d*dd.n+j] - aq.K.Zero)
				}
				s[i*dd.n+j] = float32(int32(acc)) * mult
			}
		}
	}
	return out
}
