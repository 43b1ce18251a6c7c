package tsmc_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/testmodels"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
)

func optimise(g *ir.Graph) error { return passes.Run(g, passes.Options{}) }

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

// TestCompiledEngineVerifiesTinyModels builds the generated code of both
// tiny models and checks it on their data sets, then that nothing of the
// builds is left.
func TestCompiledEngineVerifiesTinyModels(t *testing.T) {
	tmp := t.TempDir()
	b := &tsmc.Builder{TempDir: tmp, Threads: 2}
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction"} {
		t.Run(name, func(t *testing.T) {
			checkModel(t, filepath.Join("testdata", name, "model.onnx"), tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
	emptyDir(t, tmp)
}

// TestProgramBench runs the compiled tiny model with timing and checks the
// result against a lone run.
func TestProgramBench(t *testing.T) {
	path := filepath.Join("testdata", "tsm_tiny_official", "model.onnx")
	ds, dir, err := tsmc.FirstDataSet(path)
	if err != nil || ds == nil {
		t.Fatalf("first data set: %v, %v", ds, err)
	}
	if filepath.Base(dir) != "test_data_set_0" {
		t.Errorf("first data set %s", dir)
	}
	g, err := tsmc.Optimize(path, nil, ds)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	p, err := (&tsmc.Builder{TempDir: tmp}).Build(g)
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := tsmc.BenchInputs(g, ds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Bench(inputs, tsmc.BenchOptions{Threads: 1, Warmup: 1, Iters: 3})
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
	build := func(name string) (*tsmc.Program, map[string]*ir.Tensor, *ir.Graph) {
		path := filepath.Join("testdata", name, "model.onnx")
		ds, _, err := tsmc.FirstDataSet(path)
		if err != nil {
			t.Fatal(err)
		}
		g, err := tsmc.Optimize(path, nil, ds)
		if err != nil {
			t.Fatal(err)
		}
		p, err := (&tsmc.Builder{TempDir: t.TempDir()}).Build(g)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		inputs, err := tsmc.BenchInputs(g, ds)
		if err != nil {
			t.Fatal(err)
		}
		return p, inputs, g
	}
	p, inputs, g := build("tsm_tiny_online")
	if !p.HasStream() {
		t.Fatal("the online model's package has no Stream")
	}
	if fb, want := p.Feedback(), tsmc.StateFeedback(g); len(fb) == 0 || !maps.Equal(fb, want) {
		t.Errorf("Program.Feedback %v, want StateFeedback's %v", fb, want)
	}
	res, err := p.Bench(inputs, tsmc.BenchOptions{Threads: 1, Warmup: 1, Iters: 3, Feedback: p.Feedback(), Stream: true})
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
	if _, err := off.Bench(offInputs, tsmc.BenchOptions{Iters: 1, Stream: true}); err == nil || !strings.Contains(err.Error(), "no Stream") {
		t.Errorf("Stream bench of an offline model: error %v, want one saying it has no Stream", err)
	}
}

func TestLocateModule(t *testing.T) {
	t.Setenv(tsmc.RootEnv, "")
	src, err := tsmc.LocateModule("")
	if err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs(".")
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
	if _, err := tsmc.LocateModule(other); err == nil || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("a folder of another module: error %v, want one naming its module", err)
	}
	t.Setenv(tsmc.RootEnv, t.TempDir())
	if _, err := tsmc.LocateModule(""); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("%s without a go.mod: error %v", tsmc.RootEnv, err)
	}
	t.Setenv(tsmc.RootEnv, here)
	if src, err := tsmc.LocateModule(""); err != nil || src.Dir != here {
		t.Errorf("%s=%s: %+v, %v", tsmc.RootEnv, here, src, err)
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
	g, err := tsmc.Optimize(filepath.Join("testdata", "tsm_tiny_mmaction", "model.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	_, err = (&tsmc.Builder{Module: tsmc.ModuleSource{Dir: fake}, TempDir: tmp}).Build(g)
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
	b := &tsmc.Builder{TempDir: t.TempDir()}
	for _, name := range []string{
		"tsm_mobilenetv2_k400_8f_official", "tsm_mobilenetv2_k400_8f_mmaction",
		"tsm_mobilenetv2_jester_online", "tsm_resnet50_k400_8f_mmaction",
	} {
		t.Run(name, func(t *testing.T) {
			checkModel(t, sharedModel(t, name), tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
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
	b := &tsmc.Builder{TempDir: t.TempDir(), GOARCH: "arm64", Exec: []string{"qemu-aarch64"}}
	models := []string{
		filepath.Join("testdata", "tsm_tiny_official", "model.onnx"),
		filepath.Join("testdata", "tsm_tiny_mmaction", "model.onnx"),
		filepath.Join("testdata", "tsm_tiny_online", "model.onnx"),
	}
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
			checkModel(t, path, tsmc.VerifyOptions{RTol: 1e-4, Engine: b.Engine, Transform: optimise})
		})
	}
}
