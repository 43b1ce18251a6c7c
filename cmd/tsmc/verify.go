package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/passes"
)

// verifyReport is the -json form of tsmc verify.
type verifyReport struct {
	Model    string          `json:"model"`
	Engine   string          `json:"engine"`
	RTol     float64         `json:"rtol"`
	DataSets []dataSetReport `json:"data_sets"`
	Passed   int             `json:"passed"`
	Failed   int             `json:"failed"`
}

type dataSetReport struct {
	Dir     string             `json:"dir"`
	Passed  bool               `json:"passed"`
	MaxErr  float64            `json:"max_rel_err"`
	Outputs map[string]float64 `json:"outputs,omitempty"`
	Error   string             `json:"error,omitempty"`
	Millis  float64            `json:"ms"`
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	engine := fs.String("engine", "compiled", "engine that runs the model: compiled (generate the Go package, build and run it) or interp (the reference interpreter)")
	rtol := fs.Float64("rtol", 1e-4, "largest accepted relative error, max|got-want|/max|want|")
	asJSON := fs.Bool("json", false, "print one JSON object")
	runPasses := fs.Bool("passes", true, "check the graph the optimisation pipeline leaves; -passes=false checks it as imported (interp only)")
	shapes := addShapeFlag(fs)
	builder := addBuildFlags(fs)
	tuned := addTuningFlag(fs)
	if err := parse(fs, args, 1, "MODEL.onnx"); err != nil {
		return err
	}
	var newEngine tsmc.NewEngine
	switch *engine {
	case "interp":
		newEngine = tsmc.InterpEngine
	case "compiled":
		if !*runPasses {
			return usageError{"-passes=false needs -engine interp: code is generated from the optimised graph"}
		}
		b, err := builder()
		if err != nil {
			return err
		}
		if b.Tuning, err = tuned(); err != nil {
			return err
		}
		newEngine = b.Engine
	default:
		return usageError{fmt.Sprintf("unknown engine %q (compiled or interp)", *engine)}
	}
	path := fs.Arg(0)
	opts := tsmc.VerifyOptions{Shapes: shapes, RTol: *rtol, DataSets: fs.Args()[1:], Engine: newEngine}
	if *runPasses {
		opts.Transform = func(g *ir.Graph) error { return passes.Run(g, passes.Options{}) }
	}
	results, err := tsmc.Verify(path, opts)
	if err != nil {
		return err
	}
	rep := verifyReport{Model: path, Engine: *engine, RTol: *rtol}
	for _, r := range results {
		d := dataSetReport{Dir: r.Dir, Passed: r.Passed, MaxErr: r.MaxErr, Millis: float64(r.Duration.Microseconds()) / 1000}
		if r.Err != nil {
			d.Error = r.Err.Error()
		} else {
			d.Outputs = map[string]float64{}
			for _, o := range r.Outputs {
				d.Outputs[o.Name] = o.RelErr
			}
		}
		if r.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
		rep.DataSets = append(rep.DataSets, d)
		if !*asJSON {
			printDataSet(stdout, r, *rtol)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	}
	if rep.Failed > 0 {
		return errFailed
	}
	return nil
}

func printDataSet(w io.Writer, r tsmc.DataSetResult, rtol float64) {
	name := filepath.Base(r.Dir)
	switch {
	case r.Err != nil:
		fmt.Fprintf(w, "FAIL %s: %v\n", name, r.Err)
	default:
		status := "ok  "
		if !r.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: max rel err %.3g (rtol %.3g)", status, name, r.MaxErr, rtol)
		for _, o := range r.Outputs {
			if len(r.Outputs) > 1 || !r.Passed {
				fmt.Fprintf(w, " %s=%.3g", o.Name, o.RelErr)
			}
		}
		fmt.Fprintf(w, " %.0f ms\n", float64(r.Duration.Microseconds())/1000)
	}
}
