package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/verifytest"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

func TestSummarizeTimes(t *testing.T) {
	cases := []struct {
		ms       []float64
		med, min float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 5},
		{[]float64{9, 1, 5}, 5, 1},
		{[]float64{4, 8, 2, 6}, 5, 2},
	}
	for _, c := range cases {
		got := summarizeTimes(c.ms)
		if got.MedianMs != c.med || got.MinMs != c.min {
			t.Errorf("summarizeTimes(%v) = %+v, want median %g, min %g", c.ms, got, c.med, c.min)
		}
	}
}

func TestClipFrames(t *testing.T) {
	g, err := tsmc.Optimize(filepath.Join("..", "..", "testdata", "tsm_tiny_official", "model.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The input [1,12,32,32] is one clip of 4 RGB frames.
	if frames, segments := clipFrames(g); frames != 4 || segments != 4 {
		t.Errorf("clipFrames = %d, %d; want 4 frames of 4 segments", frames, segments)
	}
	online, err := tsmc.Optimize(verifytest.SharedModel(t, "tsm_mobilenetv2_jester_online"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if frames, segments := clipFrames(online); frames != 1 || segments != 1 {
		t.Errorf("clipFrames = %d, %d; one call of the online model is one frame", frames, segments)
	}
}

func TestBenchInputs(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "tsm_tiny_mmaction", "model.onnx")
	g, err := tsmc.Optimize(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := benchInputs(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := benchInputs(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := a["input"]
	if in == nil || !in.Shape.Equal(ir.Shape{1, 12, 32, 32}) {
		t.Fatalf("random inputs %v", a)
	}
	lo, hi := in.F32[0], in.F32[0]
	for i, v := range in.F32 {
		lo, hi = min(lo, v), max(hi, v)
		if v != b["input"].F32[i] {
			t.Fatalf("random inputs differ between calls at %d", i)
		}
	}
	if lo < -1 || hi >= 1 || hi-lo < 1 {
		t.Errorf("random inputs span [%g, %g], want most of [-1, 1)", lo, hi)
	}

	ds, _, err := firstDataSet(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := benchInputs(g, ds)
	if err != nil || got["input"] != ds.Inputs[0] {
		t.Errorf("data set inputs: %v, %v", got, err)
	}
	bad := &onnx.DataSet{Inputs: []*ir.Tensor{ir.Float32s(ir.Shape{1, 12, 16, 16}, make([]float32, 12*16*16))}, InputNames: []string{"input"}}
	if _, err := benchInputs(g, bad); err == nil || !strings.Contains(err.Error(), "[1,12,16,16]") {
		t.Errorf("a data set of another shape: error %v", err)
	}
}
