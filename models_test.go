package tsmc_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/testmodels"
)

// sharedModels is where the large TSM exports live (see testmodels.Dir);
// the test skips when the folder is absent.
func sharedModels(t testing.TB) string {
	dir := testmodels.Dir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared models not found at %s (set %s): %v", dir, testmodels.Env, err)
	}
	return dir
}

// checkModel verifies every data set of a model with the interpreter.
func checkModel(t *testing.T, path string, opts tsmc.VerifyOptions) {
	t.Helper()
	results, err := tsmc.Verify(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatalf("%s: no data sets", path)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Dir, r.Err)
			continue
		}
		t.Logf("%s: max relative error %.3g (%v)", filepath.Base(r.Dir), r.MaxErr, r.Duration)
		if !r.Passed {
			t.Errorf("%s: relative error %.3g above %g: %+v", r.Dir, r.MaxErr, opts.RTol, r.Outputs)
		}
	}
}

func TestGoldenTinyModels(t *testing.T) {
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction"} {
		t.Run(name, func(t *testing.T) {
			checkModel(t, filepath.Join("testdata", name, "model.onnx"), tsmc.VerifyOptions{RTol: 1e-4})
		})
	}
}

func TestGoldenSharedModels(t *testing.T) {
	dir := sharedModels(t)
	for _, name := range []string{
		"tsm_tiny_official", "tsm_tiny_mmaction",
		"tsm_mobilenetv2_k400_8f_official", "tsm_mobilenetv2_k400_8f_mmaction",
		"tsm_mobilenetv2_jester_online", "tsm_resnet50_k400_8f_mmaction",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name, "model.onnx")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not present: %v", path, err)
			}
			if testing.Short() && name == "tsm_resnet50_k400_8f_mmaction" {
				t.Skip("ResNet50 skipped under -short")
			}
			checkModel(t, path, tsmc.VerifyOptions{RTol: 1e-4})
		})
	}
}
