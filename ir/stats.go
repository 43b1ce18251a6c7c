package ir

import "sort"

// Stats summarises a graph's size and cost.
type Stats struct {
	// Nodes is the number of operations; Ops counts them by type
	// ("domain.Op" outside the default domain).
	Nodes int
	Ops   map[string]int
	// Params counts the elements of the float constants that feed weight
	// inputs (Conv, Gemm, MatMul, BatchNormalization and tsmc's fused ops);
	// ParamBytes is their size as stored at run time.
	Params     int64
	ParamBytes int64
	// ConstBytes is the size of all constant data: initializers and the
	// tensors of Constant nodes.
	ConstBytes int64
	// MACs counts multiply-accumulates of Conv, Gemm and MatMul nodes (and
	// ops that declare a cost through RegisterCost); it needs inferred shapes.
	MACs int64
}

// CostFunc returns the multiply-accumulate count of a node whose shapes are
// known, for ops outside the built-in list.
type CostFunc func(n *Node) int64

var costFuncs = map[string]CostFunc{}

// RegisterCost declares how to count the MACs of domain.op.
func RegisterCost(domain, op string, f CostFunc) { costFuncs[domainOp(domain, op)] = f }

// OpName is the op's name as Stats counts it: "Op" in the default domain,
// "domain.Op" elsewhere.
func (n *Node) OpName() string { return domainOp(n.Domain, n.Op) }

func domainOp(domain, op string) string {
	if domain == "" || domain == "ai.onnx" {
		return op
	}
	return domain + "." + op
}

// weightOps lists ops whose constant float inputs count as parameters.
var weightOps = map[string]bool{"Conv": true, "Gemm": true, "MatMul": true, "BatchNormalization": true, "ConvTranspose": true}

// ComputeStats counts ops, parameters, constant bytes and MACs.
func (g *Graph) ComputeStats() Stats {
	s := Stats{Nodes: len(g.Nodes), Ops: map[string]int{}}
	seenParam := map[*Value]bool{}
	for _, n := range g.Nodes {
		name := n.OpName()
		s.Ops[name]++
		if weightOps[name] || n.Domain == "tsmc" {
			for _, in := range n.Inputs {
				if in.IsConst() && (in.DType == Float32 || in.DType == Float64) && !seenParam[in] {
					seenParam[in] = true
					s.Params += int64(in.Const.Len())
					s.ParamBytes += in.Const.Bytes()
				}
			}
		}
		if n.Op == "Constant" && n.Domain == "" {
			for _, a := range n.Attrs {
				if a.Kind == AttrTensor {
					s.ConstBytes += a.Tensor.Bytes()
				}
			}
		}
		s.MACs += nodeMACs(n)
	}
	for _, c := range g.Constants() {
		s.ConstBytes += c.Const.Bytes()
	}
	return s
}

// nodeMACs is the multiply-accumulate count of one node, 0 when unknown.
func nodeMACs(n *Node) int64 {
	if f, ok := costFuncs[n.OpName()]; ok {
		return f(n)
	}
	if n.Domain != "" || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return 0
	}
	out := n.Outputs[0].Shape
	if !out.Known() {
		return 0
	}
	switch n.Op {
	case "Conv":
		w := n.Input(1)
		if w == nil || !w.Shape.Known() || len(w.Shape) < 2 {
			return 0
		}
		// Every output element takes Cin/group * prod(kernel) MACs.
		perOut := int64(1)
		for _, d := range w.Shape[1:] {
			perOut *= int64(d)
		}
		return int64(out.Size()) * perOut
	case "Gemm":
		a := n.Input(0)
		if a == nil || len(a.Shape) != 2 || !a.Shape.Known() {
			return 0
		}
		k := a.Shape[1]
		if n.AttrInt("transA", 0) != 0 {
			k = a.Shape[0]
		}
		return int64(out.Size()) * int64(k)
	case "MatMul":
		a := n.Input(0)
		if a == nil || len(a.Shape) == 0 || !a.Shape.Known() {
			return 0
		}
		return int64(out.Size()) * int64(a.Shape[len(a.Shape)-1])
	}
	return 0
}

// SortedOps returns the op names of s.Ops, most frequent first, then by name.
func (s Stats) SortedOps() []string {
	names := make([]string, 0, len(s.Ops))
	for k := range s.Ops {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if s.Ops[names[i]] != s.Ops[names[j]] {
			return s.Ops[names[i]] > s.Ops[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
