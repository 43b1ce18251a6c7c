package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/program"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/modelrun"
)

// addBuildFlags registers the flags of the verbs that build and run
// generated code (-threads, -keep, -tsmc-root); the returned function makes
// the Builder once the flags are parsed.
func addBuildFlags(fs *flag.FlagSet) func() (*program.Builder, error) {
	threads := intFlag(fs, "threads", 0, 0, maxThreads, "`N` worker threads of the compiled model, 0 for GOMAXPROCS")
	keep := fs.Bool("keep", false, "keep the temporary module and binary built from the generated code, and say where")
	root := fs.String("tsmc-root", "", "the tsmc module `DIR` generated code is built against (default $"+program.RootEnv+", else found from this binary)")
	goarch := fs.String("goarch", "", "cross-compile the generated code for `GOARCH` and run it through -exec (arm64: under qemu-aarch64)")
	execCmd := fs.String("exec", "", "`COMMAND` that runs binaries built for -goarch (default for arm64: qemu-aarch64)")
	return func() (*program.Builder, error) {
		src, err := program.LocateModule(*root)
		if err != nil {
			return nil, err
		}
		b := &program.Builder{Module: src, Keep: *keep, Threads: *threads, GOARCH: *goarch}
		switch {
		case *execCmd != "":
			b.Exec = strings.Fields(*execCmd)
		case *goarch == "arm64" && goruntime.GOARCH != "arm64":
			b.Exec = []string{"qemu-aarch64"}
		case *goarch != "" && *goarch != goruntime.GOARCH:
			return nil, usageError{fmt.Sprintf("-goarch %s: say with -exec how to run its binaries here", *goarch)}
		}
		if len(b.Exec) > 0 {
			if _, err := exec.LookPath(b.Exec[0]); err != nil {
				return nil, fmt.Errorf("-goarch %s needs %s to run its binaries: %v (Debian: apt-get install qemu-user)", *goarch, b.Exec[0], err)
			}
		}
		return b, nil
	}
}

// benchReport is the -json form of tsmc bench. Times are milliseconds per
// run; per-frame times divide them by the frames one run processes.
type benchReport struct {
	Model  string `json:"model"`
	Inputs string `json:"inputs"` // the data set folder, or "random"
	// Feedback lists the state outputs fed back as inputs between runs.
	Feedback map[string]string `json:"feedback,omitempty"`
	// Stream: the timed runs are Stream.Step calls (the state carried
	// inside the generated package) rather than runs with Feedback.
	Stream bool `json:"stream,omitempty"`
	// Profile lists every kernel of the generated code with -profile.
	Profile       []layerTime `json:"profile,omitempty"`
	Threads       int         `json:"threads"`
	ISA           string      `json:"isa"`   // kernels' instruction-set level ($TSMC_ISA lowers it)
	Rules         string      `json:"rules"` // CPU family of the default rules' table (runtime.RulesFamily)
	Iters         int         `json:"iters"`
	Warmup        int         `json:"warmup"`
	MedianMs      float64     `json:"median_ms"`
	MinMs         float64     `json:"min_ms"`
	Frames        int         `json:"frames,omitempty"`
	Segments      int         `json:"segments,omitempty"`
	PerFrameMs    float64     `json:"per_frame_ms,omitempty"`
	PerFrameMinMs float64     `json:"per_frame_min_ms,omitempty"`
	TimesMs       []float64   `json:"times_ms"`
	// OptimizeMs is reading the model and the pass pipeline, GenerateMs
	// code generation (together the compile time), BuildMs the go build
	// of the generated package and its runner.
	OptimizeMs      float64 `json:"optimize_ms"`
	GenerateMs      float64 `json:"generate_ms"`
	BuildMs         float64 `json:"build_ms"`
	ArenaBytes      int64   `json:"arena_bytes"`
	ActivationBytes int64   `json:"activation_bytes"`
	// Levels are the runs at the other kernel levels -isa named.
	Levels []levelTimes `json:"levels,omitempty"`
	// Default is the model with its default plans, timed beside the
	// tuned one with -ab.
	Default *defaultFigures `json:"default,omitempty"`
	*ORTFigures
}

// defaultFigures are the figures of the model with its default plans
// (-ab); Ratio and RatioMin are the tuned model's median and minimum over
// these.
type defaultFigures struct {
	MedianMs float64     `json:"median_ms"`
	MinMs    float64     `json:"min_ms"`
	TimesMs  []float64   `json:"times_ms"`
	Ratio    float64     `json:"ratio"`
	RatioMin float64     `json:"ratio_min"`
	Profile  []layerTime `json:"profile,omitempty"`
}

// levelTimes are the figures of a run at a kernel level -isa named
// beside the first.
type levelTimes struct {
	ISA        string    `json:"isa"`
	MedianMs   float64   `json:"median_ms"`
	MinMs      float64   `json:"min_ms"`
	PerFrameMs float64   `json:"per_frame_ms,omitempty"`
	TimesMs    []float64 `json:"times_ms"`
	Ratio      float64   `json:"ratio,omitempty"` // the median over onnxruntime's, with -ort
}

// ORTFigures (exported for JSON decoding of the embedded pointer) is the onnxruntime half of a bench -ort report.
type ORTFigures struct {
	ORTMedianMs float64   `json:"ort_median_ms"`
	ORTMinMs    float64   `json:"ort_min_ms"`
	ORTTimesMs  []float64 `json:"ort_times_ms"`
	// Ratio is tsmc's median over onnxruntime's; RatioMin the same of
	// the minima.
	Ratio    float64 `json:"ratio"`
	RatioMin float64 `json:"ratio_min"`
	// RelErr is the largest relative error of tsmc's outputs against
	// onnxruntime's on the first run; OutputRelErr per output.
	RelErr       jsonNumber            `json:"ort_rel_err"`
	OutputRelErr map[string]jsonNumber `json:"ort_output_rel_err"`
}

// layerTime is one kernel's share of a run under -profile.
type layerTime struct {
	Op       string  `json:"op"`
	Calls    float64 `json:"calls_per_run"`
	MsPerRun float64 `json:"ms_per_run"`
	MinMs    float64 `json:"min_ms"` // the fastest call
	Percent  float64 `json:"percent"`
	GFLOPs   float64 `json:"gflops"`
}

// profileReport turns the runner's kernel totals over iters timed runs into
// per-run figures; Percent is of the median run.
func profileReport(ops []modelrun.OpTime, iters int, medianMs float64) []layerTime {
	out := make([]layerTime, len(ops))
	for i, o := range ops {
		per := o.Ms / float64(iters)
		out[i] = layerTime{Op: o.Op, Calls: float64(o.Calls) / float64(iters), MsPerRun: per, MinMs: o.MinMs, GFLOPs: o.GFLOPs}
		if medianMs > 0 {
			out[i].Percent = 100 * per / medianMs
		}
	}
	return out
}

// printProfile lists the kernels by time per run, the most expensive first.
func printProfile(w io.Writer, layers []layerTime) {
	sorted := slices.Clone(layers)
	slices.SortStableFunc(sorted, func(a, b layerTime) int { return cmp.Compare(b.MsPerRun, a.MsPerRun) })
	fmt.Fprintf(w, "profile   %d kernels, most time first (ms per run, %% of the median run, GFLOP/s, fastest call):\n", len(sorted))
	for _, l := range sorted {
		fmt.Fprintf(w, "  %8.3f ms %5.1f%% %7.1f GFLOP/s %8.3f ms  %s\n", l.MsPerRun, l.Percent, l.GFLOPs, l.MinMs, l.Op)
	}
}

// printCompared lists each kernel's fastest call with the tuned plans
// and with the default ones (-ab), in the order they run.
func printCompared(w io.Writer, tuned, def []layerTime) {
	fmt.Fprintln(w, "tuned     fastest call per kernel with the tuned and the default plans (ms), in run order:")
	for i, l := range tuned {
		mark := ""
		if r := l.MinMs / def[i].MinMs; def[i].MinMs > 0 && (r < 0.97 || r > 1.03) {
			mark = fmt.Sprintf(" %+.0f%%", 100*(r-1))
		}
		fmt.Fprintf(w, "  %8.3f %8.3f%6s  %s\n", l.MinMs, def[i].MinMs, mark, l.Op)
	}
}

// benchOptions are the flags of tsmc bench.
type benchOptions struct {
	iters, warmup      *int
	json, profile, ort bool
	ab                 bool
	isa                string
	shapes             shapeFlags
	builder            func() (*program.Builder, error)
	tuned              func() (codegen.Planner, error)
}

func benchFlags(fs *flag.FlagSet) verb {
	o := &benchOptions{}
	o.iters = intFlag(fs, "n", 10, 1, maxRuns, "`RUNS` timed")
	o.warmup = intFlag(fs, "warmup", 2, 0, maxRuns, "untimed `RUNS` after the first one")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	fs.BoolVar(&o.profile, "profile", false, "time every kernel of the generated code over the timed runs and list them")
	fs.BoolVar(&o.ab, "ab", false, "with -tuning: also time the model with its default plans in the same process, the two taking turns"+
		" in blocks of 3 runs, and print tuned over default (with -profile, kernel by kernel)")
	fs.BoolVar(&o.ort, "ort", false, "also time onnxruntime (internal/ort) on the same inputs, threads and runs, and compare its outputs")
	fs.StringVar(&o.isa, "isa", isaDefault, "time the model at each of the comma-separated kernel `LEVELS`: "+isaDefault+
		" (the CPU's best, or $TSMC_ISA's) or a level to force, such as avx2 on an AVX-512 CPU; -profile and -ort's outputs are of the first")
	o.shapes = addShapeFlag(fs)
	o.builder = addBuildFlags(fs)
	o.tuned = addTuningFlag(fs)
	return o.run
}

func (o *benchOptions) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	path := args[0]
	levels, err := parseLevels(o.isa)
	if err != nil {
		return err
	}
	b, err := o.builder()
	if err != nil {
		return err
	}
	if b.Tuning, err = o.tuned(); err != nil {
		return err
	}
	if o.ab && b.Tuning == nil {
		return usageError{"-ab compares the tuned plans with the default ones: it needs -tuning"}
	}
	if o.ort {
		if err := findORT(b.Module); err != nil {
			return fmt.Errorf("-ort: %w", err)
		}
	}
	ds, dsDir, err := firstDataSet(path)
	if err != nil {
		return err
	}
	start := time.Now()
	g, err := tsmc.OptimizeContext(ctx, path, o.shapes, ds)
	if err != nil {
		return err
	}
	optimize := time.Since(start)
	inputs, err := benchInputs(g, ds)
	if err != nil {
		return fmt.Errorf("%s: %w", dsDir, err)
	}
	p, err := b.BuildContext(ctx, g)
	if err != nil {
		return err
	}
	defer p.Close()
	rep := benchReport{
		Model: path, Inputs: "random", Feedback: p.Feedback(), Iters: *o.iters, Warmup: *o.warmup,
		OptimizeMs: millis(optimize), GenerateMs: millis(p.Generate), BuildMs: millis(p.Build),
		ArenaBytes: p.Memory.ArenaBytes, ActivationBytes: p.Memory.ActivationBytes,
	}
	if ds != nil {
		rep.Inputs = dsDir
	}
	if dir := p.KeptDir(); dir != "" {
		fmt.Fprintf(stderr, "kept      %s (generated module in src/)\n", dir)
	}
	// an online model is timed as it is used, frame by frame through its
	// Stream (the state stays inside); onnxruntime gets the states fed back
	rep.Stream = len(rep.Feedback) > 0 && p.HasStream()
	if o.ab && len(rep.Feedback) > 0 {
		return fmt.Errorf("-ab: %s feeds outputs back as inputs; -ab times models without state only", path)
	}
	opts := program.BenchOptions{Threads: b.Threads, Warmup: *o.warmup, Iters: *o.iters,
		Feedback: rep.Feedback, Profile: o.profile, Stream: rep.Stream, Compare: o.ab}
	res, err := benchAt(p, inputs, opts, levels[0])
	if err != nil {
		return err
	}
	t := summarizeTimes(res.TimesMs)
	rep.Threads, rep.ISA, rep.Rules, rep.TimesMs, rep.MedianMs, rep.MinMs = res.Threads, res.ISA, res.Rules, res.TimesMs, t.MedianMs, t.MinMs
	if o.profile {
		rep.Profile = profileReport(res.Profile, *o.iters, t.MedianMs)
	}
	if o.ab {
		d := summarizeTimes(res.DefaultTimesMs)
		rep.Default = &defaultFigures{MedianMs: d.MedianMs, MinMs: d.MinMs, TimesMs: res.DefaultTimesMs}
		if d.MedianMs > 0 && d.MinMs > 0 {
			rep.Default.Ratio, rep.Default.RatioMin = t.MedianMs/d.MedianMs, t.MinMs/d.MinMs
		}
		if o.profile {
			rep.Default.Profile = profileReport(res.DefaultProfile, *o.iters, d.MedianMs)
		}
	}
	rep.Frames, rep.Segments = clipFrames(g)
	if rep.Frames > 0 {
		rep.PerFrameMs, rep.PerFrameMinMs = t.MedianMs/float64(rep.Frames), t.MinMs/float64(rep.Frames)
	}
	opts.Profile, opts.Compare = false, false
	for _, l := range levels[1:] {
		r, err := benchAt(p, inputs, opts, l)
		if err != nil {
			return err
		}
		t := summarizeTimes(r.TimesMs)
		lt := levelTimes{ISA: r.ISA, MedianMs: t.MedianMs, MinMs: t.MinMs, TimesMs: r.TimesMs}
		if rep.Frames > 0 {
			lt.PerFrameMs = t.MedianMs / float64(rep.Frames)
		}
		rep.Levels = append(rep.Levels, lt)
	}
	if o.ort {
		if rep.ORTFigures, err = benchORT(ctx, path, g, inputs, res, rep); err != nil {
			return err
		}
		for i := range rep.Levels {
			if rep.ORTMedianMs > 0 {
				rep.Levels[i].Ratio = rep.Levels[i].MedianMs / rep.ORTMedianMs
			}
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(stdout, rep)
	return nil
}

// isaDefault names, in -isa, the level the compiled model picks itself.
const isaDefault = "default"

// parseLevels splits -isa's list, checking each name.
func parseLevels(list string) ([]string, error) {
	known := []string{isaDefault, runtime.ISAAVX512, runtime.ISAAVX2, runtime.ISANEON, runtime.ISAGeneric}
	var levels []string
	for _, l := range strings.Split(list, ",") {
		l = strings.TrimSpace(l)
		if !slices.Contains(known, l) {
			return nil, usageError{fmt.Sprintf("-isa %s: %q is not one of %s", list, l, strings.Join(known, ", "))}
		}
		levels = append(levels, l)
	}
	return levels, nil
}

// benchAt runs p's benchmark with the kernels at level (isaDefault: the
// level the model picks), and fails when the CPU has no such level (the
// runtime then runs its best instead).
func benchAt(p *program.Program, inputs map[string]*ir.Tensor, o program.BenchOptions, level string) (*program.BenchResult, error) {
	if level != isaDefault {
		o.ISA = level
	}
	res, err := p.Bench(inputs, o)
	if err != nil {
		return nil, err
	}
	if level != isaDefault && res.ISA != level {
		return nil, fmt.Errorf("-isa %s: this CPU has no %s level; the kernels ran at %s", level, level, res.ISA)
	}
	return res, nil
}

// findORT checks that onnxruntime can run, pointing internal/ort at the tsmc
// module's node_modules when the working directory has none.
func findORT(src program.ModuleSource) error {
	if _, err := ort.NodeModules(); err != nil && src.Dir != "" {
		modules := filepath.Join(src.Dir, "internal", "ort", "node_modules")
		if _, statErr := os.Stat(filepath.Join(modules, "onnxruntime-node")); statErr == nil {
			os.Setenv("ORT_NODE_MODULES", modules)
		}
	}
	return ort.Available()
}

// benchORT runs onnxruntime like the compiled run (inputs, threads, warm-up,
// runs, feedback) and compares the first run's outputs.
func benchORT(ctx context.Context, path string, g *ir.Graph, inputs map[string]*ir.Tensor, res *program.BenchResult, rep benchReport) (*ORTFigures, error) {
	o, err := ort.RunContext(ctx, ort.Request{
		Model: path, Inputs: inputs, Threads: rep.Threads,
		Warmup: rep.Warmup, Iters: rep.Iters, Feedback: rep.Feedback,
	})
	if err != nil {
		return nil, err
	}
	t := summarizeTimes(o.TimesMs)
	r := &ORTFigures{ORTMedianMs: t.MedianMs, ORTMinMs: t.MinMs, ORTTimesMs: o.TimesMs, OutputRelErr: map[string]jsonNumber{}}
	if t.MedianMs > 0 && t.MinMs > 0 {
		r.Ratio, r.RatioMin = rep.MedianMs/t.MedianMs, rep.MinMs/t.MinMs
	}
	for _, out := range g.Outputs {
		want, ok := o.Outputs[out.Name]
		if !ok {
			return nil, fmt.Errorf("onnxruntime returned no output %q", out.Name)
		}
		got := res.Outputs[out.Name]
		if got == nil {
			return nil, fmt.Errorf("the compiled model returned no output %q", out.Name)
		}
		e, err := tsmc.RelativeError(got, ir.Float32s(out.Shape.Clone(), want))
		if err != nil {
			return nil, fmt.Errorf("output %q against onnxruntime: %w", out.Name, err)
		}
		r.OutputRelErr[out.Name] = jsonNumber(e)
		r.RelErr = max(r.RelErr, jsonNumber(e))
	}
	return r, nil
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printBench(w io.Writer, r benchReport) {
	fmt.Fprintf(w, "model     %s\n", r.Model)
	fmt.Fprintf(w, "inputs    %s\n", r.Inputs)
	if len(r.Feedback) > 0 {
		fmt.Fprintf(w, "state     %d outputs fed back as inputs between runs\n", len(r.Feedback))
	}
	fmt.Fprintf(w, "compile   %s (optimise %s, generate %s), go build %s; arena %s for %s of activations\n",
		seconds(r.OptimizeMs+r.GenerateMs), seconds(r.OptimizeMs), seconds(r.GenerateMs), seconds(r.BuildMs),
		byteSize(r.ArenaBytes), byteSize(r.ActivationBytes))
	perFrame := func(median float64) string {
		switch r.Frames {
		case 0:
			return ""
		case 1:
			return " (one frame per run)"
		}
		return fmt.Sprintf(" (%.2f ms per frame, %d frames)", median/float64(r.Frames), r.Frames)
	}
	how := ""
	if r.Stream {
		how = " (Stream.Step)"
	}
	fmt.Fprintf(w, "tsmc      median %.2f ms, min %.2f ms per run%s; %d threads, %s kernels, %s rules, %d runs after %d warm-up%s\n",
		r.MedianMs, r.MinMs, perFrame(r.MedianMs), r.Threads, r.ISA, r.Rules, r.Iters, r.Warmup, how)
	for _, l := range r.Levels {
		fmt.Fprintf(w, "%-9s median %.2f ms, min %.2f ms per run%s; %.2f x the %s median",
			l.ISA, l.MedianMs, l.MinMs, perFrame(l.MedianMs), l.MedianMs/r.MedianMs, r.ISA)
		if l.Ratio > 0 {
			fmt.Fprintf(w, ", %.2f x onnxruntime's", l.Ratio)
		}
		fmt.Fprintln(w)
	}
	if d := r.Default; d != nil {
		fmt.Fprintf(w, "default   median %.2f ms, min %.2f ms per run with the default plans in the same process (blocks of 3 runs"+
			" taking turns); tuned/default %.3f (median), %.3f (min)\n", d.MedianMs, d.MinMs, d.Ratio, d.RatioMin)
	}
	if len(r.Profile) > 0 {
		printProfile(w, r.Profile)
	}
	if r.Default != nil && len(r.Default.Profile) == len(r.Profile) && len(r.Profile) > 0 {
		printCompared(w, r.Profile, r.Default.Profile)
	}
	if r.ORTFigures == nil {
		return
	}
	fmt.Fprintf(w, "onnxrt    median %.2f ms, min %.2f ms per run%s\n", r.ORTMedianMs, r.ORTMinMs, perFrame(r.ORTMedianMs))
	fmt.Fprintf(w, "ratio     tsmc/onnxruntime %.2f (median), %.2f (min)\n", r.Ratio, r.RatioMin)
	names := make([]string, 0, len(r.OutputRelErr))
	for n := range r.OutputRelErr {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "agree     max rel err %.3g against onnxruntime", r.RelErr)
	if len(names) > 1 {
		worst := names[0]
		for _, n := range names {
			if r.OutputRelErr[n] > r.OutputRelErr[worst] {
				worst = n
			}
		}
		fmt.Fprintf(w, " (worst output %s of %d)", worst, len(names))
	}
	fmt.Fprintln(w)
}

func seconds(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}
