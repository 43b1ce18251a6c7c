package main

import (
	"context"
	"encoding/json"
	"flag"
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
	Dir     string                `json:"dir"`
	Passed  bool                  `json:"passed"`
	MaxErr  jsonNumber            `json:"max_rel_err"`
	Outputs map[string]jsonNumber `json:"outputs,omitempty"`
	Error   string                `json:"error,omitempty"`
	Millis  float64               `json:"ms"`
}

func verifyFlags(fs *flag.FlagSet) verb {
	engine := fs.String("engine", "compiled", "which `ENGINE` runs the model: compiled (generate the Go package, build and run it) or interp (the reference interpreter)")
	rtol := positiveFlag(fs, "rtol", tsmc.DefaultRTol, "largest accepted relative error `R`, max|got-want|/max|want|")
	asJSON := fs.Bool("json", false, "print one JSON object")
	runPasses := fs.Bool("passes", true, "check the graph the optimisation pipeline leaves; -passes=false checks it as imported (interp only)")
	shapes := addShapeFlag(fs)
	builder := addBuildFlags(fs)
	tuned := addTuningFlag(fs)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		var newEngine tsmc.NewEngine
		switch *engine {
		case "interp":
			newEngine = interruptible(ctx, tsmc.InterpEngine)
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
			newEngine = b.EngineContext(ctx)
		default:
			return usageError{fmt.Sprintf("unknown engine %q (compiled or interp)", *engine)}
		}
		path := args[0]
		opts := tsmc.VerifyOptions{Shapes: shapes, RTol: *rtol, DataSets: args[1:], Engine: newEngine}
		if *runPasses {
			opts.Transform = func(g *ir.Graph) error {
				return passes.Run(g, passes.Options{AfterPass: func(passes.Pass, *ir.Graph) error { return ctx.Err() }})
			}
		}
		results, err := tsmc.VerifyContext(ctx, path, opts)
		if err != nil {
			return err
		}
		rep := verifyReport{Model: path, Engine: *engine, RTol: *rtol}
		for _, r := range results {
			d := dataSetReport{Dir: r.Dir, Passed: r.Passed, MaxErr: jsonNumber(r.MaxErr), Millis: float64(r.Duration.Microseconds()) / 1000}
			if r.Err != nil {
				d.Error = r.Err.Error()
			} else {
				d.Outputs = map[string]jsonNumber{}
				for _, o := range r.Outputs {
					d.Outputs[o.Name] = jsonNumber(o.RelErr)
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
}

// interruptible wraps an engine whose runs do not watch ctx (the
// interpreter) so that a run returns ctx's error as soon as ctx is done.
// The run itself is abandoned: it holds no files or processes, and tsmc
// exits right after.
func interruptible(ctx context.Context, newEngine tsmc.NewEngine) tsmc.NewEngine {
	return func(g *ir.Graph) (tsmc.Engine, error) {
		e, err := newEngine(g)
		if err != nil {
			return nil, err
		}
		return tsmc.EngineFunc(func(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
			type result struct {
				out map[string]*ir.Tensor
				err error
			}
			done := make(chan result, 1)
			go func() {
				out, err := e.Run(in)
				done <- result{out, err}
			}()
			select {
			case r := <-done:
				return r.out, r.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}), nil
	}
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
		printSteps(w, r.Outputs)
		fmt.Fprintf(w, " %.0f ms\n", float64(r.Duration.Microseconds())/1000)
	}
}
