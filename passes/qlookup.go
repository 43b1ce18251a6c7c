package passes

import (
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// FuseQLookup turns an elementwise float32 function of one quantised
// tensor into a table: a QuantizeLinear whose input is computed, by
// elementwise ops and scalar constants only, from one DequantizeLinear
// (both per-tensor) becomes a tsmc.QLookup of the DequantizeLinear's
// input. The interpreter runs the 256 possible bytes through the
// DequantizeLinear, the ops and the QuantizeLinear once, here, so the
// table gives what the float32 ops would (the interpreter's float32).
// The ops stay for other readers; dead-code drops them otherwise.
func FuseQLookup(g *ir.Graph) error {
	producers := g.Producers()
	for i, q := range g.Nodes {
		if _, ok := tensorQuant(q); !ok || !isQ(q) || q.Outputs[0] == nil {
			continue
		}
		dq, cone, ok := lookupCone(q.Inputs[0], producers)
		if !ok || len(cone) == 0 {
			continue
		}
		table, ok := lookupTable(g, dq, cone, q)
		if !ok {
			continue
		}
		n := &ir.Node{Name: q.Name, Op: ops.OpQLookup, Domain: ops.Domain, Inputs: []*ir.Value{dq.Inputs[0]}, Outputs: q.Outputs}
		n.SetAttr("table", ir.Attr{Kind: ir.AttrInts, Ints: table})
		n.SetAttr("output_type", ir.Attr{Kind: ir.AttrString, String: q.Outputs[0].DType.String()})
		g.Nodes[i] = n
	}
	return g.Sort()
}

// elementwise reports whether the op table marks n's op elementwise.
func elementwise(n *ir.Node) bool {
	d := ops.Lookup(n)
	return d != nil && d.Elementwise
}

// lookupCone returns the DequantizeLinear that v is an elementwise
// function of and the ops in between (unordered), or false: every input
// of the cone is computed in it, is that one per-tensor DequantizeLinear
// of a float32 result, or is a scalar constant.
func lookupCone(v *ir.Value, producers map[*ir.Value]*ir.Node) (*ir.Node, []*ir.Node, bool) {
	var dq *ir.Node
	var cone []*ir.Node
	seen := map[*ir.Node]bool{}
	var walk func(v *ir.Value) bool
	walk = func(v *ir.Value) bool {
		if v.IsConst() {
			return v.Const.Len() == 1
		}
		n := producers[v]
		switch {
		case n == nil:
			return false
		case isDQ(n):
			if _, ok := tensorQuant(n); !ok || v.DType != ir.Float32 || dq != nil && dq != n {
				return false
			}
			dq = n
			return true
		case seen[n]:
			return true
		case !elementwise(n) || len(n.Outputs) != 1 || v.DType != ir.Float32:
			return false
		}
		seen[n] = true
		cone = append(cone, n)
		for _, in := range n.Inputs {
			if in != nil && !walk(in) {
				return false
			}
		}
		return true
	}
	ok := walk(v) && dq != nil
	return dq, cone, ok
}

// lookupTable runs the 256 values of dq's input type through dq, the
// cone (in graph order) and q; false if the interpreter fails on them.
func lookupTable(g *ir.Graph, dq *ir.Node, cone []*ir.Node, q *ir.Node) ([]int64, bool) {
	lo, _, ok := interp.QuantRange(dq.Inputs[0].DType)
	if !ok {
		return nil, false
	}
	all := make([]int64, 256)
	for i := range all {
		all[i] = lo + int64(i)
	}
	env := map[*ir.Value]*ir.Tensor{dq.Inputs[0]: {DType: dq.Inputs[0].DType, Shape: ir.Shape{256}, I64: all}}
	order := slices.DeleteFunc(slices.Clone(g.Nodes), func(n *ir.Node) bool { return n != dq && n != q && !slices.Contains(cone, n) })
	for _, n := range order {
		outs, err := interp.EvalWith(n, g.Opset(n), env)
		if err != nil || len(outs) == 0 || outs[0].Len() != 256 {
			return nil, false
		}
		env[n.Outputs[0]] = outs[0]
	}
	return env[q.Outputs[0]].I64, true
}
