package passes

import (
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// layoutOps only relabel or reorder elements: the views and transposes
// around a pooling over time.
var layoutOps = map[string]bool{"Reshape": true, "Transpose": true, "Squeeze": true, "Unsqueeze": true, "Flatten": true, "Identity": true}

// RecognizeTemporalPool replaces max pooling over time with one
// tsmc.TemporalPool, however it is spelled: the official TSM code views
// the frames [N*T, C, H, W] as [N, C, T, H, W] (Reshape, Transpose),
// max-pools with a (k, 1, 1) window and views the result back. A MaxPool
// whose window changes one spatial axis only is a candidate; the views
// before and after it (layout ops) lead to a frames tensor X [N*T,
// rest...] and a result Y [N*T', rest...], and the candidate is taken only
// when the chain computes exactly the temporal pool: evaluated on two index
// encodings of X (ascending and descending, whose maxima pin down each
// window's first and last frame), it must agree with tsmc.TemporalPool's
// reference kernel. It assumes inferred shapes and folded constants; the
// views left unread are removed by dead-code.
func RecognizeTemporalPool(g *ir.Graph) error {
	for _, pool := range slices.Clone(g.Nodes) {
		if !isOp(pool, "MaxPool") || len(pool.Outputs) > 1 && pool.Outputs[1] != nil {
			continue
		}
		if tp, chain, x, y := temporalPoolCandidate(g, pool); chain != nil && temporalPoolHolds(g, tp, chain, x, y) {
			replaceWithTemporalPool(g, tp, x, y)
		}
	}
	return nil
}

// temporalPoolCandidate reads a MaxPool as a pooling over time: its
// window's one changing axis, the frames X before the views that lead to
// it and the frames Y after the views that lead from it. chain lists the
// views, the pool and the views after it in graph order; nil when pool is
// no candidate.
func temporalPoolCandidate(g *ir.Graph, pool *ir.Node) (tp ops.TemporalPool, chain []*ir.Node, x, y *ir.Value) {
	u := pool.Input(0)
	if u == nil || len(u.Shape) < 3 || pool.AttrInt("ceil_mode", 0) != 0 {
		return tp, nil, nil, nil
	}
	kernel := intsOr(pool, "kernel_shape", len(u.Shape)-2, 0)
	strides := intsOr(pool, "strides", len(u.Shape)-2, 1)
	dilations := intsOr(pool, "dilations", len(u.Shape)-2, 1)
	pads, err := ops.Pads(pool, u.Shape, kernel)
	if kernel == nil || strides == nil || dilations == nil || err != nil {
		return tp, nil, nil, nil
	}
	axis := -1
	sp := len(kernel)
	for a := range kernel {
		if kernel[a] == 1 && strides[a] == 1 && pads[a] == 0 && pads[a+sp] == 0 {
			continue
		}
		if axis >= 0 || dilations[a] != 1 {
			return tp, nil, nil, nil
		}
		axis = a
	}
	if axis < 0 {
		return tp, nil, nil, nil
	}
	tp = ops.TemporalPool{Segments: u.Shape[2+axis], Kernel: kernel[axis], Stride: strides[axis], PadBegin: pads[axis], PadEnd: pads[axis+sp]}
	if tp.PadBegin >= tp.Kernel || tp.PadEnd >= tp.Kernel || tp.Out() != pool.Outputs[0].Shape[2+axis] {
		return tp, nil, nil, nil
	}

	// The views before the pool, nearest first, and after it.
	producers, users := g.Producers(), g.Users()
	var before []*ir.Node
	ins := []*ir.Value{u}
	for v := u; ; {
		p := producers[v]
		if p == nil || p.Domain != "" || !layoutOps[p.Op] || !layoutArgsConst(p) {
			break
		}
		before = append(before, p)
		v = p.Input(0)
		ins = append(ins, v)
	}
	var after []*ir.Node
	outs := []*ir.Value{pool.Outputs[0]}
	for v := pool.Outputs[0]; ; {
		r := soleReader(g, users, v)
		if r == nil || !layoutOps[r.Op] || r.Domain != "" || r.Input(0) != v || !layoutArgsConst(r) {
			break
		}
		after = append(after, r)
		v = r.Outputs[0]
		outs = append(outs, v)
	}
	for i, xc := range ins {
		for j, yc := range outs {
			if len(xc.Shape) < 1 || len(yc.Shape) != len(xc.Shape) || !xc.Shape[1:].Equal(yc.Shape[1:]) ||
				xc.Shape[0]%tp.Segments != 0 || yc.Shape[0] != xc.Shape[0]/tp.Segments*tp.Out() || xc.DType != ir.Float32 {
				continue
			}
			chain = append(slices.Clone(before[:i]), pool)
			slices.Reverse(chain[:i])
			chain = append(chain, after[:j]...)
			return tp, chain, xc, yc
		}
	}
	return tp, nil, nil, nil
}

// intsOr reads an ints attribute of count values, def when absent; nil
// when it has another length.
func intsOr(n *ir.Node, name string, count, def int) []int {
	raw, ok := n.AttrInts(name)
	if !ok {
		if def == 0 {
			return nil
		}
		raw = make([]int64, count)
		for i := range raw {
			raw[i] = int64(def)
		}
	}
	if len(raw) != count {
		return nil
	}
	out := make([]int, count)
	for i, v := range raw {
		out[i] = int(v)
	}
	return out
}

// layoutArgsConst reports whether a view's parameter inputs (a Reshape's
// shape, Squeeze's axes) are constants.
func layoutArgsConst(n *ir.Node) bool {
	for _, in := range n.Inputs[1:] {
		if in != nil && !in.IsConst() {
			return false
		}
	}
	return true
}

// temporalPoolHolds evaluates chain on two index encodings of x and checks
// that it computes the temporal pool tp from x into y.
func temporalPoolHolds(g *ir.Graph, tp ops.TemporalPool, chain []*ir.Node, x, y *ir.Value) bool {
	size := x.Shape.Size()
	if size > maxShiftCone {
		return false
	}
	ref := &ir.Node{Name: "temporal_pool", Op: ops.OpTemporalPool, Domain: ops.Domain, Outputs: []*ir.Value{{Name: "y"}}}
	tp.Attrs(ref)
	for _, enc := range []func(int) float32{func(k int) float32 { return float32(k + 1) }, func(k int) float32 { return float32(size - k) }} {
		data := make([]float32, size)
		for k := range data {
			data[k] = enc(k)
		}
		in := ir.Float32s(x.Shape, data)
		env := map[*ir.Value]*ir.Tensor{x: in}
		for _, n := range chain {
			outs, err := interp.EvalWith(n, g.Opset(n), env)
			if err != nil {
				return false
			}
			env[n.Outputs[0]] = outs[0]
		}
		want, err := interp.Eval(ref, 1, []*ir.Tensor{in})
		if err != nil || env[y] == nil || !slices.Equal(env[y].F32, want[0].F32) {
			return false
		}
	}
	return true
}

// replaceWithTemporalPool makes a tsmc.TemporalPool of x produce y in
// place of the view that produced it.
func replaceWithTemporalPool(g *ir.Graph, tp ops.TemporalPool, x, y *ir.Value) {
	node := &ir.Node{Name: "TemporalPool_" + y.Name, Op: ops.OpTemporalPool, Domain: ops.Domain, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{y}}
	tp.Attrs(node)
	for i, n := range g.Nodes {
		if slices.Contains(n.Outputs, y) {
			g.Nodes[i] = node
			return
		}
	}
}
