package tuning

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/program"
	"github.com/tsmc-go/tsmc/runtime"
)

// TestTuneAndCompile tunes a bundled model with the tuning program, then
// builds it with the records and checks its outputs against the data set
// at 1 and 2 threads (the records are for 2), the same bits at both.
func TestTuneAndCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tuning program and a generated package")
	}
	tuneAndCompile(t, "tsm_tiny_mmaction", &program.Builder{})
}

// TestTuneArm64 does the same for arm64 under qemu user emulation: the
// tuning program and the generated code are cross-compiled and run
// through qemu-aarch64 (correctness only: emulated timings mean nothing).
func TestTuneArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tuning program and a generated package under qemu")
	}
	if _, err := exec.LookPath("qemu-aarch64"); err != nil {
		t.Skip("no qemu-aarch64 (Debian: apt-get install qemu-user)")
	}
	tuneAndCompile(t, "tsm_tiny_official", &program.Builder{GOARCH: "arm64", Exec: []string{"qemu-aarch64"}})
}

func tuneAndCompile(t *testing.T, model string, b *program.Builder) {
	path := filepath.Join("..", "testdata", model, "model.onnx")
	ds, err := onnx.LoadDataSet(filepath.Join(filepath.Dir(path), "test_data_set_0"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := tsmc.Optimize(path, nil, ds)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Tune(g, Options{Builder: b, Threads: 2, Budget: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Layers == 0 || rep.Signatures == 0 || len(rep.Records)+rep.Busy != rep.Signatures || rep.DefaultMs <= 0 {
		t.Fatalf("report %+v", rep)
	}
	isa := runtime.ISA()
	if b.GOARCH == "arm64" {
		isa = runtime.ISANEON
	}
	for _, r := range rep.Records {
		if r.Version != runtime.PlanVersion || r.Threads != 2 || r.ISA != isa || r.CPU == "" || r.Measured < 2 {
			t.Errorf("record %+v", r)
		}
	}
	tuned := *b
	tuned.Tuning = NewPlanner(rep.Records, "")
	p, err := tuned.Build(g)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ordered, err := tsmc.DataSetInGraphOrder(g, ds)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]*ir.Tensor{}
	for i, in := range g.Inputs {
		inputs[in.Name] = ordered.Inputs[i]
	}
	var first map[string]*ir.Tensor
	for _, threads := range []int{1, 2} {
		res, err := p.Bench(inputs, program.BenchOptions{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		for i, out := range g.Outputs {
			if e := floatcmp.Slices(res.Outputs[out.Name].F32, ordered.Outputs[i].F32); e > 1e-4 {
				t.Errorf("threads=%d: output %q relative error %.3g", threads, out.Name, e)
			}
			if first != nil && !floatcmp.SameBits(res.Outputs[out.Name].F32, first[out.Name].F32) {
				t.Errorf("output %q differs between 1 and 2 threads", out.Name)
			}
		}
		first = res.Outputs
	}
}
