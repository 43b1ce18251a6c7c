package ops

import (
	"fmt"
	"math"

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
const OpAttention = "Attention"

func attentionDefs() []*Def {
	return []*Def{{Domain: Domain, Op: OpAttention, Infer: inferAttention, MACs: attentionMACs, Lower: lowerAttention}}
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

func inferAttention(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	for i := range 3 {
		if in := n.Input(i); in == nil || in.DType != ir.Float32 {
			return n.Errorf("input %d must be float32", i)
		}
	}
	if _, err := AttentionScale(n); err != nil {
		return err
	}
	qt, k, vt := n.Input(0).Shape, n.Input(1).Shape, n.Input(2).Shape
	if _, err := attentionShapes(n, qt, k, vt); err != nil {
		return err
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

// lowerAttention runs a runtime.Attention.
func lowerAttention(l Lowering, n *ir.Node) error {
	scale, err := AttentionScale(n)
	if err != nil {
		return err
	}
	dd, err := attentionShapes(n, n.Input(0).Shape, n.Input(1).Shape, n.Input(2).Shape)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0, 1, 2)
	if err != nil {
		return err
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
	if _, err := attentionShapes(n, in[0].Shape, in[1].Shape, in[2].Shape); err != nil {
		return nil, err
	}
	r := len(in[0].Shape)
	swap := make([]int64, r)
	for i := range swap {
		swap[i] = int64(i)
	}
	swap[r-2], swap[r-1] = swap[r-1], swap[r-2]
	perm := map[string]ir.Attr{"perm": {Kind: ir.AttrInts, Ints: swap}}
	q, err := EvalOp("", "Transpose", onnxOpset, perm, in[0])
	if err != nil {
		return nil, err
	}
	s, err := EvalOp("", "MatMul", onnxOpset, nil, q, in[1])
	if err != nil {
		return nil, err
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
