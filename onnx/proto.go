package onnx

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The *Proto types below mirror the parts of onnx.proto that tsmc reads.
// Each decode method merges one encoded message into the receiver, following
// protobuf rules: repeated fields append, scalars take the last value, and
// a sub-message that occurs twice is merged. Field numbers are onnx.proto's.
// Tensor data stays undecoded (aliasing the input) until the tensor's dims
// and dtype have been checked.

const (
	wireVarint  = protowire.VarintType
	wireFixed32 = protowire.Fixed32Type
	wireFixed64 = protowire.Fixed64Type
	wireBytes   = protowire.BytesType
)

type modelProto struct {
	irVersion int64
	opsets    []opsetProto
	graph     graphProto
	hasGraph  bool
}

func (m *modelProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireVarint):
			m.irVersion = f.int64()
		case f.is(8, wireBytes):
			var o opsetProto
			if err := o.decode(f.b); err != nil {
				return fmt.Errorf("opset_import %d: %w", len(m.opsets), err)
			}
			m.opsets = append(m.opsets, o)
		case f.is(7, wireBytes):
			m.hasGraph = true
			if err := m.graph.decode(f.b); err != nil {
				return fmt.Errorf("graph: %w", err)
			}
		}
		return nil
	})
}

type opsetProto struct {
	domain  string
	version int64
}

func (o *opsetProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			o.domain = f.str()
		case f.is(2, wireVarint):
			o.version = f.int64()
		}
		return nil
	})
}

type graphProto struct {
	name               string
	nodes              []nodeProto
	initializers       []tensorProto
	sparseInitializers int
	inputs             []valueInfoProto
	outputs            []valueInfoProto
	valueInfo          []valueInfoProto
}

func (g *graphProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			var n nodeProto
			if err := n.decode(f.b); err != nil {
				return fmt.Errorf("node %d: %w", len(g.nodes), err)
			}
			g.nodes = append(g.nodes, n)
		case f.is(2, wireBytes):
			g.name = f.str()
		case f.is(5, wireBytes):
			var t tensorProto
			if err := t.decode(f.b); err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.initializers), err)
			}
			g.initializers = append(g.initializers, t)
		case f.is(15, wireBytes):
			g.sparseInitializers++
		case f.is(11, wireBytes), f.is(12, wireBytes), f.is(13, wireBytes):
			list, what := &g.inputs, "input"
			if f.num == 12 {
				list, what = &g.outputs, "output"
			} else if f.num == 13 {
				list, what = &g.valueInfo, "value_info"
			}
			var v valueInfoProto
			if err := v.decode(f.b); err != nil {
				return fmt.Errorf("%s %d: %w", what, len(*list), err)
			}
			*list = append(*list, v)
		}
		return nil
	})
}

type nodeProto struct {
	name, op, domain string
	inputs, outputs  []string
	attrs            []attrProto
}

func (n *nodeProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			n.inputs = append(n.inputs, f.str())
		case f.is(2, wireBytes):
			n.outputs = append(n.outputs, f.str())
		case f.is(3, wireBytes):
			n.name = f.str()
		case f.is(4, wireBytes):
			n.op = f.str()
		case f.is(7, wireBytes):
			n.domain = f.str()
		case f.is(5, wireBytes):
			var a attrProto
			if err := a.decode(f.b); err != nil {
				return fmt.Errorf("attribute %d: %w", len(n.attrs), err)
			}
			n.attrs = append(n.attrs, a)
		}
		return nil
	})
}

// AttributeProto.AttributeType values.
const (
	attrUndefined     = 0
	attrFloat         = 1
	attrInt           = 2
	attrString        = 3
	attrTensor        = 4
	attrGraph         = 5
	attrFloats        = 6
	attrInts          = 7
	attrStrings       = 8
	attrTensors       = 9
	attrGraphs        = 10
	attrSparseTensor  = 11
	attrSparseTensors = 12
	attrTypeProto     = 13
	attrTypeProtos    = 14
)

var attrTypeNames = map[int64]string{
	attrUndefined: "UNDEFINED", attrFloat: "FLOAT", attrInt: "INT",
	attrString: "STRING", attrTensor: "TENSOR", attrGraph: "GRAPH",
	attrFloats: "FLOATS", attrInts: "INTS", attrStrings: "STRINGS",
	attrTensors: "TENSORS", attrGraphs: "GRAPHS",
	attrSparseTensor: "SPARSE_TENSOR", attrSparseTensors: "SPARSE_TENSORS",
	attrTypeProto: "TYPE_PROTO", attrTypeProtos: "TYPE_PROTOS",
}

type attrProto struct {
	name        string
	refAttrName string
	typ         int64
	f           float32
	i           int64
	s           string
	t           tensorProto
	hasT        bool
	floats      []float32
	ints        []int64
	strings     []string
}

func (a *attrProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		var err error
		switch {
		case f.is(1, wireBytes):
			a.name = f.str()
		case f.is(21, wireBytes):
			a.refAttrName = f.str()
		case f.is(20, wireVarint):
			a.typ = f.int64()
		case f.is(2, wireFixed32):
			a.f = f.float32()
		case f.is(3, wireVarint):
			a.i = f.int64()
		case f.is(4, wireBytes):
			a.s = f.str()
		case f.is(5, wireBytes):
			a.hasT = true
			err = a.t.decode(f.b)
		case f.isRepeatedScalar(7, wireFixed32):
			a.floats, err = appendFloats(a.floats, f)
		case f.isRepeatedScalar(8, wireVarint):
			a.ints, err = appendVarints(a.ints, f)
		case f.is(9, wireBytes):
			a.strings = append(a.strings, f.str())
		}
		if err != nil {
			return fmt.Errorf("attribute %q: field %d: %w", a.name, f.num, err)
		}
		return nil
	})
}

// TensorProto.DataLocation EXTERNAL.
const locationExternal = 1

type tensorProto struct {
	name       string
	dims       []int64
	dataType   int64
	hasSegment bool
	raw        []byte
	hasRaw     bool
	floatData  scalarChunks
	int32Data  scalarChunks
	int64Data  scalarChunks
	doubleData scalarChunks
	uint64Data scalarChunks
	stringData int
	external   []keyValue
	location   int64
}

type keyValue struct{ key, value string }

func (t *tensorProto) decode(b []byte) error {
	t.floatData.typ = wireFixed32
	t.int32Data.typ = wireVarint
	t.int64Data.typ = wireVarint
	t.doubleData.typ = wireFixed64
	t.uint64Data.typ = wireVarint
	return walkFields(b, func(f field) error {
		var err error
		switch {
		case f.isRepeatedScalar(1, wireVarint):
			t.dims, err = appendVarints(t.dims, f)
		case f.is(2, wireVarint):
			t.dataType = f.int64()
		case f.is(3, wireBytes):
			t.hasSegment = true
		case f.isRepeatedScalar(4, wireFixed32):
			t.floatData.add(f)
		case f.isRepeatedScalar(5, wireVarint):
			t.int32Data.add(f)
		case f.is(6, wireBytes):
			t.stringData++
		case f.isRepeatedScalar(7, wireVarint):
			t.int64Data.add(f)
		case f.is(8, wireBytes):
			t.name = f.str()
		case f.is(9, wireBytes):
			t.raw, t.hasRaw = f.b, true
		case f.isRepeatedScalar(10, wireFixed64):
			t.doubleData.add(f)
		case f.isRepeatedScalar(11, wireVarint):
			t.uint64Data.add(f)
		case f.is(13, wireBytes):
			var kv keyValue
			err = kv.decode(f.b)
			t.external = append(t.external, kv)
		case f.is(14, wireVarint):
			t.location = f.int64()
		}
		if err != nil {
			return fmt.Errorf("tensor %q: field %d: %w", t.name, f.num, err)
		}
		return nil
	})
}

func (kv *keyValue) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			kv.key = f.str()
		case f.is(2, wireBytes):
			kv.value = f.str()
		}
		return nil
	})
}

type valueInfoProto struct {
	name string
	typ  typeProto
}

func (v *valueInfoProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			v.name = f.str()
		case f.is(2, wireBytes):
			if err := v.typ.decode(f.b); err != nil {
				return fmt.Errorf("value %q: type: %w", v.name, err)
			}
		}
		return nil
	})
}

// typeProto keeps a TypeProto's tensor_type; other kinds (sequence, map,
// optional, sparse tensor) are only noted by their field number.
type typeProto struct {
	isTensor  bool
	otherKind protowire.Number
	elemType  int64
	hasShape  bool
	dims      []dimProto
}

var typeKindNames = map[protowire.Number]string{
	4: "sequence", 5: "map", 8: "sparse tensor", 9: "optional",
}

func (t *typeProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireBytes):
			t.isTensor = true
			return t.decodeTensorType(f.b)
		case f.typ == wireBytes && typeKindNames[f.num] != "":
			t.otherKind = f.num
		}
		return nil
	})
}

func (t *typeProto) decodeTensorType(b []byte) error {
	return walkFields(b, func(f field) error {
		switch {
		case f.is(1, wireVarint):
			t.elemType = f.int64()
		case f.is(2, wireBytes):
			t.hasShape = true
			return walkFields(f.b, func(f field) error {
				if !f.is(1, wireBytes) {
					return nil
				}
				var d dimProto
				if err := d.decode(f.b); err != nil {
					return fmt.Errorf("shape dim %d: %w", len(t.dims), err)
				}
				t.dims = append(t.dims, d)
				return nil
			})
		}
		return nil
	})
}

type dimProto struct {
	value    int64
	hasValue bool
	param    string
}

func (d *dimProto) decode(b []byte) error {
	return walkFields(b, func(f field) error {
		// dim_value and dim_param are a oneof: the last one set wins.
		switch {
		case f.is(1, wireVarint):
			d.value, d.hasValue, d.param = f.int64(), true, ""
		case f.is(2, wireBytes):
			d.param, d.hasValue = f.str(), false
		}
		return nil
	})
}
