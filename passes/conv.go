package passes

import (
	"math"
	"slices"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// FoldBatchNorm folds an inference-mode BatchNormalization into the Conv
// (ONNX or a tsmc.Conv with nothing fused yet) that produces its input,
// when the conv's output has no other reader, the conv's weights and bias
// and the normalisation's parameters are float32 constants. The conv gets
// new constants W' = W*s and B' = (B-mean)*s + beta with s =
// scale/sqrt(var+eps) per output channel (B = 0 when the conv had none),
// and writes the normalisation's output itself. It assumes sorted nodes
// and reads only constant shapes; anything else is left as it was (a
// BatchNormalization after something other than a conv stays).
func FoldBatchNorm(g *ir.Graph) error {
	nm := newNamer(g)
	producers, users := g.Producers(), g.Users()
	dead := map[*ir.Node]bool{}
	for _, bn := range g.Nodes {
		if !isOp(bn, "BatchNormalization") {
			continue
		}
		conv := producers[bn.Input(0)]
		if !foldableConv(conv) || soleReader(g, users, bn.Input(0)) != bn {
			continue
		}
		if readsAny(g, users, bn.Outputs[1:]) {
			continue // training-mode statistics are wanted
		}
		w, b, ok := foldedBatchNorm(bn, conv)
		if !ok {
			continue
		}
		conv.Inputs = []*ir.Value{conv.Inputs[ops.ConvX], nm.constant(conv.Inputs[ops.ConvW].Name+"_bn", w), nm.constant(biasName(conv)+"_bn", b)}
		conv.Outputs[0] = bn.Outputs[0]
		dead[bn] = true
	}
	removeNodes(g, dead)
	return nil
}

// readsAny reports whether any of vs is read by a node or is a graph output.
func readsAny(g *ir.Graph, users map[*ir.Value][]*ir.Node, vs []*ir.Value) bool {
	for _, v := range vs {
		if v != nil && (len(users[v]) > 0 || g.IsOutput(v)) {
			return true
		}
	}
	return false
}

// biasName names a conv's bias after the bias it has, or else after its
// weights ("layer.weight" gives "layer.bias").
func biasName(conv *ir.Node) string {
	if b := conv.Input(ops.ConvB); b != nil {
		return b.Name
	}
	w := conv.Inputs[ops.ConvW].Name
	if base, ok := strings.CutSuffix(w, "weight"); ok {
		return base + "bias"
	}
	return w + "_bias"
}

// foldableConv reports whether n is a convolution with constant float32
// weights (and bias, if any) whose output is nothing but the convolution.
func foldableConv(n *ir.Node) bool {
	switch {
	case isOp(n, "Conv"):
	case isTsmc(n, ops.OpConv):
		if n.AttrString("activation", ops.ActNone) != ops.ActNone || n.Input(ops.ConvResidual) != nil || n.Input(ops.ConvState) != nil {
			return false
		}
		if hasShift(n) {
			return false
		}
	default:
		return false
	}
	if len(n.Outputs) != 1 || n.Input(ops.ConvW) == nil {
		return false
	}
	w := float32Const(n.Inputs[ops.ConvW])
	if w == nil || len(w.Shape) < 3 {
		return false
	}
	if b := n.Input(ops.ConvB); b != nil {
		if bt := float32Const(b); bt == nil || !bt.Shape.Equal(ir.Shape{w.Shape[0]}) {
			return false
		}
	}
	return true
}

// foldedBatchNorm computes the conv weights and bias with bn folded in.
func foldedBatchNorm(bn, conv *ir.Node) (w, b *ir.Tensor, ok bool) {
	if mode := bn.AttrInt("training_mode", 0); mode != 0 || len(bn.Inputs) != 5 {
		return nil, nil, false
	}
	w0 := conv.Inputs[ops.ConvW].Const
	m := w0.Shape[0]
	params := make([]*ir.Tensor, 4) // scale, beta, mean, var
	for i := range params {
		t := float32Const(bn.Inputs[i+1])
		if t == nil || t.Len() != m || len(t.Shape) != 1 {
			return nil, nil, false
		}
		params[i] = t
	}
	scale, beta, mean, variance := params[0], params[1], params[2], params[3]
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	w = w0.Clone()
	b, _ = ir.NewTensor(ir.Float32, ir.Shape{m})
	per := w0.Len() / m
	for o := 0; o < m; o++ {
		s := float64(scale.F32[o]) / math.Sqrt(float64(variance.F32[o])+eps)
		for i := o * per; i < (o+1)*per; i++ {
			w.F32[i] = float32(float64(w0.F32[i]) * s)
		}
		bias := 0.0
		if cb := conv.Input(ops.ConvB); cb != nil {
			bias = float64(cb.Const.F32[o])
		}
		b.F32[o] = float32((bias-float64(mean.F32[o]))*s + float64(beta.F32[o]))
	}
	return w, b, true
}

// FuseActivation turns every ONNX Conv into tsmc.Conv (explicit pads,
// kernel_shape, and a bias input, zeros when the model had none), then
// fuses the activation that alone reads a conv's output into the conv's
// epilogue: a Relu, a Clip with constant bounds (attribute form before
// opset 11, input form after), a Sigmoid, a HardSigmoid, a HardSwish, or
// SiLU and HardSwish spelled as x·Sigmoid(x) and x·HardSigmoid(x)
// (fuseActivationAfter). It assumes inferred shapes; a Conv whose weight
// shape is unknown is an error.
func FuseActivation(g *ir.Graph) error {
	nm := newNamer(g)
	for _, n := range g.Nodes {
		if isOp(n, "Conv") {
			if err := lowerConv(n, nm); err != nil {
				return err
			}
		}
	}
	users := g.Users()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if isTsmc(n, ops.OpConv) && !dead[n] {
			for _, act := range fuseActivationAfter(g, users, n) {
				dead[act] = true
			}
		}
	}
	removeNodes(g, dead)
	return nil
}

// lowerConv rewrites an ONNX Conv in place as a tsmc.Conv.
func lowerConv(n *ir.Node, nm *namer) error {
	x, w := n.Input(ops.ConvX), n.Input(ops.ConvW)
	attrs, err := convGeometry(n, x, w)
	if err != nil {
		return err
	}
	b := n.Input(ops.ConvB)
	if b == nil {
		zeros, err := ir.NewTensor(w.DType, ir.Shape{w.Shape[0]})
		if err != nil {
			return n.Errorf("bias: %v", err)
		}
		b = nm.constant(biasName(n), zeros)
	}
	n.Domain = ops.Domain
	n.Inputs = []*ir.Value{x, w, b}
	n.Attrs = attrs
	return nil
}

// convGeometry is the window of a convolution of x by w (n's attributes)
// as tsmc's convolutions take it: explicit pads, kernel_shape, strides,
// dilations and group.
func convGeometry(n *ir.Node, x, w *ir.Value) (map[string]ir.Attr, error) {
	if x == nil || w == nil {
		return nil, n.Errorf("conv needs inputs X and W")
	}
	if !w.Shape.Known() || len(w.Shape) < 3 || !x.Shape.Known() || len(x.Shape) != len(w.Shape) {
		return nil, n.Errorf("conv weight %v%v or input %v%v has no usable static shape", w, w.Shape, x, x.Shape)
	}
	spatial := len(w.Shape) - 2
	kernel := ints64(w.Shape[2:])
	ones := func() []int64 {
		v := make([]int64, spatial)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	strides, ok := n.AttrInts("strides")
	if !ok {
		strides = ones()
	}
	dilations, ok := n.AttrInts("dilations")
	if !ok {
		dilations = ones()
	}
	if len(strides) != spatial || len(dilations) != spatial {
		return nil, n.Errorf("strides %v or dilations %v do not match %d spatial dims", strides, dilations, spatial)
	}
	pads, err := ops.Pads(n, x.Shape, w.Shape[2:])
	if err != nil {
		return nil, err
	}
	return map[string]ir.Attr{
		"strides":      newIntsAttr(strides...),
		"dilations":    newIntsAttr(dilations...),
		"pads":         newIntsAttr(ints64(pads)...),
		"kernel_shape": newIntsAttr(kernel...),
		"group":        newIntAttr(n.AttrInt("group", 1)),
	}, nil
}

// FuseResidualAdd fuses Add(conv, R) into the conv's epilogue when conv is
// a tsmc.Conv with no activation or residual yet whose output only the Add
// reads, and R has the Add's dtype and shape (no broadcasting): the conv
// takes R as its residual input and writes the Add's output. An
// activation that then alone reads the result fuses after it as in
// FuseActivation (bias, residual, activation, in that order). When both operands qualify, the conv that
// comes later in node order is chosen, so R is already computed. Nodes are
// re-sorted when the residual is computed after the conv. It assumes
// fuse-activation has made the convs tsmc.Conv and inferred shapes.
func FuseResidualAdd(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	order := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		order[n] = i
	}
	dead := map[*ir.Node]bool{}
	resort := false
	for _, add := range g.Nodes {
		if !isOp(add, "Add") || len(add.Inputs) != 2 || dead[add] {
			continue
		}
		var conv *ir.Node
		var residual *ir.Value
		for i, v := range add.Inputs {
			c, r := producers[v], add.Inputs[1-i]
			if !residualFusable(g, users, c, add) || r == nil || !sameType(r, add.Outputs[0]) || r == v {
				continue
			}
			if conv == nil || order[c] > order[conv] {
				conv, residual = c, r
			}
		}
		if conv == nil {
			continue
		}
		if p := producers[residual]; p != nil && order[p] > order[conv] {
			resort = true
		}
		conv.Inputs = append(conv.Inputs[:ops.ConvResidual], residual)
		conv.Outputs[0] = add.Outputs[0]
		producers[add.Outputs[0]] = conv
		dead[add] = true
		if absorbed := fuseActivationAfter(g, users, conv); absorbed != nil {
			producers[conv.Outputs[0]] = conv
			for _, n := range absorbed {
				dead[n] = true
			}
		}
	}
	removeNodes(g, dead)
	if resort {
		return g.Sort()
	}
	return nil
}

// residualFusable reports whether conv can take a residual for add.
func residualFusable(g *ir.Graph, users map[*ir.Value][]*ir.Node, conv, add *ir.Node) bool {
	return isTsmc(conv, ops.OpConv) && len(conv.Inputs) == 3 &&
		conv.AttrString("activation", ops.ActNone) == ops.ActNone &&
		soleReader(g, users, conv.Outputs[0]) == add &&
		sameType(conv.Outputs[0], add.Outputs[0])
}

// FuseShift fuses each TemporalShift into the tsmc.Conv nodes (and the
// tsmc.QConv nodes whose x_zero_point is the quantised shift's fill) that
// read its output as their data input X: such a conv reads the shift's input
// directly and carries the shift's "segments" and "shift" attributes (and,
// for the stateful online form, the state S_prev as input 4), so no
// shifted tensor is ever materialised for it. Convs that already have a
// shift are left alone. When anything else reads the shifted tensor (the
// 'block' placement, where the identity path is shifted too, so a conv
// takes it as residual or an Add reads it), the TemporalShift stays for
// those readers; otherwise it is removed. It assumes the convs are
// tsmc.Conv (fuse-activation ran) and comes after the other conv fusions,
// since BatchNorm folding leaves shifted convs alone.
func FuseShift(g *ir.Graph) error {
	users := g.Users()
	dead := map[*ir.Node]bool{}
	for _, ts := range g.Nodes {
		if !isTsmc(ts, ops.OpTemporalShift) || len(ts.Outputs) != 1 {
			continue
		}
		s, ok, err := ops.ShiftOf(ts)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		y := ts.Outputs[0]
		fill, err := ops.ShiftFill(ts, ts.Inputs[0].DType)
		if err != nil {
			return err
		}
		for _, u := range uniqueNodes(users[y]) {
			if u.Input(ops.ConvX) != y || hasShift(u) {
				continue
			}
			if isTsmc(u, ops.OpConv) || isTsmc(u, ops.OpQConv) && quantizedZero(u) == fill {
				fuseShiftInto(u, ts, s)
			}
		}
		if !g.IsOutput(y) && !readsValue(users[y], y) {
			dead[ts] = true
		}
	}
	removeNodes(g, dead)
	return nil
}

// quantizedZero is a tsmc.QConv's x_zero_point, or -1 << 62 (no fill)
// when its attributes do not read.
func quantizedZero(conv *ir.Node) int64 {
	s, err := ops.QuantSpecOf(conv)
	if err != nil {
		return -1 << 62
	}
	return s.X.Zero
}

// fuseShiftInto makes conv read ts's input through shift s.
func fuseShiftInto(conv, ts *ir.Node, s ops.Shift) {
	conv.Inputs[ops.ConvX] = ts.Inputs[0]
	s.Attrs(conv)
	if state := ts.Input(1); state != nil {
		for len(conv.Inputs) <= ops.ConvState {
			conv.Inputs = append(conv.Inputs, nil)
		}
		conv.Inputs[ops.ConvState] = state
	}
}

func hasShift(n *ir.Node) bool {
	_, ok := n.AttrInts("shift")
	return ok
}

// readsValue reports whether any of nodes still reads v.
func readsValue(nodes []*ir.Node, v *ir.Value) bool {
	for _, n := range nodes {
		if slices.Contains(n.Inputs, v) {
			return true
		}
	}
	return false
}

// uniqueNodes drops repeated nodes, keeping the first occurrence.
func uniqueNodes(ns []*ir.Node) []*ir.Node {
	seen := map[*ir.Node]bool{}
	var out []*ir.Node
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// ExplicitPads writes the pads of every Conv, MaxPool and AveragePool with
// an auto_pad as explicit pads (auto_pad resolved against the input's
// static shape, ops.Pads), so the stages after it read one form.
func ExplicitPads(g *ir.Graph) error {
	for _, n := range g.Nodes {
		if n.Domain != "" || (n.Op != "Conv" && n.Op != "MaxPool" && n.Op != "AveragePool") {
			continue
		}
		if mode := n.AttrString("auto_pad", "NOTSET"); mode == "NOTSET" || mode == "" {
			continue
		}
		x := n.Input(0)
		var kernel []int
		if n.Op == "Conv" {
			kernel = n.Input(1).Shape[2:]
		} else {
			ks, _ := n.AttrInts("kernel_shape")
			for _, k := range ks {
				kernel = append(kernel, int(k))
			}
		}
		pads, err := ops.Pads(n, x.Shape, kernel)
		if err != nil {
			return err
		}
		delete(n.Attrs, "auto_pad")
		n.SetAttr("pads", newIntsAttr(ints64(pads)...))
	}
	return nil
}

// FoldPad folds a zero constant Pad of the spatial axes into the Conv or
// AveragePool that alone reads it: its pads grow by the Pad's. An
// AveragePool then counts the padding (count_include_pad), as it counted
// the Pad's zeros; one that already pads without counting is left alone.
// torch exports AvgPool2d(padding) and padded convolutions that way. It
// assumes explicit pads (explicit-pads) and folded constants.
func FoldPad(g *ir.Graph) error {
	users := g.Users()
	dead := map[*ir.Node]bool{}
	for _, pad := range g.Nodes {
		if !isOp(pad, "Pad") {
			continue
		}
		reader := soleReader(g, users, pad.Outputs[0])
		if reader == nil || reader.Input(0) != pad.Outputs[0] || !(isOp(reader, "Conv") || isOp(reader, "AveragePool")) {
			continue
		}
		x := pad.Input(0)
		p, mode, value, err := ops.PadArgs(pad, g.Opset(pad))
		if err != nil || mode != "constant" || value != 0 || len(x.Shape) < 3 {
			continue
		}
		rank := len(x.Shape)
		if p[0] != 0 || p[1] != 0 || p[rank] != 0 || p[rank+1] != 0 || slices.ContainsFunc(p, func(v int) bool { return v < 0 }) {
			continue
		}
		old, ok := reader.AttrInts("pads")
		if !ok {
			old = make([]int64, 2*(rank-2))
		}
		if len(old) != 2*(rank-2) || reader.AttrString("auto_pad", "NOTSET") != "NOTSET" {
			continue
		}
		if isOp(reader, "AveragePool") && reader.AttrInt("count_include_pad", 0) == 0 && slices.ContainsFunc(old, func(v int64) bool { return v != 0 }) {
			continue
		}
		sp := rank - 2
		merged := make([]int64, 2*sp)
		for a := range sp {
			merged[a] = old[a] + int64(p[2+a])
			merged[sp+a] = old[sp+a] + int64(p[rank+2+a])
		}
		reader.SetAttr("pads", newIntsAttr(merged...))
		if isOp(reader, "AveragePool") {
			reader.SetAttr("count_include_pad", newIntAttr(1))
		}
		reader.Inputs[0] = x
		dead[pad] = true
	}
	removeNodes(g, dead)
	return nil
}
