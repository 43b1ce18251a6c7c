package tsmc

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

// FirstDataSet loads the first test_data_set_* folder beside a model and
// returns it with its folder; nil and "" when there is none.
func FirstDataSet(modelPath string) (*onnx.DataSet, string, error) {
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

// BenchInputs returns the inputs a benchmark runs g on, by name: those of
// the data set when one is given (they must fit the graph's shapes), else
// deterministic pseudo-random values in [-1, 1).
func BenchInputs(g *ir.Graph, ds *onnx.DataSet) (map[string]*ir.Tensor, error) {
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
	ordered, err := dataSetInGraphOrder(g, ds)
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

// StateFeedback pairs the state outputs of a streaming model with the
// state inputs they feed on the next call (output name to input name). A
// stateful temporal shift (fused into a conv or not) reads its previous
// state from a graph input S and its current frames from X; the new state
// is the graph output of S's shape sliced from that same X. Failing that
// structure, the one unpaired output of S's shape is taken.
func StateFeedback(g *ir.Graph) map[string]string {
	producers := g.Producers()
	isInput := map[*ir.Value]bool{}
	for _, in := range g.Inputs {
		isInput[in] = true
	}
	feedback := map[string]string{}
	used := map[*ir.Value]bool{}
	var unpaired []*ir.Value
	for _, n := range g.Nodes {
		state := stateInput(n)
		if state == nil || !isInput[state] {
			continue
		}
		var match *ir.Value
		for _, o := range g.Outputs {
			if p := producers[o]; p != nil && !used[o] && len(p.Inputs) > 0 && p.Inputs[0] == n.Inputs[0] && o.Shape.Equal(state.Shape) {
				match = o
				break
			}
		}
		if match == nil {
			unpaired = append(unpaired, state)
			continue
		}
		used[match] = true
		feedback[match.Name] = state.Name
	}
	for _, state := range unpaired {
		var cands []*ir.Value
		for _, o := range g.Outputs {
			if !used[o] && o.Shape.Equal(state.Shape) {
				cands = append(cands, o)
			}
		}
		if len(cands) == 1 {
			used[cands[0]] = true
			feedback[cands[0].Name] = state.Name
		}
	}
	return feedback
}

// stateInput returns the previous-state input of a stateful shift, or nil.
func stateInput(n *ir.Node) *ir.Value {
	if n.Domain != passes.Domain {
		return nil
	}
	switch n.Op {
	case passes.OpTemporalShift:
		return n.Input(1)
	case passes.OpConv:
		return n.Input(4)
	}
	return nil
}

// ClipFrames returns how many frames one run of g processes (N*T, the
// leading dimension of the first temporally shifted tensor) and the
// segment count T; zeros when g has no temporal shift.
func ClipFrames(g *ir.Graph) (frames, segments int) {
	for _, n := range g.Nodes {
		s, ok, err := passes.ShiftOf(n)
		if !ok || err != nil || len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Inputs[0].Shape) == 0 {
			continue
		}
		return n.Inputs[0].Shape[0], s.Segments
	}
	return 0, 0
}

// Timings summarises run times in milliseconds.
type Timings struct {
	MedianMs, MinMs float64
}

// SummarizeTimes returns the median (the mean of the middle two for an
// even count) and the minimum of run times; zeros for none.
func SummarizeTimes(ms []float64) Timings {
	if len(ms) == 0 {
		return Timings{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + med) / 2
	}
	return Timings{MedianMs: med, MinMs: s[0]}
}
