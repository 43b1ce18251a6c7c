package tsmc_test

import (
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/verifytest"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
)

// TestGoldenTinyModels runs every tiny model of testdata through the
// interpreter, as imported and after the optimisation pipeline.
func TestGoldenTinyModels(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "model.onnx"))
	if err != nil || len(paths) < 8 {
		t.Fatalf("testdata holds %d models (%v), want the 8 tiny ones", len(paths), err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			verifytest.Check(t, path, tsmc.VerifyOptions{RTol: 1e-4})
			verifytest.Check(t, path, tsmc.VerifyOptions{RTol: 1e-4, Transform: func(g *ir.Graph) error { return passes.Run(g, passes.Options{}) }})
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
			verifytest.Check(t, verifytest.SharedModel(t, name), tsmc.VerifyOptions{RTol: 1e-4})
		})
	}
}

// TestQuantizedTinyModel checks the bundled QDQ model against
// onnxruntime's outputs: after the passes (tsmc's int8 ops, onnxruntime's
// arithmetic) the logits agree but for the float32 rounding of the final
// mean over frames; read literally (float DequantizeLinear, Conv, Add,
// QuantizeLinear) within one quantisation step.
func TestQuantizedTinyModel(t *testing.T) {
	path := filepath.Join("testdata", "quantized", "tsm_tiny_official", "model.onnx")
	for _, c := range []struct {
		name      string
		transform func(*ir.Graph) error
		steps     float64
	}{
		{"int8 ops", func(g *ir.Graph) error { return passes.Run(g, passes.Options{}) }, 1e-3},
		{"as imported", nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			results, err := tsmc.Verify(path, tsmc.VerifyOptions{Transform: c.transform, QuantSteps: c.steps})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Err != nil || !r.Passed || len(r.Outputs) != 1 || r.Outputs[0].Step == 0 {
					t.Errorf("%s: %v, passed %v, outputs %+v", r.Dir, r.Err, r.Passed, r.Outputs)
				}
			}
		})
	}
}
