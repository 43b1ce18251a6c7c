package tuning

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

func convWorkload(cin int) tunerun.Workload {
	s := runtime.ConvShape{Frames: 2, Cin: cin, H: 8, W: 8, Cout: 16, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}.Normalized()
	return tunerun.Workload{Op: tunerun.OpConv, Shape: &s, Act: "relu"}
}

func record(w tunerun.Workload, isa string, threads int, cpu string, plan runtime.Plan) Record {
	return Record{Version: runtime.PlanVersion, Workload: w, Measurement: tunerun.Measurement{ISA: isa, Threads: threads, CPU: cpu,
		Plan: plan, Ms: 1, DefaultMs: 2, Measured: 5, Winograd: plan.Algo == runtime.AlgoWinograd}}
}

func sampleRecords() []Record {
	gemm := runtime.Plan{Algo: runtime.AlgoGEMM, PixelBlock: 64}
	return []Record{
		record(convWorkload(16), "avx512", 2, "cpu A", gemm),
		record(convWorkload(8), "avx512", 1, "cpu A", runtime.Plan{}),
		record(convWorkload(8), "avx2", 1, "cpu B", gemm),
		{Version: runtime.PlanVersion, Workload: tunerun.Workload{Op: tunerun.OpDense, Dense: &tunerun.DenseShape{Batch: 2, In: 8, Out: 40}},
			Measurement: tunerun.Measurement{ISA: "avx512", Threads: 2, CPU: "cpu A", Plan: runtime.Plan{Columns: 64}, Ms: 0.5, DefaultMs: 0.6, Measured: 3}},
	}
}

// TestWriteRead checks that records read back as written and that the
// file's bytes do not depend on the records' order.
func TestWriteRead(t *testing.T) {
	recs := sampleRecords()
	var a, b bytes.Buffer
	if err := Write(&a, recs); err != nil {
		t.Fatal(err)
	}
	rev := slices.Clone(recs)
	slices.Reverse(rev)
	if err := Write(&b, rev); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("the order of the records changes the file:\n%s\n%s", a.String(), b.String())
	}
	if n := strings.Count(a.String(), "\n"); n != len(recs) {
		t.Errorf("%d lines for %d records", n, len(recs))
	}
	back, err := Read(strings.NewReader("\n"+a.String()+"\n"), "records.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if err := Write(&c, back); err != nil || c.String() != a.String() {
		t.Errorf("read back and written again (%v):\n%s\nwant\n%s", err, c.String(), a.String())
	}
}

// TestReadErrors checks that bad lines are errors naming the file and line.
func TestReadErrors(t *testing.T) {
	var good bytes.Buffer
	Write(&good, sampleRecords()[:1])
	for _, bad := range []string{
		"{not json",
		`{"version":1,"workload":{"op":"fft","act":""},"isa":"avx512","threads":1,"cpu":"x","plan":{},"ms":1,"default_ms":1,"measured":1}`,
		strings.Replace(good.String(), `"threads":2`, `"threads":0`, 1),
		strings.Replace(good.String(), `"isa"`, `"isa_level"`, 1),
	} {
		_, err := Read(strings.NewReader(good.String()+bad+"\n"), "r.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), "r.jsonl:2:") {
			t.Errorf("%q: error %v, want one at r.jsonl:2", bad, err)
		}
	}
}

// TestMerge checks that a later record of one target replaces the
// earlier one and that others are kept.
func TestMerge(t *testing.T) {
	old := sampleRecords()
	newer := record(convWorkload(16), "avx512", 2, "cpu A", runtime.Plan{Algo: runtime.AlgoWinograd})
	other := record(convWorkload(16), "avx512", 2, "cpu C", runtime.Plan{})
	merged := Merge(old, []Record{newer, other})
	if len(merged) != len(old)+1 {
		t.Fatalf("%d records, want %d", len(merged), len(old)+1)
	}
	found := 0
	for _, r := range merged {
		if r.Workload.Key() == newer.Workload.Key() && r.CPU == "cpu A" {
			found++
			if r.Plan != newer.Plan {
				t.Errorf("merged record has plan %v, want the newer %v", r.Plan, newer.Plan)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d records of the replaced target", found)
	}
}

// TestPlanner checks the choice of records for generated code: the
// current version only, this CPU's record first, none for a layer whose
// records all name the default, and the plans of one layer at one level
// agreeing on Winograd with the plan of the most threads.
func TestPlanner(t *testing.T) {
	w := convWorkload(16)
	gemm := runtime.Plan{Algo: runtime.AlgoGEMM, PixelBlock: 64}
	wino := runtime.Plan{Algo: runtime.AlgoWinograd, Tiles: 64}
	old := record(w, "avx512", 4, "cpu A", gemm)
	old.Version = runtime.PlanVersion + 1
	recs := []Record{
		record(w, "avx512", 1, "cpu B", wino),
		record(w, "avx512", 1, "cpu A", runtime.Plan{Algo: runtime.AlgoGEMM, PixelBlock: 128}),
		record(w, "avx512", 2, "cpu A", gemm),
		record(w, "avx512", 8, "cpu Z", runtime.Plan{}),
		old,
		record(convWorkload(8), "avx512", 1, "cpu A", runtime.Plan{}),
	}
	got := NewPlanner(recs, "cpu A").Plans(w)
	want := runtime.TunedPlans{
		{ISA: "avx512", Threads: 1, Plan: runtime.Plan{Algo: runtime.AlgoGEMM, PixelBlock: 128}},
		{ISA: "avx512", Threads: 2, Plan: gemm},
		{ISA: "avx512", Threads: 8, Plan: runtime.Plan{}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("plans for cpu A:\n%v\nwant\n%v", got, want)
	}
	// Preferring cpu B, the 1-thread plan is Winograd while the 2-thread
	// plan of cpu A (the only one) is not: it becomes GEMM.
	got = NewPlanner(recs, "cpu B").Plans(w)
	if got[0].Plan != (runtime.Plan{Algo: runtime.AlgoGEMM}) {
		t.Errorf("1-thread plan for cpu B: %v, want GEMM with the default blocks (the 2-thread plan's class)", got[0].Plan)
	}
	if p := NewPlanner(recs, "cpu A").Plans(convWorkload(8)); p != nil {
		t.Errorf("a layer whose records name the default got %v", p)
	}
}

// TestPlannerDepthwise checks that a depthwise layer's plans at one level
// agree with the plan of the most threads on the tap kernel, which sums in
// another order than the direct 3x3 kernels, and that a shape only the
// tap kernel takes keeps its plans.
func TestPlannerDepthwise(t *testing.T) {
	dw := func(k int) tunerun.Workload {
		p := k / 2
		s := runtime.ConvShape{Frames: 2, Cin: 16, H: 9, W: 9, Cout: 16, Group: 16, KH: k, KW: k,
			PadTop: p, PadLeft: p, PadBottom: p, PadRight: p}.Normalized()
		return tunerun.Workload{Op: tunerun.OpDepthwise, Shape: &s, Act: "relu"}
	}
	taps4 := runtime.Plan{Algo: runtime.AlgoTaps, Channels: 4}
	recs := []Record{
		record(dw(3), "avx512", 1, "cpu A", taps4),
		record(dw(3), "avx512", 2, "cpu A", runtime.Plan{Channels: 8}),
		record(dw(3), "avx2", 1, "cpu A", runtime.Plan{Channels: 2}),
		record(dw(3), "avx2", 2, "cpu A", taps4),
		record(dw(5), "avx512", 1, "cpu A", taps4),
		record(dw(5), "avx512", 2, "cpu A", runtime.Plan{}),
	}
	p := NewPlanner(recs, "cpu A")
	want := runtime.TunedPlans{
		{ISA: "avx2", Threads: 1, Plan: runtime.Plan{Algo: runtime.AlgoTaps}},
		{ISA: "avx2", Threads: 2, Plan: taps4},
		{ISA: "avx512", Threads: 1, Plan: runtime.Plan{Algo: runtime.AlgoDirect}},
		{ISA: "avx512", Threads: 2, Plan: runtime.Plan{Channels: 8}},
	}
	if got := p.Plans(dw(3)); !slices.Equal(got, want) {
		t.Errorf("3x3 plans:\n%v\nwant\n%v", got, want)
	}
	want = runtime.TunedPlans{
		{ISA: "avx512", Threads: 1, Plan: taps4},
		{ISA: "avx512", Threads: 2, Plan: runtime.Plan{}},
	}
	if got := p.Plans(dw(5)); !slices.Equal(got, want) {
		t.Errorf("5x5 plans:\n%v\nwant\n%v", got, want)
	}
}
