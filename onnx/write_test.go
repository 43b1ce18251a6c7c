package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// TestEncodeRoundTrip writes the bundled models and reads them back: the
// graph prints the same, constant for constant.
func TestEncodeRoundTrip(t *testing.T) {
	for _, dir := range append(tinyModels, "../testdata/tsm_tiny_online") {
		g, err := Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		data, err := Encode(g)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		back, err := Decode(data, "")
		if err != nil {
			t.Fatalf("%s: reading the written model: %v", dir, err)
		}
		if got, want := back.Print(), g.Print(); got != want {
			t.Errorf("%s: the written model reads back differently:\n%s", dir, firstDiff(got, want))
		}
		for i, c := range g.Constants() {
			if err := tensorcmp.Equal(back.Constants()[i].Const, c.Const); err != nil {
				t.Errorf("%s: constant %s: %v", dir, c.Name, err)
			}
		}
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return "got:  " + g[i] + "\nwant: " + w[i]
		}
	}
	return "lengths differ"
}

// TestEncodeEveryKind round-trips every dtype as constant, input and
// output, every attribute kind, symbolic dimensions, omitted inputs and
// outputs, and a second domain.
func TestEncodeEveryKind(t *testing.T) {
	consts := []*ir.Tensor{
		ir.Float32s(ir.Shape{2}, []float32{1.5, float32(math.Inf(-1))}),
		{DType: ir.Float64, Shape: ir.Shape{1}, F64: []float64{math.Pi}},
		ir.Int64s(ir.Shape{2}, []int64{math.MinInt64, math.MaxInt64}),
		{DType: ir.Int32, Shape: ir.Shape{2}, I64: []int64{math.MinInt32, math.MaxInt32}},
		{DType: ir.Int16, Shape: ir.Shape{2}, I64: []int64{math.MinInt16, math.MaxInt16}},
		{DType: ir.Int8, Shape: ir.Shape{3}, I64: []int64{-128, 0, 127}},
		{DType: ir.Uint8, Shape: ir.Shape{2, 2}, I64: []int64{0, 1, 254, 255}},
		{DType: ir.Bool, Shape: ir.Shape{}, B: []bool{true}},
	}
	g := &ir.Graph{Name: "kinds", Opsets: map[string]int64{"": 21, "com.microsoft": 1}}
	x := &ir.Value{Name: "x", DType: ir.Uint8, Shape: ir.Shape{-1, 3}, DimParams: []string{"N", ""}}
	g.Inputs = []*ir.Value{x}
	n := &ir.Node{Name: "every", Op: "Custom", Domain: "com.microsoft", Inputs: []*ir.Value{x, nil}}
	for i, c := range consts {
		n.Inputs = append(n.Inputs, ir.NewConst("c"+string(rune('a'+i)), c))
	}
	y := &ir.Value{Name: "y", DType: ir.Int8, Shape: ir.Shape{2}}
	n.Outputs = []*ir.Value{nil, y}
	n.Attrs = map[string]ir.Attr{
		"f":  {Kind: ir.AttrFloat, Float: 0.25},
		"i":  {Kind: ir.AttrInt, Int: -7},
		"s":  {Kind: ir.AttrString, String: "NOTSET"},
		"t":  {Kind: ir.AttrTensor, Tensor: consts[5]},
		"fs": {Kind: ir.AttrFloats, Floats: []float32{1, -2}},
		"is": {Kind: ir.AttrInts, Ints: []int64{-1, 1 << 40}},
		"ss": {Kind: ir.AttrStrings, Strings: []string{"a", ""}},
	}
	g.Nodes = []*ir.Node{n}
	g.Outputs = []*ir.Value{y}
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Print(), g.Print(); got != want {
		t.Errorf("round trip:\n%s", firstDiff(got, want))
	}
	if p := back.Inputs[0].DimParams; len(p) != 2 || p[0] != "N" {
		t.Errorf("dim params read back as %q", p)
	}
	if a := back.Nodes[0].Attrs["t"]; a.Tensor == nil || tensorcmp.Equal(a.Tensor, consts[5]) != nil {
		t.Errorf("tensor attribute read back as %+v", a)
	}
	for i, c := range back.Nodes[0].Inputs[2:] {
		if err := tensorcmp.Equal(c.Const, consts[i]); err != nil {
			t.Errorf("constant %d (%v): %v", i, consts[i].DType, err)
		}
	}
}

// TestEncodeErrors: values that ONNX cannot hold are errors, not bad files.
func TestEncodeErrors(t *testing.T) {
	bad := []*ir.Tensor{
		{DType: ir.Uint8, Shape: ir.Shape{1}, I64: []int64{256}},
		{DType: ir.Int8, Shape: ir.Shape{1}, I64: []int64{-129}},
		{DType: ir.Float32, Shape: ir.Shape{2}, F32: []float32{1}},
	}
	for _, c := range bad {
		g := &ir.Graph{Name: "bad", Opsets: map[string]int64{"": 13}}
		y := &ir.Value{Name: "y"}
		g.Nodes = []*ir.Node{{Op: "Identity", Inputs: []*ir.Value{ir.NewConst("c", c)}, Outputs: []*ir.Value{y}}}
		g.Outputs = []*ir.Value{y}
		if _, err := Encode(g); err == nil || !strings.Contains(err.Error(), `"c"`) {
			t.Errorf("%v%v: got %v, want an error naming the constant", c.DType, c.I64, err)
		}
	}
}

// TestWriteDataSet writes a data set and loads it back.
func TestWriteDataSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "test_data_set_0")
	ds := &DataSet{
		InputNames: []string{"a", "b"}, Inputs: []*ir.Tensor{
			ir.Float32s(ir.Shape{1, 2}, []float32{1, 2}),
			{DType: ir.Uint8, Shape: ir.Shape{3}, I64: []int64{0, 128, 255}},
		},
		OutputNames: []string{"y"}, Outputs: []*ir.Tensor{ir.Int64s(ir.Shape{}, []int64{-3})},
	}
	if err := WriteDataSet(dir, ds); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDataSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.InputNames, ",") != "a,b" || strings.Join(back.OutputNames, ",") != "y" {
		t.Errorf("names read back as %v, %v", back.InputNames, back.OutputNames)
	}
	for i, want := range append(ds.Inputs, ds.Outputs...) {
		got := append(back.Inputs, back.Outputs...)[i]
		if err := tensorcmp.Equal(got, want); err != nil {
			t.Errorf("tensor %d: %v", i, err)
		}
	}
	if err := WriteDataSet(filepath.Join(t.TempDir(), "x"), &DataSet{InputNames: []string{"a"}}); err == nil {
		t.Error("a data set with more names than tensors was written")
	}
	if _, err := os.Stat(filepath.Join(dir, "input_1.pb")); err != nil {
		t.Error(err)
	}
}
