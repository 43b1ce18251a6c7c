package codegen_test

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/testmodels"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// onlineModel is the TSM online demo's network: one frame and ten shift
// states in, logits and ten states out.
const onlineModel = "tsm_mobilenetv2_jester_online"

// onlineModelDir finds the online model under $TSMC_MODELS or
// ../shared/models beside the checkout, or skips.
func onlineModelDir(tb testing.TB) string {
	return testmodels.Model(tb, onlineModel)
}

// compileOnline compiles the online model as package jester with the
// given data sets of its folder.
func compileOnline(tb testing.TB, dir string, sets ...string) *codegen.Package {
	var paths []string
	for _, s := range sets {
		paths = append(paths, filepath.Join(dir, s))
	}
	pkg, err := tsmc.Compile(filepath.Join(dir, "model.onnx"), tsmc.CompileOptions{Package: "jester", DataSets: paths})
	if err != nil {
		tb.Fatal(err)
	}
	if len(pkg.Stream) != 10 {
		tb.Fatalf("the online model's package has %d stream states, want 10: %v", len(pkg.Stream), pkg.Stream)
	}
	return pkg
}

// TestOnlineModelStream compiles the online model and runs its generated
// tests: a Stream over test_data_set_0 (frame 0, zero state) then
// test_data_set_1 (frame 1, fed frame 0's states) matches both expected
// logits within 1e-4; it equals Run fed its own states; interleaved,
// reset and concurrent Streams give a lone Stream's results.
func TestOnlineModelStream(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and tests the online model's package")
	}
	dir := onlineModelDir(t)
	pkg := compileOnline(t, dir, "test_data_set_0", "test_data_set_1")
	for k, st := range pkg.Stream { // the export numbers them in order
		if want := (codegen.StreamState{Input: fmt.Sprintf("i%d", k+1), Output: fmt.Sprintf("o%d", k+1)}); st != want {
			t.Errorf("state %d pairs %v, want %v", k, st, want)
		}
	}
	out := codegen.GoTestGenerated(t, pkg, "-run", "Stream")
	for _, want := range []string{
		"test_data_set_0: zero state, starts a sequence",
		"test_data_set_1: continues the sequence from test_data_set_0's state",
		"--- PASS: TestStreamDataSets", "--- PASS: TestStreamMatchesRun", "--- PASS: TestStreamsInterleaved",
		"--- PASS: TestStreamReset", "--- PASS: TestConcurrentStreams", "--- PASS: TestStreamInputErrors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the generated tests did not say %q:\n%s", want, out)
		}
	}
	for _, set := range []string{"test_data_set_0", "test_data_set_1"} {
		m := regexp.MustCompile(set + `: output "o0": relative error (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("%s: logits not checked:\n%s", set, out)
			continue
		}
		t.Logf("%s: logits relative error %s", set, m[1])
	}
}

// BenchmarkOnlineStepVsOnnxruntime times one Step of the online model's
// Stream against onnxruntime running the same model frame after frame with
// its state outputs fed back as inputs, at 1 and 2 threads. The generated
// package's BenchmarkStep runs in a child go test with -cpu set to the
// thread count (its Model uses GOMAXPROCS threads); onnxruntime gets the
// same intra-op thread count. The two alternate for three rounds of 50
// frames, and each reports its best round's median and its fastest frame,
// so that load from other processes, which comes and goes, disturbs the
// comparison less: ms/frame and ort-ms/frame (medians), ratio (of the
// medians) and ratio-min (of the fastest frames).
//
//	go test -run '^$' -bench OnlineStepVsOnnxruntime ./codegen/
func BenchmarkOnlineStepVsOnnxruntime(b *testing.B) {
	if err := ort.Available(); err != nil {
		b.Skipf("onnxruntime not available: %v", err)
	}
	dir := onlineModelDir(b)
	pkg := compileOnline(b, dir, "test_data_set_0")
	target := codegen.WriteGenerated(b, pkg)
	ds, err := onnx.LoadDataSet(filepath.Join(dir, "test_data_set_0"))
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]*ir.Tensor{}
	for k, name := range ds.InputNames {
		inputs[name] = ds.Inputs[k]
	}
	feedback := map[string]string{}
	for _, st := range pkg.Stream {
		feedback[st.Output] = st.Input
	}
	const frames, rounds = 50, 3
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			goMed, goMin, ortMed, ortMin := math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)
			for range rounds {
				med, fastest := goStepMs(b, target, threads, frames)
				goMed, goMin = min(goMed, med), min(goMin, fastest)
				res, err := ort.Run(ort.Request{
					Model: filepath.Join(dir, "model.onnx"), Inputs: inputs, Threads: threads,
					Warmup: 5, Iters: frames, Feedback: feedback,
				})
				if err != nil {
					b.Fatal(err)
				}
				ortMed, ortMin = min(ortMed, res.MedianMs), min(ortMin, res.MinMs)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(goMed, "ms/frame")
			b.ReportMetric(ortMed, "ort-ms/frame")
			b.ReportMetric(goMed/ortMed, "ratio")
			b.ReportMetric(goMin/ortMin, "ratio-min")
		})
	}
}

// goStepMs runs the generated package's BenchmarkStep for the given
// frames at -cpu threads and returns the median and the fastest Step in
// milliseconds.
func goStepMs(b *testing.B, target string, threads, frames int) (median, fastest float64) {
	b.Helper()
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkStep$", "-count", "1",
		"-benchtime", fmt.Sprintf("%dx", frames), "-cpu", strconv.Itoa(threads), target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	metric := func(unit string) float64 {
		m := regexp.MustCompile(`BenchmarkStep\S*\s+\d+\s.*?([0-9.]+) ` + unit).FindSubmatch(out)
		if m == nil {
			b.Fatalf("no %s in:\n%s", unit, out)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	return metric("median-ms/frame"), metric("min-ms/frame")
}
