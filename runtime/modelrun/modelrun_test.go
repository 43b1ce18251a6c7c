package modelrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/runtime"
)

// counter is a streaming model: y = x + s and s' = s + 1, so the state it
// sees tells how often its output was fed back.
type counter struct {
	threads int
	seen    []float32 // s[0] of every run
	closed  bool
}

func (c *counter) Infer(in map[string][]float32) (map[string][]float32, error) {
	x, s := in["x"], in["s"]
	if len(x) != 2 || len(s) != 2 {
		return nil, fmt.Errorf("bad input lengths %d, %d", len(x), len(s))
	}
	c.seen = append(c.seen, s[0])
	return map[string][]float32{
		"y":     {x[0] + s[0], x[1] + s[1]},
		"s_out": {s[0] + 1, s[1] + 1},
	}, nil
}

func (c *counter) Threads() int { return c.threads }
func (c *counter) Close()       { c.closed = true }

func counterSpec(m *counter) Spec {
	return Spec{
		Inputs:  []runtime.TensorSpec{{Name: "x", Shape: []int{1, 2}}, {Name: "s", Shape: []int{2}}},
		Outputs: []runtime.TensorSpec{{Name: "y", Shape: []int{1, 2}}, {Name: "s_out", Shape: []int{2}}},
		New: func(threads int) (Model, error) {
			m.threads = max(threads, 1)
			return m, nil
		},
	}
}

func writeFloats(t *testing.T, dir, name string, v ...float32) File {
	t.Helper()
	path := filepath.Join(dir, name+".bin")
	if err := os.WriteFile(path, runtime.EncodeFloats(nil, v), 0o644); err != nil {
		t.Fatal(err)
	}
	return File{Name: name, File: path}
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := runtime.DecodeFloats(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRunWritesFirstOutputsAndFeedsStateBack(t *testing.T) {
	dir := t.TempDir()
	m := &counter{}
	req := Request{
		Inputs:   []File{writeFloats(t, dir, "x", 10, 20), writeFloats(t, dir, "s", 1, 2)},
		OutDir:   filepath.Join(dir, "out"),
		Threads:  3,
		Warmup:   2,
		Iters:    4,
		Feedback: map[string]string{"s_out": "s"},
	}
	resp, err := Run(counterSpec(m), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 2, 3, 4, 5, 6, 7}; fmt.Sprint(m.seen) != fmt.Sprint(want) {
		t.Errorf("states seen %v, want %v (first run, 2 warm-up, 4 timed, each fed the previous state)", m.seen, want)
	}
	if !m.closed || resp.Threads != 3 || len(resp.TimesMs) != 4 || resp.ISA != runtime.ISA() {
		t.Errorf("closed %v, threads %d, %d times, ISA %q; want closed, 3, 4, %q", m.closed, resp.Threads, len(resp.TimesMs), resp.ISA, runtime.ISA())
	}
	if want := runtime.CPURulesFamily(); resp.Rules != want {
		t.Errorf("rules %q, want this CPU's family %q", resp.Rules, want)
	}
	if len(resp.Outputs) != 2 || resp.Outputs[0].Name != "y" || resp.Outputs[1].Name != "s_out" {
		t.Fatalf("outputs %+v, want y then s_out", resp.Outputs)
	}
	if got := readFloats(t, resp.Outputs[0].File); fmt.Sprint(got) != "[11 22]" {
		t.Errorf("y of the first run = %v, want [11 22]", got)
	}
	if got := readFloats(t, resp.Outputs[1].File); fmt.Sprint(got) != "[2 3]" {
		t.Errorf("s_out of the first run = %v, want [2 3]", got)
	}
}

func TestRunFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	req := Request{Inputs: []File{writeFloats(t, dir, "x", 1, 2), writeFloats(t, dir, "s", 0, 0)}, Iters: 1}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "request.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runFile(counterSpec(&counter{}), path, &out); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		t.Fatalf("response %q: %v", out.String(), err)
	}
	if len(resp.TimesMs) != 1 || resp.Outputs != nil {
		t.Errorf("response %+v: want one time and no output files without out_dir", resp)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	x, s := writeFloats(t, dir, "x", 1, 2), writeFloats(t, dir, "s", 0, 0)
	short := writeFloats(t, dir, "short", 1)
	short.Name = "x"
	odd := filepath.Join(dir, "odd.bin")
	if err := os.WriteFile(odd, []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"missing input", Request{Inputs: []File{x}}, `no file for input "s"`},
		{"unknown input", Request{Inputs: []File{x, s, {Name: "z", File: x.File}}}, `no input "z"`},
		{"duplicate input", Request{Inputs: []File{x, s, x}}, "twice"},
		{"wrong length", Request{Inputs: []File{short, s}}, "got 1 values, want 2"},
		{"not float32", Request{Inputs: []File{{Name: "x", File: odd}, s}}, "multiple of 4"},
		{"missing file", Request{Inputs: []File{{Name: "x", File: filepath.Join(dir, "nope")}, s}}, "nope"},
		{"feedback output", Request{Inputs: []File{x, s}, Feedback: map[string]string{"nope": "s"}}, `no output "nope"`},
		{"feedback input", Request{Inputs: []File{x, s}, Feedback: map[string]string{"s_out": "nope"}}, `no input "nope"`},
		{"negative iters", Request{Inputs: []File{x, s}, Iters: -1}, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(counterSpec(&counter{}), c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestFeedbackMustFit(t *testing.T) {
	spec := Spec{
		Inputs:  []runtime.TensorSpec{{Name: "state", Shape: []int{1, 3}}},
		Outputs: []runtime.TensorSpec{{Name: "next", Shape: []int{1, 2}}},
	}
	err := checkFeedback(spec, map[string]string{"next": "state"})
	if err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("next [1,2] fed to state [1,3]: error %v, want a size mismatch", err)
	}
}

// TestRunTimesTheStream: with Stream, the first run is an Infer (its
// outputs are written) and the warm-up and timed runs are Steps of one
// stream on the frame input.
func TestRunTimesTheStream(t *testing.T) {
	dir := t.TempDir()
	m := &counter{}
	spec := counterSpec(m)
	var frames [][]float32
	spec.FrameInput = "x"
	spec.NewStep = func(got Model) func([]float32) ([]float32, error) {
		if got != m {
			t.Errorf("NewStep got %v, want the model", got)
		}
		return func(frame []float32) ([]float32, error) {
			frames = append(frames, frame)
			return frame, nil
		}
	}
	req := Request{
		Inputs: []File{writeFloats(t, dir, "x", 10, 20), writeFloats(t, dir, "s", 1, 2)},
		OutDir: filepath.Join(dir, "out"), Warmup: 2, Iters: 3,
		Feedback: map[string]string{"s_out": "s"}, Stream: true,
	}
	resp, err := Run(spec, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.seen) != 1 || len(frames) != 5 || len(resp.TimesMs) != 3 {
		t.Errorf("%d Infer runs, %d steps, %d times; want 1, 5, 3", len(m.seen), len(frames), len(resp.TimesMs))
	}
	for _, f := range frames {
		if fmt.Sprint(f) != "[10 20]" {
			t.Errorf("step got frame %v, want the x input [10 20]", f)
		}
	}
	if got := readFloats(t, resp.Outputs[0].File); fmt.Sprint(got) != "[11 22]" {
		t.Errorf("y of the first run = %v, want [11 22]", got)
	}
	spec.NewStep = nil
	if _, err := Run(spec, req); err == nil || !strings.Contains(err.Error(), "no Stream") {
		t.Errorf("Stream without NewStep: error %v, want one saying the model has no Stream", err)
	}
}

// planned is a model that knows whether it was built with tuned plans
// and runs one profiled kernel per Infer.
type planned struct {
	tuned bool
	log   *[]bool // which model ran, in order
	pool  *runtime.Pool
	buf   []float32
}

func (p *planned) Infer(in map[string][]float32) (map[string][]float32, error) {
	*p.log = append(*p.log, p.tuned)
	runtime.Add(p.pool, p.buf, p.buf, p.buf, runtime.Act{})
	return map[string][]float32{"y": in["x"]}, nil
}

func (p *planned) Threads() int { return 1 }
func (p *planned) Close()       { p.pool.Close() }

// TestRunCompares checks Request.Compare: a second model built with the
// default plans, both timed Iters times in alternating blocks, each with
// its own profile; and that it refuses fed-back outputs.
func TestRunCompares(t *testing.T) {
	dir := t.TempDir()
	var log []bool
	tuned := runtime.TunedPlans{{ISA: runtime.ISA(), Threads: 1, Plan: runtime.Plan{Channels: 7}}}
	spec := Spec{
		Inputs:  []runtime.TensorSpec{{Name: "x", Shape: []int{2}}},
		Outputs: []runtime.TensorSpec{{Name: "y", Shape: []int{2}}},
		New: func(int) (Model, error) {
			return &planned{tuned: tuned.For(1) != runtime.Plan{}, log: &log, pool: runtime.NewPool(1), buf: make([]float32, 64)}, nil
		},
	}
	req := Request{Inputs: []File{writeFloats(t, dir, "x", 1, 2)}, Warmup: 1, Iters: 7, Compare: true, Profile: true}
	resp, err := Run(spec, req)
	if err != nil {
		t.Fatal(err)
	}
	// the tuned model's first run and warm-up, the default one's, then
	// blocks of 3, the first model of a block alternating
	want := "TT DD TTTDDD DDDTTT TD"
	var got strings.Builder
	for i, tuned := range log {
		if i == 2 || i == 4 || i == 10 || i == 16 {
			got.WriteByte(' ')
		}
		c := byte('D')
		if tuned {
			c = 'T'
		}
		got.WriteByte(c)
	}
	if got.String() != want {
		t.Errorf("runs %s, want %s", got.String(), want)
	}
	if len(resp.TimesMs) != 7 || len(resp.DefaultTimesMs) != 7 {
		t.Errorf("%d and %d times, want 7 of each", len(resp.TimesMs), len(resp.DefaultTimesMs))
	}
	for _, p := range [][]OpTime{resp.Profile, resp.DefaultProfile} {
		if len(p) != 1 || p[0].Calls != 7 || !strings.HasPrefix(p[0].Op, "add") || p[0].MinMs <= 0 || p[0].MinMs*7 > p[0].Ms {
			t.Errorf("profile %+v, want the add kernel's 7 calls", p)
		}
	}
	req.Feedback = map[string]string{"y": "x"}
	if _, err := Run(spec, req); err == nil || !strings.Contains(err.Error(), "fed back") {
		t.Errorf("Compare with feedback: error %v", err)
	}
}
