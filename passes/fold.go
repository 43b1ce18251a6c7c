package passes

import (
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Folding limits. A node whose inputs are all constant is evaluated at
// compile time when its outputs hold at most foldElements elements, or no
// more elements than its constant inputs (a Reshape or Transpose of
// weights), or when every output turns out to be a splat (one value
// repeated, like the zero tensors the official shift export scatters
// into) of at most foldSplatElements elements. Anything else would grow the
// model, so it is left to run time.
const (
	foldElements      = 1 << 16
	foldSplatElements = 1 << 25
)

// nondeterministic ops are never folded.
var nondeterministic = map[string]bool{
	"RandomNormal": true, "RandomNormalLike": true, "RandomUniform": true,
	"RandomUniformLike": true, "Multinomial": true, "Bernoulli": true,
}

// FoldConstants evaluates at compile time every node whose inputs are all
// constant (Constant nodes included) with the reference interpreter, and
// every Shape or Size of a value whose static shape is known, turning their
// outputs into constant values and removing the nodes. Shape arithmetic
// (Shape, Gather, Range, Cast, ConstantOfShape, Expand, Unsqueeze, Concat
// and arithmetic on the results) thus collapses into constants in one sweep.
// It assumes inferred shapes and sorted nodes; outputs keep their names.
// Large results are folded only when they are splats or no larger than the
// inputs (see foldElements).
//
// A DequantizeLinear of constants that only convolutions and matrix
// products read stays: those are a quantised model's weights, which
// FuseQDQ takes as they are (and folds itself when it cannot).
func FoldConstants(g *ir.Graph) error {
	return foldConstants(g, false)
}

// foldConstants is FoldConstants; with dequantize set it folds the
// dequantised weights too.
func foldConstants(g *ir.Graph, dequantize bool) error {
	users := g.Users()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if !dequantize && isDQ(n) && quantizedWeights(g, users, n) {
			continue
		}
		outs, err := foldNode(g, n)
		if err != nil {
			return err
		}
		if outs == nil {
			continue
		}
		for i, o := range n.Outputs {
			if o != nil {
				o.Const, o.DType, o.Shape = outs[i], outs[i].DType, outs[i].Shape.Clone()
			}
		}
		dead[n] = true
	}
	removeNodes(g, dead)
	return nil
}

// quantizedWeights reports whether the DequantizeLinear dq dequantises
// weights: only Conv, Gemm and MatMul read its output.
func quantizedWeights(g *ir.Graph, users map[*ir.Value][]*ir.Node, dq *ir.Node) bool {
	out := dq.Outputs[0]
	if out == nil || g.IsOutput(out) || len(users[out]) == 0 {
		return false
	}
	for _, u := range users[out] {
		if !isOp(u, "Conv") && !isOp(u, "Gemm") && !isOp(u, "MatMul") {
			return false
		}
	}
	return true
}

// foldNode returns the outputs of n when it can be folded, else nil.
func foldNode(g *ir.Graph, n *ir.Node) ([]*ir.Tensor, error) {
	if len(n.Outputs) == 0 || nondeterministic[n.Op] {
		return nil, nil
	}
	if isOp(n, "Shape") || isOp(n, "Size") {
		return foldShapeOf(g, n)
	}
	if len(n.Inputs) == 0 && !isOp(n, "Constant") {
		return nil, nil
	}
	inputs := make([]*ir.Tensor, len(n.Inputs))
	inElems, allSmall := 0, true
	for i, in := range n.Inputs {
		if in == nil {
			continue
		}
		if !in.IsConst() {
			return nil, nil
		}
		inputs[i] = in.Const
		inElems += in.Const.Len()
		if _, splat := in.Const.IsSplat(); in.Const.Len() > foldElements && !splat {
			allSmall = false
		}
	}
	outElems := 0
	for _, o := range n.Outputs {
		if o == nil {
			continue
		}
		size := o.Shape.Size()
		if size < 0 {
			return nil, nil // shape unknown: cannot bound the work
		}
		outElems += size
	}
	small := isOp(n, "Constant") || outElems <= foldElements || outElems <= inElems
	if !small && (!allSmall || outElems > foldSplatElements) {
		return nil, nil
	}
	outs, err := interp.Eval(n, g.Opset(n), inputs)
	if err != nil {
		return nil, err
	}
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		if i >= len(outs) || outs[i] == nil {
			return nil, n.Errorf("folding produced no tensor for output %d", i)
		}
		if _, splat := outs[i].IsSplat(); !small && !splat {
			return nil, nil
		}
	}
	return outs, nil
}

// foldShapeOf folds Shape and Size of a value whose shape is static.
func foldShapeOf(g *ir.Graph, n *ir.Node) ([]*ir.Tensor, error) {
	in := n.Input(0)
	if in == nil || in.Shape == nil || !in.Shape.Known() || n.Outputs[0] == nil {
		return nil, nil
	}
	if n.Op == "Size" {
		return []*ir.Tensor{ir.Int64s(ir.Shape{}, []int64{int64(in.Shape.Size())})}, nil
	}
	rank := len(in.Shape)
	clamp := func(i int64) int {
		if i < 0 {
			i += int64(rank)
		}
		return int(min(max(i, 0), int64(rank)))
	}
	start, end := 0, rank
	if g.Opset(n) >= 15 {
		start = clamp(n.AttrInt("start", 0))
		end = clamp(n.AttrInt("end", int64(rank)))
	}
	dims := []int64{}
	for i := start; i < end; i++ {
		dims = append(dims, int64(in.Shape[i]))
	}
	return []*ir.Tensor{ir.Int64s(ir.Shape{len(dims)}, dims)}, nil
}

// noOp reports whether n, by its inferred types, returns its first input
// unchanged as its first output, and has no other output anyone reads.
func noOp(g *ir.Graph, users map[*ir.Value][]*ir.Node, n *ir.Node) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" || len(n.Inputs) == 0 || len(n.Outputs) == 0 {
		return false
	}
	in, out := n.Inputs[0], n.Outputs[0]
	if in == nil || out == nil || !sameType(in, out) {
		return false
	}
	for _, extra := range n.Outputs[1:] {
		if extra != nil && (g.IsOutput(extra) || len(users[extra]) > 0) {
			return false
		}
	}
	switch n.Op {
	case "Identity", "Reshape", "Flatten", "Expand", "Squeeze", "Unsqueeze", "Cast":
		return true
	case "Dropout":
		// Only inference mode is the identity: training_mode (opset 12+,
		// input 2) must be absent or constant false.
		mode := n.Input(2)
		return mode == nil || mode.IsConst() && mode.Const.Len() == 1 && mode.Const.Float(0) == 0
	}
	return false
}

// RemoveIdentity removes ops that return their input unchanged: Identity,
// Dropout in inference mode, and Reshape, Flatten, Squeeze, Unsqueeze,
// Expand or Cast whose output has the input's dtype and shape. Readers of
// the output read the input instead. When the output is a graph output, the
// input's producer writes it directly (keeping the graph's output names);
// when that is impossible (the input is a graph input, a constant or
// another graph output) the op stays. It assumes inferred shapes.
func RemoveIdentity(g *ir.Graph) error {
	dead := map[*ir.Node]bool{}
	producers, users := g.Producers(), g.Users()
	for _, n := range g.Nodes {
		if !noOp(g, users, n) {
			continue
		}
		in, out := n.Inputs[0], n.Outputs[0]
		if !g.IsOutput(out) {
			g.ReplaceUses(out, in)
			dead[n] = true
			continue
		}
		p := producers[in]
		if p == nil || g.IsOutput(in) {
			continue
		}
		// The producer writes the graph output itself.
		for i, o := range p.Outputs {
			if o == in {
				p.Outputs[i] = out
			}
		}
		g.ReplaceUses(in, out)
		producers[out] = p
		delete(producers, in)
		dead[n] = true
	}
	removeNodes(g, dead)
	return nil
}

// EliminateDeadCode removes nodes none of whose outputs is read by a live
// node or is a graph output, walking backwards so whole dead chains go in
// one sweep (it assumes sorted nodes). Constants only exist while a node
// reads them, so constants that become unused vanish with their readers.
func EliminateDeadCode(g *ir.Graph) error {
	live := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	dead := map[*ir.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, o := range n.Outputs {
			if o != nil && live[o] {
				used = true
				break
			}
		}
		if !used {
			dead[n] = true
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				live[in] = true
			}
		}
	}
	removeNodes(g, dead)
	return nil
}
