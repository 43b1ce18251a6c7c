package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompileWritesPackage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-model")
	data := filepath.Join(filepath.Dir(tinyModel), "test_data_set_0")
	code, out, errOut := tsmcRun("compile", "-o", dir, "-testdata", data, tinyModel)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "package my_model") || !strings.Contains(out, "arena") {
		t.Errorf("summary %q does not name the package and the arena", out)
	}
	for _, f := range []string{"model.go", "model_test.go", "weights.bin", "testdata/test_data_set_0/input_0.bin", "testdata/test_data_set_0/output_0.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "model.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "\npackage my_model\n") {
		t.Error("the package is not named after its folder")
	}
}

func TestCompileDefaultFolder(t *testing.T) {
	model, err := filepath.Abs(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if code, _, errOut := tsmcRun("compile", "-pkg", "tiny", model); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	src, err := os.ReadFile(filepath.Join("tsm_tiny_official", "model.go"))
	if err != nil {
		t.Fatalf("no package in a folder named after the model: %v", err)
	}
	if !strings.Contains(string(src), "\npackage tiny\n") {
		t.Error("-pkg was not used")
	}
}

func TestCompileErrors(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compile"}, 2, "missing MODEL.onnx"},
		{[]string{"compile", "-o", filepath.Join(tmp, "a"), tinyModel, tinyModel}, 2, "one model"},
		{[]string{"compile", "-o", filepath.Join(tmp, "b"), "-pkg", "9-lives", tinyModel}, 1, "not a valid Go package name"},
		{[]string{"compile", "-o", filepath.Join(tmp, "c"), filepath.Join(tmp, "missing.onnx")}, 1, "missing.onnx"},
		{[]string{"compile", "-o", filepath.Join(tmp, "d"), "-testdata", tmp, tinyModel}, 1, "input"},
	} {
		code, _, errOut := tsmcRun(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d mentioning %q", c.args, code, errOut, c.code, c.want)
		}
	}
	for _, d := range []string{"a", "b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(tmp, d)); err == nil {
			t.Errorf("a failed compile created %s", d)
		}
	}
}

func TestInspectReportsTheMemoryPlan(t *testing.T) {
	r := inspectJSON(t)
	if r.MemoryError != "" || r.ArenaBytes <= 0 || r.ArenaBytes >= r.ActivationBytes {
		t.Errorf("arena %d bytes, activations %d bytes, error %q: want a plan that reuses memory", r.ArenaBytes, r.ActivationBytes, r.MemoryError)
	}
	if r := inspectJSON(t, "-after", "fold-constants"); r.ArenaBytes != 0 {
		t.Errorf("a partial pipeline reported an arena of %d bytes", r.ArenaBytes)
	}
}
