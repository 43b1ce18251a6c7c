package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tsmc-go/tsmc/ir"
)

// This file writes ONNX: a graph as a ModelProto (Encode) and tensors as
// TensorProto files of test data sets (EncodeTensor, WriteDataSet). Field
// numbers are onnx.proto's; every tensor is written as raw_data.

// wbuf is a protobuf message being written.
type wbuf []byte

func (b wbuf) varint(num protowire.Number, v uint64) wbuf {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (b wbuf) fixed32(num protowire.Number, v uint32) wbuf {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func (b wbuf) bytes(num protowire.Number, v []byte) wbuf {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b wbuf) str(num protowire.Number, s string) wbuf { return b.bytes(num, []byte(s)) }

// typeCodes maps tsmc's dtypes to TensorProto.DataType codes.
var typeCodes = map[ir.DType]int64{
	ir.Float32: codeFloat, ir.Float64: codeDouble, ir.Int64: codeInt64, ir.Int32: codeInt32,
	ir.Int16: codeInt16, ir.Int8: codeInt8, ir.Uint8: codeUint8, ir.Bool: codeBool,
}

// TypeCode returns the TensorProto.DataType code of dt (the values ONNX
// attributes such as Cast's "to" and QuantizeLinear's "output_dtype" take).
func TypeCode(dt ir.DType) (int64, error) {
	if c, ok := typeCodes[dt]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("dtype %v has no ONNX data type", dt)
}

// DTypeOf returns the dtype of a TensorProto.DataType code tsmc reads.
func DTypeOf(code int64) (ir.DType, error) {
	et, err := lookupElemType(code)
	if err != nil {
		return ir.Undefined, err
	}
	return et.dtype, nil
}

// tensorBytes encodes t's elements little-endian as its dtype stores them
// in raw_data.
func tensorBytes(t *ir.Tensor) ([]byte, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	out := make([]byte, 0, t.Len()*t.DType.Size())
	switch t.DType {
	case ir.Float32:
		for _, v := range t.F32 {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
	case ir.Float64:
		for _, v := range t.F64 {
			out = le.AppendUint64(out, math.Float64bits(v))
		}
	case ir.Bool:
		for _, v := range t.B {
			bit := byte(0)
			if v {
				bit = 1
			}
			out = append(out, bit)
		}
	default:
		lo, hi := intRange(t.DType)
		for i, v := range t.I64 {
			if v < lo || v > hi {
				return nil, fmt.Errorf("element %d = %d is out of range for %v", i, v, t.DType)
			}
			switch t.DType.Size() {
			case 1:
				out = append(out, byte(v))
			case 2:
				out = le.AppendUint16(out, uint16(v))
			case 4:
				out = le.AppendUint32(out, uint32(v))
			default:
				out = le.AppendUint64(out, uint64(v))
			}
		}
	}
	return out, nil
}

// intRange is the range of values of an integer dtype.
func intRange(dt ir.DType) (lo, hi int64) {
	switch dt {
	case ir.Uint8:
		return 0, math.MaxUint8
	case ir.Int8:
		return math.MinInt8, math.MaxInt8
	case ir.Int16:
		return math.MinInt16, math.MaxInt16
	case ir.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// tensorProtoOf encodes a TensorProto with raw data.
func tensorProtoOf(name string, t *ir.Tensor) (wbuf, error) {
	code, err := TypeCode(t.DType)
	if err != nil {
		return nil, err
	}
	raw, err := tensorBytes(t)
	if err != nil {
		return nil, err
	}
	var dims []byte
	for _, d := range t.Shape {
		dims = protowire.AppendVarint(dims, uint64(d))
	}
	b := wbuf{}
	if len(dims) > 0 {
		b = b.bytes(1, dims)
	}
	b = b.varint(2, uint64(code))
	if name != "" {
		b = b.str(8, name)
	}
	return b.bytes(9, raw), nil
}

// EncodeTensor serialises t as a TensorProto named name, the form of the
// input_N.pb and output_N.pb files of test data sets.
func EncodeTensor(name string, t *ir.Tensor) ([]byte, error) {
	b, err := tensorProtoOf(name, t)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return b, nil
}

// WriteDataSet writes one test data set into dir (created if needed):
// input_N.pb for the inputs and output_N.pb for the outputs, in order,
// each named by the matching entry of the name lists.
func WriteDataSet(dir string, ds *DataSet) error {
	if len(ds.InputNames) != len(ds.Inputs) || len(ds.OutputNames) != len(ds.Outputs) {
		return fmt.Errorf("data set %s: %d input names for %d inputs, %d output names for %d outputs",
			dir, len(ds.InputNames), len(ds.Inputs), len(ds.OutputNames), len(ds.Outputs))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(kind string, names []string, ts []*ir.Tensor) error {
		for i, t := range ts {
			data, err := EncodeTensor(names[i], t)
			if err != nil {
				return fmt.Errorf("data set %s: %s %d: %w", dir, kind, i, err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s_%d.pb", kind, i)), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write("input", ds.InputNames, ds.Inputs); err != nil {
		return err
	}
	return write("output", ds.OutputNames, ds.Outputs)
}

// Producer is what Encode writes as the model's producer_name.
const Producer = "tsmc"

// Encode serialises g as an ONNX ModelProto: its nodes (in order), its
// constants as initializers, its inputs and outputs with their dtypes and
// shapes (symbolic dimensions by name) and its opset imports. The IR
// version is the lowest that allows the default domain's opset. Every
// value must have a name, and constants a dtype ONNX has.
func Encode(g *ir.Graph) ([]byte, error) {
	graph, err := encodeGraph(g)
	if err != nil {
		return nil, err
	}
	m := wbuf{}.varint(1, uint64(irVersionFor(g.Opsets[""]))).str(2, Producer).bytes(7, graph)
	doms := make([]string, 0, len(g.Opsets))
	for d := range g.Opsets {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for _, d := range doms {
		o := wbuf{}
		if d != "" {
			o = o.str(1, d)
		}
		m = m.bytes(8, o.varint(2, uint64(g.Opsets[d])))
	}
	return m, nil
}

// irVersionFor is the lowest IR version whose release carries the given
// ai.onnx opset (IR 7: opset 12, 8: 14-18, 9: 19-20, 10: 21-22).
func irVersionFor(opset int64) int64 {
	switch {
	case opset >= 21:
		return 10
	case opset >= 19:
		return 9
	case opset >= 14:
		return 8
	}
	return 7
}

func encodeGraph(g *ir.Graph) (wbuf, error) {
	b := wbuf{}
	for _, n := range g.Nodes {
		nb, err := encodeNode(n)
		if err != nil {
			return nil, err
		}
		b = b.bytes(1, nb)
	}
	b = b.str(2, g.Name)
	seen := map[string]bool{}
	for _, c := range g.Constants() {
		if c.Name == "" {
			return nil, errors.New("a constant has no name")
		}
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		t, err := tensorProtoOf(c.Name, c.Const)
		if err != nil {
			return nil, fmt.Errorf("constant %q: %w", c.Name, err)
		}
		b = b.bytes(5, t)
	}
	for _, in := range g.Inputs {
		vi, err := valueInfoOf(in)
		if err != nil {
			return nil, fmt.Errorf("graph input: %w", err)
		}
		b = b.bytes(11, vi)
	}
	for _, o := range g.Outputs {
		vi, err := valueInfoOf(o)
		if err != nil {
			return nil, fmt.Errorf("graph output: %w", err)
		}
		b = b.bytes(12, vi)
	}
	return b, nil
}

func encodeNode(n *ir.Node) (wbuf, error) {
	b := wbuf{}
	for _, in := range n.Inputs {
		name := ""
		if in != nil {
			name = in.Name
		}
		b = b.str(1, name)
	}
	for _, o := range n.Outputs {
		name := ""
		if o != nil {
			name = o.Name
		}
		b = b.str(2, name)
	}
	if n.Name != "" {
		b = b.str(3, n.Name)
	}
	b = b.str(4, n.Op)
	for _, k := range n.AttrNames() {
		ab, err := encodeAttr(k, n.Attrs[k])
		if err != nil {
			return nil, n.Errorf("attribute %q: %v", k, err)
		}
		b = b.bytes(5, ab)
	}
	if n.Domain != "" {
		b = b.str(7, n.Domain)
	}
	return b, nil
}

func encodeAttr(name string, a ir.Attr) (wbuf, error) {
	b := wbuf{}.str(1, name)
	var typ uint64
	switch a.Kind {
	case ir.AttrFloat:
		b, typ = b.fixed32(2, math.Float32bits(a.Float)), attrFloat
	case ir.AttrInt:
		b, typ = b.varint(3, uint64(a.Int)), attrInt
	case ir.AttrString:
		b, typ = b.str(4, a.String), attrString
	case ir.AttrTensor:
		t, err := tensorProtoOf("", a.Tensor)
		if err != nil {
			return nil, err
		}
		b, typ = b.bytes(5, t), attrTensor
	case ir.AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b, typ = b.bytes(7, p), attrFloats
	case ir.AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b, typ = b.bytes(8, p), attrInts
	case ir.AttrStrings:
		for _, s := range a.Strings {
			b = b.str(9, s)
		}
		typ = attrStrings
	default:
		return nil, fmt.Errorf("unknown attribute kind %d", a.Kind)
	}
	return b.varint(20, typ), nil
}

// valueInfoOf describes a graph input or output: a tensor type with its
// element type and, when known, its shape.
func valueInfoOf(v *ir.Value) (wbuf, error) {
	if v.Name == "" {
		return nil, errors.New("a value has no name")
	}
	tt := wbuf{}
	if v.DType != ir.Undefined {
		code, err := TypeCode(v.DType)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", v.Name, err)
		}
		tt = tt.varint(1, uint64(code))
	}
	if v.Shape != nil {
		shape := wbuf{}
		for i, d := range v.Shape {
			dim := wbuf{}
			switch {
			case d >= 0:
				dim = dim.varint(1, uint64(d))
			case i < len(v.DimParams) && v.DimParams[i] != "":
				dim = dim.str(2, v.DimParams[i])
			}
			shape = shape.bytes(1, dim)
		}
		tt = tt.bytes(2, shape)
	}
	return wbuf{}.str(1, v.Name).bytes(2, wbuf{}.bytes(1, tt)), nil
}
