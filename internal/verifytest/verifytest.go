// Package verifytest runs tsmc.Verify in tests, with the interpreter or
// with generated code, on the bundled and the shared models.
package verifytest

import (
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/testmodels"
)

// SharedModel returns the model.onnx of a shared model (testmodels.Model),
// skipping the test when it is absent, or when it is ResNet50 under -short.
func SharedModel(tb testing.TB, name string) string {
	tb.Helper()
	if testing.Short() && name == "tsm_resnet50_k400_8f_mmaction" {
		tb.Skip("ResNet50 skipped under -short")
	}
	return filepath.Join(testmodels.Model(tb, name), "model.onnx")
}

// Check verifies every data set of a model and fails tb for each one that
// cannot be run or whose relative error is above opts.RTol.
func Check(tb testing.TB, path string, opts tsmc.VerifyOptions) {
	tb.Helper()
	results, err := tsmc.Verify(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if len(results) == 0 {
		tb.Fatalf("%s: no data sets", path)
	}
	for _, r := range results {
		if r.Err != nil {
			tb.Errorf("%s: %v", r.Dir, r.Err)
			continue
		}
		tb.Logf("%s: max relative error %.3g (%v)", filepath.Base(r.Dir), r.MaxErr, r.Duration)
		if !r.Passed {
			tb.Errorf("%s: relative error %.3g above %g: %+v", r.Dir, r.MaxErr, opts.RTol, r.Outputs)
		}
	}
}
