package tsmc

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"strings"

	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

// CompileOptions configures Compile.
type CompileOptions struct {
	// Shapes binds input shapes by name. Symbolic dimensions left unbound
	// are taken from the first data set, if any.
	Shapes map[string]ir.Shape
	// Package is the Go package name; "" derives it from the model name.
	Package string
	// DataSets are ONNX test data set folders (input_N.pb, output_N.pb)
	// for the generated golden test.
	DataSets []string
	// Tuning gives the tuned plans of the planned layers (tuning records,
	// tuning.NewPlanner); nil: the default rules' plans.
	Tuning codegen.Planner
	// Warn, when set, is told what is suspect but compiles (weights that
	// are NaN or infinite, see NonFiniteWeights), one message per call.
	Warn func(msg string)
}

// Compile reads a model, binds its shapes, runs the optimisation pipeline
// and generates its Go package in memory (Package.Write puts it on disk).
func Compile(modelPath string, opts CompileOptions) (*codegen.Package, error) {
	return CompileContext(context.Background(), modelPath, opts)
}

// CompileContext is Compile that stops, with ctx's error, when ctx is
// done: between the data sets it reads and between passes.
func CompileContext(ctx context.Context, modelPath string, opts CompileOptions) (*codegen.Package, error) {
	sets := make([]*onnx.DataSet, len(opts.DataSets))
	for i, dir := range opts.DataSets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if sets[i], err = onnx.LoadDataSet(dir); err != nil {
			return nil, err
		}
	}
	var sample *onnx.DataSet
	if len(sets) > 0 {
		sample = sets[0]
	}
	g, err := optimize(ctx, modelPath, opts.Shapes, sample, opts.Warn)
	if err != nil {
		return nil, err
	}
	cgOpts := codegen.Options{Package: opts.Package, Model: ModelName(modelPath), Tuning: opts.Tuning}
	if cgOpts.Package == "" {
		cgOpts.Package = codegen.PackageName(cgOpts.Model)
	}
	for i, ds := range sets {
		cds, err := DataSetInGraphOrder(g, ds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opts.DataSets[i], err)
		}
		cds.Name = filepath.Base(opts.DataSets[i])
		cgOpts.DataSets = append(cgOpts.DataSets, cds)
	}
	pkg, err := codegen.Generate(g, cgOpts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	return pkg, nil
}

// Optimize reads a model, binds its shapes (symbolic dimensions left
// unbound take their size from the sample data set's inputs, when given)
// and runs the optimisation pipeline: the graph code generation takes.
func Optimize(modelPath string, shapes map[string]ir.Shape, sample *onnx.DataSet) (*ir.Graph, error) {
	return optimize(context.Background(), modelPath, shapes, sample, nil)
}

// OptimizeContext is Optimize that stops between passes, with ctx's
// error, when ctx is done.
func OptimizeContext(ctx context.Context, modelPath string, shapes map[string]ir.Shape, sample *onnx.DataSet) (*ir.Graph, error) {
	return optimize(ctx, modelPath, shapes, sample, nil)
}

func optimize(ctx context.Context, modelPath string, shapes map[string]ir.Shape, sample *onnx.DataSet, warn func(string)) (*ir.Graph, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := onnx.Load(modelPath)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		for _, w := range NonFiniteWeights(g) {
			warn(modelPath + ": " + w)
		}
	}
	shapes = maps.Clone(shapes)
	if shapes == nil {
		shapes = map[string]ir.Shape{}
	}
	if sample != nil {
		for i, in := range g.Inputs {
			if _, bound := shapes[in.Name]; !bound && !in.Shape.Known() && i < len(sample.Inputs) {
				shapes[in.Name] = sample.Inputs[i].Shape
			}
		}
	}
	if err := Prepare(g, shapes); err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	stop := func(passes.Pass, *ir.Graph) error { return ctx.Err() }
	if err := passes.Run(g, passes.Options{AfterPass: stop}); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	return g, nil
}

// NonFiniteWeights describes each float constant of g (a weight, as the
// model stores it) that holds NaN or infinite values: its name, type and
// how many of its values are which. Such a model compiles, but every
// output the constant reaches is likely NaN.
func NonFiniteWeights(g *ir.Graph) []string {
	var msgs []string
	for _, v := range g.Constants() {
		t := v.Const
		if t.DType != ir.Float32 {
			continue
		}
		var nan, posInf, negInf int
		for _, x := range t.F32 {
			switch {
			case x != x:
				nan++
			case math.IsInf(float64(x), 1):
				posInf++
			case math.IsInf(float64(x), -1):
				negInf++
			}
		}
		if nan+posInf+negInf == 0 {
			continue
		}
		var parts []string
		for _, c := range []struct {
			n    int
			what string
		}{{nan, "NaN"}, {posInf, "+Inf"}, {negInf, "-Inf"}} {
			if c.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		msgs = append(msgs, fmt.Sprintf("weight %q (%s%v) holds %s among its %d values", v.Name, t.DType, t.Shape, strings.Join(parts, ", "), len(t.F32)))
	}
	return msgs
}

// DataSetInGraphOrder orders a data set's tensors as the graph's inputs
// and outputs, by the names stored in them where there are names (else by
// position): the form of Compile's golden data sets, and the inputs that
// run g. Outputs the data set does not give stay nil.
func DataSetInGraphOrder(g *ir.Graph, ds *onnx.DataSet) (codegen.DataSet, error) {
	order := func(what string, vs []*ir.Value, names []string, ts []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(ts) > len(vs) {
			return nil, fmt.Errorf("%d %ss, the model has %d", len(ts), what, len(vs))
		}
		out := make([]*ir.Tensor, len(vs))
		for i, t := range ts {
			at := i
			if names[i] != "" {
				at = -1
				for j, v := range vs {
					if v.Name == names[i] {
						at = j
					}
				}
				if at < 0 {
					return nil, fmt.Errorf("%s %d is named %q, which the model does not have", what, i, names[i])
				}
			}
			out[at] = t
		}
		return out, nil
	}
	ins, err := order("input", g.Inputs, ds.InputNames, ds.Inputs)
	if err != nil {
		return codegen.DataSet{}, err
	}
	outs, err := order("output", g.Outputs, ds.OutputNames, ds.Outputs)
	if err != nil {
		return codegen.DataSet{}, err
	}
	return codegen.DataSet{Inputs: ins, Outputs: outs}, nil
}

// ModelName names a model after its file: the folder name for the model
// zoo layout NAME/model.onnx, else the file name without its extension.
func ModelName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if base != "model" {
		return base
	}
	if abs, err := filepath.Abs(path); err == nil {
		if dir := filepath.Base(filepath.Dir(abs)); dir != string(filepath.Separator) {
			return dir
		}
	}
	return base
}
