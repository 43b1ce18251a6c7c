package ir

import (
	"fmt"
	"sort"
)

// Value is an edge of the graph: a graph input, a constant, or the output of
// one node.
type Value struct {
	Name  string
	DType DType
	// Shape is the static shape; -1 marks a dimension not known yet.
	Shape Shape
	// DimParams holds the symbolic names of dimensions as the model file
	// gave them (dim_param), parallel to Shape; "" where the dimension is
	// fixed or unnamed. Only graph inputs and outputs carry them.
	DimParams []string
	// Const is the value of an initializer or folded constant; nil for
	// values computed at run time.
	Const *Tensor
}

// IsConst reports whether v holds a compile-time constant.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

func (v *Value) String() string {
	if v == nil {
		return "<none>"
	}
	return "%" + v.Name
}

// NewConst returns a constant value holding t.
func NewConst(name string, t *Tensor) *Value {
	return &Value{Name: name, DType: t.DType, Shape: t.Shape.Clone(), Const: t}
}

// AttrKind says which field of an Attr is set.
type AttrKind uint8

// Attribute kinds, as in ONNX.
const (
	AttrFloat AttrKind = iota + 1
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
	AttrStrings
)

// Attr is one typed attribute value.
type Attr struct {
	Kind    AttrKind
	Float   float32
	Int     int64
	String  string
	Tensor  *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Node is one operation.
type Node struct {
	Name string
	// Op is the operator type, such as "Conv".
	Op string
	// Domain is the operator set domain; "" is the default ONNX domain
	// (ai.onnx). tsmc's own fused operators live in the "tsmc" domain.
	Domain string
	// Inputs may hold nil for an omitted optional input.
	Inputs  []*Value
	Outputs []*Value
	Attrs   map[string]Attr
}

// Input returns input i, or nil when it is absent.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Describe names the node for error messages: name, op and domain.
func (n *Node) Describe() string {
	dom := n.Domain
	if dom == "" {
		dom = "ai.onnx"
	}
	name := n.Name
	if name == "" && len(n.Outputs) > 0 && n.Outputs[0] != nil {
		name = "→" + n.Outputs[0].Name
	}
	return fmt.Sprintf("node %q (%s, domain %s)", name, n.Op, dom)
}

// Errorf returns an error prefixed with the node's description.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", n.Describe(), fmt.Sprintf(format, args...))
}

// SetAttr sets an attribute, creating the map if needed.
func (n *Node) SetAttr(name string, a Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]Attr{}
	}
	n.Attrs[name] = a
}

// AttrInt returns an int attribute, or def when it is absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInt {
		return a.Int
	}
	return def
}

// AttrFloat returns a float attribute, or def when it is absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloat {
		return a.Float
	}
	return def
}

// AttrString returns a string attribute, or def when it is absent.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrString {
		return a.String
	}
	return def
}

// AttrInts returns an ints attribute and whether it is present.
func (n *Node) AttrInts(name string) ([]int64, bool) {
	a, ok := n.Attrs[name]
	if !ok || a.Kind != AttrInts {
		return nil, false
	}
	return a.Ints, true
}

// AttrFloats returns a floats attribute and whether it is present.
func (n *Node) AttrFloats(name string) ([]float32, bool) {
	a, ok := n.Attrs[name]
	if !ok || a.Kind != AttrFloats {
		return nil, false
	}
	return a.Floats, true
}

// AttrTensor returns a tensor attribute, or nil.
func (n *Node) AttrTensor(name string) *Tensor {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrTensor {
		return a.Tensor
	}
	return nil
}

// AttrNames returns the attribute names in sorted order.
func (n *Node) AttrNames() []string {
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Graph is a whole model.
type Graph struct {
	Name string
	// Opsets maps a domain ("" for ai.onnx) to its imported version.
	Opsets map[string]int64
	// Inputs are the run-time inputs (initializers are not listed here).
	Inputs  []*Value
	Outputs []*Value
	// Nodes are in topological order once Sort has run; the reader sorts.
	Nodes []*Node
	// Source names where the graph came from (a file path), for errors.
	Source string
}

// Opset returns the operator set version of node n's domain.
func (g *Graph) Opset(n *Node) int64 {
	return g.Opsets[n.Domain]
}

// Users maps every value to the nodes that read it, in node order.
func (g *Graph) Users() map[*Value][]*Node {
	u := map[*Value][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				u[in] = append(u[in], n)
			}
		}
	}
	return u
}

// Producers maps every node output to its node.
func (g *Graph) Producers() map[*Value]*Node {
	p := map[*Value]*Node{}
	for _, n := range g.Nodes {
		for _, out := range n.Outputs {
			if out != nil {
				p[out] = n
			}
		}
	}
	return p
}

// IsOutput reports whether v is a graph output.
func (g *Graph) IsOutput(v *Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// Constants returns the distinct constant values read by nodes or listed as
// outputs, in first-use order.
func (g *Graph) Constants() []*Value {
	seen := map[*Value]bool{}
	var cs []*Value
	add := func(v *Value) {
		if v.IsConst() && !seen[v] {
			seen[v] = true
			cs = append(cs, v)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			add(in)
		}
	}
	for _, o := range g.Outputs {
		add(o)
	}
	return cs
}

// ReplaceUses makes every reader of old (nodes and graph outputs) read nw.
func (g *Graph) ReplaceUses(old, nw *Value) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = nw
			}
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = nw
		}
	}
}

// Sort orders the nodes topologically, keeping the existing order where it
// is already valid. It fails on a cycle or on an input that nothing defines.
func (g *Graph) Sort() error {
	defined := map[*Value]bool{}
	for _, in := range g.Inputs {
		defined[in] = true
	}
	producer := g.Producers()
	pending := make([]*Node, len(g.Nodes))
	copy(pending, g.Nodes)
	out := make([]*Node, 0, len(g.Nodes))
	for len(pending) > 0 {
		progress := false
		rest := pending[:0]
		for _, n := range pending {
			ready := true
			for _, in := range n.Inputs {
				if in == nil || in.IsConst() || defined[in] {
					continue
				}
				if producer[in] == nil {
					return n.Errorf("input %q is never defined (not a graph input, initializer or node output)", in.Name)
				}
				ready = false
				break
			}
			if !ready {
				rest = append(rest, n)
				continue
			}
			for _, o := range n.Outputs {
				if o != nil {
					defined[o] = true
				}
			}
			out = append(out, n)
			progress = true
		}
		pending = rest
		if !progress {
			return pending[0].Errorf("is part of a cycle (%d nodes cannot be ordered)", len(pending))
		}
	}
	g.Nodes = out
	return nil
}
