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
