package ort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestRunStopsWhenCancelled cancels a long onnxruntime session: node is
// interrupted, RunContext returns the context's error, and its temporary
// folder is gone.
func TestRunStopsWhenCancelled(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("onnxruntime not available: %v", err)
	}
	modules, err := NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORT_NODE_MODULES", modules) // found from here, before TMPDIR moves
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := filepath.Join("..", "..", "testdata", "tsm_tiny_mmaction")
	ds, err := onnx.LoadDataSet(filepath.Join(dir, "test_data_set_0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil { // until the request is written and node starts on it
			if m, _ := filepath.Glob(filepath.Join(tmp, "tsmc-ort-*", "request.json")); len(m) > 0 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err = RunContext(ctx, Request{
		Model:  filepath.Join(dir, "model.onnx"),
		Inputs: map[string]*ir.Tensor{ds.InputNames[0]: ds.Inputs[0]},
		Iters:  1_000_000,
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}
