package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Helpers of the tests that check the generic N-d kernels against the
// reference interpreter.

// oracleOpset is the opset the interpreter's kernels are run at: inputs,
// not attributes, carry axes, pads, starts and the like.
const oracleOpset = 18

// evalOp runs the interpreter's kernel of op (default domain) on inputs
// and returns its outputs; nil inputs are omitted optional ones.
func evalOp(t *testing.T, op string, attrs map[string]ir.Attr, outputs int, inputs ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	n := &ir.Node{Name: "oracle", Op: op, Attrs: attrs}
	for i, in := range inputs {
		var v *ir.Value
		if in != nil {
			v = &ir.Value{Name: fmt.Sprintf("in%d", i)}
		}
		n.Inputs = append(n.Inputs, v)
	}
	for i := range outputs {
		n.Outputs = append(n.Outputs, &ir.Value{Name: fmt.Sprintf("out%d", i)})
	}
	outs, err := interp.Eval(n, oracleOpset, inputs)
	if err != nil {
		t.Fatalf("interpreter: %v", err)
	}
	return outs
}

func f32Tensor(shape []int, v []float32) *ir.Tensor { return ir.Float32s(ir.Shape(shape), v) }

// i64Vec is a 1-D int64 tensor of ints.
func i64Vec(v ...int) *ir.Tensor {
	w := make([]int64, len(v))
	for i, x := range v {
		w[i] = int64(x)
	}
	return ir.Int64s(ir.Shape{len(w)}, w)
}

// boolTensor reads 0/1 floats as a bool tensor (nonzero is true).
func boolTensor(shape []int, v []float32) *ir.Tensor {
	b := make([]bool, len(v))
	for i, x := range v {
		b[i] = x != 0
	}
	return &ir.Tensor{DType: ir.Bool, Shape: ir.Shape(shape), B: b}
}

// floatsOf returns a tensor's elements as float32 (bools as 0/1).
func floatsOf(t *ir.Tensor) []float32 {
	if t.DType == ir.Bool {
		v := make([]float32, len(t.B))
		for i, b := range t.B {
			if b {
				v[i] = 1
			}
		}
		return v
	}
	return t.F32
}

// oraclePools returns pools of 1, 2 and 3 workers, closed when t ends.
func oraclePools(t *testing.T) []*Pool {
	ps := []*Pool{NewPool(1), NewPool(2), NewPool(3)}
	t.Cleanup(func() {
		for _, p := range ps {
			p.Close()
		}
	})
	return ps
}

// runPools runs op into a fresh output of n floats (filled with a marker
// value) on every pool, checks that every thread count gives the same
// bits, and returns the output.
func runPools(t *testing.T, name string, ps []*Pool, n int, op func(p *Pool, out []float32)) []float32 {
	t.Helper()
	var first []float32
	for _, p := range ps {
		out := make([]float32, n)
		for i := range out {
			out[i] = -7.25e30
		}
		op(p, out)
		if first == nil {
			first = out
		} else if !floatcmp.SameBits(first, out) {
			t.Errorf("%s: %d threads give other bits than 1", name, p.Threads())
		}
	}
	return first
}

// checkExact fails t unless got has want's shape and exactly its values
// (NaN matching NaN).
func checkExact(t *testing.T, name string, gotShape []int, got []float32, want *ir.Tensor) {
	t.Helper()
	if !want.Shape.Equal(ir.Shape(gotShape)) {
		t.Errorf("%s: shape %v, interpreter %v", name, gotShape, want.Shape)
		return
	}
	w := floatsOf(want)
	if len(got) != len(w) {
		t.Errorf("%s: %d values, interpreter %d", name, len(got), len(w))
		return
	}
	for i := range w {
		if got[i] != w[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(w[i]))) {
			t.Errorf("%s: element %d is %g, interpreter %g", name, i, got[i], w[i])
			return
		}
	}
}

// checkNear fails t unless got has want's shape and values within rel of
// it (floatcmp's relative error).
func checkNear(t *testing.T, name string, gotShape []int, got []float32, want *ir.Tensor, rel float64) {
	t.Helper()
	if !want.Shape.Equal(ir.Shape(gotShape)) {
		t.Errorf("%s: shape %v, interpreter %v", name, gotShape, want.Shape)
		return
	}
	if e := floatcmp.Slices(got, floatsOf(want)); e > rel {
		t.Errorf("%s: relative error %.3g > %.1g", name, e, rel)
	}
}

// randShape returns a shape of the given rank with dims in [1, maxDim],
// a quarter of them 1 (and, with zeros, now and then 0).
func randShape(rng *rand.Rand, rank, maxDim int, zeros bool) []int {
	s := make([]int, rank)
	for i := range s {
		switch {
		case zeros && rng.IntN(16) == 0:
			s[i] = 0
		case rng.IntN(4) == 0:
			s[i] = 1
		default:
			s[i] = 1 + rng.IntN(maxDim)
		}
	}
	return s
}

// randData returns n normal floats.
func randData(rng *rand.Rand, n int) []float32 { return randFloats(rng, n) }

// mustErr fails t unless err is an error.
func mustErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted", what)
	}
}
