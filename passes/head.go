package passes

import (
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// The network head becomes few simple ops in four passes (all assume
// inferred shapes and leave anything not matching as it was):
// MergeReduceMeans, PoolReduceMeans, FuseDense and FuseSegmentMean.

// MergeReduceMeans merges a chain of ReduceMean nodes (each the only
// reader of the previous one, same keepdims) into one: MobileNetV2's
// x.mean(3).mean(2) becomes one mean over the spatial axes.
func MergeReduceMeans(g *ir.Graph) error {
	mergeReduceMeans(g)
	return nil
}

// PoolReduceMeans turns a ReduceMean over exactly the spatial axes 2.. of
// a rank-3+ float tensor into GlobalAveragePool (followed by
// Flatten(axis=1) when keepdims=0).
func PoolReduceMeans(g *ir.Graph) error {
	poolReduceMeans(g)
	return nil
}

// FuseDense turns Gemm(A, B, C) with constant B (and C, if any,
// broadcastable to one row), transA=0, into tsmc.Dense with W [K, C] =
// alpha*B (B transposed when transB=0) and bias beta*C; when A is a
// Flatten, Reshape or Squeeze that only drops trailing 1-dims of a
// GlobalAveragePool output, both fold into the Dense (each only when
// nothing else reads it).
func FuseDense(g *ir.Graph) error {
	fuseDense(g)
	return nil
}

// FuseSegmentMean turns the TSN consensus, Reshape [N*T, rest...] -> [N, T,
// rest...] then ReduceMean over axis 1 without keepdims, into
// tsmc.SegmentMean.
func FuseSegmentMean(g *ir.Graph) error {
	fuseSegmentMean(g)
	return nil
}

// reduceMeanAxes returns the normalised axes and keepdims of a
// ReduceMean; ok is false when they are not known at compile time or the
// node reduces nothing.
func reduceMeanAxes(n *ir.Node) (axes []int, keep bool, ok bool) {
	if !isOp(n, "ReduceMean") || n.Input(0) == nil || len(n.Outputs) != 1 {
		return nil, false, false
	}
	rank := len(n.Inputs[0].Shape)
	raw, present, known := intsArg(n, "axes", 1)
	if !known || (!present || len(raw) == 0) && n.AttrInt("noop_with_empty_axes", 0) != 0 {
		return nil, false, false
	}
	if !present || len(raw) == 0 {
		raw = make([]int64, rank)
		for i := range raw {
			raw[i] = int64(i)
		}
	}
	axes, ok = normAxes(raw, rank)
	slices.Sort(axes)
	return axes, n.AttrInt("keepdims", 1) != 0, ok
}

// setReduceMeanAxes rewrites n's axes in the form n's opset uses.
func setReduceMeanAxes(g *ir.Graph, nm *namer, n *ir.Node, axes []int) {
	if g.Opset(n) < 18 {
		n.SetAttr("axes", newIntsAttr(ints64(axes)...))
		n.Inputs = n.Inputs[:1]
		return
	}
	delete(n.Attrs, "axes")
	c := nm.Constant(n.Outputs[0].Name+"_axes", ir.Int64s(ir.Shape{len(axes)}, ints64(axes)))
	n.Inputs = []*ir.Value{n.Inputs[0], c}
}

// mergeReduceMeans merges ReduceMean(ReduceMean(x)) into one node.
func mergeReduceMeans(g *ir.Graph) {
	nm := newNamer(g)
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		axes, keep, ok := reduceMeanAxes(n)
		if !ok {
			continue
		}
		p := producers[n.Inputs[0]]
		inner, innerKeep, ok := reduceMeanAxes(p)
		if !ok || innerKeep != keep || soleReader(g, users, p.Outputs[0]) != n {
			continue
		}
		// Map n's axes back to axes of p's input.
		rank := len(p.Inputs[0].Shape)
		merged := append([]int(nil), inner...)
		var remaining []int
		for i := 0; i < rank; i++ {
			if keep || !slices.Contains(inner, i) {
				remaining = append(remaining, i)
			}
		}
		for _, a := range axes {
			if !slices.Contains(merged, remaining[a]) {
				merged = append(merged, remaining[a])
			}
		}
		slices.Sort(merged)
		n.Inputs[0] = p.Inputs[0]
		setReduceMeanAxes(g, nm, n, merged)
		dead[p] = true
	}
	removeNodes(g, dead)
}

// poolReduceMeans turns spatial ReduceMeans into GlobalAveragePool.
func poolReduceMeans(g *ir.Graph) {
	nm := newNamer(g)
	var nodes []*ir.Node
	for _, n := range g.Nodes {
		nodes = append(nodes, n)
		axes, keep, ok := reduceMeanAxes(n)
		x := n.Input(0)
		if !ok || len(x.Shape) < 3 || x.DType != ir.Float32 || !slices.Equal(axes, seqFrom(2, len(x.Shape))) {
			continue
		}
		out := n.Outputs[0]
		n.Op, n.Inputs, n.Attrs = "GlobalAveragePool", []*ir.Value{x}, nil
		if keep {
			continue
		}
		pooledShape := ir.Shape{x.Shape[0], x.Shape[1]}
		for range x.Shape[2:] {
			pooledShape = append(pooledShape, 1)
		}
		pooled := &ir.Value{Name: nm.Fresh(out.Name + "_pooled"), DType: out.DType, Shape: pooledShape}
		n.Outputs[0] = pooled
		flatten := &ir.Node{Name: nm.Fresh(n.Name + "_flatten"), Op: "Flatten",
			Inputs: []*ir.Value{pooled}, Outputs: []*ir.Value{out},
			Attrs: map[string]ir.Attr{"axis": newIntAttr(1)}}
		nodes = append(nodes, flatten)
	}
	g.Nodes = nodes
}

// seqFrom returns [from, to).
func seqFrom(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// fuseDense turns classifier Gemms (and their pooling) into tsmc.Dense.
func fuseDense(g *ir.Graph) {
	nm := newNamer(g)
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if !isOp(n, "Gemm") || len(n.Outputs) != 1 {
			continue
		}
		w, b, ok := denseParams(n, nm)
		if !ok {
			continue
		}
		x := n.Inputs[0]
		if r := producers[x]; droppingTrailingOnes(r) && soleReader(g, users, x) == n {
			dead[r], x = true, r.Inputs[0]
			if p := producers[x]; isOp(p, "GlobalAveragePool") && soleReader(g, users, x) == r {
				dead[p], x = true, p.Inputs[0]
			}
		}
		n.Domain, n.Op, n.Attrs = ops.Domain, ops.OpDense, nil
		n.Inputs = []*ir.Value{x, w, b}
	}
	removeNodes(g, dead)
}

// droppingTrailingOnes reports whether r is a Flatten, Reshape or Squeeze
// from [N, C, 1, ...] to [N, C].
func droppingTrailingOnes(r *ir.Node) bool {
	if !(isOp(r, "Flatten") || isOp(r, "Reshape") || isOp(r, "Squeeze")) || len(r.Outputs) != 1 {
		return false
	}
	in, out := r.Inputs[0].Shape, r.Outputs[0].Shape
	if len(out) != 2 || len(in) < 2 || in[0] != out[0] || in[1] != out[1] {
		return false
	}
	for _, d := range in[2:] {
		if d != 1 {
			return false
		}
	}
	return true
}

// denseParams returns the Dense weights [K, C] and bias [K] of a Gemm with
// constant operands, or ok=false when it does not fit. The Gemm's own
// constants are reused when they already have that form.
func denseParams(n *ir.Node, nm *namer) (w, b *ir.Value, ok bool) {
	a, bv := n.Input(0), n.Input(1)
	if a == nil || bv == nil || a.DType != ir.Float32 || len(a.Shape) != 2 || n.AttrInt("transA", 0) != 0 {
		return nil, nil, false
	}
	bt := float32Const(bv)
	if bt == nil || len(bt.Shape) != 2 {
		return nil, nil, false
	}
	transB := n.AttrInt("transB", 0) != 0
	k, c := bt.Shape[1], bt.Shape[0]
	if transB {
		k, c = c, k
	}
	if c != a.Shape[1] {
		return nil, nil, false
	}
	alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
	base := n.Outputs[0].Name
	cv := n.Input(2)
	if cv != nil && (float32Const(cv) == nil || !rowBroadcast(cv.Const.Shape, k)) {
		return nil, nil, false
	}
	if transB && alpha == 1 {
		w = bv
	} else {
		wt, _ := ir.NewTensor(ir.Float32, ir.Shape{k, c})
		for i := 0; i < k; i++ {
			for j := 0; j < c; j++ {
				v := bt.F32[j*k+i]
				if transB {
					v = bt.F32[i*c+j]
				}
				wt.F32[i*c+j] = alpha * v
			}
		}
		w = nm.Constant(base+"_weight", wt)
	}
	if cv != nil && beta == 1 && cv.Const.Shape.Equal(ir.Shape{k}) {
		return w, cv, true
	}
	bias, _ := ir.NewTensor(ir.Float32, ir.Shape{k})
	if cv != nil {
		for i := range bias.F32 {
			v := cv.Const.F32[0]
			if cv.Const.Len() == k {
				v = cv.Const.F32[i]
			}
			bias.F32[i] = beta * v
		}
	}
	return w, nm.Constant(base+"_bias", bias), true
}

// rowBroadcast reports whether a bias of shape s is the same for every row
// of a [N, k] result: a scalar, [1], [k], [1, 1] or [1, k].
func rowBroadcast(s ir.Shape, k int) bool {
	switch len(s) {
	case 0:
		return true
	case 1:
		return s[0] == 1 || s[0] == k
	case 2:
		return s[0] == 1 && (s[1] == 1 || s[1] == k)
	}
	return false
}

// fuseSegmentMean turns Reshape [N*T, ...] -> [N, T, ...] + ReduceMean over
// axis 1 into tsmc.SegmentMean.
func fuseSegmentMean(g *ir.Graph) {
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		axes, keep, ok := reduceMeanAxes(n)
		if !ok || keep || !slices.Equal(axes, []int{1}) {
			continue
		}
		r := producers[n.Inputs[0]]
		if !isOp(r, "Reshape") || soleReader(g, users, r.Outputs[0]) != n {
			continue
		}
		in, out := r.Inputs[0].Shape, r.Outputs[0].Shape
		if len(in) < 1 || len(out) != len(in)+1 || out[1] <= 0 || out[0]*out[1] != in[0] || !out[2:].Equal(in[1:]) {
			continue
		}
		n.Domain, n.Op = ops.Domain, ops.OpSegmentMean
		n.Inputs = []*ir.Value{r.Inputs[0]}
		n.Attrs = map[string]ir.Attr{"segments": newIntAttr(int64(out[1]))}
		dead[r] = true
	}
	removeNodes(g, dead)
}
