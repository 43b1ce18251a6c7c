package passes

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/internal/testmodels"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// modelShifts is the number of temporal shifts each test model has (see
// ../shared/models/README.md).
var modelShifts = map[string]int{
	"tsm_tiny_official":                4,
	"tsm_tiny_mmaction":                2,
	"tsm_mobilenetv2_k400_8f_official": 10,
	"tsm_mobilenetv2_k400_8f_mmaction": 10,
	"tsm_mobilenetv2_jester_online":    10,
	"tsm_resnet50_k400_8f_mmaction":    16,
	"tsm_tiny_temporalpool":            4,
	"tsm_tiny_nonlocal":                6,
	"tsm_tiny_mobilenetv3":             3,
	"tsm_tiny_efficientnet":            2,
	"tsm_tiny_resnext_online":          5,
}

// spelledShiftOps are the ops exporters write shifts and BatchNorm with;
// none may survive the pipeline, except the Slices that cut an online
// model's next state out of its activations.
var spelledShiftOps = []string{"ScatterND", "Slice", "Concat", "Sub", "Pad", "Where", "Expand", "ConstantOfShape", "BatchNormalization"}

// modelDirs lists the model folders of testdata and of the shared models
// ($TSMC_MODELS, or /work/shared/models), labelled by where they are.
func modelDirs(t *testing.T) map[string]string {
	dirs := map[string]string{}
	add := func(label, root string) {
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Logf("no models under %s: %v", root, err)
			return
		}
		for _, e := range entries {
			dir := filepath.Join(root, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err == nil {
				dirs[label+"/"+e.Name()] = dir
			}
		}
	}
	add("testdata", filepath.Join("..", "testdata"))
	add("shared", testmodels.Dir())
	return dirs
}

// TestPipelineOnModels runs every model's test data sets through the
// interpreter before and after the pipeline: outputs must agree to 1e-5
// (and with the expected outputs to 1e-4), every shift must be recognised
// and fused into a conv, the ops exporters spell shifts and BatchNorm with
// must be gone and the constants must shrink to the weights.
func TestPipelineOnModels(t *testing.T) {
	dirs := modelDirs(t)
	if len(dirs) == 0 {
		t.Skipf("no models found (testdata, %s)", testmodels.Dir())
	}
	labels := make([]string, 0, len(dirs))
	for l := range dirs {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	for _, label := range labels {
		t.Run(label, func(t *testing.T) { checkPipelineOnModel(t, dirs[label]) })
	}
}

func checkPipelineOnModel(t *testing.T, dir string) {
	name := filepath.Base(dir)
	large := name == "tsm_resnet50_k400_8f_mmaction"
	if large && testing.Short() {
		t.Skipf("%s takes about a minute in the interpreter; skipped under -short", name)
	}
	g := irtest.Load(t, filepath.Join(dir, "model.onnx"))
	sets, err := onnx.DataSetDirs(dir)
	if err != nil || len(sets) == 0 {
		t.Fatalf("no test data sets in %s (%v)", dir, err)
	}
	if large {
		sets = sets[:1] // one clip is enough to compare, and each run is long
	}
	type run struct {
		inputs, want, before map[string]*ir.Tensor
	}
	runs := make([]run, len(sets))
	names := outputNames(g)
	for i, set := range sets {
		ds, err := onnx.LoadDataSet(set)
		if err != nil {
			t.Fatal(err)
		}
		r := run{inputs: map[string]*ir.Tensor{}, want: map[string]*ir.Tensor{}}
		for k, in := range g.Inputs {
			r.inputs[in.Name] = ds.Inputs[k]
		}
		for k, o := range names {
			r.want[o] = ds.Outputs[k]
		}
		start := time.Now()
		if r.before, err = interp.Run(g, r.inputs); err != nil {
			t.Fatalf("%s before the pipeline: %v", set, err)
		}
		t.Logf("%s: interpreter before the pipeline: %v", filepath.Base(set), time.Since(start).Round(time.Millisecond))
		runs[i] = r
	}

	constBefore := g.ComputeStats().ConstBytes
	recognised := -1
	start := time.Now()
	err = Run(g, Options{AfterPass: func(p Pass, g *ir.Graph) error {
		if p.Name == "recognize-shift" {
			recognised, _ = ShiftCounts(g)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := g.ComputeStats()
	materialized, fused := ShiftCounts(g)
	t.Logf("pipeline %v: shifts %d, fused %d, materialised %d, constants %d -> %d bytes (weights %d), ops %v",
		time.Since(start).Round(time.Millisecond), recognised, fused, materialized, constBefore, st.ConstBytes, st.ParamBytes, st.Ops)

	if want, ok := modelShifts[name]; ok {
		if recognised != want || fused != want || materialized != 0 {
			t.Errorf("shifts recognised %d, fused %d, left materialised %d; want %d, %d, 0", recognised, fused, materialized, want, want)
		}
	}
	checkNoSpelledShifts(t, g)
	if st.Ops["Conv"] > 0 {
		t.Errorf("%d ONNX Conv left; every conv should be a tsmc.Conv", st.Ops["Conv"])
	}
	// What is left besides the weights: shape arguments of a Reshape or two.
	if extra := st.ConstBytes - st.ParamBytes; extra > 1024 {
		t.Errorf("constants take %d bytes, %d more than the weights (%d)", st.ConstBytes, extra, st.ParamBytes)
	}

	for i, r := range runs {
		start := time.Now()
		after, err := interp.Run(g, r.inputs)
		if err != nil {
			t.Fatalf("%s after the pipeline: %v", sets[i], err)
		}
		for k, o := range g.Outputs {
			before, want, got := r.before[names[k]], r.want[names[k]], after[o.Name]
			if got == nil {
				t.Fatalf("%s: output %s missing after the pipeline", sets[i], o.Name)
			}
			eBefore, eWant := tensorcmp.RelErr(got, before), tensorcmp.RelErr(got, want)
			if eBefore > 1e-5 {
				t.Errorf("%s: output %s differs from the unoptimised graph's by %.3g (> 1e-5)", sets[i], o.Name, eBefore)
			}
			if eWant > 1e-4 {
				t.Errorf("%s: output %s differs from the expected output by %.3g (> 1e-4)", sets[i], o.Name, eWant)
			}
			if k == 0 {
				t.Logf("%s: after the pipeline %v, output %s: %.3g from before, %.3g from expected",
					filepath.Base(sets[i]), time.Since(start).Round(time.Millisecond), o.Name, eBefore, eWant)
			}
		}
	}
}

// checkNoSpelledShifts fails on any op of spelledShiftOps left in g, but
// for Slices that produce a graph output (an online model's next state).
func checkNoSpelledShifts(t *testing.T, g *ir.Graph) {
	t.Helper()
	for _, n := range g.Nodes {
		if !slices.Contains(spelledShiftOps, n.OpName()) {
			continue
		}
		if n.Op == "Slice" && g.IsOutput(n.Outputs[0]) {
			continue
		}
		t.Errorf("%s is left after the pipeline", n.Describe())
	}
}
