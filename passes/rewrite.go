package passes

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// This file holds the small graph-editing helpers the passes share.

// namer hands out value names unused in a graph.
type namer = ir.Namer

func newNamer(g *ir.Graph) *namer { return ir.NewNamer(g) }

// removeNodes drops the nodes in dead, keeping the order of the rest.
func removeNodes(g *ir.Graph, dead map[*ir.Node]bool) {
	if len(dead) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	for i := len(kept); i < len(g.Nodes); i++ {
		g.Nodes[i] = nil
	}
	g.Nodes = kept
}

// soleReader returns the only node that reads v, when v is read exactly
// once (by one input of one node) and is not a graph output.
func soleReader(g *ir.Graph, users map[*ir.Value][]*ir.Node, v *ir.Value) *ir.Node {
	if v == nil || g.IsOutput(v) || len(users[v]) != 1 {
		return nil
	}
	return users[v][0]
}

// isOp reports whether n is op of the default ONNX domain.
func isOp(n *ir.Node, op string) bool {
	return n != nil && n.Op == op && (n.Domain == "" || n.Domain == "ai.onnx")
}

// isTsmc reports whether n is tsmc's op.
func isTsmc(n *ir.Node, op string) bool {
	return n != nil && n.Op == op && n.Domain == ops.Domain
}

// float32Const returns v's data when v is a float32 constant.
func float32Const(v *ir.Value) *ir.Tensor {
	if v.IsConst() && v.Const.DType == ir.Float32 {
		return v.Const
	}
	return nil
}

// scalarConst reads a one-element constant as float32; ok is false when v
// is not such a constant.
func scalarConst(v *ir.Value) (float32, bool) {
	if !v.IsConst() || v.Const.Len() != 1 || !(v.Const.DType == ir.Float32 || v.Const.DType == ir.Float64) {
		return 0, false
	}
	return float32(v.Const.Float(0)), true
}

// intsArg reads an integer list given as attribute name (older opsets) or
// as input i (newer ones). present is false when neither is given; known
// is false when the input is there but not an integer constant.
func intsArg(n *ir.Node, name string, i int) (vals []int64, present, known bool) {
	if v, ok := n.AttrInts(name); ok {
		return v, true, true
	}
	in := n.Input(i)
	if in == nil {
		return nil, false, true
	}
	if !in.IsConst() || !in.Const.DType.IsInt() {
		return nil, true, false
	}
	return in.Const.I64, true, true
}

// normAxes maps possibly negative axes to [0, rank), failing on
// out-of-range or repeated ones.
func normAxes(axes []int64, rank int) ([]int, bool) {
	out := make([]int, len(axes))
	seen := map[int]bool{}
	for i, a := range axes {
		ax := int(a)
		if ax < 0 {
			ax += rank
		}
		if ax < 0 || ax >= rank || seen[ax] {
			return nil, false
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, true
}

// ints64 converts ints to the int64s of an attribute.
func ints64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// newIntsAttr, newIntAttr, newFloatAttr and newStringAttr build the
// attributes the passes set on the nodes they make.
func newIntsAttr(v ...int64) ir.Attr { return ir.Attr{Kind: ir.AttrInts, Ints: v} }
func newIntAttr(v int64) ir.Attr     { return ir.Attr{Kind: ir.AttrInt, Int: v} }
func newFloatAttr(v float32) ir.Attr { return ir.Attr{Kind: ir.AttrFloat, Float: v} }
func newStringAttr(v string) ir.Attr { return ir.Attr{Kind: ir.AttrString, String: v} }
func sameType(a, b *ir.Value) bool   { return a.DType == b.DType && a.Shape.Equal(b.Shape) }
