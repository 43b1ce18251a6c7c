package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// builder assembles small graphs for pass tests.
type builder struct {
	g    *ir.Graph
	next map[string]int
}

func newBuilder(opset int64) *builder {
	return &builder{g: &ir.Graph{Name: "t", Opsets: map[string]int64{"": opset}}, next: map[string]int{}}
}

func (b *builder) input(name string, shape ...int) *ir.Value {
	v := &ir.Value{Name: name, DType: ir.Float32, Shape: ir.Shape(shape)}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *builder) f32(name string, shape ir.Shape, data ...float32) *ir.Value {
	if len(data) != shape.Size() {
		panic(fmt.Sprintf("constant %s: %d values for shape %v", name, len(data), shape))
	}
	return ir.NewConst(name, ir.Float32s(shape, data))
}

func (b *builder) i64(name string, data ...int64) *ir.Value {
	return ir.NewConst(name, ir.Int64s(ir.Shape{len(data)}, data))
}

// scalar returns a rank-0 int64 constant.
func (b *builder) scalar(name string, v int64) *ir.Value {
	return ir.NewConst(name, ir.Int64s(ir.Shape{}, []int64{v}))
}

// op adds a node with one output, named after the op ("relu", "relu2", ...).
func (b *builder) op(op string, attrs map[string]ir.Attr, inputs ...*ir.Value) *ir.Value {
	return b.opIn("", op, attrs, inputs...)
}

// opIn adds a node of domain with one output.
func (b *builder) opIn(domain, op string, attrs map[string]ir.Attr, inputs ...*ir.Value) *ir.Value {
	base := strings.ToLower(op)
	b.next[base]++
	name := base
	if k := b.next[base]; k > 1 {
		name = fmt.Sprintf("%s%d", base, k)
	}
	out := &ir.Value{Name: name}
	b.g.Nodes = append(b.g.Nodes, &ir.Node{Name: name, Op: op, Domain: domain, Inputs: inputs, Outputs: []*ir.Value{out}, Attrs: attrs})
	return out
}

func (b *builder) output(vs ...*ir.Value) { b.g.Outputs = append(b.g.Outputs, vs...) }

// graph infers shapes and verifies the built graph.
func (b *builder) graph(t *testing.T) *ir.Graph {
	t.Helper()
	if err := ir.InferShapes(b.g, interp.Eval); err != nil {
		t.Fatalf("building test graph: %v", err)
	}
	if err := b.g.Verify(); err != nil {
		t.Fatalf("building test graph: %v", err)
	}
	return b.g
}

// attrs builds an attribute map from name, value pairs: int, float32,
// string, []int64 or *ir.Tensor values.
func attrs(kv ...any) map[string]ir.Attr {
	m := map[string]ir.Attr{}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		switch v := kv[i+1].(type) {
		case int:
			m[name] = intAttr(int64(v))
		case float32:
			m[name] = floatAttr(v)
		case string:
			m[name] = stringAttr(v)
		case []int64:
			m[name] = intsAttr(v...)
		case *ir.Tensor:
			m[name] = ir.Attr{Kind: ir.AttrTensor, Tensor: v}
		default:
			panic(fmt.Sprintf("attribute %s: unsupported %T", name, v))
		}
	}
	return m
}

// randomFeeds fills every graph input with values in [-1, 1).
func randomFeeds(g *ir.Graph, rng *rand.Rand) map[string]*ir.Tensor {
	in := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t, err := ir.NewTensor(v.DType, v.Shape)
		if err != nil {
			panic(err)
		}
		for i := range t.F32 {
			t.F32[i] = rng.Float32()*2 - 1
		}
		in[v.Name] = t
	}
	return in
}

// relativeError is max|got-want| / max|want| (the absolute error for zeros).
func relativeError(got, want *ir.Tensor) float64 {
	if !got.Shape.Equal(want.Shape) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := 0; i < want.Len(); i++ {
		diff = math.Max(diff, math.Abs(got.Float(i)-want.Float(i)))
		scale = math.Max(scale, math.Abs(want.Float(i)))
	}
	if math.IsNaN(diff) {
		return math.Inf(1)
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// sameOutputs runs both interpreter results through relativeError by output
// position (names may differ) and fails above tol.
func sameOutputs(t *testing.T, g *ir.Graph, before, after map[string]*ir.Tensor, outNames []string, tol float64) {
	t.Helper()
	for i, o := range g.Outputs {
		want, got := before[outNames[i]], after[o.Name]
		if want == nil || got == nil {
			t.Fatalf("output %d (%s before, %s after) missing", i, outNames[i], o.Name)
		}
		if e := relativeError(got, want); e > tol {
			t.Errorf("output %s: relative error %.3g after the passes, want <= %g", o.Name, e, tol)
		}
	}
}

// outputNames lists the graph's output names.
func outputNames(g *ir.Graph) []string {
	var names []string
	for _, o := range g.Outputs {
		names = append(names, o.Name)
	}
	return names
}
