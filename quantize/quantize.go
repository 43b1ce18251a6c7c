// Package quantize is tsmc's static post-training quantisation: it runs a
// float32 model on calibration data, chooses the activations' ranges
// (min/max, percentile or entropy), and rewrites the model as a standard
// QDQ model that onnxruntime (and tsmc's fuse-qdq pass) reads: per-channel
// symmetric int8 weights, per-tensor asymmetric uint8 activations, int32
// biases, a QuantizeLinear/DequantizeLinear pair on every activation that
// a convolution, fully connected layer or residual sum reads or computes.
//
// Data movement (the temporal shift, reshapes, slices, max pooling) keeps
// one activation's parameters from its input to its output, so that it
// moves int8 rows exactly; a ReLU or ReLU6 that the output's range makes
// redundant is dropped, as onnxruntime's tools do.
package quantize

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
)

// Method chooses the activations' ranges from the calibration data.
type Method string

// The calibration methods.
const (
	// MinMax takes each activation's smallest and largest value.
	MinMax Method = "minmax"
	// Percentile clips the distribution's tails at Options.Percentile.
	Percentile Method = "percentile"
	// Entropy picks the clipping threshold of the 8-bit quantisation
	// whose distribution is closest (Kullback-Leibler) to the calibration
	// data's, as TensorRT's calibrator does.
	Entropy Method = "entropy"
)

// Methods lists the calibration methods.
var Methods = []Method{MinMax, Percentile, Entropy}

// Options configures Quantize.
type Options struct {
	Method Method
	// Percentile is the share of values (in percent) Percentile keeps on
	// each side; default 99.999.
	Percentile float64
	// States pairs each state input of an online model with the output
	// that carries its next value (by name); calibration sequences feed
	// them back.
	States map[string]string
	// Progress, when set, is told about each calibration run.
	Progress func(format string, args ...any)
}

// Feeds are the inputs of one model run, by input name.
type Feeds = map[string]*ir.Tensor

// Sequence is calibration data: runs of the model in order. For an online
// model each run after the first takes its state inputs from the outputs
// of the run before (Options.States); the first uses its own.
type Sequence []Feeds

// Result says what Quantize did.
type Result struct {
	// Convs, Denses and Adds count the ops quantised; Activations the
	// distinct activation parameter sets; DroppedActivations the ReLU and
	// Clip nodes the ranges made redundant.
	Convs, Denses, Adds, Activations, DroppedActivations int
	// Runs is the number of calibration runs (per pass over the data).
	Runs int
}

// Quantize rewrites the float32 graph g, whose shapes are inferred, as a
// QDQ model calibrated on the sequences. Constant nodes become
// initializers and BatchNormalization after a convolution is folded
// first. g's default-domain opset must be 13 or
// later (per-axis DequantizeLinear).
func Quantize(g *ir.Graph, calib []Sequence, opts Options) (*Result, error) {
	if opts.Method == "" {
		opts.Method = MinMax
	}
	if !slices.Contains(Methods, opts.Method) {
		return nil, fmt.Errorf("unknown calibration method %q (minmax, percentile or entropy)", opts.Method)
	}
	if opts.Percentile == 0 {
		opts.Percentile = 99.999
	}
	if !(opts.Percentile > 50 && opts.Percentile <= 100) {
		return nil, fmt.Errorf("percentile %v is not in (50, 100]", opts.Percentile)
	}
	if v := g.Opsets[""]; v < 13 {
		return nil, fmt.Errorf("per-channel weights need opset 13 or later (DequantizeLinear with axis); the model imports ai.onnx %d", v)
	}
	if len(calib) == 0 {
		return nil, fmt.Errorf("no calibration data")
	}
	for _, p := range []func(*ir.Graph) error{constantNodes, passes.FoldBatchNorm, passes.EliminateDeadCode} {
		if err := p(g); err != nil {
			return nil, err
		}
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		return nil, err
	}
	pl := plan(g)
	if len(pl.ops) == 0 {
		return nil, fmt.Errorf("the model has no convolution, fully connected layer or residual sum to quantise")
	}
	ranges, runs, err := calibrate(g, pl, calib, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Runs: runs}
	if err := rewrite(g, pl, ranges, res); err != nil {
		return nil, err
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		return nil, fmt.Errorf("the quantised graph: %w", err)
	}
	return res, g.Verify()
}

// constantNodes turns the outputs of Constant nodes into constants (an
// activation's Clip bounds are often written so), leaving the rest of
// the graph as it is.
func constantNodes(g *ir.Graph) error {
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !isOp(n, "Constant") || len(n.Outputs) != 1 || n.Outputs[0] == nil {
			kept = append(kept, n)
			continue
		}
		outs, err := interp.Eval(n, g.Opset(n), nil)
		if err != nil {
			return err
		}
		o := n.Outputs[0]
		o.Const, o.DType, o.Shape = outs[0], outs[0].DType, outs[0].Shape.Clone()
	}
	g.Nodes = kept
	return nil
}

// quantOp is one op to quantise and what its result is: its output, or
// the output of the ReLU or Clip that alone reads it.
type quantOp struct {
	n   *ir.Node
	act *ir.Node // nil without an activation
}

// result is the activation the op computes (after act).
func (q quantOp) result() *ir.Value {
	if q.act != nil {
		return q.act.Outputs[0]
	}
	return q.n.Outputs[0]
}

// inputs are the op's float activations (weights excluded).
func (q quantOp) inputs() []*ir.Value {
	if isOp(q.n, "Add") {
		return q.n.Inputs[:2]
	}
	return q.n.Inputs[:1]
}

// quantPlan is what will be quantised: the ops, the activations they read
// and compute (points), and the classes of activations that data movement
// joins, which share parameters.
type quantPlan struct {
	ops    []quantOp
	points []*ir.Value
	class  map[*ir.Value]int // point (and every movement-joined value) -> class
}

func isOp(n *ir.Node, op string) bool {
	return n != nil && n.Op == op && (n.Domain == "" || n.Domain == "ai.onnx")
}

// weights reports whether v is a constant float32 tensor of rank r.
func weights(v *ir.Value, r int) bool {
	return v != nil && v.IsConst() && v.DType == ir.Float32 && len(v.Shape) == r
}

// quantizable reports whether n is an op Quantize rewrites: a Conv of
// constant weights (and bias), a Gemm (transA 0, alpha and beta 1) or
// MatMul of constant 2-D weights, an Add of two run-time tensors of one
// shape (a residual sum).
func quantizable(n *ir.Node) bool {
	if len(n.Outputs) != 1 || n.Input(0) == nil || n.Input(0).DType != ir.Float32 || !n.Input(0).Shape.Known() {
		return false
	}
	switch {
	case isOp(n, "Conv"):
		w := n.Input(1)
		b := n.Input(2)
		return w != nil && weights(w, len(n.Inputs[0].Shape)) && (b == nil || weights(b, 1))
	case isOp(n, "Gemm"):
		b := n.Input(1)
		c := n.Input(2)
		return weights(b, 2) && n.AttrInt("transA", 0) == 0 && n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1 &&
			(c == nil || c.IsConst() && c.DType == ir.Float32 && c.Const.Len() == n.Outputs[0].Shape[1])
	case isOp(n, "MatMul"):
		return weights(n.Input(1), 2)
	case isOp(n, "Add"):
		a, b := n.Input(0), n.Input(1)
		return len(n.Inputs) == 2 && b != nil && !a.IsConst() && !b.IsConst() && a != b && b.DType == ir.Float32 && a.Shape.Equal(b.Shape)
	}
	return false
}

// movementData lists the inputs of n that its output merely rearranges
// (data movement and max pooling), or nil when n computes.
func movementData(n *ir.Node) []int {
	switch {
	case isOp(n, "Reshape"), isOp(n, "Identity"), isOp(n, "Flatten"), isOp(n, "Squeeze"), isOp(n, "Unsqueeze"),
		isOp(n, "Transpose"), isOp(n, "Expand"), isOp(n, "Slice"), isOp(n, "Split"), isOp(n, "Gather"):
		return []int{0}
	case isOp(n, "MaxPool"):
		return []int{0}
	case isOp(n, "ScatterND"):
		return []int{0, 2}
	case isOp(n, "Pad"):
		if n.AttrString("mode", "constant") == "constant" {
			return []int{0}
		}
	case isOp(n, "Concat"):
		all := make([]int, len(n.Inputs))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return nil
}

// plan finds the ops to quantise and the activation classes.
func plan(g *ir.Graph) *quantPlan {
	users := g.Users()
	pl := &quantPlan{class: map[*ir.Value]int{}}
	seen := map[*ir.Value]bool{}
	point := func(v *ir.Value) {
		if v != nil && !seen[v] {
			seen[v] = true
			pl.points = append(pl.points, v)
		}
	}
	for _, n := range g.Nodes {
		if !quantizable(n) {
			continue
		}
		q := quantOp{n: n}
		out := n.Outputs[0]
		if rd := users[out]; len(rd) == 1 && !g.IsOutput(out) && rd[0].Input(0) == out && (isOp(rd[0], "Relu") || constantClip(g, rd[0])) {
			q.act = rd[0]
		}
		pl.ops = append(pl.ops, q)
		for _, in := range q.inputs() {
			point(in)
		}
		point(q.result())
	}
	// Union-find over data movement: its input and output share a class.
	parent := map[*ir.Value]*ir.Value{}
	var find func(v *ir.Value) *ir.Value
	find = func(v *ir.Value) *ir.Value {
		p, ok := parent[v]
		if !ok || p == v {
			parent[v] = v
			return v
		}
		r := find(p)
		parent[v] = r
		return r
	}
	for _, n := range g.Nodes {
		for _, i := range movementData(n) {
			in := n.Input(i)
			if in == nil || in.IsConst() || in.DType != ir.Float32 {
				continue
			}
			for _, o := range n.Outputs {
				if o != nil && o.DType == ir.Float32 && !(isOp(n, "MaxPool") && o != n.Outputs[0]) {
					parent[find(o)] = find(in)
				}
			}
		}
	}
	ids := map[*ir.Value]int{}
	for _, p := range pl.points {
		r := find(p)
		if _, ok := ids[r]; !ok {
			ids[r] = len(ids)
		}
	}
	for v := range parent {
		if id, ok := ids[find(v)]; ok {
			pl.class[v] = id
		}
	}
	for _, p := range pl.points {
		pl.class[p] = ids[find(p)]
	}
	return pl
}

// constantClip reports whether n is a Clip with constant bounds.
func constantClip(g *ir.Graph, n *ir.Node) bool {
	if !isOp(n, "Clip") {
		return false
	}
	if g.Opset(n) < 11 {
		return true
	}
	for _, b := range n.Inputs[1:] {
		if b != nil && (!b.IsConst() || b.Const.Len() != 1) {
			return false
		}
	}
	return true
}

// clipBounds are an activation's bounds (-Inf/+Inf where open).
func clipBounds(g *ir.Graph, n *ir.Node) (lo, hi float64) {
	if isOp(n, "Relu") {
		return 0, math.Inf(1)
	}
	lo, hi = math.Inf(-1), math.Inf(1)
	if g.Opset(n) < 11 {
		return float64(n.AttrFloat("min", float32(lo))), float64(n.AttrFloat("max", float32(hi)))
	}
	if b := n.Input(1); b != nil {
		lo = b.Const.Float(0)
	}
	if b := n.Input(2); b != nil {
		hi = b.Const.Float(0)
	}
	return lo, hi
}

// actParams are one activation class's uint8 parameters.
type actParams struct {
	scale float32
	zero  int64
}

// uint8Params turns a range into asymmetric uint8 parameters: the range
// widened to include 0 (so that zero, padding's value, is exact), scale
// (max-min)/255, zero point round(-min/scale).
func uint8Params(lo, hi float64) actParams {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if !(hi > lo) {
		return actParams{scale: 1, zero: 0}
	}
	scale := float32((hi - lo) / 255)
	if scale == 0 || math.IsInf(float64(scale), 0) {
		scale = math.SmallestNonzeroFloat32
	}
	zero := int64(math.Max(0, math.Min(255, math.RoundToEven(-lo/float64(scale)))))
	return actParams{scale: scale, zero: zero}
}

// quantize is QuantizeLinear of v with p.
func (p actParams) quantize(v float32) int64 {
	return interp.Quantize(v, p.scale, p.zero, 0, 255)
}

// sortedClasses lists class ids in order.
func sortedClasses(ranges map[int][2]float64) []int {
	ids := make([]int, 0, len(ranges))
	for id := range ranges {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
