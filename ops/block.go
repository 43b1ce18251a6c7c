package ops

import (
	"strings"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// OpInvertedResidual is MobileNetV2's block as one op: an optional
// expansion convolution (a pointwise one, or the stem before the first
// block), a 3x3 depthwise convolution and a pointwise projection, run band
// by band so the expanded tensor never leaves the cache. Inputs (X, We,
// Be, Wd, Bd, Wp, Bp, optional residual R, optional shift state S), We and
// Be absent without an expansion, Wp and Bp (and R) absent without a
// projection (the expansion and depthwise convolution of a block whose
// squeeze-and-excitation reads the depthwise output; one of the two must
// be there); output project(dw(expand(X))) + R. Each
// stage's tsmc.Conv attributes are stored with its stage's prefix
// ("expand.strides", "depthwise.activation", ...); the block's shift, read
// by its first stage, keeps the plain "segments" and "shift".
const OpInvertedResidual = "InvertedResidual"

// OpQInvertedResidual is the quantised block: tsmc.InvertedResidual's
// inputs and attribute scheme with tsmc.QConv stages (their attributes
// under the stage prefixes, "expand.x_scale", ...), the expansion
// optional, the projection not; output project(dw(expand(X))) with the
// projection's fused residual add. It runs band by band on the int8
// kernels, to the bytes of the three tsmc.QConv.
const OpQInvertedResidual = "QInvertedResidual"

// Input slots of tsmc.InvertedResidual.
const (
	BlockX = iota
	BlockExpandW
	BlockExpandB
	BlockDepthwiseW
	BlockDepthwiseB
	BlockProjectW
	BlockProjectB
	BlockResidual
	BlockState
)

// Stage prefixes of a tsmc.InvertedResidual's attributes.
var blockStageNames = [3]string{"expand", "depthwise", "project"}

func blockDefs() []*Def {
	return []*Def{
		{Domain: Domain, Op: OpInvertedResidual, Infer: inferBlock, MACs: blockMACs, Params: true, Lower: lowerBlock},
		{Domain: Domain, Op: OpQInvertedResidual, Infer: inferBlock, MACs: blockMACs, Params: true, Quantized: true, Int8: true, Lower: lowerQBlock},
	}
}

// BlockAttrs stores the attributes of the tsmc.Conv stages (expand may be
// nil) on the block node b.
func BlockAttrs(b, expand, dw, project *ir.Node) {
	for k, st := range []*ir.Node{expand, dw, project} {
		if st == nil {
			continue
		}
		for name, a := range st.Attrs {
			if name == "segments" || name == "shift" {
				b.SetAttr(name, a)
				continue
			}
			b.SetAttr(blockStageNames[k]+"."+name, a)
		}
	}
}

// BlockStages returns the stages of the tsmc.InvertedResidual n as
// tsmc.Conv nodes (of a tsmc.QInvertedResidual, tsmc.QConv nodes; the
// expansion nil when there is none), chained through intermediate values
// typed by the stage op's shape rule.
func BlockStages(n *ir.Node) ([3]*ir.Node, error) {
	var st [3]*ir.Node
	stageOp, infer := OpConv, inferFusedConv
	if n.Op == OpQInvertedResidual {
		stageOp, infer = OpQConv, inferQConv
	}
	if len(n.Inputs) < BlockProjectB+1 || len(n.Inputs) > BlockState+1 {
		return st, n.Errorf("needs inputs (X, We, Be, Wd, Bd, Wp, Bp, optional residual, optional shift state)")
	}
	x := n.Input(BlockX)
	for k, slots := range [3][2]int{{BlockExpandW, BlockExpandB}, {BlockDepthwiseW, BlockDepthwiseB}, {BlockProjectW, BlockProjectB}} {
		w, b := n.Input(slots[0]), n.Input(slots[1])
		if w == nil {
			if k != 1 && b == nil {
				continue
			}
			return st, n.Errorf("stage %s has no weights", blockStageNames[k])
		}
		s := &ir.Node{Name: n.Name + "/" + blockStageNames[k], Op: stageOp, Domain: Domain, Inputs: []*ir.Value{x, w, b},
			Outputs: []*ir.Value{{Name: n.Name + "/" + blockStageNames[k]}}}
		prefix := blockStageNames[k] + "."
		for name, a := range n.Attrs {
			if rest, ok := strings.CutPrefix(name, prefix); ok {
				s.SetAttr(rest, a)
			}
		}
		first := st[0] == nil && k <= 1
		if first {
			if a, ok := n.Attrs["shift"]; ok {
				s.SetAttr("shift", a)
				s.SetAttr("segments", n.Attrs["segments"])
			}
			if state := n.Input(BlockState); state != nil {
				s.Inputs = append(s.Inputs, nil, state)
			}
		}
		if k == 2 {
			if r := n.Input(BlockResidual); r != nil {
				s.Inputs = append(s.Inputs, r)
			}
		}
		if err := infer(nil, s); err != nil {
			return st, n.Errorf("stage %s: %v", blockStageNames[k], err)
		}
		st[k], x = s, s.Outputs[0]
	}
	if st[2] == nil && (st[0] == nil || n.Input(BlockResidual) != nil) {
		return st, n.Errorf("a block without a projection needs an expansion and takes no residual")
	}
	if st[2] == nil && stageOp == OpQConv {
		return st, n.Errorf("a quantised block needs a projection")
	}
	return st, nil
}

// BlockOutput is the last of a block's stages (BlockStages): the
// projection, or the depthwise convolution of a block without one.
func BlockOutput(st [3]*ir.Node) *ir.Node {
	if st[2] != nil {
		return st[2]
	}
	return st[1]
}

// inferBlock types the block's output as its last stage's.
func inferBlock(_ *ir.InferContext, n *ir.Node) error {
	st, err := BlockStages(n)
	if err != nil {
		return err
	}
	y := BlockOutput(st).Outputs[0]
	setOutput(n, 0, y.DType, y.Shape)
	return nil
}

// blockMACs sums its stages'.
func blockMACs(n *ir.Node) int64 {
	st, err := BlockStages(n)
	if err != nil {
		return 0
	}
	var macs int64
	for _, s := range st {
		if s != nil {
			macs += convMACs(s)
		}
	}
	return macs
}

// lowerBlock plans the stages' convolutions as usual and runs them as one
// runtime.InvertedResidual that reads X through a row table (with the
// first stage's shift and state) and writes the projection's output; the
// intermediates get no memory.
func lowerBlock(l Lowering, n *ir.Node) error {
	st, err := BlockStages(n)
	if err != nil {
		return err
	}
	var plans [3]*convPlan
	for k, s := range st {
		if s == nil {
			continue
		}
		if plans[k], err = planConv(l, s, false); err != nil {
			return err
		}
	}
	x, residual, state, out, err := blockOperands(l, n)
	if err != nil {
		return err
	}
	first := plans[1]
	if plans[0] != nil {
		first = plans[0]
	}
	rows, err := first.rows(l, n, x, state)
	if err != nil {
		return err
	}
	args := []any{nil, nil, nil}
	w := tunerun.Workload{Op: tunerun.OpBlock, Residual: residual != nil, State: state != nil}
	var acts []string
	for k, hint := range []string{"expand", "depthwise", "project"} {
		if plans[k] == nil {
			acts = append(acts, runtime.Act{}.String())
			continue
		}
		args[k] = plans[k].object(l, hint, nil)
		acts = append(acts, plans[k].act.String())
		cs := plans[k].cs.Normalized()
		switch k {
		case 0:
			w.Expand = &cs
		case 1:
			w.Shape = &cs
		case 2:
			w.Project = &cs
		}
	}
	w.Act = strings.Join(acts, ";")
	if first.shift != nil {
		ts := first.shift.runtime()
		w.Shift = &ts
	}
	ctor := "NewInvertedResidual"
	if tuned, ok := l.Tuned(w); ok {
		ctor = "NewInvertedResidualPlan"
		args = append(args, PlanFor{tuned})
	}
	block := l.Object("block", "InvertedResidual", ctor, args...)
	l.Run(Method(block, "Run", Pool, rows, out, residual))
	return nil
}

// blockOperands returns the run-time operands of the block n, float32 or
// quantised: its input, residual and shift state (nil when absent) and
// its output.
func blockOperands(l Lowering, n *ir.Node) (x, residual, state, out Buf, err error) {
	if x, err = l.In(BlockX); err != nil {
		return
	}
	if residual, err = l.In(BlockResidual); err != nil {
		return
	}
	if state, err = l.In(BlockState); err != nil {
		return
	}
	if out, err = l.Out(0); err != nil {
		return
	}
	if residual != nil && residual.Len() != out.Len() {
		err = n.Errorf("residual has %d values, the output %d", residual.Len(), out.Len())
	}
	return
}

// lowerQBlock plans the stages' quantised convolutions as lowerQConv
// does and runs them as one runtime.QInvertedResidual that reads X
// through a row table (with the first stage's shift and state) and
// writes the projection's output; the intermediates get no memory.
func lowerQBlock(l Lowering, n *ir.Node) error {
	st, err := BlockStages(n)
	if err != nil {
		return err
	}
	var plans [3]*qconvPlan
	for k, s := range st {
		if s == nil {
			continue
		}
		spec, err := QuantSpecOf(s)
		if err != nil {
			return err
		}
		cs, nd, err := convShapes(s)
		if err != nil {
			return err
		}
		if nd != nil {
			return s.Errorf("a quantised %d-D convolution that is not a 2-D one is not supported", len(nd.In))
		}
		if plans[k], err = planQConv(l, s, cs, s.Input(ConvW), s.Input(ConvB), spec); err != nil {
			return err
		}
		if plans[k].depthwise != (k == 1) {
			return s.Errorf("stage %s of a quantised block must be %s", blockStageNames[k], map[bool]string{true: "depthwise", false: "a convolution of one group"}[k == 1])
		}
	}
	x, residual, state, out, err := blockOperands(l, n)
	if err != nil {
		return err
	}
	first, firstNode := plans[1], st[1]
	if plans[0] != nil {
		first, firstNode = plans[0], st[0]
	}
	rows, err := qconvRows(l, firstNode, first, x, state)
	if err != nil {
		return err
	}
	args := []any{nil, plans[1].object(l), plans[2].object(l)}
	if plans[0] != nil {
		args[0] = plans[0].object(l)
	}
	block := l.Object("qblock", "QInvertedResidual", "NewQInvertedResidual", args...)
	l.Run(Method(block, "Run", Pool, rows, out, residual))
	return nil
}

// ShiftState returns the activation a node reads through a stateful
// shift and the state it reads, or nils: tsmc.TemporalShift, tsmc.Conv,
// tsmc.QConv and tsmc.InvertedResidual take one.
func ShiftState(n *ir.Node) (x, state *ir.Value) {
	if n.Domain != Domain {
		return nil, nil
	}
	switch n.Op {
	case OpTemporalShift:
		return n.Input(0), n.Input(1)
	case OpConv, OpQConv:
		return n.Input(ConvX), n.Input(ConvState)
	case OpInvertedResidual, OpQInvertedResidual:
		return n.Input(BlockX), n.Input(BlockState)
	}
	return nil, nil
}
