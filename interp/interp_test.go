package interp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// The ops the rest of tsmc relies on (the reader's list).
var requiredOps = []string{
	"Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
	"ConstantOfShape", "Conv", "Div", "Dropout", "Equal", "Exp", "Expand", "Flatten", "Gather",
	"Gemm", "GlobalAveragePool", "Greater", "Identity", "Less", "MatMul", "Max", "MaxPool", "Min",
	"Mul", "Neg", "Not", "Pad", "Range", "ReduceMean", "Relu", "Reshape", "ScatterND", "Shape",
	"Sigmoid", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tile", "Transpose",
	"Unsqueeze", "Where",
}

func TestSupported(t *testing.T) {
	ops := Supported()
	if !slices.IsSorted(ops) {
		t.Errorf("Supported() is not sorted: %v", ops)
	}
	for _, op := range requiredOps {
		if !slices.Contains(ops, op) {
			t.Errorf("op %s is not supported", op)
		}
	}
}

func TestRegisterCustomDomain(t *testing.T) {
	Register("interptest", "Double", func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		out, err := binaryOps["Add"].apply(inputs[0], inputs[0])
		return []*ir.Tensor{out}, err
	})
	if !slices.Contains(Supported(), "interptest.Double") {
		t.Fatalf("Supported() = %v lacks interptest.Double", Supported())
	}
	n := &ir.Node{Name: "d", Op: "Double", Domain: "interptest", Inputs: names("x", 1), Outputs: names("y", 1)}
	out, err := Eval(n, 1, []*ir.Tensor{f32s(ir.Shape{2}, 1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	expectTensor(t, "Double", out[0], f32s(ir.Shape{2}, 2, 4))
}

func TestEvalErrors(t *testing.T) {
	Register("interptest", "Panics", func(*ir.Node, int64, []*ir.Tensor) ([]*ir.Tensor, error) {
		var s []int
		_ = s[3]
		return nil, nil
	})
	Register("interptest", "PanicsInWorker", func(*ir.Node, int64, []*ir.Tensor) ([]*ir.Tensor, error) {
		parallelFor(4, func(lo, hi int) {
			if hi == 4 {
				panic("worker failed")
			}
		})
		return nil, nil
	})
	Register("interptest", "TooFew", func(*ir.Node, int64, []*ir.Tensor) ([]*ir.Tensor, error) {
		return []*ir.Tensor{ir.Scalar(1)}, nil
	})
	Register("interptest", "Malformed", func(*ir.Node, int64, []*ir.Tensor) ([]*ir.Tensor, error) {
		return []*ir.Tensor{f32s(ir.Shape{3}, 1)}, nil
	})
	node := func(op, domain string, outputs int) *ir.Node {
		return &ir.Node{Name: "node_" + op, Op: op, Domain: domain, Inputs: names("x", 1), Outputs: names("y", outputs)}
	}
	cases := []struct {
		name   string
		n      *ir.Node
		opset  int64
		inputs []*ir.Tensor
		want   []string
	}{
		{"unknown_op", node("Frobnicate", "", 1), 17, []*ir.Tensor{ir.Scalar(1)},
			[]string{`"node_Frobnicate"`, "Frobnicate", "domain ai.onnx", "opset 17", "no kernel"}},
		{"unknown_domain", node("Relu", "com.example", 1), 3, []*ir.Tensor{ir.Scalar(1)},
			[]string{"Relu", "domain com.example", "opset 3", "no kernel"}},
		{"no_opset", node("Relu", "", 1), 0, []*ir.Tensor{ir.Scalar(1)},
			[]string{"Relu", "no opset version"}},
		{"malformed_input", node("Relu", "", 1), 13, []*ir.Tensor{f32s(ir.Shape{2, 2}, 1)},
			[]string{"Relu", "input 0", "holds 1 elements, want 4"}},
		{"panic_recovered", node("Panics", "interptest", 1), 1, nil,
			[]string{"Panics", "domain interptest", "kernel panicked", "index out of range"}},
		{"panic_in_worker_recovered", node("PanicsInWorker", "interptest", 1), 1, nil,
			[]string{"PanicsInWorker", "kernel panicked", "worker failed"}},
		{"output_missing", node("TooFew", "interptest", 2), 1, nil,
			[]string{"TooFew", `output 1 "y1" is not produced`}},
		{"output_malformed", node("Malformed", "interptest", 1), 1, nil,
			[]string{"Malformed", "kernel bug"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Eval(c.n, c.opset, c.inputs)
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

// smallGraph is x -> Relu -> r; y = r + c; z = Neg(y) * r; outputs y, z.
func smallGraph() *ir.Graph {
	x := &ir.Value{Name: "x", DType: ir.Float32, Shape: ir.Shape{-1, 2}}
	r := &ir.Value{Name: "r"}
	y := &ir.Value{Name: "y", DType: ir.Float32, Shape: ir.Shape{-1, 2}}
	ny := &ir.Value{Name: "ny"}
	z := &ir.Value{Name: "z"}
	c := ir.NewConst("c", f32s(ir.Shape{2}, 10, 20))
	return &ir.Graph{
		Name:   "small",
		Opsets: map[string]int64{"": 13},
		Inputs: []*ir.Value{x},
		Nodes: []*ir.Node{
			{Name: "relu", Op: "Relu", Inputs: []*ir.Value{x}, Outputs: []*ir.Value{r}},
			{Name: "add", Op: "Add", Inputs: []*ir.Value{r, c}, Outputs: []*ir.Value{y}},
			{Name: "neg", Op: "Neg", Inputs: []*ir.Value{y}, Outputs: []*ir.Value{ny}},
			{Name: "mul", Op: "Mul", Inputs: []*ir.Value{ny, r}, Outputs: []*ir.Value{z}},
		},
		Outputs: []*ir.Value{y, z},
	}
}

func TestRun(t *testing.T) {
	g := smallGraph()
	x := f32s(ir.Shape{2, 2}, -1, 2, 3, -4)
	outs, err := Run(g, map[string]*ir.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	// r = [0 2 3 0]; y = [10 22 13 20]; z = -y*r = [0 -44 -39 0].
	expectTensor(t, "y", outs["y"], f32s(ir.Shape{2, 2}, 10, 22, 13, 20))
	expectTensor(t, "z", outs["z"], f32s(ir.Shape{2, 2}, 0, -44, -39, 0))
	if len(outs) != 2 {
		t.Errorf("got %d outputs, want 2", len(outs))
	}
	if x.F32[0] != -1 {
		t.Errorf("Run modified its input")
	}
}

func TestRunFreesAfterLastUse(t *testing.T) {
	g := smallGraph()
	last := lastUses(g)
	byName := map[string]int{}
	for v, i := range last {
		byName[v.Name] = i
	}
	// r is read last by mul (3), ny by mul (3); y is a graph output and is
	// never freed; x by relu (0).
	want := map[string]int{"x": 0, "r": 3, "ny": 3, "c": 1}
	for name, i := range want {
		if got, ok := byName[name]; !ok || got != i {
			t.Errorf("last use of %s = %d (present %v), want %d", name, got, ok, i)
		}
	}
	if _, ok := byName["y"]; ok {
		t.Errorf("graph output y would be freed")
	}
	// AfterNode sees every node in order.
	var seen []string
	_, err := RunWith(g, map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 1)}, Options{
		AfterNode: func(n *ir.Node, outs []*ir.Tensor) error {
			seen = append(seen, n.Name)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "relu,add,neg,mul" {
		t.Errorf("AfterNode saw %v", seen)
	}
	stop := errors.New("stop")
	if _, err := RunWith(g, map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 1)}, Options{
		AfterNode: func(*ir.Node, []*ir.Tensor) error { return stop },
	}); !errors.Is(err, stop) {
		t.Errorf("AfterNode error not returned: %v", err)
	}
}

func TestRunInputErrors(t *testing.T) {
	cases := []struct {
		name   string
		inputs map[string]*ir.Tensor
		want   string
	}{
		{"missing", map[string]*ir.Tensor{}, "graph inputs not given: x"},
		{"nil", map[string]*ir.Tensor{"x": nil}, "graph inputs not given: x"},
		{"dtype", map[string]*ir.Tensor{"x": vec(1, 2)}, `"x" is declared f32 but the tensor is i64`},
		{"rank", map[string]*ir.Tensor{"x": f32s(ir.Shape{2}, 1, 2)}, "declared with shape [?,2]"},
		{"dim", map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 3}, 1, 2, 3)}, "tensor has shape [1,3]"},
		{"malformed", map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1)}, "holds 1 elements"},
		{"extra", map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 2), "q": ir.Scalar(1)}, `"q" is not a graph input`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(smallGraph(), c.inputs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestRunNodeErrors(t *testing.T) {
	g := smallGraph()
	g.Nodes[1].Inputs[1] = ir.NewConst("c", f32s(ir.Shape{3}, 1, 2, 3))
	_, err := Run(g, map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 2)})
	if err == nil || !strings.Contains(err.Error(), `"add" (Add, domain ai.onnx) opset 13`) ||
		!strings.Contains(err.Error(), "cannot be broadcast") {
		t.Fatalf("error %v does not name the node and the problem", err)
	}

	g = smallGraph()
	g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0] // add before relu
	if _, err := Run(g, map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 2)}); err == nil ||
		!strings.Contains(err.Error(), `"r" has not been computed`) {
		t.Fatalf("out-of-order graph: error %v", err)
	}

	g = smallGraph()
	g.Outputs[0].Shape = ir.Shape{-1, 3}
	if _, err := Run(g, map[string]*ir.Tensor{"x": f32s(ir.Shape{1, 2}, 1, 2)}); err == nil ||
		!strings.Contains(err.Error(), `"y" is declared with shape [?,3]`) {
		t.Fatalf("declared output shape mismatch: error %v", err)
	}
}

// TestNoPanics feeds every supported op odd inputs and attributes: each
// must return outputs or an error, never panic.
func TestNoPanics(t *testing.T) {
	empty := f32s(ir.Shape{0, 2})
	inputSets := [][]*ir.Tensor{
		nil,
		{nil},
		{ir.Scalar(1)},
		{seqF32(ir.Shape{2, 3}, 1)},
		{seqF32(ir.Shape{2, 3}, 1), seqF32(ir.Shape{3, 2}, 1)},
		{seqF32(ir.Shape{2, 3}, 1), vec(1, -1), vec(5, 0), vec(-9, 9)},
		{vec(2, 3), vec(0), vec(1)},
		{bools(ir.Shape{2}, true, false), vec(1, 2), ir.Scalar(1)},
		{seqF32(ir.Shape{1, 2, 4, 4}, 0), seqF32(ir.Shape{2, 2, 3, 3}, 0), f32s(ir.Shape{2}, 1, 2)},
		{seqF32(ir.Shape{1, 2, 3}, 0), seqF32(ir.Shape{2}, 0), seqF32(ir.Shape{2}, 0), seqF32(ir.Shape{2}, 0), seqF32(ir.Shape{2}, 0)},
		{empty, empty, empty},
		{seqF32(ir.Shape{2, 3}, 1), nil, ir.Scalar(1)},
		{vec(1 << 40), vec(1 << 40)},
	}
	attrSets := []attrs{
		nil,
		{"axis": aInt(7), "axes": aInts(9), "perm": aInts(0, 0), "to": aInt(99)},
		{"axis": aInt(-1), "kernel_shape": aInts(0, 0), "pads": aInts(-3, -3, -3, -3), "strides": aInts(-1, 1)},
		{"kernel_shape": aInts(2, 2), "dilations": aInts(3, 3), "group": aInt(0), "split": aInts(-1, 3)},
		{"starts": aInts(1 << 62), "ends": aInts(-1 << 62), "shape": aInts(-1, -1), "value": aTensor(vec())},
		{"mode": aString("reflect"), "pads": aInts(5, 5, 5, 5), "auto_pad": aString("SAME_LOWER"), "kernel_shape": aInts(9)},
	}
	for _, op := range Supported() {
		if strings.Contains(op, ".") {
			continue
		}
		for _, opset := range []int64{1, 7, 11, 13, 18} {
			for ai, a := range attrSets {
				for ii, inputs := range inputSets {
					n := opNode(op, a, inputs, 2)
					_, err := Eval(n, opset, inputs)
					if err != nil && strings.Contains(err.Error(), "panicked") {
						t.Errorf("%s opset %d attrs %d inputs %d: %v", op, opset, ai, ii, firstLine(err))
					}
				}
			}
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Sprint(s)
}
