package passes

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// builder assembles small graphs for pass tests, naming each node after
// its op ("relu", "relu2", ...).
type builder struct {
	*irtest.Builder
	next map[string]int
}

func newBuilder(opset int64) *builder {
	return &builder{Builder: irtest.New(map[string]int64{"": opset}), next: map[string]int{}}
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

// op adds a node with one output, named after the op.
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
	return b.Node(name, domain, op, attrs, inputs...)
}

// attrs builds an attribute map from name, value pairs (irtest.Attrs).
var attrs = irtest.Attrs

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

// sameOutputs runs both interpreter results through relativeError by output
// position (names may differ) and fails above tol.
func sameOutputs(t *testing.T, g *ir.Graph, before, after map[string]*ir.Tensor, outNames []string, tol float64) {
	t.Helper()
	for i, o := range g.Outputs {
		want, got := before[outNames[i]], after[o.Name]
		if want == nil || got == nil {
			t.Fatalf("output %d (%s before, %s after) missing", i, outNames[i], o.Name)
		}
		if e := tensorcmp.RelErr(got, want); e > tol {
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
