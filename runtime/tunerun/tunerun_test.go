package tunerun

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/runtime"
)

func smallWorkloads() []Workload {
	pads := func(s runtime.ConvShape) *runtime.ConvShape {
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = 1, 1, 1, 1
		return &s
	}
	shift := &runtime.TemporalShift{Segments: 2, Ranges: []runtime.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}}
	dw := pads(runtime.ConvShape{Frames: 2, Cin: 24, Cout: 24, Group: 24, H: 8, W: 8, KH: 3, KW: 3})
	return []Workload{
		{Op: OpConv, Shape: pads(runtime.ConvShape{Frames: 2, Cin: 16, H: 8, W: 8, Cout: 24, KH: 3, KW: 3}), Act: "relu", Residual: true, Shift: shift},
		{Op: OpConv, Shape: &runtime.ConvShape{Frames: 2, Cin: 16, H: 7, W: 7, Cout: 32, KH: 1, KW: 1}, Act: "clip(0,6)"},
		{Op: OpDepthwise, Shape: dw, Act: "clip(0,6)"},
		{Op: OpBlock, Expand: &runtime.ConvShape{Frames: 2, Cin: 8, H: 8, W: 8, Cout: 24, KH: 1, KW: 1}, Shape: dw,
			Project: &runtime.ConvShape{Frames: 2, Cin: 24, H: 8, W: 8, Cout: 8, KH: 1, KW: 1}, Act: "clip(0,6);clip(0,6);none", Residual: true},
		{Op: OpDense, Dense: &DenseShape{Batch: 4, In: 40, Out: 70}},
		// a stem with its max pool fused
		{Op: OpConv, Shape: &runtime.ConvShape{Frames: 2, Cin: 3, H: 20, W: 18, Cout: 40, KH: 7, KW: 7, StrideH: 2, StrideW: 2,
			PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}, Act: "relu",
			Pool: &runtime.PoolShape{Planes: 80, H: 10, W: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	}
}

// TestRun tunes small workloads and checks that every result names a
// plan its layer accepts, on this CPU and thread count.
func TestRun(t *testing.T) {
	ws := smallWorkloads()
	req := Request{Threads: 2, BudgetMs: 1, FlushBytes: 1 << 20, Workloads: ws}
	var events []Event
	err := Run(req, func(e Event) error {
		// the events go through JSON as the program prints them
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		events = append(events, back)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(ws)+1 || len(events[0].Estimate) != len(ws) || events[0].Rounds != MinRounds {
		t.Fatalf("events %+v: want the estimate (minimal rounds for a 1 ms budget) and %d results", events, len(ws))
	}
	pool := runtime.NewPool(2)
	defer pool.Close()
	for i, e := range events[1:] {
		r := e.Result
		if r == nil || r.Index != i || r.Error != "" || r.ISA != runtime.ISA() || r.Threads != 2 || r.CPU == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
		// a plan other than the default is kept only when faster; both
		// times are rounded to 0.1 µs, so on the tiniest layers they may
		// then read the same
		def := r.Plan == runtime.Plan{}
		if r.Measured < 2 || r.DefaultMs <= 0 || r.Ms <= 0 || def && r.Ms != r.DefaultMs || !def && r.Ms > r.DefaultMs {
			t.Errorf("%v: result %+v", ws[i], r)
		}
		b, err := NewBench(ws[i], 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Time(pool, []runtime.Plan{r.Plan}, 1); err != nil {
			t.Errorf("%v: the tuned plan %v does not build: %v", ws[i], r.Plan, err)
		}
	}
}

// TestRunRejects checks that a request the program cannot run is an
// error naming the workload.
func TestRunRejects(t *testing.T) {
	bad := Workload{Op: OpConv, Shape: &runtime.ConvShape{Frames: 1, Cin: 3, H: 2, W: 2, Cout: 4, KH: 5, KW: 5}}
	err := Run(Request{Threads: 1, Workloads: []Workload{bad}}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "workload 0") {
		t.Errorf("error %v, want one naming workload 0", err)
	}
	if err := Run(Request{Threads: -1}, func(Event) error { return nil }); err == nil {
		t.Error("threads -1: no error")
	}
}

// TestSearchCoversFields checks the search's stages on a convolution's
// plans: the first stage holds the zero plan and one plan per algorithm
// and kernel, and each field's neighbours vary that field only.
func TestSearchCoversFields(t *testing.T) {
	plans := smallWorkloads()[0].Plans()
	first := firstStage(plans)
	if len(first) < 3 || first[0] != (runtime.Plan{}) {
		t.Fatalf("first stage %v", first)
	}
	cur := runtime.Plan{Algo: runtime.AlgoGEMM}
	n := neighbours(plans, cur, searchFields[0])
	if len(n) < 3 {
		t.Fatalf("pixel-block neighbours of %v: %v", cur, n)
	}
	for _, p := range n {
		if p.PixelBlock == 0 && p != cur || p.Algo != runtime.AlgoGEMM || p.ChannelBlocks != 0 || p.Pack != "" {
			t.Errorf("neighbour %v of %v varies more than the pixel block", p, cur)
		}
	}
}

func TestKeyAndString(t *testing.T) {
	w := smallWorkloads()[0]
	v := w
	s := *w.Shape
	s.Group, s.StrideH, s.StrideW, s.DilationH, s.DilationW = 0, 0, 0, 0, 0
	v.Shape = &s
	if w.Key() != v.Key() {
		t.Errorf("keys of one shape differ:\n%s\n%s", w.Key(), v.Key())
	}
	if got := w.String(); !strings.Contains(got, "relu") || !strings.Contains(got, "residual") || !strings.Contains(got, "shifted") {
		t.Errorf("String() = %q", got)
	}
}

func TestParseAct(t *testing.T) {
	for _, a := range []runtime.Act{{}, runtime.Relu, runtime.Clip(0, 6), runtime.Clip(-1.5, 2.25), runtime.Sigmoid, runtime.SiLU,
		runtime.HardSigmoid(0.2, 0.5), runtime.HardSwish(1.0/6, 0.5)} {
		got, err := ParseAct(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAct(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseAct("gelu"); err == nil {
		t.Error("gelu: no error")
	}
}

func TestCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R45\n"
	if got := cpuModel(strings.NewReader(x86)); got != "AMD EPYC 9R45" {
		t.Errorf("x86: %q", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n"
	if got := cpuModel(strings.NewReader(arm)); !strings.HasSuffix(got, "CPU part 0xd0c") {
		t.Errorf("arm: %q", got)
	}
}

// TestWins checks confirm's verdict: a plan is kept only when every
// timing is undisturbed and it beats the faster zero-plan timing by more
// than tuneMargin and twice the two zero-plan timings' difference.
func TestWins(t *testing.T) {
	clean := func(ms float64) timing { return timing{ms: ms, clean: true} }
	for _, c := range []struct {
		before, tuned, after timing
		keep                 bool
		defaultMs            float64
	}{
		{clean(1), clean(0.9), clean(1), true, 1},
		{clean(1.02), clean(0.9), clean(1), true, 1},
		{clean(1), clean(0.98), clean(1), false, 1},       // within tuneMargin
		{clean(1.06), clean(0.9), clean(1), false, 1},     // within twice the zero plan's spread
		{clean(1.2), clean(0.55), clean(1), true, 1},      // beyond it
		{clean(1), timing{ms: 0.5}, clean(1), false, 1},   // the plan disturbed
		{timing{ms: 0.9}, clean(0.5), clean(1), false, 1}, // a zero-plan timing disturbed
		{clean(1), clean(1.1), clean(1), false, 1},        // slower
		{timing{ms: 0.8}, clean(0.5), clean(1), false, 1}, // the undisturbed zero-plan timing counts
	} {
		keep, ms, def := wins(c.before, c.tuned, c.after)
		if keep != c.keep || ms != c.tuned.ms || def != c.defaultMs {
			t.Errorf("wins(%v, %v, %v) = %v, %v, %v; want %v, %v, %v", c.before, c.tuned, c.after, keep, ms, def, c.keep, c.tuned.ms, c.defaultMs)
		}
	}
}
