// Command ortsets writes ONNX test data sets whose expected outputs come
// from onnxruntime: for calibrating tsmc quantize and for checking tsmc
// verify against onnxruntime on quantised models.
//
//	go run ./internal/cmd/ortsets -n 8 -o DIR MODEL.onnx
//	go run ./internal/cmd/ortsets -inputs SRCDIR -o DIR MODEL.onnx
//
// With -n it makes N sets of random inputs in the range of TSM's inputs:
// frames of smooth random images normalised with ImageNet's mean and
// standard deviation. With -inputs it takes the inputs of SRCDIR's
// test_data_set_* folders. Either way each set's outputs are
// onnxruntime's, written as DIR/test_data_set_K. An online model (whose
// state inputs pair with outputs, found by lowering the float model given
// with -float, default MODEL itself) runs the sets as one sequence: set 0
// with zero states (or SRCDIR's), every later set fed the states that
// onnxruntime returned for the set before.
//
// It needs onnxruntime (npm ci --prefix internal/ort, or ORT_NODE_MODULES).
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

func main() {
	n := flag.Int("n", 0, "make `N` sets of random inputs")
	inputs := flag.String("inputs", "", "take the inputs of the test_data_set_* folders in `SRCDIR`")
	out := flag.String("o", "", "write the sets into `DIR`")
	float := flag.String("float", "", "find the online model's state pairs in this float `MODEL` (default: the model itself)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" || (*n > 0) == (*inputs != "") {
		fmt.Fprintln(os.Stderr, "usage: ortsets (-n N | -inputs SRCDIR) -o DIR [-float MODEL] [-seed S] MODEL.onnx")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *float, *inputs, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "ortsets:", err)
		os.Exit(1)
	}
}

func run(model, out, float, inputs string, n int, seed uint64) error {
	g, err := tsmc.Load(model, nil)
	if err != nil {
		return err
	}
	if float == "" {
		float = model
	}
	fg, err := tsmc.Optimize(float, nil, nil)
	if err != nil {
		return err
	}
	states, err := codegen.StreamStates(fg)
	if err != nil {
		return fmt.Errorf("pairing the states of %s: %w", float, err)
	}
	var sets []map[string]*ir.Tensor
	if inputs != "" {
		dirs, err := onnx.DataSetDirs(inputs)
		if err != nil {
			return err
		}
		for _, d := range dirs {
			ds, err := onnx.LoadDataSet(d)
			if err != nil {
				return err
			}
			ordered, err := tsmc.DataSetInGraphOrder(g, ds)
			if err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
			feeds := map[string]*ir.Tensor{}
			for i, in := range g.Inputs {
				feeds[in.Name] = ordered.Inputs[i]
			}
			sets = append(sets, feeds)
		}
	} else {
		rng := rand.New(rand.NewPCG(seed, 7))
		isState := map[string]bool{}
		for _, st := range states {
			isState[st.Input] = true
		}
		for range n {
			feeds := map[string]*ir.Tensor{}
			for _, in := range g.Inputs {
				t, err := ir.NewTensor(ir.Float32, in.Shape)
				if err != nil {
					return err
				}
				if !isState[in.Name] {
					frames(rng, t)
				}
				feeds[in.Name] = t
			}
			sets = append(sets, feeds)
		}
	}
	var prev map[string][]float32
	for k, feeds := range sets {
		if prev != nil {
			for _, st := range states {
				feeds[st.Input] = ir.Float32s(feeds[st.Input].Shape, prev[st.Output])
			}
		}
		res, err := ort.Run(ort.Request{Model: model, Inputs: feeds, Threads: 1})
		if err != nil {
			return err
		}
		ds := &onnx.DataSet{}
		for _, in := range g.Inputs {
			ds.InputNames = append(ds.InputNames, in.Name)
			ds.Inputs = append(ds.Inputs, feeds[in.Name])
		}
		for _, o := range g.Outputs {
			v, ok := res.Outputs[o.Name]
			if !ok || len(v) != o.Shape.Size() {
				return fmt.Errorf("onnxruntime gave %d values for output %q of shape %v", len(v), o.Name, o.Shape)
			}
			ds.OutputNames = append(ds.OutputNames, o.Name)
			ds.Outputs = append(ds.Outputs, ir.Float32s(o.Shape, v))
		}
		if err := onnx.WriteDataSet(filepath.Join(out, fmt.Sprintf("test_data_set_%d", k)), ds); err != nil {
			return err
		}
		prev = res.Outputs
	}
	fmt.Printf("wrote %d data sets into %s (%d states fed back)\n", len(sets), out, len(states))
	return nil
}

// frames fills t, [N, 3*T, H, W] or [N*T, 3, H, W], with frames of smooth
// random RGB images (random values on a coarse grid, bilinearly
// interpolated, in [0, 1]) normalised with ImageNet's mean and standard
// deviation, as TSM's preprocessing gives them.
func frames(rng *rand.Rand, t *ir.Tensor) {
	mean := [3]float64{0.485, 0.456, 0.406}
	std := [3]float64{0.229, 0.224, 0.225}
	h, w := t.Shape[len(t.Shape)-2], t.Shape[len(t.Shape)-1]
	planes := t.Len() / (h * w)
	const grid = 8
	for p := 0; p < planes; p++ {
		var coarse [grid + 1][grid + 1]float64
		for i := range coarse {
			for j := range coarse[i] {
				coarse[i][j] = rng.Float64()
			}
		}
		c := p % 3
		for y := 0; y < h; y++ {
			gy := float64(y) / float64(max(h-1, 1)) * grid
			y0 := min(int(gy), grid-1)
			fy := gy - float64(y0)
			for x := 0; x < w; x++ {
				gx := float64(x) / float64(max(w-1, 1)) * grid
				x0 := min(int(gx), grid-1)
				fx := gx - float64(x0)
				v := (1-fy)*((1-fx)*coarse[y0][x0]+fx*coarse[y0][x0+1]) + fy*((1-fx)*coarse[y0+1][x0]+fx*coarse[y0+1][x0+1])
				v = math.Round(v*255) / 255
				t.F32[(p*h+y)*w+x] = float32((v - mean[c]) / std[c])
			}
		}
	}
}
