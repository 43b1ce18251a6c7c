package passes

import (
	"math"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// Activations after convolutions and standalone: the single ops a fused
// epilogue replaces, and SiLU and HardSwish as exporters spell them, a
// Mul of x and a gate of x (torch.onnx writes nn.SiLU as x·Sigmoid(x)
// and, before opset 14, nn.Hardswish as x·HardSigmoid(x; 1/6, 1/2)).

// activationOf returns the epilogue attributes equivalent to act, a Relu,
// a Clip with constant bounds, a Sigmoid, a HardSigmoid or a HardSwish;
// ok is false for anything else.
func activationOf(g *ir.Graph, act *ir.Node) (attrs map[string]ir.Attr, ok bool) {
	switch {
	case isOp(act, "Relu"):
		return map[string]ir.Attr{"activation": newStringAttr(ops.ActRelu)}, true
	case isOp(act, "Sigmoid"):
		return map[string]ir.Attr{"activation": newStringAttr(ops.ActSigmoid)}, true
	case isOp(act, "HardSigmoid"):
		return hardAttrs(ops.ActHardSigmoid, act), true
	case isOp(act, "HardSwish"): // ONNX HardSwish: no parameters
		return map[string]ir.Attr{"activation": newStringAttr(ops.ActHardSwish)}, true
	case isOp(act, "Clip"):
	default:
		return nil, false
	}
	var lo, hi float32
	if g.Opset(act) < 11 {
		lo = act.AttrFloat("min", -math.MaxFloat32)
		hi = act.AttrFloat("max", math.MaxFloat32)
	} else {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		for i, bound := range []*float32{&lo, &hi} {
			v := act.Input(i + 1)
			if v == nil {
				continue
			}
			f, known := scalarConst(v)
			if !known {
				return nil, false
			}
			*bound = f
		}
	}
	return map[string]ir.Attr{
		"activation": newStringAttr(ops.ActClip),
		"clip_min":   newFloatAttr(lo),
		"clip_max":   newFloatAttr(hi),
	}, true
}

// hardAttrs returns the attributes of activation kind (hardsigmoid or
// hardswish) with the alpha and beta of the HardSigmoid node hs (ONNX's
// defaults 0.2 and 0.5 when absent).
func hardAttrs(kind string, hs *ir.Node) map[string]ir.Attr {
	return map[string]ir.Attr{
		"activation": newStringAttr(kind),
		"act_alpha":  newFloatAttr(hs.AttrFloat("alpha", 0.2)),
		"act_beta":   newFloatAttr(hs.AttrFloat("beta", 0.5)),
	}
}

// gatedMul matches mul as x·G(x), its operands in either order: G a
// Sigmoid or a HardSigmoid of x whose output mul alone reads, all of one
// float32 type. It returns G, x and the activation attributes of the
// product (silu, or hardswish with G's alpha and beta).
func gatedMul(g *ir.Graph, producers map[*ir.Value]*ir.Node, users map[*ir.Value][]*ir.Node, mul *ir.Node) (gate *ir.Node, x *ir.Value, attrs map[string]ir.Attr, ok bool) {
	if !isOp(mul, "Mul") || len(mul.Inputs) != 2 || len(mul.Outputs) != 1 {
		return nil, nil, nil, false
	}
	for i, v := range mul.Inputs {
		gate, x = producers[v], mul.Inputs[1-i]
		if gate == nil || len(gate.Inputs) != 1 || gate.Input(0) != x || x == nil || soleReader(g, users, v) != mul {
			continue
		}
		if x.DType != ir.Float32 || !sameType(v, x) || !sameType(mul.Outputs[0], x) {
			continue
		}
		switch {
		case isOp(gate, "Sigmoid"):
			return gate, x, map[string]ir.Attr{"activation": newStringAttr(ops.ActSiLU)}, true
		case isOp(gate, "HardSigmoid"):
			return gate, x, hardAttrs(ops.ActHardSwish, gate), true
		}
	}
	return nil, nil, nil, false
}

// fuseActivationAfter fuses into conv the activation of its output that
// nothing else reads: one node activationOf knows, or x·G(x) (gatedMul)
// whose two nodes are the output's only readers. It returns the absorbed
// nodes, nil when nothing fused.
func fuseActivationAfter(g *ir.Graph, users map[*ir.Value][]*ir.Node, conv *ir.Node) []*ir.Node {
	y := conv.Outputs[0]
	if conv.AttrString("activation", ops.ActNone) != ops.ActNone || g.IsOutput(y) {
		return nil
	}
	var absorbed []*ir.Node
	var attrs map[string]ir.Attr
	if act := soleReader(g, users, y); act != nil && act.Input(0) == y && len(act.Outputs) == 1 {
		a, ok := activationOf(g, act)
		if !ok {
			return nil
		}
		absorbed, attrs = []*ir.Node{act}, a
	} else if readers := users[y]; len(readers) == 2 {
		producers := map[*ir.Value]*ir.Node{}
		for _, r := range readers {
			producers[r.Outputs[0]] = r
		}
		for _, mul := range readers {
			if gate, x, a, ok := gatedMul(g, producers, users, mul); ok && x == y && gate != mul {
				absorbed, attrs = []*ir.Node{gate, mul}, a
				break
			}
		}
	}
	if absorbed == nil {
		return nil
	}
	out := absorbed[len(absorbed)-1].Outputs[0]
	if !sameType(out, y) {
		return nil
	}
	for k, a := range attrs {
		conv.SetAttr(k, a)
	}
	conv.Outputs[0] = out
	return absorbed
}

// FuseGatedActivation turns each x·Sigmoid(x) and x·HardSigmoid(x) (see
// gatedMul) left after the convolution fusions into one tsmc.Activation
// in the Mul's place: silu, or hardswish with the HardSigmoid's alpha and
// beta, which computes what the two ops did in one pass. It assumes
// inferred shapes and sorted nodes.
func FuseGatedActivation(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for i, n := range g.Nodes {
		if dead[n] {
			continue
		}
		gate, x, attrs, ok := gatedMul(g, producers, users, n)
		if !ok {
			continue
		}
		g.Nodes[i] = &ir.Node{Name: n.Name, Op: ops.OpActivation, Domain: ops.Domain, Inputs: []*ir.Value{x}, Outputs: n.Outputs, Attrs: attrs}
		dead[gate] = true
	}
	removeNodes(g, dead)
	return nil
}
