package interp_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/internal/testmodels"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	_ "github.com/tsmc-go/tsmc/ops" // the shape rules
)

// runModel runs every test data set of the model in dir and checks the
// outputs to a relative error of 1e-4. Shapes are inferred first by the
// operator table's rules (with Eval folding shape arithmetic), so Run also
// checks every node's output against its inferred dtype and shape.
func runModel(t *testing.T, dir string) {
	g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		t.Fatalf("shape inference: %v", err)
	}
	sets, err := onnx.DataSetDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) == 0 {
		t.Fatalf("%s has no test data sets", dir)
	}
	for _, set := range sets {
		ds, err := onnx.LoadDataSet(set)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string]*ir.Tensor{}
		for i, in := range g.Inputs {
			inputs[in.Name] = ds.Inputs[i]
		}
		start := time.Now()
		outs, err := interp.Run(g, inputs)
		if err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		for i, o := range g.Outputs {
			got, want := outs[o.Name], ds.Outputs[i]
			if !got.Shape.Equal(want.Shape) {
				t.Fatalf("%s: output %s has shape %v, want %v", set, o.Name, got.Shape, want.Shape)
			}
			if e := tensorcmp.RelErr(got, want); e > 1e-4 {
				t.Errorf("%s: output %s: relative error %.3g > 1e-4", set, o.Name, e)
			} else {
				t.Logf("%s: output %s: relative error %.3g", filepath.Base(set), o.Name, e)
			}
		}
		t.Logf("%s: ran in %v", filepath.Base(set), time.Since(start).Round(time.Millisecond))
	}
}

func TestTinyModels(t *testing.T) {
	for _, name := range []string{
		"tsm_tiny_official", "tsm_tiny_mmaction",
		"tsm_tiny_temporalpool", "tsm_tiny_nonlocal", "tsm_tiny_mobilenetv3",
		"tsm_tiny_efficientnet", "tsm_tiny_resnext_online",
	} {
		t.Run(name, func(t *testing.T) { runModel(t, filepath.Join("..", "testdata", name)) })
	}
}

// TestSharedModels runs the full-size models (testmodels.Dir) when
// they are present (not with -short: ResNet50 takes several seconds).
func TestSharedModels(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models are slow")
	}
	root := testmodels.Dir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("no shared models: %v", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) { runModel(t, dir) })
	}
}
