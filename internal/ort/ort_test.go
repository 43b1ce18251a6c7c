package ort

import (
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// TestRunMatchesDataSet runs a tiny model through onnxruntime and compares
// the output with the data set's expectation.
func TestRunMatchesDataSet(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("onnxruntime not available: %v", err)
	}
	dir := filepath.Join("..", "..", "testdata", "tsm_tiny_mmaction")
	ds, err := onnx.LoadDataSet(filepath.Join(dir, "test_data_set_0"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(Request{
		Model:   filepath.Join(dir, "model.onnx"),
		Inputs:  map[string]*ir.Tensor{ds.InputNames[0]: ds.Inputs[0]},
		Threads: 1, Iters: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := res.Outputs[ds.OutputNames[0]]
	if !ok {
		t.Fatalf("no output %q in %v", ds.OutputNames[0], res.Outputs)
	}
	want := ds.Outputs[0].F32
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	var maxDiff, maxWant float64
	for i := range want {
		d := float64(got[i] - want[i])
		if d < 0 {
			d = -d
		}
		w := float64(want[i])
		if w < 0 {
			w = -w
		}
		maxDiff, maxWant = max(maxDiff, d), max(maxWant, w)
	}
	if rel := maxDiff / maxWant; rel > 1e-4 {
		t.Errorf("relative error %.3g", rel)
	}
	if res.Iters != 3 || len(res.TimesMs) != 3 || res.MedianMs <= 0 {
		t.Errorf("timings %+v", res)
	}
}
