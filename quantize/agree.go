package quantize

import (
	"fmt"
	"math"
	"sort"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// Agreement compares a float32 model with its quantised form over the
// same runs, each model feeding its own states back.
type Agreement struct {
	// Runs is the number of runs compared; Samples the rows of the
	// classification output over them.
	Runs, Samples int
	// Output is the classification output: the first output that is not
	// an online model's state.
	Output string
	// RelErr is, per output, the largest relative error over the runs:
	// max|int8 - float32| / max|float32| of a run.
	RelErr map[string]float64
	// Top1 counts samples whose int8 top class is the float32 one; Top5
	// those whose float32 top class is among the int8 top five.
	Top1, Top5 int
}

// Agree runs both graphs on the calibration sequences and compares them.
func Agree(float, quant *ir.Graph, calib []Sequence, states map[string]string) (*Agreement, error) {
	collect := func(g *ir.Graph) ([]map[string]*ir.Tensor, error) {
		var all []map[string]*ir.Tensor
		err := RunSequences(g, calib, states, nil, func(_, _ int, outs map[string]*ir.Tensor) error {
			all = append(all, outs)
			return nil
		})
		return all, err
	}
	want, err := collect(float)
	if err != nil {
		return nil, fmt.Errorf("float32 model: %w", err)
	}
	got, err := collect(quant)
	if err != nil {
		return nil, fmt.Errorf("quantised model: %w", err)
	}
	isState := map[string]bool{}
	for _, out := range states {
		isState[out] = true
	}
	a := &Agreement{Runs: len(want), RelErr: map[string]float64{}}
	for _, o := range float.Outputs {
		if !isState[o.Name] {
			a.Output = o.Name
			break
		}
	}
	for r := range want {
		for name, w := range want[r] {
			g := got[r][name]
			if g == nil || !g.Shape.Equal(w.Shape) || g.DType != ir.Float32 || w.DType != ir.Float32 {
				return nil, fmt.Errorf("run %d: output %q of the quantised model does not match the float32 one's %v%v", r, name, w.DType, w.Shape)
			}
			a.RelErr[name] = math.Max(a.RelErr[name], floatcmp.RelErr(len(w.F32), func(i int) float64 { return float64(g.F32[i]) }, func(i int) float64 { return float64(w.F32[i]) }))
		}
		if a.Output == "" {
			continue
		}
		w, g := want[r][a.Output], got[r][a.Output]
		classes := 1
		if len(w.Shape) > 0 {
			classes = w.Shape[len(w.Shape)-1]
		}
		for row := 0; row+classes <= len(w.F32) && classes > 0; row += classes {
			a.Samples++
			top := topK(w.F32[row:row+classes], 1)[0]
			mine := topK(g.F32[row:row+classes], 5)
			if mine[0] == top {
				a.Top1++
			}
			for _, c := range mine {
				if c == top {
					a.Top5++
					break
				}
			}
		}
	}
	return a, nil
}

// topK returns the indices of the k largest values, largest first (ties
// to the lower index).
func topK(v []float32, k int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx[:min(k, len(idx))]
}
