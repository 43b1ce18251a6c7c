package codegen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
)

// TestGoldenPackagesAreUpToDate regenerates the committed packages of
// golden/ in memory (as its go:generate lines do) and compares them with
// the files on disk; go test ./golden/... runs their own tests.
func TestGoldenPackagesAreUpToDate(t *testing.T) {
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction"} {
		t.Run(name, func(t *testing.T) {
			model := filepath.Join("..", "testdata", name)
			pkg, err := tsmc.Compile(filepath.Join(model, "model.onnx"), tsmc.CompileOptions{
				Package:  name,
				DataSets: []string{filepath.Join(model, "test_data_set_0"), filepath.Join(model, "test_data_set_1")},
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("..", "golden", name)
			for file, want := range pkg.Files {
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
