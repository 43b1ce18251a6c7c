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

// The interpreter as the oracle of the GEMM, pooling and N-d convolution
// kernels: a test builds one node, runs it through interp.Eval and
// compares.

// interpOpset is the ai.onnx opset the oracle's nodes are evaluated at
// (dilations and ceil_mode of the pools need 10 and 19).
const interpOpset = 19

// interpEval evaluates a node of op with attrs on inputs (nil: an omitted
// optional input) and returns its first output.
func interpEval(t *testing.T, op string, attrs map[string]ir.Attr, inputs ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	n := &ir.Node{Name: "oracle", Op: op, Attrs: attrs, Outputs: []*ir.Value{{Name: "y"}}}
	for i, in := range inputs {
		var v *ir.Value
		if in != nil {
			v = &ir.Value{Name: fmt.Sprintf("x%d", i)}
		}
		n.Inputs = append(n.Inputs, v)
	}
	outs, err := interp.Eval(n, interpOpset, inputs)
	if err != nil {
		t.Fatalf("interpreter: %v", err)
	}
	return outs[0]
}

func tensorF32(shape []int, v []float32) *ir.Tensor { return ir.Float32s(ir.Shape(shape), v) }

func attrInts(v ...int) ir.Attr {
	a := ir.Attr{Kind: ir.AttrInts, Ints: []int64{}}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func attrInt(v int) ir.Attr       { return ir.Attr{Kind: ir.AttrInt, Int: int64(v)} }
func attrFloat(v float32) ir.Attr { return ir.Attr{Kind: ir.AttrFloat, Float: v} }

func attrBool(b bool) ir.Attr {
	if b {
		return attrInt(1)
	}
	return attrInt(0)
}

// offsetFloats returns n floats starting off floats (0..15) past a 64-byte
// boundary, filled with fill(i).
func offsetFloats(n, off int, fill func(i int) float32) []float32 {
	buf := AlignedFloats(n + off)[off:]
	for i := range buf {
		buf[i] = fill(i)
	}
	return buf
}

// randOffsetFloats is offsetFloats of normal random values at a random
// offset.
func randOffsetFloats(rng *rand.Rand, n int) []float32 {
	return offsetFloats(n, rng.IntN(AlignFloats), func(int) float32 { return float32(rng.NormFloat64()) })
}

// oracleTol is the relative error (floatcmp) allowed against the
// interpreter: the kernels sum in float32 in another order (blocked
// fused multiply-adds, separable window sums) than the interpreter
// (float32 axpy rows, float64 window sums), which over K <= 1000 terms
// of random normal data stays below 1e-6 of the largest output; 1e-5
// leaves room for the worst draws.
const oracleTol = 1e-5

// nanFloats returns n NaNs at a random offset: an output buffer in which
// every value a kernel fails to write shows.
func nanFloats(rng *rand.Rand, n int) []float32 {
	return offsetFloats(n, rng.IntN(AlignFloats), func(int) float32 { return float32(math.NaN()) })
}

// checkOracle calls run, which computes the operation under test and
// returns its output, on pools of 1, 2 and 3 workers, and checks each
// result against the interpreter's want within oracleTol, and every
// thread count bit for bit against one.
func checkOracle(t *testing.T, name string, want *ir.Tensor, run func(p *Pool) []float32) {
	t.Helper()
	checkOracleScaled(t, name, want, 0, run)
}

// checkOracleScaled is checkOracle with the error relative to scale
// instead of the largest |want| (0: that one). A clamped output is
// measured against its largest value before the clamp: the clamp carries
// an error over at most as it is, but may make the largest output much
// smaller than the sums it clamped.
func checkOracleScaled(t *testing.T, name string, want *ir.Tensor, scale float64, run func(p *Pool) []float32) {
	t.Helper()
	var first []float32
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		got := run(p)
		p.Close()
		e := floatcmp.Slices(got, want.F32)
		if scale > 0 {
			e *= maxAbs(want.F32) / scale
		}
		if !(e <= oracleTol) {
			t.Errorf("%s/threads=%d: relative error %.3g against the interpreter > %g", name, threads, e, oracleTol)
			return
		}
		if first == nil {
			first = got
		} else if !floatcmp.SameBits(first, got) {
			t.Errorf("%s: %d threads differ from 1 thread", name, threads)
		}
	}
}

// maxAbs returns max |v[i]|, or 1 when that is 0 (floatcmp then reports
// the absolute error).
func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	if m == 0 {
		return 1
	}
	return m
}

// TestGlobalAveragePoolBitsAgainstInterp checks that GlobalAveragePool
// and the interpreter sum a float32 plane in the same order (onnxruntime's,
// see sum4), bit for bit, over plane sizes across the four lanes' tails.
func TestGlobalAveragePoolBitsAgainstInterp(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	p := NewPool(2)
	defer p.Close()
	for _, hw := range []int{1, 2, 3, 4, 5, 7, 9, 16, 49, 63, 196, 3136} {
		planes := 5
		x := randOffsetFloats(rng, planes*hw)
		for i := range x {
			x[i] *= float32(int(1) << (i % 16)) // magnitudes far apart, so the order shows
		}
		got := nanFloats(rng, planes)
		GlobalAveragePool(p, x, got, planes, hw)
		want := interpEval(t, "GlobalAveragePool", nil, tensorF32([]int{1, planes, hw, 1}, x))
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want.F32[i]) {
				t.Fatalf("hw=%d plane %d: %g, the interpreter %g", hw, i, got[i], want.F32[i])
			}
		}
	}
}
