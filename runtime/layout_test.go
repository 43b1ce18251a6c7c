package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
)

func TestTranspose(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(1, 1))
	type tcase struct{ shape, perm []int }
	cases := []tcase{
		{[]int{37, 100}, []int{1, 0}},                // blocked, tails on both sides
		{[]int{2, 33, 17, 3}, []int{0, 3, 1, 2}},     // NHWC -> NCHW
		{[]int{2, 3, 33, 17}, []int{0, 2, 3, 1}},     // NCHW -> NHWC
		{[]int{2, 8, 4, 5, 6}, []int{0, 2, 1, 3, 4}}, // TSM's [N,T,C,HW] <-> [N,C,T,HW]
		{[]int{300, 200}, []int{1, 0}},               // several items
		{[]int{}, []int{}},
		{[]int{5, 0, 3}, []int{2, 1, 0}},
	}
	for range 150 {
		rank := rng.IntN(6)
		shape := randShape(rng, rank, 9, true)
		cases = append(cases, tcase{shape, rng.Perm(rank)})
	}
	for _, c := range cases {
		name := fmt.Sprintf("transpose %v perm %v", c.shape, c.perm)
		tr, err := NewTranspose(c.shape, c.perm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(c.shape))
		perm := make([]int64, len(c.perm))
		for i, a := range c.perm {
			perm[i] = int64(a)
		}
		want := evalOp(t, "Transpose", irtest.Attrs("perm", perm), 1, f32Tensor(c.shape, x))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, out []float32) { tr.Run(p, x, out) })
		checkExact(t, name, tr.Shape(), got, want)
	}
	for _, c := range []tcase{
		{[]int{2, 3}, []int{0}},
		{[]int{2, 3}, []int{0, 0}},
		{[]int{2, 3}, []int{0, 2}},
		{[]int{2, 3}, []int{-1, 0}},
		{[]int{2, -3}, []int{1, 0}},
	} {
		_, err := NewTranspose(c.shape, c.perm)
		mustErr(t, fmt.Sprintf("transpose %v perm %v", c.shape, c.perm), err)
	}
}

func TestSlice(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(2, 1))
	for i := range 200 {
		rank := rng.IntN(6)
		shape := randShape(rng, rank, 9, i%8 == 0)
		if i < 4 { // large enough for several items
			shape = []int{40 + i, 700}
		}
		rank = len(shape)
		starts, counts, steps := make([]int, rank), make([]int, rank), make([]int, rank)
		var ends []int
		for d, n := range shape {
			steps[d] = 1
			counts[d] = n
			if n > 0 && rng.IntN(3) > 0 {
				steps[d] = []int{1, 1, 2, 3, -1, -2}[rng.IntN(6)]
				starts[d] = rng.IntN(n)
				room := n - starts[d] // indices start, start+step, ... inside [0, n)
				if steps[d] < 0 {
					room = starts[d] + 1
				}
				counts[d] = rng.IntN(ceilDiv(room, abs(steps[d])) + 1)
			}
			// the ONNX end that yields exactly counts[d] elements
			end := starts[d] + counts[d]*steps[d]
			if counts[d] == 0 {
				starts[d], end, steps[d] = 0, 0, 1
			} else if end < 0 {
				end = -n - 1
			}
			ends = append(ends, end)
		}
		name := fmt.Sprintf("slice %v starts %v counts %v steps %v", shape, starts, counts, steps)
		sl, err := NewSlice(shape, starts, counts, steps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(shape))
		axes := make([]int, rank)
		for d := range axes {
			axes[d] = d
		}
		want := evalOp(t, "Slice", nil, 1, f32Tensor(shape, x), i64Vec(starts...), i64Vec(ends...), i64Vec(axes...), i64Vec(steps...))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, out []float32) { sl.Run(p, x, out) })
		checkExact(t, name, sl.Shape(), got, want)
	}
	for _, c := range [][4][]int{
		{{4}, {0}, {5}, {1}},
		{{4}, {3}, {2}, {1}},
		{{4}, {1}, {2}, {-2}},
		{{4}, {-1}, {1}, {1}},
		{{4}, {0}, {2}, {0}},
		{{4}, {0, 0}, {1}, {1}},
		{{4}, {0}, {-1}, {1}},
	} {
		_, err := NewSlice(c[0], c[1], c[2], c[3])
		mustErr(t, fmt.Sprintf("slice %v", c), err)
	}
	if _, err := NewSlice([]int{4, 3}, []int{9, 0}, []int{0, 3}, []int{0, 1}); err != nil {
		t.Errorf("an empty axis with any start and step: %v", err)
	}
}

func abs(x int) int { return max(x, -x) }

// randBroadcast returns a shape that broadcasts to out: a suffix of out's
// rank, each dim kept or set to 1.
func randBroadcast(rng *rand.Rand, out []int) []int {
	s := append([]int(nil), out[rng.IntN(len(out)+1):]...)
	for i := range s {
		if rng.IntN(3) == 0 {
			s[i] = 1
		}
	}
	return s
}

func TestExpand(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(3, 1))
	for i := range 150 {
		out := randShape(rng, rng.IntN(6), 8, i%10 == 0)
		in := randBroadcast(rng, out)
		target := out
		if rng.IntN(3) == 0 { // a target smaller than the input in places
			target = randBroadcast(rng, out)
			in = out
		}
		if i == 0 {
			in, target = []int{64, 1}, []int{3, 64, 300}
		}
		name := fmt.Sprintf("expand %v to %v", in, target)
		e, err := NewExpand(in, target)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(in))
		want := evalOp(t, "Expand", nil, 1, f32Tensor(in, x), i64Vec(target...))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { e.Run(p, x, o) })
		checkExact(t, name, e.Shape(), got, want)
	}
	_, err := NewExpand([]int{2, 3}, []int{4, 3, 3})
	mustErr(t, "expand [2,3] to [4,3,3]", err)
	_, err = NewExpand([]int{2, 3}, []int{-1})
	mustErr(t, "expand to a negative dim", err)
}

func TestRepeat(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(4, 1))
	for i := range 150 {
		rank := rng.IntN(6)
		shape := randShape(rng, rank, 6, i%10 == 0)
		repeats := make([]int, rank)
		for d := range repeats {
			repeats[d] = rng.IntN(4)
			if rng.IntN(4) > 0 {
				repeats[d] = max(1, repeats[d])
			}
		}
		if i == 0 {
			shape, repeats = []int{3, 200}, []int{2, 50}
		}
		name := fmt.Sprintf("tile %v by %v", shape, repeats)
		r, err := NewRepeat(shape, repeats)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(shape))
		want := evalOp(t, "Tile", nil, 1, f32Tensor(shape, x), i64Vec(repeats...))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { r.Run(p, x, o) })
		checkExact(t, name, r.Shape(), got, want)
	}
	_, err := NewRepeat([]int{2, 3}, []int{2})
	mustErr(t, "tile with repeats of the wrong rank", err)
	_, err = NewRepeat([]int{2, 3}, []int{2, -1})
	mustErr(t, "tile with a negative repeat", err)
}
