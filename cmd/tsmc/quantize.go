package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/quantize"
)

func quantizeFlags(fs *flag.FlagSet) verb {
	var dirs dirFlags
	fs.Var(&dirs, "calibrate", "a calibration `DIR` (repeatable): its test_data_set_* folders in order, or itself when it holds input_N.pb; an online model runs each DIR as one sequence, states fed back")
	method := fs.String("method", string(quantize.MinMax), "how activation ranges are chosen, `METHOD`: minmax, percentile or entropy")
	percentile := fs.Float64("percentile", 99.999, "the share of values, `P` percent, that -method percentile keeps on each side")
	out := fs.String("o", "", "write the QDQ model to `OUT.onnx` (required)")
	verbose := fs.Bool("v", false, "report each calibration run on stderr")
	shapes := addShapeFlag(fs)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		switch {
		case *out == "":
			return usageError{"missing -o OUT.onnx"}
		case len(dirs) == 0:
			return usageError{"missing -calibrate DIR"}
		case !(*percentile > 0 && *percentile <= 100):
			return usageError{fmt.Sprintf("-percentile %v: want a share above 0 and at most 100", *percentile)}
		}
		switch quantize.Method(*method) {
		case quantize.MinMax, quantize.Percentile, quantize.Entropy:
		default:
			return usageError{fmt.Sprintf("-method %q: want minmax, percentile or entropy", *method)}
		}
		opts := quantize.FileOptions{Options: quantize.Options{Method: quantize.Method(*method), Percentile: *percentile}, Shapes: shapes}
		if *verbose {
			opts.Progress = func(format string, a ...any) { fmt.Fprintf(stderr, "calibration "+format+"\n", a...) }
		}
		path := args[0]
		rep, err := quantize.File(path, *out, dirs, opts)
		if err != nil {
			return err
		}
		printQuantize(stdout, path, *out, *method, rep)
		return nil
	}
}

func printQuantize(w io.Writer, path, out, method string, r *quantize.Report) {
	fmt.Fprintf(w, "model      %s\n", path)
	states := ""
	switch {
	case len(r.States) > 0:
		states = fmt.Sprintf(", %d states fed back", len(r.States))
	case r.StatesNote != "":
		states = " (" + r.StatesNote + ")"
	}
	fmt.Fprintf(w, "calibrate  %s over %d sequences, %d runs%s\n", method, r.Sequences, r.Runs, states)
	fmt.Fprintf(w, "quantised  %d convs, %d fully connected, %d residual sums; %d activation parameter sets; %d ReLU/Clip dropped as redundant\n",
		r.Convs, r.Denses, r.Adds, r.Activations, r.DroppedActivations)
	fmt.Fprintf(w, "weights    %s float32 -> %s int8/int32\n", byteSize(r.Float.ParamBytes), byteSize(r.Quantized.ParamBytes))
	var qops []string
	for op, n := range r.Quantized.Ops {
		if strings.HasPrefix(op, "tsmc.Q") || op == "QuantizeLinear" || op == "DequantizeLinear" {
			qops = append(qops, fmt.Sprintf("%s:%d", op, n))
		}
	}
	sort.Strings(qops)
	fmt.Fprintf(w, "tsmc runs  %s\n", strings.Join(qops, " "))
	fmt.Fprintf(w, "wrote      %s\n", out)
	a := r.Agreement
	fmt.Fprintf(w, "float32 vs int8 over the %d calibration runs (%d samples of %s):\n", a.Runs, a.Samples, a.Output)
	names := make([]string, 0, len(a.RelErr))
	for n := range a.RelErr {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprint(w, "  max relative error ")
	for _, n := range names {
		fmt.Fprintf(w, " %s=%.3g", n, a.RelErr[n])
	}
	fmt.Fprintln(w)
	pct := func(k int) float64 { return 100 * float64(k) / float64(max(a.Samples, 1)) }
	fmt.Fprintf(w, "  top-1 agreement     %d/%d (%.1f%%)\n", a.Top1, a.Samples, pct(a.Top1))
	fmt.Fprintf(w, "  top-5 agreement     %d/%d (%.1f%%): the float32 top class among the int8 top five\n", a.Top5, a.Samples, pct(a.Top5))
}

// printSteps adds to verify's line of a data set how far a quantised
// model's outputs are from the expected ones in quantisation steps (the
// rule that decides them).
func printSteps(w io.Writer, outputs []tsmc.OutputCheck) {
	worst, quantised := 0.0, 0
	for _, o := range outputs {
		if o.Step > 0 {
			quantised++
			worst = max(worst, o.Steps)
		}
	}
	if quantised > 0 {
		fmt.Fprintf(w, "; %d quantised outputs within %.3g steps", quantised, worst)
	}
}
