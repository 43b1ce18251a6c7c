package ops

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// Builders for single-node test graphs.

func typed(dt ir.DType, dims ...int) *ir.Value {
	return &ir.Value{DType: dt, Shape: append(ir.Shape{}, dims...)}
}
func f32(dims ...int) *ir.Value     { return typed(ir.Float32, dims...) }
func i64(dims ...int) *ir.Value     { return typed(ir.Int64, dims...) }
func boolean(dims ...int) *ir.Value { return typed(ir.Bool, dims...) }

// ints is a 1-D int64 constant.
func ints(vals ...int64) *ir.Value { return ir.NewConst("", ir.Int64s(ir.Shape{len(vals)}, vals)) }

// scalarInt is a rank-0 int64 constant.
func scalarInt(v int64) *ir.Value { return ir.NewConst("", ir.Int64s(ir.Shape{}, []int64{v})) }

// scalarF32 is a rank-0 float32 constant.
func scalarF32(v float32) *ir.Value { return ir.NewConst("", ir.Scalar(v)) }

func aInt(v int64) ir.Attr         { return ir.Attr{Kind: ir.AttrInt, Int: v} }
func aInts(v ...int64) ir.Attr     { return ir.Attr{Kind: ir.AttrInts, Ints: v} }
func aFloat(v float32) ir.Attr     { return ir.Attr{Kind: ir.AttrFloat, Float: v} }
func aFloats(v ...float32) ir.Attr { return ir.Attr{Kind: ir.AttrFloats, Floats: v} }
func aStr(s string) ir.Attr        { return ir.Attr{Kind: ir.AttrString, String: s} }
func aTensor(t *ir.Tensor) ir.Attr { return ir.Attr{Kind: ir.AttrTensor, Tensor: t} }

type attrs = map[string]ir.Attr

// opCase is one single-node inference check: the node's inputs (run-time
// values become graph inputs, constants stay constants), attributes and
// opset, and either the expected output types ("f32[2,3]") or an error
// substring.
type opCase struct {
	name  string
	op    string
	opset int64 // 13 when 0
	in    []*ir.Value
	attrs attrs
	outs  int // number of outputs when want does not say
	want  []string
	err   string
}

// singleNodeGraph builds a graph with one node named "n0".
func singleNodeGraph(c opCase) (*ir.Graph, *ir.Node) {
	opset := c.opset
	if opset == 0 {
		opset = 13
	}
	g := &ir.Graph{Name: "t", Opsets: map[string]int64{"": opset}}
	n := &ir.Node{Name: "n0", Op: c.op, Attrs: c.attrs}
	for i, v := range c.in {
		if v != nil {
			v.Name = fmt.Sprintf("in%d", i)
			if !v.IsConst() {
				g.Inputs = append(g.Inputs, v)
			}
		}
		n.Inputs = append(n.Inputs, v)
	}
	for i := 0; i < max(c.outs, len(c.want), 1); i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: fmt.Sprintf("out%d", i)})
	}
	g.Nodes = []*ir.Node{n}
	g.Outputs = n.Outputs
	return g, n
}

func typeOf(v *ir.Value) string { return v.DType.String() + v.Shape.String() }

func runOpCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, n := singleNodeGraph(c)
			if err := g.Verify(); err != nil {
				t.Fatalf("test graph is invalid: %v", err)
			}
			err := ir.InferShapes(g, nil)
			if c.err != "" {
				if err == nil {
					t.Fatalf("got outputs %v, want error containing %q", outputTypes(n), c.err)
				}
				if !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), `"n0"`) {
					t.Fatalf("error %q should contain %q and name the node", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := outputTypes(n); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("outputs %v, want %v", got, c.want)
			}
		})
	}
}

func outputTypes(n *ir.Node) []string {
	var s []string
	for _, o := range n.Outputs {
		s = append(s, typeOf(o))
	}
	return s
}

func TestInferUnary(t *testing.T) {
	var cases []opCase
	for _, op := range []string{"Relu", "Sigmoid", "Neg", "Abs", "Exp", "Sqrt", "Identity", "Tanh"} {
		cases = append(cases, opCase{name: op, op: op, in: []*ir.Value{f32(2, 3)}, want: []string{"f32[2,3]"}})
	}
	cases = append(cases, []opCase{
		{name: "Relu two inputs", op: "Relu", in: []*ir.Value{f32(2), f32(2)}, err: "has 2 inputs, want 1"},
		{name: "Identity int", op: "Identity", in: []*ir.Value{i64(4)}, want: []string{"i64[4]"}},
		{name: "Not", op: "Not", in: []*ir.Value{boolean(3)}, want: []string{"bool[3]"}},
		{name: "Not float", op: "Not", in: []*ir.Value{f32(3)}, err: "must be bool"},
		{name: "Softmax default axis", op: "Softmax", in: []*ir.Value{f32(2, 5)}, want: []string{"f32[2,5]"}},
		{name: "Softmax bad axis", op: "Softmax", in: []*ir.Value{f32(2, 5)}, attrs: attrs{"axis": aInt(2)}, err: "axis 2 is out of range"},
		{name: "Softmax negative axis", op: "Softmax", in: []*ir.Value{f32(2, 5)}, attrs: attrs{"axis": aInt(-2)}, want: []string{"f32[2,5]"}},
		{name: "Dropout with mask", op: "Dropout", in: []*ir.Value{f32(4, 5)}, outs: 2, want: []string{"f32[4,5]", "bool[4,5]"}},
		{name: "Dropout-7 mask dtype", op: "Dropout", opset: 7, in: []*ir.Value{f32(4, 5)}, want: []string{"f32[4,5]", "f32[4,5]"}},
		{name: "Dropout without mask", op: "Dropout", opset: 12, in: []*ir.Value{f32(4, 5), scalarF32(0.5)}, want: []string{"f32[4,5]"}},
	}...)
	runOpCases(t, cases)
}

func TestInferBatchNormalization(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "inference", op: "BatchNormalization", in: []*ir.Value{f32(1, 3, 4, 4), f32(3), f32(3), f32(3), f32(3)},
			want: []string{"f32[1,3,4,4]"}},
		{name: "channel mismatch", op: "BatchNormalization", in: []*ir.Value{f32(1, 3, 4, 4), f32(3), f32(4), f32(3), f32(3)},
			err: "input 2 (B)"},
		{name: "training outputs", op: "BatchNormalization", opset: 9, in: []*ir.Value{f32(2, 6, 5), f32(6), f32(6), f32(6), f32(6)},
			want: []string{"f32[2,6,5]", "f32[6]", "f32[6]", "f32[6]", "f32[6]"}},
		{name: "rank 1", op: "BatchNormalization", in: []*ir.Value{f32(3), f32(3), f32(3), f32(3), f32(3)}, err: "rank >= 2"},
	})
}

func TestInferCast(t *testing.T) {
	want := map[int64]string{1: "f32", 2: "u8", 3: "i8", 5: "i16", 6: "i32", 7: "i64", 9: "bool", 10: "f32", 11: "f64"}
	var cases []opCase
	for code, dt := range want {
		cases = append(cases, opCase{name: fmt.Sprintf("to %d", code), op: "Cast", in: []*ir.Value{f32(2, 2)},
			attrs: attrs{"to": aInt(code)}, want: []string{dt + "[2,2]"}})
	}
	cases = append(cases,
		opCase{name: "string", op: "Cast", in: []*ir.Value{f32(2)}, attrs: attrs{"to": aInt(8)}, err: "data type 8 is not supported"},
		opCase{name: "missing to", op: "Cast", in: []*ir.Value{f32(2)}, err: "missing int attribute to"},
		opCase{name: "CastLike", op: "CastLike", in: []*ir.Value{f32(2, 3), i64(1)}, want: []string{"i64[2,3]"}},
	)
	runOpCases(t, cases)
}

func TestInferClip(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "opset 6 attrs", op: "Clip", opset: 6, in: []*ir.Value{f32(2, 3)},
			attrs: attrs{"min": aFloat(0), "max": aFloat(6)}, want: []string{"f32[2,3]"}},
		{name: "opset 6 rejects inputs", op: "Clip", opset: 6, in: []*ir.Value{f32(2, 3), scalarF32(0), scalarF32(6)},
			err: "has 3 inputs, want 1"},
		{name: "opset 13 const bounds", op: "Clip", in: []*ir.Value{f32(2, 3), scalarF32(0), scalarF32(6)},
			want: []string{"f32[2,3]"}},
		{name: "opset 13 run-time bounds", op: "Clip", in: []*ir.Value{f32(2, 3), f32(), f32()},
			want: []string{"f32[2,3]"}},
		{name: "opset 13 max only", op: "Clip", in: []*ir.Value{f32(2, 3), nil, scalarF32(6)},
			want: []string{"f32[2,3]"}},
		{name: "opset 13 vector bound", op: "Clip", in: []*ir.Value{f32(2, 3), f32(2)}, err: "must be a scalar"},
		{name: "opset 13 bound dtype", op: "Clip", in: []*ir.Value{f32(2, 3), scalarInt(0)}, err: "has dtype i64"},
	})
}

func TestInferBroadcasting(t *testing.T) {
	var cases []opCase
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		cases = append(cases,
			opCase{name: op + " trailing", op: op, in: []*ir.Value{f32(2, 3, 4), f32(4)}, want: []string{"f32[2,3,4]"}},
			opCase{name: op + " both ways", op: op, in: []*ir.Value{f32(2, 1, 4), f32(3, 1)}, want: []string{"f32[2,3,4]"}},
			opCase{name: op + " scalar", op: op, in: []*ir.Value{f32(), f32(5)}, want: []string{"f32[5]"}},
			opCase{name: op + " zero dim", op: op, in: []*ir.Value{f32(0, 3), f32(1, 3)}, want: []string{"f32[0,3]"}},
			opCase{name: op + " incompatible", op: op, in: []*ir.Value{f32(2, 3), f32(4)}, err: "cannot broadcast shapes [2,3] and [4]"},
			opCase{name: op + " dtypes", op: op, in: []*ir.Value{f32(2), i64(2)}, err: "must have the same dtype"},
		)
	}
	cases = append(cases, []opCase{
		{name: "legacy broadcast axis", op: "Add", opset: 6, in: []*ir.Value{f32(2, 3, 4, 5), f32(3, 4)},
			attrs: attrs{"broadcast": aInt(1), "axis": aInt(1)}, want: []string{"f32[2,3,4,5]"}},
		{name: "legacy broadcast suffix", op: "Mul", opset: 6, in: []*ir.Value{f32(2, 3, 4, 5), f32(5)},
			attrs: attrs{"broadcast": aInt(1)}, want: []string{"f32[2,3,4,5]"}},
		{name: "legacy no broadcast", op: "Add", opset: 6, in: []*ir.Value{f32(2, 3), f32(3)}, err: "broadcast is not set"},
		{name: "legacy mismatch", op: "Add", opset: 6, in: []*ir.Value{f32(2, 3, 4, 5), f32(4, 5)},
			attrs: attrs{"broadcast": aInt(1), "axis": aInt(0)}, err: "cannot broadcast [4,5] onto [2,3,4,5]"},
		{name: "Pow mixed dtypes", op: "Pow", in: []*ir.Value{f32(2, 3), i64()}, want: []string{"f32[2,3]"}},
		{name: "Equal", op: "Equal", in: []*ir.Value{i64(3), i64(1)}, want: []string{"bool[3]"}},
		{name: "Less", op: "Less", in: []*ir.Value{f32(2, 1), f32(4)}, want: []string{"bool[2,4]"}},
		{name: "Greater", op: "Greater", in: []*ir.Value{f32(3), f32(3)}, want: []string{"bool[3]"}},
		{name: "Equal dtypes", op: "Equal", in: []*ir.Value{i64(3), f32(3)}, err: "must have the same dtype"},
		{name: "And", op: "And", in: []*ir.Value{boolean(2, 1), boolean(3)}, want: []string{"bool[2,3]"}},
		{name: "Where", op: "Where", in: []*ir.Value{boolean(2, 1), f32(1, 3), f32()}, want: []string{"f32[2,3]"}},
		{name: "Where int", op: "Where", in: []*ir.Value{boolean(4), i64(4), scalarInt(0)}, want: []string{"i64[4]"}},
		{name: "Where condition", op: "Where", in: []*ir.Value{f32(2), f32(2), f32(2)}, err: "must be bool"},
		{name: "Where incompatible", op: "Where", in: []*ir.Value{boolean(2), f32(3), f32(3)}, err: "cannot broadcast"},
		{name: "Max variadic", op: "Max", in: []*ir.Value{f32(2, 1, 1), f32(1, 3, 1), f32(4)}, want: []string{"f32[2,3,4]"}},
		{name: "Min single", op: "Min", in: []*ir.Value{f32(5)}, want: []string{"f32[5]"}},
		{name: "Sum dtypes", op: "Sum", in: []*ir.Value{f32(5), i64(5)}, err: "must have the same dtype"},
		{name: "Sum incompatible", op: "Sum", in: []*ir.Value{f32(5), f32(5), f32(4)}, err: "cannot broadcast"},
	}...)
	runOpCases(t, cases)
}

func TestInferConstantSources(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Constant tensor", op: "Constant", attrs: attrs{"value": aTensor(ir.Float32s(ir.Shape{2, 2}, []float32{1, 2, 3, 4}))},
			want: []string{"f32[2,2]"}},
		{name: "Constant value_float", op: "Constant", attrs: attrs{"value_float": aFloat(1)}, want: []string{"f32[]"}},
		{name: "Constant value_floats", op: "Constant", attrs: attrs{"value_floats": aFloats(1, 2, 3)}, want: []string{"f32[3]"}},
		{name: "Constant value_int", op: "Constant", attrs: attrs{"value_int": aInt(7)}, want: []string{"i64[]"}},
		{name: "Constant value_ints", op: "Constant", attrs: attrs{"value_ints": aInts(7, 8)}, want: []string{"i64[2]"}},
		{name: "Constant none", op: "Constant", err: "needs exactly one value attribute"},
		{name: "Constant two", op: "Constant", attrs: attrs{"value_int": aInt(1), "value_float": aFloat(1)},
			err: "needs exactly one value attribute"},
		{name: "Constant string", op: "Constant", attrs: attrs{"value_string": aStr("x")}, err: "value_string is not supported"},
		{name: "Constant bad tensor", op: "Constant", attrs: attrs{"value": aTensor(ir.Float32s(ir.Shape{3}, []float32{1}))},
			err: "holds 1 elements, want 3"},

		{name: "ConstantOfShape default", op: "ConstantOfShape", in: []*ir.Value{ints(2, 3)}, want: []string{"f32[2,3]"}},
		{name: "ConstantOfShape int value", op: "ConstantOfShape", in: []*ir.Value{ints(4)},
			attrs: attrs{"value": aTensor(ir.Int64s(ir.Shape{1}, []int64{1}))}, want: []string{"i64[4]"}},
		{name: "ConstantOfShape scalar", op: "ConstantOfShape", in: []*ir.Value{ints()}, want: []string{"f32[]"}},
		{name: "ConstantOfShape run-time shape", op: "ConstantOfShape", in: []*ir.Value{i64(2)},
			err: "input 0 (shape) %in0 is not a known constant"},
		{name: "ConstantOfShape negative", op: "ConstantOfShape", in: []*ir.Value{ints(2, -1)}, err: "dimension -1 out of range"},
		{name: "ConstantOfShape huge", op: "ConstantOfShape", in: []*ir.Value{ints(1<<20, 1<<20)}, err: "more than 4294967296 elements"},
		{name: "ConstantOfShape two-element value", op: "ConstantOfShape", in: []*ir.Value{ints(2)},
			attrs: attrs{"value": aTensor(ir.Float32s(ir.Shape{2}, []float32{1, 2}))}, err: "must hold one element"},

		{name: "Shape", op: "Shape", in: []*ir.Value{f32(2, 3, 4)}, want: []string{"i64[3]"}},
		{name: "Shape scalar", op: "Shape", in: []*ir.Value{f32()}, want: []string{"i64[0]"}},
		{name: "Shape-13 ignores start", op: "Shape", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"start": aInt(1)}, want: []string{"i64[3]"}},
		{name: "Shape-15 start", op: "Shape", opset: 15, in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"start": aInt(1)}, want: []string{"i64[2]"}},
		{name: "Shape-15 negative start", op: "Shape", opset: 15, in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"start": aInt(-1)}, want: []string{"i64[1]"}},
		{name: "Shape-15 negative end", op: "Shape", opset: 15, in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"end": aInt(-1)}, want: []string{"i64[2]"}},
		{name: "Shape-15 clamped", op: "Shape", opset: 15, in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"start": aInt(-10), "end": aInt(10)}, want: []string{"i64[3]"}},
		{name: "Shape-15 empty", op: "Shape", opset: 15, in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"start": aInt(2), "end": aInt(1)}, want: []string{"i64[0]"}},
		{name: "Size", op: "Size", in: []*ir.Value{f32(2, 3)}, want: []string{"i64[]"}},

		{name: "Range up", op: "Range", in: []*ir.Value{scalarInt(0), scalarInt(10), scalarInt(3)}, want: []string{"i64[4]"}},
		{name: "Range down", op: "Range", in: []*ir.Value{scalarInt(10), scalarInt(0), scalarInt(-3)}, want: []string{"i64[4]"}},
		{name: "Range empty", op: "Range", in: []*ir.Value{scalarInt(0), scalarInt(10), scalarInt(-1)}, want: []string{"i64[0]"}},
		// 5 and 5+MinInt64 both lie above the limit MinInt64.
		{name: "Range extreme step", op: "Range", in: []*ir.Value{scalarInt(5), scalarInt(math.MinInt64), scalarInt(math.MinInt64)},
			want: []string{"i64[2]"}},
		{name: "Range float", op: "Range", in: []*ir.Value{scalarF32(0), scalarF32(1), scalarF32(0.25)}, want: []string{"f32[4]"}},
		{name: "Range float partial", op: "Range", in: []*ir.Value{scalarF32(1), scalarF32(2), scalarF32(0.3)}, want: []string{"f32[4]"}},
		{name: "Range zero delta", op: "Range", in: []*ir.Value{scalarInt(0), scalarInt(1), scalarInt(0)}, err: "delta is 0"},
		{name: "Range too long", op: "Range", in: []*ir.Value{scalarInt(0), scalarInt(math.MaxInt64), scalarInt(1)}, err: "larger than"},
		{name: "Range run-time start", op: "Range", in: []*ir.Value{i64(), scalarInt(4), scalarInt(1)},
			err: "input 0 (start) %in0 is not a known constant"},
	})
}

func TestInferReshapeFamily(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Reshape copy and infer", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(0, -1)}, want: []string{"f32[2,12]"}},
		{name: "Reshape flat", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(-1)}, want: []string{"f32[24]"}},
		{name: "Reshape zero copies same index", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(4, 0, 2)}, want: []string{"f32[4,3,2]"}},
		{name: "Reshape two -1", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(-1, -1)}, err: "more than one -1"},
		{name: "Reshape -1 not whole", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(5, -1)}, err: "not a whole number"},
		{name: "Reshape size mismatch", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(7)}, err: "cannot reshape [2,3,4] (24 elements)"},
		{name: "Reshape zero past rank", op: "Reshape", in: []*ir.Value{f32(24), ints(1, 0)}, err: "copies a dimension the input [24] lacks"},
		{name: "Reshape-14 allowzero", op: "Reshape", opset: 14, in: []*ir.Value{f32(0, 3), ints(3, 0)},
			attrs: attrs{"allowzero": aInt(1)}, want: []string{"f32[3,0]"}},
		{name: "Reshape-14 allowzero literal", op: "Reshape", opset: 14, in: []*ir.Value{f32(2, 3, 4), ints(0, 24)},
			attrs: attrs{"allowzero": aInt(1)}, err: "cannot reshape"},
		{name: "Reshape-13 ignores allowzero", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), ints(0, 12)},
			attrs: attrs{"allowzero": aInt(1)}, want: []string{"f32[2,12]"}},
		{name: "Reshape-4 attribute", op: "Reshape", opset: 4, in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"shape": aInts(6, 4)}, want: []string{"f32[6,4]"}},
		{name: "Reshape run-time shape", op: "Reshape", in: []*ir.Value{f32(2, 3, 4), i64(2)},
			err: "input 1 (shape) %in1 is not a known constant"},
		{name: "Reshape huge target", op: "Reshape", in: []*ir.Value{f32(2), ints(1<<31, 1<<31, 4)}, err: "more than 4294967296 elements"},

		{name: "Flatten default", op: "Flatten", in: []*ir.Value{f32(2, 3, 4, 5)}, want: []string{"f32[2,60]"}},
		{name: "Flatten negative", op: "Flatten", in: []*ir.Value{f32(2, 3, 4, 5)}, attrs: attrs{"axis": aInt(-1)}, want: []string{"f32[24,5]"}},
		{name: "Flatten 0", op: "Flatten", in: []*ir.Value{f32(2, 3, 4, 5)}, attrs: attrs{"axis": aInt(0)}, want: []string{"f32[1,120]"}},
		{name: "Flatten rank", op: "Flatten", in: []*ir.Value{f32(2, 3, 4, 5)}, attrs: attrs{"axis": aInt(4)}, want: []string{"f32[120,1]"}},
		{name: "Flatten out of range", op: "Flatten", in: []*ir.Value{f32(2, 3)}, attrs: attrs{"axis": aInt(3)}, err: "axis 3 is out of range"},

		{name: "Transpose default", op: "Transpose", in: []*ir.Value{f32(2, 3, 4)}, want: []string{"f32[4,3,2]"}},
		{name: "Transpose perm", op: "Transpose", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"perm": aInts(0, 2, 1)}, want: []string{"f32[2,4,3]"}},
		{name: "Transpose bad perm", op: "Transpose", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"perm": aInts(0, 0, 1)}, err: "not a permutation"},
		{name: "Transpose short perm", op: "Transpose", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"perm": aInts(1, 0)}, err: "2 entries for rank 3"},

		{name: "Squeeze-11 attr", op: "Squeeze", opset: 11, in: []*ir.Value{f32(1, 3, 1)}, attrs: attrs{"axes": aInts(0, -1)}, want: []string{"f32[3]"}},
		{name: "Squeeze-13 input", op: "Squeeze", in: []*ir.Value{f32(1, 3, 1), ints(0)}, want: []string{"f32[3,1]"}},
		{name: "Squeeze-11 all", op: "Squeeze", opset: 11, in: []*ir.Value{f32(1, 3, 1)}, want: []string{"f32[3]"}},
		{name: "Squeeze-13 all", op: "Squeeze", in: []*ir.Value{f32(1, 3, 1)}, want: []string{"f32[3]"}},
		{name: "Squeeze-13 rejects attr", op: "Squeeze", in: []*ir.Value{f32(1, 3, 1)}, attrs: attrs{"axes": aInts(0)}, err: "attribute axes is not valid at opset 13"},
		{name: "Squeeze non-1", op: "Squeeze", in: []*ir.Value{f32(1, 3, 1), ints(1)}, err: "its size is 3, not 1"},
		{name: "Squeeze run-time axes", op: "Squeeze", in: []*ir.Value{f32(1, 3, 1), i64(1)}, err: "input 1 (axes) %in1 is not a known constant"},
		{name: "Squeeze-11 rejects input", op: "Squeeze", opset: 11, in: []*ir.Value{f32(1, 3, 1), ints(0)}, err: "has 2 inputs, want 1"},

		{name: "Unsqueeze-11 attr", op: "Unsqueeze", opset: 11, in: []*ir.Value{f32(3, 4)}, attrs: attrs{"axes": aInts(0, 3)},
			want: []string{"f32[1,3,4,1]"}},
		{name: "Unsqueeze-13 input", op: "Unsqueeze", in: []*ir.Value{f32(3, 4), ints(0, 3)}, want: []string{"f32[1,3,4,1]"}},
		{name: "Unsqueeze-11 negative", op: "Unsqueeze", opset: 11, in: []*ir.Value{f32(3, 4)}, attrs: attrs{"axes": aInts(-1)},
			want: []string{"f32[3,4,1]"}},
		{name: "Unsqueeze-13 negative", op: "Unsqueeze", in: []*ir.Value{f32(3, 4), ints(-1)}, want: []string{"f32[3,4,1]"}},
		{name: "Unsqueeze-13 middle", op: "Unsqueeze", in: []*ir.Value{f32(3, 4), ints(1, -2)}, want: []string{"f32[3,1,1,4]"}},
		{name: "Unsqueeze scalar", op: "Unsqueeze", in: []*ir.Value{f32(), ints(0)}, want: []string{"f32[1]"}},
		{name: "Unsqueeze repeated", op: "Unsqueeze", in: []*ir.Value{f32(3, 4), ints(1, 1)}, err: "repeats axis 1"},
		{name: "Unsqueeze out of range", op: "Unsqueeze", in: []*ir.Value{f32(3, 4), ints(3)}, err: "axes 3 is out of range for rank 3"},
		{name: "Unsqueeze-13 missing axes", op: "Unsqueeze", in: []*ir.Value{f32(3, 4)}, err: "missing axes"},
		{name: "Unsqueeze-13 rejects attr", op: "Unsqueeze", in: []*ir.Value{f32(3, 4)}, attrs: attrs{"axes": aInts(0)}, err: "attribute axes is not valid at opset 13"},
		{name: "Unsqueeze-11 missing axes", op: "Unsqueeze", opset: 11, in: []*ir.Value{f32(3, 4)}, err: "missing axes"},

		{name: "Concat", op: "Concat", in: []*ir.Value{f32(2, 3), f32(2, 5)}, attrs: attrs{"axis": aInt(1)}, want: []string{"f32[2,8]"}},
		{name: "Concat negative axis", op: "Concat", in: []*ir.Value{f32(2, 3), f32(2, 5), f32(2, 1)}, attrs: attrs{"axis": aInt(-1)},
			want: []string{"f32[2,9]"}},
		{name: "Concat const and input", op: "Concat", in: []*ir.Value{ints(1, 2), i64(3)}, attrs: attrs{"axis": aInt(0)}, want: []string{"i64[5]"}},
		{name: "Concat mismatch", op: "Concat", in: []*ir.Value{f32(2, 3), f32(3, 3)}, attrs: attrs{"axis": aInt(1)}, err: "differs from [2,3] outside axis 1"},
		{name: "Concat rank", op: "Concat", in: []*ir.Value{f32(2, 3), f32(2, 3, 1)}, attrs: attrs{"axis": aInt(0)}, err: "rank differs"},
		{name: "Concat dtype", op: "Concat", in: []*ir.Value{f32(2), i64(2)}, attrs: attrs{"axis": aInt(0)}, err: "has dtype i64, want f32"},
		{name: "Concat missing axis", op: "Concat", in: []*ir.Value{f32(2), f32(2)}, err: "missing attribute axis"},
		{name: "Concat-1 default axis", op: "Concat", opset: 1, in: []*ir.Value{f32(2, 3), f32(2, 1)}, want: []string{"f32[2,4]"}},

		{name: "Tile", op: "Tile", in: []*ir.Value{f32(2, 3), ints(2, 1)}, want: []string{"f32[4,3]"}},
		{name: "Tile zero", op: "Tile", in: []*ir.Value{f32(2, 3), ints(0, 5)}, want: []string{"f32[0,15]"}},
		{name: "Tile length", op: "Tile", in: []*ir.Value{f32(2, 3), ints(2)}, err: "1 values for rank 2"},
		{name: "Tile negative", op: "Tile", in: []*ir.Value{f32(2, 3), ints(-1, 1)}, err: "out of range"},
		{name: "Tile overflow", op: "Tile", in: []*ir.Value{f32(1<<16, 1<<16), ints(2, 2)}, err: "more than 4294967296 elements"},
		{name: "Tile run-time repeats", op: "Tile", in: []*ir.Value{f32(2, 3), i64(2)}, err: "input 1 (repeats)"},
		{name: "Tile-1", op: "Tile", opset: 1, in: []*ir.Value{f32(2, 3), scalarInt(3), scalarInt(1)}, want: []string{"f32[2,9]"}},

		{name: "Expand", op: "Expand", in: []*ir.Value{f32(3, 1), ints(2, 1, 4)}, want: []string{"f32[2,3,4]"}},
		{name: "Expand keeps larger input", op: "Expand", in: []*ir.Value{f32(3, 4), ints(1)}, want: []string{"f32[3,4]"}},
		{name: "Expand incompatible", op: "Expand", in: []*ir.Value{f32(3, 2), ints(4)}, err: "cannot broadcast"},
		{name: "Expand huge", op: "Expand", in: []*ir.Value{f32(1, 1), ints(1<<20, 1<<20)}, err: "more than 4294967296 elements"},
		{name: "Expand run-time shape", op: "Expand", in: []*ir.Value{f32(3, 1), i64(2)}, err: "input 1 (shape)"},
	})
}

func TestInferGatherScatter(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Gather axis 0", op: "Gather", in: []*ir.Value{f32(5, 4), i64(2, 3)}, want: []string{"f32[2,3,4]"}},
		{name: "Gather negative axis", op: "Gather", in: []*ir.Value{f32(5, 4), i64(2, 3)}, attrs: attrs{"axis": aInt(-1)},
			want: []string{"f32[5,2,3]"}},
		{name: "Gather scalar index", op: "Gather", in: []*ir.Value{f32(5, 4), scalarInt(-1)}, want: []string{"f32[4]"}},
		{name: "Gather negative indices", op: "Gather", in: []*ir.Value{f32(5, 4), ints(-5, 4)}, want: []string{"f32[2,4]"}},
		{name: "Gather index too large", op: "Gather", in: []*ir.Value{f32(5, 4), ints(0, 5)}, err: "index 5 is out of range for axis 0 of size 5"},
		{name: "Gather index too small", op: "Gather", in: []*ir.Value{f32(5, 4), ints(-6)}, err: "index -6 is out of range"},
		{name: "Gather float indices", op: "Gather", in: []*ir.Value{f32(5, 4), f32(2)}, err: "must be integers"},
		{name: "Gather bad axis", op: "Gather", in: []*ir.Value{f32(5, 4), i64(2)}, attrs: attrs{"axis": aInt(2)}, err: "axis 2 is out of range"},

		{name: "ScatterND", op: "ScatterND", in: []*ir.Value{f32(4, 5, 6), i64(2, 3, 2), f32(2, 3, 6)}, want: []string{"f32[4,5,6]"}},
		{name: "ScatterND full index", op: "ScatterND", in: []*ir.Value{f32(4, 5), i64(7, 2), f32(7)}, want: []string{"f32[4,5]"}},
		{name: "ScatterND updates shape", op: "ScatterND", in: []*ir.Value{f32(4, 5, 6), i64(2, 3, 2), f32(2, 3, 5)},
			err: "want [2,3,6]"},
		{name: "ScatterND index depth", op: "ScatterND", in: []*ir.Value{f32(4, 5), i64(2, 3), f32(2)}, err: "index 3 dims of data with rank 2"},
	})
}

func TestInferSplit(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Split-11 attr", op: "Split", opset: 11, in: []*ir.Value{f32(6, 2)}, attrs: attrs{"split": aInts(2, 4)},
			want: []string{"f32[2,2]", "f32[4,2]"}},
		{name: "Split-13 input", op: "Split", in: []*ir.Value{f32(6, 2), ints(1, 5)}, outs: 2,
			want: []string{"f32[1,2]", "f32[5,2]"}},
		{name: "Split-13 rejects attr", op: "Split", in: []*ir.Value{f32(6, 2)}, attrs: attrs{"split": aInts(2, 4)},
			outs: 2, err: "attribute split is not valid at opset 13"},
		{name: "Split equal", op: "Split", in: []*ir.Value{f32(2, 6)}, attrs: attrs{"axis": aInt(-1)},
			want: []string{"f32[2,2]", "f32[2,2]", "f32[2,2]"}},
		{name: "Split-18 num_outputs uneven", op: "Split", opset: 18, in: []*ir.Value{f32(10)},
			attrs: attrs{"num_outputs": aInt(4)}, want: []string{"f32[3]", "f32[3]", "f32[3]", "f32[1]"}},
		{name: "Split-18 num_outputs count", op: "Split", opset: 18, in: []*ir.Value{f32(10)},
			attrs: attrs{"num_outputs": aInt(3)}, outs: 2, err: "num_outputs is 3 but the node has 2 outputs"},
		{name: "Split-18 too many parts", op: "Split", opset: 18, in: []*ir.Value{f32(2)},
			attrs: attrs{"num_outputs": aInt(4)}, outs: 4, err: "cannot split size 2 into 4 parts"},
		{name: "Split not equal", op: "Split", in: []*ir.Value{f32(7)}, outs: 2, err: "into 2 equal parts"},
		{name: "Split sum", op: "Split", in: []*ir.Value{f32(6), ints(2, 3)}, outs: 2, err: "sums to 5"},
		{name: "Split count", op: "Split", in: []*ir.Value{f32(6), ints(2, 2, 2)}, outs: 2, err: "3 sizes for 2 outputs"},
		{name: "Split run-time sizes", op: "Split", in: []*ir.Value{f32(6), i64(2)}, outs: 2, err: "input 1 (split)"},
	})
}

func TestInferSlice(t *testing.T) {
	const maxI, minI = math.MaxInt64, math.MinInt64
	// slice13 builds an opset-13 Slice of a [4,5] input along axis 1.
	slice13 := func(name string, start, end, step int64, want string) opCase {
		return opCase{name: name, op: "Slice", in: []*ir.Value{f32(4, 5), ints(start), ints(end), ints(1), ints(step)},
			want: []string{"f32[4," + want + "]"}}
	}
	runOpCases(t, []opCase{
		{name: "Slice-1 attrs", op: "Slice", opset: 1, in: []*ir.Value{f32(4, 5)},
			attrs: attrs{"starts": aInts(1), "ends": aInts(3), "axes": aInts(1)}, want: []string{"f32[4,2]"}},
		{name: "Slice-13 inputs", op: "Slice", in: []*ir.Value{f32(4, 5), ints(1), ints(3), ints(1)}, want: []string{"f32[4,2]"}},
		{name: "Slice-1 default axes", op: "Slice", opset: 1, in: []*ir.Value{f32(4, 5)},
			attrs: attrs{"starts": aInts(1, 0), "ends": aInts(3, 4)}, want: []string{"f32[2,4]"}},
		{name: "Slice-13 default axes", op: "Slice", in: []*ir.Value{f32(4, 5), ints(1, 0), ints(3, 4)}, want: []string{"f32[2,4]"}},
		{name: "Slice-1 rejects inputs", op: "Slice", opset: 1, in: []*ir.Value{f32(4, 5), ints(1), ints(3)}, err: "has 3 inputs, want 1"},
		{name: "Slice-1 missing starts", op: "Slice", opset: 1, in: []*ir.Value{f32(4, 5)}, attrs: attrs{"ends": aInts(3)}, err: "missing attribute starts"},
		slice13("negative start and end", -3, -1, 1, "2"),
		slice13("end past the dim", 0, maxI, 1, "5"),
		slice13("both out of range", -100, 100, 1, "5"),
		slice13("start past the dim", 10, 20, 1, "0"),
		slice13("empty", 3, 1, 1, "0"),
		slice13("step 3", 0, 5, 3, "2"),
		slice13("reverse all", -1, minI, -1, "5"),
		slice13("reverse step -2", 4, 0, -2, "2"),
		slice13("reverse clamped end", 3, -100, -1, "4"),
		slice13("reverse clamped start", 100, 2, -1, "2"),
		slice13("reverse empty", 1, 3, -1, "0"),
		slice13("min step", 4, -100, minI, "1"),
		{name: "Slice negative axis", op: "Slice", in: []*ir.Value{f32(4, 5), ints(1), ints(3), ints(-1)}, want: []string{"f32[4,2]"}},
		{name: "Slice zero step", op: "Slice", in: []*ir.Value{f32(4, 5), ints(1), ints(3), ints(1), ints(0)}, err: "step for axis 1 is 0"},
		{name: "Slice repeated axis", op: "Slice", in: []*ir.Value{f32(4, 5), ints(0, 1), ints(2, 3), ints(1, -1)}, err: "repeats axis 1"},
		{name: "Slice length mismatch", op: "Slice", in: []*ir.Value{f32(4, 5), ints(0, 1), ints(2)}, err: "differ in length"},
		{name: "Slice run-time starts", op: "Slice", in: []*ir.Value{f32(4, 5), i64(1), ints(3)}, err: "input 1 (starts) %in1 is not a known constant"},
		{name: "Slice run-time ends", op: "Slice", in: []*ir.Value{f32(4, 5), ints(1), i64(1)}, err: "input 2 (ends) %in2 is not a known constant"},
	})
}

func TestInferPad(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Pad-2 attr", op: "Pad", opset: 2, in: []*ir.Value{f32(3, 4)}, attrs: attrs{"pads": aInts(0, 1, 0, 2)}, want: []string{"f32[3,7]"}},
		{name: "Pad-13 input", op: "Pad", in: []*ir.Value{f32(3, 4), ints(0, 1, 0, 2)}, want: []string{"f32[3,7]"}},
		{name: "Pad-1 paddings", op: "Pad", opset: 1, in: []*ir.Value{f32(3, 4)}, attrs: attrs{"paddings": aInts(1, 0, 1, 0)}, want: []string{"f32[5,4]"}},
		{name: "Pad-13 constant value", op: "Pad", in: []*ir.Value{f32(3, 4), ints(1, 1, 1, 1), scalarF32(0)}, want: []string{"f32[5,6]"}},
		{name: "Pad-13 crop", op: "Pad", in: []*ir.Value{f32(3, 4), ints(0, -1, 0, -1)}, want: []string{"f32[3,2]"}},
		{name: "Pad-13 over-crop", op: "Pad", in: []*ir.Value{f32(3, 4), ints(-2, 0, -2, 0)}, err: "make axis 0 of size 3 negative"},
		{name: "Pad-13 length", op: "Pad", in: []*ir.Value{f32(3, 4), ints(1, 1)}, err: "has 2 values, want 4"},
		{name: "Pad-18 axes", op: "Pad", opset: 18, in: []*ir.Value{f32(3, 4), ints(1, 2), nil, ints(-1)}, want: []string{"f32[3,7]"}},
		{name: "Pad-2 missing pads", op: "Pad", opset: 2, in: []*ir.Value{f32(3, 4)}, err: "missing attribute pads"},
		{name: "Pad-13 run-time pads", op: "Pad", in: []*ir.Value{f32(3, 4), i64(4)}, err: "input 1 (pads) %in1 is not a known constant"},
		{name: "Pad-13 value dtype", op: "Pad", in: []*ir.Value{f32(3, 4), ints(0, 0, 0, 0), scalarInt(0)}, err: "has dtype i64"},
	})
}

func TestInferConv(t *testing.T) {
	conv := func(name string, x, w []int, a attrs, want string) opCase {
		return opCase{name: name, op: "Conv", in: []*ir.Value{f32(x...), f32(w...)}, attrs: a, want: []string{"f32" + want}}
	}
	runOpCases(t, []opCase{
		conv("plain", []int{1, 3, 32, 32}, []int{8, 3, 3, 3}, nil, "[1,8,30,30]"),
		conv("pads and strides", []int{1, 3, 32, 32}, []int{8, 3, 3, 3},
			attrs{"pads": aInts(1, 1, 1, 1), "strides": aInts(2, 2)}, "[1,8,16,16]"),
		conv("asymmetric pads", []int{1, 3, 10, 10}, []int{8, 3, 3, 3}, attrs{"pads": aInts(0, 1, 2, 0)}, "[1,8,10,9]"),
		conv("dilation", []int{1, 3, 32, 32}, []int{8, 3, 3, 3}, attrs{"dilations": aInts(2, 2)}, "[1,8,28,28]"),
		conv("depthwise", []int{2, 6, 8, 8}, []int{6, 1, 3, 3}, attrs{"group": aInt(6), "pads": aInts(1, 1, 1, 1)}, "[2,6,8,8]"),
		conv("grouped", []int{1, 4, 8, 8}, []int{6, 2, 1, 1}, attrs{"group": aInt(2)}, "[1,6,8,8]"),
		conv("1-D", []int{1, 2, 10}, []int{4, 2, 3}, nil, "[1,4,8]"),
		conv("SAME_UPPER", []int{1, 3, 33, 33}, []int{8, 3, 3, 3}, attrs{"auto_pad": aStr("SAME_UPPER"), "strides": aInts(2, 2)}, "[1,8,17,17]"),
		conv("SAME_LOWER", []int{1, 3, 33, 32}, []int{8, 3, 3, 3}, attrs{"auto_pad": aStr("SAME_LOWER"), "strides": aInts(2, 2)}, "[1,8,17,16]"),
		conv("VALID ignores pads", []int{1, 3, 32, 32}, []int{8, 3, 3, 3},
			attrs{"auto_pad": aStr("VALID"), "strides": aInts(2, 2), "pads": aInts(5, 5, 5, 5)}, "[1,8,15,15]"),
		conv("NOTSET", []int{1, 3, 8, 8}, []int{8, 3, 3, 3}, attrs{"auto_pad": aStr("NOTSET"), "pads": aInts(1, 1, 1, 1)}, "[1,8,8,8]"),
		conv("kernel_shape agrees", []int{1, 3, 8, 8}, []int{8, 3, 3, 3}, attrs{"kernel_shape": aInts(3, 3)}, "[1,8,6,6]"),
		{name: "bias", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3), f32(8)}, want: []string{"f32[1,8,6,6]"}},
		{name: "bias shape", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3), f32(3)}, err: "bias %in2 has shape [3], want [8]"},
		{name: "channels", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 2, 3, 3)}, err: "but the input [1,3,8,8] has 3 channels"},
		{name: "group output channels", op: "Conv", in: []*ir.Value{f32(1, 4, 8, 8), f32(5, 2, 3, 3)}, attrs: attrs{"group": aInt(2)},
			err: "not a multiple of group=2"},
		{name: "kernel_shape disagrees", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3)}, attrs: attrs{"kernel_shape": aInts(5, 5)},
			err: "kernel_shape [5 5] does not match"},
		{name: "kernel too large", op: "Conv", in: []*ir.Value{f32(1, 3, 2, 2), f32(8, 3, 3, 3)}, err: "kernel extent 3 exceeds padded input size 2"},
		{name: "bad auto_pad", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3)}, attrs: attrs{"auto_pad": aStr("SAME")},
			err: `unknown auto_pad "SAME"`},
		{name: "zero stride", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3)}, attrs: attrs{"strides": aInts(0, 1)},
			err: "attribute strides value 0 out of range"},
		{name: "pads length", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3)}, attrs: attrs{"pads": aInts(1, 1)},
			err: "attribute pads has 2 values, want 4"},
		{name: "rank", op: "Conv", in: []*ir.Value{f32(3, 8), f32(8, 3, 3)}, err: "rank >= 3"},
		{name: "huge dilation", op: "Conv", in: []*ir.Value{f32(1, 3, 8, 8), f32(8, 3, 3, 3)},
			attrs: attrs{"dilations": aInts(1<<32, 1<<32)}, err: "larger than"},
	})
}

func TestInferPool(t *testing.T) {
	pool := func(name, op string, x []int, a attrs, want string) opCase {
		return opCase{name: name, op: op, in: []*ir.Value{f32(x...)}, attrs: a, want: []string{"f32" + want}}
	}
	k := func(extra attrs, kernel ...int64) attrs {
		a := attrs{"kernel_shape": aInts(kernel...)}
		for n, v := range extra {
			a[n] = v
		}
		return a
	}
	runOpCases(t, []opCase{
		pool("MaxPool pads strides", "MaxPool", []int{1, 8, 32, 32}, k(attrs{"strides": aInts(2, 2), "pads": aInts(1, 1, 1, 1)}, 3, 3), "[1,8,16,16]"),
		pool("MaxPool floor", "MaxPool", []int{1, 1, 6, 6}, k(attrs{"strides": aInts(2, 2)}, 3, 3), "[1,1,2,2]"),
		pool("MaxPool ceil", "MaxPool", []int{1, 1, 6, 6}, k(attrs{"strides": aInts(2, 2), "ceil_mode": aInt(1)}, 3, 3), "[1,1,3,3]"),
		// With ceil_mode the extra window of 5+1+1 padded by a 2x2/2 pool
		// would start in the end padding, so it is dropped.
		pool("MaxPool ceil drops padded window", "MaxPool", []int{1, 1, 5, 5},
			k(attrs{"strides": aInts(2, 2), "pads": aInts(1, 1, 1, 1), "ceil_mode": aInt(1)}, 2, 2), "[1,1,3,3]"),
		pool("MaxPool ceil exact", "MaxPool", []int{1, 1, 7, 7}, k(attrs{"strides": aInts(2, 2), "ceil_mode": aInt(1)}, 3, 3), "[1,1,3,3]"),
		pool("MaxPool dilations", "MaxPool", []int{1, 1, 10, 10}, k(attrs{"dilations": aInts(2, 1)}, 3, 3), "[1,1,6,8]"),
		pool("MaxPool SAME_UPPER", "MaxPool", []int{1, 1, 7, 8}, k(attrs{"strides": aInts(2, 2), "auto_pad": aStr("SAME_UPPER")}, 3, 3), "[1,1,4,4]"),
		pool("MaxPool VALID", "MaxPool", []int{1, 1, 7, 8}, k(attrs{"strides": aInts(2, 2), "auto_pad": aStr("VALID")}, 3, 3), "[1,1,3,3]"),
		pool("AveragePool", "AveragePool", []int{1, 3, 7, 7}, k(attrs{"strides": aInts(2, 2)}, 2, 2), "[1,3,3,3]"),
		pool("AveragePool ceil", "AveragePool", []int{1, 3, 7, 7}, k(attrs{"strides": aInts(2, 2), "ceil_mode": aInt(1)}, 2, 2), "[1,3,4,4]"),
		pool("AveragePool 1-D", "AveragePool", []int{2, 3, 9}, k(attrs{"pads": aInts(1, 1)}, 3), "[2,3,9]"),
		{name: "MaxPool indices", op: "MaxPool", in: []*ir.Value{f32(1, 2, 4, 4)}, attrs: k(nil, 2, 2), outs: 2,
			want: []string{"f32[1,2,3,3]", "i64[1,2,3,3]"}},
		{name: "AveragePool no indices", op: "AveragePool", in: []*ir.Value{f32(1, 2, 4, 4)}, attrs: k(nil, 2, 2), outs: 2,
			err: "has 2 outputs, want 1"},
		{name: "missing kernel_shape", op: "MaxPool", in: []*ir.Value{f32(1, 2, 4, 4)}, err: "missing attribute kernel_shape"},
		{name: "kernel_shape rank", op: "MaxPool", in: []*ir.Value{f32(1, 2, 4, 4)}, attrs: k(nil, 2), err: "has 1 values, want 2"},
		{name: "kernel too large", op: "MaxPool", in: []*ir.Value{f32(1, 2, 4, 4)}, attrs: k(attrs{"auto_pad": aStr("VALID")}, 5, 5),
			err: "kernel extent 5 exceeds input size 4"},
		pool("GlobalAveragePool", "GlobalAveragePool", []int{2, 8, 7, 5}, nil, "[2,8,1,1]"),
		pool("GlobalMaxPool 1-D", "GlobalMaxPool", []int{2, 8, 7}, nil, "[2,8,1]"),
		{name: "GlobalAveragePool rank", op: "GlobalAveragePool", in: []*ir.Value{f32(2, 8)}, err: "rank >= 3"},
	})
}

func TestInferMatrix(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "Gemm", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(3, 5)}, want: []string{"f32[4,5]"}},
		{name: "Gemm transA", op: "Gemm", in: []*ir.Value{f32(3, 4), f32(3, 5)}, attrs: attrs{"transA": aInt(1)}, want: []string{"f32[4,5]"}},
		{name: "Gemm transB", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(5, 3)}, attrs: attrs{"transB": aInt(1)}, want: []string{"f32[4,5]"}},
		{name: "Gemm C row", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(3, 5), f32(5)}, want: []string{"f32[4,5]"}},
		{name: "Gemm C column", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(3, 5), f32(4, 1)}, want: []string{"f32[4,5]"}},
		{name: "Gemm C scalar", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(3, 5), scalarF32(1)}, want: []string{"f32[4,5]"}},
		{name: "Gemm C mismatch", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(3, 5), f32(3)}, err: "C of shape [3] does not broadcast to [4,5]"},
		{name: "Gemm C too big", op: "Gemm", in: []*ir.Value{f32(1, 3), f32(3, 5), f32(4, 5)}, err: "does not broadcast to [1,5]"},
		{name: "Gemm inner", op: "Gemm", in: []*ir.Value{f32(4, 3), f32(4, 5)}, err: "inner dimensions differ"},
		{name: "Gemm rank", op: "Gemm", in: []*ir.Value{f32(4, 3, 1), f32(3, 5)}, err: "must be matrices"},

		{name: "MatMul", op: "MatMul", in: []*ir.Value{f32(2, 3), f32(3, 4)}, want: []string{"f32[2,4]"}},
		{name: "MatMul vector left", op: "MatMul", in: []*ir.Value{f32(3), f32(3, 4)}, want: []string{"f32[4]"}},
		{name: "MatMul vector right", op: "MatMul", in: []*ir.Value{f32(2, 3), f32(3)}, want: []string{"f32[2]"}},
		{name: "MatMul dot", op: "MatMul", in: []*ir.Value{f32(3), f32(3)}, want: []string{"f32[]"}},
		{name: "MatMul batched", op: "MatMul", in: []*ir.Value{f32(5, 1, 2, 3), f32(4, 3, 6)}, want: []string{"f32[5,4,2,6]"}},
		{name: "MatMul vector batched", op: "MatMul", in: []*ir.Value{f32(3), f32(7, 3, 4)}, want: []string{"f32[7,4]"}},
		{name: "MatMul inner", op: "MatMul", in: []*ir.Value{f32(2, 3), f32(4, 5)}, err: "inner dimensions differ"},
		{name: "MatMul batch", op: "MatMul", in: []*ir.Value{f32(2, 2, 3), f32(3, 3, 4)}, err: "cannot broadcast"},
		{name: "MatMul scalar", op: "MatMul", in: []*ir.Value{f32(), f32(3)}, err: "rank >= 1"},
	})
}

func TestInferReduce(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "ReduceMean-13 attr", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"axes": aInts(1)}, want: []string{"f32[2,1,4]"}},
		{name: "ReduceMean-18 input", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4), ints(1)}, want: []string{"f32[2,1,4]"}},
		{name: "ReduceMean-13 keepdims 0", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"axes": aInts(-1), "keepdims": aInt(0)}, want: []string{"f32[2,3]"}},
		{name: "ReduceMean-18 keepdims 0", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4), ints(0, 2)},
			attrs: attrs{"keepdims": aInt(0)}, want: []string{"f32[3]"}},
		{name: "ReduceMean-13 all", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)}, want: []string{"f32[1,1,1]"}},
		{name: "ReduceMean-18 all", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"keepdims": aInt(0)},
			want: []string{"f32[]"}},
		{name: "ReduceMean-18 noop", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"noop_with_empty_axes": aInt(1)}, want: []string{"f32[2,3,4]"}},
		{name: "ReduceMean-18 noop empty input", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4), ints()},
			attrs: attrs{"noop_with_empty_axes": aInt(1)}, want: []string{"f32[2,3,4]"}},
		{name: "ReduceMean-13 noop ignored", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"noop_with_empty_axes": aInt(1)}, want: []string{"f32[1,1,1]"}},
		{name: "ReduceMean-18 rejects attr", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4)},
			attrs: attrs{"axes": aInts(1)}, err: "attribute axes is not valid at opset 18"},
		{name: "ReduceMean-13 rejects input", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4), ints(1)}, err: "has 2 inputs, want 1"},
		{name: "ReduceMean-18 run-time axes", op: "ReduceMean", opset: 18, in: []*ir.Value{f32(2, 3, 4), i64(1)},
			err: "input 1 (axes) %in1 is not a known constant"},
		{name: "ReduceMean repeated", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"axes": aInts(1, -2)}, err: "repeats axis 1"},
		{name: "ReduceMean out of range", op: "ReduceMean", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"axes": aInts(3)}, err: "axes 3 is out of range"},
		{name: "ReduceSum-13 input", op: "ReduceSum", in: []*ir.Value{f32(2, 3, 4), ints(1)}, want: []string{"f32[2,1,4]"}},
		{name: "ArgMax", op: "ArgMax", in: []*ir.Value{f32(2, 3, 4)}, attrs: attrs{"axis": aInt(1), "keepdims": aInt(0)}, want: []string{"i64[2,4]"}},
	})
}

func TestInferNodeChecks(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "unknown op", op: "NoSuchOp", in: []*ir.Value{f32(2)}, err: "no shape inference rule"},
		{name: "missing required input", op: "Add", in: []*ir.Value{f32(2), nil}, err: "required input 1 is missing"},
		{name: "too many outputs", op: "Relu", in: []*ir.Value{f32(2)}, outs: 2, err: "has 2 outputs, want 1"},
	})
}

func TestInferActivationNorms(t *testing.T) {
	runOpCases(t, []opCase{
		{name: "PRelu channel slope", op: "PRelu", opset: 16, in: []*ir.Value{f32(2, 3, 4, 4), f32(3, 1, 1)},
			want: []string{"f32[2,3,4,4]"}},
		{name: "PRelu slope too big", op: "PRelu", opset: 16, in: []*ir.Value{f32(3, 4), f32(2, 3, 4)},
			err: "slope of shape [2,3,4] does not broadcast to [3,4]"},
		{name: "PRelu opset 6 one slope", op: "PRelu", opset: 6, in: []*ir.Value{f32(3, 4), f32(1, 1, 1)},
			want: []string{"f32[3,4]"}},
		{name: "InstanceNormalization", op: "InstanceNormalization", opset: 6,
			in: []*ir.Value{f32(2, 3, 5), f32(3), f32(3)}, want: []string{"f32[2,3,5]"}},
		{name: "InstanceNormalization 2-D", op: "InstanceNormalization", opset: 6,
			in: []*ir.Value{f32(2, 3), f32(3), f32(3)}, err: "must be N x C x spatial"},
		{name: "LayerNormalization stats", op: "LayerNormalization", opset: 17, attrs: attrs{"axis": aInt(-2)},
			in: []*ir.Value{f32(2, 3, 4), f32(3, 4), nil}, want: []string{"f32[2,3,4]", "f32[2,1,1]", "f32[2,1,1]"}},
		{name: "LayerNormalization axis 0", op: "LayerNormalization", opset: 17, attrs: attrs{"axis": aInt(0)},
			in: []*ir.Value{f32(2, 3), f32(2, 3), f32(3)}, want: []string{"f32[2,3]", "f32[1,1]"}},
		{name: "LayerNormalization bad axis", op: "LayerNormalization", opset: 17, attrs: attrs{"axis": aInt(2)},
			in: []*ir.Value{f32(2, 3), f32(3)}, err: "axis 2 is out of range for rank 2"},
		{name: "LayerNormalization opset 16", op: "LayerNormalization", opset: 16,
			in: []*ir.Value{f32(2, 3), f32(3)}, err: "unsupported op at opset 16 (defined from opset 17)"},
		{name: "Gelu opset 20", op: "Gelu", opset: 20, in: []*ir.Value{f32(2, 3)}, want: []string{"f32[2,3]"}},
		{name: "Gelu opset 13", op: "Gelu", opset: 13, in: []*ir.Value{f32(2, 3)}, err: "defined from opset 20"},
		{name: "HardSwish opset 13", op: "HardSwish", opset: 13, in: []*ir.Value{f32(2, 3)}, err: "defined from opset 14"},
		{name: "Erf opset 8", op: "Erf", opset: 8, in: []*ir.Value{f32(2, 3)}, err: "defined from opset 9"},
		{name: "LayerNormalization stash double", op: "LayerNormalization", opset: 17, attrs: attrs{"stash_type": aInt(11)},
			in: []*ir.Value{f32(2, 3), f32(3)}, err: "stash_type 11 is not supported"},
	})
}

// TestInferQuantParams: constant scales and zero points that no run
// could take are errors of the QuantizeLinear or DequantizeLinear node
// that holds them, at shape inference; run-time ones are left to the run.
func TestInferQuantParams(t *testing.T) {
	c := func(t *ir.Tensor) *ir.Value { return ir.NewConst("", t) }
	u8 := typed(ir.Uint8, 2, 3)
	runOpCases(t, []opCase{
		{name: "q per tensor", op: "QuantizeLinear", in: []*ir.Value{f32(2, 3), c(f32s(0.5)), c(qints(ir.Uint8, 7))}, want: []string{"u8[2,3]"}},
		{name: "dq per axis", op: "DequantizeLinear", in: []*ir.Value{u8, c(f32s(1, 2, 3)), c(qints(ir.Uint8, 0, 1, 2))}, attrs: attrs{"axis": aInt(1)}, want: []string{"f32[2,3]"}},
		{name: "run-time scale", op: "QuantizeLinear", in: []*ir.Value{f32(2, 3), f32()}, want: []string{"u8[2,3]"}},
		{name: "q zero scale", op: "QuantizeLinear", in: []*ir.Value{f32(2, 3), c(f32s(0))}, err: "scale 0 is not a positive finite number"},
		{name: "dq NaN scale", op: "DequantizeLinear", in: []*ir.Value{u8, c(f32s(1, float32(math.NaN()), 3))}, attrs: attrs{"axis": aInt(1)}, err: "scale NaN is not a positive finite number"},
		{name: "dq negative scale", op: "DequantizeLinear", in: []*ir.Value{u8, c(f32s(-2))}, err: "scale -2 is not a positive finite number"},
		{name: "dq scale count", op: "DequantizeLinear", in: []*ir.Value{u8, c(f32s(1, 2)), c(qints(ir.Uint8, 0, 0))}, attrs: attrs{"axis": aInt(1)}, err: "want a scalar or [3]"},
		{name: "dq zero point shape", op: "DequantizeLinear", in: []*ir.Value{u8, c(f32s(1, 2, 3)), c(qints(ir.Uint8, 0, 0))}, attrs: attrs{"axis": aInt(1)}, err: "they must match"},
	})
}
