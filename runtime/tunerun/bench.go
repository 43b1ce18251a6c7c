package tunerun

import (
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/tsmc-go/tsmc/runtime"
)

// Bench times the plans of one workload on this machine, on random data
// (on one worker in CPU time, see timeOnce), with the caches as a model
// run leaves them for the layer: before each
// timed call it streams FlushBytes of other data through every worker's
// caches (the rest of the model's weights and activations, which a run
// reads between two calls of the layer, so that large weights come from
// memory as they do there) and then reads the layer's input (written by
// the layer before it, so warm).
type Bench struct {
	w     Workload
	rng   *rand.Rand // nil: a description only (Describe), all data zeros
	flush []float32
	warm  runtime.Rows
	// the per-item sums of the flush and of the input read, kept so that
	// their loads stay
	sums, warmSums []float32
	build          func(runtime.Plan) (*layer, error)
	// calls counts the timed calls, disturbed those of them that ran
	// disturbed (timeOnce); waitNs is the run-queue wait of the process's
	// threads and wallNs threads x the wall time over the timed calls
	// (OnCPU)
	calls, disturbed int
	waitNs, wallNs   int64
}

// layer is a workload built with one plan.
type layer struct {
	run  func(*runtime.Pool)
	plan runtime.Plan // every choice explicit
	// transposed: a convolution the rules planned transposed takes
	// that plan on this input (Conv.RunsTransposed)
	transposed bool
	blk        *runtime.InvertedResidual // a block, whose parts follow the threads
}

// flushChunk is the floats a flush work item reads.
const flushChunk = 16 << 10

// flushBuf is the data every Bench streams through the caches (only
// read, so one buffer serves them all).
var flushBuf struct {
	sync.Mutex
	buf []float32
}

// flushBuffer returns n floats of the shared flush buffer.
func flushBuffer(n int) []float32 {
	flushBuf.Lock()
	defer flushBuf.Unlock()
	if len(flushBuf.buf) < n {
		flushBuf.buf = runtime.AlignedFloats(runtime.AlignUp(n))
		for i := range flushBuf.buf {
			flushBuf.buf[i] = 1
		}
	}
	return flushBuf.buf[:n]
}

// NewBench prepares w with random weights and inputs; flushBytes is the
// data streamed between timed calls.
func NewBench(w Workload, flushBytes int) (*Bench, error) {
	return newBench(w, flushBytes, rand.New(rand.NewPCG(1, uint64(len(w.Key())))))
}

// Describe says what w runs for plan at threads workers (Bench.Runs),
// without making its data: a layer over shared zeros, never run.
func Describe(w Workload, plan runtime.Plan, threads int) (string, error) {
	b, err := newBench(w, 0, nil)
	if err != nil {
		return "", err
	}
	return b.Runs(plan, threads)
}

func newBench(w Workload, flushBytes int, rng *rand.Rand) (*Bench, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	acts, err := w.acts()
	if err != nil {
		return nil, err
	}
	b := &Bench{w: w, rng: rng}
	if n := flushBytes / 4; n > 0 {
		b.flush = flushBuffer(n)
		b.sums = make([]float32, (len(b.flush)+flushChunk-1)/flushChunk)
	}
	switch w.Op {
	case OpConv:
		err = b.conv(acts[0])
	case OpDepthwise:
		err = b.depthwise(acts[0])
	case OpBlock:
		err = b.block(acts)
	case OpDense:
		err = b.dense(acts[0])
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %w", w, err)
	}
	return b, nil
}

// floats returns n random floats, uniform in [-1, 1) (random enough for
// timing, and quick to make for large weights), or for a description
// shared zeros.
func (b *Bench) floats(n int) []float32 {
	if b.rng == nil {
		return runtime.ZeroRow(n)
	}
	v := runtime.AlignedFloats(n)
	x := b.rng.Uint64() | 1
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = float32(int32(x>>32)) / (1 << 31)
	}
	return v
}

// output returns an output buffer of n floats (shared zeros for a
// description, which never runs).
func (b *Bench) output(n int) []float32 {
	if b.rng == nil {
		return runtime.ZeroRow(n)
	}
	return runtime.AlignedFloats(n)
}

// input returns the row table of a convolution input of s, read through
// the workload's shift and state.
func (b *Bench) input(s runtime.ConvShape) (runtime.Rows, error) {
	hw := s.H * s.W
	x := b.floats(s.InLen())
	rows := runtime.NewRows(s.Frames, s.Cin)
	if b.w.Shift == nil {
		rows.SetPlain(x, s.Frames, s.Cin, hw)
	} else {
		var state []float32
		if b.w.State {
			state = b.floats(s.Frames / b.w.Shift.Segments * b.w.Shift.StateChannels() * hw)
		}
		if err := rows.SetShifted(x, s.Frames, s.Cin, hw, *b.w.Shift, state); err != nil {
			return nil, err
		}
	}
	b.warm = rows
	return rows, nil
}

func (b *Bench) residual(n int) []float32 {
	if !b.w.Residual {
		return nil
	}
	return b.floats(n)
}

// packedConv returns random weights of s packed for the GEMM.
func (b *Bench) packedConv(s runtime.ConvShape) ([]float32, error) {
	s = s.Normalized()
	cinG := s.Cin / s.Group
	if b.rng == nil {
		return runtime.ZeroRow(runtime.PackedConvWeightsLen(s.Cout, cinG, s.KH, s.KW, s.Group, runtime.PackMR)), nil
	}
	return runtime.PackConvWeights(b.floats(s.Cout*cinG*s.KH*s.KW), s.Cout, cinG, s.KH, s.KW, s.Group, runtime.PackMR)
}

func (b *Bench) conv(act runtime.Act) error {
	s := *b.w.Shape
	rows, err := b.input(s)
	if err != nil {
		return err
	}
	packed, err := b.packedConv(s)
	if err != nil {
		return err
	}
	bias, out, res := b.floats(s.Cout), b.output(s.OutLen()), b.residual(s.OutLen())
	if ps := b.w.Pool; ps != nil {
		// the convolution's output is the pool's temporary
		pooled := b.output(ps.Planes * ps.OutH() * ps.OutW())
		b.build = func(plan runtime.Plan) (*layer, error) {
			c, err := runtime.NewConvPlan(s, packed, runtime.PackMR, bias, act, plan)
			if err != nil {
				return nil, err
			}
			pc, err := runtime.NewPooledConv(c, *ps)
			if err != nil {
				return nil, err
			}
			return &layer{run: func(p *runtime.Pool) { pc.Run(p, rows, pooled, out) }, plan: c.Plan()}, nil
		}
		return nil
	}
	b.build = func(plan runtime.Plan) (*layer, error) {
		c, err := runtime.NewConvPlan(s, packed, runtime.PackMR, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func(p *runtime.Pool) { c.Run(p, rows, out, res) }, plan: c.Plan(), transposed: c.RunsTransposed(rows, res)}, nil
	}
	return nil
}

func (b *Bench) depthwise(act runtime.Act) error {
	s := b.w.Shape.Normalized()
	rows, err := b.input(s)
	if err != nil {
		return err
	}
	w, bias := b.floats(s.Cin*s.KH*s.KW), b.floats(s.Cin)
	out, res := b.output(s.OutLen()), b.residual(s.OutLen())
	b.build = func(plan runtime.Plan) (*layer, error) {
		d, err := runtime.NewDepthwiseConvPlan(s, w, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func(p *runtime.Pool) { d.Run(p, rows, out, res) }, plan: d.Plan()}, nil
	}
	return nil
}

func (b *Bench) block(acts []runtime.Act) error {
	if len(acts) != 3 {
		return fmt.Errorf("a block has 3 activations, got %q", b.w.Act)
	}
	conv := func(s runtime.ConvShape, act runtime.Act) (*runtime.Conv, error) {
		packed, err := b.packedConv(s)
		if err != nil {
			return nil, err
		}
		return runtime.NewConv(s, packed, runtime.PackMR, b.floats(s.Cout), act)
	}
	first := *b.w.Shape
	var expand *runtime.Conv
	if e := b.w.Expand; e != nil {
		var err error
		if expand, err = conv(*e, acts[0]); err != nil {
			return err
		}
		first = *e
	}
	rows, err := b.input(first)
	if err != nil {
		return err
	}
	d := b.w.Shape.Normalized()
	dw, err := runtime.NewDepthwiseConv(d, b.floats(d.Cin*9), b.floats(d.Cin), acts[1])
	if err != nil {
		return err
	}
	var project *runtime.Conv
	n := d.OutLen()
	if pr := b.w.Project; pr != nil {
		if project, err = conv(*pr, acts[2]); err != nil {
			return err
		}
		n = pr.OutLen()
	}
	out, res := b.output(n), b.residual(n)
	b.build = func(plan runtime.Plan) (*layer, error) {
		blk, err := runtime.NewInvertedResidualPlan(expand, dw, project, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func(p *runtime.Pool) { blk.Run(p, rows, out, res) }, plan: blk.Plan(0), blk: blk}, nil
	}
	return nil
}

func (b *Bench) dense(act runtime.Act) error {
	d := *b.w.Dense
	packed, err := runtime.PackDenseWeights(b.floats(d.Out*d.In), d.Out, d.In, runtime.PackNR)
	if err != nil {
		return err
	}
	x, y, bias := b.floats(d.Batch*d.In), b.output(d.Batch*d.Out), b.floats(d.Out)
	b.warm = runtime.Rows{x}
	b.build = func(plan runtime.Plan) (*layer, error) {
		l, err := runtime.NewDensePlan(d.Batch, d.In, d.Out, packed, runtime.PackNR, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func(p *runtime.Pool) { l.Run(p, x, y) }, plan: l.Plan()}, nil
	}
	return nil
}

// prepare streams the flush buffer through the caches of pool's workers,
// then reads the layer's input rows.
func (b *Bench) prepare(pool *runtime.Pool) {
	if b.flush != nil {
		pool.For(len(b.sums), func(_, i int) {
			chunk := b.flush[i*flushChunk : min(len(b.flush), (i+1)*flushChunk)]
			var s float32
			for j := 0; j < len(chunk); j += runtime.AlignFloats {
				s += chunk[j]
			}
			b.sums[i] = s
		})
	}
	rows := b.warm
	per := max(1, (len(rows)+63)/64)
	items := (len(rows) + per - 1) / per
	if len(b.warmSums) < items {
		b.warmSums = make([]float32, items)
	}
	pool.For(items, func(_, i int) {
		var s float32
		for _, r := range rows[i*per : min(len(rows), (i+1)*per)] {
			for j := 0; j < len(r); j += runtime.AlignFloats {
				s += r[j]
			}
		}
		b.warmSums[i] = s
	})
}

// A timed call is disturbed when its workers waited for their CPUs for
// part of it (another process ran there): the process's threads spent
// more than disturbedShare of threads x its wall time on a run queue
// (runWaits). A disturbed call is timed again, up to disturbedRetries
// times while at most half the layer's calls were disturbed.
const (
	disturbedShare   = 0.1
	disturbedRetries = 3
)

// timeOnce prepares the caches and times one call of l on pool in
// milliseconds, and reports whether the call ran undisturbed (where the
// system has no run-queue statistics every call does). On one worker
// (which runs on the calling goroutine, locked to its thread by time)
// the time is the thread's CPU time where the system has a clock for it,
// else the wall time.
func (b *Bench) timeOnce(pool *runtime.Pool, l *layer, waits *runWaits) (float64, bool) {
	threads := int64(pool.Threads())
	for try := 0; ; try++ {
		b.prepare(pool)
		wait0, hasWaits := waits.sum()
		th0, hasThread := threadCPU()
		start := time.Now()
		l.run(pool)
		wall := time.Since(start).Nanoseconds()
		th1, _ := threadCPU()
		wait1, _ := waits.sum()
		ms := float64(wall) / 1e6
		if threads == 1 && hasThread {
			ms = float64(th1-th0) / 1e6
		}
		b.calls++
		if !hasWaits {
			return ms, true
		}
		b.waitNs += wait1 - wait0
		b.wallNs += threads * wall
		if float64(wait1-wait0) <= disturbedShare*float64(threads*wall) {
			return ms, true
		}
		b.disturbed++
		if try == disturbedRetries || 2*b.disturbed > b.calls {
			// most calls were disturbed: the machine is busy, and
			// retrying would only spend the budget
			return ms, false
		}
	}
}

// OnCPU returns the share of their CPUs the workers had over the timed
// calls so far: 1 when no other process took them, 0.5 when one of two
// workers waited for its CPU throughout; 1 where the system has no
// run-queue statistics.
func (b *Bench) OnCPU() float64 {
	if b.wallNs == 0 {
		return 1
	}
	return max(0, 1-float64(b.waitNs)/float64(b.wallNs))
}

// Time builds the layer with each plan, then times rounds calls of each on
// pool, interleaved (one call of every plan per round, so that a busy
// spell of the machine touches them alike), and returns each plan's
// fastest call in milliseconds: its fastest undisturbed call (timeOnce)
// when it had one.
func (b *Bench) Time(pool *runtime.Pool, plans []runtime.Plan, rounds int) ([]float64, error) {
	ts, err := b.timePlans(pool, plans, rounds)
	if err != nil {
		return nil, err
	}
	return fastest(ts), nil
}

// TimeRules is Time for the default plans of each of rules (each layer
// planned with runtime.SetDefaultRules): for fitting the rules.
func (b *Bench) TimeRules(pool *runtime.Pool, rules []runtime.Rules, rounds int) ([]float64, error) {
	layers := make([]*layer, len(rules))
	for i, r := range rules {
		old := runtime.SetDefaultRules(r)
		l, err := b.build(runtime.Plan{})
		runtime.SetDefaultRules(old)
		if err != nil {
			return nil, err
		}
		layers[i] = l
	}
	return fastest(b.time(pool, layers, rounds)), nil
}

// timing is a plan's fastest call over some rounds: of its undisturbed
// calls when it had any (clean), else of all.
type timing struct {
	ms    float64
	clean bool
}

// faster reports whether t beats u: an undisturbed timing beats a
// disturbed one, else the faster wins.
func (t timing) faster(u timing) bool {
	if t.clean != u.clean {
		return t.clean
	}
	return t.ms < u.ms
}

func fastest(ts []timing) []float64 {
	ms := make([]float64, len(ts))
	for i, t := range ts {
		ms[i] = t.ms
	}
	return ms
}

// time times rounds calls of each layer, interleaved.
func (b *Bench) time(pool *runtime.Pool, layers []*layer, rounds int) []timing {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	for _, l := range layers {
		l.run(pool) // the first call allocates the workers' buffers
	}
	ts := make([]timing, len(layers))
	waits := processWaits(pool.Threads() == 1) // time holds this thread
	for r := range max(1, rounds) {
		for i, l := range layers {
			ms, clean := b.timeOnce(pool, l, waits)
			if t := (timing{ms, clean}); r == 0 || t.faster(ts[i]) {
				ts[i] = t
			}
		}
	}
	return ts
}

// timePlans is time for plans.
func (b *Bench) timePlans(pool *runtime.Pool, plans []runtime.Plan, rounds int) ([]timing, error) {
	layers := make([]*layer, len(plans))
	for i, p := range plans {
		var err error
		if layers[i], err = b.build(p); err != nil {
			return nil, fmt.Errorf("plan %v: %w", p, err)
		}
	}
	return b.time(pool, layers, rounds), nil
}

// Resolved returns the plan the layer runs for plan at threads workers,
// every choice explicit.
func (b *Bench) Resolved(plan runtime.Plan, threads int) (runtime.Plan, error) {
	l, err := b.build(plan)
	if err != nil {
		return runtime.Plan{}, err
	}
	if l.blk != nil {
		return l.blk.Plan(threads), nil
	}
	return l.plan, nil
}

// Runs describes what the layer runs for plan at threads workers: its
// plan with every choice explicit, and for a transposed plan whether this
// input takes it. Plans with one description run alike.
func (b *Bench) Runs(plan runtime.Plan, threads int) (string, error) {
	l, err := b.build(plan)
	if err != nil {
		return "", err
	}
	if l.blk != nil {
		l.plan = l.blk.Plan(threads)
	}
	desc := l.plan.String()
	if l.plan.Algo == runtime.AlgoTransposed && !l.transposed {
		desc += " (run pixel-major)"
	}
	return desc, nil
}

// flushMs times the flush and input read of prepare on pool, in
// milliseconds.
func (b *Bench) flushMs(pool *runtime.Pool) float64 {
	best := 0.0
	for i := range 3 {
		start := time.Now()
		b.prepare(pool)
		t := float64(time.Since(start).Nanoseconds()) / 1e6
		if i == 0 || t < best {
			best = t
		}
	}
	return best
}
