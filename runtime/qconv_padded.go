package runtime

// The padded input of an int8 im2col convolution. Packing a tap straight
// from the input rows costs a row table and up to three packing calls
// per output row, tap and panel (the padding's zero points, the row, the
// panel's end), more than the GEMM on the maps of ResNet's 3x3 layers.
// Instead, Run interleaves the input by channel quads once, with its
// padding written out as the zero point, so that every tap of a run of
// output pixels is, per quad, one contiguous copy.

// qPadded is a convolution's padded input: [frame][quad][HP][WP][4]
// bytes, XOR the kernel's flip.
type qPadded struct {
	buf    []uint8
	hp, wp int // padded height and width
	quads  int // channel quads per frame (c.k4 / taps)
}

// usePadded reports whether c packs from a padded input: an im2col
// convolution of stride 1 and one group whose taps hold more channels
// than packTaps merges. (With stride 2 a tap's pixels are every other
// one, and a gather of them cost more than the packing it replaced.)
func (c *QConv) usePadded() bool {
	s := c.s
	return !c.pointwise && s.Group == 1 && s.StrideW == 1 && c.k/(s.KH*s.KW) > mergedTapChannels
}

// pad writes in into c.pad, a frame a work item.
func (c *QConv) pad(p *Pool, in QRows, flip uint8) {
	s := c.s
	pd := c.padded
	if pd == nil {
		pd = &qPadded{hp: s.H + s.PadTop + s.PadBottom, wp: s.W + s.PadLeft + s.PadRight, quads: c.k / (s.KH * s.KW) / 4}
		pd.buf = make([]uint8, s.Frames*pd.quads*pd.hp*pd.wp*4)
		c.padded = pd
	}
	plane := pd.hp * pd.wp * 4
	p.For(s.Frames, func(worker, f int) {
		w := p.qstate(worker, 0, c.kern.MR, c.kern.NR)
		frame := pd.buf[f*pd.quads*plane : (f+1)*pd.quads*plane]
		zero := uint32(c.inZero^flip) * 0x01010101
		for q := range pd.quads {
			pl := frame[q*plane : (q+1)*plane]
			fill := func(b []uint8) {
				for i := 0; i+4 <= len(b); i += 4 {
					b[i], b[i+1], b[i+2], b[i+3] = uint8(zero), uint8(zero), uint8(zero), uint8(zero)
				}
			}
			fill(pl[:s.PadTop*pd.wp*4])
			fill(pl[(s.PadTop+s.H)*pd.wp*4:])
			for y := range s.H {
				row := pl[(s.PadTop+y)*pd.wp*4:][:pd.wp*4]
				fill(row[:s.PadLeft*4])
				fill(row[(s.PadLeft+s.W)*4:])
			}
		}
		rows := in[f*s.Cin : (f+1)*s.Cin]
		a := &w.pack
		for y := range s.H {
			*a = QPack{Dst: frame[((s.PadTop+y)*pd.wp+s.PadLeft)*4:], Rows: c.quadRows(w, rows, y*s.W, (y+1)*s.W),
				Q: pd.quads, SW: 1, N: s.W, NR: pd.hp * pd.wp, Flip: uint32(flip) * 0x01010101}
			if s.W >= qpackChunk {
				qpack(a)
			} else {
				qpackGo(a)
			}
		}
	})
}

// packPadded packs pixels p0..p0+np of the B block from c.pad into buf,
// laid out as packB's.
func (c *QConv) packPadded(buf []uint8, p0, np int) {
	s, pd := c.s, c.padded
	nr := c.kern.NR
	panelBytes := c.k4 * 4 * nr
	plane := pd.hp * pd.wp * 4
	for j := 0; j < np; {
		p := p0 + j
		f, q := p/c.ohw, p%c.ohw
		oy, ox := q/c.ow, q%c.ow
		n := min(c.ow-ox, np-j, nr-j%nr) // along an output row, within a panel
		dst := buf[(j/nr)*panelBytes+4*(j%nr):]
		frame := pd.buf[f*pd.quads*plane:]
		for ky := range s.KH {
			py := oy*s.StrideH + ky*s.DilationH
			for kx := range s.KW {
				src := frame[(py*pd.wp+ox+kx*s.DilationW)*4:]
				d := dst[(ky*s.KW+kx)*pd.quads*4*nr:]
				for qd := range pd.quads {
					copy(d[qd*4*nr:][:4*n], src[qd*plane:][:4*n])
				}
			}
		}
		j += n
	}
}
