package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// calibrationDir writes n data sets of random inputs for the tiny model.
func calibrationDir(t *testing.T, n int) string {
	t.Helper()
	g, err := tsmc.Load(tinyModel, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 5))
	for k := range n {
		ds := &onnx.DataSet{}
		for _, in := range g.Inputs {
			x, _ := ir.NewTensor(ir.Float32, in.Shape)
			for i := range x.F32 {
				x.F32[i] = float32(rng.NormFloat64())
			}
			ds.InputNames, ds.Inputs = append(ds.InputNames, in.Name), append(ds.Inputs, x)
		}
		if err := onnx.WriteDataSet(filepath.Join(dir, "test_data_set_"+string(rune('0'+k))), ds); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestQuantizeWritesQDQModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "int8.onnx")
	code, stdout, errOut := tsmcRun("quantize", "-calibrate", calibrationDir(t, 3), "-o", out, tinyModel)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"12 convs, 1 fully connected, 4 residual sums", "tsmc.QConv:12", "float32 vs int8 over the 3 calibration runs", "top-1 agreement", "top-5 agreement", "wrote      " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	g, err := onnx.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if ops := g.ComputeStats().Ops; ops["QuantizeLinear"] == 0 || ops["DequantizeLinear"] == 0 {
		t.Errorf("the written model has no QDQ pairs: %v", ops)
	}
	// inspect reads it and shows the quantised graph.
	code, stdout, errOut = tsmcRun("inspect", out)
	if code != 0 || !strings.Contains(stdout, "tsmc.QConv:12") || !strings.Contains(stdout, "int8     ") || !strings.Contains(stdout, " i8 + ") {
		t.Errorf("inspect exit %d: %s%s", code, stdout, errOut)
	}
	code, stdout, _ = tsmcRun("inspect", "-json", out)
	var rep inspectReport
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || rep.Quantized == nil {
		t.Fatalf("inspect -json: exit %d, %v: %s", code, err, stdout)
	}
	// int8 weights (and a few int32 biases) take about a quarter of float32.
	q := rep.Quantized
	if w := q.WeightBytes["i8"] + q.WeightBytes["i32"]; w*3 > q.WeightBytesFloat32 || q.Ops["tsmc.QConv"] != 12 || q.ActivationBytes["u8"] == 0 {
		t.Errorf("quantised summary %+v", q)
	}
}

func TestQuantizeErrors(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "q.onnx")
	calib := calibrationDir(t, 1)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"quantize", "-calibrate", calib, tinyModel}, 2, "missing -o"},
		{[]string{"quantize", "-o", out, tinyModel}, 2, "missing -calibrate"},
		{[]string{"quantize", "-calibrate", calib, "-o", out, tinyModel, tinyModel}, 2, "one model"},
		{[]string{"quantize", "-calibrate", calib, "-method", "kl", "-o", out, tinyModel}, 2, `-method "kl": want minmax, percentile or entropy`},
		{[]string{"quantize", "-calibrate", calib, "-method", "percentile", "-percentile", "0", "-o", out, tinyModel}, 2, "-percentile 0"},
		{[]string{"quantize", "-calibrate", filepath.Join(tmp, "missing"), "-o", out, tinyModel}, 1, "missing"},
		{[]string{"quantize", "-calibrate", calib, "-o", filepath.Join(tmp, "no", "such", "dir.onnx"), tinyModel}, 1, "no such"},
	} {
		code, _, errOut := tsmcRun(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: a failed run wrote %s", c.args, out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, ".tsmc-quantize-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
