package tsmc_test

import (
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/testmodels"
)

// sharedModel returns the model.onnx of a shared model (testmodels.Model),
// skipping the test when it is absent, or when it is ResNet50 under -short.
func sharedModel(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() && name == "tsm_resnet50_k400_8f_mmaction" {
		t.Skip("ResNet50 skipped under -short")
	}
	return filepath.Join(testmodels.Model(t, name), "model.onnx")
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
	for _, name := range []string{
		"tsm_tiny_official", "tsm_tiny_mmaction",
		"tsm_mobilenetv2_k400_8f_official", "tsm_mobilenetv2_k400_8f_mmaction",
		"tsm_mobilenetv2_jester_online", "tsm_resnet50_k400_8f_mmaction",
	} {
		t.Run(name, func(t *testing.T) {
			checkModel(t, sharedModel(t, name), tsmc.VerifyOptions{RTol: 1e-4})
		})
	}
}
