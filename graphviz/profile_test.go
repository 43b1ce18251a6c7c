package graphviz

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/examples/online/jester"
	tiny "github.com/tsmc-go/tsmc/golden/tsm_tiny_official"
	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// profileRun profiles one run of a generated package (its Infer on zero
// inputs) as bench -profile does, and returns the kernels as a Profile.
func profileRun(t *testing.T, specs []runtime.TensorSpec, infer func(map[string][]float32) (map[string][]float32, error)) Profile {
	t.Helper()
	inputs := map[string][]float32{}
	for _, s := range specs {
		inputs[s.Name] = make([]float32, ir.Shape(s.Shape).Size())
	}
	runtime.StartProfile()
	_, err := infer(inputs)
	kernels := runtime.StopProfile()
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for _, k := range kernels {
		total += k.Time
	}
	p := Profile{RunMs: float64(total) / 1e6}
	for _, k := range kernels {
		ms := float64(k.Time) / 1e6
		p.Kernels = append(p.Kernels, Kernel{Name: k.Op, Calls: float64(k.Calls), Ms: ms, Percent: 100 * ms / p.RunMs, FLOPs: k.FLOPs})
	}
	return p
}

// checkAttribution checks that every kernel of a profile of g is
// attributed, and every node that runs a kernel has a time.
func checkAttribution(t *testing.T, g *ir.Graph, p Profile) map[*ir.Node]NodeTime {
	t.Helper()
	times, unclaimed, err := p.attribute(g)
	if err != nil {
		t.Fatal(err)
	}
	if unclaimed != 0 {
		t.Errorf("%.2f%% of the run in kernels no node claims", unclaimed)
	}
	sum := 0.0
	for _, n := range g.Nodes {
		planned, other := kernelsOf(n)
		nt, ok := times[n]
		if (planned != nil || other != nil) != ok {
			t.Errorf("%s runs kernels %v %v but has time %v (%v)", n.Describe(), planned, other, nt, ok)
		}
		sum += nt.Percent
	}
	if math.Abs(sum-100) > 1e-9 {
		t.Errorf("the nodes' shares add up to %g%%, want 100%%", sum)
	}
	return times
}

// TestProfileOfGoldenModel attributes a profile of the committed tiny
// model's generated package to its optimised graph, and refuses to
// attribute it to another model's.
func TestProfileOfGoldenModel(t *testing.T) {
	m, err := tiny.New(tiny.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := profileRun(t, tiny.InputSpecs, m.Infer)
	g := optimised(t, filepath.Join("..", "testdata", "tsm_tiny_official", "model.onnx"))
	times := checkAttribution(t, g, p)
	if _, ok := times[g.Nodes[1]]; !ok || g.Nodes[1].OpName() != "tsmc.Conv" {
		t.Errorf("the stem %s has no time", g.Nodes[1].Describe())
	}
	other := optimised(t, filepath.Join("..", "testdata", "tsm_tiny_mmaction", "model.onnx"))
	var buf bytes.Buffer
	err = Write(&buf, other, Options{Profile: p})
	if err == nil || !strings.Contains(err.Error(), "was the profile made from this model") {
		t.Errorf("a profile of another model: got error %v, want one saying it does not fit", err)
	}

	dot := draw(t, g, Options{Profile: p})
	if got := strings.Count(dot, "% of a run"); got != len(times) {
		t.Errorf("%d nodes labelled with their time, want %d", got, len(times))
	}
	render(t, dot)
}

// TestProfileOfOnlineModel attributes a profile of the tiny online model
// (examples/online/jester): the state Slices run copies, the Dense an
// average pool before its dense kernel.
func TestProfileOfOnlineModel(t *testing.T) {
	m, err := jester.New(jester.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := profileRun(t, jester.InputSpecs, m.Infer)
	g := optimised(t, filepath.Join("..", "testdata", "tsm_tiny_online", "model.onnx"))
	checkAttribution(t, g, p)
}

// TestProfileMergedKernels checks the attribution of kernels the runtime
// merges: slices a and b of one size share one copy entry, c of another
// size has its own. The profile cannot tell whether b is c's size, so
// b's and c's times are marked as guesses; a's share is known.
func TestProfileMergedKernels(t *testing.T) {
	b := irtest.New(map[string]int64{"": 13})
	ints := func(name string, v int64) *ir.Value { return ir.NewConst(name, ir.Int64s(ir.Shape{1}, []int64{v})) }
	x := b.Input("x", 1, 8, 4, 4)
	slice := func(name string, end int64) *ir.Value {
		return b.Node(name, "", "Slice", nil, x, ints(name+"_s", 0), ints(name+"_e", end), ints(name+"_a", 1))
	}
	b.Output(slice("a", 2), slice("b", 2), slice("c", 4))
	g := b.Graph(t)
	p := Profile{RunMs: 1, Kernels: []Kernel{
		{Name: "copy channels 1x[2 of 8 -> 2,16]", Calls: 2, Ms: 0.5, Percent: 50},
		{Name: "copy channels 1x[4 of 8 -> 4,16]", Calls: 1, Ms: 0.5, Percent: 50},
	}}
	times := checkAttribution(t, g, p)
	a, bt, c := times[g.Nodes[0]], times[g.Nodes[1]], times[g.Nodes[2]]
	if a != (NodeTime{0.25, 25, true}) || !bt.Shared || !c.Shared || bt.Percent+c.Percent != 75 {
		t.Errorf("times a %+v, b %+v, c %+v: want a 25%% of a shared kernel, b and c marked guesses with 75%%", a, bt, c)
	}
}
