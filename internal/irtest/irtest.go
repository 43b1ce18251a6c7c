// Package irtest builds small IR graphs for the tests of the passes and of
// code generation.
package irtest

import (
	"fmt"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// Builder assembles a graph node by node; Graph infers its shapes and
// verifies it.
type Builder struct {
	G *ir.Graph
}

// New returns a builder of a graph importing the domains of opsets at
// their versions ("" is the default ONNX domain).
func New(opsets map[string]int64) *Builder {
	return &Builder{G: &ir.Graph{Name: "t", Opsets: opsets}}
}

// Input adds a float32 graph input.
func (b *Builder) Input(name string, shape ...int) *ir.Value {
	v := &ir.Value{Name: name, DType: ir.Float32, Shape: ir.Shape(shape)}
	b.G.Inputs = append(b.G.Inputs, v)
	return v
}

// Node adds a node of op in domain with one output, both called name.
func (b *Builder) Node(name, domain, op string, attrs map[string]ir.Attr, inputs ...*ir.Value) *ir.Value {
	out := &ir.Value{Name: name}
	b.G.Nodes = append(b.G.Nodes, &ir.Node{Name: name, Op: op, Domain: domain, Inputs: inputs, Outputs: []*ir.Value{out}, Attrs: attrs})
	return out
}

// Output lists vs as graph outputs.
func (b *Builder) Output(vs ...*ir.Value) { b.G.Outputs = append(b.G.Outputs, vs...) }

// Graph infers shapes and verifies the built graph, failing t if either
// goes wrong.
func (b *Builder) Graph(t testing.TB) *ir.Graph {
	t.Helper()
	if err := ir.InferShapes(b.G, interp.Eval); err != nil {
		t.Fatalf("building test graph: %v", err)
	}
	if err := b.G.Verify(); err != nil {
		t.Fatalf("building test graph: %v", err)
	}
	return b.G
}

// Load reads an ONNX model and infers its shapes (symbolic dimensions
// unbound), failing t on any error.
func Load(t testing.TB, path string) *ir.Graph {
	t.Helper()
	g, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.BindShapes(g, nil); err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		t.Fatal(err)
	}
	return g
}

// Attrs builds an attribute map from name, value pairs: int, float32,
// string, []int64 or *ir.Tensor values.
func Attrs(kv ...any) map[string]ir.Attr {
	m := map[string]ir.Attr{}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		switch v := kv[i+1].(type) {
		case int:
			m[name] = ir.Attr{Kind: ir.AttrInt, Int: int64(v)}
		case float32:
			m[name] = ir.Attr{Kind: ir.AttrFloat, Float: v}
		case string:
			m[name] = ir.Attr{Kind: ir.AttrString, String: v}
		case []int64:
			m[name] = ir.Attr{Kind: ir.AttrInts, Ints: v}
		case []float32:
			m[name] = ir.Attr{Kind: ir.AttrFloats, Floats: v}
		case *ir.Tensor:
			m[name] = ir.Attr{Kind: ir.AttrTensor, Tensor: v}
		default:
			panic(fmt.Sprintf("attribute %s: unsupported %T", name, v))
		}
	}
	return m
}
