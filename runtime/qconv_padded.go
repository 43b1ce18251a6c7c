package runtime

import "unsafe"

// The padded input of an int8 im2col convolution. Packing a tap straight
// from the input rows costs a row table and up to three packing calls
// per output row, tap and panel (the padding's zero points, the row, the
// panel's end), more than the GEMM on the maps of ResNet's 3x3 layers.
// Instead, Run interleaves the input by channel quads once, with its
// padding written out as the zero point, so that every tap of a run of
// output pixels is, per quad, one contiguous copy. For a horizontal
// stride of 2 each padded row is stored as its even columns, then its odd
// ones: a tap's every other pixel is then contiguous too.

// qPadded is a convolution's padded input: [frame][quad][HP][phase][WH][4]
// bytes, XOR the kernel's flip, where padded column x is in phase x % SW
// at x / SW.
type qPadded struct {
	buf    []uint8
	hp, wp int // padded height and width
	wh     int // columns per phase: wp / SW rounded up
	phases int // SW
	quads  int // channel quads per frame (c.k4 / taps)
	// colOff is, per tap column kx, the offset in the padded row of
	// output column 0's input: padded column kx*DW, in phase kx*DW % SW
	colOff []int
}

// usePadded reports whether c packs from a padded input: a convolution
// of more than one tap, one group and a horizontal stride of 1 or 2. (A
// strided 1x1 reads a quarter of its input, which the row packer gathers
// for less than a padded copy of all of it costs.)
func (c *QConv) usePadded() bool {
	s := c.s
	return s.KH*s.KW > 1 && s.Group == 1 && s.StrideW <= 2
}

// pad writes in into c.padded, a frame a work item. The padding is
// written once, when the buffer is made: Run only rewrites the inside.
func (c *QConv) pad(p *Pool, in QRows, flip uint8) {
	s := c.s
	pd := c.padded
	if pd == nil {
		pd = &qPadded{hp: s.H + s.PadTop + s.PadBottom, wp: s.W + s.PadLeft + s.PadRight, phases: s.StrideW,
			quads: c.k / (s.KH * s.KW) / 4}
		pd.wh = ceilDiv(pd.wp, pd.phases)
		for kx := range s.KW {
			dx := kx * s.DilationW
			pd.colOff = append(pd.colOff, (dx%pd.phases)*pd.wh+dx/pd.phases)
		}
		// in place, a band's last tile reads up to NR pixels past the planes
		pd.buf = alignedBytes(s.Frames*pd.quads*pd.hp*pd.phases*pd.wh*4 + 4*c.kern.NR)
		for i := range pd.buf {
			pd.buf[i] = c.inZero ^ flip
		}
		c.padded = pd
	}
	rowBytes := pd.phases * pd.wh * 4
	plane := pd.hp * rowBytes
	// phase ph holds input columns x0, x0+SW, ... (n of them) at columns
	// lo.. of the phase; the rest of it is padding
	type span struct{ x0, n, lo int }
	var spans [2]span
	for ph := range pd.phases {
		x0 := ((ph-s.PadLeft)%pd.phases + pd.phases) % pd.phases
		n := max(0, ceilDiv(s.W-x0, pd.phases))
		spans[ph] = span{x0, n, (x0 + s.PadLeft) / pd.phases}
	}
	hw := s.H * s.W
	p.For(s.Frames, func(worker, f int) {
		w := p.qstate(worker, 0, c.kern.MR, c.kern.NR)
		// interleave the frame's planes by quads in one packing call,
		// then copy their rows into the padded planes, a call a phase
		if len(w.quads) < pd.quads*hw*4 {
			w.quads = alignedBytes(pd.quads * hw * 4)
		}
		tmp := w.quads[:pd.quads*hw*4]
		a := &w.pack
		*a = QPack{Dst: tmp, Rows: c.quadRows(w, in[f*s.Cin:(f+1)*s.Cin], 0, hw), Q: pd.quads, SW: 1, N: hw,
			NR: hw, Flip: uint32(flip) * 0x01010101}
		runQPack(a)
		frame := words(pd.buf[f*pd.quads*plane : (f+1)*pd.quads*plane])
		for ph, sp := range spans[:pd.phases] {
			w.copy = CopyRows{Dst: frame[s.PadTop*rowBytes/4+ph*pd.wh+sp.lo:], Src: words(tmp)[sp.x0:],
				Planes: pd.quads, Rows: s.H, Cols: sp.n, DPS: plane / 4, DLD: rowBytes / 4,
				SPS: hw, SLD: s.W, SS: pd.phases}
			copyRows(&w.copy)
		}
	})
}

// packPadded packs pixels p0..p0+np of the B block from c.padded into
// buf, laid out as packB's. A quad's 4 bytes of a pixel are moved as one
// float32 (CopyRows copies bits). The pixels go in runs along an output
// row within a panel, or of whole output rows of a frame where a panel
// holds several (small maps). A run of one row takes a copy per tap
// column, of its quads' rows for every tap row; a run of rows a copy per
// tap, of every quad's rows, so that each quad's line of the panel is
// written in one go.
func (c *QConv) packPadded(w *qWorkerState, buf []uint8, p0, np int) {
	s, pd := c.s, c.padded
	nr := c.kern.NR
	panelWords := c.k4 * nr
	rowWords := pd.phases * pd.wh
	planeWords := pd.hp * rowWords
	dstAll, srcAll := words(buf), words(pd.buf)
	a := &w.copy
	for j := 0; j < np; {
		p := p0 + j
		f, q := p/c.ohw, p%c.ohw
		oy, ox := q/c.ow, q%c.ow
		n := min(c.ow-ox, np-j, nr-j%nr) // along an output row, within a panel
		rows := 1
		if ox == 0 && n == c.ow {
			rows = max(1, min((nr-j%nr)/c.ow, (np-j)/c.ow, s.OutH()-oy))
		}
		dst := dstAll[(j/nr)*panelWords+j%nr:]
		src := srcAll[f*pd.quads*planeWords+oy*s.StrideH*rowWords+ox:]
		if rows == 1 {
			*a = CopyRows{Planes: s.KH, Rows: pd.quads, Cols: n, SS: 1, DLD: nr, SLD: planeWords,
				DPS: s.KW * pd.quads * nr, SPS: s.DilationH * rowWords}
			for kx, off := range pd.colOff {
				a.Dst, a.Src = dst[kx*pd.quads*nr:], src[off:]
				copyRows(a)
			}
		} else {
			*a = CopyRows{Planes: pd.quads, Rows: rows, Cols: n, SS: 1, DLD: n, SLD: s.StrideH * rowWords,
				DPS: nr, SPS: planeWords}
			for ky := range s.KH {
				for kx, off := range pd.colOff {
					a.Dst, a.Src = dst[(ky*s.KW+kx)*pd.quads*nr:], src[ky*s.DilationH*rowWords+off:]
					copyRows(a)
				}
			}
		}
		j += rows * n
	}
}

// words views b, whose length is a multiple of 4, as float32 words for
// the float32 copy kernels (bits are moved, never computed on).
func words(b []uint8) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}
