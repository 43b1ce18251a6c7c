package interp

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/owulveryck/onnx-go/backend/testbackend"
	_ "github.com/owulveryck/onnx-go/backend/testbackend/onnx" // registers the ONNX node tests
	"gorgonia.org/tensor"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// conformanceSkips lists the backend test cases of supported ops that are
// outside the interpreter's scope, with the reason. Everything else must
// pass.
var conformanceSkips = map[string]string{}

// TestConformance runs the ONNX backend node tests (as packaged by onnx-go)
// of every supported op through the onnx reader and Run.
func TestConformance(t *testing.T) {
	var ops []string
	for _, op := range Supported() {
		if !strings.Contains(op, ".") && len(testbackend.GetOpTypeTests(op)) > 0 {
			ops = append(ops, op)
		}
	}
	run, passed, skipped := 0, 0, 0
	for _, op := range ops {
		cases := testbackend.GetOpTypeTests(op)
		sort.Slice(cases, func(i, j int) bool { return cases[i]().Title < cases[j]().Title })
		for _, newCase := range cases {
			tc := newCase()
			if reason, ok := conformanceSkips[tc.Title]; ok {
				skipped++
				t.Logf("skip %s/%s: %s", op, tc.Title, reason)
				continue
			}
			run++
			if t.Run(op+"/"+tc.Title, func(t *testing.T) { runConformanceCase(t, tc) }) {
				passed++
			}
		}
	}
	nodeRun, nodePassed, nodeOps := runNodeSuite(t)
	run, passed = run+nodeRun, passed+nodePassed
	summary := fmt.Sprintf("conformance: %d passed / %d run (%d ops; %d of the cases, for %d ops onnx-go lacks, from %s), %d skipped as out of scope",
		passed, run, len(ops)+nodeOps, nodeRun, nodeOps, nodeSuiteDir, skipped)
	t.Log(summary)
	fmt.Println(summary)
}

// nodeSuiteDir holds ONNX backend node tests (model.onnx and
// test_data_set_0, as the onnx package's test generator writes them) of
// registered ops that the onnx-go suite has no cases for; see its README.
const nodeSuiteDir = "testdata/onnxnode"

// runNodeSuite runs every case of nodeSuiteDir: shapes are inferred first
// (checking ir's shape rules against the kernels' outputs), then Run's
// outputs are compared with the expected ones. It returns the cases run and
// passed and the number of ops they cover.
func runNodeSuite(t *testing.T) (run, passed, ops int) {
	dirs, err := filepath.Glob(filepath.Join(nodeSuiteDir, "test_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no node tests in %s (%v)", nodeSuiteDir, err)
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		op := g.Nodes[0].Op
		if len(testbackend.GetOpTypeTests(op)) > 0 {
			t.Errorf("%s: onnx-go has cases for %s now; drop the copy", dir, op)
		}
		if !seen[op] {
			seen[op] = true
			ops++
		}
		run++
		if t.Run(op+"/"+filepath.Base(dir), func(t *testing.T) { runNodeCase(t, g, dir) }) {
			passed++
		}
	}
	return run, passed, ops
}

func runNodeCase(t *testing.T, g *ir.Graph, dir string) {
	if err := ir.InferShapes(g, Eval); err != nil {
		t.Fatalf("shape inference: %v", err)
	}
	sets, err := onnx.DataSetDirs(dir)
	if err != nil || len(sets) == 0 {
		t.Fatalf("%s: no test data sets (%v)", dir, err)
	}
	for _, set := range sets {
		ds, err := onnx.LoadDataSet(set)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Inputs) != len(g.Inputs) || len(ds.Outputs) != len(g.Outputs) {
			t.Fatalf("%s: %d inputs and %d outputs for a graph of %d and %d", set, len(ds.Inputs), len(ds.Outputs), len(g.Inputs), len(g.Outputs))
		}
		inputs := map[string]*ir.Tensor{}
		for i, in := range g.Inputs {
			inputs[in.Name] = ds.Inputs[i]
		}
		outs, err := Run(g, inputs) // checks each output against its inferred type
		if err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		for i, o := range g.Outputs {
			got, want := outs[o.Name], ds.Outputs[i]
			if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
				t.Fatalf("%s: output %s: %v%v, want %v%v", set, o.Name, got.DType, got.Shape, want.DType, want.Shape)
			}
			if e := floatcmp.Tensors(got, want); e > 1e-4 {
				t.Fatalf("%s: output %s: relative error %.3g > 1e-4", set, o.Name, e)
			}
		}
	}
}

func runConformanceCase(t *testing.T, tc *testbackend.TestCase) {
	g, err := onnx.Decode(tc.ModelB, "")
	if err != nil {
		t.Fatalf("reading the model: %v", err)
	}
	if len(g.Inputs) != len(tc.Input) {
		t.Fatalf("graph has %d inputs, the test gives %d", len(g.Inputs), len(tc.Input))
	}
	inputs := map[string]*ir.Tensor{}
	for i, in := range g.Inputs {
		x, err := fromGorgonia(tc.Input[i], in)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		inputs[in.Name] = x
	}
	outs, err := Run(g, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Outputs) != len(tc.ExpectedOutput) {
		t.Fatalf("graph has %d outputs, the test expects %d", len(g.Outputs), len(tc.ExpectedOutput))
	}
	for i, o := range g.Outputs {
		want, err := fromGorgonia(tc.ExpectedOutput[i], o)
		if err != nil {
			t.Fatalf("expected output %d: %v", i, err)
		}
		got := outs[o.Name]
		if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
			t.Fatalf("output %s: %v%v, want %v%v", o.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
		if got.DType.IsInt() || got.DType == ir.Bool {
			for j := range want.Len() {
				if got.Float(j) != want.Float(j) {
					t.Fatalf("output %s: element %d is %v, want %v", o.Name, j, got.Float(j), want.Float(j))
				}
			}
		} else if e := floatcmp.Tensors(got, want); e > 1e-4 {
			t.Fatalf("output %s: relative error %.3g > 1e-4", o.Name, e)
		}
	}
}

// fromGorgonia converts a gorgonia tensor to an ir.Tensor for the graph
// input or output v. onnx-go's generated cases store 0-d tensors with shape
// [1] and some integer tensors as float32; the tensor is given v's declared
// rank-0 shape and integer dtype when its data fits them, so the comparison
// with our outputs can be strict.
func fromGorgonia(x tensor.Tensor, v *ir.Value) (*ir.Tensor, error) {
	shape := ir.Shape(append([]int{}, x.Shape()...))
	var out *ir.Tensor
	switch data := x.Data().(type) {
	case []float32:
		out = &ir.Tensor{DType: ir.Float32, F32: data}
	case float32:
		out = &ir.Tensor{DType: ir.Float32, F32: []float32{data}}
	case []float64:
		out = &ir.Tensor{DType: ir.Float64, F64: data}
	case float64:
		out = &ir.Tensor{DType: ir.Float64, F64: []float64{data}}
	case []int64:
		out = &ir.Tensor{DType: ir.Int64, I64: data}
	case int64:
		out = &ir.Tensor{DType: ir.Int64, I64: []int64{data}}
	case []int32:
		out = &ir.Tensor{DType: ir.Int32, I64: widen(data)}
	case int32:
		out = &ir.Tensor{DType: ir.Int32, I64: []int64{int64(data)}}
	case []int:
		out = &ir.Tensor{DType: ir.Int64, I64: widen(data)}
	case []bool:
		out = &ir.Tensor{DType: ir.Bool, B: data}
	case bool:
		out = &ir.Tensor{DType: ir.Bool, B: []bool{data}}
	default:
		return nil, fmt.Errorf("unsupported gorgonia data %T", data)
	}
	out.Shape = shape
	if out.Len() == 1 && v.Shape != nil && len(v.Shape) == 0 {
		out.Shape = ir.Shape{}
	}
	if v.DType.IsInt() && !out.DType.IsInt() {
		ints := make([]int64, out.Len())
		for i := range ints {
			f := out.Float(i)
			if f != math.Trunc(f) {
				return nil, fmt.Errorf("%q is declared %v but the test data holds %v", v.Name, v.DType, f)
			}
			ints[i] = int64(f)
		}
		out = &ir.Tensor{DType: v.DType, Shape: out.Shape, I64: ints}
	}
	if v.DType.IsInt() && out.DType.IsInt() {
		out.DType = v.DType
	}
	return out, out.Check()
}

func widen[T int32 | int](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
