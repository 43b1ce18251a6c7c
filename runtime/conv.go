package runtime

import (
	"fmt"
	"unsafe"
)

// ConvShape is the static shape of a convolution over a batch of frames.
// Zero strides, dilations and group mean 1.
type ConvShape struct {
	Frames                               int // frames per call (N*T)
	Cin, H, W                            int // input channels and size
	Cout                                 int
	Group                                int
	KH, KW                               int
	StrideH, StrideW                     int
	DilationH, DilationW                 int
	PadTop, PadLeft, PadBottom, PadRight int
}

// Normalized returns s with zero strides, dilations and group set to 1.
func (s ConvShape) Normalized() ConvShape { return s.normalized() }

func (s ConvShape) normalized() ConvShape {
	one := func(v *int) {
		if *v == 0 {
			*v = 1
		}
	}
	one(&s.Group)
	one(&s.StrideH)
	one(&s.StrideW)
	one(&s.DilationH)
	one(&s.DilationW)
	return s
}

// OutH returns the output height.
func (s ConvShape) OutH() int {
	s = s.normalized()
	return (s.H+s.PadTop+s.PadBottom-(s.KH-1)*s.DilationH-1)/s.StrideH + 1
}

// OutW returns the output width.
func (s ConvShape) OutW() int {
	s = s.normalized()
	return (s.W+s.PadLeft+s.PadRight-(s.KW-1)*s.DilationW-1)/s.StrideW + 1
}

// InLen returns the float count of the input.
func (s ConvShape) InLen() int { return s.Frames * s.Cin * s.H * s.W }

// OutLen returns the float count of the output.
func (s ConvShape) OutLen() int { return s.Frames * s.Cout * s.OutH() * s.OutW() }

// FLOPs returns 2 x the multiply-adds of one call.
func (s ConvShape) FLOPs() float64 {
	s = s.normalized()
	return 2 * float64(s.Frames) * float64(s.Cout) * float64(s.OutH()*s.OutW()) * float64(s.Cin/s.Group*s.KH*s.KW)
}

func (s ConvShape) String() string {
	s = s.normalized()
	return fmt.Sprintf("conv %dx[%d,%d,%d] -> %d, kernel %dx%d, stride %d,%d, dilation %d,%d, pads %d,%d,%d,%d, group %d",
		s.Frames, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW, s.StrideH, s.StrideW, s.DilationH, s.DilationW,
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight, s.Group)
}

// Validate reports shapes the kernels cannot run.
func (s ConvShape) Validate() error {
	n := s.normalized()
	switch {
	case n.Frames <= 0 || n.Cin <= 0 || n.H <= 0 || n.W <= 0 || n.Cout <= 0 || n.KH <= 0 || n.KW <= 0:
		return fmt.Errorf("%v: sizes must be positive", s)
	case n.Group < 0 || n.StrideH < 0 || n.StrideW < 0 || n.DilationH < 0 || n.DilationW < 0:
		return fmt.Errorf("%v: negative stride, dilation or group", s)
	case n.PadTop < 0 || n.PadLeft < 0 || n.PadBottom < 0 || n.PadRight < 0:
		return fmt.Errorf("%v: negative padding", s)
	case n.Cin%n.Group != 0 || n.Cout%n.Group != 0:
		return fmt.Errorf("%v: group does not divide the channels", s)
	case n.OutH() <= 0 || n.OutW() <= 0:
		return fmt.Errorf("%v: kernel larger than the padded input", s)
	}
	return nil
}

// Conv is a convolution planned for a fixed shape, run as a GEMM per group
// (see the package documentation). It is built once per Model; Run may be
// called any number of times, not concurrently.
type Conv struct {
	s      ConvShape
	kern   *GemmKernel
	packMR int
	w      []float32 // packed weights
	bias   []float32 // bias padded to the packed panels
	lo, hi float32
	tail   actTail // the activation's elementwise part, applied to finished tiles

	k, kc, nc           int // GEMM depth, its block, pixel block
	frameNC             int // pixel block of gemmFrame (fused blocks)
	coutG, cinG, panels int // per group: outputs, inputs, packed panels
	ow, ohw, pixels     int
	nJB, nCB, cbPanels  int // pixel blocks, output-channel blocks and their panels
	pointwise           bool
	epoch               uint64 // Run count, keys packed B blocks to one run
	// im2col packs the runs of the convolution (nil: packB in Go); it
	// takes runs of up to im2colN pixels
	im2col  func(*PackRun)
	im2colN int
	wino    *winograd  // the Winograd plan, or nil
	tc      *tcPlan    // the transposed-C plan, or nil
	phase   *phasePlan // the stride-phase plan, or nil
	// ruledAlgo, ruledBand: the plan left the algorithm, the phase band
	// to the rules (a fused pool may choose them again: NewPooledConv)
	ruledAlgo, ruledBand bool
	// split is the packing kernel of stride StrideW that splits the input
	// into phase planes in runs of up to splitN pixels (nil: packRunGo)
	split  func(*PackRun)
	splitN int
	// packAll: the B block is packed for all K at once and reused by the
	// output-channel blocks of a worker
	packAll bool
	// sub is the pointwise convolution a strided 1x1 one runs on its
	// subsampled input, subBuf and subRows that input (conv_sub.go)
	sub     *Conv
	subBuf  []float32
	subRows Rows
}

// im2colMaxKW is the widest kernel the assembly im2col kernels take
// (PackRun).
const im2colMaxKW = 8

// packKey identifies the packed B block a worker holds: conv, run, group
// and pixel block.
type packKey struct {
	c     *Conv
	epoch uint64
	g, jb int
}

// NewConv plans a convolution by the default rules: NewConvPlan with the
// zero Plan.
func NewConv(s ConvShape, packed []float32, packMR int, bias []float32, act Act) (*Conv, error) {
	return NewConvPlan(s, packed, packMR, bias, act, Plan{})
}

// NewConvPlan plans a convolution. packed holds the weights packed by
// PackConvWeights with panel height packMR; bias has Cout values or is
// nil; act is fused into the epilogue; plan chooses the algorithm,
// micro-kernel and blocking (its zero fields by the default rules). A
// plan the shape or this CPU cannot run is an error.
func NewConvPlan(s ConvShape, packed []float32, packMR int, bias []float32, act Act, plan Plan) (*Conv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	if err := plan.checkFields("convolution", "algo", "kernel", "pixel_block", "channel_blocks", "pack", "tiles", "panels", "band"); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	s = s.normalized()
	kern, err := convKernel(plan.Kernel, packMR)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	c := &Conv{s: s, packMR: packMR, kern: kern}
	c.derive()
	if want := PackedConvWeightsLen(s.Cout, c.cinG, s.KH, s.KW, s.Group, packMR); len(packed) != want {
		return nil, fmt.Errorf("%v: packed weights have %d values, want %d", s, len(packed), want)
	}
	if bias != nil && len(bias) != s.Cout {
		return nil, fmt.Errorf("%v: bias has %d values, want %d", s, len(bias), s.Cout)
	}
	c.w = packed
	c.bias = make([]float32, s.Group*c.panels*packMR)
	for co, v := range bias {
		g, o := co/c.coutG, co%c.coutG
		c.bias[(g*c.panels+o/packMR)*packMR+o%packMR] = v
	}
	c.lo, c.hi = act.Bounds()
	c.tail = act.tail()
	if k, n := archIm2col(isa, s.StrideW); k != nil {
		c.split, c.splitN = k, n
		if s.KW <= im2colMaxKW && c.kern.NR <= n {
			c.im2col, c.im2colN = k, n
		}
	}
	if subsampleFits(s) && plan.Algo != AlgoPhase {
		if err := c.newSubsampled(packed, bias, act, plan); err != nil {
			return nil, fmt.Errorf("%v: %w", s, err)
		}
		return c, nil
	}
	if err := c.setPlan(plan, rules); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	return c, nil
}

// derive sets the sizes that follow from the shape and packing.
func (c *Conv) derive() {
	s := c.s
	c.cinG, c.coutG = s.Cin/s.Group, s.Cout/s.Group
	c.k = c.cinG * s.KH * s.KW
	c.panels = ceilDiv(c.coutG, c.packMR)
	c.ow = s.OutW()
	c.ohw = s.OutH() * c.ow
	c.pixels = s.Frames * c.ohw
	c.pointwise = s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 &&
		s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
}

// setPlan chooses the algorithm and blocking: p's fields, else r's.
func (c *Conv) setPlan(p Plan, r Rules) error {
	algo := p.Algo
	switch algo {
	case "":
		switch {
		case c.phaseStem(r) && c.coutG <= r.PhaseMaxCout:
			algo = AlgoPhase
		case winogradFits(c) && winogradPays(c, r):
			algo = AlgoWinograd
		case tcFits(c) && p.Kernel == "":
			// the transposed plan's cost model decides (newTCPlan)
		default:
			algo = AlgoGEMM
		}
	case AlgoGEMM:
	case AlgoPhase:
		if !phaseFits(c) {
			return fmt.Errorf("plan %v: the phase plan is for convolutions other than pointwise ones of stride 1", p)
		}
	case AlgoWinograd:
		if !winogradFits(c) {
			return fmt.Errorf("plan %v: Winograd F(2x2, 3x3) needs a 3x3 stride-1 convolution with padding 1, one group and the transforms on this CPU", p)
		}
	case AlgoTransposed:
		if !tcFits(c) {
			return fmt.Errorf("plan %v: the transposed plan needs a pointwise convolution of one group and a transposed-C kernel on this CPU", p)
		}
		if p.Kernel != "" {
			return fmt.Errorf("plan %v: the transposed plan runs on its own kernel", p)
		}
	default:
		return fmt.Errorf("plan %v: unknown algorithm %q", p, algo)
	}
	if algo != AlgoWinograd && p.Tiles != 0 {
		return fmt.Errorf("plan %v: tiles are for Winograd plans", p)
	}
	if algo != AlgoTransposed && algo != "" && p.Panels != 0 {
		return fmt.Errorf("plan %v: panels are for transposed plans", p)
	}
	if algo != AlgoPhase && p.Band != 0 {
		return fmt.Errorf("plan %v: bands are for phase plans", p)
	}
	c.ruledAlgo, c.ruledBand = p.Algo == "", p.Band == 0
	if k := narrowKernel(c.packMR); algo == AlgoWinograd && p.Kernel == "" && k != nil && c.coutG <= r.WinoNarrowMaxCout {
		c.kern = k
	}
	// The GEMM blocks: the plan of AlgoGEMM, and the one fused blocks
	// (gemmFrame, gemmRows) and a transposed plan's fallbacks use.
	c.gemmBlocks(p, r)
	switch algo {
	case AlgoWinograd:
		c.wino = newWinograd(c, p.Tiles, r)
	case AlgoTransposed:
		c.tc = newTCPlan(c, p.Panels, true, r)
	case AlgoPhase:
		c.phase = newPhasePlan(c, p.Band, r)
	case "":
		c.tc = newTCPlan(c, p.Panels, false, r)
	}
	return nil
}

// gemmBlocks sets the pixel-major GEMM's blocks from p, else from r.
func (c *Conv) gemmBlocks(p Plan, r Rules) {
	s := c.s
	nr := c.kern.NR
	c.kc = c.k
	if kc := c.kern.KC; kc > 0 && c.k > kc {
		c.kc = ceilDiv(c.k, ceilDiv(c.k, kc))
	}
	// Work items are (group, pixel block, output-channel block). Splitting
	// the pixels is free; splitting the output channels makes every block
	// pack the same B again, so pixel blocks shrink first (down to
	// MinNCPanels panels), and only then are the output channels split.
	nc := ceilDiv(min(p.PixelBlock, maxNC), nr) * nr
	if nc == 0 {
		nc = min(max(nr, r.BBudget/c.kc/nr*nr), r.MaxNC)
		if want := ceilDiv(r.TargetItems, s.Group); ceilDiv(c.pixels, nc) < want {
			nc = max(min(nc, r.MinNCPanels*nr), ceilDiv(ceilDiv(c.pixels, want), nr)*nr)
		}
	}
	c.pixelBlocks(nc, p.ChannelBlocks, r)
	c.frameNC = c.nc
	switch p.Pack {
	case PackShared:
		c.packAll = true
	case PackPerK:
		c.packAll = false
	default:
		// Output-channel blocks share one packing of their B block when
		// it fits the budget: all K rows are packed at once (the kernel
		// still runs K blocks of kc, whose B panels stay in L1).
		c.packAll = c.nCB > 1 && c.k*c.nc <= r.ReuseBudget
		// An im2col convolution whose B block is too deep for that,
		// which every output-channel block would pack again, takes pixel
		// blocks of one panel instead, packed once for all K and shared
		// (ResNet50's deep 3x3 convolutions and its 7x7 stem).
		if p.PixelBlock == 0 && !c.pointwise && !c.packAll && c.k*nr <= r.NarrowBudget {
			c.pixelBlocks(nr, p.ChannelBlocks, r)
			c.packAll = c.nCB > 1
		}
	}
}

// pixelBlocks splits the pixels into balanced blocks of at most nc (a
// multiple of the kernel's NR), then the output channels into cb blocks
// (0: as many as TargetItems wants beside them).
func (c *Conv) pixelBlocks(nc, cb int, r Rules) {
	nr := c.kern.NR
	c.nJB = ceilDiv(c.pixels, nc)
	c.nc = ceilDiv(ceilDiv(c.pixels, c.nJB), nr) * nr // balance the blocks
	c.nJB = ceilDiv(c.pixels, c.nc)
	c.nCB = min(c.panels, max(1, ceilDiv(r.TargetItems, c.s.Group*c.nJB)))
	if cb > 0 {
		c.nCB = min(c.panels, cb)
	}
	c.cbPanels = ceilDiv(c.panels, c.nCB)
	c.nCB = ceilDiv(c.panels, c.cbPanels)
}

// Plan returns the plan the convolution runs with every choice explicit
// (a transposed plan the rules chose may still run a call pixel-major,
// see takesTC).
func (c *Conv) Plan() Plan {
	switch {
	case c.sub != nil:
		return c.sub.Plan()
	case c.wino != nil:
		return Plan{Algo: AlgoWinograd, Kernel: c.kern.Name, Tiles: c.wino.nt}
	case c.tc != nil:
		return Plan{Algo: AlgoTransposed, Panels: c.tc.perQB}
	case c.phase != nil:
		return Plan{Algo: AlgoPhase, Kernel: c.kern.Name, Band: c.phase.band}
	}
	p := Plan{Algo: AlgoGEMM, Kernel: c.kern.Name, PixelBlock: c.nc, ChannelBlocks: c.nCB, Pack: PackPerK}
	if c.packAll {
		p.Pack = PackShared
	}
	return p
}

// Shape returns the planned shape.
func (c *Conv) Shape() ConvShape { return c.s }

func (c *Conv) profileName() string   { return c.s.String() }
func (c *Conv) profileFLOPs() float64 { return c.s.FLOPs() }

// Kernel returns the name of the micro-kernel in use.
func (c *Conv) Kernel() string {
	if c.sub != nil {
		return c.sub.Kernel()
	}
	return c.kern.Name
}

// Winograd reports whether the convolution runs as Winograd F(2x2, 3x3).
// A convolution's plans give the same bits unless they differ in this.
func (c *Conv) Winograd() bool { return c.wino != nil }

// Run computes out = act(conv(in) + bias + residual), the activation
// applied to each output tile as it is finished. in is the row table
// of the input (Frames x Cin rows of H*W floats), out is [Frames][Cout][OH*OW],
// residual is nil or shaped like out and must not alias it. Mismatched
// lengths are a code-generator bug and panic.
func (c *Conv) Run(p *Pool, in Rows, out, residual []float32) {
	defer profileDone(c, profileStart())
	c.run(p, in, out, residual)
}

// run is Run without the profile.
func (c *Conv) run(p *Pool, in Rows, out, residual []float32) {
	s := c.s
	checkIn(in, s.Frames*s.Cin, s.H*s.W, "conv")
	checkOut(out, residual, s.Frames*s.Cout*c.ohw, "conv")
	c.epoch++ // the input may have changed: no packed block of an earlier run is reused
	if c.sub != nil {
		c.subsample(p, in)
		c.sub.run(p, c.subRows, out, residual)
		return
	}
	if ph := c.phase; ph != nil {
		p.For(s.Group*s.Frames*ph.bands, func(worker, item int) {
			c.runPhase(p, worker, item, in, out, residual)
		})
		return
	}
	if c.takesTC(in, residual) {
		c.runTC(p, in, out, residual)
		return
	}
	if wg := c.wino; wg != nil {
		p.For(ceilDiv(wg.tiles, wg.nt), func(worker, item int) {
			c.runWinograd(p, worker, item, in, out, residual)
		})
		return
	}
	p.For(s.Group*c.nJB*c.nCB, func(worker, item int) {
		c.item(p, worker, item, in, nil, out, residual)
	})
}

// ScaleFoldPays reports whether RunScaled on s pays against a scaled
// input written out for Run: where the input map is larger than any the
// transposed plan takes (Rules.TCMaxPixels), so the scaled tensor would
// leave the caches while the pixel-major plan scales its panels in them,
// and not of Winograd's shape, whose plan RunScaled gives up. On smaller
// maps the scaled tensor stays in the caches, and writing it costs less
// than the transposed plan would lose.
func ScaleFoldPays(s ConvShape) bool {
	s = s.normalized()
	return s.H*s.W > rules.TCMaxPixels && !winogradShape(s)
}

// RunScaled is Run on the input scaled per frame and channel: input row
// f*Cin+ci is read times scale[f*Cin+ci] (a squeeze-and-excitation
// block's gate, folded into this convolution's packing instead of
// written out as a tensor). It runs the pixel-major GEMM plan, which
// packs every B panel and scales it there.
func (c *Conv) RunScaled(p *Pool, in Rows, scale, out, residual []float32) {
	defer profileDone(c, profileStart())
	s := c.s
	checkIn(in, s.Frames*s.Cin, s.H*s.W, "conv")
	checkOut(out, residual, s.Frames*s.Cout*c.ohw, "conv")
	if len(scale) != s.Frames*s.Cin {
		panic(fmt.Sprintf("runtime: conv scale has %d values, want %d", len(scale), s.Frames*s.Cin))
	}
	if c.sub != nil {
		c.subsample(p, in)
		c.sub.runScaled(p, c.subRows, scale, out, residual)
		return
	}
	c.runScaled(p, in, scale, out, residual)
}

// runScaled is RunScaled after its checks, without the profile.
func (c *Conv) runScaled(p *Pool, in Rows, scale, out, residual []float32) {
	c.epoch++
	p.For(c.s.Group*c.nJB*c.nCB, func(worker, item int) {
		c.item(p, worker, item, in, scale, out, residual)
	})
}

func checkIn(in Rows, rows, n int, op string) {
	if len(in) != rows {
		panic(fmt.Sprintf("runtime: %s input has %d rows, want %d", op, len(in), rows))
	}
	for i, r := range in {
		if len(r) != n {
			panic(fmt.Sprintf("runtime: %s input row %d has %d floats, want %d", op, i, len(r), n))
		}
	}
}

func checkOut(out, residual []float32, n int, op string) {
	if len(out) != n || (residual != nil && len(residual) != n) {
		panic(fmt.Sprintf("runtime: %s output has %d floats (residual %d), want %d", op, len(out), len(residual), n))
	}
}

// pixelRun is a run of consecutive pixels of one frame inside one B panel,
// starting at column j of the block: output row oy, columns ox.. (for a
// pointwise convolution, pixels q = ox.. of the frame).
type pixelRun struct {
	f, oy, ox, n, j int
}

// plan fills w.runs (packing runs), w.segs/w.segAt (output segments of
// each panel) and w.direct for the block of np pixels from p0; unless
// direct, every panel is packed.
func (c *Conv) plan(w *workerState, p0, np int, direct bool) {
	nr := c.kern.NR
	w.runs, w.segs, w.segAt, w.direct = w.runs[:0], w.segs[:0], w.segAt[:0], w.direct[:0]
	for j := 0; j < np; {
		p := p0 + j
		f, q := p/c.ohw, p%c.ohw
		panelEnd := (j/nr + 1) * nr
		if j%nr == 0 {
			w.segAt = append(w.segAt, len(w.segs))
		}
		n := min(c.ohw-q, panelEnd-j, np-j)
		w.segs = append(w.segs, colSeg{j: j % nr, n: n, c: f*c.s.Cout*c.ohw + q, r: f*c.s.Cout*c.ohw + q})
		if c.pointwise {
			w.runs = append(w.runs, pixelRun{f: f, ox: q, n: n, j: j})
			j += n
			continue
		}
		for e := j + n; j < e; {
			q := (p0 + j) % c.ohw
			oy, ox := q/c.ow, q%c.ow
			m := min(c.ow-ox, e-j)
			w.runs = append(w.runs, pixelRun{f: f, oy: oy, ox: ox, n: m, j: j})
			j += m
		}
	}
	w.segAt = append(w.segAt, len(w.segs))
	for jp := range len(w.segAt) - 1 {
		d := -1
		// a pointwise panel has one run per segment, in the same order
		if s0 := w.segAt[jp]; direct && c.pointwise && c.kern.RowsB && w.segAt[jp+1]-s0 == 1 && w.segs[s0].n == nr {
			d = s0
		}
		w.direct = append(w.direct, d)
	}
}

func (c *Conv) item(p *Pool, worker, item int, in Rows, scale, out, res []float32) {
	kern := c.kern
	mr, nr := kern.MR, kern.NR
	g, r := item/(c.nJB*c.nCB), item%(c.nJB*c.nCB)
	jb, cb := r/c.nCB, r%c.nCB
	p0 := jb * c.nc
	np := min(c.nc, c.pixels-p0)
	nPan := ceilDiv(np, nr)
	// With packAll the whole B block (all K rows) is packed at once and
	// stays in the worker's buffer for the next output-channel block of
	// this run; else each K block is packed in turn.
	packRows := c.kc
	if c.packAll {
		packRows = c.k
	}
	w := p.state(worker, packRows*nPan*nr, mr, nr)
	key := packKey{c, c.epoch, g, jb}
	reuse := c.packAll && w.packed == key
	if !reuse {
		if c.s.KH*c.s.KW > 1 {
			c.readAhead(w, in, g, p0, np)
		}
		c.plan(w, p0, np, scale == nil)
		w.packed = packKey{}
		if c.packAll {
			w.packed = key
			c.packB(w.buf[:c.k*nPan*nr], in, scale, g, w, 0, c.k, np)
		}
	}
	t := &w.tile
	t.LDA, t.LDB, t.Lo, t.Hi = c.packMR, nr, c.lo, c.hi
	pi0 := cb * c.cbPanels
	pi1 := min(c.panels, pi0+c.cbPanels)
	useAcc := c.accTiles(w, nPan, pi0, pi1)
	for k0 := 0; k0 < c.k; k0 += c.kc {
		kn := min(c.kc, c.k-k0)
		// the K block in the packed panels of panelRows rows
		panelRows, bOff := c.k, k0*nr
		if !c.packAll {
			c.packB(w.buf[:kn*nPan*nr], in, scale, g, w, k0, kn, np)
			panelRows, bOff = kn, 0
		}
		flags := kBlockFlags(k0, kn, c.k)
		t.K = kn
		// Each B panel (kn x NR) stays in L1 while the weight panels
		// stream past it from L2: they are contiguous and smaller than
		// B's kn strided rows.
		for jp := range nPan {
			fl := flags
			if d := w.direct[jp]; d >= 0 {
				run := w.runs[d]
				base := run.f*c.s.Cin + g*c.cinG + k0
				t.B, t.BRows, t.BOff = nil, in[base:base+kn], run.ox
				fl |= TileRowsB
			} else {
				t.B, t.BRows = w.buf[jp*panelRows*nr+bOff:], nil
			}
			segs := w.segs[w.segAt[jp]:w.segAt[jp+1]]
			row := g * c.coutG * c.ohw
			if useAcc {
				w.accCur = nil
				if slot := w.accSlot[jp]; slot >= 0 {
					w.accCur = w.acc[slot*w.accPanels*c.packMR*nr:]
				}
			}
			c.weightPanels(w, kern, g, pi0, pi1, k0, segs, out, row, c.ohw, res, row, c.ohw, fl)
		}
	}
	w.accCur = nil
}

// accBudget bounds the floats of a worker's accumulator tiles (see
// workerState.acc); a variable for the tests of the path without them.
var accBudget = 32 << 10

// accTiles sets up w's accumulator tiles for the item of nPan B panels
// (planned in w.segs) and weight panels [pi0, pi1), and reports whether
// the item uses them: when it runs more than one K block and the B
// panels whose tiles do not go straight to the output (panels crossing
// a frame's end, or short ones) have accumulators within accBudget.
func (c *Conv) accTiles(w *workerState, nPan, pi0, pi1 int) bool {
	if c.kc >= c.k {
		return false
	}
	nr := c.kern.NR
	w.accSlot = w.accSlot[:0]
	slots := 0
	for jp := range nPan {
		segs := w.segs[w.segAt[jp]:w.segAt[jp+1]]
		slot := -1
		if w.direct[jp] < 0 && (len(segs) != 1 || segs[0].n != nr) {
			slot = slots
			slots++
		}
		w.accSlot = append(w.accSlot, slot)
	}
	n := slots * (pi1 - pi0) * c.packMR * nr
	if slots == 0 || n > accBudget {
		return false
	}
	if len(w.acc) < n {
		w.acc = AlignedFloats(AlignUp(n))
	}
	w.accPi0, w.accPanels = pi0, pi1-pi0
	return true
}

// kBlockFlags returns the Tile flags of the K block [k0, k0+kn) of a
// depth-k GEMM: accumulate onto the earlier blocks, epilogue on the last.
func kBlockFlags(k0, kn, k int) int {
	flags := 0
	if k0 > 0 {
		flags |= TileAccumulate
	}
	if k0+kn == k {
		flags |= TileEpilogue
	}
	return flags
}

// weightPanels runs kern on the tiles of weight panels [pi0, pi1) of
// group g against the B panel set up in w.tile (K block from k0, K, LDB,
// Lo and Hi set): output channel co of the group goes to out at
// outOff+co*ldc, its residual (res nil for none) is at resOff+co*ldr.
func (c *Conv) weightPanels(w *workerState, kern *GemmKernel, g, pi0, pi1, k0 int, segs []colSeg,
	out []float32, outOff, ldc int, res []float32, resOff, ldr, flags int) {
	t := &w.tile
	mr := kern.MR
	if len(segs) == 1 && segs[0].n == kern.NR && mr == c.packMR {
		// full-width tiles, one per weight panel: straight to the kernel,
		// without runTile's per-tile checks (a few percent of the fused
		// MobileNetV2 blocks' time)
		s := segs[0]
		t.Flags = flags
		t.LDC, t.R, t.LDR = ldc, nil, 0
		withRes := res != nil && flags&TileEpilogue != 0
		full := pi0 // the full panels run here: pi0..full
		for pi := pi0; pi < pi1; pi++ {
			co0 := pi * mr
			if co0+mr > c.coutG {
				c.weightPanelsGeneral(w, kern, g, pi, pi+1, k0, segs, out, outOff, ldc, res, resOff, ldr, flags)
				continue
			}
			panel := g*c.panels + pi
			t.A = c.w[(panel*c.k+k0)*mr:]
			t.Bias = c.bias[panel*mr:]
			t.C = out[s.c+outOff+co0*ldc:]
			if withRes {
				t.R, t.LDR = res[s.r+resOff+co0*ldr:], ldr
			}
			kern.Tile(t)
			full = pi + 1
		}
		// the tiles of this B panel, still in the caches, in one call
		if flags&TileEpilogue != 0 && full > pi0 {
			c.tail.apply(w, out[s.c+outOff+pi0*mr*ldc:], (full-pi0)*mr, s.n, ldc)
		}
		return
	}
	c.weightPanelsGeneral(w, kern, g, pi0, pi1, k0, segs, out, outOff, ldc, res, resOff, ldr, flags)
}

// weightPanelsGeneral is weightPanels for any tiles: partial ones, short
// last panels and kernels lower than the packed panels go through runTile.
func (c *Conv) weightPanelsGeneral(w *workerState, kern *GemmKernel, g, pi0, pi1, k0 int, segs []colSeg,
	out []float32, outOff, ldc int, res []float32, resOff, ldr, flags int) {
	t := &w.tile
	mr := kern.MR
	for pi := pi0; pi < pi1; pi++ {
		panel := g*c.panels + pi
		for sub := 0; sub < c.packMR; sub += mr {
			co0 := pi*c.packMR + sub
			if co0 >= c.coutG {
				break
			}
			t.A = c.w[(panel*c.k+k0)*c.packMR+sub:]
			t.Bias = c.bias[panel*c.packMR+sub:]
			m := min(mr, c.coutG-co0)
			if w.accCur != nil {
				acc := w.accCur[((pi-w.accPi0)*c.packMR+sub)*kern.NR:]
				w.runTileAcc(kern, m, acc, segs, out, outOff+co0*ldc, ldc, res, resOff+co0*ldr, ldr, flags)
			} else {
				w.runTile(kern, m, segs, out, outOff+co0*ldc, ldc, res, resOff+co0*ldr, ldr, flags)
			}
			if flags&TileEpilogue != 0 {
				c.tail.applySegs(w, out, outOff+co0*ldc, ldc, m, segs)
			}
		}
	}
}

// packB packs rows k0..k0+kn of the B block (np pixels, laid out by
// w.runs) into buf: panel jp at buf[jp*kn*NR:], for each k NR contiguous
// pixels; columns past np are zero. Panels the kernel reads directly from
// the rows are skipped. Interior runs are fixed-size copies; runs touching
// the padding go through gatherStrided. With a scale (RunScaled), each
// packed run is multiplied by its frame's channel scales.
func (c *Conv) packB(buf []float32, in Rows, scale []float32, g int, w *workerState, k0, kn, np int) {
	s := c.s
	nr := c.kern.NR
	zeroPanelTail(buf, np, kn, nr) // the padding columns of the last panel
	for _, r := range w.runs {
		if w.direct[r.j/nr] >= 0 {
			continue
		}
		dst := buf[(r.j/nr)*kn*nr+r.j%nr:]
		base := r.f*s.Cin + g*c.cinG
		kern := c.im2col
		if kern == nil || r.n > c.im2colN {
			kern = packRunGo
		}
		if scale != nil && c.pointwise && contiguous(in[base+k0:base+k0+kn], c.ohw) {
			// packed and scaled in one pass over the input
			x := unsafe.Slice(unsafe.SliceData(in[base+k0]), kn*c.ohw) // the rows, verified contiguous
			w.mul = MulRows{O: dst[:(kn-1)*nr+r.n], X: x[r.ox : (kn-1)*c.ohw+r.ox+r.n],
				C: scale[base+k0:], Rows: kn, Cols: r.n, XRS: c.ohw, CRS: 1, ORS: nr}
			mulRows(&w.mul)
			continue
		}
		a := &w.pack
		*a = PackRun{Dst: dst[:(kn-1)*nr+r.n], Rows: in[base : base+c.cinG], K0: k0, KN: kn, N: r.n, LDD: nr,
			IY: r.oy*s.StrideH - s.PadTop, IX: r.ox*s.StrideW - s.PadLeft,
			KH: s.KH, KW: s.KW, DH: s.DilationH, DW: s.DilationW, H: s.H, W: s.W, SW: s.StrideW}
		if c.pointwise { // a run is pixels ox.. of the frame, seen as one row
			a.IX, a.H, a.W = r.ox, 1, c.ohw
		}
		kern(a)
		if scale != nil {
			c.scaleRun(w, a.Dst, scale[base:base+c.cinG], k0, kn, r.n)
		}
	}
}

// scaleRun multiplies the packed rows k0..k0+kn of a run of n pixels in
// dst (rows NR apart) by the scales of their input channels: KH*KW rows
// per channel.
func (c *Conv) scaleRun(w *workerState, dst, scale []float32, k0, kn, n int) {
	nr := c.kern.NR
	khw := c.s.KH * c.s.KW
	m := &w.mul
	for k := k0; k < k0+kn; {
		ci := k / khw
		rows, crs := min(k0+kn, (ci+1)*khw)-k, 0
		if khw == 1 { // one row per channel: the whole run in one call
			rows, crs = kn, 1
		}
		o := dst[(k-k0)*nr : (k-k0+rows-1)*nr+n]
		*m = MulRows{O: o, X: o, C: scale[ci:], Rows: rows, Cols: n, XRS: nr, CRS: crs, ORS: nr}
		mulRows(m)
		k += rows
	}
}

// copyFloats copies src to d (same length) with fixed-size moves for the
// panel widths of the kernels and the rows of 7x7 and 14x14 maps, where a
// copy call would cost more than the copy.
func copyFloats(d, src []float32) {
	switch len(d) {
	case 7:
		*(*[7]float32)(d) = *(*[7]float32)(src)
	case 8:
		*(*[8]float32)(d) = *(*[8]float32)(src)
	case 14:
		*(*[14]float32)(d) = *(*[14]float32)(src)
	case 16:
		*(*[16]float32)(d) = *(*[16]float32)(src)
	case 32:
		*(*[32]float32)(d) = *(*[32]float32)(src)
	default:
		copy(d, src)
	}
}

// gatherStrided sets d[j] = src[x0+j*stride], or 0 where that index is
// outside src (padding).
func gatherStrided(d, src []float32, x0, stride int) {
	n, w := len(d), len(src)
	// valid j: 0 <= x0+j*stride < w
	lo := 0
	if x0 < 0 {
		lo = min(n, (-x0+stride-1)/stride)
	}
	hi := n
	if last := x0 + (n-1)*stride; last >= w {
		hi = max(lo, min(n, (w-x0+stride-1)/stride))
	}
	clear(d[:lo])
	clear(d[hi:])
	if lo >= hi {
		return
	}
	if stride == 1 {
		copy(d[lo:hi], src[x0+lo:x0+hi])
		return
	}
	for j := lo; j < hi; j++ {
		d[j] = src[x0+j*stride]
	}
}

// readAhead reads a float of every cache line of the input rows that
// the block of np pixels from p0 (group g) packs, row after row of each
// channel: a stream the hardware prefetcher follows, where the packing
// gathers from every channel's rows at once and would wait on each line
// an earlier layer pushed out of the core's caches. (A strided 1x1
// convolution, which gathers every other row, is better off without.)
func (c *Conv) readAhead(w *workerState, in Rows, g, p0, np int) {
	s := c.s
	const line = 16 // floats per 64-byte cache line
	var sum float32
	for p := p0; p < p0+np; {
		f, q := p/c.ohw, p%c.ohw
		n := min(c.ohw-q, p0+np-p)
		// the input rows of output rows q/OW .. (q+n-1)/OW of frame f
		y0 := max(0, q/c.ow*s.StrideH-s.PadTop)
		y1 := min(s.H, (q+n-1)/c.ow*s.StrideH-s.PadTop+(s.KH-1)*s.DilationH+1)
		for _, r := range in[f*s.Cin+g*c.cinG:][:c.cinG] {
			for i := y0 * s.W; i < y1*s.W; i += line {
				sum += r[i]
			}
		}
		p += n
	}
	w.sink = sum
}
