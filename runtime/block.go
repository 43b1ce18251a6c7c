package runtime

import "fmt"

// InvertedResidual is MobileNetV2's inverted residual block run as one
// operation: an expansion convolution (optional; 1x1 in the blocks, the
// stem convolution before the first block), a 3x3 depthwise convolution
// and a 1x1 projection convolution with the block's residual.
// Run separately, the expanded tensors (six times the block's channels)
// make two round trips through memory, which costs more than their
// arithmetic. Here each work item (a frame, or part of one) walks down
// its output rows in bands: it expands the input rows the band's windows
// need (keeping the rows the previous band already expanded), runs the
// depthwise kernel on them and projects the result into the output, so
// the expanded rows stay in the worker's caches. Every output element is
// computed exactly as the three separate operations compute it (the same
// kernels and summation orders; an expansion that runs as Winograd on its
// own runs as im2col here), for any split into bands and parts. Without a
// projection (a squeeze-and-excitation block reads the depthwise output
// whole) the block is the expansion and the depthwise convolution, which
// writes the output: the expanded tensor still never leaves the caches.
type InvertedResidual struct {
	expand  *Conv // nil: the depthwise convolution reads the block input
	dw      *DepthwiseConv
	project *Conv // nil: the output is the depthwise convolution's
	blockGeometry
}

// blockGeometry is the shape and band plan of a fused block, float32 or
// int8.
type blockGeometry struct {
	frames, cin, ce, cout int
	inH, inW              int // the block input's size (the expansion's input)
	h, w, oh, ow, stride  int
	band                  int // output rows per band
	eRows                 int // input rows of a band: (band-1)*stride + 3
	parts                 int // work items per frame (0: frameParts' rule)
}

// newBlockGeometry returns the geometry of a block around the depthwise
// convolution d with an expansion of shape e (nil for none) and cout
// outputs, its bands sized so that the expanded rows and depthwise
// outputs of one (in elements) fit budget, or the plan's.
func newBlockGeometry(d ConvShape, oh, ow int, e *ConvShape, cout, budget int, plan Plan) blockGeometry {
	b := blockGeometry{frames: d.Frames, cin: d.Cin, ce: d.Cin, cout: cout,
		inH: d.H, inW: d.W, h: d.H, w: d.W, oh: oh, ow: ow, stride: d.StrideH}
	perRow := b.ce * b.ow // depthwise outputs per output row
	if e != nil {
		b.cin, b.inH, b.inW = e.Cin, e.H, e.W
		perRow += b.ce * b.stride * b.w // expanded rows per output row
	}
	b.band = max(1, min(b.oh, budget/perRow))
	if plan.Band > 0 {
		b.band = min(b.oh, plan.Band)
	}
	b.band = ceilDiv(b.oh, ceilDiv(b.oh, b.band)) // equal bands, no sliver at the end
	b.parts = min(b.oh, plan.Parts)
	b.eRows = (b.band-1)*b.stride + 3
	return b
}

// NewInvertedResidual plans the block by the default rules:
// NewInvertedResidualPlan with the zero Plan.
func NewInvertedResidual(expand *Conv, dw *DepthwiseConv, project *Conv) (*InvertedResidual, error) {
	return NewInvertedResidualPlan(expand, dw, project, Plan{})
}

// NewInvertedResidualPlan plans the block expand (nil for none) -> dw ->
// project (nil for none, when there is an expansion). expand may be any
// convolution of one group, project must be pointwise (1x1, stride 1, no
// padding, one group) and dw a 3x3 depthwise convolution of stride 1 or 2
// whose padding the plane kernels take; their shapes must chain. plan
// sets the output rows per band and the parts per frame (Plan.Band,
// Plan.Parts). By default a worker's expanded rows plus depthwise
// outputs fill Rules.BlockBudget: bands larger than L2 are faster than
// bands that fit it, as each band costs partial GEMM panels at its edges
// and a depthwise call, and the rows stream well from L3; small maps run
// whole planes as one band.
func NewInvertedResidualPlan(expand *Conv, dw *DepthwiseConv, project *Conv, plan Plan) (*InvertedResidual, error) {
	if dw == nil || (project == nil && expand == nil) {
		return nil, fmt.Errorf("inverted residual: missing depthwise convolution, or both the expansion and the projection")
	}
	if err := plan.checkFields("fused block", "band", "parts"); err != nil {
		return nil, fmt.Errorf("inverted residual: %w", err)
	}
	var es, ps *ConvShape
	if expand != nil {
		es = &expand.s
	}
	if project != nil {
		ps = &project.s
	}
	if err := CheckInvertedResidual(es, dw.s, ps); err != nil {
		return nil, err
	}
	cout := dw.s.Cin
	if project != nil {
		cout = project.s.Cout
	}
	b := &InvertedResidual{expand: expand, dw: dw, project: project,
		blockGeometry: newBlockGeometry(dw.s, dw.oh, dw.ow, es, cout, rules.BlockBudget, plan)}
	return b, nil
}

// CheckInvertedResidual reports whether convolutions of these shapes form
// a block NewInvertedResidual takes (expand or project nil for none, not
// both): expand any convolution of one group, project pointwise (1x1,
// stride 1, no padding, one group), dw a 3x3 depthwise convolution the
// plane kernels run, the shapes chained.
func CheckInvertedResidual(expand *ConvShape, dw ConvShape, project *ConvShape) error {
	d := dw.normalized()
	pointwise := func(s ConvShape) bool {
		s = s.normalized()
		return s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.Group == 1 &&
			s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Group != d.Cin || d.Cout != d.Cin || !dwPlanes(d) {
		return fmt.Errorf("inverted residual: %v is not a 3x3 depthwise convolution of stride 1 or 2 with padding of at most 2", d)
	}
	if project == nil && expand == nil {
		return fmt.Errorf("inverted residual: %v has neither an expansion nor a projection", d)
	}
	if project != nil {
		pr := project.normalized()
		if !pointwise(pr) || pr.Frames != d.Frames || pr.H != d.OutH() || pr.W != d.OutW() || pr.Cin != d.Cin {
			return fmt.Errorf("inverted residual: projection %v does not follow %v as a pointwise convolution", pr, d)
		}
	}
	if expand != nil {
		e := expand.normalized()
		if err := e.Validate(); err != nil {
			return err
		}
		if e.Group != 1 || e.Frames != d.Frames || e.OutH() != d.H || e.OutW() != d.W || e.Cout != d.Cin {
			return fmt.Errorf("inverted residual: expansion %v does not precede %v", e, d)
		}
	}
	return nil
}

// FLOPs returns 2 x the multiply-adds of one run.
func (b *InvertedResidual) FLOPs() float64 {
	f := b.dw.s.FLOPs()
	if b.project != nil {
		f += b.project.s.FLOPs()
	}
	if b.expand != nil {
		f += b.expand.s.FLOPs()
	}
	return f
}

func (b *InvertedResidual) profileName() string {
	s := fmt.Sprintf("inverted residual %dx[%d,%d,%d]", b.frames, b.cin, b.inH, b.inW)
	if b.expand != nil {
		s += fmt.Sprintf(" -> %d", b.ce)
	}
	s += fmt.Sprintf(" -> dw s%d [%d,%d,%d]", b.stride, b.ce, b.oh, b.ow)
	if b.project != nil {
		s += fmt.Sprintf(" -> %d", b.cout)
	}
	return s
}

func (b *InvertedResidual) profileFLOPs() float64 { return b.FLOPs() }

// Run computes out = project(dw(expand(in))) + residual (without a
// projection, dw(expand(in)) and residual nil) with in the row table of
// the block input (Frames x Cin rows, read through any fused shift), out
// [Frames][Cout][OH*OW] and residual nil or shaped like out.
func (b *InvertedResidual) Run(p *Pool, in Rows, out, residual []float32) {
	defer profileDone(b, profileStart())
	ohw := b.oh * b.ow
	checkIn(in, b.frames*b.cin, b.inH*b.inW, "inverted residual")
	checkOut(out, residual, b.frames*b.cout*ohw, "inverted residual")
	if residual != nil && b.project == nil {
		panic("runtime: inverted residual without a projection takes no residual")
	}
	parts, rowsPer := b.frameParts(p.Threads())
	p.For(b.frames*parts, func(worker, item int) {
		f, part := item/parts, item%parts
		b.rows(p, worker, in, out, residual, f, part*rowsPer, min(b.oh, (part+1)*rowsPer))
	})
}

// Plan returns the plan the block runs, every choice explicit (the parts
// for the given thread count).
func (b *blockGeometry) Plan(threads int) Plan {
	parts, _ := b.frameParts(threads)
	return Plan{Band: b.band, Parts: parts}
}

// frameParts returns the parts of a frame for threads workers (the plan's,
// else frameParts') and the output rows of a part (the last may have
// fewer).
func (b *blockGeometry) frameParts(threads int) (parts, rowsPer int) {
	if b.parts > 0 {
		rowsPer = ceilDiv(b.oh, b.parts)
		return ceilDiv(b.oh, rowsPer), rowsPer
	}
	return frameParts(b.frames, b.oh, threads, rules.BlockMinPartRows)
}

// frameParts returns how many parts each of frames frames of oh output
// rows is split into for threads workers, and the rows of a part (the
// last may have fewer). Parts of a frame repeat the expansion of the rows
// they share, so a frame is split only to give every worker work (none
// for one worker), into parts of at least minRows rows, and into whole
// rounds of items: three parts of a 14-row frame on two workers leave one
// worker two of them, slower than two parts. The count is checked after
// the rows are shared out equally, which can lower it.
func frameParts(frames, oh, threads, minRows int) (parts, rowsPer int) {
	parts = 1
	if threads >= 2 && frames < 2*threads {
		parts = max(1, min(ceilDiv(2*threads, frames), oh/minRows))
	}
	for {
		rowsPer = ceilDiv(oh, parts)
		n := ceilDiv(oh, rowsPer) // the parts of rowsPer rows
		if n == 1 || frames*n <= threads || frames*n%threads == 0 {
			return n, rowsPer
		}
		parts = n - 1
	}
}

// rows computes output rows [oy0, oy1) of frame f, band by band.
func (b *InvertedResidual) rows(p *Pool, worker int, in Rows, out, res []float32, f, oy0, oy1 int) {
	w := p.state(worker, 0, 0, 0)
	if pr := b.project; pr != nil {
		w = p.state(worker, pr.tailBuf(), pr.kern.MR, pr.kern.NR)
	}
	if e := b.expand; e != nil {
		n := e.tailBuf()
		if !e.pointwise {
			n = e.kc * ceilDiv(e.frameNC, e.kern.NR) * e.kern.NR
		}
		w = p.state(worker, n, e.kern.MR, e.kern.NR)
	}
	w.packed = packKey{} // buf holds tail panels now
	eStride, dStride := b.eRows*b.w, b.band*b.ow
	if b.expand != nil && len(w.blockE) < b.ce*eStride {
		w.blockE = AlignedFloats(AlignUp(b.ce * eStride))
	}
	if len(w.blockD) < b.ce*dStride && b.project != nil {
		w.blockD = AlignedFloats(AlignUp(b.ce * dStride))
	}
	if len(w.blockRows) < 2*b.ce {
		w.blockRows = make(Rows, 2*b.ce)
	}
	E, D := w.blockE, w.blockD
	dwIn, dRows := w.blockRows[:b.ce], w.blockRows[b.ce:2*b.ce]
	frameIn := in[f*b.cin : (f+1)*b.cin]
	ohw := b.oh * b.ow
	o, r := frame(out, f, b.cout*ohw), frame(res, f, b.cout*ohw)
	s := b.dw.s
	eLo, eHi := 0, 0                                   // the input rows E holds
	band := ceilDiv(oy1-oy0, ceilDiv(oy1-oy0, b.band)) // equal bands within the part
	for r0 := oy0; r0 < oy1; r0 += band {
		r1 := min(oy1, r0+band)
		top := r0*b.stride - s.PadTop // the first window row, maybe above the plane
		in0, in1 := max(0, top), min(b.h, (r1-1)*b.stride-s.PadTop+3)
		a := &w.dw
		*a = DWConv{O: D, Zero: b.dw.zero, W: b.dw.w, Bias: b.dw.bias,
			C: b.ce, IW: b.w, OH: r1 - r0, OW: b.ow, OStride: dStride,
			Stride: b.stride, PadLeft: s.PadLeft, Lo: b.dw.lo, Hi: b.dw.hi}
		if b.project == nil { // the band goes straight to the output
			a.O, a.OStride = o[r0*b.ow:], ohw
		}
		if b.expand != nil {
			eLo, eHi = slideBand(E, b.ce, eStride, b.w, in0, eLo, eHi)
			if in1 > eHi {
				if b.expand.pointwise {
					b.expand.gemmRows(w, frameIn, eHi*b.w, (in1-eHi)*b.w, E[(eHi-eLo)*b.w:], eStride, nil, 0)
				} else {
					e := &b.expand.s
					y0 := max(0, eHi*e.StrideH-e.PadTop)
					y1 := min(e.H, (in1-1)*e.StrideH-e.PadTop+(e.KH-1)*e.DilationH+1)
					if y0 < y1 { // else the rows' windows lie in the padding
						w.warm = warmRows(frameIn, y0*e.W, y1*e.W)
					}
					b.expand.gemmFrame(w, in, f, eHi*b.w, (in1-eHi)*b.w, E[(eHi-eLo)*b.w:], eStride)
				}
				eHi = in1
			}
			for c := range b.ce {
				dwIn[c] = E[c*eStride : c*eStride+(in1-in0)*b.w]
			}
			a.In, a.IH, a.PadTop = dwIn, in1-in0, in0-top
		} else {
			a.In, a.IH, a.PadTop = frameIn, b.h, -top
		}
		if plane := dwConv3x3; plane != nil {
			runDWConv(a, plane)
		} else {
			w.dwPad = dwConvRows(a, w.dwPad, &w.dwRow)
		}
		n := (r1 - r0) * b.ow
		if b.project == nil {
			b.dw.tail.apply(w, o[r0*b.ow:], b.ce, n, ohw)
			continue
		}
		b.dw.tail.apply(w, D, b.ce, n, dStride)
		for c := range b.ce {
			dRows[c] = D[c*dStride : c*dStride+n]
		}
		var rr []float32
		if r != nil {
			rr = r[r0*b.ow:]
		}
		b.project.gemmRows(w, dRows, 0, n, o[r0*b.ow:], ohw, rr, ohw)
	}
}

// slideBand keeps in E (ce channels eStride apart, rows of w values)
// the expanded rows [eLo, eHi) that a band starting at input row in0
// still reads, moved to the buffer's start, and returns the rows E then
// holds; a band starting past them empties it.
func slideBand[T float32 | uint8](E []T, ce, eStride, w, in0, eLo, eHi int) (int, int) {
	if in0 < eLo || in0 >= eHi {
		return in0, in0
	}
	if in0 > eLo {
		for c := range ce {
			e := E[c*eStride:]
			copy(e, e[(in0-eLo)*w:(eHi-eLo)*w])
		}
	}
	return in0, eHi
}

// warmRows reads one float per cache line of rows[c][lo:hi] for every c
// and returns their sum (for the caller to keep, so that the loads stay).
// A band of the stem expansion runs before its im2col packing: the
// packing's strided reads across the input channels' rows defeat the
// hardware prefetchers, and the input frame arrives cold (written by the
// caller, or read last a frame ago), while these loads stream it into the
// cache at full speed (BenchmarkInvertedResidual's cold-input stem case
// shows the difference).
func warmRows(rows Rows, lo, hi int) float32 {
	var sum float32
	for _, r := range rows {
		r = r[lo:hi]
		for i := 0; i < len(r); i += Align / 4 {
			sum += r[i]
		}
	}
	return sum
}

// gemmFrame runs the convolution c (one group) over its output pixels
// [q0, q0+n) of frame f, writing output channel co to out[co*ldc+q-q0]:
// the im2col blocks of the convolution's own driver (plan, packB), with
// output offsets relative to the pixel range.
func (c *Conv) gemmFrame(w *workerState, in Rows, f, q0, n int, out []float32, ldc int) {
	kern := c.kern
	nr := kern.NR
	t := &w.tile
	t.LDA, t.LDB, t.Lo, t.Hi, t.BRows = c.packMR, nr, c.lo, c.hi, nil
	base := f*c.s.Cout*c.ohw + q0
	for j0 := 0; j0 < n; j0 += c.frameNC {
		np := min(c.frameNC, n-j0)
		c.plan(w, f*c.ohw+q0+j0, np, true)
		for i := range w.segs {
			w.segs[i].c -= base
			w.segs[i].r = w.segs[i].c
		}
		nPan := ceilDiv(np, nr)
		for k0 := 0; k0 < c.k; k0 += c.kc {
			kn := min(c.kc, c.k-k0)
			c.packB(w.buf[:kn*nPan*nr], in, nil, 0, w, k0, kn, np)
			flags := kBlockFlags(k0, kn, c.k)
			t.K = kn
			for jp := range nPan {
				t.B = w.buf[jp*kn*nr:]
				segs := w.segs[w.segAt[jp]:w.segAt[jp+1]]
				c.weightPanels(w, kern, 0, 0, c.panels, k0, segs, out, 0, ldc, nil, 0, 0, flags)
			}
		}
	}
}

// rowsKC is the K block of gemmRows: the kernel's, balanced.
func (c *Conv) rowsKC() int {
	if kc := c.kern.KC; kc > 0 && c.k > kc {
		return ceilDiv(c.k, ceilDiv(c.k, kc))
	}
	return c.k
}

// tailBuf is the packing buffer gemmRows needs for a partial B panel.
func (c *Conv) tailBuf() int { return c.rowsKC() * c.kern.NR }

// gemmRows runs the pointwise convolution c (one group) over n
// consecutive pixels whose input channel k is brows[k][boff:boff+n],
// writing output channel co to out[co*ldc:][:n] (plus res[co*ldr:][:n]
// when res is not nil). Whole B panels are read straight from the rows
// (TileRowsB); a partial last panel is packed with zeros into w.buf. The
// arithmetic is the convolution's: each output a K-ordered sum.
func (c *Conv) gemmRows(w *workerState, brows Rows, boff, n int, out []float32, ldc int, res []float32, ldr int) {
	kern := c.kern
	nr := kern.NR
	t := &w.tile
	t.LDA, t.Lo, t.Hi = c.packMR, c.lo, c.hi
	kc := c.rowsKC()
	for j0 := 0; j0 < n; j0 += nr {
		jn := min(nr, n-j0)
		segs := [1]colSeg{{n: jn, c: j0, r: j0}}
		for k0 := 0; k0 < c.k; k0 += kc {
			kn := min(kc, c.k-k0)
			flags := kBlockFlags(k0, kn, c.k)
			if jn == nr && kern.RowsB {
				t.B, t.BRows, t.BOff = nil, brows[k0:k0+kn], boff+j0
				flags |= TileRowsB
			} else {
				buf := w.buf[:kn*nr]
				for k := range kn {
					d := buf[k*nr : (k+1)*nr]
					copy(d, brows[k0+k][boff+j0:boff+j0+jn])
					clear(d[jn:])
				}
				t.B, t.BRows, t.LDB = buf, nil, nr
			}
			t.K = kn
			c.weightPanels(w, kern, 0, 0, c.panels, k0, segs[:], out, 0, ldc, res, 0, ldr, flags)
		}
	}
}
