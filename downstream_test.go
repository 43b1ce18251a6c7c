package tsmc_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDownstreamGoGenerate plays a project that uses tsmc the way the
// README says: a fresh module outside the tree requires tsmc (replaced by
// this checkout), declares it as a tool, compiles a model with
// `//go:generate go tool tsmc compile`, imports the generated package, and
// runs go generate, go vet and go test, including the generated golden
// test. It also runs `go tool tsmc verify` there, which must find this
// checkout to build the generated code against.
func TestDownstreamGoGenerate(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	checkout, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{
		"go.mod": []byte("module example.com/downstream\n\ngo 1.24\n\n" +
			"require github.com/tsmc-go/tsmc v0.0.0-00010101000000-000000000000\n\n" +
			"replace github.com/tsmc-go/tsmc => " + checkout + "\n\n" +
			"tool github.com/tsmc-go/tsmc/cmd/tsmc\n"),
		"go.sum": sum,
		"gen.go": []byte("// Package downstream classifies clips with a model compiled by tsmc.\npackage downstream\n\n" +
			"//go:generate go tool tsmc compile -o tinymodel -testdata tiny/test_data_set_0 -testdata tiny/test_data_set_1 tiny/model.onnx\n"),
	})
	copyTree(t, filepath.Join("testdata", "tsm_tiny_mmaction"), filepath.Join(dir, "tiny"))

	// GOFLAGS=-mod=mod lets tidy fill go.mod from tsmc's requirements
	// without a go get; the checkout's go.sum covers them.
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	modMod := []string{"GOFLAGS=" + strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod")}
	run(modMod, "mod", "tidy")
	run(nil, "generate", "./...")
	for _, f := range []string{"model.go", "model_test.go", "weights.bin", "testdata/test_data_set_1/output_0.bin"} {
		if _, err := os.Stat(filepath.Join(dir, "tinymodel", f)); err != nil {
			t.Errorf("go generate did not write tinymodel/%s: %v", f, err)
		}
	}

	// The project's own code and test use the generated package.
	writeFiles(t, dir, map[string][]byte{
		"classify.go": []byte(`package downstream

import "example.com/downstream/tinymodel"

// Classify returns the class scores of a clip of tinymodel.InputLen values.
func Classify(clip []float32) ([]float32, error) {
	m, err := tinymodel.New(tinymodel.WithThreads(1))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	out, err := m.Run(clip)
	return out.Logits, err
}
`),
		"classify_test.go": []byte(`package downstream

import (
	"testing"

	"example.com/downstream/tinymodel"
)

func TestClassify(t *testing.T) {
	scores, err := Classify(make([]float32, tinymodel.InputLen))
	if err != nil || len(scores) != tinymodel.LogitsLen {
		t.Fatalf("%d scores, %v", len(scores), err)
	}
	if _, err := Classify(make([]float32, 3)); err == nil {
		t.Error("a short clip is not an error")
	}
}
`),
	})
	run(modMod, "mod", "tidy")
	run(nil, "vet", "./...")
	out := run(nil, "test", "-v", "./...")
	for _, want := range []string{
		"--- PASS: TestDataSets/test_data_set_1", "--- PASS: TestInputErrors",
		"ok  \texample.com/downstream/tinymodel", "--- PASS: TestClassify", "ok  \texample.com/downstream\t",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("go test -v output lacks %q:\n%s", want, out)
		}
	}

	out = run(nil, "tool", "tsmc", "verify", "tiny/model.onnx")
	if !strings.HasSuffix(out, "2 passed, 0 failed\n") {
		t.Errorf("go tool tsmc verify:\n%s", out)
	}
}

// writeFiles writes files (slash paths relative to dir).
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyTree copies a folder of regular files and folders.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeFiles(t, to, map[string][]byte{filepath.ToSlash(rel): data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
