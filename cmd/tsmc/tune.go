package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/program"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
	"github.com/tsmc-go/tsmc/tuning"
)

func tuneFlags(fs *flag.FlagSet) verb {
	budget := fs.Duration("budget", tuning.DefaultBudget, "`DURATION` the measurements may take; each plan is timed in more rounds when it allows")
	out := fs.String("o", "", "records `FILE` to merge the new records into (created when absent; default: print them)")
	shapes := addShapeFlag(fs)
	builder := addBuildFlags(fs)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if *budget <= 0 {
			return usageError{fmt.Sprintf("-budget %v: want a positive duration", *budget)}
		}
		return tune(ctx, args[0], *budget, *out, shapes, builder, stdout, stderr)
	}
}

// tune tunes the model at path and prints or merges the records.
func tune(ctx context.Context, path string, budget time.Duration, out string, shapes shapeFlags, builder func() (*program.Builder, error), stdout, stderr io.Writer) error {
	b, err := builder()
	if err != nil {
		return err
	}
	var old []tuning.Record
	if out != "" {
		if old, err = tuning.ReadFile(out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	ds, _, err := firstDataSet(path)
	if err != nil {
		return err
	}
	g, err := tsmc.OptimizeContext(ctx, path, shapes, ds)
	if err != nil {
		return err
	}
	rep, err := tuning.Tune(g, tuning.Options{Context: ctx, Builder: b, Threads: b.Threads, Budget: budget,
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
	if rep.Busy > 0 || rep.Calls > 0 && rep.Disturbed*10 > rep.Calls {
		fmt.Fprintf(stderr, "busy      other processes took the CPUs: %d of %d signatures were timed with their workers waiting for their CPUs"+
			" a tenth of the time or more and get no record (the file keeps any it had), %d of %d timed calls ran so and were timed again;"+
			" tune on an idle machine\n",
			rep.Busy, rep.Signatures, rep.Disturbed, rep.Calls)
	}
	if out == "" {
		return tuning.Write(stdout, rep.Records)
	}
	all := tuning.Merge(old, rep.Records)
	if err := tuning.WriteFile(out, all); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "records   %s: %d records\n", out, len(all))
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
