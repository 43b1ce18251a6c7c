package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// sweepInputs returns a dense sweep of float32 values: every 65521st bit
// pattern (all magnitudes, both signs, subnormals, NaNs), the special
// values, and normals around the range activations take.
func sweepInputs() []float32 {
	var v []float32
	for b := uint64(0); b < 1<<32; b += 65521 {
		v = append(v, math.Float32frombits(uint32(b)))
	}
	inf := float32(math.Inf(1))
	v = append(v, 0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1, -1, 6, -6, 3, -3, 1e-30, -1e-30, 88.7, -88.7, 89, -104)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 1 << 16 {
		v = append(v, float32(rng.Float64()*40-20))
	}
	return v
}

// orderedBits maps float32 bit patterns to integers in the order of the
// values (-0 and 0 next to each other).
func orderedBits(f float32) int64 {
	b := int64(math.Float32bits(f))
	if b&(1<<31) != 0 {
		return -(b & (1<<31 - 1)) - 1
	}
	return b
}

// checkUlps fails t unless every got[i] is within maxUlp float32 steps of
// want(i) (rounded to float32), or within the smallest normal of it in
// absolute terms (where results are subnormal); NaN must match NaN. It
// returns the largest step count seen.
func checkUlps(t *testing.T, name string, x, got []float32, want func(i int) float64, maxUlp int64) int64 {
	t.Helper()
	var worst int64
	for i, g := range got {
		w := float32(want(i))
		if math.IsNaN(float64(w)) || math.IsNaN(float64(g)) {
			if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) {
				t.Errorf("%s(%g) = %g, want %g", name, x[i], g, w)
				return worst
			}
			continue
		}
		if g == w {
			continue
		}
		d := orderedBits(g) - orderedBits(w)
		d = max(d, -d)
		if math.Abs(float64(g)-float64(w)) <= 0x1p-126 {
			continue
		}
		worst = max(worst, d)
		if d > maxUlp {
			t.Errorf("%s(%g) = %g, want %g (%d ulp)", name, x[i], g, w, d)
			return worst
		}
	}
	return worst
}

// unaryRefs are float64 references of the unary functions the
// interpreter does not have, written from the ONNX definitions with
// the cancellation-free forms of e^x-1, 1+erf, 1+tanh and ln(1+e^x).
var unaryRefs = map[UnaryKind]func(x float64, p []float64) float64{
	UnaryHardSigmoid: func(x float64, p []float64) float64 { return math.Max(0, math.Min(1, p[0]*x+p[1])) },
	UnaryHardSwish:   func(x float64, _ []float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) },
	UnaryLeakyRelu: func(x float64, p []float64) float64 {
		if x < 0 {
			return p[0] * x
		}
		return x
	},
	UnaryElu: func(x float64, p []float64) float64 {
		if x < 0 {
			return p[0] * math.Expm1(x)
		}
		return x
	},
	UnarySelu: func(x float64, p []float64) float64 {
		if x <= 0 {
			return p[1] * p[0] * math.Expm1(x)
		}
		return p[1] * x
	},
	UnarySoftplus: func(x float64, _ []float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) },
	UnaryErf:      func(x float64, _ []float64) float64 { return math.Erf(x) },
	UnaryGelu:     func(x float64, _ []float64) float64 { return x * math.Erfc(-x/math.Sqrt2) / 2 },
	UnaryGeluTanh: func(x float64, _ []float64) float64 { // x/2 * (1+tanh z) = x / (1+e^-2z)
		return x / (1 + math.Exp(-2*math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	},
	UnaryMish: func(x float64, _ []float64) float64 {
		return x * math.Tanh(math.Max(x, 0)+math.Log1p(math.Exp(-math.Abs(x))))
	},
	UnarySoftsign: func(x float64, _ []float64) float64 { return x / (1 + math.Abs(x)) },
}

// unaryOps are the unary kinds the interpreter runs, by ONNX op.
var unaryOps = map[UnaryKind]string{UnaryRelu: "Relu", UnaryNeg: "Neg", UnaryAbs: "Abs", UnaryExp: "Exp",
	UnaryLog: "Log", UnarySqrt: "Sqrt", UnaryReciprocal: "Reciprocal", UnaryFloor: "Floor", UnaryCeil: "Ceil",
	UnaryTanh: "Tanh", UnarySigmoid: "Sigmoid", UnaryClip: "Clip", UnaryNot: "Not"}

// unaryTestParams are the parameters each kind is tested with.
var unaryTestParams = map[UnaryKind][][]float32{
	UnaryHardSigmoid: {{0.2, 0.5}, {1.0 / 6, 0.5}},
	UnaryLeakyRelu:   {{0.01}, {-0.3}},
	UnaryElu:         {{1}, {0.3}},
	UnarySelu:        {{1.67326319217681884765625, 1.05070102214813232421875}},
	UnaryClip:        {{0, 6}, {-1.5, 2.5}, {float32(math.Inf(-1)), 0}, {3, 1}},
}

func TestUnary(t *testing.T) {
	ps := oraclePools(t)
	x := sweepInputs()
	for kind := range unaryKinds {
		params := unaryTestParams[kind]
		if params == nil {
			params = [][]float32{nil}
		}
		for _, prm := range params {
			name := fmt.Sprintf("%v%v", kind, prm)
			in := x
			if kind == UnaryNot {
				in = make([]float32, len(x))
				for i := range in {
					in[i] = float32(i % 2)
				}
			}
			u, err := NewUnary(kind, len(in), prm...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := runPools(t, name, ps, len(in), func(p *Pool, o []float32) { u.Run(p, in, o) })
			var want func(i int) float64
			if kind == UnarySiLU {
				w := siluByTwoOps(t, in)
				want = func(i int) float64 { return float64(w[i]) }
			} else if op, ok := unaryOps[kind]; ok {
				args := []*ir.Tensor{f32Tensor([]int{len(in)}, in)}
				switch kind {
				case UnaryClip:
					args = append(args, ir.Scalar(prm[0]), ir.Scalar(prm[1]))
				case UnaryNot:
					args[0] = boolTensor([]int{len(in)}, in)
				}
				w := floatsOf(evalOp(t, op, nil, 1, args...)[0])
				want = func(i int) float64 { return float64(w[i]) }
			} else {
				ref := unaryRefs[kind]
				p64 := make([]float64, len(prm))
				for i, v := range prm {
					p64[i] = float64(v)
				}
				want = func(i int) float64 { return ref(float64(in[i]), p64) }
			}
			if worst := checkUlps(t, name, in, got, want, 1); worst > 0 {
				t.Logf("%s: within %d ulp", name, worst)
			}
			inPlace := append([]float32(nil), in...)
			u.Run(ps[1], inPlace, inPlace)
			checkUlps(t, name+" in place", in, inPlace, func(i int) float64 { return float64(got[i]) }, 0)
		}
	}
}

// TestUnaryValues checks the functions the interpreter lacks at points
// whose values are published (so a wrong formula cannot match a wrong
// reference).
func TestUnaryValues(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	for _, c := range []struct {
		kind   UnaryKind
		params []float32
		x      float32
		want   float64
	}{
		{UnaryGelu, nil, 1, 0.8413447460685429},
		{UnaryGelu, nil, -2, -0.04550026389635842},
		{UnaryGeluTanh, nil, 1, 0.8411919906082768},
		{UnaryErf, nil, 0.5, 0.5204998778130465},
		{UnarySoftplus, nil, 0, math.Ln2},
		{UnarySoftplus, nil, 1000, 1000},
		{UnarySoftplus, nil, -200, 1.383896526736738e-87},
		{UnaryMish, nil, 1, 0.8650983882673103},
		{UnarySoftsign, nil, 3, 0.75},
		{UnarySoftsign, nil, -1, -0.5},
		{UnarySelu, []float32{1.67326319217681884765625, 1.05070102214813232421875}, -1, -1.1113307378125625},
		{UnarySelu, []float32{1.67326319217681884765625, 1.05070102214813232421875}, 2, 2.1014020442962646},
		{UnaryElu, []float32{1}, -1, math.Exp(-1) - 1},
		{UnaryElu, []float32{1}, -1e-20, -1e-20},
		{UnaryHardSwish, nil, 1, 2.0 / 3},
		{UnaryHardSwish, nil, -4, 0},
		{UnaryHardSwish, nil, 4, 4},
		{UnaryHardSigmoid, []float32{0.2, 0.5}, 1, 0.7},
		{UnaryLeakyRelu, []float32{0.1}, -2, -0.2},
		{UnarySiLU, nil, 1, 0.7310585786300049},
		{UnarySiLU, nil, -1000, 0},
	} {
		u, err := NewUnary(c.kind, 1, c.params...)
		if err != nil {
			t.Fatal(err)
		}
		out := []float32{0}
		u.Run(p, []float32{c.x}, out)
		if out[0] != float32(c.want) {
			t.Errorf("%v%v(%g) = %g, want %g", c.kind, c.params, c.x, out[0], float32(c.want))
		}
	}
}

func TestUnaryRejects(t *testing.T) {
	for _, c := range []struct {
		kind   UnaryKind
		n      int
		params []float32
	}{
		{UnaryRelu, 4, []float32{1}},
		{UnaryLeakyRelu, 4, nil},
		{UnaryClip, 4, []float32{0}},
		{UnaryClip, 4, []float32{0, float32(math.NaN())}},
		{UnaryRelu, -1, nil},
		{unaryKinds, 4, nil},
	} {
		_, err := NewUnary(c.kind, c.n, c.params...)
		mustErr(t, fmt.Sprintf("%v of %d with %v", c.kind, c.n, c.params), err)
	}
}

// siluByTwoOps is the SiLU as the interpreter runs the ops it replaces,
// Sigmoid then Mul.
func siluByTwoOps(t *testing.T, x []float32) []float32 {
	xt := f32Tensor([]int{len(x)}, x)
	sig := evalOp(t, "Sigmoid", nil, 1, xt)[0]
	return evalOp(t, "Mul", nil, 1, xt, sig)[0].F32
}
