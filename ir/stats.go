package ir

import "sort"

// Stats summarises a graph's size and cost.
type Stats struct {
	// Nodes is the number of operations; Ops counts them by type
	// ("domain.Op" outside the default domain).
	Nodes int
	Ops   map[string]int
	// Params counts the elements of the constants that feed ops
	// registered with Params (their weights and biases: float32, or int8
	// and int32 in a quantised graph); ParamBytes is their size as stored
	// at run time.
	Params     int64
	ParamBytes int64
	// ConstBytes is the size of all constant data: initializers and the
	// tensors of Constant nodes.
	ConstBytes int64
	// MACs counts the multiply-accumulates of the ops registered with a cost;
	// it needs inferred shapes.
	MACs int64
}

// CostFunc returns the multiply-accumulate count of a node whose shapes are
// known.
type CostFunc func(n *Node) int64

// OpName is the op's name as Stats counts it: "Op" in the default domain,
// "domain.Op" elsewhere.
func (n *Node) OpName() string { return domainOp(n.Domain, n.Op) }

func domainOp(domain, op string) string {
	if domain == "" || domain == "ai.onnx" {
		return op
	}
	return domain + "." + op
}

// ComputeStats counts ops, parameters, constant bytes and MACs.
func (g *Graph) ComputeStats() Stats {
	s := Stats{Nodes: len(g.Nodes), Ops: map[string]int{}}
	seenParam := map[*Value]bool{}
	for _, n := range g.Nodes {
		name := n.OpName()
		s.Ops[name]++
		if info, _ := LookupOp(n.Domain, n.Op); info.Params {
			for _, in := range n.Inputs {
				if in.IsConst() && in.DType != Bool && !seenParam[in] {
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
		s.MACs += n.MACs()
	}
	for _, c := range g.Constants() {
		s.ConstBytes += c.Const.Bytes()
	}
	return s
}

// MACs is the multiply-accumulate count of the node from its op's cost
// rule, 0 when the op has none or the output shape is not known.
func (n *Node) MACs() int64 {
	info, _ := LookupOp(n.Domain, n.Op)
	if info.MACs == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil || !n.Outputs[0].Shape.Known() {
		return 0
	}
	return info.MACs(n)
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
