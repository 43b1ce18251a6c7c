package runtime

import (
	"strings"
	"testing"
)

// genericRuns plans one call of each generic kernel on shapes of several
// work items, returning the calls by the start of their profile names.
func genericRuns(t *testing.T) map[string]func(p *Pool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	shape := []int{2, 16, 40, 40}
	n := product(shape)
	x, y, c, out := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, 4*n)
	runs := map[string]func(p *Pool){}

	tr, err := NewTranspose(shape, []int{0, 2, 3, 1})
	must(err)
	runs["transpose"] = func(p *Pool) { tr.Run(p, x, out[:n]) }
	tr2, err := NewTranspose([]int{2, 3, 20, 7, 40}, []int{4, 1, 2, 3, 0})
	must(err)
	runs["transpose [2 3"] = func(p *Pool) { tr2.Run(p, x[:2*3*20*7*40], out[:2*3*20*7*40]) }
	sl, err := NewSlice(shape, []int{0, 1, 39, 0}, []int{2, 8, 20, 40}, []int{1, 2, -2, 1})
	must(err)
	runs["slice"] = func(p *Pool) { sl.Run(p, x, out[:2*8*20*40]) }
	ex, err := NewExpand([]int{16, 1, 1}, shape)
	must(err)
	runs["expand"] = func(p *Pool) { ex.Run(p, x[:16], out[:n]) }
	rp, err := NewRepeat(shape, []int{1, 2, 1, 2})
	must(err)
	runs["tile"] = func(p *Pool) { rp.Run(p, x, out) }
	indices := make([]int64, 30)
	for i := range indices {
		indices[i] = int64(i - 15)
	}
	g, err := NewGather(shape, 2, indices, []int{30})
	must(err)
	runs["gather"] = func(p *Pool) { g.Run(p, x, out[:2*16*30*40]) }
	sc, err := NewScatterND(shape, []int64{0, 1, 1, 3, 0, 4}, []int{3, 2}, ScatterAdd)
	must(err)
	runs["scatternd"] = func(p *Pool) { sc.Run(p, x, y[:3*40*40], out[:n]) }
	pd, err := NewPad(shape, []int{0, 0, 2, -1, 0, 0, 3, 2}, PadReflect, 0)
	must(err)
	runs["pad"] = func(p *Pool) { pd.Run(p, x, out[:2*16*45*41]) }
	cc, err := NewConcat([][]int{shape, shape}, 1)
	must(err)
	xy := [][]float32{x, y}
	runs["concat"] = func(p *Pool) { cc.Run(p, xy, out[:2*n]) }
	sp, err := NewSplit(shape, 1, []int{5, 11})
	must(err)
	parts := [][]float32{out[:5*n/16], out[n : n+11*n/16]}
	runs["split"] = func(p *Pool) { sp.Run(p, x, parts) }
	un, err := NewUnary(UnaryHardSwish, n)
	must(err)
	runs["hardswish"] = func(p *Pool) { un.Run(p, x, out[:n]) }
	bn, err := NewBinary(BinaryMul, shape, []int{1, 16, 1, 1})
	must(err)
	runs["mul"] = func(p *Pool) { bn.Run(p, x, y[:16], out[:n]) }
	vr, err := NewVariadic(VariadicMean, [][]int{shape, {40}, shape})
	must(err)
	ins := [][]float32{x, y[:40], c}
	runs["mean"] = func(p *Pool) { vr.Run(p, ins, out[:n]) }
	wh, err := NewWhere(shape, []int{}, shape)
	must(err)
	runs["where"] = func(p *Pool) { wh.Run(p, c, y[:1], x, out[:n]) }
	rd, err := NewReduce(ReduceLogSumExp, shape, []int{0, 2})
	must(err)
	runs["reducelogsumexp"] = func(p *Pool) { rd.Run(p, x, out[:16*40]) }
	rd2, err := NewReduce(ReduceMean, shape, []int{-1, -2})
	must(err)
	runs["reducemean"] = func(p *Pool) { rd2.Run(p, x, out[:32]) }
	sm, err := NewSoftmaxAxis(shape, 1, true)
	must(err)
	runs["logsoftmax"] = func(p *Pool) { sm.Run(p, x, out[:n]) }
	ca, err := NewChannelAffine(2, 16, 1600, make([]float32, 16), nil, Relu)
	must(err)
	runs["channel affine"] = func(p *Pool) { ca.Run(p, x, out[:n]) }
	ln, err := NewLayerNorm(shape, -1, 1e-5)
	must(err)
	runs["layernorm"] = func(p *Pool) { ln.Run(p, x, y[:40], nil, out[:n]) }
	in, err := NewInstanceNorm(shape, 1e-5)
	must(err)
	runs["instancenorm"] = func(p *Pool) { in.Run(p, x, y[:16], c[:16], out[:n]) }
	return runs
}

// TestGenericSteadyStateAllocs: a Run of a generic kernel allocates at
// most its loop closure (ScatterND runs two loops: copy, then scatter).
func TestGenericSteadyStateAllocs(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for name, run := range genericRuns(t) {
		loops := 1.0
		if name == "scatternd" {
			loops = 2
		}
		run(p)
		if n := testing.AllocsPerRun(10, func() { run(p) }); n > loops {
			t.Errorf("%s: %v allocations per Run, want at most %v", name, n, loops)
		}
	}
}

// TestGenericProfile: each generic kernel's calls are recorded under a
// name that starts with its op.
func TestGenericProfile(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	for name, run := range genericRuns(t) {
		StartProfile()
		run(p)
		run(p)
		ops := StopProfile()
		if len(ops) != 1 || !strings.HasPrefix(ops[0].Op, name) || ops[0].Calls != 2 {
			t.Errorf("%s: profile %+v", name, ops)
		}
	}
}

// TestGenericRunPanicsOnLength: a slice of another length than planned
// is a code-generator bug, reported by a panic naming the op.
func TestGenericRunPanicsOnLength(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	tr, err := NewTranspose([]int{2, 3}, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "transpose") {
			t.Errorf("panic %v", r)
		}
	}()
	tr.Run(p, make([]float32, 6), make([]float32, 5))
}
