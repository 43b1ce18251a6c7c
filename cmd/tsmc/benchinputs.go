package main

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/ops"
)

// firstDataSet loads the first test_data_set_* folder beside a model and
// returns it with its folder; nil and "" when there is none.
func firstDataSet(modelPath string) (*onnx.DataSet, string, error) {
	dirs, err := onnx.DataSetDirs(filepath.Dir(modelPath))
	if err != nil || len(dirs) == 0 {
		return nil, "", err
	}
	ds, err := onnx.LoadDataSet(dirs[0])
	if err != nil {
		return nil, "", err
	}
	return ds, dirs[0], nil
}

// benchInputs returns the inputs a benchmark runs g on, by name: those of
// the data set when one is given (they must fit the graph's shapes), else
// deterministic pseudo-random values in [-1, 1).
func benchInputs(g *ir.Graph, ds *onnx.DataSet) (map[string]*ir.Tensor, error) {
	inputs := map[string]*ir.Tensor{}
	if ds == nil {
		rng := rand.New(rand.NewSource(1))
		for _, in := range g.Inputs {
			if in.DType != ir.Float32 {
				return nil, fmt.Errorf("input %q is %v; only float32 inputs can be made up", in.Name, in.DType)
			}
			v := make([]float32, in.Shape.Size())
			for i := range v {
				v[i] = 2*rng.Float32() - 1
			}
			inputs[in.Name] = ir.Float32s(in.Shape.Clone(), v)
		}
		return inputs, nil
	}
	ordered, err := tsmc.DataSetInGraphOrder(g, ds)
	if err != nil {
		return nil, err
	}
	for i, in := range g.Inputs {
		t := ordered.Inputs[i]
		if t == nil {
			return nil, fmt.Errorf("the data set has no input %q", in.Name)
		}
		if !t.Shape.Equal(in.Shape) {
			return nil, fmt.Errorf("the data set's input %q has shape %v, the model is bound to %v", in.Name, t.Shape, in.Shape)
		}
		inputs[in.Name] = t
	}
	return inputs, nil
}

// clipFrames returns how many frames one run of g processes (N*T, the
// leading dimension of the first temporally shifted tensor) and the
// segment count T; zeros when g has no temporal shift.
func clipFrames(g *ir.Graph) (frames, segments int) {
	for _, n := range g.Nodes {
		s, ok, err := ops.ShiftOf(n)
		if !ok || err != nil || len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Inputs[0].Shape) == 0 {
			continue
		}
		return n.Inputs[0].Shape[0], s.Segments
	}
	return 0, 0
}

// timings summarises run times in milliseconds.
type timings struct {
	MedianMs, MinMs float64
}

// summarizeTimes returns the median (the mean of the middle two for an
// even count) and the minimum of run times; zeros for none.
func summarizeTimes(ms []float64) timings {
	if len(ms) == 0 {
		return timings{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + med) / 2
	}
	return timings{MedianMs: med, MinMs: s[0]}
}
