// Package modelrun is the main program of the binaries that tsmc verify and
// tsmc bench build around a generated package. The compiler writes a main
// of a few lines that describes the package to Main; the binary then reads
// a Request (a JSON file named on its command line), reads the inputs from
// raw little-endian float32 files, runs the Model once and writes that
// run's outputs, times further runs, and prints a Response as one JSON line.
//
// The compiler side (package program, github.com/tsmc-go/tsmc/program)
// writes the main and the Request and reads the Response with these same
// types.
package modelrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tsmc-go/tsmc/runtime"
)

// Model is the face of a generated Model that the runner uses.
type Model interface {
	Infer(inputs map[string][]float32) (map[string][]float32, error)
	Threads() int
	Close()
}

// Spec describes a generated package to the runner.
type Spec struct {
	Inputs, Outputs []runtime.TensorSpec
	// New builds a Model with the given number of threads (0: default).
	New func(threads int) (Model, error)
	// NewStep returns the Step of a new Stream of m for a package with a
	// generated Stream (online models), else it is nil; Step takes the
	// input FrameInput and carries the state inputs itself.
	NewStep    func(m Model) func(frame []float32) ([]float32, error)
	FrameInput string
}

// File names a tensor and the raw float32 file that holds it.
type File struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// Request is what one invocation of the runner does: build the Model, run
// it once on Inputs and write that run's outputs to OutDir, then run it
// Warmup more times untimed and Iters times timed.
type Request struct {
	Inputs  []File `json:"inputs"`
	OutDir  string `json:"out_dir"`
	Threads int    `json:"threads"`
	Warmup  int    `json:"warmup"`
	Iters   int    `json:"iters"`
	// Feedback feeds outputs of each run back as inputs of the next (by
	// output name to input name): the state of streaming models.
	Feedback map[string]string `json:"feedback,omitempty"`
	// Profile records the time of every kernel over the timed runs
	// (runtime.StartProfile).
	Profile bool `json:"profile,omitempty"`
	// Stream times Stream.Step on the frame input (Spec.NewStep), the
	// form an online model is used in, instead of Infer with Feedback;
	// the first run, whose outputs are written, is still an Infer.
	Stream bool `json:"stream,omitempty"`
	// Compare also builds the Model with its default plans (its layers
	// without their tuned ones, runtime.UseTunedPlans) and times both,
	// their runs alternating in blocks of compareBlock: Iters runs of
	// each. Not with Stream or Feedback.
	Compare bool `json:"compare,omitempty"`
}

// compareBlock is how many runs of one Model follow each other when
// Request.Compare alternates two: after the other's runs, the first of a
// block finds less of its data in the caches.
const compareBlock = 3

// OpTime is one kernel's share of the timed runs (runtime.OpTime).
type OpTime struct {
	Op     string  `json:"op"`
	Calls  int     `json:"calls"`
	Ms     float64 `json:"ms"`
	MinMs  float64 `json:"min_ms"` // the fastest call
	GFLOPs float64 `json:"gflops"`
}

// Response reports one invocation.
type Response struct {
	// Threads is the Model's worker count.
	Threads int `json:"threads"`
	// ISA is the instruction-set level of the kernels (runtime.ISA).
	ISA string `json:"isa"`
	// Rules is the CPU family whose fitted table the default plan rules
	// are (runtime.RulesFamily).
	Rules string `json:"rules"`
	// NewMs is the time New took; FirstMs the first run.
	NewMs   float64 `json:"new_ms"`
	FirstMs float64 `json:"first_ms"`
	// Outputs are the files of the first run's outputs, in the order of
	// Spec.Outputs.
	Outputs []File `json:"outputs"`
	// TimesMs are the timed runs, in order.
	TimesMs []float64 `json:"times_ms"`
	// Profile lists the kernels in the order they first ran, with their
	// total time over the timed runs, when the request asked for it.
	Profile []OpTime `json:"profile,omitempty"`
	// DefaultTimesMs and DefaultProfile are those of the Model with its
	// default plans (Request.Compare).
	DefaultTimesMs []float64 `json:"default_times_ms,omitempty"`
	DefaultProfile []OpTime  `json:"default_profile,omitempty"`
}

// Main runs the request named by the first command-line argument and
// prints the response on standard output; errors go to standard error with
// exit status 1.
func Main(spec Spec) {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: "+filepath.Base(os.Args[0])+" REQUEST.json")
		os.Exit(2)
	}
	if err := runFile(spec, os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runFile reads a request file, runs it and writes the response to w.
func runFile(spec Spec, path string, w io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	resp, err := Run(spec, req)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(resp)
}

// Run executes a request in this process.
func Run(spec Spec, req Request) (*Response, error) {
	if req.Warmup < 0 || req.Iters < 0 {
		return nil, fmt.Errorf("warmup %d and iters %d must not be negative", req.Warmup, req.Iters)
	}
	inputs, err := readInputs(spec, req.Inputs)
	if err != nil {
		return nil, err
	}
	if err := checkFeedback(spec, req.Feedback); err != nil {
		return nil, err
	}
	if req.Compare && (req.Stream || len(req.Feedback) > 0) {
		return nil, fmt.Errorf("compare: not for a model whose outputs are fed back")
	}
	start := time.Now()
	m, err := spec.New(req.Threads)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	resp := &Response{Threads: m.Threads(), ISA: runtime.ISA(), Rules: runtime.CPURulesFamily(), NewMs: millis(time.Since(start))}
	step := func() (map[string][]float32, float64, error) {
		start := time.Now()
		out, err := m.Infer(inputs)
		elapsed := millis(time.Since(start))
		if err != nil {
			return nil, 0, err
		}
		for o, i := range req.Feedback {
			inputs[i] = out[o]
		}
		return out, elapsed, nil
	}
	first, ms, err := step()
	if err != nil {
		return nil, err
	}
	if req.Stream {
		if spec.NewStep == nil {
			return nil, fmt.Errorf("stream: the model has no Stream")
		}
		next, frame := spec.NewStep(m), inputs[spec.FrameInput]
		step = func() (map[string][]float32, float64, error) {
			start := time.Now()
			_, err := next(frame)
			return nil, millis(time.Since(start)), err
		}
	}
	resp.FirstMs = ms
	if req.OutDir != "" {
		if resp.Outputs, err = writeOutputs(spec, req.OutDir, first); err != nil {
			return nil, err
		}
	}
	for i := 0; i < req.Warmup; i++ {
		if _, _, err := step(); err != nil {
			return nil, err
		}
	}
	resp.TimesMs = make([]float64, 0, req.Iters)
	if req.Compare {
		return resp, compare(spec, req, m, inputs, resp)
	}
	if req.Profile {
		runtime.StartProfile()
	}
	for i := 0; i < req.Iters; i++ {
		_, ms, err := step()
		if err != nil {
			runtime.StopProfile()
			return nil, err
		}
		resp.TimesMs = append(resp.TimesMs, ms)
	}
	if req.Profile {
		for _, o := range runtime.StopProfile() {
			resp.Profile = append(resp.Profile, OpTime{Op: o.Op, Calls: o.Calls, Ms: millis(o.Time), MinMs: millis(o.Min), GFLOPs: o.GFLOPs()})
		}
	}
	return resp, nil
}

// compare builds the Model with its default plans beside the tuned m
// (already warmed up), then times both on inputs, Iters runs of each in
// blocks of compareBlock, the block that goes first alternating.
func compare(spec Spec, req Request, m Model, inputs map[string][]float32, resp *Response) error {
	was := runtime.UseTunedPlans(false)
	d, err := spec.New(req.Threads)
	runtime.UseTunedPlans(was)
	if err != nil {
		return err
	}
	defer d.Close()
	for i := 0; i <= req.Warmup; i++ { // its first run and warm-up
		if _, err := d.Infer(inputs); err != nil {
			return err
		}
	}
	models := [2]Model{m, d}
	resp.DefaultTimesMs = make([]float64, 0, req.Iters)
	times := [2]*[]float64{&resp.TimesMs, &resp.DefaultTimesMs}
	profiles := [2]*[]OpTime{&resp.Profile, &resp.DefaultProfile}
	for done, block := 0, 0; done < req.Iters; block++ {
		n := min(compareBlock, req.Iters-done)
		for k := range 2 {
			side := k ^ block&1
			for range n {
				if req.Profile {
					runtime.StartProfile()
				}
				start := time.Now()
				_, err := models[side].Infer(inputs)
				ms := millis(time.Since(start))
				ops := runtime.StopProfile()
				if err != nil {
					return err
				}
				*times[side] = append(*times[side], ms)
				if req.Profile {
					if err := addProfile(profiles[side], ops); err != nil {
						return err
					}
				}
			}
		}
		done += n
	}
	return nil
}

// addProfile adds one run's kernel times to the totals of the runs
// before it (which ran the same kernels in the same order).
func addProfile(total *[]OpTime, run []runtime.OpTime) error {
	if *total == nil {
		*total = make([]OpTime, len(run))
		for i, o := range run {
			(*total)[i] = OpTime{Op: o.Op, MinMs: millis(o.Min)}
		}
	}
	if len(run) != len(*total) {
		return fmt.Errorf("compare: a run called %d kernels, the first %d", len(run), len(*total))
	}
	for i, o := range run {
		t := &(*total)[i]
		if o.Op != t.Op {
			return fmt.Errorf("compare: kernel %d of a run is %s, of the first %s", i, o.Op, t.Op)
		}
		t.Calls += o.Calls
		t.Ms += millis(o.Time)
		t.MinMs = min(t.MinMs, millis(o.Min))
		if t.Ms > 0 {
			t.GFLOPs = o.FLOPs * float64(t.Calls) / t.Ms / 1e6
		}
	}
	return nil
}

func millis(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// readInputs reads every input of the spec from its file, exactly once.
func readInputs(spec Spec, files []File) (map[string][]float32, error) {
	byName := map[string]string{}
	for _, f := range files {
		if _, dup := byName[f.Name]; dup {
			return nil, fmt.Errorf("input %q given twice", f.Name)
		}
		byName[f.Name] = f.File
	}
	inputs := map[string][]float32{}
	for _, in := range spec.Inputs {
		path, ok := byName[in.Name]
		if !ok {
			return nil, fmt.Errorf("no file for input %q", in.Name)
		}
		delete(byName, in.Name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		v, err := runtime.DecodeFloats(b)
		if err != nil {
			return nil, fmt.Errorf("input %q: %s: %w", in.Name, path, err)
		}
		if err := in.Check(v); err != nil {
			return nil, fmt.Errorf("input %s: %w", path, err)
		}
		inputs[in.Name] = v
	}
	for name := range byName {
		return nil, fmt.Errorf("the model has no input %q", name)
	}
	return inputs, nil
}

// checkFeedback requires every fed-back output to exist and to match the
// input it feeds in size.
func checkFeedback(spec Spec, feedback map[string]string) error {
	find := func(specs []runtime.TensorSpec, name string) (runtime.TensorSpec, bool) {
		for _, s := range specs {
			if s.Name == name {
				return s, true
			}
		}
		return runtime.TensorSpec{}, false
	}
	for o, i := range feedback {
		out, ok := find(spec.Outputs, o)
		if !ok {
			return fmt.Errorf("feedback: the model has no output %q", o)
		}
		in, ok := find(spec.Inputs, i)
		if !ok {
			return fmt.Errorf("feedback: the model has no input %q", i)
		}
		if out.Len() != in.Len() {
			return fmt.Errorf("feedback: output %v does not fit input %v", out, in)
		}
	}
	return nil
}

// writeOutputs writes each output as OutDir/output_K.bin, K its index in
// spec.Outputs.
func writeOutputs(spec Spec, dir string, out map[string][]float32) ([]File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := make([]File, len(spec.Outputs))
	for k, o := range spec.Outputs {
		v, ok := out[o.Name]
		if !ok {
			return nil, fmt.Errorf("the model returned no output %q", o.Name)
		}
		path := filepath.Join(dir, "output_"+strconv.Itoa(k)+".bin")
		if err := os.WriteFile(path, runtime.EncodeFloats(nil, v), 0o644); err != nil {
			return nil, err
		}
		files[k] = File{Name: o.Name, File: path}
	}
	return files, nil
}
