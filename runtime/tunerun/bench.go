package tunerun

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tsmc-go/tsmc/runtime"
)

// Bench times the plans of one workload on this machine, on random data,
// with the caches as a model run leaves them for the layer: before each
// timed call it streams FlushBytes of other data through every worker's
// caches (the rest of the model's weights and activations, which a run
// reads between two calls of the layer, so that large weights come from
// memory as they do there) and then reads the layer's input (written by
// the layer before it, so warm).
type Bench struct {
	w     Workload
	pool  *runtime.Pool
	flush []float32
	warm  runtime.Rows
	// the per-item sums of the flush and of the input read, kept so that
	// their loads stay
	sums, warmSums []float32
	build          func(runtime.Plan) (*layer, error)
}

// layer is a workload built with one plan.
type layer struct {
	run  func()
	plan runtime.Plan // every choice explicit
}

// flushChunk is the floats a flush work item reads.
const flushChunk = 16 << 10

// NewBench prepares w on pool with random weights and inputs;
// flushBytes is the data streamed between timed calls.
func NewBench(w Workload, pool *runtime.Pool, flushBytes int) (*Bench, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	acts, err := w.acts()
	if err != nil {
		return nil, err
	}
	b := &Bench{w: w, pool: pool}
	if n := flushBytes / 4; n > 0 {
		b.flush = runtime.AlignedFloats(runtime.AlignUp(n))
		for i := range b.flush {
			b.flush[i] = 1
		}
		b.sums = make([]float32, (len(b.flush)+flushChunk-1)/flushChunk)
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(w.Key()))))
	switch w.Op {
	case OpConv:
		err = b.conv(rng, acts[0])
	case OpDepthwise:
		err = b.depthwise(rng, acts[0])
	case OpBlock:
		err = b.block(rng, acts)
	case OpDense:
		err = b.dense(rng, acts[0])
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %w", w, err)
	}
	return b, nil
}

func randFloats(rng *rand.Rand, n int) []float32 {
	v := runtime.AlignedFloats(n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// input returns the row table of a convolution input of s, read through
// the workload's shift and state.
func (b *Bench) input(rng *rand.Rand, s runtime.ConvShape) (runtime.Rows, error) {
	hw := s.H * s.W
	x := randFloats(rng, s.InLen())
	rows := runtime.NewRows(s.Frames, s.Cin)
	if b.w.Shift == nil {
		rows.SetPlain(x, s.Frames, s.Cin, hw)
	} else {
		var state []float32
		if b.w.State {
			state = randFloats(rng, s.Frames/b.w.Shift.Segments*b.w.Shift.StateChannels()*hw)
		}
		if err := rows.SetShifted(x, s.Frames, s.Cin, hw, *b.w.Shift, state); err != nil {
			return nil, err
		}
	}
	b.warm = rows
	return rows, nil
}

func (b *Bench) residual(rng *rand.Rand, n int) []float32 {
	if !b.w.Residual {
		return nil
	}
	return randFloats(rng, n)
}

// packedConv returns random weights of s packed for the GEMM.
func packedConv(rng *rand.Rand, s runtime.ConvShape) ([]float32, error) {
	s = s.Normalized()
	cinG := s.Cin / s.Group
	return runtime.PackConvWeights(randFloats(rng, s.Cout*cinG*s.KH*s.KW), s.Cout, cinG, s.KH, s.KW, s.Group, runtime.PackMR)
}

func (b *Bench) conv(rng *rand.Rand, act runtime.Act) error {
	s := *b.w.Shape
	rows, err := b.input(rng, s)
	if err != nil {
		return err
	}
	packed, err := packedConv(rng, s)
	if err != nil {
		return err
	}
	bias, out, res := randFloats(rng, s.Cout), runtime.AlignedFloats(s.OutLen()), b.residual(rng, s.OutLen())
	b.build = func(plan runtime.Plan) (*layer, error) {
		c, err := runtime.NewConvPlan(s, packed, runtime.PackMR, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func() { c.Run(b.pool, rows, out, res) }, plan: c.Plan()}, nil
	}
	return nil
}

func (b *Bench) depthwise(rng *rand.Rand, act runtime.Act) error {
	s := b.w.Shape.Normalized()
	rows, err := b.input(rng, s)
	if err != nil {
		return err
	}
	w, bias := randFloats(rng, s.Cin*s.KH*s.KW), randFloats(rng, s.Cin)
	out, res := runtime.AlignedFloats(s.OutLen()), b.residual(rng, s.OutLen())
	b.build = func(plan runtime.Plan) (*layer, error) {
		d, err := runtime.NewDepthwiseConvPlan(s, w, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func() { d.Run(b.pool, rows, out, res) }, plan: d.Plan()}, nil
	}
	return nil
}

func (b *Bench) block(rng *rand.Rand, acts []runtime.Act) error {
	if len(acts) != 3 {
		return fmt.Errorf("a block has 3 activations, got %q", b.w.Act)
	}
	conv := func(s runtime.ConvShape, act runtime.Act) (*runtime.Conv, error) {
		packed, err := packedConv(rng, s)
		if err != nil {
			return nil, err
		}
		return runtime.NewConv(s, packed, runtime.PackMR, randFloats(rng, s.Cout), act)
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
	rows, err := b.input(rng, first)
	if err != nil {
		return err
	}
	d := b.w.Shape.Normalized()
	dw, err := runtime.NewDepthwiseConv(d, randFloats(rng, d.Cin*9), randFloats(rng, d.Cin), acts[1])
	if err != nil {
		return err
	}
	project, err := conv(*b.w.Project, acts[2])
	if err != nil {
		return err
	}
	n := b.w.Project.OutLen()
	out, res := runtime.AlignedFloats(n), b.residual(rng, n)
	b.build = func(plan runtime.Plan) (*layer, error) {
		blk, err := runtime.NewInvertedResidualPlan(expand, dw, project, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func() { blk.Run(b.pool, rows, out, res) }, plan: blk.Plan(b.pool.Threads())}, nil
	}
	return nil
}

func (b *Bench) dense(rng *rand.Rand, act runtime.Act) error {
	d := *b.w.Dense
	packed, err := runtime.PackDenseWeights(randFloats(rng, d.Out*d.In), d.Out, d.In, runtime.PackNR)
	if err != nil {
		return err
	}
	x, y, bias := randFloats(rng, d.Batch*d.In), runtime.AlignedFloats(d.Batch*d.Out), randFloats(rng, d.Out)
	b.warm = runtime.Rows{x}
	b.build = func(plan runtime.Plan) (*layer, error) {
		l, err := runtime.NewDensePlan(d.Batch, d.In, d.Out, packed, runtime.PackNR, bias, act, plan)
		if err != nil {
			return nil, err
		}
		return &layer{run: func() { l.Run(b.pool, x, y) }, plan: l.Plan()}, nil
	}
	return nil
}

// prepare streams the flush buffer through the workers' caches, then
// reads the layer's input rows.
func (b *Bench) prepare() {
	if b.flush != nil {
		b.pool.For(len(b.sums), func(_, i int) {
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
	b.pool.For(items, func(_, i int) {
		var s float32
		for _, r := range rows[i*per : min(len(rows), (i+1)*per)] {
			for j := 0; j < len(r); j += runtime.AlignFloats {
				s += r[j]
			}
		}
		b.warmSums[i] = s
	})
}

// timeOnce prepares the caches and times one call of l in milliseconds.
func (b *Bench) timeOnce(l *layer) float64 {
	b.prepare()
	start := time.Now()
	l.run()
	return float64(time.Since(start).Nanoseconds()) / 1e6
}

// Time builds the layer with each plan, then times rounds calls of each,
// interleaved (one call of every plan per round, so that a busy spell of
// the machine touches them alike), and returns each plan's fastest call
// in milliseconds.
func (b *Bench) Time(plans []runtime.Plan, rounds int) ([]float64, error) {
	layers := make([]*layer, len(plans))
	for i, p := range plans {
		var err error
		if layers[i], err = b.build(p); err != nil {
			return nil, fmt.Errorf("plan %v: %w", p, err)
		}
		layers[i].run() // the first call allocates the workers' buffers
	}
	ms := make([]float64, len(plans))
	for r := range max(1, rounds) {
		for i, l := range layers {
			t := b.timeOnce(l)
			if r == 0 || t < ms[i] {
				ms[i] = t
			}
		}
	}
	return ms, nil
}

// Resolved returns the plan the layer runs for plan, every choice
// explicit.
func (b *Bench) Resolved(plan runtime.Plan) (runtime.Plan, error) {
	l, err := b.build(plan)
	if err != nil {
		return runtime.Plan{}, err
	}
	return l.plan, nil
}

// flushMs times the flush and input read of prepare, in milliseconds.
func (b *Bench) flushMs() float64 {
	best := 0.0
	for i := range 3 {
		start := time.Now()
		b.prepare()
		t := float64(time.Since(start).Nanoseconds()) / 1e6
		if i == 0 || t < best {
			best = t
		}
	}
	return best
}
