package passes

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// FuseChannelScale folds the channel scale of a squeeze-and-excitation
// block, Mul(x, g) with g of shape [N, C, 1, 1], into the convolution
// that reads the product: the tsmc.Conv takes g as its channel scale
// input (ops.ConvScale) and scales its packed input panels, so x * g is
// never written out. It applies when the product has no other reader and
// is no graph output, and the convolution can take a scale
// (ops.TakesChannelScale). It assumes inferred shapes and finished
// tsmc.Conv epilogues and shifts.
func FuseChannelScale(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, mul := range g.Nodes {
		if !isOp(mul, "Mul") || len(mul.Inputs) != 2 || len(mul.Outputs) != 1 {
			continue
		}
		y := mul.Outputs[0]
		conv := soleReader(g, users, y)
		if conv == nil || conv.Input(ops.ConvX) != y || !ops.TakesChannelScale(conv) {
			continue
		}
		if !readsOnceAt(conv, y, ops.ConvX) {
			continue
		}
		x, scale, ok := channelScaleOperands(mul)
		if !ok || producers[x] == conv {
			continue
		}
		for len(conv.Inputs) <= ops.ConvScale {
			conv.Inputs = append(conv.Inputs, nil)
		}
		conv.Inputs[ops.ConvX], conv.Inputs[ops.ConvScale] = x, scale
		dead[mul] = true
	}
	removeNodes(g, dead)
	return nil
}

// channelScaleOperands returns the data x [N, C, spatial...] and the
// scale [N, C, 1...] of the float32 Mul n, in either order.
func channelScaleOperands(n *ir.Node) (x, scale *ir.Value, ok bool) {
	for i, v := range n.Inputs {
		x, scale = n.Inputs[1-i], v
		if x == nil || scale == nil || x.DType != ir.Float32 || scale.DType != ir.Float32 || len(x.Shape) < 3 {
			continue
		}
		if !sameType(n.Outputs[0], x) || x.Shape.Equal(scale.Shape) || len(scale.Shape) != len(x.Shape) {
			continue
		}
		match := scale.Shape[0] == x.Shape[0] && scale.Shape[1] == x.Shape[1]
		for _, d := range scale.Shape[2:] {
			match = match && d == 1
		}
		if match {
			return x, scale, true
		}
	}
	return nil, nil, false
}

// readsOnceAt reports whether n reads v at input slot i and nowhere else.
func readsOnceAt(n *ir.Node, v *ir.Value, i int) bool {
	for j, in := range n.Inputs {
		if in == v && j != i {
			return false
		}
	}
	return n.Input(i) == v
}
