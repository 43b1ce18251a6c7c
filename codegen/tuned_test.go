package codegen

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// farPlanner tunes every layer to plans far from the default: the last
// candidate plan of its kind for one thread and one from the middle for
// two, both without Winograd (so that the layer's results do not depend
// on the thread count).
type farPlanner struct{ asked []string }

func (f *farPlanner) Plans(w tunerun.Workload) runtime.TunedPlans {
	f.asked = append(f.asked, w.Op)
	var plans []runtime.Plan
	for _, p := range w.Plans() {
		if p != (runtime.Plan{}) && p.Algo != runtime.AlgoWinograd {
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

// TestTunedPlansMatchInterpreter generates blocksGraph with tuned plans
// for every planned layer and runs the generated package's tests: its
// data sets from the interpreter, and the same bits at 1, 2 and 3 threads.
// The code is generated twice, to the same bytes.
func TestTunedPlansMatchInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	g := blocksGraph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(9, 5)), "set_a")
	fusedBlocks(t, g)
	planner := &farPlanner{}
	pkg, err := Generate(g, Options{Package: "tuned", DataSets: sets, Tuning: planner})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(planner.asked, " "); got != "block block conv block" {
		t.Errorf("planned layers %q, want the three blocks and the unfused expansion", got)
	}
	again, err := Generate(g, Options{Package: "tuned", DataSets: sets, Tuning: &farPlanner{}})
	if err != nil {
		t.Fatal(err)
	}
	src := string(pkg.Files["model.go"])
	if src != string(again.Files["model.go"]) {
		t.Error("two generations with the same records differ")
	}
	for _, want := range []string{"Tuning: 4 of the 4 planned layers take tuned plans", "runtime.NewConvPlan(", "runtime.NewInvertedResidualPlan(", ".For(p.Threads())"} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	dir, err := os.MkdirTemp(".", "_tuned")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := pkg.Write(filepath.Join(dir, "tuned")); err != nil {
		t.Fatal(err)
	}
	target := "./" + filepath.ToSlash(filepath.Join(dir, "tuned"))
	out, err := exec.Command("go", "test", "-count=1", "-run", "TestDataSets|TestThreadCounts", "-v", target).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestThreadCounts") {
		t.Fatalf("go test: %v\n%s", err, out)
	}
}
