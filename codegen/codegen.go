// Package codegen turns an optimised graph (after passes.Run, with static
// shapes) into a standalone Go package: model.go, written with jennifer,
// calls the tsmc runtime's kernels node by node with every shape, stride
// and arena offset a constant; weights.bin holds the weights, packed at
// compile time in the layout the kernels read, and is embedded; with data
// sets, model_test.go checks the generated code against them.
//
// Memory is planned statically: every tensor computed at run time gets an
// offset in one arena, shared with tensors whose lifetimes do not overlap
// (PlanOffsets); reshapes alias their input, graph inputs are read where
// the caller passes them. Output is deterministic: the same graph and
// options give byte-identical files.
package codegen

import (
	"fmt"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// Options configures Generate.
type Options struct {
	// Package is the Go package name (required).
	Package string
	// Model names the model in the package documentation, for instance
	// the folder it came from.
	Model string
	// DataSets, when given, are written to testdata/ and checked by the
	// generated model_test.go.
	DataSets []DataSet
	// Tuning gives the tuned plans of the planned layers (tuning
	// records); nil: every layer takes the default rules' plan.
	Tuning Planner
}

// Planner gives the tuned plans of a planned layer, one per ISA level and
// thread count it was tuned for (none: the default rules' plan). The
// plans must not depend on anything but w, so that generated code is
// deterministic.
type Planner interface {
	Plans(w tunerun.Workload) runtime.TunedPlans
}

// Layer is a planned layer of a graph: a convolution, depthwise
// convolution, fused block or dense layer whose plan tsmc tune measures.
type Layer struct {
	Node     string // the node's name
	Index    int    // its place in the graph
	Workload tunerun.Workload
}

// Layers lowers g without writing code and returns its planned layers in
// graph order, and the bytes a run reads: the weights plus the arena.
func Layers(g *ir.Graph) ([]Layer, int64, error) {
	p, err := lower(g, nil)
	if err != nil {
		return nil, 0, err
	}
	return p.layers, 4*int64(p.weights.size) + p.memoryPlan().ArenaBytes, nil
}

// DataSet is one set of inputs and expected outputs, in graph order.
// Outputs may be fewer than the graph's; those given are checked.
type DataSet struct {
	Name            string
	Inputs, Outputs []*ir.Tensor
}

// MemoryPlan summarises the static memory plan of a graph.
type MemoryPlan struct {
	// ArenaBytes is the size of the single activation arena.
	ArenaBytes int64
	// ActivationBytes is the sum of the sizes of all tensors the arena
	// holds (every intermediate and output tensor, and kernels'
	// temporaries): what the arena would need without reuse.
	ActivationBytes int64
	// PeakBytes is the largest total size of the tensors live at one step:
	// no plan without in-place operations needs less.
	PeakBytes int64
	// Buffers is the number of tensors placed in the arena.
	Buffers int
}

// Package is a generated Go package, in memory until Write.
type Package struct {
	// Name is the Go package name.
	Name string
	// Files maps slash-separated paths, relative to the package folder,
	// to their contents.
	Files map[string][]byte
	// Memory is the static memory plan.
	Memory MemoryPlan
	// WeightBytes is the size of weights.bin.
	WeightBytes int64
	// Steps counts the nodes lowered to kernel calls (reshapes are free).
	Steps int
	// Stream lists the shift states of an online model, which the
	// package's Stream carries from frame to frame; nil when the package
	// has no Stream.
	Stream []StreamState
}

// StreamState names a state input of an online model and the output that
// carries its value for the next frame.
type StreamState struct {
	Input, Output string
}

// PlanMemory lowers g without writing code and returns its memory plan
// (what tsmc inspect reports).
func PlanMemory(g *ir.Graph) (MemoryPlan, error) {
	p, err := lower(g, nil)
	if err != nil {
		return MemoryPlan{}, err
	}
	return p.memoryPlan(), nil
}

// StreamStates lowers g without writing code and returns the state
// inputs of its Stream paired with the outputs that carry their next
// value (Package.Stream), nil when g has no Stream.
func StreamStates(g *ir.Graph) ([]StreamState, error) {
	p, err := lower(g, nil)
	if err != nil {
		return nil, err
	}
	return p.streamStates(), nil
}

// streamStates names the pairs of p's stream plan.
func (p *program) streamStates() []StreamState {
	if p.stream == nil {
		return nil
	}
	var sts []StreamState
	for _, st := range p.stream.states {
		sts = append(sts, StreamState{Input: p.inputs[st.in].v.Name, Output: p.outputs[st.out].v.Name})
	}
	return sts
}

// Generate lowers an optimised graph and renders its package. Nodes that
// cannot be lowered are errors naming the node and op.
func Generate(g *ir.Graph, opts Options) (*Package, error) {
	if opts.Package == "" || PackageName(opts.Package) != opts.Package {
		why := "is not a valid Go package name"
		if opts.Package == "main" {
			why = "names a command, which no package can import"
		}
		return nil, fmt.Errorf("package name %q %s (try %q)", opts.Package, why, PackageName(opts.Package))
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("graph %s has no outputs: its package would compute nothing", g.Name)
	}
	p, err := lower(g, opts.Tuning)
	if err != nil {
		return nil, err
	}
	if err := checkDataSets(p, opts.DataSets); err != nil {
		return nil, err
	}
	materialized, fused := passes.ShiftCounts(g)
	sum := summary{
		model: opts.Model, inputs: p.inputs, outputs: p.outputs, stats: g.ComputeStats(),
		fused: fused, materialized: materialized, memory: p.memoryPlan(), weightBytes: 4 * int64(p.weights.size),
		stream: p.streamDoc(), tuning: p.tuningDoc(opts.Tuning != nil),
	}
	if sum.model == "" {
		sum.model = g.Name
	}
	model, err := renderModel(p, opts, sum)
	if err != nil {
		return nil, err
	}
	weights, err := p.weights.bytes()
	if err != nil {
		return nil, err
	}
	pkg := &Package{
		Name:        opts.Package,
		Files:       map[string][]byte{"model.go": model, "weights.bin": weights},
		Memory:      sum.memory,
		WeightBytes: sum.weightBytes,
		Steps:       len(p.steps),
	}
	dataSets := addDataSets(pkg.Files, opts.DataSets)
	test, err := renderTest(opts.Package, dataSets)
	if err != nil {
		return nil, err
	}
	pkg.Files["model_test.go"] = test
	if p.stream != nil {
		if pkg.Files["stream_test.go"], err = renderStreamTest(p, opts.Package, dataSets); err != nil {
			return nil, err
		}
		pkg.Stream = p.streamStates()
	}
	return pkg, nil
}

// tuningDoc says which layers took tuned plans, when the package was
// compiled with tuning records.
func (p *program) tuningDoc(tuning bool) string {
	if !tuning {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tuning: %d of the %d planned layers take tuned plans (tsmc tune),\n", len(p.tuned), len(p.layers))
	b.WriteString("each for the ISA level and thread count it was measured at (other\n")
	b.WriteString("levels and thread counts take the default rules' plan):\n\n")
	for _, t := range p.tuned {
		fmt.Fprintf(&b, "\t%d %s %q:\n", t.index, t.node.OpName(), t.node.Name)
		for _, tp := range t.plans {
			fmt.Fprintf(&b, "\t\t%s, %d threads: %v\n", tp.ISA, tp.Threads, tp.Plan)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// checkDataSets checks that every data set fits the compiled shapes.
func checkDataSets(p *program, sets []DataSet) error {
	check := func(ds DataSet, what string, ports []port, ts []*ir.Tensor) (given int, err error) {
		if len(ts) > len(ports) {
			return 0, fmt.Errorf("data set %s has %d %ss, the model %d", ds.Name, len(ts), what, len(ports))
		}
		for k, t := range ts {
			if t == nil {
				continue
			}
			pt := ports[k]
			if t.DType != ir.Float32 || !t.Shape.Equal(pt.v.Shape) || len(t.F32) != pt.v.Shape.Size() {
				return 0, fmt.Errorf("data set %s: %s %d (%q) is %v%v, the compiled model wants float32%v", ds.Name, what, k, pt.v.Name, t.DType, t.Shape, pt.v.Shape)
			}
			given++
		}
		return given, nil
	}
	for _, ds := range sets {
		ins, err := check(ds, "input", p.inputs, ds.Inputs)
		if err != nil {
			return err
		}
		if ins != len(p.inputs) {
			return fmt.Errorf("data set %s gives %d of the model's %d inputs", ds.Name, ins, len(p.inputs))
		}
		outs, err := check(ds, "output", p.outputs, ds.Outputs)
		if err != nil {
			return err
		}
		if outs == 0 {
			return fmt.Errorf("data set %s has no expected outputs", ds.Name)
		}
	}
	return nil
}

// addDataSets writes each data set as raw little-endian float32 files,
// testdata/<name>/input_K.bin and output_K.bin (outputs it does not give
// are left out), and returns the folder names, made unique, in order.
func addDataSets(files map[string][]byte, sets []DataSet) []string {
	ids := identSet{}
	var names []string
	for _, ds := range sets {
		name := ids.unique(dataSetFolder(ds.Name))
		names = append(names, name)
		for what, ts := range map[string][]*ir.Tensor{"input": ds.Inputs, "output": ds.Outputs} {
			for k, t := range ts {
				if t != nil {
					files[fmt.Sprintf("testdata/%s/%s_%d.bin", name, what, k)] = runtime.EncodeFloats(nil, t.F32)
				}
			}
		}
	}
	return names
}

// dataSetFolder makes a data set name a safe folder name.
func dataSetFolder(name string) string {
	var b strings.Builder
	for _, r := range name {
		if isIdentRune(r) || r == '_' || r == '-' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		s = "data_set"
	}
	return s
}

// summary is what the package documentation says about the model.
type summary struct {
	model           string
	inputs, outputs []port
	stats           ir.Stats
	fused           int
	materialized    int
	memory          MemoryPlan
	weightBytes     int64
	stream          string // streamDoc
	tuning          string // tuningDoc
}

// packageDoc is the package comment of model.go.
func (s summary) packageDoc(pkg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package %s runs the ONNX model %s.\n", pkg, s.model)
	b.WriteString("It was compiled to Go by tsmc: no cgo, no model file at run time; the\n")
	b.WriteString("weights are embedded (weights.bin, packed at compile time) and every\n")
	b.WriteString("shape and memory offset is a constant.\n\n")
	ports := func(title string, ps []port) {
		fmt.Fprintf(&b, "%s:\n\n", title)
		for _, pt := range ps {
			fmt.Fprintf(&b, "\t%-12s float32%v\n", pt.v.Name, pt.v.Shape)
		}
		b.WriteString("\n")
	}
	ports("Inputs (flat, row-major)", s.inputs)
	ports("Outputs", s.outputs)
	fmt.Fprintf(&b, "Cost: %d multiply-accumulates per run, %d parameters.\n", s.stats.MACs, s.stats.Params)
	fmt.Fprintf(&b, "Temporal shifts: %d fused into convolutions, %d materialised.\n", s.fused, s.materialized)
	fmt.Fprintf(&b, "Memory: an arena of %d bytes for %d bytes of activations (%d tensors);\n", s.memory.ArenaBytes, s.memory.ActivationBytes, s.memory.Buffers)
	fmt.Fprintf(&b, "%d bytes of weights.\n\n", s.weightBytes)
	b.WriteString("Use:\n\n")
	fmt.Fprintf(&b, "\tm, err := %s.New(%s.WithThreads(2))\n", pkg, pkg)
	b.WriteString("\tif err != nil { ... }\n\tdefer m.Close()\n")
	var params []string
	for _, pt := range s.inputs {
		params = append(params, pt.param)
	}
	fmt.Fprintf(&b, "\tout, err := m.Run(%s)\n\n", strings.Join(params, ", "))
	b.WriteString(s.stream)
	b.WriteString(s.tuning)
	b.WriteString("A Model may be used from several goroutines; its runs take turns (see Model).")
	return b.String()
}
