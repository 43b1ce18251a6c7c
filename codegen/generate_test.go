package codegen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// allOpsGraph uses every op the generator lowers, on two clips of two
// frames: shifts fused (plain and with a state input) and materialised,
// general, depthwise and grouped convolutions with every epilogue, pooling,
// Clip, Slice (of the arena and of an input), Concat, the means, Dense with
// its spatial mean, SegmentMean, Softmax and the reshapes.
func allOpsGraph(t *testing.T) *ir.Graph {
	b := newBuilder(13)
	x := b.Input("x", 4, 8, 6, 6)
	state := b.Input("state", 2, 2, 6, 6)
	shift := func(extra ...any) map[string]ir.Attr {
		return attrs(append([]any{"segments", 2, "shift", []int64{0, 1, 1, 1, 2, -1}}, extra...)...)
	}
	conv := func(group, stride, pad int, extra ...any) map[string]ir.Attr {
		s, p := int64(stride), int64(pad)
		return attrs(append([]any{"strides", []int64{s, s}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p},
			"group", group}, extra...)...)
	}
	shifted := b.op("shifted", "tsmc.TemporalShift", shift(), x)
	c1 := b.op("conv_shift", "tsmc.Conv", conv(1, 1, 1, append([]any{"kernel_shape", []int64{3, 3}, "activation", "relu"},
		"segments", 2, "shift", []int64{0, 1, 1, 1, 2, -1})...), x, b.random("w1", 8, 8, 3, 3), b.random("b1", 8))
	a1 := b.op("sum", "Add", nil, shifted, c1)
	d1 := b.op("depthwise", "tsmc.Conv", conv(8, 2, 1, "kernel_shape", []int64{3, 3}, "activation", "clip", "clip_min", float32(0), "clip_max", float32(0.5)),
		a1, b.random("wd", 8, 1, 3, 3), b.random("bd", 8))
	g1 := b.op("grouped", "tsmc.Conv", conv(2, 1, 0, "kernel_shape", []int64{1, 1}), d1, b.random("wg", 8, 4, 1, 1), b.random("bg", 8), d1)
	m1 := b.op("maxpool", "MaxPool", attrs("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}, "ceil_mode", 1), g1)
	cl := b.op("clip", "Clip", nil, m1, b.scalar("lo", -0.5), b.scalar("hi", 0.5))
	sl := b.op("slice", "Slice", nil, cl, b.ints("starts", 2), b.ints("ends", 5), b.ints("axes", 1))
	cc := b.op("concat", "Concat", attrs("axis", 1), sl, cl)
	gp := b.op("gap", "GlobalAveragePool", nil, cc)
	fl := b.op("flatten", "Flatten", attrs("axis", 1), gp)
	rm := b.op("mean", "ReduceMean", attrs("axes", []int64{2, 3}, "keepdims", 0), cc)
	features := b.op("features", "Add", nil, fl, rm)
	de := b.op("dense", "tsmc.Dense", nil, cc, b.random("wf", 5, 11), b.random("bf", 5))
	sm := b.op("consensus", "tsmc.SegmentMean", attrs("segments", 2), de)
	probs := b.op("probs", "Softmax", attrs("axis", -1), sm)
	online := b.op("online_conv", "tsmc.Conv", conv(1, 1, 0, "kernel_shape", []int64{1, 1}, "segments", 2, "shift", []int64{0, 2, -1}),
		x, b.random("w2", 4, 8, 1, 1), b.random("b2", 4), nil, state)
	onlineShift := b.op("online_shift", "tsmc.TemporalShift", attrs("segments", 2, "shift", []int64{0, 2, -1}), x, state)
	relu := b.op("relu", "Relu", nil, onlineShift)
	nextState := b.op("next_state", "Slice", nil, x, b.ints("s0", 0), b.ints("e0", 2), b.ints("a0", 1))
	// the epilogues applied after the kernels, and a standalone one
	hard := func(kind string, alpha float32) []any {
		return []any{"activation", kind, "act_alpha", alpha, "act_beta", float32(0.5)}
	}
	silu := b.op("conv_silu", "tsmc.Conv", conv(1, 1, 0, "kernel_shape", []int64{1, 1}, "activation", "silu"),
		d1, b.random("ws", 6, 8, 1, 1), b.random("bs", 6))
	hswish := b.op("dw_hardswish", "tsmc.Conv", conv(6, 1, 2, append([]any{"kernel_shape", []int64{5, 5}}, hard("hardswish", 1.0/6)...)...),
		silu, b.random("wh", 6, 1, 5, 5), b.random("bh", 6))
	hsig := b.op("conv_hardsigmoid", "tsmc.Conv", conv(1, 1, 0, append([]any{"kernel_shape", []int64{1, 1}}, hard("hardsigmoid", 0.2)...)...),
		hswish, b.random("wgt", 6, 6, 1, 1), b.random("bgt", 6))
	sig := b.op("conv_sigmoid", "tsmc.Conv", conv(1, 1, 1, "kernel_shape", []int64{3, 3}, "activation", "sigmoid"),
		hsig, b.random("wsg", 6, 6, 3, 3), b.random("bsg", 6))
	act := b.op("activation", "tsmc.Activation", attrs("activation", "silu"), sig)
	// a squeeze-and-excitation block's convolutions over the pooled 1x1
	// maps, which run as dense layers
	seReduce := b.op("se_reduce", "tsmc.Conv", conv(1, 1, 0, "kernel_shape", []int64{1, 1}, "activation", "silu"),
		gp, b.random("wse1", 3, 11, 1, 1), b.random("bse1", 3))
	seExpand := b.op("se_expand", "tsmc.Conv", conv(1, 1, 0, append([]any{"kernel_shape", []int64{1, 1}}, hard("hardsigmoid", 1.0/6)...)...),
		seReduce, b.random("wse2", 11, 3, 1, 1), b.random("bse2", 11))
	b.Output(probs, features, online, relu, nextState, act, seExpand)
	return b.Graph(t)
}

func randomTensor(rng *rand.Rand, shape ir.Shape) *ir.Tensor {
	data := make([]float32, shape.Size())
	for i := range data {
		data[i] = 2*rng.Float32() - 1
	}
	return ir.Float32s(shape, data)
}

// interpDataSets makes one data set per name: random inputs in [-1, 1) and
// the outputs the reference interpreter computes from them.
func interpDataSets(t *testing.T, g *ir.Graph, rng *rand.Rand, names ...string) []DataSet {
	t.Helper()
	var sets []DataSet
	for _, name := range names {
		ds := DataSet{Name: name}
		in := map[string]*ir.Tensor{}
		for _, v := range g.Inputs {
			tensor := randomTensor(rng, v.Shape)
			ds.Inputs = append(ds.Inputs, tensor)
			in[v.Name] = tensor
		}
		want, err := interp.Run(g, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range g.Outputs {
			ds.Outputs = append(ds.Outputs, want[v.Name])
		}
		sets = append(sets, ds)
	}
	return sets
}

// interpOn runs the interpreter on g with the inputs of ds.
func interpOn(t *testing.T, g *ir.Graph, ds DataSet) map[string]*ir.Tensor {
	t.Helper()
	in := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		in[v.Name] = ds.Inputs[i]
	}
	got, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkInterpAgain runs the interpreter on g (a graph after passes) for
// every data set and wants its outputs exactly: what was, where
// fused, runs the same arithmetic.
func checkInterpAgain(t *testing.T, g *ir.Graph, sets []DataSet) {
	t.Helper()
	for _, ds := range sets {
		got := interpOn(t, g, ds)
		for i, v := range g.Outputs {
			if err := tensorcmp.Equal(got[v.Name], ds.Outputs[i]); err != nil {
				t.Errorf("%s: output %s differs after the passes: %v", ds.Name, v.Name, err)
			}
		}
	}
}

// TestGeneratedCodeMatchesInterpreter generates the all-ops graph with two
// data sets computed by the reference interpreter, and runs the generated
// package's own tests (golden data sets at 1e-4, concurrent runs under
// -race where cgo allows it, input errors) with go test.
func TestGeneratedCodeMatchesInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	g := allOpsGraph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(3, 5)), "set_a", "set_b")
	pkg, err := Generate(g, Options{Package: "allops", DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(pkg.Files["model.go"]), "runtime.NewDense("); n != 3 {
		t.Errorf("generated code plans %d dense layers, want 3 (tsmc.Dense and the two convolutions over 1x1 maps)", n)
	}
	t.Logf("go test:\n%s", GoTestGenerated(t, pkg))
}
