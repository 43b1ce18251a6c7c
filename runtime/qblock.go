package runtime

import "fmt"

// QInvertedResidual is the quantised inverted residual block run as one
// operation, as InvertedResidual runs the float32 one: an optional
// expansion convolution (1x1 in the blocks, the stem before the first
// one), a 3x3 depthwise convolution and a 1x1 projection with its fused
// residual add. Each work item (a frame, or part of one) walks down its
// output rows in bands, expanding the input rows a band's windows need
// (keeping those the previous band expanded), running the int8 depthwise
// kernel on them and projecting the result into the output, so the
// expanded bytes stay in the worker's caches. The int8 arithmetic is
// exact and every output byte is requantised on its own, so the result is
// the three separate operations' to the byte, for any bands and parts.
type QInvertedResidual struct {
	expand  *QConv // nil: the depthwise convolution reads the block input
	dw      *QDepthwiseConv
	project *QConv
	blockGeometry
}

// qBlockBudget bounds a worker's expanded rows plus depthwise outputs in
// bytes: they stay in its L2 with the packed activations of the GEMMs.
const qBlockBudget = 256 << 10

// QBlockMinFrameBytes is the expanded bytes per frame from which the
// compiler fuses a quantised block (passes.FuseInvertedResidual): the
// blocks of MobileNetV2's 112x112 and 56x56 maps, whose unfused
// intermediates crowd a core's L2 (and cross between the cores' caches
// when a frame is split between workers). The smaller ones stay in L2
// unfused, where the three operations split finely over channels and
// pixels, while a fused block's bands pay partial GEMM panels at their
// edges.
const QBlockMinFrameBytes = 384 << 10

// NewQInvertedResidual plans the block by the default rules:
// NewQInvertedResidualPlan with the zero Plan.
func NewQInvertedResidual(expand *QConv, dw *QDepthwiseConv, project *QConv) (*QInvertedResidual, error) {
	return NewQInvertedResidualPlan(expand, dw, project, Plan{})
}

// NewQInvertedResidualPlan plans the block expand (nil for none) -> dw ->
// project, of the shapes CheckInvertedResidual takes (expand of one
// group, project pointwise, dw a 3x3 depthwise convolution of stride 1
// or 2). plan sets the output rows per band and the parts per frame
// (Plan.Band, Plan.Parts); by default a worker's expanded rows and
// depthwise outputs fill qBlockBudget.
func NewQInvertedResidualPlan(expand *QConv, dw *QDepthwiseConv, project *QConv, plan Plan) (*QInvertedResidual, error) {
	if dw == nil || project == nil {
		return nil, fmt.Errorf("quantised inverted residual: missing depthwise convolution or projection")
	}
	if err := plan.checkFields("fused block", "band", "parts"); err != nil {
		return nil, fmt.Errorf("quantised inverted residual: %w", err)
	}
	var es *ConvShape
	if expand != nil {
		es = &expand.s
	}
	if err := CheckInvertedResidual(es, dw.s, &project.s); err != nil {
		return nil, fmt.Errorf("quantised %w", err)
	}
	if !dw.planes {
		return nil, fmt.Errorf("quantised inverted residual: %v is not run by the int8 depthwise kernels", dw.s)
	}
	b := &QInvertedResidual{expand: expand, dw: dw, project: project,
		blockGeometry: newBlockGeometry(dw.s, dw.oh, dw.ow, es, project.s.Cout, qBlockBudget, plan)}
	return b, nil
}

func (b *QInvertedResidual) profileName() string {
	s := fmt.Sprintf("qinverted residual %dx[%d,%d,%d]", b.frames, b.cin, b.inH, b.inW)
	if b.expand != nil {
		s += fmt.Sprintf(" -> %d", b.ce)
	}
	return s + fmt.Sprintf(" -> dw s%d [%d,%d,%d] -> %d", b.stride, b.ce, b.oh, b.ow, b.cout)
}

func (b *QInvertedResidual) profileFLOPs() float64 {
	f := b.dw.s.FLOPs() + b.project.s.FLOPs()
	if b.expand != nil {
		f += b.expand.s.FLOPs()
	}
	return f
}

// Run computes out = project(dw(expand(in))) with the projection's
// residual add (residual nil when it has none) from in, the row table of
// the block input (Frames x Cin rows, read through any fused shift), into
// out [Frames][Cout][OH*OW]; residual is shaped like out and does not
// alias it.
func (b *QInvertedResidual) Run(p *Pool, in QRows, out, residual []uint8) {
	defer profileDone(b, profileStart())
	ohw := b.oh * b.ow
	checkQIn(in, b.frames*b.cin, b.inH*b.inW, "quantised inverted residual")
	if len(out) != b.frames*b.cout*ohw || (residual != nil) != b.project.res || (residual != nil && len(residual) != len(out)) {
		panic(fmt.Sprintf("runtime: quantised inverted residual output has %d bytes (residual %d, expected: %v), want %d",
			len(out), len(residual), b.project.res, b.frames*b.cout*ohw))
	}
	parts, rowsPer := b.frameParts(p.Threads())
	p.For(b.frames*parts, func(worker, item int) {
		f, part := item/parts, item%parts
		b.rows(p, worker, in, out, residual, f, part*rowsPer, min(b.oh, (part+1)*rowsPer))
	})
}

// rows computes output rows [oy0, oy1) of frame f, band by band.
func (b *QInvertedResidual) rows(p *Pool, worker int, in QRows, out, res []uint8, f, oy0, oy1 int) {
	eStride := b.eRows * b.w
	need := max(b.project.spanBuf(), qdwScratchLen(b.band, b.ow, b.stride))
	if b.expand != nil {
		need = max(need, b.expand.spanBuf())
	}
	mr, nr := b.project.kern.MR, b.project.kern.NR
	if e := b.expand; e != nil {
		mr, nr = max(mr, e.kern.MR), max(nr, e.kern.NR)
	}
	w := p.qstate(worker, need, mr, nr)
	if b.expand != nil && len(w.blockE) < b.ce*eStride {
		w.blockE = alignedBytes(b.ce * eStride)
	}
	if len(w.blockD) < b.ce*b.band*b.ow {
		w.blockD = alignedBytes(b.ce * b.band * b.ow)
	}
	if len(w.blockRows) < 2*b.ce {
		w.blockRows = make(QRows, 2*b.ce)
	}
	w.packed = qPackKey{} // buf holds the blocks' packings and scratch now
	E, D := w.blockE, w.blockD
	dwIn, dRows := w.blockRows[:b.ce], w.blockRows[b.ce:2*b.ce]
	frameIn := in[f*b.cin : (f+1)*b.cin]
	ohw := b.oh * b.ow
	o, r := frame(out, f, b.cout*ohw), frame(res, f, b.cout*ohw)
	d := b.dw
	s := d.s
	eLo, eHi := 0, 0                                   // the input rows E holds
	band := ceilDiv(oy1-oy0, ceilDiv(oy1-oy0, b.band)) // equal bands within the part
	for r0 := oy0; r0 < oy1; r0 += band {
		r1 := min(oy1, r0+band)
		top := r0*b.stride - s.PadTop // the first window row, maybe above the plane
		in0, in1 := max(0, top), min(b.h, (r1-1)*b.stride-s.PadTop+3)
		if b.expand != nil {
			eLo, eHi = slideBand(E, b.ce, eStride, b.w, in0, eLo, eHi)
			if in1 > eHi {
				b.expand.span(w, in, f, eHi*b.w, (in1-eHi)*b.w, false, E[(eHi-eLo)*b.w:], eStride, nil, 0)
				eHi = in1
			}
			for c := range b.ce {
				dwIn[c] = E[c*eStride : c*eStride+(in1-in0)*b.w]
			}
		} else {
			for c := range b.ce {
				dwIn[c] = frameIn[c][in0*b.w : in1*b.w]
			}
		}
		n := (r1 - r0) * b.ow
		a := &w.dw
		*a = QDWConv{Scratch: w.buf, O: D[:b.ce*n], In: dwIn,
			W: d.quads, Offset: d.offset, Scale: d.scales,
			C: b.ce, IH: in1 - in0, IW: b.w, OH: r1 - r0, OW: b.ow, Stride: b.stride, PadTop: in0 - top, PadLeft: s.PadLeft,
			InZero: int32(d.inZero), Zero: d.ep.Zero, Lo: d.ep.Lo, Hi: d.ep.Hi}
		if kern := qdwConv; kern != nil {
			kern(a)
		} else {
			qdwConvGo(a)
		}
		for c := range b.ce {
			dRows[c] = D[c*n : (c+1)*n]
		}
		var rr []uint8
		if r != nil {
			rr = r[r0*b.ow:]
		}
		b.project.span(w, dRows, 0, 0, n, true, o[r0*b.ow:], ohw, rr, ohw)
	}
	w.packed = qPackKey{}
}

// spanNC is the pixels span packs at once: their packed activations fit
// qBBudget.
func (c *QConv) spanNC() int {
	nr := c.kern.NR
	return min(max(nr, qBBudget/(4*c.k4)/nr*nr), maxNC)
}

// spanBuf is the packing buffer span needs.
func (c *QConv) spanBuf() int { return c.spanNC() * 4 * c.k4 }

// span runs the convolution (of one group) over n output pixels of a
// frame, writing output channel co of pixel j to out[co*ldc+j] (its
// residual read from res[co*ldr+j]). With rows the input is the 1x1
// convolution's rows, pixel j at in[ci][q0+j]; else in is the whole
// input's row table and the pixels are q0.. of frame f. It packs into
// w.buf, which must hold spanBuf bytes.
func (c *QConv) span(w *qWorkerState, in QRows, f, q0, n int, rows bool, out []uint8, ldc int, res []uint8, ldr int) {
	kern := c.kern
	nr := kern.NR
	panelBytes := c.k4 * 4 * nr
	var flip uint8
	if kern.SignedB {
		flip = 0x80
	}
	chunk := c.spanNC()
	t := &w.tile
	for j0 := 0; j0 < n; j0 += chunk {
		np := min(chunk, n-j0)
		nPan := ceilDiv(np, nr)
		buf := w.buf[:nPan*panelBytes]
		if rows {
			c.packQuads(w, buf, panelBytes, c.quadRows(w, in, q0+j0, q0+j0+np), 0, 1, 0, np, flip)
		} else {
			c.packB(w, buf, in, 0, f*c.ohw+q0+j0, np, flip)
		}
		*t = c.ep
		t.K4, t.LDA = c.k4, 4*c.packMR
		for jp := range nPan {
			t.B = buf[jp*panelBytes:][:panelBytes]
			j := j0 + jp*nr
			w.segs = append(w.segs[:0], colSeg{n: min(nr, n-j), c: j, r: j})
			c.tiles(w, 0, 0, c.panels, out, ldc, res, ldr)
		}
	}
}
