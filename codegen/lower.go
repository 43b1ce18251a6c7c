package codegen

import (
	"fmt"
	"go/token"
	"go/types"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// storageKind says where a tensor lives while the model runs.
type storageKind uint8

const (
	inArena   storageKind = iota // at a planned offset of the Model's arena
	inInput                      // the caller's input slice
	inWeights                    // a constant in weights.bin
)

// elemType is how generated code sees a tensor's memory.
type elemType uint8

const (
	elemF32 elemType = iota // float32 (and bool as 0s and 1s)
	elemU8                  // uint8 activations (int8 ones with the sign bit flipped)
	elemI8                  // int8 weights
	elemI32                 // int32 weights and biases
)

// width is the size of an element in bytes.
func (t elemType) width() int {
	switch t {
	case elemU8, elemI8:
		return 1
	}
	return 4
}

// floatsFor is the number of floats that hold n elements of t.
func floatsFor(t elemType, n int) int { return (n*t.width() + 3) / 4 }

// storage is the memory of one tensor, shared by the tensors that alias it
// (reshapes and the like). A tensor of bytes takes whole floats of the
// arena or weights.bin.
type storage struct {
	kind   storageKind
	elem   elemType
	n      int // elements
	size   int // floats
	input  int // graph input index (inInput)
	weight *weightEntry
	live   Interval // steps during which it must stay intact (inArena)
	offset int      // arena offset in floats, set by plan
}

// Floats is the buffer's length in floats (ops.Buf).
func (s *storage) Floats() int { return s.size }

// Len is the buffer's length in elements (ops.Buf).
func (s *storage) Len() int { return s.n }

// step is the generated code of one node: Model fields, package-level
// declarations, statements run once by New, and statements run by every
// call of Run.
type step struct {
	node   *ir.Node
	index  int
	fields []jen.Code
	decls  []jen.Code
	setup  func(e *emitter) []jen.Code
	run    func(e *emitter) []jen.Code
}

// port is a graph input or output as the generated API shows it.
type port struct {
	v     *ir.Value
	field string // exported Go identifier (Outputs field, length const)
	param string // unexported identifier (Run parameter)
}

// program is a graph lowered to runtime calls with a memory plan.
type program struct {
	g       *ir.Graph
	weights *weightTable
	store   map[*ir.Value]*storage
	arena   []*storage // arena buffers, in order of definition
	steps   []*step
	inputs  []port
	outputs []port
	// arenaFloats is the planned arena size.
	arenaFloats int
	// stream is the streaming form of an online model (see stream.go),
	// or nil; streamWhy says why a model with shift states has none.
	stream    *streamPlan
	streamWhy string
	// planner gives the tuned plans of planned layers (nil: none);
	// layers lists every planned layer, tuned those that took a plan
	planner Planner
	layers  []Layer
	tuned   []tunedLayer
}

// tunedLayer is a planned layer that took tuned plans.
type tunedLayer struct {
	index    int
	node     *ir.Node
	workload tunerun.Workload
	plans    runtime.TunedPlans
}

// lower turns every node of an optimised graph into runtime calls and
// plans the arena, with the tuned plans planner gives (nil for none). It
// needs static shapes; a node it cannot lower is an error naming the
// node and op.
func lower(g *ir.Graph, planner Planner) (*program, error) {
	p := &program{g: g, weights: newWeightTable(), store: map[*ir.Value]*storage{}, planner: planner}
	if err := p.bindPorts(); err != nil {
		return nil, err
	}
	for i, n := range g.Nodes {
		st, err := p.lowerNode(n, i)
		if err != nil {
			return nil, err
		}
		if st != nil {
			st.node, st.index = n, i
			p.steps = append(p.steps, st)
		}
	}
	for _, o := range p.outputs { // outputs stay intact until copied out
		if _, err := p.operand(o.v, len(g.Nodes)); err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.v.Name, err)
		}
	}
	if err := p.plan(); err != nil {
		return nil, err
	}
	p.stream, p.streamWhy = planStream(p)
	return p, nil
}

// bindPorts checks the graph's inputs and outputs and names them.
func (p *program) bindPorts() error {
	ids := identSet{}
	for _, r := range reservedIdents {
		ids[r] = true
	}
	name := func(v *ir.Value, what string) (port, error) {
		if v.DType != ir.Float32 {
			return port{}, fmt.Errorf("graph %s %q has dtype %v; generated code takes and returns float32 only", what, v.Name, v.DType)
		}
		if !v.Shape.Known() {
			return port{}, fmt.Errorf("graph %s %q has shape %v with unknown dimensions; bind them with -shape", what, v.Name, v.Shape)
		}
		field := ids.unique(exportedIdent(v.Name))
		param := unexported(field)
		if reservedParams[param] || token.IsKeyword(param) || types.Universe.Lookup(param) != nil {
			param += "_"
		}
		return port{v: v, field: field, param: param}, nil
	}
	for i, v := range p.g.Inputs {
		pt, err := name(v, "input")
		if err != nil {
			return err
		}
		p.inputs = append(p.inputs, pt)
		p.store[v] = &storage{kind: inInput, n: v.Shape.Size(), size: v.Shape.Size(), input: i}
	}
	for _, v := range p.g.Outputs {
		pt, err := name(v, "output")
		if err != nil {
			return err
		}
		p.outputs = append(p.outputs, pt)
	}
	return nil
}

// reservedIdents are exported names the generated package declares
// itself; tensor identifiers avoid them (and their Len constants).
var reservedIdents = []string{"Model", "New", "Option", "WithThreads", "InputSpecs", "OutputSpecs", "Outputs", "Run", "Infer", "Close", "Threads",
	"Stream", "StreamOutputs", "NewStream"}

// reservedParams are the identifiers of the generated code that a Run
// parameter must not shadow (besides keywords and predeclared names).
var reservedParams = map[string]bool{
	"m": true, "a": true, "w": true, "p": true, "out": true, "err": true, "inputs": true,
	"name": true, "known": true, "spec": true, "ok": true,
	"runtime": true, "fmt": true, "math": true, "slices": true, "sync": true,
	"s": true, "cur": true, "next": true, "frame": true, // Stream.Step and step
}

// operand returns the storage of a value read by step i and extends its
// lifetime to i. Constants get a raw entry in weights.bin.
func (p *program) operand(v *ir.Value, i int) (*storage, error) {
	s, ok := p.store[v]
	if !ok {
		if !v.IsConst() {
			return nil, fmt.Errorf("value %q is read before it is computed", v.Name)
		}
		if v.DType != ir.Float32 && v.DType != ir.Bool {
			return nil, fmt.Errorf("constant %q has dtype %v; only float32 and bool tensors are read at run time", v.Name, v.DType)
		}
		s = &storage{kind: inWeights, n: v.Const.Len(), size: v.Const.Len(), weight: p.weights.raw(v)}
		p.store[v] = s
	}
	if s.kind == inArena {
		s.live.End = max(s.live.End, i)
	}
	return s, nil
}

// define gives the output v of step i a fresh arena buffer. Bool tensors
// live in the arena as float32 0s and 1s, uint8 and int8 ones as bytes
// (int8 with the sign bit flipped: the runtime's uint8 form).
func (p *program) define(v *ir.Value, i int) (*storage, error) {
	elem := elemF32
	switch v.DType {
	case ir.Float32, ir.Bool:
	case ir.Uint8, ir.Int8:
		elem = elemU8
	default:
		return nil, fmt.Errorf("output %q has dtype %v; only float32, bool, uint8 and int8 tensors are computed at run time", v.Name, v.DType)
	}
	if !v.Shape.Known() {
		return nil, fmt.Errorf("output %q has unknown shape %v", v.Name, v.Shape)
	}
	s := p.temp(floatsFor(elem, v.Shape.Size()), i, v)
	s.elem, s.n = elem, v.Shape.Size()
	return s, nil
}

// temp adds an arena buffer of n floats live from step i; v, if not nil,
// is the tensor it holds.
func (p *program) temp(n, i int, v *ir.Value) *storage {
	s := &storage{kind: inArena, n: n, size: n, live: Interval{Size: n, Start: i, End: i}}
	p.arena = append(p.arena, s)
	if v != nil {
		p.store[v] = s
	}
	return s
}

// read reports whether a node or the graph's outputs read v.
func (p *program) read(v *ir.Value) bool {
	if p.g.IsOutput(v) {
		return true
	}
	for _, n := range p.g.Nodes {
		if slices.Contains(n.Inputs, v) {
			return true
		}
	}
	return false
}

// plan places the arena buffers.
func (p *program) plan() error {
	bufs := make([]Interval, len(p.arena))
	for i, s := range p.arena {
		s.live.Size = s.size
		bufs[i] = s.live
	}
	offsets, total, err := PlanOffsets(bufs, alignFloats)
	if err != nil {
		return err
	}
	for i, s := range p.arena {
		s.offset = offsets[i]
	}
	p.arenaFloats = total
	return nil
}

// memoryPlan summarises the plan.
func (p *program) memoryPlan() MemoryPlan {
	m := MemoryPlan{ArenaBytes: 4 * int64(p.arenaFloats), Buffers: len(p.arena)}
	live := make([]int64, len(p.g.Nodes)+1)
	for _, s := range p.arena {
		m.ActivationBytes += 4 * int64(s.size)
		for i := s.live.Start; i <= s.live.End; i++ {
			live[i] += 4 * int64(s.size)
		}
	}
	m.PeakBytes = slices.Max(live)
	return m
}
