// Package interp is tsmc's reference interpreter: plain, obviously-correct
// Go kernels for every operator the ONNX reader accepts, run node by node.
// It is the oracle of the compiler: passes must not change its outputs and
// generated code must match them.
//
// Kernels compute float32 (plus float64 where Cast needs it, int64 and bool
// for index arithmetic) and derive output shapes from the actual inputs, so
// they do not depend on shape inference. Kernels never modify their inputs;
// outputs of pure data-movement ops (Reshape, Identity, ...) may share
// storage with their inputs.
package interp

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/tsmc-go/tsmc/ir"
)

// Kernel computes one node's outputs. opset is the version of the node's
// domain; inputs[i] is nil for an omitted optional input. Kernels return
// plain errors: Eval prefixes them with the node, op, domain and opset.
type Kernel func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error)

var registry = struct {
	sync.RWMutex
	kernels map[string]Kernel
}{kernels: map[string]Kernel{}}

// opKey names an op as Supported lists it: "Op" in the default domain,
// "domain.Op" elsewhere.
func opKey(domain, op string) string {
	if domain == "" || domain == "ai.onnx" {
		return op
	}
	return domain + "." + op
}

// Register installs the kernel of domain.op ("" or "ai.onnx" is the default
// ONNX domain), replacing any earlier one. Passes use it for their fused
// operators.
func Register(domain, op string, k Kernel) {
	registry.Lock()
	defer registry.Unlock()
	registry.kernels[opKey(domain, op)] = k
}

func lookup(domain, op string) Kernel {
	registry.RLock()
	defer registry.RUnlock()
	return registry.kernels[opKey(domain, op)]
}

// Supported lists the registered ops, "Op" or "domain.Op", sorted.
func Supported() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.kernels))
	for k := range registry.kernels {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

var _ ir.Evaluator = Eval

// Eval computes the outputs of node n from its input tensors; it matches
// ir.Evaluator. Every error names the node, op type, domain and opset.
func Eval(n *ir.Node, opset int64, inputs []*ir.Tensor) (outs []*ir.Tensor, err error) {
	where := func() string { return fmt.Sprintf("%s opset %d", n.Describe(), opset) }
	k := lookup(n.Domain, n.Op)
	if k == nil {
		return nil, fmt.Errorf("%s: the interpreter has no kernel for this op", where())
	}
	if (n.Domain == "" || n.Domain == "ai.onnx") && opset < 1 {
		return nil, fmt.Errorf("%s: no opset version for the ai.onnx domain", where())
	}
	for i, t := range inputs {
		if t == nil {
			continue
		}
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("%s: input %d: %v", where(), i, err)
		}
	}
	// A panic is a kernel bug; report it as an error with the node rather
	// than crash a long run.
	defer func() {
		if r := recover(); r != nil {
			outs = nil
			err = fmt.Errorf("%s: kernel panicked: %v\n%s", where(), r, debug.Stack())
		}
	}()
	outs, err = k(n, opset, inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(), err)
	}
	for i, out := range n.Outputs {
		if out == nil {
			continue
		}
		if i >= len(outs) || outs[i] == nil {
			return nil, fmt.Errorf("%s: output %d %q is not produced by this op", where(), i, out.Name)
		}
		if err := outs[i].Check(); err != nil {
			return nil, fmt.Errorf("%s: output %d: %v (kernel bug)", where(), i, err)
		}
	}
	return outs, nil
}

// Options tunes RunWith.
type Options struct {
	// AfterNode, when set, is called after each node with its outputs
	// (before intermediates are freed); returning an error stops the run.
	// Use it to compare intermediate values between two graphs.
	AfterNode func(n *ir.Node, outputs []*ir.Tensor) error
}

// Run executes g with the given inputs (by graph input name) and returns
// the graph outputs by name. Nodes run in their stored order; intermediate
// tensors are dropped after their last use. Kernels run on up to
// runtime.GOMAXPROCS goroutines.
func Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return RunWith(g, inputs, Options{})
}

// RunWith is Run with options.
func RunWith(g *ir.Graph, inputs map[string]*ir.Tensor, opt Options) (map[string]*ir.Tensor, error) {
	env := map[*ir.Value]*ir.Tensor{}
	if err := bindInputs(g, inputs, env); err != nil {
		return nil, err
	}
	lastUse := lastUses(g)
	needed := func(v *ir.Value) bool {
		_, read := lastUse[v]
		return read || g.IsOutput(v)
	}
	for i, n := range g.Nodes {
		outs, err := EvalWith(n, g.Opset(n), env)
		if err != nil {
			return nil, err
		}
		for j, v := range n.Outputs {
			if v == nil {
				continue
			}
			if err := checkDeclared(v, outs[j]); err != nil {
				return nil, n.Errorf("output %d: %v", j, err)
			}
			if needed(v) { // unread outputs (an unused Split part) are dropped at once
				env[v] = outs[j]
			}
		}
		if opt.AfterNode != nil {
			if err := opt.AfterNode(n, outs); err != nil {
				return nil, err
			}
		}
		for _, v := range n.Inputs {
			if v != nil && lastUse[v] == i {
				delete(env, v)
			}
		}
	}
	result := map[string]*ir.Tensor{}
	for _, o := range g.Outputs {
		t, err := valueTensor(o, env)
		if err != nil {
			return nil, fmt.Errorf("graph output: %v", err)
		}
		result[o.Name] = t
	}
	return result, nil
}

// bindInputs checks the given inputs against the graph's declared inputs
// and stores them in env.
func bindInputs(g *ir.Graph, inputs map[string]*ir.Tensor, env map[*ir.Value]*ir.Tensor) error {
	declared := map[string]bool{}
	var missing []string
	for _, in := range g.Inputs {
		declared[in.Name] = true
		t, ok := inputs[in.Name]
		if !ok || t == nil {
			missing = append(missing, in.Name)
			continue
		}
		if err := t.Check(); err != nil {
			return fmt.Errorf("graph input %q: %v", in.Name, err)
		}
		if err := checkDeclared(in, t); err != nil {
			return fmt.Errorf("graph input %q: %v", in.Name, err)
		}
		env[in] = t
	}
	if len(missing) > 0 {
		return fmt.Errorf("graph inputs not given: %s", strings.Join(missing, ", "))
	}
	for name := range inputs {
		if !declared[name] {
			return fmt.Errorf("%q is not a graph input", name)
		}
	}
	return nil
}

// checkDeclared checks a tensor against the dtype and shape its value
// declares; an undefined dtype, a nil shape and -1 dimensions accept
// anything.
func checkDeclared(v *ir.Value, t *ir.Tensor) error {
	if v.DType != ir.Undefined && v.DType != t.DType {
		return fmt.Errorf("%q is declared %v but the tensor is %v", v.Name, v.DType, t.DType)
	}
	if v.Shape == nil {
		return nil
	}
	ok := len(v.Shape) == len(t.Shape)
	for i := 0; ok && i < len(v.Shape); i++ {
		ok = v.Shape[i] < 0 || v.Shape[i] == t.Shape[i]
	}
	if !ok {
		return fmt.Errorf("%q is declared with shape %v but the tensor has shape %v", v.Name, v.Shape, t.Shape)
	}
	return nil
}

// EvalWith evaluates n (see Eval) on its inputs' tensors in env, or their
// constants; an input neither holds is an error naming the node.
func EvalWith(n *ir.Node, opset int64, env map[*ir.Value]*ir.Tensor) ([]*ir.Tensor, error) {
	args := make([]*ir.Tensor, len(n.Inputs))
	for j, v := range n.Inputs {
		if v == nil {
			continue
		}
		t, err := valueTensor(v, env)
		if err != nil {
			return nil, n.Errorf("input %d: %v", j, err)
		}
		args[j] = t
	}
	return Eval(n, opset, args)
}

func valueTensor(v *ir.Value, env map[*ir.Value]*ir.Tensor) (*ir.Tensor, error) {
	if v.IsConst() {
		return v.Const, nil
	}
	if t, ok := env[v]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("value %q has not been computed (graph not in order, or an input of nothing)", v.Name)
}

// lastUses maps every value a node reads to the index of the last node that
// reads it; graph outputs are never freed.
func lastUses(g *ir.Graph) map[*ir.Value]int {
	last := map[*ir.Value]int{}
	for i, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil {
				last[v] = i
			}
		}
	}
	for _, o := range g.Outputs {
		delete(last, o)
	}
	return last
}
