package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
	"github.com/tsmc-go/tsmc/tuning"
)

// tuneArgs is the usage line of tsmc tune.
const tuneArgs = "[-threads N] [-budget DURATION] [-o FILE] [-shape ...] [-goarch arm64 [-exec CMD]] MODEL.onnx"

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", stderr)
	budget := fs.Duration("budget", tuning.DefaultBudget, "time the measurements may take; each plan is timed in more rounds when it allows")
	out := fs.String("o", "", "records `FILE` to merge the new records into (created when absent; default: print them)")
	shapes := addShapeFlag(fs)
	builder := addBuildFlags(fs)
	if err := parse(fs, args, 1, "MODEL.onnx"); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Sprintf("one model at a time, got %d arguments", fs.NArg())}
	}
	if *budget < 0 {
		return usageError{fmt.Sprintf("-budget %v: want a positive duration", *budget)}
	}
	b, err := builder()
	if err != nil {
		return err
	}
	var old []tuning.Record
	if *out != "" {
		if old, err = tuning.ReadFile(*out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	path := fs.Arg(0)
	ds, _, err := firstDataSet(path)
	if err != nil {
		return err
	}
	g, err := tsmc.Optimize(path, shapes, ds)
	if err != nil {
		return err
	}
	rep, err := tuning.Tune(g, tuning.Options{Builder: b, Threads: b.Threads, Budget: *budget,
		Progress: stderr, Terminal: isTerminal(stderr)})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	faster := 0
	for _, r := range rep.Records {
		if r.Plan != (runtime.Plan{}) {
			faster++
		}
	}
	fmt.Fprintf(stderr, "tuned     %d planned layers (%d signatures) in %v, go build %v; %d plans beat the default\n",
		rep.Layers, rep.Signatures, rep.Measure.Round(time.Second), rep.Build.Round(100*time.Millisecond), faster)
	if rep.DefaultMs > 0 {
		fmt.Fprintf(stderr, "layers    %.2f ms per run with the default plans, %.2f ms tuned (%.0f%% less), as measured\n",
			rep.DefaultMs, rep.TunedMs, 100*(1-rep.TunedMs/rep.DefaultMs))
	}
	if *out == "" {
		return tuning.Write(stdout, rep.Records)
	}
	all := tuning.Merge(old, rep.Records)
	if err := tuning.WriteFile(*out, all); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "records   %s: %d records\n", *out, len(all))
	return nil
}

// isTerminal reports whether w is a terminal (the progress bar then
// redraws one line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// addTuningFlag registers -tuning on fs; the returned function reads the
// records file once the flags are parsed (nil: no records).
func addTuningFlag(fs *flag.FlagSet) func() (codegen.Planner, error) {
	file := fs.String("tuning", "", "tuning records `FILE` (tsmc tune): layers it has records for take the tuned plans")
	return func() (codegen.Planner, error) {
		if *file == "" {
			return nil, nil
		}
		recs, err := tuning.ReadFile(*file)
		if err != nil {
			return nil, err
		}
		return tuning.NewPlanner(recs, tunerun.CPUModel()), nil
	}
}
