package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// binaryOps are the ONNX ops of the binary kinds; PRelu, which the
// interpreter lacks, is checked as Where(Less(a, 0), Mul(a, b), a).
var binaryOps = [binaryKinds]string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "", "Equal", "Less",
	"LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"}

// isLogical reports whether kind reads bools.
func isLogical(kind BinaryKind) bool { return kind >= BinaryAnd }

// binaryOracle is the interpreter's result of kind on tensors a and b
// (0/1 floats for bools).
func binaryOracle(t *testing.T, kind BinaryKind, a, b *ir.Tensor) *ir.Tensor {
	t.Helper()
	if kind == BinaryPRelu {
		neg := evalOp(t, "Less", nil, 1, a, ir.Scalar(0))[0]
		scaled := evalOp(t, "Mul", nil, 1, a, b)[0]
		return evalOp(t, "Where", nil, 1, neg, scaled, a)[0]
	}
	if isLogical(kind) {
		a, b = boolTensor(a.Shape, a.F32), boolTensor(b.Shape, b.F32)
	}
	return evalOp(t, binaryOps[kind], nil, 1, a, b)[0]
}

// binaryData returns n inputs for kind: 0/1 for logical ops, normals
// with repeats (so that comparisons see equal values) otherwise.
func binaryData(rng *rand.Rand, kind BinaryKind, n int) []float32 {
	v := randData(rng, n)
	for i := range v {
		switch {
		case isLogical(kind):
			v[i] = float32(rng.IntN(2))
		case rng.IntN(4) == 0:
			v[i] = float32(rng.IntN(3) - 1)
		}
	}
	return v
}

// broadcastPairs returns shape pairs covering every kind of broadcast:
// same shapes, scalars, channel and row scales, outer products, lower
// ranks, size-1 and empty dims, tails of every length.
func broadcastPairs(rng *rand.Rand, count int) [][2][]int {
	pairs := [][2][]int{
		{{4, 64, 13, 13}, {1, 64, 1, 1}}, // the SE block's channel scale
		{{1, 64, 1, 1}, {2, 64, 17, 19}},
		{{3, 5000}, {3, 1}},
		{{3, 5000}, {5000}},
		{{70000}, {}},
		{{}, {70000}},
		{{70001}, {70001}},
		{{2, 1, 30, 40}, {2, 50, 1, 1}},
		// squeeze-and-excitation channel scales (the row-times-constant
		// kernel for Mul), one spanning several items of work
		{{8, 96, 7, 7}, {8, 96, 1, 1}},
		{{3, 24, 1, 1}, {3, 24, 5, 6}},
		{{2, 40, 70, 71}, {2, 40, 1, 1}},
		{{}, {}},
		{{0, 3}, {1, 3}},
	}
	for len(pairs) < count {
		out := randShape(rng, rng.IntN(6), 9, len(pairs)%16 == 0)
		a, b := randBroadcast(rng, out), randBroadcast(rng, out)
		if rng.IntN(3) == 0 {
			a = out
		}
		if rng.IntN(2) == 0 {
			a, b = b, a
		}
		pairs = append(pairs, [2][]int{a, b})
	}
	return pairs
}

func TestBinary(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(10, 1))
	pairs := broadcastPairs(rng, 60)
	for kind := range binaryKinds {
		for _, pr := range pairs {
			a, b := pr[0], pr[1]
			if kind == BinaryPRelu { // the slope broadcasts to the input
				out, _ := broadcastShape(a, b)
				a = out
			}
			name := fmt.Sprintf("%v %v, %v", kind, a, b)
			bin, err := NewBinary(kind, a, b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			x, y := binaryData(rng, kind, product(a)), binaryData(rng, kind, product(b))
			want := binaryOracle(t, kind, f32Tensor(a, x), f32Tensor(b, y))
			got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { bin.Run(p, x, y, o) })
			checkExact(t, name, bin.Shape(), got, want)
			if slices.Equal(a, bin.Shape()) { // in place on the first input
				inPlace := append([]float32(nil), x...)
				bin.Run(ps[1], inPlace, y, inPlace)
				checkExact(t, name+" in place", bin.Shape(), inPlace, want)
			}
		}
	}
}

// TestBinarySpecialValues runs every kind on every pair of special
// values: the interpreter's results, except that Max and Min of NaN and
// anything are NaN (the interpreter's math.Max returns +Inf for
// max(NaN, +Inf)).
func TestBinarySpecialValues(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	inf := float32(math.Inf(1))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2, 0.5, -2.5, inf, -inf, float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-30, 3}
	var x, y []float32
	for _, a := range specials {
		for _, b := range specials {
			x, y = append(x, a), append(y, b)
		}
	}
	n := []int{len(x)}
	for kind := range binaryKinds {
		if isLogical(kind) {
			continue // 0/1 only: covered by TestBinary
		}
		bin, err := NewBinary(kind, n, n)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		bin.Run(p, x, y, got)
		want := floatsOf(binaryOracle(t, kind, f32Tensor(n, x), f32Tensor(n, y)))
		for i := range got {
			w := want[i]
			if (kind == BinaryMax || kind == BinaryMin) && (x[i] != x[i] || y[i] != y[i]) {
				w = float32(math.NaN())
			}
			if got[i] != w && !(got[i] != got[i] && w != w) {
				t.Errorf("%v(%g, %g) = %g, want %g", kind, x[i], y[i], got[i], w)
			}
		}
	}
}

func TestBinaryRejects(t *testing.T) {
	for _, c := range []struct {
		kind BinaryKind
		a, b []int
	}{
		{BinaryAdd, []int{2, 3}, []int{4}},
		{BinaryMul, []int{2, 3, 4}, []int{3, 3}},
		{BinaryPRelu, []int{3}, []int{2, 3}},
		{BinaryAdd, []int{-1}, []int{1}},
		{binaryKinds, []int{1}, []int{1}},
	} {
		_, err := NewBinary(c.kind, c.a, c.b)
		mustErr(t, fmt.Sprintf("%v %v, %v", c.kind, c.a, c.b), err)
	}
}

func TestVariadic(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(11, 1))
	ops := map[VariadicKind]string{VariadicSum: "Sum", VariadicMean: "Mean", VariadicMax: "Max", VariadicMin: "Min"}
	for i := range 120 {
		kind := VariadicKind(i % 4)
		out := randShape(rng, rng.IntN(5), 8, i%20 == 0)
		if i < 4 {
			out = []int{3, 30000}
		}
		var shapes [][]int
		var ins [][]float32
		var tensors []*ir.Tensor
		for range 1 + rng.IntN(4) {
			s := randBroadcast(rng, out)
			x := randData(rng, product(s))
			shapes, ins, tensors = append(shapes, s), append(ins, x), append(tensors, f32Tensor(s, x))
		}
		name := fmt.Sprintf("%v %v", kind, shapes)
		v, err := NewVariadic(kind, shapes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := evalOp(t, ops[kind], nil, 1, tensors...)[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { v.Run(p, ins, o) })
		checkExact(t, name, v.Shape(), got, want)
	}
	_, err := NewVariadic(VariadicSum, nil)
	mustErr(t, "sum of nothing", err)
	_, err = NewVariadic(VariadicMax, [][]int{{2}, {3}})
	mustErr(t, "max of [2] and [3]", err)
	_, err = NewVariadic(VariadicMin+1, [][]int{{2}})
	mustErr(t, "unknown variadic kind", err)
}

func TestWhere(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(12, 1))
	for i := range 150 {
		out := randShape(rng, rng.IntN(6), 8, i%20 == 0)
		if i < 3 {
			out = []int{2, 50000}
		}
		c, x, y := randBroadcast(rng, out), randBroadcast(rng, out), randBroadcast(rng, out)
		if i%5 == 0 {
			x = out
		}
		name := fmt.Sprintf("where %v, %v, %v", c, x, y)
		w, err := NewWhere(c, x, y)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cv, xv, yv := randData(rng, product(c)), randData(rng, product(x)), randData(rng, product(y))
		for j := range cv {
			cv[j] = float32(rng.IntN(2))
		}
		want := evalOp(t, "Where", nil, 1, boolTensor(c, cv), f32Tensor(x, xv), f32Tensor(y, yv))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { w.Run(p, cv, xv, yv, o) })
		checkExact(t, name, w.Shape(), got, want)
	}
	_, err := NewWhere([]int{2}, []int{3}, []int{1})
	mustErr(t, "where [2], [3], [1]", err)
}

// TestPowSquare: Pow by one exponent of 2 takes the a*a path, which must
// give pow32's bits for every value (specials, subnormals, large ones,
// random ones); other exponents still go through pow32.
func TestPowSquare(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	inf := float32(math.Inf(1))
	x := []float32{0, float32(math.Copysign(0, -1)), 1, -1, inf, -inf, float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1e-20, 1e-30, 1.8446743e19, -3.4e19}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 5000 {
		x = append(x, math.Float32frombits(rng.Uint32()))
	}
	for _, e := range []float32{2, 3, 0.5} {
		bin, err := NewBinary(BinaryPow, []int{len(x)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		bin.Run(p, x, []float32{e}, got)
		for i, v := range x {
			if w := pow32(v, e); math.Float32bits(got[i]) != math.Float32bits(w) && !(got[i] != got[i] && w != w) {
				t.Fatalf("pow(%g, %g) = %g, want %g", v, e, got[i], w)
			}
		}
	}
}
