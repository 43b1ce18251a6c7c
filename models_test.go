package tsmc_test

import (
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/verifytest"
)

func TestGoldenTinyModels(t *testing.T) {
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction"} {
		t.Run(name, func(t *testing.T) {
			verifytest.Check(t, filepath.Join("testdata", name, "model.onnx"), tsmc.VerifyOptions{RTol: 1e-4})
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
