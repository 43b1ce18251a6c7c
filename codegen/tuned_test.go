package codegen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// farPlanner tunes every layer to plans far from the default: the last
// candidate plan of its kind for one thread and one from the middle for
// two, both without Winograd and a depthwise layer's both of the last
// plan's kernel (so that the layer's results do not depend on the thread
// count).
type farPlanner struct{ asked []string }

func (f *farPlanner) Plans(w tunerun.Workload) runtime.TunedPlans {
	f.asked = append(f.asked, w.Op)
	all := w.Plans()
	var plans []runtime.Plan
	for _, p := range all {
		if p != (runtime.Plan{}) && p.Algo != runtime.AlgoWinograd && (w.Op != tunerun.OpDepthwise || p.Algo == all[len(all)-1].Algo) {
			plans = append(plans, p)
		}
	}
	if len(plans) == 0 {
		return nil
	}
	return runtime.TunedPlans{
		{ISA: runtime.ISA(), Threads: 1, Plan: plans[len(plans)-1]},
		{ISA: runtime.ISA(), Threads: 2, Plan: plans[len(plans)/2]},
	}
}

// TestTunedPlansMatchInterpreter generates blocksGraph and dwGraph with tuned plans
// for every planned layer and runs the generated package's tests: its
// data sets from the interpreter, and the same bits at 1, 2 and 3 threads.
// The code is generated twice, to the same bytes.
func TestTunedPlansMatchInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	for _, c := range []struct {
		name   string
		graph  func(*testing.T) *ir.Graph
		layers string
		want   []string
	}{
		{"blocks", blocksGraph, "block block conv block block dense conv",
			[]string{"Tuning: 7 of the 7 planned layers take tuned plans", "runtime.NewConvPlan(", "runtime.NewInvertedResidualPlan(", "runtime.NewDensePlan("}},
		{"depthwise", dwGraph, "depthwise depthwise conv",
			[]string{"Tuning: 3 of the 3 planned layers take tuned plans", "runtime.NewDepthwiseConvPlan(", `Algo: "taps"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testTunedPackage(t, c.graph(t), c.layers, c.want)
		})
	}
}

// dwGraph has depthwise convolutions of 3x3 and 5x5 kernels, each
// standalone.
func dwGraph(t *testing.T) *ir.Graph {
	b := newBuilder(13)
	x := b.Input("x", 4, 24, 20, 18)
	conv := func(group, stride, pad, k int, act ...any) map[string]ir.Attr {
		s, p := int64(stride), int64(pad)
		return attrs(append([]any{"strides", []int64{s, s}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p},
			"group", group, "kernel_shape", []int64{int64(k), int64(k)}}, act...)...)
	}
	d1 := b.op("dw3", "tsmc.Conv", conv(24, 1, 1, 3, "activation", "relu"), x, b.random("wd1", 24, 1, 3, 3), b.random("bd1", 24))
	d2 := b.op("dw5", "tsmc.Conv", conv(24, 2, 2, 5, "activation", "silu"), d1, b.random("wd2", 24, 1, 5, 5), b.random("bd2", 24))
	p := b.op("project", "tsmc.Conv", conv(1, 1, 0, 1), d2, b.random("wp", 16, 24, 1, 1), b.random("bp", 16))
	b.Output(p)
	return b.Graph(t)
}

// testTunedPackage generates g with farPlanner's plans for its planned
// layers (which must be layers, by kind), twice to the same bytes, and
// runs the package's tests: its data sets from the interpreter, and the
// same bits at 1, 2 and 3 threads.
func testTunedPackage(t *testing.T, g *ir.Graph, layers string, wants []string) {
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(9, 5)), "set_a")
	fusedBlocks(t, g)
	planner := &farPlanner{}
	pkg, err := Generate(g, Options{Package: "tuned", DataSets: sets, Tuning: planner})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(planner.asked, " "); got != layers {
		t.Errorf("planned layers %q, want %q", got, layers)
	}
	again, err := Generate(g, Options{Package: "tuned", DataSets: sets, Tuning: &farPlanner{}})
	if err != nil {
		t.Fatal(err)
	}
	src := string(pkg.Files["model.go"])
	if src != string(again.Files["model.go"]) {
		t.Error("two generations with the same records differ")
	}
	for _, want := range append(wants, ".For(p.Threads())") {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	if out := goTestPackage(t, pkg, "-run", "TestDataSets|TestThreadCounts", "-v"); !strings.Contains(out, "--- PASS: TestThreadCounts") {
		t.Fatalf("go test ran no TestThreadCounts:\n%s", out)
	}
}
