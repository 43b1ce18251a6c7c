package runtime

// The in-place plan of an int8 convolution of stride 1. In the padded
// input (qconv_padded.go) output pixel (y, x) of a tap (ky, kx) reads
// padded pixel (y+ky*DH, x+kx*DW): a run of output pixels at the padded
// pitch is, per channel quad and tap, a contiguous run of the quad's
// plane. The kernel then reads its B quads in place (QTile.BRows) and
// nothing is packed. Its tiles run on across rows at the padded pitch,
// computing the KW-1 (times DW) padding columns of each row as well, into
// a band buffer at that pitch whose rows are then copied out; a fused
// residual is copied in the same way. It pays where packing costs much
// beside the multiply-adds (few output channels, qInPlaceMaxCout) and
// the padding columns are a small share of a row (qInPlaceRowPerPad).

// qInPlaceRowPerPad is the least output row width the in-place plan takes
// per padding column it computes: 7, so that a 3x3 convolution runs in
// place on maps of 14x14 and wider, 2 columns in 16 computed for nothing.
// qInPlaceMaxCout is the most output channels: packing costs the same
// per pixel whatever their number, and past 48 the kernel's slower reads
// from the padded planes (a line per quad and tap) cost as much as it.
const (
	qInPlaceRowPerPad = 7
	qInPlaceMaxCout   = 48
)

// qInPlace is a QConv's in-place plan.
type qInPlace struct {
	band, bands   int // output rows per work item, bands per frame
	nCB, cbPanels int // channel blocks and their weight panels
	ldo           int // a channel's row in the band buffers: a band's columns at the padded pitch, in whole tiles
	// off is per quad step k4 (tap-major, as the weights are packed) the
	// offset in bytes of its row in a frame of the padded input
	off []int
}

// useInPlace reports whether c runs in place: the padded input of a
// stride-1 convolution with few output channels, a kernel that reads B
// in rows, and rows wide enough for their padding columns.
func (c *QConv) useInPlace() bool {
	s := c.s
	return c.usePadded() && c.kern.RowsB && s.StrideH == 1 && s.StrideW == 1 &&
		c.coutG <= qInPlaceMaxCout && c.ow >= qInPlaceRowPerPad*(s.KW-1)*s.DilationW
}

// newInPlace plans c in place with bands of output rows enough for
// rules.TargetItems work items beside the channel blocks.
func (c *QConv) newInPlace() *qInPlace {
	s := c.s
	nr := c.kern.NR
	oh := s.OutH()
	wp := s.W + s.PadLeft + s.PadRight
	ip := &qInPlace{band: oh}
	// channel blocks for rules.TargetItems items over the frames, then
	// bands for the rest
	ip.nCB = min(c.panels, max(1, ceilDiv(rules.TargetItems, s.Frames)))
	ip.cbPanels = ceilDiv(c.panels, ip.nCB)
	ip.nCB = ceilDiv(c.panels, ip.cbPanels)
	if want := ceilDiv(rules.TargetItems, s.Frames*ip.nCB); want > 1 {
		ip.band = max(1, ceilDiv(oh, want))
	}
	ip.bands = ceilDiv(oh, ip.band)
	ip.band = ceilDiv(oh, ip.bands)
	ip.ldo = ceilDiv((ip.band-1)*wp+c.ow, nr) * nr
	quads := c.k4 / (s.KH * s.KW)
	plane := (s.H + s.PadTop + s.PadBottom) * wp * 4
	for ky := range s.KH {
		for kx := range s.KW {
			for q := range quads {
				ip.off = append(ip.off, q*plane+(ky*s.DilationH*wp+kx*s.DilationW)*4)
			}
		}
	}
	return ip
}

// runInPlace runs work item item (frame, band, channel block) of the
// in-place plan on the padded input.
func (c *QConv) runInPlace(p *Pool, worker, item int, out, res []uint8) {
	s, ip, pd := c.s, c.inPlace, c.padded
	kern := c.kern
	nr := kern.NR
	f, r := item/(ip.bands*ip.nCB), item%(ip.bands*ip.nCB)
	b, cb := r/ip.nCB, r%ip.nCB
	oy0 := b * ip.band
	n := min(ip.band, s.OutH()-oy0)
	cols := (n-1)*pd.wp + c.ow
	pi0 := cb * ip.cbPanels
	pi1 := min(c.panels, pi0+ip.cbPanels)
	co0, co1 := pi0*c.packMR, min(c.coutG, pi1*c.packMR)
	// band buffers: every panel's rows at ldo a channel (at most
	// qInPlaceMaxCout of them), the block's written
	bufLen := c.panels * c.packMR * ip.ldo
	w := p.qstate(worker, 2*bufLen, kern.MR, nr)
	w.packed = qPackKey{} // buf no longer holds a packed block
	obuf := w.buf[:bufLen]
	at := f*s.Cout*c.ohw + co0*c.ohw + oy0*c.ow // the block's first output of the band
	// the block's rows of the band, in the output and at the padded pitch
	// in the band buffers
	rows := CopyBytes{Planes: co1 - co0, Rows: n, Cols: c.ow, DPS: c.ohw, DLD: c.ow, SPS: ip.ldo, SLD: pd.wp}
	var rbuf []uint8
	if res != nil {
		rbuf = w.buf[bufLen:][:bufLen]
		in := rows
		in.Dst, in.Src, in.DPS, in.DLD, in.SPS, in.SLD = rbuf[co0*ip.ldo:], res[at:], ip.ldo, pd.wp, c.ohw, c.ow
		copyBytes(&in)
	}
	if cap(w.rows) < len(ip.off) {
		w.rows = make([][]uint8, len(ip.off))
	}
	tab := w.rows[:len(ip.off)]
	frame := pd.buf[f*pd.quads*pd.hp*pd.wp*4:]
	for k, o := range ip.off {
		tab[k] = frame[o+oy0*pd.wp*4:]
	}
	t := &w.tile
	*t = c.ep
	t.K4, t.LDA, t.BRows = c.k4, 4*c.packMR, tab
	// each tile's quads (in L1) against the block's weight panels in turn
	for j := 0; j < cols; j += nr {
		t.BOff = 4 * j
		w.segs = append(w.segs[:0], colSeg{j: 0, n: nr, c: j, r: j})
		c.tiles(w, 0, pi0, pi1, obuf, ip.ldo, rbuf, ip.ldo)
	}
	t.BRows = nil
	rows.Dst, rows.Src = out[at:], obuf[co0*ip.ldo:]
	copyBytes(&rows)
}
