package onnx

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
	"google.golang.org/protobuf/encoding/protowire"
)

func decodeModel(t *testing.T, m msg) *ir.Graph {
	t.Helper()
	g, err := Decode(m, "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSimpleModel(t *testing.T) {
	for _, irVersion := range []int64{3, 7, 10} {
		g := decodeModel(t, modelMsg(irVersion, simpleGraph()))
		if g.Name != "simple" || len(g.Nodes) != 2 || g.Opsets[""] != 13 {
			t.Fatalf("ir_version %d: got graph %q with %d nodes, opsets %v", irVersion, g.Name, len(g.Nodes), g.Opsets)
		}
		if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
			t.Fatalf("ir_version %d: %d inputs, %d outputs", irVersion, len(g.Inputs), len(g.Outputs))
		}
		x, add, relu := g.Inputs[0], g.Nodes[0], g.Nodes[1]
		if add.Inputs[0] != x || relu.Inputs[0] != add.Outputs[0] || g.Outputs[0] != relu.Outputs[0] {
			t.Errorf("ir_version %d: values are not shared by name:\n%s", irVersion, g.Print())
		}
		w := add.Inputs[1]
		if !w.IsConst() || !slices.Equal(w.Const.F32, []float32{1, -2, 3}) || !w.Shape.Equal(ir.Shape{3}) {
			t.Errorf("initializer w = %+v", w)
		}
	}
}

func TestIRVersionRange(t *testing.T) {
	for _, v := range []int64{1, 2, 11, 100} {
		_, err := Decode(modelMsg(v, simpleGraph()), "")
		wantError(t, err, "ir_version", "3 to 10")
	}
	_, err := Decode(msg{}.sub(7, simpleGraph().msg()).sub(8, opsetMsg("", 13)), "")
	wantError(t, err, "ir_version is missing")
}

// wantError fails unless err is non-nil and its message holds every part.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestOpsetDomains(t *testing.T) {
	g := simpleGraph()
	g.nodes = append(g.nodes, node("custom", "FusedThing", []string{"y"}, []string{"z"}).domain("com.example"))
	g.outputs = append(g.outputs, valueInfo("z", codeFloat))
	m := modelMsg(8, g, opsetMsg("ai.onnx", 11), opsetMsg("", 13), opsetMsg("com.example", 2))
	got := decodeModel(t, m)
	want := map[string]int64{"": 13, "com.example": 2}
	if len(got.Opsets) != 2 || got.Opsets[""] != 13 || got.Opsets["com.example"] != 2 {
		t.Errorf("opsets = %v, want %v (ai.onnx merged into \"\", highest version kept)", got.Opsets, want)
	}
	custom := got.Nodes[2]
	if custom.Domain != "com.example" || got.Opset(custom) != 2 {
		t.Errorf("custom node domain %q opset %d", custom.Domain, got.Opset(custom))
	}
	// A node spelling the default domain "ai.onnx" is in domain "".
	g2 := simpleGraph()
	g2.nodes[1] = node("relu", "Relu", []string{"s"}, []string{"y"}).domain("ai.onnx")
	if n := decodeModel(t, modelMsg(8, g2)).Nodes[1]; n.Domain != "" {
		t.Errorf("ai.onnx node has domain %q", n.Domain)
	}
}

func TestInputShapes(t *testing.T) {
	g := graphParts{
		nodes: []msg{node("", "Identity", []string{"x"}, []string{"y"})},
		inputs: []msg{
			valueInfo("x", codeFloat16, "batch", 3, nil, 0),
		},
		outputs: []msg{valueInfo("y", codeFloat, "batch", 3, "w", 0)},
	}
	got := decodeModel(t, modelMsg(7, g))
	x, y := got.Inputs[0], got.Outputs[0]
	if x.DType != ir.Float32 || !x.Shape.Equal(ir.Shape{-1, 3, -1, 0}) || !slices.Equal(x.DimParams, []string{"batch", "", "", ""}) {
		t.Errorf("input x: %v%v params %q", x.DType, x.Shape, x.DimParams)
	}
	if y.DType != ir.Float32 || !y.Shape.Equal(ir.Shape{-1, 3, -1, 0}) || !slices.Equal(y.DimParams, []string{"batch", "", "w", ""}) {
		t.Errorf("output y: %v%v params %q", y.DType, y.Shape, y.DimParams)
	}
	// Static shapes carry no DimParams; a rank-0 input has an empty shape;
	// an input without shape has unknown rank.
	g = graphParts{
		nodes:   []msg{node("", "Add", []string{"a", "b"}, []string{"c"}), node("", "Add", []string{"c", "d"}, []string{"e"})},
		inputs:  []msg{valueInfo("a", codeInt64, 2, 5), msg{}.str(1, "b").sub(2, msg{}.sub(1, msg{}.varint(1, codeInt64).sub(2, msg{}))), valueInfo("d", codeInt64)},
		outputs: []msg{valueInfo("e", codeInt64)},
	}
	got = decodeModel(t, modelMsg(7, g))
	a, b, d := got.Inputs[0], got.Inputs[1], got.Inputs[2]
	if !a.Shape.Equal(ir.Shape{2, 5}) || a.DimParams != nil || a.DType != ir.Int64 {
		t.Errorf("a: %v%v params %q", a.DType, a.Shape, a.DimParams)
	}
	if b.Shape == nil || len(b.Shape) != 0 {
		t.Errorf("b: shape %#v, want rank 0", b.Shape)
	}
	if d.Shape != nil {
		t.Errorf("d: shape %v, want unknown rank (nil)", d.Shape)
	}
	if e := got.Outputs[0]; e.DType != ir.Int64 || e.Shape != nil {
		t.Errorf("e: %v%v", e.DType, e.Shape)
	}
}

func TestInitializerListedAsInput(t *testing.T) {
	g := simpleGraph()
	g.inputs = append(g.inputs, valueInfo("w", codeFloat, 3))
	got := decodeModel(t, modelMsg(3, g))
	if len(got.Inputs) != 1 || got.Inputs[0].Name != "x" {
		t.Errorf("inputs = %v, want only x (w is an initializer)", got.Inputs)
	}
	if w := got.Nodes[0].Inputs[1]; !w.IsConst() {
		t.Errorf("w is not a constant")
	}
}

func TestValueInfoDTypeAndSorting(t *testing.T) {
	// Nodes out of order, intermediate dtype given by value_info.
	g := graphParts{
		nodes: []msg{
			node("second", "Cast", []string{"mid"}, []string{"y"}, attrI("to", codeInt64)),
			node("first", "Relu", []string{"x"}, []string{"mid"}),
		},
		inputs:  []msg{valueInfo("x", codeFloat, 4)},
		outputs: []msg{valueInfo("y", codeInt64, 4)},
		infos:   []msg{valueInfo("mid", codeFloat, 4)},
	}
	got := decodeModel(t, modelMsg(7, g))
	if got.Nodes[0].Name != "first" || got.Nodes[1].Name != "second" {
		t.Errorf("nodes not sorted: %s, %s", got.Nodes[0].Name, got.Nodes[1].Name)
	}
	if mid := got.Nodes[0].Outputs[0]; mid.DType != ir.Float32 {
		t.Errorf("mid dtype %v, want f32 from value_info", mid.DType)
	}
	if y := got.Outputs[0]; y.DType != ir.Int64 || !y.Shape.Equal(ir.Shape{4}) {
		t.Errorf("y: %v%v, want declared i64[4]", y.DType, y.Shape)
	}
}

func TestOptionalInputsOmitted(t *testing.T) {
	g := graphParts{
		nodes:   []msg{node("clip", "Clip", []string{"x", "", "hi"}, []string{"y"})},
		inits:   []msg{tensorMsg("hi", codeFloat).floatData(6)},
		inputs:  []msg{valueInfo("x", codeFloat, 2)},
		outputs: []msg{valueInfo("y", codeFloat, 2)},
	}
	n := decodeModel(t, modelMsg(7, g)).Nodes[0]
	if len(n.Inputs) != 3 || n.Inputs[1] != nil || n.Inputs[2] == nil || n.Inputs[2].Const.F32[0] != 6 {
		t.Errorf("Clip inputs = %v", n.Inputs)
	}
}

func TestConstantNodeForms(t *testing.T) {
	forms := []struct {
		attr  msg
		check func(ir.Attr) bool
	}{
		{attrT("value", tensorMsg("", codeInt64, 2).int64Data(4, -5)), func(a ir.Attr) bool {
			return a.Kind == ir.AttrTensor && a.Tensor.DType == ir.Int64 && slices.Equal(a.Tensor.I64, []int64{4, -5})
		}},
		{attrF("value_float", 0.5), func(a ir.Attr) bool { return a.Kind == ir.AttrFloat && a.Float == 0.5 }},
		{attrFs("value_floats", 1, 2.5), func(a ir.Attr) bool {
			return a.Kind == ir.AttrFloats && slices.Equal(a.Floats, []float32{1, 2.5})
		}},
		{attrI("value_int", -7), func(a ir.Attr) bool { return a.Kind == ir.AttrInt && a.Int == -7 }},
		{attrIs("value_ints", 1, -1, 1<<40), func(a ir.Attr) bool {
			return a.Kind == ir.AttrInts && slices.Equal(a.Ints, []int64{1, -1, 1 << 40})
		}},
		{attrS("value_string", "hello"), func(a ir.Attr) bool { return a.Kind == ir.AttrString && a.String == "hello" }},
		{attrSs("value_strings", "a", ""), func(a ir.Attr) bool {
			return a.Kind == ir.AttrStrings && slices.Equal(a.Strings, []string{"a", ""})
		}},
	}
	for _, f := range forms {
		g := graphParts{
			nodes:   []msg{node("c", "Constant", nil, []string{"y"}, f.attr)},
			outputs: []msg{valueInfo("y", codeFloat)},
		}
		got := decodeModel(t, modelMsg(7, g))
		if len(got.Nodes) != 1 || got.Nodes[0].Op != "Constant" || len(got.Nodes[0].Attrs) != 1 {
			t.Fatalf("got nodes %v", got.Nodes)
		}
		for name, a := range got.Nodes[0].Attrs {
			if !f.check(a) {
				t.Errorf("Constant attribute %s decoded as %+v", name, a)
			}
		}
	}
}

// attributeModel has one node carrying attributes of every supported type.
func attributeModel() msg {
	// Unpacked repeated fields are valid protobuf too.
	unpackedInts := attr("unpacked_ints", attrInts).varint(8, 3).varint(8, -4)
	unpackedFloats := attr("unpacked_floats", attrFloats).fixed32(7, math.Float32bits(1.25))
	g := graphParts{
		nodes: []msg{node("n", "Custom", []string{"x"}, []string{"y"},
			attrF("f", -1.5), attrI("i", 42), attrS("s", "NOTSET"),
			attrT("t", tensorMsg("tt", codeFloat16, 2).int32Data(0x3C00, 0xC000)),
			attrFs("fs", 0.25, 4), attrIs("is", 2, 2), attrSs("ss", "x", "y"),
			attrIs("empty_ints"), unpackedInts, unpackedFloats,
		).domain("custom")},
		inputs:  []msg{valueInfo("x", codeFloat, 1)},
		outputs: []msg{valueInfo("y", codeFloat)},
	}
	return modelMsg(7, g, opsetMsg("", 13), opsetMsg("custom", 1))
}

func TestAttributeTypes(t *testing.T) {
	n := decodeModel(t, attributeModel()).Nodes[0]
	if n.AttrFloat("f", 0) != -1.5 || n.AttrInt("i", 0) != 42 || n.AttrString("s", "") != "NOTSET" {
		t.Errorf("scalars: %v", n.Attrs)
	}
	if tt := n.AttrTensor("t"); tt == nil || !slices.Equal(tt.F32, []float32{1, -2}) {
		t.Errorf("tensor attribute: %+v", n.Attrs["t"])
	}
	if fs, _ := n.AttrFloats("fs"); !slices.Equal(fs, []float32{0.25, 4}) {
		t.Errorf("fs = %v", fs)
	}
	if is, _ := n.AttrInts("is"); !slices.Equal(is, []int64{2, 2}) {
		t.Errorf("is = %v", is)
	}
	if ss := n.Attrs["ss"]; ss.Kind != ir.AttrStrings || !slices.Equal(ss.Strings, []string{"x", "y"}) {
		t.Errorf("ss = %+v", ss)
	}
	if is, ok := n.AttrInts("empty_ints"); !ok || len(is) != 0 {
		t.Errorf("empty_ints = %v, %v", is, ok)
	}
	if is, _ := n.AttrInts("unpacked_ints"); !slices.Equal(is, []int64{3, -4}) {
		t.Errorf("unpacked_ints = %v", is)
	}
	if fs, _ := n.AttrFloats("unpacked_floats"); !slices.Equal(fs, []float32{1.25}) {
		t.Errorf("unpacked_floats = %v", fs)
	}
}

// tensorCase is a hand-built TensorProto named "a" and what it decodes to.
type tensorCase struct {
	name  string
	m     msg
	dtype ir.DType
	check func(*ir.Tensor) bool
}

// tensorCases covers every supported dtype in raw_data and in its typed
// field; the fuzz tests use them as seeds.
func tensorCases() []tensorCase {
	neg2 := float32(-2)
	return []tensorCase{
		{"float raw", tensorMsg("a", codeFloat, 2, 2).rawData(rawFloats(1, -2, 0.5, 1e30)), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2, 0.5, 1e30}) }},
		{"float typed", tensorMsg("a", codeFloat, 2, 2).floatData(1, -2, 0.5, 1e30), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2, 0.5, 1e30}) }},
		{"float unpacked", tensorMsg("a", codeFloat, 2).fixed32(4, math.Float32bits(7)).fixed32(4, math.Float32bits(neg2)), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{7, -2}) }},
		{"float split packed", tensorMsg("a", codeFloat, 3).floatData(1).floatData(2, 3), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, 2, 3}) }},
		{"int64 raw", tensorMsg("a", codeInt64, 3).rawData(rawInt64s(-1, 1<<40, 0)), ir.Int64,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-1, 1 << 40, 0}) }},
		{"int64 typed", tensorMsg("a", codeInt64, 3).int64Data(-1, 1<<40, 0), ir.Int64,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-1, 1 << 40, 0}) }},
		{"int32 raw", tensorMsg("a", codeInt32, 2).rawData([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80}), ir.Int32,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-1, math.MinInt32}) }},
		{"int32 typed", tensorMsg("a", codeInt32, 2).int32Data(-1, math.MaxInt32), ir.Int32,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-1, math.MaxInt32}) }},
		// protobuf int32 keeps the low 32 bits of a varint.
		{"int32 typed zero-extended", tensorMsg("a", codeInt32, 1).int32Data(0xFFFFFFFF), ir.Int32,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-1}) }},
		{"int16 raw", tensorMsg("a", codeInt16, 2).rawData([]byte{0xfe, 0xff, 0x00, 0x01}), ir.Int16,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-2, 256}) }},
		{"int16 typed", tensorMsg("a", codeInt16, 2).int32Data(-2, 256), ir.Int16,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-2, 256}) }},
		{"int8 raw", tensorMsg("a", codeInt8, 2).rawData([]byte{0x80, 0x7f}), ir.Int8,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-128, 127}) }},
		{"int8 typed", tensorMsg("a", codeInt8, 2).int32Data(-128, 127), ir.Int8,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{-128, 127}) }},
		{"uint8 raw", tensorMsg("a", codeUint8, 2).rawData([]byte{0, 255}), ir.Uint8,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{0, 255}) }},
		{"uint8 typed", tensorMsg("a", codeUint8, 2).int32Data(0, 255), ir.Uint8,
			func(t *ir.Tensor) bool { return slices.Equal(t.I64, []int64{0, 255}) }},
		{"bool raw", tensorMsg("a", codeBool, 3).rawData([]byte{1, 0, 1}), ir.Bool,
			func(t *ir.Tensor) bool { return slices.Equal(t.B, []bool{true, false, true}) }},
		{"bool typed", tensorMsg("a", codeBool, 3).int32Data(0, 1, 1), ir.Bool,
			func(t *ir.Tensor) bool { return slices.Equal(t.B, []bool{false, true, true}) }},
		{"double raw", tensorMsg("a", codeDouble, 2).rawData(rawInt64s(int64(math.Float64bits(0.1)), int64(math.Float64bits(-1e300)))), ir.Float64,
			func(t *ir.Tensor) bool { return slices.Equal(t.F64, []float64{0.1, -1e300}) }},
		{"double typed", tensorMsg("a", codeDouble, 2).doubleData(0.1, -1e300), ir.Float64,
			func(t *ir.Tensor) bool { return slices.Equal(t.F64, []float64{0.1, -1e300}) }},
		{"float16 raw", tensorMsg("a", codeFloat16, 3).rawData([]byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2, 0x1p-24}) }},
		{"float16 typed", tensorMsg("a", codeFloat16, 3).int32Data(0x3c00, 0xc000, 0x7c00), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2, float32(math.Inf(1))}) }},
		{"bfloat16 raw", tensorMsg("a", codeBFloat16, 2).rawData([]byte{0x80, 0x3f, 0x00, 0xc0}), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2}) }},
		{"bfloat16 typed", tensorMsg("a", codeBFloat16, 2).int32Data(0x3f80, 0xc000), ir.Float32,
			func(t *ir.Tensor) bool { return slices.Equal(t.F32, []float32{1, -2}) }},
		{"scalar", tensorMsg("a", codeFloat).floatData(3), ir.Float32,
			func(t *ir.Tensor) bool { return len(t.Shape) == 0 && slices.Equal(t.F32, []float32{3}) }},
		{"empty", tensorMsg("a", codeInt64, 0, 5), ir.Int64,
			func(t *ir.Tensor) bool { return t.Len() == 0 }},
		{"empty raw", tensorMsg("a", codeFloat, 0).rawData(nil), ir.Float32,
			func(t *ir.Tensor) bool { return t.Len() == 0 }},
	}
}

// TestTensorEncodings decodes every supported dtype from raw_data and from
// its typed field.
func TestTensorEncodings(t *testing.T) {
	for _, c := range tensorCases() {
		name, tt, err := DecodeTensor(c.m)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if name != "a" || tt.DType != c.dtype || tt.Check() != nil || !c.check(tt) {
			t.Errorf("%s: got %q %v%v %+v (check: %v)", c.name, name, tt.DType, tt.Shape, tt, tt.Check())
		}
	}
}

// TestInitializerDTypesInGraph checks that converted initializers become
// constants with matching dtype and shape.
func TestInitializerDTypesInGraph(t *testing.T) {
	g := graphParts{
		nodes: []msg{node("cat", "Concat", []string{"h", "i", "d"}, []string{"y"}, attrI("axis", 0))},
		inits: []msg{
			tensorMsg("h", codeFloat16, 1, 2).rawData([]byte{0x00, 0x3c, 0x00, 0xc0}),
			tensorMsg("i", codeInt32, 2).int32Data(5, 6),
			tensorMsg("d", codeDouble, 1).doubleData(2),
		},
		outputs: []msg{valueInfo("y", codeFloat)},
	}
	n := decodeModel(t, modelMsg(7, g)).Nodes[0]
	h, i, d := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if h.DType != ir.Float32 || !h.Shape.Equal(ir.Shape{1, 2}) || !slices.Equal(h.Const.F32, []float32{1, -2}) {
		t.Errorf("h = %v%v %v", h.DType, h.Shape, h.Const.F32)
	}
	if i.DType != ir.Int32 || !slices.Equal(i.Const.I64, []int64{5, 6}) {
		t.Errorf("i = %v %v", i.DType, i.Const.I64)
	}
	if d.DType != ir.Float64 || !slices.Equal(d.Const.F64, []float64{2}) {
		t.Errorf("d = %v %v", d.DType, d.Const.F64)
	}
}

func TestHalfToFloat32(t *testing.T) {
	known := []struct {
		bits uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0000, 0}, {0x7bff, 65504}, {0xfbff, -65504},
		{0x0001, 0x1p-24}, {0x03ff, 1023 * 0x1p-24}, {0x0400, 0x1p-14}, {0x3555, 0.333251953125},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, k := range known {
		if got := HalfToFloat32(k.bits); got != k.want {
			t.Errorf("HalfToFloat32(%#04x) = %g, want %g", k.bits, got, k.want)
		}
	}
	if got := HalfToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("HalfToFloat32(0x8000) = %g, want -0", got)
	}
	// Every bit pattern against the textbook formula.
	for b := 0; b < 1<<16; b++ {
		h := uint16(b)
		sign, exp, mant := h>>15, int(h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch exp {
		case 0:
			want = math.Ldexp(mant, -24)
		case 31:
			want = math.Inf(1)
			if mant != 0 {
				want = math.NaN()
			}
		default:
			want = math.Ldexp(1+mant/1024, exp-15)
		}
		if sign == 1 {
			want = -want
		}
		got := float64(HalfToFloat32(h))
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) || math.Signbit(got) != math.Signbit(want) && !math.IsNaN(want) {
			t.Fatalf("HalfToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	// 4 junk bytes, then w (3 floats), then b (2 int64s).
	blob := append(append([]byte{9, 9, 9, 9}, rawFloats(1, -2, 3)...), rawInt64s(7, -8)...)
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b.bin"), rawInt64s(7, -8), 0o644); err != nil {
		t.Fatal(err)
	}
	g := graphParts{
		nodes: []msg{node("add", "Add", []string{"x", "w"}, []string{"y"}), node("c", "Cast", []string{"b"}, []string{"z"}, attrI("to", codeFloat))},
		inits: []msg{
			tensorMsg("w", codeFloat, 3).external().externalEntry("location", "weights.bin").externalEntry("offset", "4").externalEntry("length", "12"),
			// no length: the rest of the file
			tensorMsg("b", codeInt64, 2).external().externalEntry("location", "sub/b.bin"),
		},
		inputs:  []msg{valueInfo("x", codeFloat, 3)},
		outputs: []msg{valueInfo("y", codeFloat, 3), valueInfo("z", codeFloat, 2)},
	}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, modelMsg(8, g), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w, b := got.Nodes[0].Inputs[1], got.Nodes[1].Inputs[0]
	if !slices.Equal(w.Const.F32, []float32{1, -2, 3}) || !slices.Equal(b.Const.I64, []int64{7, -8}) {
		t.Errorf("w = %v, b = %v", w.Const.F32, b.Const.I64)
	}
	// Without a directory external data cannot be found.
	_, err = Decode(modelMsg(8, g), "")
	wantError(t, err, `"w"`, "weights.bin", "directory")
}

func TestDataSetOrdering(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, m msg) {
		if err := os.WriteFile(filepath.Join(dir, name), m, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// 11 inputs: numeric order puts input_10 last, not after input_1.
	for i := 0; i <= 10; i++ {
		write("input_"+strconv.Itoa(i)+".pb", tensorMsg("in"+strconv.Itoa(i), codeInt64, 1).int64Data(int64(i)))
	}
	write("output_0.pb", tensorMsg("out", codeFloat, 1).floatData(1))
	write("notes.txt", msg("hello"))
	ds, err := LoadDataSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Inputs) != 11 || len(ds.Outputs) != 1 || ds.OutputNames[0] != "out" {
		t.Fatalf("got %d inputs, outputs %v", len(ds.Inputs), ds.OutputNames)
	}
	for i, in := range ds.Inputs {
		if ds.InputNames[i] != "in"+strconv.Itoa(i) || in.I64[0] != int64(i) {
			t.Errorf("input %d is %q = %v", i, ds.InputNames[i], in.I64)
		}
	}
	// A gap is an error.
	if err := os.Remove(filepath.Join(dir, "input_3.pb")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadDataSet(dir)
	wantError(t, err, dir, "input_3.pb is missing")

	// Data set directories sort numerically too.
	for _, n := range []string{"test_data_set_10", "test_data_set_2", "test_data_set_0", "test_data_set_x"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dirs, err := DataSetDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "test_data_set_0"), filepath.Join(dir, "test_data_set_2"), filepath.Join(dir, "test_data_set_10")}
	if !slices.Equal(dirs, want) {
		t.Errorf("DataSetDirs = %v, want %v", dirs, want)
	}
}

// withUnknownFields appends fields a reader must skip: an unknown number
// of every wire type, including a group.
func withUnknownFields(m msg) msg {
	m = m.varint(900, 1).fixed32(901, 2).bytes(902, []byte("skip me"))
	m = protowire.AppendTag(m, 903, protowire.Fixed64Type)
	m = protowire.AppendFixed64(m, 3)
	m = protowire.AppendTag(m, 904, protowire.StartGroupType)
	m = msg(m).varint(1, 5)
	return protowire.AppendTag(m, 904, protowire.EndGroupType)
}

func TestUnknownFieldsSkipped(t *testing.T) {
	g := graphParts{
		name: "g",
		nodes: []msg{withUnknownFields(node("add", "Add", []string{"x", "w"}, []string{"y"},
			withUnknownFields(attrI("k", 4)))).str(6, "doc")},
		inits:  []msg{withUnknownFields(tensorMsg("w", codeFloat, 1).floatData(2)).str(12, "doc")},
		inputs: []msg{withUnknownFields(valueInfo("x", codeFloat, 1))},
		// A known field with the wrong wire type is skipped as unknown:
		// here a varint "name" before the real one.
		outputs: []msg{msg{}.varint(1, 7).bytes(1, []byte("y"))},
	}
	m := withUnknownFields(msg{}.varint(1, 8).str(6, "model doc").sub(7, withUnknownFields(g.msg())).
		sub(8, withUnknownFields(opsetMsg("", 13))).sub(14, msg{}.str(1, "key").str(2, "value")))
	got := decodeModel(t, m)
	n := got.Nodes[0]
	if got.Name != "g" || n.Op != "Add" || n.AttrInt("k", 0) != 4 || n.Inputs[1].Const.F32[0] != 2 || got.Outputs[0].Name != "y" {
		t.Errorf("unknown fields changed the result:\n%s", got.Print())
	}
}

func TestRecoverPanicIsLastResort(t *testing.T) {
	before := recoveredPanics.Load()
	err := func() (err error) {
		defer recoverPanic(&err)
		var s []int
		_ = s[3]
		return nil
	}()
	wantError(t, err, "internal error", "index out of range")
	if recoveredPanics.Load() != before+1 {
		t.Errorf("recovered panic not counted")
	}
	recoveredPanics.Add(-1)
}
