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
	// band buffers: the block's whole panels at ldo a channel
	bufLen := (pi1 - pi0) * c.packMR * ip.ldo
	rbufLen := 0
	if res != nil {
		rbufLen = bufLen
	}
	w := p.qstate(worker, bufLen+rbufLen, kern.MR, nr)
	w.packed = qPackKey{} // buf no longer holds a packed block
	obuf, rbuf := w.buf[:bufLen], w.buf[bufLen:][:rbufLen]
	at := f*s.Cout*c.ohw + co0*c.ohw + oy0*c.ow // the block's first output of the band
	// the block's rows of the band in the output, and at the padded pitch
	// in the band buffers
	rowsOut := CopyBytes{Planes: co1 - co0, Rows: n, Cols: c.ow, DPS: c.ohw, DLD: c.ow, SPS: ip.ldo, SLD: pd.wp}
	if res != nil {
		a := CopyBytes{Dst: rbuf, Src: res[at:], Planes: co1 - co0, Rows: n, Cols: c.ow, DPS: ip.ldo, DLD: pd.wp, SPS: c.ohw, SLD: c.ow}
		copyBytes(&a)
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
	t.K4, t.LDA, t.BRows, t.LDC = c.k4, 4*c.packMR, tab, ip.ldo
	// each tile's quads (in L1) against the block's weight panels in turn
	for j := 0; j < cols; j += nr {
		t.BOff = 4 * j
		for pi := pi0; pi < pi1; pi++ {
			for sub := 0; sub < c.packMR && pi*c.packMR+sub < c.coutG; sub += kern.MR {
				row := pi*c.packMR + sub
				t.A = c.w[pi*c.k4*4*c.packMR+4*sub:]
				t.Offset, t.Scale = c.offset[row:], c.scale[row:]
				t.C = obuf[(row-co0)*ip.ldo+j:]
				if res != nil {
					t.R, t.LDR = rbuf[(row-co0)*ip.ldo+j:], ip.ldo
				}
				shortQKernel(kern, min(kern.MR, c.coutG-row)).Tile(t)
			}
		}
	}
	t.BRows = nil
	rowsOut.Dst, rowsOut.Src = out[at:], obuf
	copyBytes(&rowsOut)
}
