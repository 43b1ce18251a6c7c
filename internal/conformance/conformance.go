// Package conformance reads the ONNX project's backend node tests (as
// onnx-go packages them) into tsmc's IR, for the tests that run them
// through the interpreter and through generated code.
package conformance

import (
	"fmt"
	"math"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"github.com/owulveryck/onnx-go/backend/testbackend"
	_ "github.com/owulveryck/onnx-go/backend/testbackend/onnx" // registers the ONNX node tests
	"gorgonia.org/tensor"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// Case is one node test: its model and its inputs and expected outputs in
// graph order.
type Case struct {
	Op, Title       string
	Graph           *ir.Graph
	Inputs, Outputs []*ir.Tensor
}

// Name is "Op/Title".
func (c *Case) Name() string { return c.Op + "/" + c.Title }

// The node tests come from two places: onnx-go's generated suite, and, for
// ops that suite has no cases for, the ONNX project's own single-node tests
// kept in testdata/onnxnode (see its README), whose titles are their
// folder names.

// nodeSuite maps an op to its folders in testdata/onnxnode.
var nodeSuite = sync.OnceValues(func() (map[string][]string, error) {
	_, file, _, _ := goruntime.Caller(0)
	dirs, err := filepath.Glob(filepath.Join(filepath.Dir(file), "testdata", "onnxnode", "test_*"))
	if err != nil {
		return nil, err
	}
	byOp := map[string][]string{}
	for _, dir := range dirs {
		g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			return nil, err
		}
		if len(g.Nodes) != 1 {
			return nil, fmt.Errorf("%s: %d nodes, want one", dir, len(g.Nodes))
		}
		op := g.Nodes[0].Op
		if len(testbackend.GetOpTypeTests(op)) > 0 {
			return nil, fmt.Errorf("%s: onnx-go has cases for %s now; drop the copy", dir, op)
		}
		byOp[op] = append(byOp[op], dir)
	}
	return byOp, nil
})

// Titles lists the node tests of op, sorted.
func Titles(op string) []string {
	var titles []string
	for _, newCase := range testbackend.GetOpTypeTests(op) {
		titles = append(titles, newCase().Title)
	}
	suite, err := nodeSuite()
	if err != nil {
		panic(err) // the committed test data is broken
	}
	for _, dir := range suite[op] {
		titles = append(titles, filepath.Base(dir))
	}
	sort.Strings(titles)
	return titles
}

// Load reads the node test of op with the given title: its model decoded
// afresh and its tensors converted to the graph's declared types.
func Load(op, title string) (*Case, error) {
	if strings.HasPrefix(title, "test_") {
		return loadNodeSuite(op, title)
	}
	for _, newCase := range testbackend.GetOpTypeTests(op) {
		tc := newCase()
		if tc.Title != title {
			continue
		}
		g, err := onnx.Decode(tc.ModelB, "")
		if err != nil {
			return nil, fmt.Errorf("reading the model: %w", err)
		}
		c := &Case{Op: op, Title: title, Graph: g}
		if len(g.Inputs) != len(tc.Input) || len(g.Outputs) != len(tc.ExpectedOutput) {
			return nil, fmt.Errorf("graph has %d inputs and %d outputs, the test gives %d and %d",
				len(g.Inputs), len(g.Outputs), len(tc.Input), len(tc.ExpectedOutput))
		}
		for i, in := range g.Inputs {
			x, err := fromGorgonia(tc.Input[i], in)
			if err != nil {
				return nil, fmt.Errorf("input %d: %w", i, err)
			}
			c.Inputs = append(c.Inputs, x)
		}
		for i, o := range g.Outputs {
			x, err := fromGorgonia(tc.ExpectedOutput[i], o)
			if err != nil {
				return nil, fmt.Errorf("expected output %d: %w", i, err)
			}
			c.Outputs = append(c.Outputs, x)
		}
		return c, nil
	}
	return nil, fmt.Errorf("no node test %s/%s", op, title)
}

// loadNodeSuite reads a case of testdata/onnxnode.
func loadNodeSuite(op, title string) (*Case, error) {
	suite, err := nodeSuite()
	if err != nil {
		return nil, err
	}
	for _, dir := range suite[op] {
		if filepath.Base(dir) != title {
			continue
		}
		g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			return nil, err
		}
		ds, err := onnx.LoadDataSet(filepath.Join(dir, "test_data_set_0"))
		if err != nil {
			return nil, err
		}
		if len(ds.Inputs) != len(g.Inputs) || len(ds.Outputs) != len(g.Outputs) {
			return nil, fmt.Errorf("%s: %d inputs and %d outputs for a graph of %d and %d", dir, len(ds.Inputs), len(ds.Outputs), len(g.Inputs), len(g.Outputs))
		}
		return &Case{Op: op, Title: title, Graph: g, Inputs: ds.Inputs, Outputs: ds.Outputs}, nil
	}
	return nil, fmt.Errorf("no node test %s/%s", op, title)
}

// Check compares an output with its expected value: integers and bools
// exactly, floats to a relative error (max|got-want| / max|want|) of 1e-4.
func Check(got, want *ir.Tensor) error {
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("%v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	if got.DType.IsInt() || got.DType == ir.Bool {
		for j := range want.Len() {
			if got.Float(j) != want.Float(j) {
				return fmt.Errorf("element %d is %v, want %v", j, got.Float(j), want.Float(j))
			}
		}
		return nil
	}
	if e := tensorcmp.RelErr(got, want); e > 1e-4 {
		return fmt.Errorf("relative error %.3g > 1e-4", e)
	}
	return nil
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

// BindArguments makes every input that is not float32 (the op's shape
// arguments: axes, pads, indices, target shapes) a constant of the graph,
// as exporters write them, and returns the run-time inputs by name.
func (c *Case) BindArguments() map[string]*ir.Tensor {
	runtime := map[string]*ir.Tensor{}
	var kept []*ir.Value
	for i, v := range c.Graph.Inputs {
		if v.DType == ir.Float32 {
			kept = append(kept, v)
			runtime[v.Name] = c.Inputs[i]
			continue
		}
		v.Const = c.Inputs[i]
		v.Shape = c.Inputs[i].Shape.Clone()
	}
	c.Graph.Inputs = kept
	return runtime
}
