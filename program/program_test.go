package program

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/internal/testmodels"
	"github.com/tsmc-go/tsmc/internal/verifytest"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

func optimise(g *ir.Graph) error { return passes.Run(g, passes.Options{}) }

// bundledModel returns the model.onnx of a model in the module's testdata.
func bundledModel(name string) string {
	return filepath.Join("..", "testdata", name, "model.onnx")
}

// tinyModels lists the models of testdata.
func tinyModels(t *testing.T) []string {
	paths, err := filepath.Glob(bundledModel("*"))
	if err != nil || len(paths) < 8 {
		t.Fatalf("testdata holds %d models (%v), want the 8 tiny ones", len(paths), err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(filepath.Dir(p)))
	}
	return names
}

// optimisedWithInputs optimises a bundled model and returns it with its
// first data set's inputs by name.
func optimisedWithInputs(t *testing.T, name string) (*ir.Graph, map[string]*ir.Tensor, *onnx.DataSet) {
	t.Helper()
	path := bundledModel(name)
	ds, err := onnx.LoadDataSet(filepath.Join(filepath.Dir(path), "test_data_set_0"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := tsmc.Optimize(path, nil, ds)
	if err != nil {
		t.Fatal(err)
	}
	ordered, err := tsmc.DataSetInGraphOrder(g, ds)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]*ir.Tensor{}
	for i, in := range g.Inputs {
		inputs[in.Name] = ordered.Inputs[i]
	}
	return g, inputs, ds
}

// stateFeedback pairs the state outputs of a streaming model with the
// state inputs they feed on the next call, as codegen.StreamStates finds
// them without generating code; empty for a model without a Stream.
func stateFeedback(g *ir.Graph) map[string]string {
	states, err := codegen.StreamStates(g)
	if err != nil {
		return map[string]string{}
	}
	return feedbackPairs(states)
}

// TestStateFeedback: an offline model has no state; the online
// MobileNetV2's new buffers o1..o10 feed its buffer inputs i1..i10.
func TestStateFeedback(t *testing.T) {
	g, err := tsmc.Optimize(bundledModel("tsm_tiny_official"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fb := stateFeedback(g); len(fb) != 0 {
		t.Errorf("an offline model has no state, got feedback %v", fb)
	}
	online, err := tsmc.Optimize(verifytest.SharedModel(t, "tsm_mobilenetv2_jester_online"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := stateFeedback(online)
	if len(fb) != 10 {
		t.Errorf("%d pairs, want 10: %v", len(fb), fb)
	}
	for k := 1; k <= 10; k++ {
		if in := fb[fmt.Sprintf("o%d", k)]; in != fmt.Sprintf("i%d", k) {
			t.Errorf("o%d feeds %q, want i%d", k, in, k)
		}
	}
}

// emptyDir fails the test unless dir holds nothing.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind in the temporary folder: %s", e.Name())
	}
}

// TestCompiledEngineVerifiesTinyModels builds the generated code of every
// tiny model of testdata (the TSM variants too: temporal pool, non-local
// blocks, MobileNetV3, EfficientNet, online ResNeXt) and checks it on
// their data sets, then that nothing of the builds is left.
func TestCompiledEngineVerifiesTinyModels(t *testing.T) {
	tmp := t.TempDir()
	b := &Builder{TempDir: tmp, Threads: 2}
	for _, name := range tinyModels(t) {
		t.Run(name, func(t *testing.T) {
			verifytest.Check(t, bundledModel(name), tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
	emptyDir(t, tmp)
}

// TestCompiledEngineVerifiesQuantizedModels builds the generated code of
// the quantised models of testdata (QDQ models with onnxruntime's
// outputs) and checks it on their data sets: every output element within
// one quantisation step of onnxruntime's, as tsmc verify requires.
func TestCompiledEngineVerifiesQuantizedModels(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "quantized", "*", "model.onnx"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no quantised models in testdata (%v)", err)
	}
	b := &Builder{TempDir: t.TempDir(), Threads: 2}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			verifytest.Check(t, path, tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
}

// TestProgramBench runs the compiled tiny model with timing and checks the
// result against a lone run.
func TestProgramBench(t *testing.T) {
	g, inputs, ds := optimisedWithInputs(t, "tsm_tiny_official")
	tmp := t.TempDir()
	p, err := (&Builder{TempDir: tmp}).Build(g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Bench(inputs, BenchOptions{Threads: 1, Warmup: 1, Iters: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Threads != 1 || len(res.TimesMs) != 3 || res.TimesMs[0] <= 0 {
		t.Errorf("threads %d, times %v: want 1 thread and 3 positive times", res.Threads, res.TimesMs)
	}
	rel, err := tsmc.RelativeError(res.Outputs["logits"], ds.Outputs[0])
	if err != nil || rel > 1e-4 {
		t.Errorf("first run's logits: relative error %g, %v", rel, err)
	}
	if p.Memory.ArenaBytes <= 0 || p.Memory.ArenaBytes > p.Memory.ActivationBytes {
		t.Errorf("memory plan %+v: want an arena no larger than the activations", p.Memory)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	emptyDir(t, tmp)
	if _, err := p.Run(inputs); err == nil {
		t.Error("a closed program still runs")
	}
}

// TestProgramBenchStream times the tiny online model through its Stream:
// the offline tiny model has none, and asking it for one is an error.
func TestProgramBenchStream(t *testing.T) {
	build := func(name string) (*Program, map[string]*ir.Tensor, *ir.Graph) {
		g, inputs, _ := optimisedWithInputs(t, name)
		p, err := (&Builder{TempDir: t.TempDir()}).Build(g)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p, inputs, g
	}
	p, inputs, g := build("tsm_tiny_online")
	if !p.HasStream() {
		t.Fatal("the online model's package has no Stream")
	}
	if fb, want := p.Feedback(), stateFeedback(g); len(fb) == 0 || !maps.Equal(fb, want) {
		t.Errorf("Program.Feedback %v, want stateFeedback's %v", fb, want)
	}
	res, err := p.Bench(inputs, BenchOptions{Threads: 1, Warmup: 1, Iters: 3, Feedback: p.Feedback(), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TimesMs) != 3 || res.TimesMs[0] <= 0 || len(res.Outputs) != len(g.Outputs) {
		t.Errorf("times %v, %d outputs: want 3 positive times and %d outputs", res.TimesMs, len(res.Outputs), len(g.Outputs))
	}
	off, offInputs, _ := build("tsm_tiny_official")
	if off.HasStream() || len(off.Feedback()) != 0 {
		t.Errorf("the offline model's package has a Stream (feedback %v)", off.Feedback())
	}
	if _, err := off.Bench(offInputs, BenchOptions{Iters: 1, Stream: true}); err == nil || !strings.Contains(err.Error(), "no Stream") {
		t.Errorf("Stream bench of an offline model: error %v, want one saying it has no Stream", err)
	}
}

func TestLocateModule(t *testing.T) {
	t.Setenv(RootEnv, "")
	src, err := LocateModule("")
	if err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if src.Dir != here {
		t.Errorf("found the module at %q, want this checkout %q", src.Dir, here)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LocateModule(other); err == nil || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("a folder of another module: error %v, want one naming its module", err)
	}
	t.Setenv(RootEnv, t.TempDir())
	if _, err := LocateModule(""); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("%s without a go.mod: error %v", RootEnv, err)
	}
	t.Setenv(RootEnv, here)
	if src, err := LocateModule(""); err != nil || src.Dir != here {
		t.Errorf("%s=%s: %+v, %v", RootEnv, here, src, err)
	}
}

// TestBuildErrorIsShown builds against a fake tsmc module whose runtime
// package is empty: the go command's errors must come through, and the
// failed build must leave nothing behind.
func TestBuildErrorIsShown(t *testing.T) {
	fake := t.TempDir()
	files := map[string]string{
		"go.mod":                       "module github.com/tsmc-go/tsmc\n\ngo 1.24\n",
		"runtime/runtime.go":           "package runtime\n",
		"runtime/modelrun/modelrun.go": "package modelrun\n",
	}
	for name, text := range files {
		path := filepath.Join(fake, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := tsmc.Optimize(bundledModel("tsm_tiny_mmaction"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	_, err = (&Builder{Module: ModuleSource{Dir: fake}, TempDir: tmp}).Build(g)
	if err == nil {
		t.Fatal("built against an empty runtime")
	}
	for _, want := range []string{"go build", "tsm_tiny_mmaction", "undefined: runtime.", "-keep"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	emptyDir(t, tmp)
}

// TestCompiledSharedModels checks the generated code of every shared model
// on its data sets (ResNet50 not under -short).
func TestCompiledSharedModels(t *testing.T) {
	b := &Builder{TempDir: t.TempDir()}
	for _, name := range []string{
		"tsm_mobilenetv2_k400_8f_official", "tsm_mobilenetv2_k400_8f_mmaction",
		"tsm_mobilenetv2_jester_online", "tsm_resnet50_k400_8f_mmaction",
	} {
		t.Run(name, func(t *testing.T) {
			verifytest.Check(t, verifytest.SharedModel(t, name), tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
	emptyDir(t, b.TempDir)
}

// TestCompiledEngineArm64 cross-compiles the generated code for arm64 and
// verifies it under qemu user emulation: the NEON kernels on the data sets
// of the bundled models and, when present, of the online MobileNetV2.
func TestCompiledEngineArm64(t *testing.T) {
	if _, err := exec.LookPath("qemu-aarch64"); err != nil {
		t.Skipf("qemu-aarch64 not found (Debian: apt-get install qemu-user): %v", err)
	}
	b := &Builder{TempDir: t.TempDir(), GOARCH: "arm64", Exec: []string{"qemu-aarch64"}}
	models := []string{bundledModel("tsm_tiny_official"), bundledModel("tsm_tiny_mmaction"), bundledModel("tsm_tiny_online")}
	if !testing.Short() {
		online := filepath.Join(testmodels.Dir(), "tsm_mobilenetv2_jester_online", "model.onnx")
		if _, err := os.Stat(online); err == nil {
			models = append(models, online)
		} else {
			t.Logf("%s not present: %v", online, err)
		}
	}
	for _, path := range models {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			verifytest.Check(t, path, tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
}

// TestBuildStopsWhenCancelled cancels a build while the go command runs:
// the build returns the context's error, and neither its folder nor the
// go command's work folder is left in the temporary folder.
func TestBuildStopsWhenCancelled(t *testing.T) {
	g, _, _ := optimisedWithInputs(t, "tsm_tiny_official")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // not where the go command makes its work folder, which Build chooses
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() {
		defer close(started)
		for ctx.Err() == nil { // until go build has made its work folder
			if m, _ := filepath.Glob(filepath.Join(tmp, "tsmc-build-*", "gotmp", "go-build*")); len(m) > 0 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	p, err := (&Builder{TempDir: tmp}).BuildContext(ctx, g)
	<-started
	if err == nil {
		p.Close()
		t.Skip("the build finished before it could be cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	emptyDir(t, tmp)
}

// TestRunStopsWhenCancelled: a program built under a context that is then
// cancelled does not run, and says why.
func TestRunStopsWhenCancelled(t *testing.T) {
	g, inputs, _ := optimisedWithInputs(t, "tsm_tiny_official")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := (&Builder{TempDir: t.TempDir()}).BuildContext(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Run(inputs); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.Run(inputs); !errors.Is(err, context.Canceled) {
		t.Errorf("a run after the context ended: error %v, want context.Canceled", err)
	}
}
