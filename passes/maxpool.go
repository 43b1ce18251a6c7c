package passes

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// FuseMaxPool fuses a 2-D MaxPool into the tsmc.Conv whose output only it
// reads (a ResNet's stem and the pool after it): the conv carries the
// pool's window as "pool_kernel", "pool_strides" and "pool_pads" and
// writes the pool's output, so that the runtime can pool each band of the
// convolution's rows while they are in the cache instead of writing the
// whole output to memory and reading it back. The conv must have
// constant weights, no residual or shift state, and run as a GEMM (not
// depthwise); the pool no dilation, ceil mode or indices output.
func FuseMaxPool(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, mp := range g.Nodes {
		if !isOp(mp, "MaxPool") || len(mp.Inputs) != 1 {
			continue
		}
		conv := producers[mp.Inputs[0]]
		pool, ok := fusablePool(mp)
		if !ok || !poolFusable(g, users, conv, mp) {
			continue
		}
		attrs := pool.Attrs()
		for i, name := range ops.PoolAttrNames {
			conv.SetAttr(name, attrs[[]string{"kernel_shape", "strides", "pads"}[i]])
		}
		conv.Outputs[0] = mp.Outputs[0]
		producers[mp.Outputs[0]] = conv
		dead[mp] = true
	}
	removeNodes(g, dead)
	return nil
}

// fusablePool reads the window of the MaxPool n when a tsmc.Conv can
// carry it: two spatial axes, explicit pads, no dilation or ceil mode,
// no indices output read.
func fusablePool(n *ir.Node) (ops.FusedPool, bool) {
	var p ops.FusedPool
	x := n.Inputs[0]
	if len(x.Shape) != 4 || x.DType != ir.Float32 || (len(n.Outputs) > 1 && n.Outputs[1] != nil) ||
		n.AttrInt("ceil_mode", 0) != 0 || n.AttrString("auto_pad", "NOTSET") != "NOTSET" {
		return p, false
	}
	k, _ := n.AttrInts("kernel_shape")
	s, hasS := n.AttrInts("strides")
	pads, hasP := n.AttrInts("pads")
	if !hasS {
		s = []int64{1, 1}
	}
	if !hasP {
		pads = []int64{0, 0, 0, 0}
	}
	if d, ok := n.AttrInts("dilations"); ok && (len(d) != 2 || d[0] != 1 || d[1] != 1) {
		return p, false
	}
	if len(k) != 2 || len(s) != 2 || len(pads) != 4 {
		return p, false
	}
	for i := range 2 {
		p.Kernel[i], p.Strides[i] = int(k[i]), int(s[i])
	}
	for i := range 4 {
		p.Pads[i] = int(pads[i])
		if pads[i] < 0 || pads[i] >= k[i%2] {
			return p, false
		}
	}
	return p, true
}

// poolFusable reports whether conv can take the max pool mp.
func poolFusable(g *ir.Graph, users map[*ir.Value][]*ir.Node, conv, mp *ir.Node) bool {
	if !isTsmc(conv, ops.OpConv) || len(conv.Inputs) != 3 || !conv.Inputs[ops.ConvW].IsConst() ||
		soleReader(g, users, conv.Outputs[0]) != mp || conv.Outputs[0].DType != ir.Float32 {
		return false
	}
	if _, pooled, err := ops.PoolOf(conv); err != nil || pooled {
		return false
	}
	cs, err := ops.ConvShape(conv)
	return err == nil && !ops.Depthwise(cs)
}
