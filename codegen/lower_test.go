package codegen

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
)

// builder assembles small graphs for codegen tests.
type builder struct {
	*irtest.Builder
	rng *rand.Rand
}

func newBuilder(opset int64) *builder {
	return &builder{
		Builder: irtest.New(map[string]int64{"": opset, ops.Domain: 1}),
		rng:     rand.New(rand.NewPCG(7, 11)),
	}
}

// random is a float32 constant of uniform values in [-1, 1).
func (b *builder) random(name string, shape ...int) *ir.Value {
	data := make([]float32, ir.Shape(shape).Size())
	for i := range data {
		data[i] = 2*b.rng.Float32() - 1
	}
	return ir.NewConst(name, ir.Float32s(ir.Shape(shape), data))
}

func (b *builder) ints(name string, data ...int64) *ir.Value {
	return ir.NewConst(name, ir.Int64s(ir.Shape{len(data)}, data))
}

func (b *builder) scalar(name string, v float32) *ir.Value {
	return ir.NewConst(name, ir.Float32s(ir.Shape{}, []float32{v}))
}

// op adds a node (named after its output) of the default domain or, for
// "domain.Op", another.
func (b *builder) op(name, op string, attrs map[string]ir.Attr, inputs ...*ir.Value) *ir.Value {
	domain := ""
	if d, o, ok := strings.Cut(op, "."); ok {
		domain, op = d, o
	}
	return b.Node(name, domain, op, attrs, inputs...)
}

// attrs builds attributes from name, value pairs (irtest.Attrs).
var attrs = irtest.Attrs

// checkPlan checks a lowered program's memory: every arena tensor is live
// from its definition to its last reader (graph outputs to the end), and
// tensors live together never share bytes.
func checkPlan(t *testing.T, p *program) {
	t.Helper()
	bufs := make([]Interval, len(p.arena))
	offsets := make([]int, len(p.arena))
	for i, s := range p.arena {
		bufs[i], offsets[i] = s.live, s.offset
	}
	checkPlacement(t, bufs, offsets, p.arenaFloats, alignFloats)
	for i, n := range p.g.Nodes {
		for _, v := range n.Inputs {
			if s := p.store[v]; s != nil && s.kind == inArena && (s.live.Start > i || s.live.End < i) {
				t.Errorf("node %d reads %v, live only over %+v", i, v, s.live)
			}
		}
	}
	for _, v := range p.g.Outputs {
		if s := p.store[v]; s.kind == inArena && s.live.End != len(p.g.Nodes) {
			t.Errorf("output %v is live over %+v, want to the end (%d)", v, s.live, len(p.g.Nodes))
		}
	}
}

func TestReshapesAlias(t *testing.T) {
	b := newBuilder(13)
	x := b.Input("x", 2, 3, 4, 4)
	flat := b.op("flat_input", "Reshape", nil, x, b.ints("shape1", 6, 16))
	r := b.op("relu", "Relu", nil, flat)
	sq := b.op("unsqueeze", "Unsqueeze", nil, r, b.ints("axes", 0))
	r2 := b.op("relu2", "Relu", nil, sq)
	b.Output(r2)
	p, err := lower(b.Graph(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p)
	if s := p.store[flat]; s != p.store[x] || s.kind != inInput {
		t.Errorf("a reshape of the input should read the caller's slice, got %+v", s)
	}
	if p.store[sq] != p.store[r] {
		t.Error("unsqueeze output does not share its input's storage")
	}
	if s := p.store[r]; s.live.End != 3 {
		t.Errorf("relu output is read through its alias by node 3, but lives over %+v", s.live)
	}
	if len(p.arena) != 2 || len(p.steps) != 2 {
		t.Errorf("want 2 arena tensors and 2 kernel calls (reshapes are free), got %d and %d", len(p.arena), len(p.steps))
	}
}

// loadOptimised reads a model and runs the pipeline, as tsmc.Compile does.
func loadOptimised(t testing.TB, path string) *ir.Graph {
	t.Helper()
	g := irtest.Load(t, path)
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	return g
}

var tinyModels = []string{"tsm_tiny_official", "tsm_tiny_mmaction"}

func tinyModel(name string) string {
	return filepath.Join("..", "testdata", name, "model.onnx")
}

func TestPlanOfTinyModels(t *testing.T) {
	for _, name := range tinyModels {
		t.Run(name, func(t *testing.T) {
			p, err := lower(loadOptimised(t, tinyModel(name)), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, p)
			m := p.memoryPlan()
			if m.ArenaBytes >= m.ActivationBytes {
				t.Errorf("arena %d bytes is no smaller than the %d bytes of all activations: no reuse", m.ArenaBytes, m.ActivationBytes)
			}
			// The peak of live bytes bounds every plan from below; the
			// greedy placement should come close to it.
			if m.ArenaBytes < m.PeakBytes || float64(m.ArenaBytes) > 1.1*float64(m.PeakBytes) {
				t.Errorf("arena %d bytes, peak of live tensors %d bytes: want within 10%% above the peak", m.ArenaBytes, m.PeakBytes)
			}
			t.Logf("arena %d bytes (peak live %d) for %d bytes of activations in %d tensors", m.ArenaBytes, m.PeakBytes, m.ActivationBytes, m.Buffers)
		})
	}
}

func TestUnsupportedOpIsAnError(t *testing.T) {
	b := newBuilder(13)
	x := b.Input("x", 1, 4, 2, 2)
	b.Output(b.op("as_float", "Cast", attrs("to", 1), b.op("the_argmax", "ArgMax", attrs("axis", 1), x)))
	_, err := Generate(b.Graph(t), Options{Package: "m"})
	if err == nil {
		t.Fatal("no error for ArgMax")
	}
	for _, want := range []string{`"the_argmax"`, "ArgMax", "not support", "Transpose"} { // the list of supported ops
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestUnsupportedFormsAreErrors(t *testing.T) {
	cases := map[string]struct {
		build func(b *builder)
		want  string
	}{
		"cast to int64 at run time": {func(b *builder) {
			x := b.Input("x", 2, 3)
			c := b.op("to_int", "Cast", attrs("to", 7), x)
			b.Output(b.op("bad_cast", "Cast", attrs("to", 1), c))
		}, "only casts to float32"},
		"max pool indices": {func(b *builder) {
			x := b.Input("x", 1, 2, 4, 4)
			y := b.op("bad_pool", "MaxPool", attrs("kernel_shape", []int64{2, 2}), x)
			n := b.G.Nodes[len(b.G.Nodes)-1]
			idx := &ir.Value{Name: "indices"}
			n.Outputs = append(n.Outputs, idx)
			b.Output(y, b.op("as_float", "Cast", attrs("to", 1), idx))
		}, "Indices"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := newBuilder(13)
			c.build(b)
			g := b.Graph(t)
			_, err := Generate(g, Options{Package: "m"})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestIdentifiers(t *testing.T) {
	for name, want := range map[string]string{
		"logits": "Logits", "i0": "I0", "/base/fc/Gemm_output_0": "BaseFcGemmOutput0", "0abc": "X0abc", "--": "X", "été": "T",
	} {
		if got := exportedIdent(name); got != want {
			t.Errorf("exportedIdent(%q) = %q, want %q", name, got, want)
		}
	}
	for folder, want := range map[string]string{
		"tsm_tiny_official": "tsm_tiny_official", "My-Model.v2": "my_model_v2", "3d": "model3d", "type": "modeltype",
	} {
		if got := PackageName(folder); got != want {
			t.Errorf("PackageName(%q) = %q, want %q", folder, got, want)
		}
	}
	b := newBuilder(13)
	for _, name := range []string{"w", "len", "x-y", "x_y"} {
		v := b.Input(name, 2)
		b.Output(b.op("relu_"+name, "Relu", nil, v))
	}
	p, err := lower(b.Graph(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var params, fields []string
	for _, pt := range p.inputs {
		params, fields = append(params, pt.param), append(fields, pt.field)
	}
	if got, want := strings.Join(params, " "), "w_ len_ xY xY_2"; got != want {
		t.Errorf("parameters %q, want %q (no shadowing, unique)", got, want)
	}
	if got, want := strings.Join(fields, " "), "W Len XY XY_2"; got != want {
		t.Errorf("fields %q, want %q", got, want)
	}
}
