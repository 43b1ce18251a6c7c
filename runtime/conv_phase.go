package runtime

import "unsafe"

// phasePlan runs a convolution as a GEMM whose B operand is read in place
// from a stride-phase split of the input (AlgoPhase). Each input plane is
// split into phase planes, one per pair of row and column phases the taps
// use (y mod StrideH, x mod StrideW), with the padding written out as
// zeros, so that tap (ci, kh, kw) of a run of output pixels of one row is
// a contiguous run of one phase plane: the micro-kernel reads it through
// a row table (TileRowsB) and nothing is packed. It pays where im2col
// packing costs as much as the multiply-adds: few input channels, strided
// (a network's stem). A work item (group, frame, band of output rows)
// splits the input rows its band reads into the worker's buffer and
// computes the band at the phase planes' pitch, tiles running on across
// rows, into a second buffer, whose rows it then copies out (the columns
// past a row's end are not stored). The taps are summed in the order and
// K blocks of the GEMM plan, so both give the same bits.
type phasePlan struct {
	band, bands int       // output rows per work item, bands per frame
	wp          int       // phase plane pitch: OW plus the widest tap offset
	dy          int       // the tallest tap offset, in phase rows
	rows        int       // phase rows per plane in a buffer: band + dy
	pys, pxs    []int     // the row and column phases the taps use
	planeLen    int       // rows * wp
	bufLen      int       // the group's phase planes plus what a tile reads past them
	ldo         int       // the pitch of an output channel's band in the output buffer
	off         []int     // per GEMM row k: where tap k's run of output pixel (0, 0) starts in the buffer
	zero        []float32 // wp zeros, the source of the padding
}

// phases returns the distinct values of i*d mod s for i < k, ascending,
// and the largest (i*d)/s.
func phases(k, d, s int) ([]int, int) {
	used := make([]bool, s)
	for i := range k {
		used[i*d%s] = true
	}
	var ps []int
	for p, u := range used {
		if u {
			ps = append(ps, p)
		}
	}
	return ps, (k - 1) * d / s
}

// phaseFits reports whether c can run as AlgoPhase: any convolution but a
// pointwise one of stride 1, which reads its rows in place anyway.
func phaseFits(c *Conv) bool { return !c.pointwise && c.kern != nil }

// phaseStem reports whether c is a stem the rules run as AlgoPhase but
// for its output channels (Rules.PhaseMaxCout): few input channels, a
// deep GEMM.
func (c *Conv) phaseStem(r Rules) bool {
	return phaseFits(c) && c.cinG <= r.PhaseMaxCin && c.k >= r.PhaseMinK
}

// newPhasePlan plans c as AlgoPhase with band output rows per work item
// (0: as many as keep the buffers within r.BBudget and give r.TargetItems
// items).
func newPhasePlan(c *Conv, band int, r Rules) *phasePlan {
	s := c.s
	nr := c.kern.NR
	oh := s.OutH()
	ph := &phasePlan{}
	var dy, dx int
	ph.pys, dy = phases(s.KH, s.DilationH, s.StrideH)
	ph.pxs, dx = phases(s.KW, s.DilationW, s.StrideW)
	ph.wp, ph.dy = c.ow+dx, dy
	ph.zero = ZeroRow(ph.wp)
	if band <= 0 {
		// the most rows within the budget, then fewer for enough items
		planes := c.cinG * len(ph.pys) * len(ph.pxs)
		band = max(1, (r.BBudget/ph.wp-planes*dy)/(planes+c.coutG))
		if want := ceilDiv(r.TargetItems, s.Frames*s.Group); ceilDiv(oh, band) < want {
			band = max(1, ceilDiv(oh, want))
		}
	}
	ph.band = min(band, oh)
	ph.bands = ceilDiv(oh, ph.band)
	ph.band = ceilDiv(oh, ph.bands) // balance the bands
	ph.rows = ph.band + dy
	ph.planeLen = ph.rows * ph.wp
	// the last tile of a band may read up to NR-1 floats past the planes
	ph.bufLen = c.cinG*len(ph.pys)*len(ph.pxs)*ph.planeLen + nr
	ph.ldo = ceilDiv(ph.band*ph.wp, nr) * nr
	// phase plane index of (ci, py, px): (ci*len(pys) + iy)*len(pxs) + ix
	iy := make([]int, s.StrideH)
	for i, p := range ph.pys {
		iy[p] = i
	}
	ix := make([]int, s.StrideW)
	for i, p := range ph.pxs {
		ix[p] = i
	}
	khw := s.KH * s.KW
	ph.off = make([]int, c.k)
	for k := range ph.off {
		ci, kh, kw := k/khw, k%khw/s.KW, k%s.KW
		y, x := kh*s.DilationH, kw*s.DilationW
		plane := (ci*len(ph.pys)+iy[y%s.StrideH])*len(ph.pxs) + ix[x%s.StrideW]
		ph.off[k] = plane*ph.planeLen + y/s.StrideH*ph.wp + x/s.StrideW
	}
	return ph
}

// runPhase runs work item item (group, frame, band) of an AlgoPhase plan.
func (c *Conv) runPhase(p *Pool, worker, item int, in Rows, out, res []float32) {
	s, ph := c.s, c.phase
	g, r := item/(s.Frames*ph.bands), item%(s.Frames*ph.bands)
	f, b := r/ph.bands, r%ph.bands
	oy0 := b * ph.band
	n := min(ph.band, s.OutH()-oy0)
	obuf := c.phaseBand(p, worker, g, f, oy0, n, in, res)
	at := (f*s.Cout+g*c.coutG)*c.ohw + oy0*c.ow
	w := &p.ws[worker].copy
	*w = CopyRows{Dst: out[at:], Src: obuf, Planes: c.coutG, Rows: n, Cols: c.ow, DPS: c.ohw, DLD: c.ow, SPS: ph.ldo, SLD: ph.wp, SS: 1}
	copyRows(w)
}

// phaseBand computes output rows oy0..oy0+n-1 (n at most the plan's
// band) of group g of frame f into the worker's output buffer, which it
// returns: output channel co's row oy0+y at co*ldo + y*wp.
func (c *Conv) phaseBand(p *Pool, worker, g, f, oy0, n int, in Rows, res []float32) []float32 {
	s, ph, kern := c.s, c.phase, c.kern
	nr := kern.NR
	// the worker's buffer: phase planes, output band, residual band, packed B
	obufLen := c.coutG * ph.ldo
	rbufLen := 0
	if res != nil {
		rbufLen = obufLen
	}
	packLen := 0
	if !kern.RowsB {
		packLen = c.kc * nr
	}
	w := p.state(worker, ph.bufLen+obufLen+rbufLen+packLen, kern.MR, nr)
	buf := w.buf[:ph.bufLen]
	obuf := w.buf[ph.bufLen:][:obufLen]
	rbuf := w.buf[ph.bufLen+obufLen:][:rbufLen]
	pbuf := w.buf[ph.bufLen+obufLen+rbufLen:][:packLen]
	c.splitPhases(w, buf, in[f*s.Cin+g*c.cinG:][:c.cinG], oy0, n)
	if cap(w.tab) < c.k {
		w.tab = make(Rows, c.k)
	}
	tab := w.tab[:c.k]
	for k, o := range ph.off {
		tab[k] = buf[o:]
	}
	// output channel co's row y: out[at+co*ohw+y*OW:], obuf[co*ldo+y*wp:]
	at := (f*s.Cout+g*c.coutG)*c.ohw + oy0*c.ow
	if res != nil {
		for co := range c.coutG {
			for y := range n {
				copy(rbuf[co*ph.ldo+y*ph.wp:][:c.ow], res[at+co*c.ohw+y*c.ow:][:c.ow])
			}
		}
	}
	t := &w.tile
	t.LDA, t.LDB, t.Lo, t.Hi = c.packMR, nr, c.lo, c.hi
	segs := append(w.segs[:0], colSeg{})
	var rb []float32
	if res != nil {
		rb = rbuf
	}
	end := (n-1)*ph.wp + c.ow // past the band's last output column
	for k0 := 0; k0 < c.k; k0 += c.kc {
		kn := min(c.kc, c.k-k0)
		fl := kBlockFlags(k0, kn, c.k)
		t.K = kn
		if !kern.RowsB {
			for q := 0; q < end; q += nr {
				for k := range kn {
					copy(pbuf[k*nr:(k+1)*nr], tab[k0+k][q:q+nr])
				}
				t.B, t.BRows = pbuf, nil
				segs[0] = colSeg{j: 0, n: nr, c: q, r: q}
				c.weightPanels(w, kern, g, 0, c.panels, k0, segs, obuf, 0, ph.ldo, rb, 0, ph.ldo, fl)
			}
			continue
		}
		// each weight panel (in L1) against the band's tiles in turn
		for pi := range c.panels {
			for q := 0; q < end; q += nr {
				t.B, t.BRows, t.BOff = nil, tab[k0:k0+kn], q
				segs[0] = colSeg{j: 0, n: nr, c: q, r: q}
				c.weightPanels(w, kern, g, pi, pi+1, k0, segs, obuf, 0, ph.ldo, rb, 0, ph.ldo, fl|TileRowsB)
			}
		}
	}
	w.segs = segs
	return obuf
}

// splitPhases writes the phase rows of the group's input planes src that
// output rows oy0..oy0+n-1 read into buf, with zeros for the padding: per
// phase plane, the rows and columns inside the input in one strided copy
// of every channel's, then the padding around them. The rest of buf (the
// rows past a short last band, the slack) only reaches output columns
// that are not stored.
func (c *Conv) splitPhases(w *workerState, buf []float32, src Rows, oy0, n int) {
	s, ph := c.s, c.phase
	rows := n + ph.dy
	ld := len(ph.pys) * len(ph.pxs) * ph.planeLen // from one channel's planes to the next
	hw := s.H * s.W
	planes := 1
	if contiguous(src, hw) {
		planes = c.cinG
	}
	a := &w.copy
	fill := func(dst []float32, rows, cols int) { // zeros into rows x cols of every channel
		if rows > 0 && cols > 0 {
			*a = CopyRows{Dst: dst, Src: ph.zero, Planes: c.cinG, Rows: rows, Cols: cols, DPS: ld, DLD: ph.wp, SS: 1}
			copyRows(a)
		}
	}
	for iy, py := range ph.pys {
		// phase rows r of input row y = (oy0+r)*SH + py - PadTop in [0, H)
		y0 := oy0*s.StrideH + py - s.PadTop
		rlo := min(rows, max(0, ceilDiv(-y0, s.StrideH)))
		rhi := max(rlo, min(rows, ceilDiv(s.H-y0, s.StrideH)))
		for ix, px := range ph.pxs {
			plane := buf[(iy*len(ph.pxs)+ix)*ph.planeLen:]
			// phase columns x of input column x*SW + px - PadLeft in [0, W)
			x0 := px - s.PadLeft
			clo := min(ph.wp, max(0, ceilDiv(-x0, s.StrideW)))
			chi := max(clo, min(ph.wp, ceilDiv(s.W-x0, s.StrideW)))
			fill(plane, rlo, ph.wp)
			fill(plane[rhi*ph.wp:], rows-rhi, ph.wp)
			fill(plane[rlo*ph.wp:], rhi-rlo, clo)
			fill(plane[rlo*ph.wp+chi:], rhi-rlo, ph.wp-chi)
			if rhi == rlo || chi == clo {
				continue
			}
			at := (y0+rlo*s.StrideH)*s.W + x0 + clo*s.StrideW
			for ci := 0; ci < c.cinG; ci += planes {
				x := src[ci]
				if planes > 1 {
					x = unsafe.Slice(unsafe.SliceData(src[0]), c.cinG*hw) // verified contiguous
				}
				*a = CopyRows{Dst: plane[ci*ld+rlo*ph.wp+clo:], Src: x[at:], Planes: planes, Rows: rhi - rlo, Cols: chi - clo,
					DPS: ld, DLD: ph.wp, SPS: hw, SLD: s.StrideH * s.W, SS: s.StrideW}
				copyRows(a)
			}
		}
	}
}
