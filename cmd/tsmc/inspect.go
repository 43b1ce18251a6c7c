package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/graphviz"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
)

// tensorInfo describes a graph input or output.
type tensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// inspectReport is the -json form of tsmc inspect.
type inspectReport struct {
	Model         string           `json:"model"`
	Graph         string           `json:"graph"`
	Opsets        map[string]int64 `json:"opsets"`
	Inputs        []tensorInfo     `json:"inputs"`
	Outputs       []tensorInfo     `json:"outputs"`
	Nodes         int              `json:"nodes"`
	Ops           map[string]int   `json:"ops"`
	Params        int64            `json:"params"`
	ParamBytes    int64            `json:"param_bytes"`
	MACs          int64            `json:"macs"`
	ConstantBytes int64            `json:"constant_bytes"`
	// Passes lists the passes applied, in order (none with -passes=false).
	Passes []string `json:"passes"`
	// Shifts counts the TemporalShift ops recognize-shift found;
	// FusedShifts those the convs read through; ConstantBytesBefore is
	// the constant data of the graph as imported.
	Shifts              int   `json:"shifts"`
	FusedShifts         int   `json:"fused_shifts"`
	ConstantBytesBefore int64 `json:"constant_bytes_before"`
	// ArenaBytes is the activation arena of the generated code (whole
	// pipeline only) and ActivationBytes the sum of the tensors it holds;
	// MemoryError says why there is no plan.
	ArenaBytes      int64  `json:"arena_bytes,omitempty"`
	ActivationBytes int64  `json:"activation_bytes,omitempty"`
	MemoryError     string `json:"memory_error,omitempty"`
	// Quantized describes a quantised graph's int8 ops, weights and
	// activations.
	Quantized *quantInfo `json:"quantized,omitempty"`
}

// inspectOptions are the flags of tsmc inspect.
type inspectOptions struct {
	json, passes, print, dot bool
	after, svg, profile      string
	shapes                   shapeFlags
}

func inspectFlags(fs *flag.FlagSet) verb {
	o := &inspectOptions{}
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	fs.BoolVar(&o.passes, "passes", true, "run the optimisation pipeline; -passes=false shows the graph as imported")
	fs.StringVar(&o.after, "after", "", "stop the pipeline after the pass `NAME` ("+strings.Join(passes.PassNames(), ", ")+")")
	fs.BoolVar(&o.print, "print", false, "print the graph as IR text instead of the summary")
	fs.BoolVar(&o.dot, "dot", false, "print the graph as a Graphviz DOT picture instead of the summary")
	fs.StringVar(&o.svg, "svg", "", "also render the picture into the SVG `FILE` (needs Graphviz's dot command)")
	fs.StringVar(&o.profile, "profile", "", "with -dot or -svg: give each node its share of a run from the `FILE` that tsmc bench -profile -json wrote")
	o.shapes = addShapeFlag(fs)
	return o.run
}

func (o *inspectOptions) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	path := args[0]
	if n := countTrue(o.print, o.json, o.dot); n > 1 {
		return usageError{"-print, -json and -dot exclude each other"}
	}
	if o.after != "" && !o.passes {
		return usageError{"-after needs the pipeline; drop -passes=false"}
	}
	if o.profile != "" && (!o.dot && o.svg == "" || o.after != "" || !o.passes) {
		return usageError{"-profile needs -dot or -svg and the whole pipeline (no -after, no -passes=false)"}
	}
	if o.after != "" && !slices.Contains(passes.PassNames(), o.after) {
		return usageError{fmt.Sprintf("-after: no pass named %q (passes: %s)", o.after, strings.Join(passes.PassNames(), ", "))}
	}
	g, err := tsmc.Load(path, o.shapes)
	if err != nil {
		return err
	}
	constBefore := g.ComputeStats().ConstBytes
	var applied []string
	shifts := 0
	if o.passes {
		err := passes.Run(g, passes.Options{StopAfter: o.after, AfterPass: func(p passes.Pass, g *ir.Graph) error {
			applied = append(applied, p.Name)
			if p.Name == "recognize-shift" {
				shifts, _ = passes.ShiftCounts(g)
			}
			return ctx.Err()
		}})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if o.print {
		_, err := io.WriteString(stdout, g.Print())
		return err
	}
	if o.dot || o.svg != "" {
		done, err := drawGraph(g, path, o.profile, o.svg, o.dot, stdout, stderr)
		if err != nil || done {
			return err
		}
	}
	r := newInspectReport(path, g)
	r.Passes, r.Shifts, r.ConstantBytesBefore = applied, shifts, constBefore
	r.Quantized = quantSummary(g)
	_, r.FusedShifts = passes.ShiftCounts(g)
	if o.passes && o.after == "" {
		if m, err := codegen.PlanMemory(g); err != nil {
			r.MemoryError = err.Error()
		} else {
			r.ArenaBytes, r.ActivationBytes = m.ArenaBytes, m.ActivationBytes
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printInspect(stdout, r, g.ComputeStats())
	return nil
}

func newInspectReport(path string, g *ir.Graph) inspectReport {
	st := g.ComputeStats()
	opsets := map[string]int64{}
	for d, v := range g.Opsets {
		if d == "" {
			d = "ai.onnx"
		}
		opsets[d] = v
	}
	return inspectReport{
		Model: path, Graph: g.Name, Opsets: opsets,
		Inputs: describe(g.Inputs), Outputs: describe(g.Outputs),
		Nodes: st.Nodes, Ops: st.Ops,
		Params: st.Params, ParamBytes: st.ParamBytes, MACs: st.MACs, ConstantBytes: st.ConstBytes,
	}
}

func describe(vs []*ir.Value) []tensorInfo {
	out := make([]tensorInfo, len(vs))
	for i, v := range vs {
		out[i] = tensorInfo{Name: v.Name, DType: v.DType.String(), Shape: append([]int{}, v.Shape...)}
	}
	return out
}

func printInspect(w io.Writer, r inspectReport, st ir.Stats) {
	fmt.Fprintf(w, "model    %s\n", r.Model)
	fmt.Fprintf(w, "graph    %s\n", r.Graph)
	doms := make([]string, 0, len(r.Opsets))
	for d := range r.Opsets {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	fmt.Fprint(w, "opsets  ")
	for _, d := range doms {
		fmt.Fprintf(w, " %s=%d", d, r.Opsets[d])
	}
	fmt.Fprintln(w)
	for _, in := range r.Inputs {
		fmt.Fprintf(w, "input    %s %s%v\n", in.Name, in.DType, ir.Shape(in.Shape))
	}
	for _, out := range r.Outputs {
		fmt.Fprintf(w, "output   %s %s%v\n", out.Name, out.DType, ir.Shape(out.Shape))
	}
	if len(r.Passes) > 0 {
		fmt.Fprintf(w, "passes   %s\n", strings.Join(r.Passes, " "))
		fmt.Fprintf(w, "shifts   %d recognised, %d fused into convs\n", r.Shifts, r.FusedShifts)
	}
	fmt.Fprintf(w, "nodes    %d\n", r.Nodes)
	fmt.Fprint(w, "ops     ")
	for _, op := range st.SortedOps() {
		fmt.Fprintf(w, " %s:%d", op, r.Ops[op])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "params   %d (%s)\n", r.Params, byteSize(r.ParamBytes))
	if len(r.Passes) > 0 {
		fmt.Fprintf(w, "consts   %s (%s as imported)\n", byteSize(r.ConstantBytes), byteSize(r.ConstantBytesBefore))
	} else {
		fmt.Fprintf(w, "consts   %s\n", byteSize(r.ConstantBytes))
	}
	fmt.Fprintf(w, "MACs     %s\n", siCount(r.MACs))
	printQuant(w, r.Quantized)
	switch {
	case r.MemoryError != "":
		fmt.Fprintf(w, "memory   no plan: %s\n", r.MemoryError)
	case r.ArenaBytes > 0:
		fmt.Fprintf(w, "memory   arena %s for %s of activations\n", byteSize(r.ArenaBytes), byteSize(r.ActivationBytes))
	}
}

// byteSize renders a byte count with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// siCount renders a count with a decimal unit (M, G).
func siCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.3f G (%d)", float64(n)/1e9, n)
	case n >= 1e6:
		return fmt.Sprintf("%.3f M (%d)", float64(n)/1e6, n)
	}
	return fmt.Sprint(n)
}

func countTrue(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// drawGraph draws g for -dot (to stdout) and -svg (into svgPath), with the
// profile in the file profilePath when given; done says that the picture
// replaces the summary.
func drawGraph(g *ir.Graph, path, profilePath, svgPath string, printDot bool, stdout, stderr io.Writer) (done bool, err error) {
	opts := graphviz.Options{Title: path}
	if profilePath != "" {
		if opts.Profile, err = readProfile(profilePath); err != nil {
			return false, err
		}
	}
	var dot bytes.Buffer
	if err := graphviz.Write(&dot, g, opts); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if svgPath != "" {
		warnings, err := graphviz.WriteSVG(svgPath, dot.Bytes())
		if err != nil {
			return false, fmt.Errorf("-svg %s: %w", svgPath, err)
		}
		if warnings != "" {
			fmt.Fprintln(stderr, warnings)
		}
	}
	if !printDot {
		return false, nil
	}
	_, err = stdout.Write(dot.Bytes())
	return true, err
}

// readProfile reads the kernel profile of a tsmc bench -profile -json
// report.
func readProfile(path string) (graphviz.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return graphviz.Profile{}, fmt.Errorf("-profile: %w", err)
	}
	var rep benchReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return graphviz.Profile{}, fmt.Errorf("-profile %s: not a tsmc bench -json report: %w", path, err)
	}
	if len(rep.Profile) == 0 {
		return graphviz.Profile{}, fmt.Errorf("-profile %s: the report has no profile; make it with tsmc bench -profile -json", path)
	}
	p := graphviz.Profile{RunMs: rep.MedianMs}
	for _, l := range rep.Profile {
		k := graphviz.Kernel{Name: l.Op, Calls: l.Calls, Ms: l.MsPerRun, Percent: l.Percent}
		if l.Calls > 0 { // GFLOP/s is FLOPs x calls / time
			k.FLOPs = l.GFLOPs * 1e6 * l.MsPerRun / l.Calls
		}
		p.Kernels = append(p.Kernels, k)
	}
	return p, nil
}
