package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny test-only protobuf encoder for building ONNX messages by hand.
// Field numbers are those of onnx.proto.

type msg []byte

func (m msg) varint(num protowire.Number, v int64) msg {
	m = protowire.AppendTag(m, num, protowire.VarintType)
	return protowire.AppendVarint(m, uint64(v))
}

func (m msg) fixed32(num protowire.Number, v uint32) msg {
	m = protowire.AppendTag(m, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(m, v)
}

func (m msg) bytes(num protowire.Number, b []byte) msg {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendBytes(m, b)
}

func (m msg) str(num protowire.Number, s string) msg { return m.bytes(num, []byte(s)) }

func (m msg) sub(num protowire.Number, sub msg) msg { return m.bytes(num, sub) }

func (m msg) packedVarints(num protowire.Number, vs ...int64) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	return m.bytes(num, p)
}

func (m msg) packedFloats(num protowire.Number, vs ...float32) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed32(p, math.Float32bits(v))
	}
	return m.bytes(num, p)
}

func (m msg) packedDoubles(num protowire.Number, vs ...float64) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed64(p, math.Float64bits(v))
	}
	return m.bytes(num, p)
}

// tensorMsg starts a TensorProto with name, data type and dims; add data
// with rawData, floatData, ... .
func tensorMsg(name string, dtype int64, dims ...int64) msg {
	m := msg{}.packedVarints(1, dims...).varint(2, dtype)
	if name != "" {
		m = m.str(8, name)
	}
	return m
}

func (m msg) rawData(b []byte) msg         { return m.bytes(9, b) }
func (m msg) floatData(vs ...float32) msg  { return m.packedFloats(4, vs...) }
func (m msg) int32Data(vs ...int64) msg    { return m.packedVarints(5, vs...) }
func (m msg) int64Data(vs ...int64) msg    { return m.packedVarints(7, vs...) }
func (m msg) doubleData(vs ...float64) msg { return m.packedDoubles(10, vs...) }
func (m msg) externalEntry(key, value string) msg {
	return m.sub(13, msg{}.str(1, key).str(2, value))
}
func (m msg) external() msg { return m.varint(14, locationExternal) }

func rawFloats(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func rawInt64s(vs ...int64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

// valueInfo builds a ValueInfoProto of a tensor type. Each dim is an int
// (dim_value), a string (dim_param) or nil (a dimension with neither).
// With no dims at all the shape is left out (unknown rank); use scalar
// for rank 0.
func valueInfo(name string, elem int64, dims ...any) msg {
	tt := msg{}.varint(1, elem)
	if len(dims) > 0 {
		tt = tt.sub(2, shapeMsg(dims...))
	}
	return msg{}.str(1, name).sub(2, msg{}.sub(1, tt))
}

func shapeMsg(dims ...any) msg {
	shape := msg{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape = shape.sub(1, msg{}.varint(1, int64(d)))
		case string:
			shape = shape.sub(1, msg{}.str(2, d))
		case nil:
			shape = shape.sub(1, msg{})
		default:
			panic(fmt.Sprintf("valueInfo: bad dim %v", d))
		}
	}
	return shape
}

// node builds a NodeProto; name may be "".
func node(name, op string, inputs, outputs []string, attrs ...msg) msg {
	m := msg{}
	for _, in := range inputs {
		m = m.str(1, in)
	}
	for _, out := range outputs {
		m = m.str(2, out)
	}
	if name != "" {
		m = m.str(3, name)
	}
	m = m.str(4, op)
	for _, a := range attrs {
		m = m.sub(5, a)
	}
	return m
}

func (m msg) domain(d string) msg { return m.str(7, d) }

func attr(name string, typ int64) msg { return msg{}.str(1, name).varint(20, typ) }

func attrF(name string, f float32) msg {
	return attr(name, attrFloat).fixed32(2, math.Float32bits(f))
}
func attrI(name string, i int64) msg        { return attr(name, attrInt).varint(3, i) }
func attrS(name, s string) msg              { return attr(name, attrString).str(4, s) }
func attrT(name string, t msg) msg          { return attr(name, attrTensor).sub(5, t) }
func attrFs(name string, fs ...float32) msg { return attr(name, attrFloats).packedFloats(7, fs...) }
func attrIs(name string, is ...int64) msg   { return attr(name, attrInts).packedVarints(8, is...) }
func attrSs(name string, ss ...string) msg {
	m := attr(name, attrStrings)
	for _, s := range ss {
		m = m.str(9, s)
	}
	return m
}

// graphMsg assembles a GraphProto.
type graphParts struct {
	name                   string
	nodes, inits           []msg
	inputs, outputs, infos []msg
}

func (p graphParts) msg() msg {
	m := msg{}
	for _, n := range p.nodes {
		m = m.sub(1, n)
	}
	if p.name != "" {
		m = m.str(2, p.name)
	}
	for _, t := range p.inits {
		m = m.sub(5, t)
	}
	for _, v := range p.inputs {
		m = m.sub(11, v)
	}
	for _, v := range p.outputs {
		m = m.sub(12, v)
	}
	for _, v := range p.infos {
		m = m.sub(13, v)
	}
	return m
}

func opsetMsg(domain string, version int64) msg {
	m := msg{}
	if domain != "" {
		m = m.str(1, domain)
	}
	return m.varint(2, version)
}

// modelMsg builds a ModelProto importing the default opset 13 unless
// opsets are given. The graph comes before the opset imports, so every
// strict prefix of the encoding is an invalid model.
func modelMsg(irVersion int64, g graphParts, opsets ...msg) msg {
	if len(opsets) == 0 {
		opsets = []msg{opsetMsg("", 13)}
	}
	m := msg{}.varint(1, irVersion).str(2, "tsmc-test").sub(7, g.msg())
	for _, o := range opsets {
		m = m.sub(8, o)
	}
	return m
}

// simpleGraph is y = Relu(x + w) with x of shape [N, 3] and w a raw float
// initializer.
func simpleGraph() graphParts {
	return graphParts{
		name: "simple",
		nodes: []msg{
			node("add", "Add", []string{"x", "w"}, []string{"s"}),
			node("relu", "Relu", []string{"s"}, []string{"y"}),
		},
		inits:   []msg{tensorMsg("w", codeFloat, 3).rawData(rawFloats(1, -2, 3))},
		inputs:  []msg{valueInfo("x", codeFloat, "N", 3)},
		outputs: []msg{valueInfo("y", codeFloat, "N", 3)},
	}
}
