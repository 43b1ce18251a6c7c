package passes

import (
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// FuseAttention turns MatMul(A, B) (-> Mul or Div by a scalar constant)
// -> Softmax over the last axis -> MatMul(·, C) into one tsmc.Attention,
// which runs by blocks of query rows and never holds the whole attention
// matrix. tsmc.Attention reads its operands channel-major (QT = A
// transposed, K = B, VT = C transposed) and writes YT: where A or C is a
// Transpose of the last two axes its input is read instead, and where
// the result's only reader is such a Transpose the attention writes that
// reader's output, as in a non-local block (also when a per-tensor
// QuantizeLinear sits between them, as quantize-movement leaves a QDQ
// non-local block: the QuantizeLinear, elementwise, then quantises the
// attention's output into the Transpose's); elsewhere Transposes are
// added. The operands must be float32 of one rank with equal leading dims
// (no broadcasting), the intermediate values read once.
func FuseAttention(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	nm := newNamer(g)
	dead := map[*ir.Node]bool{}
	placed := map[*ir.Node][]*ir.Node{} // the second MatMul -> its replacement
	for _, mm2 := range g.Nodes {
		if !isOp(mm2, "MatMul") || dead[mm2] {
			continue
		}
		sm := producers[mm2.Inputs[0]]
		if !isOp(sm, "Softmax") || soleReader(g, users, sm.Outputs[0]) != mm2 || !ops.SoftmaxLastAxis(sm, g.Opset(sm)) {
			continue
		}
		chain := []*ir.Node{mm2, sm}
		scale, scores := float32(1), sm.Inputs[0]
		if p := producers[scores]; (isOp(p, "Mul") || isOp(p, "Div")) && soleReader(g, users, scores) == sm {
			c, ok := scalarConst(p.Inputs[1])
			other := p.Inputs[0]
			if !ok && isOp(p, "Mul") {
				c, ok = scalarConst(p.Inputs[0])
				other = p.Inputs[1]
			}
			if isOp(p, "Div") {
				c = 1 / c
			}
			if ok && isFinite32(c) && c != 0 && sameType(other, p.Outputs[0]) {
				scale, scores = c, other
				chain = append(chain, p)
			}
		}
		mm1 := producers[scores]
		if !isOp(mm1, "MatMul") || soleReader(g, users, scores) != chain[len(chain)-1] {
			continue
		}
		chain = append(chain, mm1)
		a, b, c, y := mm1.Inputs[0], mm1.Inputs[1], mm2.Inputs[1], mm2.Outputs[0]
		if !attentionOperands(a, b, c, y) {
			continue
		}
		var before, after []*ir.Node
		qt := transposedInput(g, nm, producers, a, &before)
		vt := transposedInput(g, nm, producers, c, &before)
		att := &ir.Node{Name: nm.Fresh(mm2.Name + "_attention"), Domain: ops.Domain, Op: ops.OpAttention,
			Inputs: []*ir.Value{qt, b, vt}, Attrs: map[string]ir.Attr{}}
		if scale != 1 {
			att.Attrs["scale"] = newFloatAttr(scale)
		}
		if t := soleReader(g, users, y); t != nil && isLastAxesSwap(t) {
			att.Outputs = []*ir.Value{t.Outputs[0]}
			dead[t] = true
		} else {
			yt := &ir.Value{Name: nm.Fresh(y.Name + "_t"), DType: ir.Float32, Shape: swapLast(y.Shape)}
			att.Outputs = []*ir.Value{yt}
			if q, t := quantizedSwap(g, users, y); t != nil {
				// Q(y) swapped is Q(y swapped): Q reads the attention's
				// output and writes the swap's
				q.Inputs[0], q.Outputs[0] = yt, t.Outputs[0]
				dead[t] = true
			} else {
				after = append(after, swapNode(nm, yt, y))
			}
		}
		for _, n := range chain {
			dead[n] = true
		}
		placed[mm2] = append(append(before, att), after...)
	}
	if len(placed) == 0 {
		return nil
	}
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		if r, ok := placed[n]; ok {
			nodes = append(nodes, r...)
		} else if !dead[n] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	return nil
}

// quantizedSwap returns y's sole reader q when it is a QuantizeLinear of
// per-tensor parameters whose output's sole reader t swaps the last two
// axes (as quantize-movement leaves a non-local block's output), and t.
func quantizedSwap(g *ir.Graph, users map[*ir.Value][]*ir.Node, y *ir.Value) (q, t *ir.Node) {
	q = soleReader(g, users, y)
	if _, ok := tensorQuant(q); !ok || !isQ(q) || q.Inputs[0] != y {
		return nil, nil
	}
	if t = soleReader(g, users, q.Outputs[0]); t == nil || !isLastAxesSwap(t) {
		return nil, nil
	}
	return q, t
}

// attentionOperands checks the shapes of MatMul(A, B) and MatMul(·, C)
// for a tsmc.Attention: float32, one rank from 2, A [..., M, D], B [...,
// D, N], C [..., N, E], Y [..., M, E], the leading dims equal.
func attentionOperands(a, b, c, y *ir.Value) bool {
	vs := []*ir.Value{a, b, c, y}
	r := len(a.Shape)
	for _, v := range vs {
		if v.DType != ir.Float32 || len(v.Shape) != r || !v.Shape.Known() || r < 2 {
			return false
		}
		if !slices.Equal(v.Shape[:r-2], a.Shape[:r-2]) {
			return false
		}
	}
	m, d, n, e := a.Shape[r-2], a.Shape[r-1], b.Shape[r-1], c.Shape[r-1]
	return b.Shape[r-2] == d && c.Shape[r-2] == n && y.Shape[r-2] == m && y.Shape[r-1] == e
}

// transposedInput returns v with its last two axes swapped: the input of
// the Transpose that made v when there is one, else a new Transpose's
// output (the node appended to added).
func transposedInput(g *ir.Graph, nm *namer, producers map[*ir.Value]*ir.Node, v *ir.Value, added *[]*ir.Node) *ir.Value {
	if t := producers[v]; t != nil && isLastAxesSwap(t) {
		return t.Inputs[0]
	}
	out := &ir.Value{Name: nm.Fresh(v.Name + "_t"), DType: v.DType, Shape: swapLast(v.Shape)}
	*added = append(*added, swapNode(nm, v, out))
	return out
}

// swapNode is a Transpose of the last two axes from in to out.
func swapNode(nm *namer, in, out *ir.Value) *ir.Node {
	return &ir.Node{Name: nm.Fresh(out.Name + "_transpose"), Op: "Transpose", Inputs: []*ir.Value{in}, Outputs: []*ir.Value{out},
		Attrs: map[string]ir.Attr{"perm": newIntsAttr(ints64(swapPerm(len(in.Shape)))...)}}
}

// isLastAxesSwap reports whether n is a Transpose that swaps the last two
// axes of its input and keeps the others.
func isLastAxesSwap(n *ir.Node) bool {
	if !isOp(n, "Transpose") || n.Input(0) == nil {
		return false
	}
	r := len(n.Input(0).Shape)
	perm, ok := n.Attrs["perm"]
	if !ok { // the default reverses the axes
		return r == 2
	}
	return slices.Equal(perm.Ints, ints64(swapPerm(r)))
}

// swapPerm is the permutation of rank r that swaps the last two axes.
func swapPerm(r int) []int {
	p := seqFrom(0, r)
	p[r-2], p[r-1] = p[r-1], p[r-2]
	return p
}

func swapLast(s ir.Shape) ir.Shape {
	t := s.Clone()
	t[len(t)-2], t[len(t)-1] = t[len(t)-1], t[len(t)-2]
	return t
}

func isFinite32(v float32) bool { return v-v == 0 }

// QuantizeAttention gives a float32 tsmc.Attention whose queries and
// keys are both dequantised tensors its quantised form, as onnxruntime
// makes MatMulIntegerToFloat of a MatMul between two DequantizeLinear
// outputs: the scores become the exact integer product of the quantised
// tensors (see ops.OpAttention). An operand qualifies when it comes out
// of a DequantizeLinear of per-tensor uint8 or int8 parameters through
// data movement and max pooling only (the ops QuantizeMovement moves),
// every leaf of that cone a DequantizeLinear of the same parameters:
// DequantizeLinear is elementwise and monotone, so the cone run on the
// quantised tensor and dequantised equals the float32 cone exactly. The
// pass clones the cone on the quantised tensors (QuantizeMovement's
// mover) and sets the attention's parameters; the float32 cone stays for
// other readers, and dead-code drops what nobody reads. The values stay
// float32 (the second product and the softmax are float32 computations),
// but when they are such a cone too it runs on the quantised tensor and
// one DequantizeLinear follows it, which is exact for the same reason:
// the non-local block's pooled values are dequantised after pooling, a
// quarter of the elements.
func QuantizeAttention(g *ir.Graph) error {
	m := &mover{g: g, nm: newNamer(g), producers: g.Producers(), memo: map[moveKey]*ir.Value{}}
	for _, n := range g.Nodes {
		if !isTsmc(n, ops.OpAttention) || n.Input(0).DType != ir.Float32 || n.Input(1).DType != ir.Float32 {
			continue
		}
		qp, okQ := m.dequantizedCone(n.Inputs[0])
		kp, okK := m.dequantizedCone(n.Inputs[1])
		if !okQ || !okK {
			continue
		}
		q, okQ := m.quantized(n.Inputs[0], qp)
		k, okK := m.quantized(n.Inputs[1], kp)
		if !okQ || !okK {
			return n.Errorf("cannot clone the movement of its dequantised operands")
		}
		n.Inputs[0], n.Inputs[1] = q, k
		if vp, ok := m.dequantizedCone(n.Inputs[2]); ok && !isDQ(m.producers[n.Inputs[2]]) {
			if qv, ok := m.quantized(n.Inputs[2], vp); ok {
				n.Inputs[2] = m.linear("DequantizeLinear", qv, vp, &ir.Value{Name: m.nm.Fresh(n.Inputs[2].Name + "_dequantized"), DType: ir.Float32, Shape: n.Inputs[2].Shape.Clone()})
			}
		}
		n.SetAttr("q_scale", newFloatAttr(qp.Scale))
		n.SetAttr("q_zero_point", newIntAttr(qp.Zero))
		n.SetAttr("k_scale", newFloatAttr(kp.Scale))
		n.SetAttr("k_zero_point", newIntAttr(kp.Zero))
	}
	g.Nodes = append(g.Nodes, m.added...)
	return g.Sort()
}

// dequantizedCone reports whether v is made from DequantizeLinear
// outputs of one set of per-tensor parameters by ops the mover clones
// (movable), and returns those parameters. Constants and the ops that
// only make zeros do not qualify.
func (m *mover) dequantizedCone(v *ir.Value) (quantParams, bool) {
	n := m.producers[v]
	if isDQ(n) {
		return tensorQuant(n)
	}
	if v.DType != ir.Float32 || !m.movable(n) {
		return quantParams{}, false
	}
	var p quantParams
	found := false
	for _, i := range dataInputs(n) {
		in := n.Input(i)
		if in == nil {
			continue
		}
		q, ok := m.dequantizedCone(in)
		if !ok || found && !q.same(p) {
			return quantParams{}, false
		}
		p, found = q, true
	}
	return p, found
}
