package ir

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Evaluator computes a node's outputs from its input tensors. Shape
// inference uses it to follow shape arithmetic (Shape, Gather, Concat,
// Range, ...) on small constant tensors; the reference interpreter provides
// one (interp.Eval). opset is the version of the node's domain. inputs holds
// nil for omitted optional inputs; the evaluator must not modify them.
type Evaluator func(n *Node, opset int64, inputs []*Tensor) ([]*Tensor, error)

// InferFunc sets the DType and Shape of node n's outputs. When it runs,
// every present input of n has a dtype and a fully known shape. Shape
// arguments held in inputs (a Reshape's target shape, a Slice's starts)
// are read with ctx.KnownInts or ctx.Known.
type InferFunc func(ctx *InferContext, n *Node) error

// Folding limits: a node whose inputs are all known is evaluated at compile
// time when each output has at most FoldLimit elements, or at most
// FoldLimitInt elements for integer and bool outputs (index tensors).
const (
	FoldLimit    = 1 << 16
	FoldLimitInt = 1 << 20
)

// Foldable reports whether a value of this type is small enough to be
// materialised at compile time.
func Foldable(dt DType, s Shape) bool {
	limit := FoldLimit
	if dt.IsInt() || dt == Bool {
		limit = FoldLimitInt
	}
	size := s.Size()
	return size >= 0 && size <= limit
}

// OpInfo is what the IR knows of an operator: its shape rule, its cost,
// and whether its constant float inputs are parameters (weights). Package
// ops registers every operator's from its table; the IR itself knows none.
type OpInfo struct {
	Infer InferFunc
	// MACs counts the node's multiply-accumulates once shapes are inferred;
	// nil counts none.
	MACs CostFunc
	// Params marks ops whose constant inputs are weights (ComputeStats).
	Params bool
}

type opKey struct{ domain, op string }

var (
	opsMu sync.RWMutex
	ops   = map[opKey]OpInfo{}
)

// RegisterOp sets what the IR knows of op in domain ("" is ai.onnx),
// replacing any earlier registration.
func RegisterOp(domain, op string, info OpInfo) {
	opsMu.Lock()
	defer opsMu.Unlock()
	ops[opKey{domainKey(domain), op}] = info
}

// LookupOp returns the registration of domain.op.
func LookupOp(domain, op string) (OpInfo, bool) {
	opsMu.RLock()
	defer opsMu.RUnlock()
	info, ok := ops[opKey{domainKey(domain), op}]
	return info, ok
}

func domainKey(domain string) string {
	if domain == "ai.onnx" {
		return ""
	}
	return domain
}

// SupportedOps lists the ops InferShapes knows, sorted: ai.onnx ops by bare
// name, ops of other domains as "domain.Op".
func SupportedOps() []string {
	opsMu.RLock()
	defer opsMu.RUnlock()
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, domainOp(k.domain, k.op))
	}
	sort.Strings(names)
	return names
}

// BindShapes fixes graph input shapes: shapes maps an input name to its full
// shape. Every symbolic (-1) dim left unbound afterwards is an error that
// lists them all (input name, dim index, dim_param name); a bound shape
// that contradicts a fixed dim or has the wrong rank is an error; an unknown
// input name is an error. The same dim_param bound to two different sizes
// is an error too. On error the graph is left unchanged.
func BindShapes(g *Graph, shapes map[string]Shape) error {
	byName := map[string]*Value{}
	for _, in := range g.Inputs {
		if in != nil {
			byName[in.Name] = in
		}
	}
	names := make([]string, 0, len(shapes))
	for name := range shapes {
		names = append(names, name)
	}
	sort.Strings(names)

	var problems []string
	bound := map[*Value]Shape{}
	for _, name := range names {
		in := byName[name]
		if in == nil {
			problems = append(problems, fmt.Sprintf("there is no graph input named %q (inputs: %s)", name, inputNames(g)))
			continue
		}
		s := shapes[name]
		if msg := bindingProblem(in, s); msg != "" {
			problems = append(problems, fmt.Sprintf("input %q: %s", name, msg))
			continue
		}
		bound[in] = s.Clone()
	}
	if len(problems) == 0 {
		problems = dimParamConflicts(g, bound)
	}
	if len(problems) > 0 {
		return fmt.Errorf("graph %s: cannot bind input shapes: %s", g.Name, strings.Join(problems, "; "))
	}
	if unbound := unboundDims(g, bound); len(unbound) > 0 {
		return fmt.Errorf("graph %s: unbound symbolic dimensions: %s; give the full shape of every input that has one",
			g.Name, strings.Join(unbound, ", "))
	}
	for in, s := range bound {
		in.Shape = s
	}
	return nil
}

func inputNames(g *Graph) string {
	var names []string
	for _, in := range g.Inputs {
		if in != nil {
			names = append(names, in.Name)
		}
	}
	return strings.Join(names, ", ")
}

// bindingProblem says why s cannot be bound to in, or "" when it can.
func bindingProblem(in *Value, s Shape) string {
	if in.Shape != nil && len(s) != len(in.Shape) {
		return fmt.Sprintf("shape %v has rank %d, the model declares rank %d (%v)", s, len(s), len(in.Shape), in.Shape)
	}
	for i, d := range s {
		if d < 0 || d > MaxElements {
			return fmt.Sprintf("dim %d of %v must be in [0, %d]", i, s, MaxElements)
		}
		if in.Shape != nil && in.Shape[i] >= 0 && in.Shape[i] != d {
			return fmt.Sprintf("dim %d is fixed to %d by the model, cannot bind it to %d", i, in.Shape[i], d)
		}
	}
	if s.Size() < 0 {
		return fmt.Sprintf("shape %v has more than %d elements", s, MaxElements)
	}
	return ""
}

// dimParamConflicts reports symbolic dims of one name bound to different sizes.
func dimParamConflicts(g *Graph, bound map[*Value]Shape) []string {
	type site struct {
		size  int
		input string
		dim   int
	}
	first := map[string]site{}
	var problems []string
	for _, in := range g.Inputs {
		s, ok := bound[in]
		if !ok {
			continue
		}
		for i, p := range in.DimParams {
			if p == "" || i >= len(s) || (in.Shape != nil && in.Shape[i] >= 0) {
				continue
			}
			if f, seen := first[p]; !seen {
				first[p] = site{s[i], in.Name, i}
			} else if f.size != s[i] {
				problems = append(problems, fmt.Sprintf("dim_param %q is bound to %d at input %q dim %d but to %d at input %q dim %d",
					p, f.size, f.input, f.dim, s[i], in.Name, i))
			}
		}
	}
	return problems
}

// unboundDims lists the input dims still unknown once bound is applied.
func unboundDims(g *Graph, bound map[*Value]Shape) []string {
	var out []string
	for k, in := range g.Inputs {
		if in == nil {
			out = append(out, fmt.Sprintf("graph input %d is nil", k))
			continue
		}
		s, ok := bound[in]
		if !ok {
			s = in.Shape
		}
		if s == nil {
			out = append(out, fmt.Sprintf("input %q has unknown rank", in.Name))
			continue
		}
		for i, d := range s {
			if d >= 0 {
				continue
			}
			param := "unnamed"
			if i < len(in.DimParams) && in.DimParams[i] != "" {
				param = in.DimParams[i]
			}
			out = append(out, fmt.Sprintf("input %q dim %d (%s)", in.Name, i, param))
		}
	}
	return out
}

// InferShapes sets DType and Shape of every node output, in node order. It
// needs every graph input shape fully known (see BindShapes) and the nodes
// sorted. eval may be nil; without it only constants and Shape outputs are
// known values, so shape arguments computed by other ops cannot be read.
// Graph outputs whose type the model declared must agree with the inferred
// one where the declaration is fixed.
func InferShapes(g *Graph, eval Evaluator) error {
	if unbound := unboundDims(g, nil); len(unbound) > 0 {
		return fmt.Errorf("graph %s: cannot infer shapes with unbound input dimensions: %s (bind them first)",
			g.Name, strings.Join(unbound, ", "))
	}
	// unboundDims has rejected nil inputs.
	for _, in := range g.Inputs {
		if in.DType == Undefined {
			return fmt.Errorf("graph %s: input %q has no dtype", g.Name, in.Name)
		}
	}
	declared := map[*Value]Value{}
	for _, o := range g.Outputs {
		if o != nil && !o.IsConst() {
			declared[o] = Value{DType: o.DType, Shape: o.Shape.Clone()}
		}
	}
	ctx := &InferContext{eval: eval, known: map[*Value]*Tensor{}, unknownWhy: map[*Value]string{}, rootCause: map[*Value]string{}}
	for _, n := range g.Nodes {
		if err := ctx.inferNode(g, n); err != nil {
			return err
		}
	}
	for _, o := range g.Outputs {
		d, ok := declared[o]
		if ok && !declaredAgrees(d, o) {
			return fmt.Errorf("graph %s: output %q is inferred as %s%v but the model declares %s%v",
				g.Name, o.Name, o.DType, o.Shape, d.DType, d.Shape)
		}
	}
	return nil
}

// declaredAgrees reports whether the inferred type of v matches the
// declared one d in every part d fixes.
func declaredAgrees(d Value, v *Value) bool {
	if d.DType != Undefined && d.DType != v.DType {
		return false
	}
	if d.Shape == nil {
		return true
	}
	if len(d.Shape) != len(v.Shape) {
		return false
	}
	for i, dim := range d.Shape {
		if dim >= 0 && dim != v.Shape[i] {
			return false
		}
	}
	return true
}

// InferContext is what a shape rule may read besides its node: the opset of
// the node's domain and the values whose data is known at compile time.
type InferContext struct {
	// Opset is the operator set version of the current node's domain.
	Opset int64

	eval  Evaluator
	known map[*Value]*Tensor
	// unknownWhy says why a node output is not known, for error messages;
	// rootCause names the first node (or run-time input) in the chain.
	unknownWhy map[*Value]string
	rootCause  map[*Value]string
}

// ConstContext is the context of an op read outside shape inference, as
// code generation does: the given opset, and only constants known.
func ConstContext(opset int64) *InferContext {
	return &InferContext{Opset: opset, known: map[*Value]*Tensor{}}
}

// Known returns the data of v when it is known at compile time (a
// constant, a Shape output, or the result of folding small known inputs),
// else nil.
func (c *InferContext) Known(v *Value) *Tensor {
	if v == nil {
		return nil
	}
	if v.Const != nil {
		return v.Const
	}
	return c.known[v]
}

// SetKnown records t as the data of v; rules whose output data follows from
// shapes alone (Shape, Constant) call it. t must match v's dtype and shape.
func (c *InferContext) SetKnown(v *Value, t *Tensor) {
	if v != nil {
		c.known[v] = t
	}
}

// KnownInput returns the data of input i of n. what names the input in
// errors, which say when it is absent or not known at compile time.
func (c *InferContext) KnownInput(n *Node, i int, what string) (*Tensor, error) {
	v := n.Input(i)
	if v == nil {
		return nil, n.Errorf("input %d (%s) is missing", i, what)
	}
	t := c.Known(v)
	if t == nil {
		why, ok := c.unknownWhy[v]
		if !ok {
			why = "it is a run-time input"
		}
		return nil, n.Errorf("input %d (%s) %v is not a known constant, so the output shape cannot be inferred: %s", i, what, v, why)
	}
	return t, nil
}

// KnownInts returns the data of input i of n, which must be known and of an
// integer type; what names the input in errors.
func (c *InferContext) KnownInts(n *Node, i int, what string) ([]int64, error) {
	t, err := c.KnownInput(n, i, what)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsInt() {
		return nil, n.Errorf("input %d (%s) must be an integer tensor, has dtype %v", i, what, t.DType)
	}
	if len(t.Shape) > 1 {
		return nil, n.Errorf("input %d (%s) must be 1-D, has shape %v", i, what, t.Shape)
	}
	return t.I64, nil
}

func (c *InferContext) inferNode(g *Graph, n *Node) error {
	for i, in := range n.Inputs {
		if in == nil {
			continue
		}
		if in.Const != nil && in.Shape == nil {
			in.Shape = append(Shape{}, in.Const.Shape...)
		}
		if in.Const != nil && in.DType == Undefined {
			in.DType = in.Const.DType
		}
		if in.DType == Undefined || in.Shape == nil || !in.Shape.Known() {
			return n.Errorf("input %d %v has no inferred type (%s%v); is it defined by an earlier node?", i, in, in.DType, in.Shape)
		}
	}
	c.Opset = g.Opset(n)
	if n.Domain == "" && c.Opset <= 0 {
		return n.Errorf("graph %s imports no version of the ai.onnx opset", g.Name)
	}
	info, _ := LookupOp(n.Domain, n.Op)
	rule := info.Infer
	if rule == nil {
		return n.Errorf("unsupported op at opset %d (no shape inference rule)", c.Opset)
	}
	for _, o := range n.Outputs {
		if o != nil {
			o.DType, o.Shape = Undefined, nil
			delete(c.known, o)
			delete(c.unknownWhy, o)
			delete(c.rootCause, o)
		}
	}
	if err := rule(c, n); err != nil {
		return err
	}
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		if o.DType == Undefined || o.Shape == nil || !o.Shape.Known() {
			return n.Errorf("shape rule left output %d %v without a type (%s%v)", i, o, o.DType, o.Shape)
		}
		for _, d := range o.Shape {
			if d > MaxElements {
				return n.Errorf("output %d %v has shape %v: dimension larger than %d", i, o, o.Shape, MaxElements)
			}
		}
		if o.Shape.Size() < 0 {
			return n.Errorf("output %d %v has shape %v: more than %d elements", i, o, o.Shape, MaxElements)
		}
	}
	return c.fold(n)
}

// fold computes the outputs of n when its inputs are all known and its
// outputs small, recording why not otherwise.
func (c *InferContext) fold(n *Node) error {
	var pending []*Value
	for _, o := range n.Outputs {
		if o != nil && c.known[o] == nil {
			pending = append(pending, o)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	// unknown records why the pending outputs stay unknown: directly, or
	// because of input in, whose root cause is carried along.
	unknown := func(root string, in *Value) error {
		why := root
		if in != nil {
			why = fmt.Sprintf("it is computed by %s from %v, which is not known at compile time because %s", n.Describe(), in, root)
		}
		for _, o := range pending {
			c.unknownWhy[o] = why
			c.rootCause[o] = root
		}
		return nil
	}
	inputs := make([]*Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		if in == nil {
			continue
		}
		if inputs[i] = c.Known(in); inputs[i] == nil {
			root, ok := c.rootCause[in]
			if !ok {
				root = fmt.Sprintf("%v is a run-time input", in)
			}
			return unknown(root, in)
		}
	}
	for _, o := range pending {
		if !Foldable(o.DType, o.Shape) {
			return unknown(fmt.Sprintf("output %v of %s has %d elements, too many to fold at compile time", o, n.Describe(), o.Shape.Size()), nil)
		}
	}
	if c.eval == nil {
		return unknown(fmt.Sprintf("no evaluator was given to fold %s", n.Describe()), nil)
	}
	outs, err := c.eval(n, c.Opset, inputs)
	if err != nil {
		return unknown(fmt.Sprintf("evaluating %s failed: %v", n.Describe(), err), nil)
	}
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		if i >= len(outs) || outs[i] == nil {
			return n.Errorf("evaluator returned no tensor for output %d %v", i, o)
		}
		t := outs[i]
		if t.DType != o.DType || !t.Shape.Equal(o.Shape) {
			return n.Errorf("evaluator computed %s%v for output %d %v but shape inference says %s%v",
				t.DType, t.Shape, i, o, o.DType, o.Shape)
		}
		if err := t.Check(); err != nil {
			return n.Errorf("evaluator output %d %v: %v", i, o, err)
		}
		c.known[o] = t
	}
	return nil
}
