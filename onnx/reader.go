// Package onnx reads ONNX models into tsmc's ir.Graph. It decodes the
// protobuf wire format by hand (only the messages tsmc needs), converts
// initializers and attribute tensors into ir.Tensors (float16/bfloat16
// widened to float32, small integer types into int64 storage), reads
// external data files next to the model, and reads the TensorProto files of
// ONNX test data sets.
//
// Malformed or unsupported input gives an error naming the file, node,
// attribute or tensor at fault, never a panic.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/tsmc-go/tsmc/ir"
)

// The range of ModelProto.ir_version the reader accepts.
const (
	MinIRVersion = 3
	MaxIRVersion = 10
)

// Load reads the ONNX model at path, with any external data from files in
// the same directory. Every error names path. Large weights alias the
// buffer the file is read into rather than being copied.
func Load(path string) (*ir.Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Decode(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g.Source = path
	return g, nil
}

// Decode reads a serialized ModelProto. dir is the directory that
// external data locations are relative to; with dir "" a model with
// external data is an error. The graph's constants may alias data, which
// must not be modified afterwards. The nodes are sorted and verified.
func Decode(data []byte, dir string) (g *ir.Graph, err error) {
	defer recoverPanic(&err)
	if len(data) == 0 {
		return nil, errors.New("empty model file (0 bytes)")
	}
	var m modelProto
	if err := m.decode(data); err != nil {
		return nil, fmt.Errorf("malformed ModelProto: %w", err)
	}
	td := &tensorDecoder{dir: dir}
	defer td.close()
	g, err = buildGraph(&m, td)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// recoveredPanics counts panics that recoverPanic turned into errors. It
// is a last line of defence only: tests assert that it stays zero.
var recoveredPanics atomic.Int64

func recoverPanic(err *error) {
	if r := recover(); r != nil {
		recoveredPanics.Add(1)
		*err = fmt.Errorf("internal error in the ONNX reader (a tsmc bug, please report it): %v", r)
	}
}

// normDomain maps the default domain's two spellings to "".
func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

// valueEntry tracks one value name while the graph is built.
type valueEntry struct {
	v *ir.Value
	// definedBy says what defines v ("graph input", "initializer", or a
	// node description); "" while v has only been read.
	definedBy string
}

type graphBuilder struct {
	g      *ir.Graph
	td     *tensorDecoder
	values map[string]*valueEntry
}

func buildGraph(m *modelProto, td *tensorDecoder) (*ir.Graph, error) {
	if m.irVersion == 0 {
		return nil, errors.New("not an ONNX model: ir_version is missing")
	}
	if m.irVersion < MinIRVersion || m.irVersion > MaxIRVersion {
		return nil, fmt.Errorf("unsupported ir_version %d (tsmc reads %d to %d)", m.irVersion, MinIRVersion, MaxIRVersion)
	}
	if !m.hasGraph {
		return nil, errors.New("model has no graph")
	}
	b := &graphBuilder{
		g:      &ir.Graph{Name: m.graph.name, Opsets: map[string]int64{}},
		td:     td,
		values: map[string]*valueEntry{},
	}
	for _, o := range m.opsets {
		dom := normDomain(o.domain)
		if o.version < 1 {
			return nil, fmt.Errorf("opset_import of domain %q has invalid version %d", o.domain, o.version)
		}
		if o.version > b.g.Opsets[dom] {
			b.g.Opsets[dom] = o.version
		}
	}
	gp := &m.graph
	if gp.sparseInitializers > 0 {
		return nil, fmt.Errorf("graph has %d sparse initializers, which are not supported", gp.sparseInitializers)
	}
	steps := []func(*graphProto) error{b.addInitializers, b.addInputs, b.addNodes, b.addValueInfo, b.addOutputs}
	for _, step := range steps {
		if err := step(gp); err != nil {
			return nil, err
		}
	}
	if err := b.g.Sort(); err != nil {
		return nil, err
	}
	if err := b.g.Verify(); err != nil {
		return nil, err
	}
	return b.g, nil
}

func (b *graphBuilder) addInitializers(gp *graphProto) error {
	for i := range gp.initializers {
		tp := &gp.initializers[i]
		if tp.name == "" {
			return fmt.Errorf("initializer %d has no name", i)
		}
		if _, dup := b.values[tp.name]; dup {
			return fmt.Errorf("initializer %q is given twice", tp.name)
		}
		t, err := b.td.tensor(tp)
		if err != nil {
			return fmt.Errorf("initializer: %w", err)
		}
		b.values[tp.name] = &valueEntry{v: ir.NewConst(tp.name, t), definedBy: "initializer"}
	}
	return nil
}

// addInputs adds the run-time graph inputs; inputs that are also
// initializers are constants and stay out of g.Inputs.
func (b *graphBuilder) addInputs(gp *graphProto) error {
	for i := range gp.inputs {
		vi := &gp.inputs[i]
		if vi.name == "" {
			return fmt.Errorf("graph input %d has no name", i)
		}
		if e, ok := b.values[vi.name]; ok {
			if e.definedBy == "initializer" {
				continue
			}
			return fmt.Errorf("graph input %q is listed twice", vi.name)
		}
		v, err := declaredValue(vi, "graph input")
		if err != nil {
			return err
		}
		b.values[vi.name] = &valueEntry{v: v, definedBy: "graph input"}
		b.g.Inputs = append(b.g.Inputs, v)
	}
	return nil
}

// declaredValue makes a value with the dtype and shape vi declares.
func declaredValue(vi *valueInfoProto, what string) (*ir.Value, error) {
	v := &ir.Value{Name: vi.name}
	tp := &vi.typ
	if !tp.isTensor {
		if tp.otherKind != 0 {
			return nil, fmt.Errorf("%s %q has a %s type; only tensors are supported", what, vi.name, typeKindNames[tp.otherKind])
		}
		return v, nil
	}
	if tp.elemType != 0 {
		et, err := lookupElemType(tp.elemType)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, vi.name, err)
		}
		v.DType = et.dtype
	}
	if !tp.hasShape {
		return v, nil
	}
	v.Shape = make(ir.Shape, len(tp.dims))
	params := make([]string, len(tp.dims))
	named := false
	for i, d := range tp.dims {
		switch {
		case d.hasValue && (d.value < 0 || d.value > ir.MaxElements):
			return nil, fmt.Errorf("%s %q: dimension %d has invalid size %d", what, vi.name, i, d.value)
		case d.hasValue:
			v.Shape[i] = int(d.value)
		default:
			v.Shape[i] = -1
			params[i] = d.param
			named = named || d.param != ""
		}
	}
	if named {
		v.DimParams = params
	}
	return v, nil
}

func (b *graphBuilder) addNodes(gp *graphProto) error {
	for i := range gp.nodes {
		n, err := b.node(&gp.nodes[i])
		if err != nil {
			return err
		}
		b.g.Nodes = append(b.g.Nodes, n)
	}
	// Every input read must be defined somewhere (nodes may be listed out
	// of order; Sort orders them afterwards).
	for _, n := range b.g.Nodes {
		for i, in := range n.Inputs {
			if in != nil && b.values[in.Name].definedBy == "" {
				return n.Errorf("input %d %q is not defined (not a graph input, initializer or node output)", i, in.Name)
			}
		}
	}
	return nil
}

func (b *graphBuilder) node(np *nodeProto) (*ir.Node, error) {
	n := &ir.Node{Name: np.name, Op: np.op, Domain: normDomain(np.domain)}
	n.Outputs = make([]*ir.Value, len(np.outputs))
	var clash error
	seen := map[string]bool{}
	for i, name := range np.outputs {
		if name == "" {
			continue
		}
		e, ok := b.values[name]
		switch {
		case seen[name] && clash == nil:
			clash = fmt.Errorf("output %q is listed twice", name)
		case !ok:
			e = &valueEntry{v: &ir.Value{Name: name}}
			b.values[name] = e
		case e.definedBy != "" && clash == nil:
			clash = fmt.Errorf("output %d %q is already defined by %s", i, name, e.definedBy)
		}
		seen[name] = true
		n.Outputs[i] = e.v
	}
	if clash != nil {
		return nil, n.Errorf("%v", clash)
	}
	desc := n.Describe()
	for _, o := range n.Outputs {
		if o != nil {
			b.values[o.Name].definedBy = desc
		}
	}
	if n.Op == "" {
		return nil, n.Errorf("has no op_type")
	}
	if _, ok := b.g.Opsets[n.Domain]; !ok {
		return nil, n.Errorf("uses domain %q, which the model does not import (no opset_import entry)", np.domain)
	}
	n.Inputs = make([]*ir.Value, len(np.inputs))
	for i, name := range np.inputs {
		if name == "" {
			continue // an omitted optional input
		}
		e, ok := b.values[name]
		if !ok {
			e = &valueEntry{v: &ir.Value{Name: name}}
			b.values[name] = e
		}
		n.Inputs[i] = e.v
	}
	for i := range np.attrs {
		ap := &np.attrs[i]
		if ap.name == "" {
			return nil, n.Errorf("attribute %d has no name", i)
		}
		if _, dup := n.Attrs[ap.name]; dup {
			return nil, n.Errorf("attribute %q is given twice", ap.name)
		}
		a, err := b.attr(ap)
		if err != nil {
			return nil, n.Errorf("attribute %q: %v", ap.name, err)
		}
		n.SetAttr(ap.name, a)
	}
	return n, nil
}

func (b *graphBuilder) attr(ap *attrProto) (ir.Attr, error) {
	if ap.refAttrName != "" {
		return ir.Attr{}, fmt.Errorf("refers to function attribute %q, which is only valid inside a function body", ap.refAttrName)
	}
	switch ap.typ {
	case attrFloat:
		return ir.Attr{Kind: ir.AttrFloat, Float: ap.f}, nil
	case attrInt:
		return ir.Attr{Kind: ir.AttrInt, Int: ap.i}, nil
	case attrString:
		return ir.Attr{Kind: ir.AttrString, String: ap.s}, nil
	case attrFloats:
		return ir.Attr{Kind: ir.AttrFloats, Floats: ap.floats}, nil
	case attrInts:
		return ir.Attr{Kind: ir.AttrInts, Ints: ap.ints}, nil
	case attrStrings:
		return ir.Attr{Kind: ir.AttrStrings, Strings: ap.strings}, nil
	case attrTensor:
		if !ap.hasT {
			return ir.Attr{}, errors.New("has type TENSOR but holds no tensor")
		}
		t, err := b.td.tensor(&ap.t)
		if err != nil {
			return ir.Attr{}, err
		}
		return ir.Attr{Kind: ir.AttrTensor, Tensor: t}, nil
	case attrGraph, attrGraphs:
		return ir.Attr{}, fmt.Errorf("holds a subgraph (type %s); control flow bodies (If, Loop, Scan) are not supported", attrTypeNames[ap.typ])
	case attrSparseTensor, attrSparseTensors:
		return ir.Attr{}, fmt.Errorf("holds a sparse tensor (type %s), which is not supported", attrTypeNames[ap.typ])
	case attrTensors, attrTypeProto, attrTypeProtos:
		return ir.Attr{}, fmt.Errorf("attribute type %s is not supported", attrTypeNames[ap.typ])
	case attrUndefined:
		return ir.Attr{}, errors.New("has no type (AttributeProto.type is UNDEFINED)")
	}
	return ir.Attr{}, fmt.Errorf("has unknown attribute type %d", ap.typ)
}

// addValueInfo keeps the dtypes that value_info declares for intermediate
// values; their shapes are left to shape inference.
func (b *graphBuilder) addValueInfo(gp *graphProto) error {
	for i := range gp.valueInfo {
		vi := &gp.valueInfo[i]
		e, ok := b.values[vi.name]
		if !ok || e.v.IsConst() || e.v.DType != ir.Undefined || !vi.typ.isTensor {
			continue
		}
		if et, err := lookupElemType(vi.typ.elemType); err == nil {
			e.v.DType = et.dtype
		}
	}
	return nil
}

// addOutputs lists the graph outputs, recording the dtype and shape they
// declare on values that nodes compute.
func (b *graphBuilder) addOutputs(gp *graphProto) error {
	for i := range gp.outputs {
		vi := &gp.outputs[i]
		if vi.name == "" {
			return fmt.Errorf("graph output %d has no name", i)
		}
		e, ok := b.values[vi.name]
		if !ok || e.definedBy == "" {
			return fmt.Errorf("graph output %q is not defined (not a graph input, initializer or node output)", vi.name)
		}
		decl, err := declaredValue(vi, "graph output")
		if err != nil {
			return err
		}
		if e.definedBy != "graph input" && e.definedBy != "initializer" {
			if decl.DType != ir.Undefined {
				e.v.DType = decl.DType
			}
			if decl.Shape != nil {
				e.v.Shape, e.v.DimParams = decl.Shape, decl.DimParams
			}
		}
		b.g.Outputs = append(b.g.Outputs, e.v)
	}
	return nil
}
