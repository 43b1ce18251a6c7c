package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
)

var reduceOps = [reduceKinds]string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
	"ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"}

// reduceCase is a shape and the axes reduced.
type reduceCase struct{ shape, axes []int }

func reduceCases(rng *rand.Rand, count int) []reduceCase {
	cases := []reduceCase{
		{[]int{64, 3000}, []int{1}},
		{[]int{3000, 70}, []int{0}},        // kept inner: vector accumulators, a block tail
		{[]int{8, 512, 7, 7}, []int{2, 3}}, // global average pool
		{[]int{2, 8, 64, 56}, []int{-3}},   // the mean over segments of a TSM head
		{[]int{5, 6, 7, 8, 9}, []int{0, 2, 4}},
		{[]int{5, 6, 7, 8, 9}, []int{1, 3}},
		{[]int{300, 1000}, []int{0, 1}},
		{[]int{4, 0, 3}, []int{1}}, // empty reductions
		{[]int{4, 0, 3}, []int{0}}, // empty output
		{[]int{}, nil},
	}
	for len(cases) < count {
		rank := 1 + rng.IntN(5)
		shape := randShape(rng, rank, 7, len(cases)%12 == 0)
		var axes []int
		for d := range rank {
			if rng.IntN(2) == 0 {
				axes = append(axes, d-rng.IntN(2)*rank)
			}
		}
		if len(axes) == 0 {
			axes = []int{rng.IntN(rank)}
		}
		rng.Shuffle(len(axes), func(i, j int) { axes[i], axes[j] = axes[j], axes[i] })
		cases = append(cases, reduceCase{shape, axes})
	}
	return cases
}

func TestReduce(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(13, 1))
	cases := reduceCases(rng, 80)
	for kind := range reduceKinds {
		for _, c := range cases {
			name := fmt.Sprintf("%v %v axes %v", kind, c.shape, c.axes)
			r, err := NewReduce(kind, c.shape, c.axes)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			x := randData(rng, product(c.shape))
			if kind == ReduceLogSum {
				for i := range x {
					x[i] = float32(math.Abs(float64(x[i])))
				}
			}
			want := evalOp(t, reduceOps[kind], nil, 1, f32Tensor(c.shape, x), i64Vec(c.axes...))[0]
			got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { r.Run(p, x, o) })
			if kind == ReduceLogSumExp { // the interpreter's sum is not shifted
				if !want.Shape.Equal(r.Shape()) {
					t.Fatalf("%s: shape %v, interpreter %v", name, r.Shape(), want.Shape)
				}
				checkUlps(t, name, got, got, func(i int) float64 { return float64(want.F32[i]) }, 1)
				continue
			}
			checkExact(t, name, r.Shape(), got, want)
		}
	}
}

// TestReduceNoAxes checks that no axes fold each element alone: the
// interpreter's reduction over an added axis of size 1.
func TestReduceNoAxes(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	rng := rand.New(rand.NewPCG(14, 1))
	shape := []int{3, 70000}
	x := randData(rng, product(shape))
	for kind := range reduceKinds {
		r, err := NewReduce(kind, shape, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		r.Run(p, x, got)
		want := evalOp(t, reduceOps[kind], nil, 1, f32Tensor([]int{3, 70000, 1}, x), i64Vec(-1))[0]
		want.Shape = want.Shape[:2]
		if kind == ReduceLogSumExp {
			checkUlps(t, kind.String(), x, got, func(i int) float64 { return float64(want.F32[i]) }, 1)
			continue
		}
		checkExact(t, kind.String()+" without axes", r.Shape(), got, want)
	}
}

// TestReduceLogSumExpLarge checks the shifted sum where e^x overflows
// float64, and the infinities.
func TestReduceLogSumExpLarge(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		x    []float32
		want float32
	}{
		{[]float32{1000, 1000}, float32(1000 + math.Ln2)},
		{[]float32{-1000, -1000}, float32(-1000 + math.Ln2)},
		{[]float32{-inf, -inf}, -inf},
		{[]float32{inf, 1}, inf},
		{[]float32{-inf, 0}, 0},
	} {
		r, err := NewReduce(ReduceLogSumExp, []int{2}, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		out := []float32{0}
		r.Run(p, c.x, out)
		if out[0] != c.want {
			t.Errorf("logsumexp %v = %g, want %g", c.x, out[0], c.want)
		}
	}
}

func TestReduceRejects(t *testing.T) {
	for _, c := range []struct {
		kind        ReduceKind
		shape, axes []int
	}{
		{ReduceSum, []int{2, 3}, []int{2}},
		{ReduceSum, []int{2, 3}, []int{-3}},
		{ReduceMax, []int{2, 3}, []int{1, -1}},
		{ReduceMax, []int{2, -3}, []int{1}},
		{reduceKinds, []int{2}, []int{0}},
	} {
		_, err := NewReduce(c.kind, c.shape, c.axes)
		mustErr(t, fmt.Sprintf("%v %v axes %v", c.kind, c.shape, c.axes), err)
	}
}

func TestSoftmaxAxis(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(15, 1))
	type scase struct {
		shape []int
		axis  int
	}
	cases := []scase{{[]int{64, 1000}, -1}, {[]int{2, 1000, 300}, 1}, {[]int{8, 3, 4000}, 1}, {[]int{3, 0}, 0}}
	for len(cases) < 150 {
		rank := 1 + rng.IntN(5)
		cases = append(cases, scase{randShape(rng, rank, 8, len(cases)%10 == 0), rng.IntN(2*rank) - rank})
	}
	for i, c := range cases {
		log := i%2 == 1
		op := "Softmax"
		if log {
			op = "LogSoftmax"
		}
		name := fmt.Sprintf("%s %v axis %d", op, c.shape, c.axis)
		s, err := NewSoftmaxAxis(c.shape, c.axis, log)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(c.shape))
		for j := range x {
			x[j] *= 4
		}
		want := evalOp(t, op, irtest.Attrs("axis", c.axis), 1, f32Tensor(c.shape, x))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { s.Run(p, x, o) })
		inPlace := append([]float32(nil), x...)
		s.Run(ps[1], inPlace, inPlace)
		if log {
			checkExact(t, name, c.shape, got, want)
			checkExact(t, name+" in place", c.shape, inPlace, want)
			continue
		}
		// e^(x-max) is rounded to float32 before the division
		checkUlps(t, name, x, got, func(i int) float64 { return float64(want.F32[i]) }, 1)
		checkUlps(t, name+" in place", x, inPlace, func(i int) float64 { return float64(want.F32[i]) }, 1)
	}
	_, err := NewSoftmaxAxis([]int{2, 3}, 2, false)
	mustErr(t, "softmax on axis 2 of rank 2", err)
	_, err = NewSoftmaxAxis([]int{}, 0, false)
	mustErr(t, "softmax of a scalar", err)
}
