package ops

import (
	"github.com/tsmc-go/tsmc/ir"
)

// Normalisations other than BatchNormalization (elementwise.go), which
// passes fold into convolutions.

func normDefs() []*Def {
	return []*Def{
		{Op: "InstanceNormalization", Infer: inferInstanceNorm, Params: true, Lower: lowerInstanceNorm},
		{Op: "LayerNormalization", Infer: since(17, inferLayerNorm), Params: true, Lower: lowerLayerNorm},
	}
}

// inferInstanceNorm: Y has the input's type (N x C x spatial).
func inferInstanceNorm(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 3 {
		return n.Errorf("input %v must be N x C x spatial, has shape %v", x, x.Shape)
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

// inferLayerNorm: Y has X's type; the optional Mean and InvStdDev keep X's
// rank with size 1 from axis on, in stash_type's dtype (float32 only).
func inferLayerNorm(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 3, 1, 3); err != nil {
		return err
	}
	x := n.Inputs[0]
	axis, err := normAxis(n, n.AttrInt("axis", -1), len(x.Shape), "axis")
	if err != nil {
		return err
	}
	if stash := n.AttrInt("stash_type", 1); stash != 1 {
		return n.Errorf("stash_type %d is not supported (only 1, float32)", stash)
	}
	stats := x.Shape[:axis].Clone()
	for range x.Shape[axis:] {
		stats = append(stats, 1)
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	setOutput(n, 1, ir.Float32, stats)
	setOutput(n, 2, ir.Float32, stats.Clone())
	return nil
}

// lowerInstanceNorm runs a runtime.InstanceNorm.
func lowerInstanceNorm(l Lowering, n *ir.Node) error {
	ins, out, err := operands(l, 0, 1, 2)
	if err != nil {
		return err
	}
	in := l.Object("norm", "InstanceNorm", "NewInstanceNorm", []int(n.Input(0).Shape), n.AttrFloat("epsilon", 1e-5))
	l.Run(Method(in, "Run", Pool, ins[0], ins[1], ins[2], out))
	return nil
}

// lowerLayerNorm runs a runtime.LayerNorm, with the optional Mean and
// InvStdDev outputs when they are there.
func lowerLayerNorm(l Lowering, n *ir.Node) error {
	x := n.Input(0).Shape
	axis, err := normAxis(n, n.AttrInt("axis", -1), len(x), "axis")
	if err != nil {
		return err
	}
	inner := x[axis:]
	for k, v := range n.Inputs[1:] {
		if v != nil && !v.Shape.Equal(inner) {
			return n.Errorf("%s %v%v: only a Scale and B of the normalised axes' shape %v are computed", []string{"Scale", "B"}[k], v, v.Shape, inner)
		}
	}
	ins, out, err := operands(l, 0, 1, 2)
	if err != nil {
		return err
	}
	ln := l.Object("norm", "LayerNorm", "NewLayerNorm", []int(x), axis, n.AttrFloat("epsilon", 1e-5))
	if len(n.Outputs) == 1 {
		l.Run(Method(ln, "Run", Pool, ins[0], ins[1], ins[2], out))
		return nil
	}
	stats := []any{nil, nil}
	for k := 1; k < len(n.Outputs); k++ {
		if n.Outputs[k] != nil {
			b, err := l.Out(k)
			if err != nil {
				return err
			}
			stats[k-1] = b
		}
	}
	l.Run(Method(ln, "RunStats", Pool, ins[0], ins[1], ins[2], out, stats[0], stats[1]))
	return nil
}
