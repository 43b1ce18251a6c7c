package runtime

import "fmt"

// Dense is a fully connected layer y = act(x·Wᵀ + b) over a batch of rows
// (the classifier over a clip's frames), planned for a fixed shape. It runs
// on the GEMM micro-kernel with the roles of the convolution swapped: the
// batch rows are the A operand (packed at run time), the weights the B
// operand (packed at compile time by PackDenseWeights), and the bias is
// added as a residual row broadcast over the tile (LDR = 0).
type Dense struct {
	batch, in, out int
	packNR         int
	kern           *GemmKernel
	w, bias        []float32
	lo, hi         float32
	tail           actTail
	kc             int
	xp             []float32 // packed x, [row panel][k][MR]; rows past batch are zero
	rowPanels      int
	cols           int // output columns per work item, a multiple of NR
}

// NewDense plans a dense layer by the default rules: NewDensePlan with the
// zero Plan.
func NewDense(batch, in, out int, packed []float32, packNR int, bias []float32, act Act) (*Dense, error) {
	return NewDensePlan(batch, in, out, packed, packNR, bias, act, Plan{})
}

// NewDensePlan plans a dense layer of in inputs and out outputs over
// batch rows. packed holds the weights packed with panel width packNR;
// bias has out values or is nil; plan sets the output columns per work
// item (Plan.Columns; by default one B panel).
func NewDensePlan(batch, in, out int, packed []float32, packNR int, bias []float32, act Act, plan Plan) (*Dense, error) {
	if batch <= 0 || in <= 0 || out <= 0 || packNR <= 0 {
		return nil, fmt.Errorf("dense %dx%d -> %d: sizes must be positive", batch, in, out)
	}
	if err := plan.checkFields("dense layer", "columns"); err != nil {
		return nil, fmt.Errorf("dense %dx%d -> %d: %w", batch, in, out, err)
	}
	if len(packed) != PackedDenseWeightsLen(out, in, packNR) {
		return nil, fmt.Errorf("dense %dx%d -> %d: packed weights have %d values, want %d", batch, in, out, len(packed), PackedDenseWeightsLen(out, in, packNR))
	}
	if bias != nil && len(bias) != out {
		return nil, fmt.Errorf("dense %dx%d -> %d: bias has %d values", batch, in, out, len(bias))
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("dense %dx%d -> %d: %w", batch, in, out, err)
	}
	d := &Dense{batch: batch, in: in, out: out, packNR: packNR, kern: GemmKernelForB(packNR), w: packed, bias: bias}
	d.lo, d.hi = act.Bounds()
	d.tail = act.tail()
	d.kc = in
	if kc := d.kern.KC; kc > 0 && in > kc {
		d.kc = ceilDiv(in, ceilDiv(in, kc))
	}
	d.rowPanels = ceilDiv(batch, d.kern.MR)
	d.cols = max(1, ceilDiv(plan.Columns, d.kern.NR)) * d.kern.NR
	d.xp = AlignedFloats(d.rowPanels * d.kern.MR * in)
	return d, nil
}

// Kernel returns the name of the micro-kernel in use.
func (d *Dense) Kernel() string { return d.kern.Name }

func (d *Dense) profileName() string {
	return fmt.Sprintf("dense %dx%d -> %d", d.batch, d.in, d.out)
}
func (d *Dense) profileFLOPs() float64 { return 2 * float64(d.batch*d.in*d.out) }

// Run computes y [batch][out] from x [batch][in]. A Dense owns its
// packing buffer: Run must not be called concurrently on one Dense.
func (d *Dense) Run(p *Pool, x, y []float32) {
	defer profileDone(d, profileStart())
	if len(x) != d.batch*d.in || len(y) != d.batch*d.out {
		panic(fmt.Sprintf("runtime: dense of %d floats into %d, want %d x %d into %d", len(x), len(y), d.batch, d.in, d.out))
	}
	mr, nr := d.kern.MR, d.kern.NR
	// the padding rows of the last panel stay zero from NewDense
	packLaneMajor(d.xp, x, d.in, d.batch, d.in, mr, 1)
	zero := ZeroRow(mr)
	p.For(ceilDiv(d.out, d.cols), func(worker, item int) {
		w := p.state(worker, 0, mr, nr)
		for o0 := item * d.cols; o0 < min(d.out, (item+1)*d.cols); o0 += nr {
			d.columns(w, y, o0, zero)
		}
	})
}

// Plan returns the plan the layer runs, every choice explicit.
func (d *Dense) Plan() Plan { return Plan{Columns: d.cols} }

// columns computes the output columns [o0, o0+NR) of every row of y.
func (d *Dense) columns(w *workerState, y []float32, o0 int, zero []float32) {
	mr := d.kern.MR
	segs := [1]colSeg{{n: min(d.kern.NR, d.out-o0), c: o0, r: o0}}
	b := d.w[o0/d.packNR*d.packNR*d.in+o0%d.packNR:]
	t := &w.tile
	t.LDA, t.LDB, t.Lo, t.Hi, t.Bias = mr, d.packNR, d.lo, d.hi, zero
	for k0 := 0; k0 < d.in; k0 += d.kc {
		kn := min(d.kc, d.in-k0)
		flags := 0
		if k0 > 0 {
			flags |= TileAccumulate
		}
		if k0+kn == d.in {
			flags |= TileEpilogue
		}
		t.K, t.B = kn, b[k0*d.packNR:]
		for rp := range d.rowPanels {
			t.A = d.xp[(rp*d.in+k0)*mr:]
			m := min(mr, d.batch-rp*mr)
			w.runTile(d.kern, m, segs[:], y, rp*mr*d.out, d.out, d.bias, 0, 0, flags)
			if flags&TileEpilogue != 0 {
				d.tail.applySegs(w, y, rp*mr*d.out, d.out, m, segs[:])
			}
		}
	}
}
