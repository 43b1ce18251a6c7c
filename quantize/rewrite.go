package quantize

import (
	"math"
	"strconv"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Rewriting the float graph as a QDQ graph.

// weightRange is the symmetric int8 range of weights: -127..127, so that
// the scale maps the largest magnitude onto 127 and -128 never occurs.
const weightRange = 127

// editor adds nodes and fresh names to a graph.
type editor struct {
	g    *ir.Graph
	used map[string]bool
}

func newEditor(g *ir.Graph) *editor {
	e := &editor{g: g, used: map[string]bool{}}
	mark := func(vs []*ir.Value) {
		for _, v := range vs {
			if v != nil {
				e.used[v.Name] = true
			}
		}
	}
	mark(g.Inputs)
	mark(g.Outputs)
	for _, n := range g.Nodes {
		mark(n.Inputs)
		mark(n.Outputs)
	}
	return e
}

// name returns base, or base_2, base_3, ... when taken.
func (e *editor) name(base string) string {
	n := base
	for i := 2; e.used[n]; i++ {
		n = base + "_" + strconv.Itoa(i)
	}
	e.used[n] = true
	return n
}

func (e *editor) constant(base string, t *ir.Tensor) *ir.Value {
	return ir.NewConst(e.name(base), t)
}

// scaleZero makes the scale and zero point inputs of a Q/DQ pair: scalars
// for one value, 1-D otherwise.
func (e *editor) scaleZero(base string, scales []float32, dt ir.DType, zeros []int64) (*ir.Value, *ir.Value) {
	shape := ir.Shape{len(scales)}
	if len(scales) == 1 {
		shape = ir.Shape{}
	}
	s := e.constant(base+"_scale", ir.Float32s(shape, scales))
	z := e.constant(base+"_zero_point", &ir.Tensor{DType: dt, Shape: shape.Clone(), I64: zeros})
	return s, z
}

// dequantized makes a DequantizeLinear of the constant q (per axis when
// scales has more than one value) and returns its float output.
func (e *editor) dequantized(base string, q *ir.Tensor, scales []float32, axis int) (*ir.Value, *ir.Node) {
	qv := e.constant(base+"_quantized", q)
	s, z := e.scaleZero(base, scales, q.DType, make([]int64, len(scales)))
	out := &ir.Value{Name: e.name(base + "_dequantized")}
	n := &ir.Node{Name: out.Name, Op: "DequantizeLinear", Inputs: []*ir.Value{qv, s, z}, Outputs: []*ir.Value{out}}
	if len(scales) > 1 {
		n.SetAttr("axis", ir.Attr{Kind: ir.AttrInt, Int: int64(axis)})
	}
	return out, n
}

// rewrite turns g into its QDQ form with the classes' ranges.
func rewrite(g *ir.Graph, pl *quantPlan, ranges map[int][2]float64, res *Result) error {
	e := newEditor(g)
	params := map[int]actParams{}
	for _, c := range sortedClasses(ranges) {
		r := ranges[c]
		params[c] = uint8Params(r[0], r[1])
	}
	res.Activations = len(params)
	producers := g.Producers()
	var added []*ir.Node
	dead := map[*ir.Node]bool{}

	// Activations the output's range makes redundant go: the op writes
	// the activation's output itself.
	for i, q := range pl.ops {
		if q.act == nil {
			continue
		}
		p := params[pl.class[q.result()]]
		lo, hi := clipBounds(g, q.act)
		if (math.IsInf(lo, -1) || p.quantize(float32(lo)) <= 0) && (math.IsInf(hi, 1) || p.quantize(float32(hi)) >= 255) {
			q.n.Outputs[0] = q.act.Outputs[0]
			producers[q.act.Outputs[0]] = q.n
			dead[q.act] = true
			pl.ops[i].act = nil
			res.DroppedActivations++
		}
	}

	// Weights and biases.
	for _, q := range pl.ops {
		n := q.n
		switch {
		case isOp(n, "Conv"):
			res.Convs++
			x := params[pl.class[n.Inputs[0]]]
			w, scales := quantizeWeights(n.Inputs[1].Const, 0)
			wv, dq := e.dequantized(n.Inputs[1].Name, w, scales, 0)
			n.Inputs[1] = wv
			added = append(added, dq)
			if b := n.Input(2); b != nil {
				bv, bdq := e.bias(b, x.scale, scales)
				n.Inputs[2] = bv
				added = append(added, bdq)
			}
		case isOp(n, "Gemm"), isOp(n, "MatMul"):
			res.Denses++
			x := params[pl.class[n.Inputs[0]]]
			axis := 1 // weights [K, N]: per output column
			if isOp(n, "Gemm") && n.AttrInt("transB", 0) != 0 {
				axis = 0 // [N, K]
			}
			w, scales := quantizeWeights(n.Inputs[1].Const, axis)
			wv, dq := e.dequantized(n.Inputs[1].Name, w, scales, axis)
			n.Inputs[1] = wv
			added = append(added, dq)
			if b := n.Input(2); b != nil {
				bv, bdq := e.bias(b, x.scale, scales)
				n.Inputs[2] = bv
				added = append(added, bdq)
			}
		default:
			res.Adds++
		}
	}

	// A QuantizeLinear and DequantizeLinear pair on every point: its
	// readers read the dequantised value, which keeps the point's name
	// (so graph outputs keep theirs).
	isInput := map[*ir.Value]bool{}
	for _, in := range g.Inputs {
		isInput[in] = true
	}
	for _, v := range pl.points {
		p := params[pl.class[v]]
		s, z := e.scaleZero(v.Name, []float32{p.scale}, ir.Uint8, []int64{p.zero})
		quantized := &ir.Value{Name: e.name(v.Name + "_quantized")}
		if isInput[v] {
			deq := &ir.Value{Name: e.name(v.Name + "_dequantized")}
			for _, n := range g.Nodes {
				for i, in := range n.Inputs {
					if in == v {
						n.Inputs[i] = deq
					}
				}
			}
			added = append(added,
				&ir.Node{Name: quantized.Name, Op: "QuantizeLinear", Inputs: []*ir.Value{v, s, z}, Outputs: []*ir.Value{quantized}},
				&ir.Node{Name: deq.Name, Op: "DequantizeLinear", Inputs: []*ir.Value{quantized, s, z}, Outputs: []*ir.Value{deq}})
			continue
		}
		raw := &ir.Value{Name: e.name(v.Name + "_float")}
		prod := producers[v]
		for i, o := range prod.Outputs {
			if o == v {
				prod.Outputs[i] = raw
			}
		}
		added = append(added,
			&ir.Node{Name: quantized.Name, Op: "QuantizeLinear", Inputs: []*ir.Value{raw, s, z}, Outputs: []*ir.Value{quantized}},
			&ir.Node{Name: v.Name + "_dequantize", Op: "DequantizeLinear", Inputs: []*ir.Value{quantized, s, z}, Outputs: []*ir.Value{v}})
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	g.Nodes = append(kept, added...)
	return g.Sort()
}

// quantizeWeights quantises w symmetrically to int8 per output channel
// along axis (0 for conv weights [M, ...], the output axis of a matrix):
// scale = max|w| / 127, q = round(w / scale).
func quantizeWeights(w *ir.Tensor, axis int) (*ir.Tensor, []float32) {
	channels := w.Shape[axis]
	inner := w.Shape[axis+1:].Size()
	maxAbs := make([]float64, channels)
	for i, v := range w.F32 {
		c := i / inner % channels
		maxAbs[c] = math.Max(maxAbs[c], math.Abs(float64(v)))
	}
	scales := make([]float32, channels)
	for c, m := range maxAbs {
		scales[c] = float32(m / weightRange)
		if !(scales[c] > 0) || math.IsInf(float64(scales[c]), 0) {
			scales[c] = 1 // an all-zero channel
		}
	}
	q := &ir.Tensor{DType: ir.Int8, Shape: w.Shape.Clone(), I64: make([]int64, w.Len())}
	for i, v := range w.F32 {
		q.I64[i] = interp.Quantize(v, scales[i/inner%channels], 0, -weightRange, weightRange)
	}
	return q, scales
}

// bias quantises a float bias to int32 in units of x_scale × w_scale[c]
// (float32), as a DequantizeLinear of those scales; a bias of shape
// [1, N] keeps its shape, quantised along axis 1.
func (e *editor) bias(b *ir.Value, xScale float32, wScales []float32) (*ir.Value, *ir.Node) {
	scales := make([]float32, len(wScales))
	for c, s := range wScales {
		scales[c] = float32(xScale * s)
	}
	t := b.Const
	q := &ir.Tensor{DType: ir.Int32, Shape: t.Shape.Clone(), I64: make([]int64, t.Len())}
	for i, v := range t.F32 {
		s := scales[min(i, len(scales)-1)]
		q.I64[i] = int64(math.Max(math.MinInt32, math.Min(math.MaxInt32, math.RoundToEven(float64(v)/float64(s)))))
	}
	if len(scales) == 1 && t.Len() > 1 {
		for len(scales) < t.Len() {
			scales = append(scales, scales[0])
		}
	}
	return e.dequantized(b.Name, q, scales, len(t.Shape)-1)
}
