package passes

import (
	"math"
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// The passes of quantised (QDQ) models. A QDQ model computes in float32
// between DequantizeLinear and QuantizeLinear pairs; these passes make
// that computation run on the quantised tensors: data movement (and the
// temporal shift, and max pooling) on int8 rows (QuantizeMovement), the
// convolutions, fully connected layers and sums as tsmc's quantised ops
// (FuseQDQ), a residual sum in its convolution's epilogue
// (FuseQuantizedResidual). Only per-tensor parameters of activations and
// per-tensor or per-output-channel parameters of weights are taken;
// anything else stays as it was, computed by the ONNX ops.

// quantParams are the per-tensor parameters of a QuantizeLinear or
// DequantizeLinear node: constant scale and zero point, and the quantised
// side's dtype (uint8 or int8).
type quantParams struct {
	ops.QParams
	dtype ir.DType
}

// isQ and isDQ recognise the pair in either domain.
func isQ(n *ir.Node) bool {
	return n != nil && n.Op == "QuantizeLinear" && (n.Domain == "" || n.Domain == "ai.onnx" || n.Domain == interp.MSDomain)
}

func isDQ(n *ir.Node) bool {
	return n != nil && n.Op == "DequantizeLinear" && (n.Domain == "" || n.Domain == "ai.onnx" || n.Domain == interp.MSDomain)
}

// tensorQuant reads the per-tensor parameters of a Q or DQ node n whose
// shapes are inferred; ok is false for per-axis or blocked parameters,
// run-time ones, or types other than uint8 and int8.
func tensorQuant(n *ir.Node) (quantParams, bool) {
	var q quantParams
	switch {
	case isQ(n):
		q.dtype = n.Outputs[0].DType
	case isDQ(n):
		q.dtype = n.Inputs[0].DType
	default:
		return q, false
	}
	if n.AttrInt("block_size", 0) != 0 {
		return q, false
	}
	return constParams(n.Input(1), n.Input(2), q.dtype)
}

// constParams reads a constant per-tensor scale (positive, finite) and
// zero point (nil: 0) of a tensor of dtype, uint8 or int8.
func constParams(scale, zero *ir.Value, dtype ir.DType) (quantParams, bool) {
	q := quantParams{dtype: dtype}
	if dtype != ir.Uint8 && dtype != ir.Int8 || !scale.IsConst() || scale.Const.DType != ir.Float32 || scale.Const.Len() != 1 {
		return q, false
	}
	q.Scale = scale.Const.F32[0]
	if !(q.Scale > 0) || math.IsInf(float64(q.Scale), 1) {
		return q, false
	}
	if zero != nil {
		if !zero.IsConst() || zero.Const.Len() != 1 || zero.Const.DType != dtype {
			return q, false
		}
		q.Zero = zero.Const.I64[0]
	}
	return q, true
}

// same reports whether two parameter sets quantise identically (scales
// equal bit for bit).
func (q quantParams) same(o quantParams) bool {
	return math.Float32bits(q.Scale) == math.Float32bits(o.Scale) && q.Zero == o.Zero && q.dtype == o.dtype
}

// quantize is QuantizeLinear of one value with q.
func (q quantParams) quantize(v float32) int64 {
	lo, hi, _ := interp.QuantRange(q.dtype)
	return interp.Quantize(v, q.Scale, q.Zero, lo, hi)
}

// full is the clamp of q's whole type.
func (q quantParams) full() ops.Requant {
	lo, hi, _ := interp.QuantRange(q.dtype)
	return ops.Requant{QParams: q.QParams, Min: lo, Max: hi}
}

// QuantizeMovement runs the data movement that a QDQ model does in float32
// between a DequantizeLinear and a QuantizeLinear of identical per-tensor
// parameters on the quantised tensors instead. QuantizeLinear (Q) commutes
// with every op that only moves, copies or selects elements, zeros
// becoming the zero point, and with max pooling, Q being monotone; and
// Q(DequantizeLinear(q)) = q for the same parameters. So for every Q whose
// input comes out of such ops (Reshape, Transpose, Slice, Concat,
// ScatterND, Pad, Gather, ..., MaxPool, tsmc.TemporalShift) the pass
// clones the cone on quantised tensors: a leaf that is the output of a
// DequantizeLinear of the same parameters reads its quantised input,
// constants are quantised at compile time, an op that only makes zeros
// becomes the zero point, any other leaf (an online model's state input)
// gets a QuantizeLinear of its own; a TemporalShift's vacated rows hold
// the zero point. The Q's readers then read the clone. The float cone
// stays for any other reader; dead-code removes what nobody reads. It
// assumes inferred shapes and a recognised shift; Q nodes whose output is
// a graph output are left alone.
func QuantizeMovement(g *ir.Graph) error {
	m := &mover{g: g, nm: newNamer(g), producers: g.Producers(), memo: map[moveKey]*ir.Value{}}
	for _, q := range slices.Clone(g.Nodes) {
		p, ok := tensorQuant(q)
		if !ok || g.IsOutput(q.Outputs[0]) {
			continue
		}
		src := m.producers[q.Inputs[0]]
		if !m.movable(src) && !(isDQ(src) && sameQuant(src, p)) {
			continue
		}
		v, ok := m.quantized(q.Inputs[0], p)
		if !ok {
			continue
		}
		g.ReplaceUses(q.Outputs[0], v)
	}
	g.Nodes = append(g.Nodes, m.added...)
	return g.Sort()
}

// sameQuant reports whether the Q or DQ node n has per-tensor parameters p.
func sameQuant(n *ir.Node, p quantParams) bool {
	q, ok := tensorQuant(n)
	return ok && q.same(p)
}

// moveKey names a float value quantised with some parameters.
type moveKey struct {
	v     *ir.Value
	scale uint32
	zero  int64
	dtype ir.DType
}

// mover clones movement cones onto quantised tensors.
type mover struct {
	g         *ir.Graph
	nm        *namer
	producers map[*ir.Value]*ir.Node
	memo      map[moveKey]*ir.Value
	added     []*ir.Node
}

// movable reports whether Q commutes with n: data movement (not the ops
// that only make zeros, which quantized handles) that code generation
// runs on bytes (Pad and ScatterND, whose fill values are arithmetic on
// the scale, stay in float32), max pooling without its indices, the
// float temporal shift.
func (m *mover) movable(n *ir.Node) bool {
	switch {
	case n == nil:
		return false
	case isTsmc(n, ops.OpTemporalShift):
		return n.Inputs[0].DType == ir.Float32
	case isOp(n, "MaxPool"):
		return len(n.Outputs) == 1 || n.Outputs[1] == nil || len(m.g.Users()[n.Outputs[1]]) == 0 && !m.g.IsOutput(n.Outputs[1])
	}
	mv, ok := classifyMovement(n)
	d := ops.Lookup(n)
	return ok && mv.kind == moveData && !isOp(n, "Sub") && d != nil && d.Int8
}

// dataInputs lists the inputs of a movable node that carry its data.
func dataInputs(n *ir.Node) []int {
	switch {
	case isTsmc(n, ops.OpTemporalShift):
		return []int{0, 1}
	case isOp(n, "MaxPool"):
		return []int{0}
	}
	mv, _ := classifyMovement(n)
	return mv.data
}

// linear appends op (QuantizeLinear or DequantizeLinear) of in with the
// per-tensor parameters p, writing out, and returns out.
func (m *mover) linear(op string, in *ir.Value, p quantParams, out *ir.Value) *ir.Value {
	m.added = append(m.added, &ir.Node{Name: out.Name, Op: op,
		Inputs:  []*ir.Value{in, m.nm.Constant(out.Name+"_scale", ir.Scalar(p.Scale)), m.nm.Constant(out.Name+"_zero_point", &ir.Tensor{DType: p.dtype, Shape: ir.Shape{}, I64: []int64{p.Zero}})},
		Outputs: []*ir.Value{out}})
	return out
}

// quantized returns v quantised with p, cloning the movement that makes
// it; ok is false when v cannot be had (a run-time value of another type).
func (m *mover) quantized(v *ir.Value, p quantParams) (*ir.Value, bool) {
	key := moveKey{v, math.Float32bits(p.Scale), p.Zero, p.dtype}
	if q, ok := m.memo[key]; ok {
		return q, true
	}
	q, ok := m.quantize(v, p)
	if ok {
		m.memo[key] = q
	}
	return q, ok
}

func (m *mover) quantize(v *ir.Value, p quantParams) (*ir.Value, bool) {
	if v.DType != ir.Float32 || !v.Shape.Known() {
		return nil, false
	}
	if v.IsConst() {
		t := &ir.Tensor{DType: p.dtype, Shape: v.Shape.Clone(), I64: make([]int64, v.Const.Len())}
		for i, f := range v.Const.F32 {
			t.I64[i] = p.quantize(f)
		}
		return m.nm.Constant(v.Name+"_q", t), true
	}
	n := m.producers[v]
	if isDQ(n) && sameQuant(n, p) {
		return n.Inputs[0], true
	}
	if mv, ok := classifyMovement(n); n != nil && ok && mv.kind == moveZeros {
		t := &ir.Tensor{DType: p.dtype, Shape: v.Shape.Clone(), I64: make([]int64, v.Shape.Size())}
		for i := range t.I64 {
			t.I64[i] = p.Zero
		}
		return m.nm.Constant(v.Name+"_q", t), true
	}
	if !m.movable(n) {
		// A leaf: quantise it where it is.
		return m.linear("QuantizeLinear", v, p, &ir.Value{Name: m.nm.Fresh(v.Name + "_q"), DType: p.dtype, Shape: v.Shape.Clone()}), true
	}
	clone := &ir.Node{Name: n.Name + "_q", Op: n.Op, Domain: n.Domain, Attrs: map[string]ir.Attr{}}
	for k, a := range n.Attrs {
		clone.Attrs[k] = a
	}
	clone.Inputs = slices.Clone(n.Inputs)
	for _, i := range dataInputs(n) {
		in := n.Input(i)
		if in == nil {
			continue
		}
		qin, ok := m.quantized(in, p)
		if !ok {
			return nil, false
		}
		clone.Inputs[i] = qin
	}
	switch {
	case isTsmc(n, ops.OpTemporalShift):
		clone.SetAttr("fill", newIntAttr(p.Zero))
	case isOp(n, "MaxPool"):
		clone.Outputs = []*ir.Value{nil}
	case isOp(n, "Pad") && m.g.Opset(n) < 11:
		clone.SetAttr("value", newFloatAttr(float32(p.quantize(n.AttrFloat("value", 0)))))
	}
	var result *ir.Value
	for i, o := range n.Outputs {
		if i >= len(clone.Outputs) {
			clone.Outputs = append(clone.Outputs, nil)
		}
		if o == nil || isOp(n, "MaxPool") && i > 0 {
			continue
		}
		c := &ir.Value{Name: m.nm.Fresh(o.Name + "_q"), DType: p.dtype, Shape: o.Shape.Clone()}
		clone.Outputs[i] = c
		m.memo[moveKey{o, math.Float32bits(p.Scale), p.Zero, p.dtype}] = c
		if o == v {
			result = c
		}
	}
	m.added = append(m.added, clone)
	return result, result != nil
}

// FuseQDQ turns the float computations of a QDQ model into tsmc's
// quantised ops. A Conv whose input X is the output of a per-tensor
// DequantizeLinear, whose weights are a DequantizeLinear of constant
// int8 (or uint8) weights per tensor or per output channel, whose bias is
// absent, a DequantizeLinear of int32 or a float constant, and whose
// output, after an optional Relu or constant Clip that alone reads it, a
// per-tensor QuantizeLinear alone reads, becomes a tsmc.QConv; the
// activation is the clamp [Q(lo), Q(hi)] (exact: Q is monotone). Gemm
// (transA 0, alpha and beta 1) and MatMul with constant 2-D weights become
// tsmc.QDense, and an Add of two per-tensor DequantizeLinear outputs of
// one shape tsmc.QAdd, under the same conditions. The bias is taken as it
// is when its scale is x_scale × w_scale per channel (float32), else
// rounded to that unit (an int32 bias of another scale, or a float one).
// The DequantizeLinear nodes nothing reads any more go, and every
// DequantizeLinear of constants left is folded, so weights of patterns
// that did not match become float32 again. It assumes inferred shapes.
func FuseQDQ(g *ir.Graph) error {
	f := &qdqFuser{g: g, nm: newNamer(g), producers: g.Producers(), users: g.Users(), dead: map[*ir.Node]bool{}}
	for _, n := range slices.Clone(g.Nodes) {
		switch {
		case isOp(n, "Conv"):
			f.conv(n)
		case isOp(n, "Gemm"), isOp(n, "MatMul"):
			f.dense(n)
		case isOp(n, "Add"):
			f.add(n)
		}
	}
	removeNodes(g, f.dead)
	// The DequantizeLinear nodes of the fused operands go with them.
	if err := EliminateDeadCode(g); err != nil {
		return err
	}
	folded := false
	for _, n := range g.Nodes {
		if isDQ(n) && !slices.ContainsFunc(n.Inputs, func(v *ir.Value) bool { return v != nil && !v.IsConst() }) {
			folded = true
			break
		}
	}
	if folded {
		if err := ir.InferShapes(g, interp.Eval); err != nil {
			return err
		}
		return foldConstants(g, true)
	}
	return nil
}

// qdqFuser rewrites one graph's QDQ patterns.
type qdqFuser struct {
	g         *ir.Graph
	nm        *namer
	producers map[*ir.Value]*ir.Node
	users     map[*ir.Value][]*ir.Node
	dead      map[*ir.Node]bool
}

// activationInput returns the quantised tensor and parameters behind a
// float operand that a per-tensor DequantizeLinear produces.
func (f *qdqFuser) activationInput(v *ir.Value) (*ir.Value, quantParams, bool) {
	dq := f.producers[v]
	if !isDQ(dq) {
		return nil, quantParams{}, false
	}
	p, ok := tensorQuant(dq)
	return dq.Inputs[0], p, ok
}

// weightInput reads a DequantizeLinear of constant 8-bit weights with
// per-tensor parameters or per-channel ones along axis; it returns the
// quantised weights and one scale and zero point per channel (or one).
func (f *qdqFuser) weightInput(v *ir.Value, axis int) (*ir.Value, []float32, []int64, bool) {
	dq := f.producers[v]
	if !isDQ(dq) || dq.AttrInt("block_size", 0) != 0 {
		return nil, nil, nil, false
	}
	w, scale, zero := dq.Inputs[0], dq.Input(1), dq.Input(2)
	if !w.IsConst() || (w.DType != ir.Int8 && w.DType != ir.Uint8) || !scale.IsConst() || scale.Const.DType != ir.Float32 || zero != nil && !zero.IsConst() {
		return nil, nil, nil, false
	}
	scales := scale.Const.F32
	zeros := []int64{0}
	if zero != nil {
		zeros = zero.Const.I64
	}
	if len(scales) != 1 {
		dqAxis := int(dq.AttrInt("axis", 1))
		if dqAxis < 0 {
			dqAxis += len(w.Shape)
		}
		if dqAxis != axis || len(scale.Shape) != 1 {
			return nil, nil, nil, false
		}
	}
	if len(zeros) != len(scales) {
		return nil, nil, nil, false
	}
	return w, scales, zeros, true
}

// epilogue follows the float output v of a conv, product or sum through
// an optional Relu or constant Clip to the one per-tensor QuantizeLinear
// that reads it; it returns the Q node, the clamp, and the nodes the
// fused op absorbs.
func (f *qdqFuser) epilogue(v *ir.Value) (q *ir.Node, out ops.Requant, absorbed []*ir.Node, ok bool) {
	next := soleReader(f.g, f.users, v)
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if next != nil && next.Input(0) == v && (isOp(next, "Relu") || isOp(next, "Clip")) {
		attrs, known := activationOf(f.g, next)
		if !known {
			return nil, out, nil, false
		}
		if attrs["activation"].String == ops.ActRelu {
			lo = 0
		} else {
			lo, hi = attrs["clip_min"].Float, attrs["clip_max"].Float
		}
		absorbed = append(absorbed, next)
		next = soleReader(f.g, f.users, next.Outputs[0])
	}
	p, isQuant := tensorQuant(next)
	if !isQ(next) || !isQuant {
		return nil, out, nil, false
	}
	out = p.full()
	if !math.IsInf(float64(lo), -1) {
		out.Min = p.quantize(lo)
	}
	if !math.IsInf(float64(hi), 1) {
		out.Max = p.quantize(hi)
	}
	return next, out, append(absorbed, next), true
}

// replace puts node n in place of the pattern ending in q: n writes q's
// output and the absorbed nodes go.
func (f *qdqFuser) replace(n, q *ir.Node, absorbed []*ir.Node, pattern *ir.Node) {
	n.Outputs = []*ir.Value{q.Outputs[0]}
	for _, a := range append(absorbed, pattern) {
		f.dead[a] = true
	}
	// In the pattern's place: its inputs are computed by then.
	i := slices.Index(f.g.Nodes, pattern)
	f.g.Nodes = slices.Insert(f.g.Nodes, i, n)
}

// bias returns the int32 bias of a quantised product, in units of x_scale
// × w_scale[m] per output channel: b is nil (zeros, named after name), a
// DequantizeLinear of int32 (taken as it is when its scale is that unit),
// or a float constant; channels is the output channel count.
func (f *qdqFuser) bias(b *ir.Value, name string, xScale float32, wScales []float32, channels int) (*ir.Value, bool) {
	t := &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{channels}, I64: make([]int64, channels)}
	if b == nil {
		return f.nm.Constant(name, t), true
	}
	real := make([]float64, channels) // the bias in float, or nil when already in units
	if dq := f.producers[b]; isDQ(dq) {
		q, scale, zero := dq.Inputs[0], dq.Input(1), dq.Input(2)
		if !q.IsConst() || q.DType != ir.Int32 || q.Const.Len() != channels || !scale.IsConst() || scale.Const.DType != ir.Float32 ||
			scale.Const.Len() != 1 && scale.Const.Len() != channels || zero != nil && (!zero.IsConst() || slices.ContainsFunc(zero.Const.I64, func(z int64) bool { return z != 0 })) {
			return nil, false
		}
		exact := true
		for m := range channels {
			unit := float32(xScale * wScales[min(m, len(wScales)-1)])
			s := scale.Const.F32[min(m, scale.Const.Len()-1)]
			exact = exact && math.Float32bits(s) == math.Float32bits(unit)
			real[m] = float64(q.Const.I64[m]) * float64(s)
		}
		if exact && q.Shape.Equal(t.Shape) {
			return q, true
		}
	} else if b.IsConst() && b.DType == ir.Float32 && b.Const.Len() == channels {
		for m, v := range b.Const.F32 {
			real[m] = float64(v)
		}
	} else {
		return nil, false
	}
	for m, r := range real {
		unit := float64(float32(xScale * wScales[min(m, len(wScales)-1)]))
		t.I64[m] = int64(math.Max(math.MinInt32, math.Min(math.MaxInt32, math.RoundToEven(r/unit))))
	}
	return f.nm.Constant(b.Name+"_q", t), true
}

// weightSpec assembles the parameters of a tsmc quantised op with weights.
func weightSpec(x quantParams, scales []float32, zeros []int64, y ops.Requant, out ir.DType) ops.QuantSpec {
	return ops.QuantSpec{X: x.QParams, WScales: slices.Clone(scales), WZeros: slices.Clone(zeros), Y: y, Output: out}
}

// conv makes a tsmc.QConv of a QDQ convolution.
func (f *qdqFuser) conv(n *ir.Node) {
	xq, xp, ok := f.activationInput(n.Input(0))
	if !ok {
		return
	}
	w, ws, wz, ok := f.weightInput(n.Input(1), 0)
	if !ok || len(ws) != 1 && len(ws) != w.Shape[0] {
		return
	}
	q, y, absorbed, ok := f.epilogue(n.Outputs[0])
	if !ok {
		return
	}
	b, ok := f.bias(n.Input(2), w.Name+"_bias", xp.Scale, ws, w.Shape[0])
	if !ok {
		return
	}
	attrs, err := convGeometry(n, n.Input(0), n.Input(1))
	if err != nil {
		return
	}
	qp, _ := tensorQuant(q)
	qc := &ir.Node{Name: n.Name, Op: ops.OpQConv, Domain: ops.Domain, Attrs: attrs, Inputs: []*ir.Value{xq, w, b}}
	weightSpec(xp, ws, wz, y, qp.dtype).Attrs(qc)
	f.replace(qc, q, absorbed, n)
}

// dense makes a tsmc.QDense of a QDQ Gemm or MatMul with constant
// weights.
func (f *qdqFuser) dense(n *ir.Node) {
	if len(n.Outputs) != 1 || n.Input(1) == nil || len(n.Input(1).Shape) != 2 {
		return
	}
	isGemm := isOp(n, "Gemm")
	if isGemm && (n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1) {
		return
	}
	xq, xp, ok := f.activationInput(n.Input(0))
	if !ok {
		return
	}
	transB := isGemm && n.AttrInt("transB", 0) != 0
	axis := 1 // weights [K, N]: per output channel along N
	if transB {
		axis = 0
	}
	w, ws, wz, ok := f.weightInput(n.Input(1), axis)
	if !ok {
		return
	}
	if !transB { // tsmc.QDense stores W output-major, [N, K]
		t, err := ops.EvalOp("", "Transpose", 13, map[string]ir.Attr{"perm": newIntsAttr(1, 0)}, w.Const)
		if err != nil {
			return
		}
		w = f.nm.Constant(w.Name+"_t", t)
	}
	channels := w.Shape[0]
	if len(ws) != 1 && len(ws) != channels {
		return
	}
	var bv *ir.Value
	if isGemm {
		bv = n.Input(2)
		if bv != nil && !bv.Shape.Equal(ir.Shape{channels}) && !bv.Shape.Equal(ir.Shape{1, channels}) {
			return
		}
	}
	q, y, absorbed, ok := f.epilogue(n.Outputs[0])
	if !ok {
		return
	}
	b, ok := f.bias(bv, w.Name+"_bias", xp.Scale, ws, channels)
	if !ok {
		return
	}
	qp, _ := tensorQuant(q)
	qd := &ir.Node{Name: n.Name, Op: ops.OpQDense, Domain: ops.Domain, Inputs: []*ir.Value{xq, w, b}}
	weightSpec(xp, ws, wz, y, qp.dtype).Attrs(qd)
	f.replace(qd, q, absorbed, n)
}

// add makes a tsmc.QAdd of a QDQ sum of two tensors of one shape.
func (f *qdqFuser) add(n *ir.Node) {
	if len(n.Inputs) != 2 || n.Input(0) == nil || n.Input(1) == nil || !n.Inputs[0].Shape.Equal(n.Inputs[1].Shape) {
		return
	}
	aq, ap, ok := f.activationInput(n.Inputs[0])
	if !ok {
		return
	}
	bq, bp, ok := f.activationInput(n.Inputs[1])
	if !ok || bp.dtype != ap.dtype {
		return
	}
	q, y, absorbed, ok := f.epilogue(n.Outputs[0])
	if !ok {
		return
	}
	qp, _ := tensorQuant(q)
	qa := &ir.Node{Name: n.Name, Op: ops.OpQAdd, Domain: ops.Domain, Inputs: []*ir.Value{aq, bq}}
	ops.QuantSpec{X: ap.QParams, B: bp.QParams, Y: y, Output: qp.dtype}.Attrs(qa)
	f.replace(qa, q, absorbed, n)
}

// FuseQuantizedResidual fuses a tsmc.QAdd into the tsmc.QConv (with no
// residual yet) that computes one of its operands when nothing else reads
// that conv's output: the conv takes the other operand as its residual R,
// with the QAdd's parameters as r_ and out_ attributes (and
// residual_first when R was the sum's first operand: the sum's rounding
// depends on the order), and writes the QAdd's output. When both operands qualify, the conv later in node order
// is chosen, so R is computed before it. It assumes FuseQDQ made the ops.
func FuseQuantizedResidual(g *ir.Graph) error {
	producers, users := g.Producers(), g.Users()
	order := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		order[n] = i
	}
	dead := map[*ir.Node]bool{}
	for _, add := range g.Nodes {
		if !isTsmc(add, ops.OpQAdd) {
			continue
		}
		as, err := ops.QuantSpecOf(add)
		if err != nil {
			return err
		}
		var conv *ir.Node
		var residual *ir.Value
		var rp ops.QParams
		first := false
		for i, v := range add.Inputs {
			c := producers[v]
			if !isTsmc(c, ops.OpQConv) || len(c.Inputs) > ops.ConvResidual && c.Input(ops.ConvResidual) != nil || soleReader(g, users, v) != add || add.Inputs[1-i] == v {
				continue
			}
			if conv == nil || order[c] > order[conv] {
				conv, residual = c, add.Inputs[1-i]
				rp = [2]ops.QParams{as.X, as.B}[1-i]
				first = i == 1
			}
		}
		if conv == nil {
			continue
		}
		cs, err := ops.QuantSpecOf(conv)
		if err != nil {
			return err
		}
		convIn := as.X
		if add.Inputs[1] == conv.Outputs[0] {
			convIn = as.B
		}
		if math.Float32bits(convIn.Scale) != math.Float32bits(cs.Y.Scale) || convIn.Zero != cs.Y.Zero {
			continue // the sum reads the conv's result with other parameters
		}
		for len(conv.Inputs) <= ops.ConvResidual {
			conv.Inputs = append(conv.Inputs, nil)
		}
		conv.Inputs[ops.ConvResidual] = residual
		out := as.Y
		cs.Residual, cs.Out, cs.Output, cs.ResidualFirst = &rp, &out, as.Output, first
		cs.Attrs(conv)
		conv.Outputs[0] = add.Outputs[0]
		producers[add.Outputs[0]] = conv
		dead[add] = true
	}
	removeNodes(g, dead)
	return g.Sort()
}

// DequantizeLate moves a DequantizeLinear of per-tensor parameters past
// a reshape, transpose or slice that reads its output and makes a graph
// output: movement(DQ(x)) becomes DQ(movement(x)), the output keeping its
// value and name. DequantizeLinear is elementwise, so it commutes with
// them exactly. The state outputs of an online QDQ model are slices of a
// dequantised activation: they then dequantise the channels they keep,
// not the whole activation. (Movement inside the graph stays: later
// passes match it on float32, the classifier's consensus for one.) The
// first DQ stays for its other readers; dead-code drops it when none is
// left.
func DequantizeLate(g *ir.Graph) error {
	nm := newNamer(g)
	producers := g.Producers()
	var added []*ir.Node
	for _, n := range g.Nodes {
		switch {
		case len(n.Outputs) != 1 || n.Domain != "" && n.Domain != "ai.onnx" || !g.IsOutput(n.Outputs[0]):
			continue
		case isOp(n, "Slice"), isOp(n, "Reshape"), isOp(n, "Flatten"), isOp(n, "Squeeze"), isOp(n, "Unsqueeze"), isOp(n, "Transpose"):
		default:
			continue
		}
		if mv, ok := classifyMovement(n); !ok || !slices.Equal(mv.data, []int{0}) {
			continue
		}
		dq := producers[n.Inputs[0]]
		p, ok := tensorQuant(dq)
		if !ok || !isDQ(dq) || !n.Outputs[0].Shape.Known() {
			continue
		}
		out := n.Outputs[0]
		moved := &ir.Value{Name: nm.Fresh(out.Name + "_q"), DType: p.dtype, Shape: out.Shape.Clone()}
		n.Inputs[0], n.Outputs[0] = dq.Inputs[0], moved
		late := &ir.Node{Name: out.Name + "_dequantized", Op: dq.Op, Domain: dq.Domain, Attrs: map[string]ir.Attr{},
			Inputs: append([]*ir.Value{moved}, dq.Inputs[1:]...), Outputs: []*ir.Value{out}}
		for k, a := range dq.Attrs {
			late.Attrs[k] = a
		}
		added = append(added, late)
	}
	g.Nodes = append(g.Nodes, added...)
	return g.Sort()
}
