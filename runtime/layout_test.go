package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/ir"
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

func TestGather(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(5, 1))
	for i := range 150 {
		shape := randShape(rng, 1+rng.IntN(5), 7, i%10 == 0)
		axis := rng.IntN(len(shape))
		if rng.IntN(2) == 0 {
			axis -= len(shape)
		}
		dim := shape[(axis+len(shape))%len(shape)]
		ishape := randShape(rng, rng.IntN(3), 4, false)
		if dim == 0 {
			ishape = append(ishape, 0)
		}
		if i == 0 {
			shape, axis, ishape = []int{3, 50, 400}, 1, []int{70}
			dim = 50
		}
		indices := make([]int64, product(ishape))
		for j := range indices {
			indices[j] = int64(rng.IntN(2*dim) - dim)
		}
		name := fmt.Sprintf("gather %v axis %d indices %v", shape, axis, ishape)
		g, err := NewGather(shape, axis, indices, ishape)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(shape))
		want := evalOp(t, "Gather", irtest.Attrs("axis", axis), 1, f32Tensor(shape, x), ir.Int64s(ir.Shape(ishape), indices))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { g.Run(p, x, o) })
		checkExact(t, name, g.Shape(), got, want)
	}
	for _, c := range []struct {
		axis    int
		indices []int64
		ishape  []int
	}{
		{2, []int64{0}, []int{1}},
		{-3, []int64{0}, []int{1}},
		{0, []int64{2}, []int{1}},
		{0, []int64{-3}, []int{1}},
		{0, []int64{0, 1}, []int{3}},
	} {
		_, err := NewGather([]int{2, 3}, c.axis, c.indices, c.ishape)
		mustErr(t, fmt.Sprintf("gather [2,3] axis %d indices %v", c.axis, c.indices), err)
	}
}

func TestScatterND(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(6, 1))
	reds := []ScatterReduction{ScatterNone, ScatterAdd, ScatterMul, ScatterMax, ScatterMin}
	for i := range 200 {
		shape := randShape(rng, 1+rng.IntN(4), 6, false)
		k := rng.IntN(len(shape) + 1)
		ishape := append(randShape(rng, rng.IntN(3), 4, false), k)
		if i == 0 { // large blocks, parallel
			shape, k, ishape = []int{8, 3, 4000}, 1, []int{2, 2, 1}
		}
		red := reds[i%len(reds)]
		unique := i%3 != 0 && red == ScatterNone
		indices := make([]int64, product(ishape))
		seen := map[string]bool{}
		for b := 0; b < len(indices)/max(k, 1) && k > 0; b++ {
			for try := 0; ; try++ {
				tuple := indices[b*k : (b+1)*k]
				for j := range tuple {
					tuple[j] = int64(rng.IntN(2*shape[j]) - shape[j])
				}
				key := fmt.Sprint(normTuple(tuple, shape))
				if !unique || !seen[key] || try > 20 {
					seen[key] = true
					break
				}
			}
		}
		name := fmt.Sprintf("scatternd %v indices %v %v", shape, ishape, red)
		s, err := NewScatterND(shape, indices, ishape, red)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data := randData(rng, product(shape))
		updates := randData(rng, product(s.UpdatesShape()))
		want := evalOp(t, "ScatterND", irtest.Attrs("reduction", red.String()), 1,
			f32Tensor(shape, data), ir.Int64s(ir.Shape(ishape), indices), f32Tensor(s.UpdatesShape(), updates))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { s.Run(p, data, updates, o) })
		checkExact(t, name, shape, got, want)
		inPlace := append([]float32(nil), data...)
		s.Run(ps[1], inPlace, updates, inPlace)
		checkExact(t, name+" in place", shape, inPlace, want)
	}
	for _, c := range []struct {
		indices []int64
		ishape  []int
	}{
		{[]int64{0, 0, 0}, []int{1, 3}},
		{[]int64{2}, []int{1, 1}},
		{[]int64{-3}, []int{1, 1}},
		{[]int64{0}, []int{}},
		{[]int64{0}, []int{2, 1}},
	} {
		_, err := NewScatterND([]int{2, 3}, c.indices, c.ishape, ScatterNone)
		mustErr(t, fmt.Sprintf("scatternd [2,3] indices %v %v", c.indices, c.ishape), err)
	}
	_, err := NewScatterND([]int{2, 3}, []int64{0}, []int{1, 1}, ScatterMin+1)
	mustErr(t, "scatternd with an unknown reduction", err)
}

func normTuple(tuple []int64, shape []int) []int64 {
	out := make([]int64, len(tuple))
	for j, v := range tuple {
		out[j] = (v + int64(shape[j])) % int64(shape[j])
	}
	return out
}

func TestPad(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(7, 1))
	modes := []PadMode{PadConstant, PadReflect, PadEdge, PadWrap}
	for i := range 300 {
		mode := modes[i%len(modes)]
		shape := randShape(rng, rng.IntN(5), 6, mode == PadConstant)
		r := len(shape)
		pads := make([]int, 2*r)
		for d, n := range shape {
			if rng.IntN(3) == 0 {
				continue // unpadded: merged with its neighbours
			}
			pads[d] = rng.IntN(n+5) - n/2 // wider than the axis too
			pads[r+d] = max(rng.IntN(n+5)-n/2, -n-pads[d])
			if rng.IntN(8) == 0 { // crop all, or more than the other side pads
				pads[d], pads[r+d] = n+2, -2*n-2
			}
		}
		if i < 4 {
			shape, pads = []int{30, 1000}, []int{1, 7, 2, 9}
		}
		name := fmt.Sprintf("pad %v by %v %v", shape, pads, mode)
		pd, err := NewPad(shape, pads, mode, 2.5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := randData(rng, product(shape))
		want := evalOp(t, "Pad", irtest.Attrs("mode", mode.String()), 1,
			f32Tensor(shape, x), i64Vec(pads...), ir.Scalar(2.5))[0]
		got := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { pd.Run(p, x, o) })
		checkExact(t, name, pd.Shape(), got, want)
	}
	for _, c := range []struct {
		shape, pads []int
		mode        PadMode
	}{
		{[]int{2, 3}, []int{1, 1}, PadConstant},
		{[]int{2, 3}, []int{0, -2, 0, -2}, PadConstant},
		{[]int{2, 0}, []int{0, 1, 0, 0}, PadEdge},
		{[]int{2, 3}, []int{0, 0, 0, 0}, PadWrap + 1},
	} {
		_, err := NewPad(c.shape, c.pads, c.mode, 0)
		mustErr(t, fmt.Sprintf("pad %v by %v %v", c.shape, c.pads, c.mode), err)
	}
}

func TestConcatSplit(t *testing.T) {
	ps := oraclePools(t)
	rng := rand.New(rand.NewPCG(8, 1))
	for i := range 150 {
		shape := randShape(rng, 1+rng.IntN(5), 6, i%10 == 0)
		axis := rng.IntN(len(shape)) - rng.IntN(2)*len(shape)
		a := (axis + len(shape)) % len(shape)
		parts := 1 + rng.IntN(4)
		if i == 0 {
			shape, axis, a, parts = []int{4, 0, 70000}, 1, 1, 3
		}
		var shapes [][]int
		var ins [][]float32
		var tensors []*ir.Tensor
		var sizes []int
		for range parts {
			s := append([]int(nil), shape...)
			s[a] = rng.IntN(5)
			if i == 0 {
				s[a] = 1 + rng.IntN(2)
			}
			x := randData(rng, product(s))
			shapes, ins, sizes = append(shapes, s), append(ins, x), append(sizes, s[a])
			tensors = append(tensors, f32Tensor(s, x))
		}
		name := fmt.Sprintf("concat %v axis %d", shapes, axis)
		c, err := NewConcat(shapes, axis)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := evalOp(t, "Concat", irtest.Attrs("axis", axis), 1, tensors...)[0]
		joined := runPools(t, name, ps, want.Len(), func(p *Pool, o []float32) { c.Run(p, ins, o) })
		checkExact(t, name, c.Shape(), joined, want)

		name = fmt.Sprintf("split %v axis %d sizes %v", c.Shape(), axis, sizes)
		sp, err := NewSplit(c.Shape(), axis, sizes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wants := evalOp(t, "Split", irtest.Attrs("axis", axis), parts, want, i64Vec(sizes...))
		for _, p := range ps {
			outs := make([][]float32, parts)
			for k := range outs {
				outs[k] = make([]float32, product(shapes[k]))
			}
			sp.Run(p, joined, outs)
			for k := range outs {
				checkExact(t, fmt.Sprintf("%s part %d threads %d", name, k, p.Threads()), sp.Shapes()[k], outs[k], wants[k])
			}
		}
	}
	_, err := NewConcat(nil, 0)
	mustErr(t, "concat of nothing", err)
	_, err = NewConcat([][]int{{2, 3}, {3, 3}}, 1)
	mustErr(t, "concat [2,3] [3,3] on axis 1", err)
	_, err = NewConcat([][]int{{2, 3}, {2, 3, 1}}, 0)
	mustErr(t, "concat of different ranks", err)
	_, err = NewConcat([][]int{{2, 3}}, 2)
	mustErr(t, "concat on axis 2 of rank 2", err)
	_, err = NewSplit([]int{2, 3}, 1, []int{1, 1})
	mustErr(t, "split of 3 into 1+1", err)
	_, err = NewSplit([]int{2, 3}, 1, []int{4, -1})
	mustErr(t, "split with a negative size", err)
	_, err = NewSplit([]int{2, 3}, -3, []int{2})
	mustErr(t, "split on axis -3 of rank 2", err)
}

// TestDataMovementOnBytes runs the data movement ops on bytes (RunBytes,
// a quantised tensor's) against their float32 Run on the same values,
// over random shapes: transposes (blocked and not), slices, expands,
// tiles and gathers.
func TestDataMovementOnBytes(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	rng := rand.New(rand.NewPCG(8, 9))
	check := func(name string, n, outLen int, run func(x, out []float32), runBytes func(x, out []uint8)) {
		t.Helper()
		b, f := make([]uint8, n), make([]float32, n)
		for i := range b {
			b[i] = uint8(rng.IntN(256))
			f[i] = float32(b[i])
		}
		gotB, gotF := make([]uint8, outLen), make([]float32, outLen)
		run(f, gotF)
		runBytes(b, gotB)
		for i := range gotB {
			if float32(gotB[i]) != gotF[i] {
				t.Fatalf("%s: byte %d is %d, the float32 run has %g", name, i, gotB[i], gotF[i])
			}
		}
	}
	for range 60 {
		rank := 1 + rng.IntN(4)
		shape := randShape(rng, rank, 40, false)
		n := product(shape)
		tr, err := NewTranspose(shape, rng.Perm(rank))
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("transpose %v", shape), n, n,
			func(x, out []float32) { tr.Run(p, x, out) }, func(x, out []uint8) { tr.RunBytes(p, x, out) })
		starts, counts, steps, target, reps := make([]int, rank), make([]int, rank), make([]int, rank), slices.Clone(shape), make([]int, rank)
		for d, s := range shape {
			steps[d] = 1 + rng.IntN(2)
			starts[d] = rng.IntN(s)
			counts[d] = 1 + (s-1-starts[d])/steps[d]
			reps[d] = 1 + rng.IntN(2)
		}
		sl, err := NewSlice(shape, starts, counts, steps)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("slice %v", shape), n, product(counts),
			func(x, out []float32) { sl.Run(p, x, out) }, func(x, out []uint8) { sl.RunBytes(p, x, out) })
		one := slices.Clone(shape)
		one[rng.IntN(rank)] = 1
		ex, err := NewExpand(one, target)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("expand %v", one), product(one), n,
			func(x, out []float32) { ex.Run(p, x, out) }, func(x, out []uint8) { ex.RunBytes(p, x, out) })
		rp, err := NewRepeat(shape, reps)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("tile %v by %v", shape, reps), n, product(rp.Shape()),
			func(x, out []float32) { rp.Run(p, x, out) }, func(x, out []uint8) { rp.RunBytes(p, x, out) })
		axis := rng.IntN(rank)
		idx := []int64{int64(rng.IntN(shape[axis])), int64(-1 - rng.IntN(shape[axis]))}
		ga, err := NewGather(shape, axis, idx, []int{2})
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("gather %v axis %d", shape, axis), n, product(ga.Shape()),
			func(x, out []float32) { ga.Run(p, x, out) }, func(x, out []uint8) { ga.RunBytes(p, x, out) })
	}
}
