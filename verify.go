package tsmc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// Engine runs one prepared graph on named inputs.
type Engine interface {
	Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error)
}

// EngineFunc adapts a function to Engine.
type EngineFunc func(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error)

// Run calls f.
func (f EngineFunc) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return f(inputs)
}

// NewEngine builds an engine for a prepared graph.
type NewEngine func(g *ir.Graph) (Engine, error)

// InterpEngine runs the graph with the reference interpreter.
func InterpEngine(g *ir.Graph) (Engine, error) {
	return EngineFunc(func(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
		return interp.Run(g, in)
	}), nil
}

// DefaultRTol is the largest relative error Verify accepts unless told
// otherwise.
const DefaultRTol = 1e-4

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Shapes binds input shapes; inputs left out with symbolic dims take
	// their shape from each data set.
	Shapes map[string]ir.Shape
	// RTol is the largest relative error accepted: 0 means DefaultRTol,
	// anything else must be finite and positive.
	RTol float64
	// DataSets are the folders to check; empty means every
	// test_data_set_* beside the model.
	DataSets []string
	// Engine runs the graph (default InterpEngine).
	Engine NewEngine
	// Transform, when set, rewrites each prepared graph before the engine
	// is built (the optimisation pipeline, for instance).
	Transform func(*ir.Graph) error
	// QuantSteps is the tolerance of a quantised model's outputs, in
	// quantisation steps (default 1): an output that the model computes by
	// a DequantizeLinear of one scale (then, maybe, reshapes and means)
	// passes when every element is within QuantSteps of that scale of the
	// expected one. Two int8 engines that agree but for rounding at
	// near-ties differ by a step; the relative error says nothing there.
	QuantSteps float64
}

// OutputCheck is the comparison of one output.
type OutputCheck struct {
	Name   string
	RelErr float64
	// Step is the quantisation step of a quantised output (0 for others)
	// and Steps the largest difference in steps.
	Step, Steps float64
}

// stepSlack absorbs the float32 rounding of dequantised values when a
// difference is counted in steps.
const stepSlack = 1e-4

// DataSetResult is the outcome of one data set.
type DataSetResult struct {
	Dir      string
	Outputs  []OutputCheck
	MaxErr   float64
	Passed   bool
	Err      error // set when the data set could not be run or compared
	Duration time.Duration
}

// Verify runs each data set of a model through an engine and compares every
// output with the expected one: relative error = max|got-want| / max|want|.
// It returns an error only when the model itself cannot be read; problems
// with one data set are reported in its result, and a data set without
// expected outputs fails (it would compare nothing). Engines that are
// io.Closers are closed before Verify returns.
func Verify(modelPath string, opts VerifyOptions) ([]DataSetResult, error) {
	return VerifyContext(context.Background(), modelPath, opts)
}

// VerifyContext is Verify that stops when ctx is done, returning the
// results of the data sets checked so far and ctx's error; engines should
// stop their runs on ctx too (program.Builder.EngineContext does).
func VerifyContext(ctx context.Context, modelPath string, opts VerifyOptions) ([]DataSetResult, error) {
	switch {
	case opts.RTol == 0:
		opts.RTol = DefaultRTol
	case !(opts.RTol > 0) || math.IsInf(opts.RTol, 1):
		return nil, fmt.Errorf("relative tolerance %v: want a finite number above 0", opts.RTol)
	}
	if opts.Engine == nil {
		opts.Engine = InterpEngine
	}
	if opts.QuantSteps == 0 {
		opts.QuantSteps = 1
	}
	dirs := opts.DataSets
	if len(dirs) == 0 {
		var err error
		dirs, err = onnx.DataSetDirs(filepath.Dir(modelPath))
		if err != nil {
			return nil, err
		}
		if len(dirs) == 0 {
			return nil, fmt.Errorf("%s: no test_data_set_* folders beside the model", modelPath)
		}
	}
	raw, err := onnx.Load(modelPath)
	if err != nil {
		return nil, err
	}
	v := &verifier{path: modelPath, opts: opts, inputs: raw.Inputs, engines: map[string]Engine{}, steps: map[string]float64{}}
	for _, o := range raw.Outputs {
		if s, ok := quantizationStep(raw, o); ok {
			v.steps[o.Name] = s
		}
	}
	defer v.close()
	var results []DataSetResult
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		start := time.Now()
		r := DataSetResult{Dir: dir}
		r.Outputs, r.Err = v.check(dir)
		r.Duration = time.Since(start)
		if err := ctx.Err(); err != nil {
			return results, err // a check cut short is no result
		}
		if r.Err == nil {
			r.Passed = true
			for _, o := range r.Outputs {
				r.MaxErr = math.Max(r.MaxErr, o.RelErr)
				switch {
				case o.Step > 0:
					r.Passed = r.Passed && o.Steps <= opts.QuantSteps+stepSlack
				case !(o.RelErr <= opts.RTol):
					r.Passed = false
				}
			}
		}
		results = append(results, r)
	}
	return results, nil
}

type verifier struct {
	path    string
	opts    VerifyOptions
	inputs  []*ir.Value // graph inputs as read, with symbolic dims
	engines map[string]Engine
	graphs  map[string]*ir.Graph
	// steps are the quantisation steps of quantised outputs, by name.
	steps map[string]float64
}

// close closes the engines that hold resources.
func (v *verifier) close() {
	for _, e := range v.engines {
		if c, ok := e.(io.Closer); ok {
			c.Close()
		}
	}
}

// check runs one data set and compares its outputs.
func (v *verifier) check(dir string) ([]OutputCheck, error) {
	ds, err := onnx.LoadDataSet(dir)
	if err != nil {
		return nil, err
	}
	if len(ds.Inputs) != len(v.inputs) {
		return nil, fmt.Errorf("%s: %d inputs, the model takes %d", dir, len(ds.Inputs), len(v.inputs))
	}
	if len(ds.Outputs) == 0 {
		return nil, fmt.Errorf("%s: no expected outputs (output_N.pb), so nothing to compare", dir)
	}
	inputs := map[string]*ir.Tensor{}
	shapes := map[string]ir.Shape{}
	for i, in := range v.inputs {
		t := ds.Inputs[i]
		if name := ds.InputNames[i]; name != "" && name != in.Name {
			return nil, fmt.Errorf("%s: input %d is named %q, the model's input %d is %q", dir, i, name, i, in.Name)
		}
		want, given := v.opts.Shapes[in.Name]
		if !given {
			want = in.Shape
		}
		if err := fitShape(t.Shape, want); err != nil {
			return nil, fmt.Errorf("%s: input %q: %v", dir, in.Name, err)
		}
		if t.DType != in.DType && in.DType != ir.Undefined {
			return nil, fmt.Errorf("%s: input %q has dtype %v, the model wants %v", dir, in.Name, t.DType, in.DType)
		}
		shapes[in.Name] = t.Shape
		inputs[in.Name] = t
	}
	eng, g, err := v.engine(shapes)
	if err != nil {
		return nil, err
	}
	outs, err := eng.Run(inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(ds.Outputs) > len(g.Outputs) {
		return nil, fmt.Errorf("%s: %d expected outputs, the model has %d", dir, len(ds.Outputs), len(g.Outputs))
	}
	var checks []OutputCheck
	for i, want := range ds.Outputs {
		name := g.Outputs[i].Name
		if n := ds.OutputNames[i]; n != "" {
			name = n
		}
		got, ok := outs[name]
		if !ok {
			return nil, fmt.Errorf("%s: the engine returned no output %q", dir, name)
		}
		e, err := RelativeError(got, want)
		if err != nil {
			return nil, fmt.Errorf("%s: output %q: %v", dir, name, err)
		}
		c := OutputCheck{Name: name, RelErr: e}
		if step, ok := v.steps[name]; ok {
			c.Step = step
			for j := 0; j < want.Len(); j++ {
				d := math.Abs(got.Float(j)-want.Float(j)) / step
				if d > c.Steps || math.IsNaN(d) {
					c.Steps = d
				}
			}
		}
		checks = append(checks, c)
	}
	return checks, nil
}

// engine returns the engine for one binding of input shapes, preparing the
// graph once per distinct binding.
func (v *verifier) engine(shapes map[string]ir.Shape) (Engine, *ir.Graph, error) {
	key := fmt.Sprint(shapes) // fmt prints a map sorted by key
	if v.graphs == nil {
		v.graphs = map[string]*ir.Graph{}
	}
	if e, ok := v.engines[key]; ok {
		return e, v.graphs[key], nil
	}
	g, err := Load(v.path, shapes)
	if err != nil {
		return nil, nil, err
	}
	if v.opts.Transform != nil {
		if err := v.opts.Transform(g); err != nil {
			return nil, nil, err
		}
	}
	e, err := v.opts.Engine(g)
	if err != nil {
		return nil, nil, err
	}
	v.engines[key], v.graphs[key] = e, g
	return e, g, nil
}

// fitShape checks a data set tensor against a model shape with -1 wildcards.
func fitShape(got, want ir.Shape) error {
	if want == nil {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("rank %d %v, the model wants rank %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if want[i] >= 0 && got[i] != want[i] {
			return fmt.Errorf("shape %v, the model wants %v (dimension %d differs)", got, want, i)
		}
	}
	return nil
}

// RelativeError is max|got-want| / max|want| (the absolute error when want
// is all zeros). Shapes must match; a NaN on one side only gives +Inf.
func RelativeError(got, want *ir.Tensor) (float64, error) {
	if !got.Shape.Equal(want.Shape) {
		return 0, fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	n := want.Len()
	if got.Len() != n {
		return 0, errors.New("element count differs from the shape")
	}
	return floatcmp.RelErr(n, got.Float, want.Float), nil
}

// stepThrough are the ops a quantised output may pass through after its
// DequantizeLinear and keep its step as the bound of a difference: they
// move values or average them.
var stepThrough = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true, "Identity": true,
	"Slice": true, "Gather": true, "ReduceMean": true, "GlobalAveragePool": true, "AveragePool": true,
}

// quantizationStep finds the quantisation step of output o of the graph
// as read: the scale of the per-tensor DequantizeLinear it comes from
// through data movement and means.
func quantizationStep(g *ir.Graph, o *ir.Value) (float64, bool) {
	producers := g.Producers()
	for v := o; ; {
		n := producers[v]
		switch {
		case n == nil || n.Domain != "" && n.Domain != "ai.onnx" && n.Domain != interp.MSDomain:
			return 0, false
		case n.Op == "DequantizeLinear":
			s := n.Input(1)
			if s == nil || !s.IsConst() || s.Const.DType != ir.Float32 || s.Const.Len() != 1 || !(s.Const.F32[0] > 0) {
				return 0, false
			}
			return float64(s.Const.F32[0]), true
		case stepThrough[n.Op] && n.Domain != interp.MSDomain:
			v = n.Input(0)
		default:
			return 0, false
		}
	}
}
