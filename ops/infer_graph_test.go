package ops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// intEval is a small evaluator for the int64 shape arithmetic of the tests
// (Gather on 1-D data, Unsqueeze, Concat of 1-D tensors); the real one is
// the interp package. It records the ops it is asked to run and refuses
// everything else, which shape inference must tolerate.
type intEval struct {
	calls []string
	fail  string // op to fail on
}

func (e *intEval) eval(n *ir.Node, opset int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	e.calls = append(e.calls, n.Op)
	if n.Op == e.fail {
		return nil, errors.New("injected failure")
	}
	for _, t := range in {
		if t != nil && t.DType != ir.Int64 {
			return nil, fmt.Errorf("test evaluator handles int64 only, got %v", t.DType)
		}
	}
	switch n.Op {
	case "Gather":
		data, idx := in[0], in[1]
		if len(data.Shape) != 1 || n.AttrInt("axis", 0) != 0 {
			return nil, errors.New("test evaluator gathers from 1-D data only")
		}
		out := make([]int64, len(idx.I64))
		for i, j := range idx.I64 {
			if j < 0 {
				j += int64(len(data.I64))
			}
			out[i] = data.I64[j]
		}
		return []*ir.Tensor{ir.Int64s(idx.Shape, out)}, nil
	case "Unsqueeze":
		rank := len(in[0].Shape) + len(in[1].I64)
		shape := make(ir.Shape, rank)
		for _, a := range in[1].I64 {
			if a < 0 {
				a += int64(rank)
			}
			shape[a] = 1
		}
		rest := in[0].Shape
		for i := range shape {
			if shape[i] == 0 {
				shape[i], rest = rest[0], rest[1:]
			}
		}
		return []*ir.Tensor{ir.Int64s(shape, slices.Clone(in[0].I64))}, nil
	case "Concat":
		var out []int64
		for _, t := range in {
			out = append(out, t.I64...)
		}
		return []*ir.Tensor{ir.Int64s(ir.Shape{len(out)}, out)}, nil
	}
	return nil, fmt.Errorf("test evaluator does not run %s", n.Op)
}

// graphBuilder assembles small multi-node graphs.
type graphBuilder struct{ g *ir.Graph }

func newGraphBuilder(opset int64) *graphBuilder {
	return &graphBuilder{&ir.Graph{Name: "t", Opsets: map[string]int64{"": opset}}}
}

func (b *graphBuilder) input(name string, v *ir.Value) *ir.Value {
	v.Name = name
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *graphBuilder) constant(name string, v *ir.Value) *ir.Value {
	v.Name = name
	return v
}

// node adds a node named name with one output of the same name.
func (b *graphBuilder) node(name, op string, a attrs, inputs ...*ir.Value) *ir.Value {
	out := &ir.Value{Name: name}
	b.g.Nodes = append(b.g.Nodes, &ir.Node{Name: name, Op: op, Attrs: a, Inputs: inputs, Outputs: []*ir.Value{out}})
	return out
}

// reshapeByShapeChain builds x f32[2,3,4,5] reshaped to
// Concat(Unsqueeze(Gather(Shape(x), 0), [0]), [-1]), the pattern PyTorch
// exports for x.view(x.size(0), -1).
func reshapeByShapeChain() (*ir.Graph, map[string]*ir.Value) {
	b := newGraphBuilder(13)
	x := b.input("x", f32(2, 3, 4, 5))
	shape := b.node("shape", "Shape", nil, x)
	first := b.node("gather", "Gather", attrs{"axis": aInt(0)}, shape, b.constant("zero", scalarInt(0)))
	unsq := b.node("unsqueeze", "Unsqueeze", nil, first, b.constant("axes", ints(0)))
	target := b.node("concat", "Concat", attrs{"axis": aInt(0)}, unsq, b.constant("minus1", ints(-1)))
	out := b.node("reshape", "Reshape", nil, x, target)
	b.g.Outputs = []*ir.Value{out}
	return b.g, map[string]*ir.Value{"shape": shape, "gather": first, "unsqueeze": unsq, "concat": target, "reshape": out}
}

func TestInferKnownValueChain(t *testing.T) {
	g, v := reshapeByShapeChain()
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	ev := &intEval{}
	if err := ir.InferShapes(g, ev.eval); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"shape": "i64[4]", "gather": "i64[]", "unsqueeze": "i64[1]", "concat": "i64[2]", "reshape": "f32[2,60]"}
	for name, w := range want {
		if got := typeOf(v[name]); got != w {
			t.Errorf("%s: got %s, want %s", name, got, w)
		}
	}
	// Shape is computed from the input shape directly and Reshape reads
	// the run-time x, so only the arithmetic in between is evaluated.
	if want := []string{"Gather", "Unsqueeze", "Concat"}; !slices.Equal(ev.calls, want) {
		t.Errorf("evaluator ran %v, want %v", ev.calls, want)
	}
	// Inference can run again (after passes) with the same result.
	if err := ir.InferShapes(g, ev.eval); err != nil || typeOf(v["reshape"]) != "f32[2,60]" {
		t.Errorf("second inference: %v, %s", err, typeOf(v["reshape"]))
	}
}

func TestInferKnownValueChainErrors(t *testing.T) {
	cases := []struct {
		name string
		eval func(*intEval) ir.Evaluator
		want []string
	}{
		{"no evaluator", func(*intEval) ir.Evaluator { return nil },
			[]string{`node "reshape" (Reshape`, "input 1 (shape) %concat is not a known constant", `computed by node "concat"`, "no evaluator"}},
		{"evaluator fails", func(e *intEval) ir.Evaluator { e.fail = "Concat"; return e.eval },
			[]string{`node "reshape"`, `evaluating node "concat" (Concat`, "injected failure"}},
		{"upstream failure propagates", func(e *intEval) ir.Evaluator { e.fail = "Gather"; return e.eval },
			[]string{`node "reshape"`, `computed by node "concat" (Concat, domain ai.onnx) from %unsqueeze, which is not known`}},
		{"evaluator disagrees", func(e *intEval) ir.Evaluator {
			return func(n *ir.Node, opset int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
				if n.Op == "Gather" {
					return []*ir.Tensor{ir.Int64s(ir.Shape{1}, []int64{2})}, nil
				}
				return e.eval(n, opset, in)
			}
		}, []string{`node "gather"`, "evaluator computed i64[1] for output 0 %gather but shape inference says i64[]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, _ := reshapeByShapeChain()
			err := ir.InferShapes(g, c.eval(&intEval{}))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestInferConstantOfShapeFolding(t *testing.T) {
	t.Run("small values are known without an evaluator", func(t *testing.T) {
		b := newGraphBuilder(13)
		x := b.input("x", f32(3, 1))
		three := b.node("three", "ConstantOfShape", attrs{"value": aTensor(ir.Int64s(ir.Shape{1}, []int64{3}))}, b.constant("one", ints(1)))
		out := b.node("reshape", "Reshape", nil, x, three)
		b.g.Outputs = []*ir.Value{out}
		if err := ir.InferShapes(b.g, nil); err != nil {
			t.Fatal(err)
		}
		if got := typeOf(out); got != "f32[3]" {
			t.Errorf("got %s, want f32[3]", got)
		}
	})
	// reduceOfFill sums a ConstantOfShape of the given size to a scalar
	// and reports the ops the evaluator was asked to run.
	reduceOfFill := func(t *testing.T, size int64) []string {
		b := newGraphBuilder(13)
		fill := b.node("fill", "ConstantOfShape", nil, b.constant("size", ints(size)))
		sum := b.node("sum", "ReduceSum", attrs{"keepdims": aInt(0)}, fill)
		b.g.Outputs = []*ir.Value{sum}
		ev := &intEval{}
		if err := ir.InferShapes(b.g, ev.eval); err != nil {
			t.Fatal(err)
		}
		if typeOf(fill) != fmt.Sprintf("f32[%d]", size) || typeOf(sum) != "f32[]" {
			t.Errorf("got %s and %s", typeOf(fill), typeOf(sum))
		}
		return ev.calls
	}
	t.Run("small fill is folded further", func(t *testing.T) {
		if calls := reduceOfFill(t, 4); !slices.Equal(calls, []string{"ReduceSum"}) {
			t.Errorf("evaluator ran %v, want [ReduceSum]", calls)
		}
	})
	t.Run("large fill is not materialised", func(t *testing.T) {
		if calls := reduceOfFill(t, ir.FoldLimit+1); len(calls) != 0 {
			t.Errorf("evaluator ran %v, want nothing", calls)
		}
	})
}

func symbolicGraph() *ir.Graph {
	return &ir.Graph{Name: "t", Opsets: map[string]int64{"": 13}, Inputs: []*ir.Value{
		{Name: "x", DType: ir.Float32, Shape: ir.Shape{-1, 3, -1, -1}, DimParams: []string{"N", "", "H", "W"}},
		{Name: "y", DType: ir.Float32, Shape: ir.Shape{-1, 5}, DimParams: []string{"N", ""}},
		{Name: "z", DType: ir.Int64, Shape: ir.Shape{2}},
	}}
}

func TestBindShapes(t *testing.T) {
	errCases := []struct {
		name   string
		shapes map[string]ir.Shape
		want   []string
		not    []string
	}{
		{"nothing bound", nil,
			[]string{`input "x" dim 0 (N)`, `input "x" dim 2 (H)`, `input "x" dim 3 (W)`, `input "y" dim 0 (N)`},
			[]string{`"z"`, `"x" dim 1`}},
		{"one input left", map[string]ir.Shape{"x": {1, 3, 8, 8}}, []string{`input "y" dim 0 (N)`}, []string{`"x" dim`}},
		{"fixed dim", map[string]ir.Shape{"x": {1, 4, 8, 8}, "y": {1, 5}}, []string{`input "x": dim 1 is fixed to 3`}, nil},
		{"rank", map[string]ir.Shape{"x": {1, 3, 8}, "y": {1, 5}}, []string{`input "x": shape [1,3,8] has rank 3`}, nil},
		{"unknown name", map[string]ir.Shape{"q": {1}}, []string{`no graph input named "q" (inputs: x, y, z)`}, nil},
		{"negative", map[string]ir.Shape{"x": {1, 3, 8, -1}, "y": {1, 5}}, []string{`input "x": dim 3 of [1,3,8,?] must be in [0,`}, nil},
		{"conflicting dim_param", map[string]ir.Shape{"x": {1, 3, 8, 8}, "y": {2, 5}},
			[]string{`dim_param "N" is bound to 1 at input "x" dim 0 but to 2 at input "y" dim 0`}, nil},
		{"too large", map[string]ir.Shape{"x": {1 << 20, 3, 1 << 10, 1 << 10}, "y": {1 << 20, 5}}, []string{"more than 4294967296 elements"}, nil},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			g := symbolicGraph()
			err := ir.BindShapes(g, c.shapes)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q should not mention %q", err, w)
				}
			}
			if !g.Inputs[0].Shape.Equal(ir.Shape{-1, 3, -1, -1}) {
				t.Errorf("failed binding changed x to %v", g.Inputs[0].Shape)
			}
		})
	}
	t.Run("success", func(t *testing.T) {
		g := symbolicGraph()
		if err := ir.BindShapes(g, map[string]ir.Shape{"x": {2, 3, 8, 6}, "y": {2, 5}, "z": {2}}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []ir.Shape{{2, 3, 8, 6}, {2, 5}, {2}} {
			if !g.Inputs[i].Shape.Equal(want) {
				t.Errorf("input %s: %v, want %v", g.Inputs[i].Name, g.Inputs[i].Shape, want)
			}
		}
	})
	t.Run("unnamed and unknown rank", func(t *testing.T) {
		g := &ir.Graph{Name: "t", Inputs: []*ir.Value{{Name: "a", DType: ir.Float32, Shape: ir.Shape{-1}}, {Name: "b", DType: ir.Float32}}}
		err := ir.BindShapes(g, nil)
		if err == nil || !strings.Contains(err.Error(), `input "a" dim 0 (unnamed)`) || !strings.Contains(err.Error(), `input "b" has unknown rank`) {
			t.Fatalf("got %v", err)
		}
		if err := ir.BindShapes(g, map[string]ir.Shape{"a": {4}, "b": {2, 2}}); err != nil {
			t.Fatal(err)
		}
		if !g.Inputs[1].Shape.Equal(ir.Shape{2, 2}) {
			t.Errorf("b bound to %v", g.Inputs[1].Shape)
		}
	})
}

func TestInferShapesGraphChecks(t *testing.T) {
	t.Run("unbound inputs", func(t *testing.T) {
		g := symbolicGraph()
		err := ir.InferShapes(g, nil)
		if err == nil || !strings.Contains(err.Error(), `input "x" dim 0 (N)`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("declared output disagrees", func(t *testing.T) {
		b := newGraphBuilder(13)
		out := b.node("relu", "Relu", nil, b.input("x", f32(1, 10)))
		out.DType, out.Shape = ir.Float32, ir.Shape{1, 11}
		b.g.Outputs = []*ir.Value{out}
		err := ir.InferShapes(b.g, nil)
		if err == nil || !strings.Contains(err.Error(), `output "relu" is inferred as f32[1,10] but the model declares f32[1,11]`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("declared symbolic output agrees", func(t *testing.T) {
		b := newGraphBuilder(13)
		out := b.node("relu", "Relu", nil, b.input("x", f32(1, 10)))
		out.DType, out.Shape = ir.Float32, ir.Shape{-1, 10}
		b.g.Outputs = []*ir.Value{out}
		if err := ir.InferShapes(b.g, nil); err != nil || typeOf(out) != "f32[1,10]" {
			t.Fatalf("got %v, %s", err, typeOf(out))
		}
	})
	t.Run("no opset", func(t *testing.T) {
		b := newGraphBuilder(13)
		b.node("relu", "Relu", nil, b.input("x", f32(2)))
		b.g.Opsets = nil
		if err := ir.InferShapes(b.g, nil); err == nil || !strings.Contains(err.Error(), `node "relu" (Relu, domain ai.onnx): graph t imports no version`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unsorted", func(t *testing.T) {
		b := newGraphBuilder(13)
		later := &ir.Value{Name: "later"}
		b.node("first", "Relu", nil, later)
		b.g.Nodes = append(b.g.Nodes, &ir.Node{Name: "second", Op: "Relu", Inputs: []*ir.Value{b.input("x", f32(2))}, Outputs: []*ir.Value{later}})
		if err := ir.InferShapes(b.g, nil); err == nil || !strings.Contains(err.Error(), `node "first"`) || !strings.Contains(err.Error(), "no inferred type") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSupportedOps(t *testing.T) {
	ops := ir.SupportedOps()
	if !slices.Equal(ops, slices.Sorted(slices.Values(Names()))) {
		t.Errorf("the IR knows %v, the table holds %v", ops, Names())
	}
	if !slices.IsSorted(ops) {
		t.Errorf("not sorted: %v", ops)
	}
	for _, op := range strings.Fields(`Add Sub Mul Div BatchNormalization Cast Clip Concat Constant ConstantOfShape
		Conv Equal Expand Flatten Gather Gemm GlobalAveragePool AveragePool MaxPool MatMul Pad Range ReduceMean
		Relu Reshape ScatterND Shape Sigmoid Slice Softmax Split Squeeze Transpose Unsqueeze Where Identity
		Tile Neg Abs Exp Sqrt Max Min Sum Less Greater Not Dropout`) {
		if !slices.Contains(ops, op) {
			t.Errorf("SupportedOps lacks %s", op)
		}
	}
}

// TestBecomesNamesALoweredOp: an op the passes turn into a tsmc one
// names a tsmc op that code generation lowers.
func TestBecomesNamesALoweredOp(t *testing.T) {
	n := 0
	for _, name := range Names() {
		d := table[name]
		if d.Becomes == "" {
			continue
		}
		n++
		if to, ok := table[d.Becomes]; !ok || to.Lower == nil || d.Lower != nil {
			t.Errorf("%s becomes %s, which is no lowered op of the table (or has a lowering itself)", name, d.Becomes)
		}
	}
	if n == 0 {
		t.Error("no op becomes a tsmc one")
	}
}
