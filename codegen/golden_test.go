package codegen_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
)

// goldenModels are the packages of golden/ and their models in testdata.
var goldenModels = map[string]string{
	"tsm_tiny_official":      "tsm_tiny_official",
	"tsm_tiny_mmaction":      "tsm_tiny_mmaction",
	"tsm_tiny_official_int8": filepath.Join("quantized", "tsm_tiny_official"),
}

// TestGoldenPackagesAreUpToDate regenerates the committed packages of
// golden/ in memory (as its go:generate lines do) and compares them with
// the files on disk; go test ./golden/... runs their own tests.
func TestGoldenPackagesAreUpToDate(t *testing.T) {
	for name, model := range goldenModels {
		t.Run(name, func(t *testing.T) {
			model := filepath.Join("..", "testdata", model)
			pkg, err := tsmc.Compile(filepath.Join(model, "model.onnx"), tsmc.CompileOptions{
				Package:  name,
				DataSets: []string{filepath.Join(model, "test_data_set_0"), filepath.Join(model, "test_data_set_1")},
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("..", "golden", name)
			manifest, err := pkg.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			files := maps.Clone(pkg.Files)
			files[codegen.ManifestName] = manifest
			for file, want := range files {
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
				if err != nil {
					t.Errorf("%v (run go generate ./golden/)", err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s/%s is stale: run go generate ./golden/", dir, file)
				}
			}
		})
	}
}

// TestGoldenPackagesPass runs the committed packages' own tests: their
// outputs match the models' data sets within 1e-4, concurrent runs agree,
// and bad inputs are errors.
func TestGoldenPackagesPass(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the golden packages")
	}
	out, err := exec.Command("go", "test", "-count=1", "-v", "-run", "DataSets|ConcurrentRuns|InputErrors", "../golden/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go test ../golden/...: %v\n%s", err, out)
	}
	for name := range goldenModels {
		if !strings.Contains(string(out), "ok  \tgithub.com/tsmc-go/tsmc/golden/"+name) {
			t.Errorf("golden/%s did not pass:\n%s", name, out)
		}
	}
	if n := strings.Count(string(out), "relative error"); n != 2*len(goldenModels) {
		t.Errorf("%d outputs checked against data sets, want %d (two sets of each model):\n%s", n, 2*len(goldenModels), out)
	}
}
