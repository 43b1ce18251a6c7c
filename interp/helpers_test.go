package interp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// Builders for hand-written test cases.

func f32s(shape ir.Shape, v ...float32) *ir.Tensor { return ir.Float32s(shape, v) }
func i64s(shape ir.Shape, v ...int64) *ir.Tensor   { return ir.Int64s(shape, v) }
func bools(shape ir.Shape, v ...bool) *ir.Tensor {
	return &ir.Tensor{DType: ir.Bool, Shape: shape, B: v}
}

// vec is a 1-D int64 tensor, the usual shape/axes/pads argument.
func vec(v ...int64) *ir.Tensor { return i64s(ir.Shape{len(v)}, v...) }

// seqF32 is a float32 tensor holding start, start+1, ...
func seqF32(shape ir.Shape, start float32) *ir.Tensor {
	t, _ := ir.NewTensor(ir.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = start + float32(i)
	}
	return t
}

func randF32(r *rand.Rand, shape ir.Shape) *ir.Tensor {
	t, _ := ir.NewTensor(ir.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = float32(r.NormFloat64())
	}
	return t
}

type attrs map[string]ir.Attr

func aInt(v int64) ir.Attr         { return ir.Attr{Kind: ir.AttrInt, Int: v} }
func aInts(v ...int64) ir.Attr     { return ir.Attr{Kind: ir.AttrInts, Ints: v} }
func aFloat(v float32) ir.Attr     { return ir.Attr{Kind: ir.AttrFloat, Float: v} }
func aFloats(v ...float32) ir.Attr { return ir.Attr{Kind: ir.AttrFloats, Floats: v} }
func aString(v string) ir.Attr     { return ir.Attr{Kind: ir.AttrString, String: v} }
func aTensor(t *ir.Tensor) ir.Attr { return ir.Attr{Kind: ir.AttrTensor, Tensor: t} }
func names(prefix string, n int) []*ir.Value {
	vs := make([]*ir.Value, n)
	for i := range vs {
		vs[i] = &ir.Value{Name: fmt.Sprintf("%s%d", prefix, i)}
	}
	return vs
}

// opNode builds a node of the default domain with the given attributes,
// one input value per tensor and outputs outputs.
func opNode(op string, a attrs, inputs []*ir.Tensor, outputs int) *ir.Node {
	n := &ir.Node{Name: "test_" + strings.ToLower(op), Op: op, Attrs: map[string]ir.Attr(a)}
	n.Inputs = names("in", len(inputs))
	for i, t := range inputs {
		if t == nil {
			n.Inputs[i] = nil
		}
	}
	n.Outputs = names("out", outputs)
	return n
}

// opCase is one table test of a kernel.
type opCase struct {
	name   string
	op     string
	opset  int64
	attrs  attrs
	inputs []*ir.Tensor
	want   []*ir.Tensor // nil with wantErr
	// outputs is the node's output count when want does not say.
	outputs int
	// wantErr, when set, is a substring the error must contain.
	wantErr string
}

func runCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outputs := max(len(c.want), c.outputs, 1)
			n := opNode(c.op, c.attrs, c.inputs, outputs)
			got, err := Eval(n, c.opset, c.inputs)
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want one containing %q", c.wantErr)
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %q does not contain %q", err, c.wantErr)
				}
				checkErrorNamesNode(t, err, n)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				expectTensor(t, fmt.Sprintf("output %d", i), got[i], want)
			}
		})
	}
}

// checkErrorNamesNode checks an error names the node, its op and domain,
// and did not come from a recovered panic.
func checkErrorNamesNode(t *testing.T, err error, n *ir.Node) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "panicked") {
		t.Fatalf("kernel panicked instead of returning an error: %v", err)
	}
	for _, part := range []string{n.Name, n.Op, "ai.onnx", "opset"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not mention %q", msg, part)
		}
	}
}

// expectTensor compares dtype and shape exactly and values to a relative
// error of 1e-6 (exactly for integers and bools).
func expectTensor(t *testing.T, what string, got, want *ir.Tensor) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no tensor", what)
	}
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
		t.Fatalf("%s: got %v%v, want %v%v", what, got.DType, got.Shape, want.DType, want.Shape)
	}
	if err := got.Check(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	tol := 1e-6
	if !want.DType.IsInt() && want.DType != ir.Bool {
		if e := tensorcmp.RelErr(got, want); e > tol {
			t.Fatalf("%s: relative error %.3g\n got %v\nwant %v", what, e, values(got), values(want))
		}
		return
	}
	for i := range want.Len() {
		if got.Float(i) != want.Float(i) {
			t.Fatalf("%s: element %d is %v, want %v\n got %v\nwant %v", what, i, got.Float(i), want.Float(i), values(got), values(want))
		}
	}
}

func values(t *ir.Tensor) []float64 {
	v := make([]float64, t.Len())
	for i := range v {
		v[i] = t.Float(i)
	}
	return v
}

// eval1 runs a one-output node and fails the test on error.
func eval1(t *testing.T, op string, opset int64, a attrs, inputs ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	out, err := Eval(opNode(op, a, inputs, 1), opset, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}
