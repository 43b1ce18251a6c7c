package passes

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
)

// FuseInvertedResidual turns chains of tsmc.Conv that the runtime runs as
// one band-by-band block into a tsmc.InvertedResidual: an optional
// expansion (any convolution of one group), a 3x3 depthwise convolution
// and a pointwise projection, each intermediate read by the next stage
// only, the projection with no shift, the depthwise with neither a shift
// nor a residual when there is an expansion. Only blocks whose expanded
// tensor (the depthwise input) reaches the default rules' BlockMinBytes
// and whose frames have BlockMinPixels output pixels are fused
// (runtime.Rules, fitted per CPU): below the first the tensors stay in
// the caches anyway, and three operations parallelise better over
// channels than one over rows; below the second a block's per-frame
// GEMMs are too narrow (a 5x5 frame's 25 pixels fill 78% of a 32-wide
// panel), while its stages run their GEMMs over all frames' pixels. The
// block takes the projection's place in the node order (every input of
// the chain is computed by then).
// An expansion and depthwise convolution left over, whose output other
// nodes read (a squeeze-and-excitation block's pool and scale), become a
// block without a projection in the depthwise convolution's place.
// Chains of tsmc.QConv become a tsmc.QInvertedResidual the same way (with
// a projection always), from runtime.QBlockMinFrameBytes of expanded
// int8 bytes per frame. It assumes inferred shapes and a finished tsmc.Conv epilogue
// and shift.
func FuseInvertedResidual(g *ir.Graph) error {
	producers := g.Producers()
	users := g.Users()
	// only reports that v is read once, by a node, and is not a graph
	// output: the chain may keep it to itself.
	only := func(v *ir.Value) bool { return soleReader(g, users, v) != nil }
	dead := map[*ir.Node]bool{}
	fused := map[*ir.Node]bool{} // stages of a block already
	for _, k := range blockKinds {
		conv := func(v *ir.Value) *ir.Node {
			if n := producers[v]; v != nil && n != nil && isTsmc(n, k.conv) && len(n.Outputs) == 1 {
				return n
			}
			return nil
		}
		for i, project := range g.Nodes {
			if !isTsmc(project, k.conv) || project.Input(ops.ConvState) != nil || project.Input(ops.ConvScale) != nil || hasShift(project) || fused[project] {
				continue
			}
			dw := conv(project.Input(ops.ConvX))
			if dw == nil || !only(project.Input(ops.ConvX)) || dw.Input(ops.ConvResidual) != nil || fused[dw] {
				continue
			}
			var expand *ir.Node
			if e := conv(dw.Input(ops.ConvX)); e != nil && only(dw.Input(ops.ConvX)) && e.Input(ops.ConvResidual) == nil &&
				!hasShift(dw) && dw.Input(ops.ConvState) == nil && !fused[e] {
				expand = e
			}
			if !blockFits(expand, dw, project) && expand != nil {
				expand = nil // maybe the depthwise and projection alone
			}
			if !blockFits(expand, dw, project) || !k.large(dw) {
				continue
			}
			first := dw
			if expand != nil {
				first = expand
			}
			b := &ir.Node{
				Name: project.Name, Op: k.block, Domain: ops.Domain,
				Inputs: []*ir.Value{
					first.Input(ops.ConvX), nil, nil,
					dw.Input(ops.ConvW), dw.Input(ops.ConvB),
					project.Input(ops.ConvW), project.Input(ops.ConvB),
					project.Input(ops.ConvResidual), first.Input(ops.ConvState),
				},
				Outputs: project.Outputs,
			}
			if expand != nil {
				b.Inputs[ops.BlockExpandW], b.Inputs[ops.BlockExpandB] = expand.Input(ops.ConvW), expand.Input(ops.ConvB)
				dead[expand], fused[expand] = true, true
			}
			for len(b.Inputs) > ops.BlockProjectB+1 && b.Inputs[len(b.Inputs)-1] == nil {
				b.Inputs = b.Inputs[:len(b.Inputs)-1]
			}
			ops.BlockAttrs(b, expand, dw, project)
			dead[dw], fused[dw], fused[project] = true, true, true
			g.Nodes[i] = b
		}
	}
	conv := func(v *ir.Value) *ir.Node {
		if n := producers[v]; v != nil && n != nil && isTsmc(n, ops.OpConv) && len(n.Outputs) == 1 {
			return n
		}
		return nil
	}
	for i, dw := range g.Nodes {
		if !isTsmc(dw, ops.OpConv) || fused[dw] || dw.Input(ops.ConvResidual) != nil || hasShift(dw) || dw.Input(ops.ConvState) != nil {
			continue
		}
		expand := conv(dw.Input(ops.ConvX))
		if expand == nil || fused[expand] || !only(dw.Input(ops.ConvX)) || expand.Input(ops.ConvResidual) != nil ||
			!blockFits(expand, dw, nil) || !floatBlockPays(dw) {
			continue
		}
		b := &ir.Node{
			Name: dw.Name, Op: ops.OpInvertedResidual, Domain: ops.Domain,
			Inputs: []*ir.Value{expand.Input(ops.ConvX), expand.Input(ops.ConvW), expand.Input(ops.ConvB),
				dw.Input(ops.ConvW), dw.Input(ops.ConvB), nil, nil, nil, expand.Input(ops.ConvState)},
			Outputs: dw.Outputs,
		}
		for len(b.Inputs) > ops.BlockProjectB+1 && b.Inputs[len(b.Inputs)-1] == nil {
			b.Inputs = b.Inputs[:len(b.Inputs)-1]
		}
		ops.BlockAttrs(b, expand, dw, nil)
		dead[expand], fused[expand], fused[dw] = true, true, true
		g.Nodes[i] = b
	}
	removeNodes(g, dead)
	return nil
}

// blockKinds are the blocks FuseInvertedResidual makes: of tsmc.Conv
// stages and of tsmc.QConv stages.
var blockKinds = []struct {
	conv, block string
	large       func(dw *ir.Node) bool // whether the chain around the depthwise convolution is large enough to fuse
}{
	{ops.OpConv, ops.OpInvertedResidual, floatBlockPays},
	{ops.OpQConv, ops.OpQInvertedResidual, func(dw *ir.Node) bool {
		e := dw.Input(ops.ConvX)
		return e.Shape[2:].Size()*e.Shape[1] >= runtime.QBlockMinFrameBytes
	}},
}

// floatBlockPays reports whether the float32 chain around the depthwise
// convolution dw pays as a block by the default rules: its expanded
// tensor of BlockMinBytes, frames of BlockMinPixels output pixels.
func floatBlockPays(dw *ir.Node) bool {
	r := runtime.DefaultRules()
	return 4*dw.Input(ops.ConvX).Shape.Size() >= r.BlockMinBytes && dw.Outputs[0].Shape[2:].Size() >= r.BlockMinPixels
}

// blockFits reports whether the runtime runs the chain's shapes as one
// block (expand or project nil for none).
func blockFits(expand, dw, project *ir.Node) bool {
	d, err := ops.ConvShape(dw)
	if err != nil {
		return false
	}
	shape := func(n *ir.Node) (*runtime.ConvShape, bool) {
		if n == nil {
			return nil, true
		}
		s, err := ops.ConvShape(n)
		return &s, err == nil
	}
	es, ok1 := shape(expand)
	ps, ok2 := shape(project)
	return ok1 && ok2 && runtime.CheckInvertedResidual(es, d, ps) == nil
}
