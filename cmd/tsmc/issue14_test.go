package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The ten cases of issue 14, each as a class: what a hostile but fair
// user tried that passed unchecked or left something behind.

const tinyOnline = "../../testdata/tsm_tiny_online/model.onnx"

// wantRun runs tsmc and fails unless it exits with code and its output
// (stdout and stderr) contains every string of want.
func wantRun(t *testing.T, code int, want []string, args ...string) (stdout, stderr string) {
	t.Helper()
	got, stdout, stderr := tsmcRun(args...)
	if got != code {
		t.Errorf("tsmc %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stdout+stderr, w) {
			t.Errorf("tsmc %s: output does not say %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), w, stdout, stderr)
		}
	}
	return stdout, stderr
}

// noEntry fails if path exists.
func noEntry(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s exists", path)
	}
}

// Case 1: a data set without expected outputs compares nothing; verify
// fails it with either engine, as compile -testdata rejects it.
func TestVerifyFailsWhenNothingIsCompared(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "model.onnx", readModel(t, "tsm_tiny_official"), "tsm_tiny_official")
	if err := os.Remove(filepath.Join(dir, "test_data_set_0", "output_0.pb")); err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"interp", "compiled"} {
		wantRun(t, 1, []string{"FAIL test_data_set_0", "no expected outputs (output_N.pb), so nothing to compare", "1 passed, 1 failed"},
			"verify", "-engine", engine, model)
	}
	wantRun(t, 1, []string{"data set test_data_set_0 has no expected outputs"},
		"compile", "-o", filepath.Join(dir, "out"), "-testdata", filepath.Join(dir, "test_data_set_0"), model)
	noEntry(t, filepath.Join(dir, "out"))
}

// Case 2: every numeric flag is checked alike, when the command line is
// parsed, and the value shown is the value used.
func TestNumericFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "-rtol", "0"}, `invalid value "0" for flag -rtol: want a finite number above 0`},
		{[]string{"verify", "-rtol", "-1"}, `invalid value "-1" for flag -rtol: want a finite number above 0`},
		{[]string{"verify", "-rtol", "NaN"}, `invalid value "NaN" for flag -rtol: want a finite number above 0`},
		{[]string{"verify", "-rtol", "+Inf"}, `invalid value "+Inf" for flag -rtol: want a finite number above 0`},
		{[]string{"verify", "-rtol", "tiny"}, `invalid value "tiny" for flag -rtol: not a number`},
		{[]string{"verify", "-threads", "-1"}, `invalid value "-1" for flag -threads: want 0 to 1024`},
		{[]string{"bench", "-threads", "-1"}, `invalid value "-1" for flag -threads: want 0 to 1024`},
		{[]string{"verify", "-threads", "100000"}, `invalid value "100000" for flag -threads: want 0 to 1024`},
		{[]string{"bench", "-threads", "2.5"}, `invalid value "2.5" for flag -threads: not an integer`},
		{[]string{"bench", "-n", "0"}, `invalid value "0" for flag -n: want 1 to 1000000`},
		{[]string{"bench", "-n", "99999999999999999999"}, `invalid value "99999999999999999999" for flag -n: not an integer`},
		{[]string{"bench", "-warmup", "-1"}, `invalid value "-1" for flag -warmup: want 0 to 1000000`},
		{[]string{"bench", "-warmup", "0x10"}, `invalid value "0x10" for flag -warmup: not an integer`},
	} {
		wantRun(t, 2, []string{c.want}, append(c.args, tinyModel)...)
	}
	wantRun(t, 0, []string{"(rtol 0.001)", "2 passed, 0 failed"}, "verify", "-engine", "interp", "-rtol", "1e-3", tinyModel)
}

// Case 3: a model with no outputs would compile into a package that
// computes nothing and does not build.
func TestCompileRejectsModelWithoutOutputs(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "model.onnx", withoutOutputs(t, readModel(t, "tsm_tiny_official")), "")
	wantRun(t, 1, []string{model, "has no outputs: its package would compute nothing"}, "compile", "-o", filepath.Join(dir, "out"), model)
	noEntry(t, filepath.Join(dir, "out"))
}

// Case 4: recompiling into a folder last used for another model (an
// online one) removes what that compile wrote and the new one does not
// (its stream test and data sets): the folder then holds exactly what a
// compile into an empty folder gives, beside the user's own files.
func TestRecompileRemovesTheLastModelsFiles(t *testing.T) {
	tmp := t.TempDir()
	dir, fresh := filepath.Join(tmp, "m"), filepath.Join(tmp, "fresh", "m")
	onlineSets := filepath.Join(filepath.Dir(tinyOnline), "test_data_set_")
	wantRun(t, 0, []string{"package m"}, "compile", "-o", dir, "-testdata", onlineSets+"0", "-testdata", onlineSets+"1", tinyOnline)
	for _, f := range []string{"stream_test.go", "testdata/test_data_set_1/input_3.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the online model's package lacks %s: %v", f, err)
		}
	}
	mine := map[string]string{"doc.go": "// Package m is mine.\npackage m\n", "testdata/test_data_set_1/README": "my notes"}
	for name, data := range mine {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	offlineSet := filepath.Join(filepath.Dir(tinyModel), "test_data_set_0")
	wantRun(t, 0, []string{"package m"}, "compile", "-o", dir, "-testdata", offlineSet, tinyModel)
	wantRun(t, 0, []string{"package m"}, "compile", "-o", fresh, "-testdata", offlineSet, tinyModel)
	got, want := treeFiles(t, dir), treeFiles(t, fresh)
	for name, data := range mine {
		want[name] = data
	}
	if !maps2Equal(got, want) {
		t.Errorf("the recompiled folder holds %v, want %v", sortedKeys(got), sortedKeys(want))
	}
}

// treeFiles reads every file under root by slash path.
func treeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func maps2Equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Case 6: a model file named ".onnx" names no folder; the default output
// is never the working directory. An explicit -o . is the user's choice,
// and the folder's owner rules (case 7) apply.
func TestCompileDefaultFolderIsNeverTheWorkingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tiny := readModel(t, "tsm_tiny_official")
	writeModel(t, dir, ".onnx", tiny, "")
	own := "package work\n\n// mine\n"
	if err := os.WriteFile(filepath.Join(dir, "model.go"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	wantRun(t, 2, []string{"cannot name a package folder after the model file .onnx: give one with -o"}, "compile", ".onnx")
	wantRun(t, 2, []string{"cannot name a package folder after the model file .hidden.onnx"}, "compile", ".hidden.onnx")
	wantRun(t, 1, []string{"model.go (not listed in .tsmc-manifest)", "-force"}, "compile", "-o", ".", ".onnx")
	if data, _ := os.ReadFile("model.go"); string(data) != own {
		t.Error("the hand-written model.go in the working directory was overwritten")
	}
	// its model's own folder, with -o naming it: the model stays, and
	// the package is written beside it
	if err := os.Remove("model.go"); err != nil {
		t.Fatal(err)
	}
	wantRun(t, 0, []string{"package work in ."}, "compile", "-o", ".", ".onnx")
	if _, err := os.Stat(".onnx"); err != nil {
		t.Errorf("compiling into the model's folder lost the model: %v", err)
	}
	// not even -force replaces the model it compiles (a model file named
	// weights.bin, say)
	writeModel(t, dir, "weights.bin", tiny, "")
	wantRun(t, 1, []string{"would replace weights.bin, which it is compiled from"}, "compile", "-o", ".", "-force", "weights.bin")
}

// Case 7: files in -o that tsmc did not write (or that changed since) are
// not replaced without -force; another package's Go files, which would
// make the folder unbuildable, are an error even with it.
func TestCompileRefusesFilesItDidNotWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	hand := map[string]string{"model.go": "package m\n\n// hand-written\n", "weights.bin": "mine", "notes.txt": "mine"}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range hand {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantRun(t, 1, []string{"refusing to replace or remove files tsmc did not write", "model.go (not listed in .tsmc-manifest)", "weights.bin (not listed in .tsmc-manifest)", "-force"},
		"compile", "-o", dir, tinyModel)
	if got := treeFiles(t, dir); !maps2Equal(got, hand) {
		t.Errorf("a refused compile changed the folder: %v", sortedKeys(got))
	}
	wantRun(t, 0, []string{"package m"}, "compile", "-force", "-o", dir, tinyModel)
	if got := treeFiles(t, dir); got["notes.txt"] != "mine" || got["weights.bin"] == "mine" {
		t.Error("-force should overwrite weights.bin and keep notes.txt")
	}
	// a generated file edited since
	if err := os.WriteFile(filepath.Join(dir, "model.go"), []byte("package m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantRun(t, 1, []string{"model.go (changed since tsmc wrote it)"}, "compile", "-o", dir, tinyModel)
	wantRun(t, 0, nil, "compile", "-force", "-o", dir, tinyModel)
	// another package's file
	if err := os.WriteFile(filepath.Join(dir, "other.go"), []byte("package other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, force := range []string{"-force=false", "-force"} {
		wantRun(t, 1, []string{"holds Go files of another package (other.go (package other))", "give the generated package a folder of its own"},
			"compile", force, "-o", dir, tinyModel)
	}
}

// Case 8: an op argument given as an attribute at an opset where it is an
// input (ReduceMean's axes from opset 18) is an error saying so, not an
// attribute silently dropped.
func TestAttributeNotValidAtTheModelsOpset(t *testing.T) {
	dir := t.TempDir()
	for _, opset := range []int64{18, 22} {
		model := writeModel(t, dir, "model.onnx", withOpset(t, readModel(t, "tsm_tiny_official"), opset), "")
		want := []string{model, "(ReduceMean, domain ai.onnx)", "attribute axes is not valid at opset " + string(rune('0'+opset/10)) + string(rune('0'+opset%10)), "from opset 18 ReduceMean takes it as input 1"}
		wantRun(t, 1, want, "inspect", model)
		wantRun(t, 1, want, "compile", "-o", filepath.Join(dir, "out"), model)
		noEntry(t, filepath.Join(dir, "out"))
	}
}

// Case 9: -h and --help print the usage; help of an unknown verb is an
// error; a verb given two models is one too.
func TestHelpAndArguments(t *testing.T) {
	for _, h := range []string{"-h", "--help", "-help", "help"} {
		stdout, _ := wantRun(t, 0, []string{"Usage:", "tsmc compile [-force]", "Verbs:"}, h)
		if strings.Contains(stdout, "unknown verb") {
			t.Errorf("tsmc %s: %s", h, stdout)
		}
	}
	wantRun(t, 0, []string{"tsmc bench", "-warmup RUNS", "untimed RUNS after the first one (0 to 1000000)"}, "help", "bench")
	wantRun(t, 2, []string{`tsmc help: unknown verb "nosuch" (verbs: inspect, compile, verify, bench, quantize, tune)`}, "help", "nosuch")
	wantRun(t, 2, []string{"tsmc help: one verb at a time"}, "help", "bench", "verify")
	wantRun(t, 2, []string{`tsmc: unknown verb "frobnicate"`}, "frobnicate")
	other := "../../testdata/tsm_tiny_mmaction/model.onnx"
	for _, verb := range []string{"inspect", "compile", "bench"} {
		wantRun(t, 2, []string{"tsmc " + verb + ": one model at a time, got 2 arguments"}, verb, tinyModel, other)
		wantRun(t, 2, []string{"tsmc " + verb + ": missing MODEL.onnx"}, verb)
		wantRun(t, 2, []string{"tsmc " + verb + ": flag -json after the model: flags go before MODEL.onnx"}, verb, tinyModel, "-json")
	}
	wantRun(t, 2, []string{"tsmc verify: " + other + " names a model, not a data set folder: one model at a time"}, "verify", tinyModel, other)
	wantRun(t, 2, []string{"tsmc verify: missing.onnx names a model"}, "verify", tinyModel, "missing.onnx")
	wantRun(t, 2, []string{"tsmc verify: " + filepath.Join(filepath.Dir(other), "meta.json") + " is a file, not a data set folder"}, "verify", tinyModel, filepath.Join(filepath.Dir(other), "meta.json"))
}

// Case 10: NaN or infinite weights compile, with a warning naming the
// tensor.
func TestCompileWarnsOfNonFiniteWeights(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "model.onnx", withPoisonedWeight(t, readModel(t, "tsm_tiny_official"), "base.fc.weight",
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())), "")
	_, stderr := wantRun(t, 0, []string{"package out"}, "compile", "-o", filepath.Join(dir, "out"), model)
	want := `tsmc compile: warning: ` + model + `: weight "base.fc.weight" (f32[10,32]) holds 2 NaN, 1 +Inf, 1 -Inf among its 320 values`
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not warn %q", stderr, want)
	}
}
