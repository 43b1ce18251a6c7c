package codegen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
)

// invertedResidual is a chain of tsmc.Conv nodes that runtime.
// InvertedResidual runs as one operation: an expansion (a pointwise
// convolution in MobileNetV2's blocks, the stem before the first; or
// none), a 3x3 depthwise convolution and a pointwise projection, each
// intermediate read by the next node only.
type invertedResidual struct {
	expand, dw, project *ir.Node // expand is nil for none
}

// fuseMinBytes is the size of the expanded tensor (the depthwise input or,
// without an expansion, its output) from which a block is fused: below
// it the tensors stay in the L2 cache anyway, and three operations
// parallelise better over channels than one over rows. Measured on the
// online MobileNetV2 (Zen 5, one frame): fusing its 28x28 blocks (602 KB
// expanded) took 4.43-4.65 ms a frame at 2 threads against 4.70-5.06
// unfused, and the same at 1 thread; fusing the 14x14 ones too was slower.
const fuseMinBytes = 512 << 10

// findInvertedResiduals returns the fusable chains of g, keyed by the
// index of their projection (where the block runs: every input of the
// chain is computed by then), and the indices of the chains' other nodes.
func findInvertedResiduals(g *ir.Graph) (map[int]*invertedResidual, map[int]bool) {
	index := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		index[n] = i
	}
	producers := g.Producers()
	consumers := map[*ir.Value]int{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil {
				consumers[v]++
			}
		}
	}
	// onlyInto reports that v is read once, by a node, and is not a graph
	// output: the chain may keep it to itself.
	onlyInto := func(v *ir.Value) bool { return consumers[v] == 1 && !g.IsOutput(v) }
	conv := func(v *ir.Value) *ir.Node {
		if n := producers[v]; v != nil && n != nil && n.OpName() == ops.Domain+"."+ops.OpConv {
			return n
		}
		return nil
	}
	blocks, inner := map[int]*invertedResidual{}, map[int]bool{}
	for i, n := range g.Nodes {
		if n.OpName() != ops.Domain+"."+ops.OpConv || n.Input(4) != nil || hasShift(n) {
			continue
		}
		dw := conv(n.Input(0))
		if dw == nil || !onlyInto(n.Input(0)) || dw.Input(3) != nil || len(dw.Outputs) != 1 {
			continue
		}
		b := &invertedResidual{dw: dw, project: n}
		if e := conv(dw.Input(0)); e != nil && onlyInto(dw.Input(0)) && e.Input(3) == nil && !hasShift(dw) && dw.Input(4) == nil && len(e.Outputs) == 1 {
			b.expand = e
		}
		if !b.shapesFit() && b.expand != nil {
			b.expand = nil // maybe the depthwise and projection alone
		}
		if !b.shapesFit() || b.expandedBytes() < fuseMinBytes {
			continue
		}
		blocks[i] = b
		inner[index[dw]] = true
		if b.expand != nil {
			inner[index[b.expand]] = true
		}
	}
	return blocks, inner
}

// hasShift reports whether the tsmc.Conv n reads its input through a
// shift (an error counts as one: lowerConv reports it).
func hasShift(n *ir.Node) bool {
	_, shifted, err := ops.ShiftOf(n)
	return shifted || err != nil
}

// convShapeOK is convShape's shape, and false where it has none
// (lowerConv reports why).
func convShapeOK(n *ir.Node) (runtime.ConvShape, bool) {
	cs, err := convShape(n)
	return cs, err == nil
}

// shapesFit reports whether the runtime takes the chain's shapes.
func (b *invertedResidual) shapesFit() bool {
	d, ok1 := convShapeOK(b.dw)
	pr, ok2 := convShapeOK(b.project)
	if !ok1 || !ok2 {
		return false
	}
	var es *runtime.ConvShape
	if b.expand != nil {
		e, ok := convShapeOK(b.expand)
		if !ok {
			return false
		}
		es = &e
	}
	return runtime.CheckInvertedResidual(es, d, pr) == nil
}

// expandedBytes is the size of the block's widest intermediate.
func (b *invertedResidual) expandedBytes() int {
	return 4 * b.dw.Input(0).Shape.Size()
}

// lowerInvertedResidual lowers a fused chain at the index i of its
// projection: the three convolutions planned as usual, run by one
// runtime.InvertedResidual that reads the chain's input through a row
// table (with the first node's shift and state) and writes the
// projection's output; the intermediates get no arena space.
func (p *program) lowerInvertedResidual(b *invertedResidual, i int) (*step, error) {
	first := b.dw
	if b.expand != nil {
		first = b.expand
	}
	var specs []*convSpec
	for _, n := range []*ir.Node{b.expand, b.dw, b.project} {
		if n == nil {
			specs = append(specs, nil)
			continue
		}
		c, err := p.convSpec(n)
		if err != nil {
			return nil, err
		}
		specs = append(specs, c)
	}
	fs := specs[1]
	if b.expand != nil {
		fs = specs[0]
	}
	ins, out, err := p.operands(b.project, i, first.Input(0), b.project.Input(3), first.Input(4))
	if err != nil {
		return nil, err
	}
	xs, residual, state := ins[0], ins[1], ins[2]
	if residual != nil && residual.size != out.size {
		return nil, b.project.Errorf("residual has %d floats, the output %d", residual.size, out.size)
	}
	if state != nil && fs.shift == nil {
		return nil, first.Errorf("has a shift state input but no shift")
	}
	st := &step{}
	cs := fs.cs
	rows, err := p.newRowTable(st, first, i, xs, cs.Frames, cs.Cin, cs.H*cs.W, fs.shift, state)
	if err != nil {
		return nil, err
	}
	names := [3]string{fmt.Sprintf("conv%dExpand", i), fmt.Sprintf("conv%dDW", i), fmt.Sprintf("conv%dProject", i)}
	block := fmt.Sprintf("block%d", i)
	for k, c := range specs {
		if c != nil {
			st.fields = append(st.fields, jen.Id(names[k]).Add(c.field()))
		}
	}
	st.fields = append(st.fields, jen.Id(block).Op("*").Qual(rt, "InvertedResidual"))
	st.setup = func(e *emitter) []jen.Code {
		var code []jen.Code
		args := []jen.Code{jen.Nil(), mfield(names[1]), mfield(names[2])}
		for k, c := range specs {
			if c == nil {
				continue
			}
			n := []*ir.Node{b.expand, b.dw, b.project}[k]
			code = append(code, jen.List(mfield(names[k]), jen.Err()).Op("=").Add(c.newCall(e)), errCheck(n))
			args[k] = mfield(names[k])
		}
		code = append(code,
			jen.List(mfield(block), jen.Err()).Op("=").Qual(rt, "NewInvertedResidual").Call(args...),
			errCheck(b.project))
		return append(code, rows.setup(e, cs.Frames, cs.Cin)...)
	}
	st.run = func(e *emitter) []jen.Code {
		return append(rows.run(e), mfield(block).Dot("Run").Call(e.pool(), mfield(rows.name), e.slice(out), e.sliceOrNil(residual)))
	}
	return st, nil
}
