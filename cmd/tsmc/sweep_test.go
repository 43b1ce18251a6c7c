package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdversarialCommandLines tries every verb with input a hostile but
// fair user might give, beyond issue 14's list: each is an error with the
// exit status and message that say what is wrong.
func TestAdversarialCommandLines(t *testing.T) {
	tmp := t.TempDir()
	tinyDir := filepath.Dir(tinyModel)
	set0 := filepath.Join(tinyDir, "test_data_set_0")
	mkdir := func(parts ...string) string {
		p := filepath.Join(append([]string{tmp}, parts...)...)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(path, data string) string {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// a model whose data set expects a NaN
	nanDir := mkdir("nan")
	nanModel := writeModel(t, nanDir, "model.onnx", readModel(t, "tsm_tiny_official"), "")
	nanSet := filepath.Join(nanDir, "test_data_set_0")
	copyDir(t, set0, nanSet)
	out, err := os.ReadFile(filepath.Join(nanSet, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	copy(out[len(out)-4:], []byte{0, 0, 0xc0, 0x7f}) // the last logit: a quiet NaN
	write(filepath.Join(nanSet, "output_0.pb"), string(out))
	// an output folder whose testdata is a file, one whose model.go is a
	// symbolic link
	blocked := mkdir("blocked")
	write(filepath.Join(blocked, "testdata"), "a file")
	linked := mkdir("linked")
	target := write(filepath.Join(tmp, "precious.txt"), "precious")
	if err := os.Symlink(target, filepath.Join(linked, "model.go")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		code int
		want []string
		args []string
	}{
		{"model is a folder", 1, []string{"read " + tinyDir + ": is a directory"}, []string{"inspect", tinyDir}},
		{"missing data set folder", 1, []string{"FAIL nowhere: open " + filepath.Join(tmp, "nowhere") + ": no such file or directory", "0 passed, 1 failed"},
			[]string{"verify", "-engine", "interp", tinyModel, filepath.Join(tmp, "nowhere")}},
		{"empty data set folder", 1, []string{"no input_N.pb or output_N.pb files", "0 passed, 1 failed"},
			[]string{"verify", "-engine", "interp", tinyModel, mkdir("empty")}},
		{"NaN expected", 1, []string{"FAIL test_data_set_0: max rel err +Inf", "logits=+Inf"}, []string{"verify", "-engine", "interp", nanModel}},
		{"another model's data set", 1, []string{"FAIL test_data_set_0: max rel err", "0 passed, 1 failed"},
			[]string{"verify", "-engine", "interp", tinyModel, filepath.Join("..", "..", "testdata", "tsm_tiny_mmaction", "test_data_set_0")}},
		{"shape unlike the data set", 1, []string{`input "input": shape [1,12,32,32], the model wants [1,12,16,16] (dimension 2 differs)`},
			[]string{"verify", "-engine", "interp", "-shape", "input=1x12x16x16", tinyModel}},
		{"package main", 1, []string{`package name "main" names a command, which no package can import (try "modelmain")`},
			[]string{"compile", "-pkg", "main", "-o", filepath.Join(tmp, "pkgmain"), tinyModel}},
		{"package keyword", 1, []string{`package name "func" is not a valid Go package name (try "modelfunc")`},
			[]string{"compile", "-pkg", "func", "-o", filepath.Join(tmp, "pkgfunc"), tinyModel}},
		{"folder named main", 0, []string{"package modelmain in"}, []string{"compile", "-o", filepath.Join(tmp, "main"), tinyModel}},
		{"shape of no input", 1, []string{`there is no graph input named "nosuch" (inputs: input)`},
			[]string{"compile", "-shape", "nosuch=1x2", "-o", filepath.Join(tmp, "s1"), tinyModel}},
		{"shape of the wrong rank", 1, []string{`input "input": shape [1,12,32] has rank 3, the model declares rank 4 ([1,12,32,32])`},
			[]string{"compile", "-shape", "input=1x12x32", "-o", filepath.Join(tmp, "s2"), tinyModel}},
		{"scalar shape", 1, []string{`shape [] has rank 0`}, []string{"inspect", "-shape", "input=", tinyModel}},
		{"shape twice", 2, []string{`invalid value "input=1x12x32x32" for flag -shape: input "input" is bound twice`},
			[]string{"inspect", "-shape", "input=1x12x32x32", "-shape", "input=1x12x32x32", tinyModel}},
		{"huge dimension", 2, []string{`dimension "99999999999" is not an integer from 0 to 4294967296`},
			[]string{"inspect", "-shape", "input=99999999999", tinyModel}},
		{"negative dimension", 2, []string{`dimension "-1" is not an integer from 0 to 4294967296`},
			[]string{"inspect", "-shape", "input=1x-1", tinyModel}},
		{"output is a file", 1, []string{filepath.Join(tmp, "precious.txt") + " is not a folder"},
			[]string{"compile", "-o", target, tinyModel}},
		{"testdata is a file", 1, []string{"cannot write testdata/test_data_set_0/input_0.bin (testdata is not a folder)"},
			[]string{"compile", "-force", "-o", blocked, "-testdata", set0, tinyModel}},
		{"model.go is a link", 1, []string{"model.go (not a regular file)", "-force"}, []string{"compile", "-o", linked, tinyModel}},
		{"unknown flag", 2, []string{"flag provided but not defined: -frob"}, []string{"inspect", "-frob", tinyModel}},
		{"-print with -json", 2, []string{"-print, -json and -dot exclude each other"}, []string{"inspect", "-print", "-json", tinyModel}},
		{"-after without passes", 2, []string{"-after needs the pipeline; drop -passes=false"}, []string{"inspect", "-passes=false", "-after", "dead-code", tinyModel}},
		{"-after no pass", 2, []string{`-after: no pass named "nosuch" (passes: fold-constants,`}, []string{"inspect", "-after", "nosuch", tinyModel}},
		{"compiled without passes", 2, []string{"-passes=false needs -engine interp"}, []string{"verify", "-passes=false", tinyModel}},
		{"unknown engine", 2, []string{`unknown engine "nope" (compiled or interp)`}, []string{"verify", "-engine", "nope", tinyModel}},
		{"unknown goarch", 2, []string{"-goarch nonsense: say with -exec how to run its binaries here"}, []string{"bench", "-goarch", "nonsense", tinyModel}},
		{"missing emulator", 1, []string{"-goarch arm64 needs " + filepath.Join(tmp, "no-qemu") + " to run its binaries"},
			[]string{"verify", "-goarch", "arm64", "-exec", filepath.Join(tmp, "no-qemu"), tinyModel}},
		{"not the tsmc module", 1, []string{tmp + " is not the tsmc module folder"}, []string{"bench", "-tsmc-root", tmp, tinyModel}},
		{"empty model", 1, []string{"empty.onnx"}, []string{"compile", "-o", filepath.Join(tmp, "e"), write(filepath.Join(tmp, "empty.onnx"), "")}},
	} {
		t.Run(c.name, func(t *testing.T) { wantRun(t, c.code, c.want, c.args...) })
	}
	if data, _ := os.ReadFile(target); string(data) != "precious" {
		t.Error("compile wrote through a symbolic link")
	}
	for _, d := range []string{"pkgmain", "pkgfunc", "s1", "s2", "e"} {
		noEntry(t, filepath.Join(tmp, d))
	}
}

// TestVerifyJSONCarriesEveryResult: the -json report of a data set that
// cannot be compared carries its error, and a relative error that is not
// finite (against an expected NaN) is carried as a string, not a failure
// to encode.
func TestVerifyJSONCarriesEveryResult(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "model.onnx", readModel(t, "tsm_tiny_official"), "tsm_tiny_official")
	if err := os.Remove(filepath.Join(dir, "test_data_set_1", "output_0.pb")); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	copy(out[len(out)-4:], []byte{0, 0, 0xc0, 0x7f}) // the last logit: a quiet NaN
	if err := os.WriteFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _ := wantRun(t, 1, nil, "verify", "-json", "-engine", "interp", model)
	var r verifyReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, stdout)
	}
	if r.Passed != 0 || r.Failed != 2 || len(r.DataSets) != 2 {
		t.Fatalf("%d passed, %d failed, %d data sets; want 0, 2, 2", r.Passed, r.Failed, len(r.DataSets))
	}
	if d := r.DataSets[0]; !math.IsInf(float64(d.MaxErr), 1) || !math.IsInf(float64(d.Outputs["logits"]), 1) || !strings.Contains(stdout, `"max_rel_err": "Infinity"`) {
		t.Errorf("data set 0: max rel err %v, outputs %v; want +Inf, as \"Infinity\"", d.MaxErr, d.Outputs)
	}
	if d := r.DataSets[1]; !strings.Contains(d.Error, "no expected outputs") {
		t.Errorf("data set 1: error %q; want no expected outputs", d.Error)
	}
}
