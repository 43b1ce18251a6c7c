package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/runtime"
)

// TestVerifyCompiledByDefault runs verify without -engine: it must build
// and run the generated code, and say so in its JSON.
func TestVerifyCompiledByDefault(t *testing.T) {
	code, out, errOut := tsmcRun("verify", "-json", "-threads", "2", tinyModel)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	var r verifyReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if r.Engine != "compiled" || r.Passed != 2 || r.Failed != 0 {
		t.Errorf("engine %q, %d passed, %d failed; want compiled, 2, 0", r.Engine, r.Passed, r.Failed)
	}
	for _, d := range r.DataSets {
		if d.MaxErr > 1e-4 {
			t.Errorf("%s: relative error %g", d.Dir, d.MaxErr)
		}
	}
}

func benchJSON(t *testing.T, args ...string) benchReport {
	t.Helper()
	code, out, errOut := tsmcRun(append([]string{"bench", "-json"}, args...)...)
	if code != 0 {
		t.Fatalf("bench %v: exit %d: %s", args, code, errOut)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	return r
}

func TestBenchJSON(t *testing.T) {
	r := benchJSON(t, "-n", "3", "-warmup", "1", "-threads", "1", tinyModel)
	if r.Threads != 1 || r.Iters != 3 || len(r.TimesMs) != 3 || r.ISA == "" {
		t.Errorf("threads %d, iters %d, %d times, ISA %q; want 1, 3, 3 and an ISA", r.Threads, r.Iters, len(r.TimesMs), r.ISA)
	}
	if want := runtime.CPURulesFamily(); r.Rules != want {
		t.Errorf("rules %q, want this CPU's family %q", r.Rules, want)
	}
	if !(r.MinMs > 0 && r.MinMs <= r.MedianMs) {
		t.Errorf("min %g, median %g: want 0 < min <= median", r.MinMs, r.MedianMs)
	}
	// The tiny model's input [1,12,32,32] is a clip of 4 frames.
	if r.Frames != 4 || r.Segments != 4 || r.PerFrameMs != r.MedianMs/4 {
		t.Errorf("frames %d, segments %d, per frame %g for median %g", r.Frames, r.Segments, r.PerFrameMs, r.MedianMs)
	}
	if !strings.HasSuffix(r.Inputs, "test_data_set_0") || r.BuildMs <= 0 || r.ArenaBytes <= 0 || r.ORTFigures != nil {
		t.Errorf("inputs %q, build %g ms, arena %d, ort %v", r.Inputs, r.BuildMs, r.ArenaBytes, r.ORTFigures)
	}

	// The raw JSON carries the documented keys.
	_, out, _ := tsmcRun("bench", "-json", "-n", "1", "-warmup", "0", tinyModel)
	for _, key := range []string{`"median_ms"`, `"min_ms"`, `"threads"`, `"iters"`, `"per_frame_ms"`, `"frames"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s:\n%s", key, out)
		}
	}
}

// TestBenchProfile checks -profile: every kernel of the tiny model's
// generated code is listed with its time, and together they account for
// most of a run but never more than its slowest.
func TestBenchProfile(t *testing.T) {
	r := benchJSON(t, "-profile", "-n", "3", "-warmup", "1", "-threads", "1", tinyModel)
	if len(r.Profile) == 0 {
		t.Fatal("no profile")
	}
	var convs int
	var total float64
	for _, l := range r.Profile {
		if l.Calls <= 0 || l.MsPerRun <= 0 || l.Op == "" {
			t.Errorf("layer %+v: want calls, time and a name", l)
		}
		if strings.HasPrefix(l.Op, "conv ") {
			convs++
		}
		total += l.MsPerRun
	}
	if convs == 0 {
		t.Errorf("no convolution in the profile %+v", r.Profile)
	}
	slowest := slices.Max(r.TimesMs)
	if total > slowest {
		t.Errorf("kernels take %.3f ms per run, more than the slowest run (%.3f ms)", total, slowest)
	}
	_, out, _ := tsmcRun("bench", "-profile", "-n", "1", tinyModel)
	if !strings.Contains(out, "profile ") || !strings.Contains(out, "GFLOP/s") {
		t.Errorf("text report lacks the profile:\n%s", out)
	}
}

func TestBenchAgainstORT(t *testing.T) {
	if err := ort.Available(); err != nil {
		t.Skipf("onnxruntime not available: %v", err)
	}
	r := benchJSON(t, "-ort", "-n", "2", "-threads", "1", "../../testdata/tsm_tiny_mmaction/model.onnx")
	if r.ORTFigures == nil {
		t.Fatal("no onnxruntime figures")
	}
	if len(r.ORTTimesMs) != 2 || r.ORTMedianMs <= 0 || r.Ratio != r.MedianMs/r.ORTMedianMs {
		t.Errorf("onnxruntime times %v, median %g, ratio %g for tsmc median %g", r.ORTTimesMs, r.ORTMedianMs, r.Ratio, r.MedianMs)
	}
	if e, ok := r.OutputRelErr["logits"]; !ok || e > 1e-4 || r.RelErr != e {
		t.Errorf("relative error against onnxruntime %v (max %g)", r.OutputRelErr, r.RelErr)
	}
	code, out, errOut := tsmcRun("bench", "-ort", "-n", "1", tinyModel)
	if code != 0 || !strings.Contains(out, "tsmc/onnxruntime") || !strings.Contains(out, "against onnxruntime") {
		t.Errorf("text report: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestBenchISALevels checks -isa: the model timed at its own level and,
// beside it, at the pure-Go one every CPU has (JSON and text), and an
// error for a level this CPU lacks instead of figures of another.
func TestBenchISALevels(t *testing.T) {
	r := benchJSON(t, "-isa", "default,generic", "-n", "2", "-warmup", "0", "-threads", "1", tinyModel)
	if len(r.Levels) != 1 {
		t.Fatalf("levels %+v: want the generic run", r.Levels)
	}
	l := r.Levels[0]
	if l.ISA != runtime.ISAGeneric || len(l.TimesMs) != 2 || !(l.MinMs > 0 && l.MinMs <= l.MedianMs) || l.PerFrameMs != l.MedianMs/4 {
		t.Errorf("generic run %+v: want 2 times, 0 < min <= median, a quarter of the median per frame", l)
	}
	if r.ISA == "" || len(r.TimesMs) != 2 {
		t.Errorf("first run at %q with %d times", r.ISA, len(r.TimesMs))
	}
	code, out, errOut := tsmcRun("bench", "-isa", "generic", "-n", "1", "-warmup", "0", tinyModel)
	if code != 0 || !strings.Contains(out, "generic kernels") {
		t.Errorf("-isa generic: exit %d:\n%s%s", code, out, errOut)
	}
	lacking := runtime.ISANEON
	if goruntime.GOARCH == "arm64" {
		lacking = runtime.ISAAVX2
	}
	code, out, errOut = tsmcRun("bench", "-isa", "default,"+lacking, "-n", "1", "-warmup", "0", tinyModel)
	if code != 1 || !strings.Contains(errOut, "this CPU has no "+lacking+" level") {
		t.Errorf("-isa default,%s: exit %d, want 1 and the missing level named:\n%s%s", lacking, code, out, errOut)
	}
}

func TestBenchAndVerifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "-n", "0", tinyModel},
		{"bench", "-warmup", "-1", tinyModel},
		{"bench", "-threads", "-2", tinyModel},
		{"bench", tinyModel, tinyModel},
		{"bench", "-isa", "avx2,sse", tinyModel},
		{"verify", "-passes=false", tinyModel},
		{"verify", "-engine", "nope", tinyModel},
	} {
		if code, _, errOut := tsmcRun(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
	code, _, errOut := tsmcRun("verify", "-tsmc-root", t.TempDir(), tinyModel)
	if code != 1 || !strings.Contains(errOut, "not the tsmc module folder") {
		t.Errorf("-tsmc-root without tsmc: exit %d: %s", code, errOut)
	}
}

// TestBenchAB checks -ab: the model with its tuned plans and with its
// default ones timed in one process, each kernel listed under both; and
// that -ab without -tuning is a usage error.
func TestBenchAB(t *testing.T) {
	records := filepath.Join(t.TempDir(), "tuning.jsonl")
	if err := os.WriteFile(records, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := benchJSON(t, "-ab", "-profile", "-tuning", records, "-n", "4", "-threads", "1", tinyModel)
	d := r.Default
	if d == nil || len(d.TimesMs) != 4 || d.MedianMs <= 0 || d.Ratio != r.MedianMs/d.MedianMs || len(d.Profile) != len(r.Profile) {
		t.Fatalf("default figures %+v beside tuned median %g and %d kernels", d, r.MedianMs, len(r.Profile))
	}
	for i, l := range d.Profile {
		if l.Op != r.Profile[i].Op || l.MinMs <= 0 || l.MinMs > l.MsPerRun {
			t.Errorf("default kernel %+v beside tuned %+v", l, r.Profile[i])
		}
	}
	_, out, _ := tsmcRun("bench", "-ab", "-profile", "-tuning", records, "-n", "2", tinyModel)
	for _, want := range []string{"default   median", "tuned/default", "fastest call per kernel with the tuned and the default plans"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := tsmcRun("bench", "-ab", tinyModel); code != 2 || !strings.Contains(errOut, "-tuning") {
		t.Errorf("-ab without -tuning: exit %d, %q", code, errOut)
	}
}
