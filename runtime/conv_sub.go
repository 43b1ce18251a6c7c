package runtime

import "unsafe"

// A strided 1x1 convolution without padding reads one pixel in StrideH
// x StrideW of its input: it is the pointwise convolution of that
// subsampled input. Packed by im2col, it gathers every other pixel of
// every channel's rows for each run of output pixels, from all channels
// at once, while its GEMM is shallow (K = Cin): the gathers cost as much
// as the multiply-adds, more where the input has left the caches. So Run
// first copies the subsampled input into a buffer of its own, plane by
// plane (one strided CopyRows per frame), and runs the pointwise
// convolution on it, whose plans read their B rows in place (or take the
// transposed plan). The pointwise plan sums each output in the same
// order as the im2col one: the results are the same bits.

// subsampleFits reports whether s is a strided 1x1 convolution without
// padding.
func subsampleFits(s ConvShape) bool {
	s = s.normalized()
	return s.KH == 1 && s.KW == 1 && (s.StrideH > 1 || s.StrideW > 1) &&
		s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
}

// subsampledShape is the pointwise convolution of s's subsampled input.
func subsampledShape(s ConvShape) ConvShape {
	s = s.normalized()
	p := ConvShape{Frames: s.Frames, Cin: s.Cin, H: s.OutH(), W: s.OutW(), Cout: s.Cout, Group: s.Group, KH: 1, KW: 1}
	return p.normalized()
}

// newSubsampled plans c (subsampleFits) as the pointwise convolution of
// its subsampled input with plan (its fields mean the same there: the
// pixels are the output's).
func (c *Conv) newSubsampled(packed []float32, bias []float32, act Act, plan Plan) error {
	sub, err := NewConvPlan(subsampledShape(c.s), packed, c.packMR, bias, act, plan)
	if err != nil {
		return err
	}
	c.sub = sub
	c.subBuf = AlignedFloats(c.s.Frames * c.s.Cin * c.ohw)
	c.subRows = PlainRows(c.subBuf, c.s.Frames, c.s.Cin, c.ohw)
	return nil
}

// subsample copies the pixels c reads of in into c.subBuf, a frame a
// work item.
func (c *Conv) subsample(p *Pool, in Rows) {
	s := c.s
	hw := s.H * s.W
	p.For(s.Frames, func(worker, f int) {
		w := p.state(worker, 0, c.kern.MR, c.kern.NR)
		rows := in[f*s.Cin : (f+1)*s.Cin]
		planes := 1
		if contiguous(rows, hw) {
			planes = s.Cin
		}
		for ci := 0; ci < s.Cin; ci += planes {
			src := rows[ci]
			if planes > 1 {
				src = unsafe.Slice(unsafe.SliceData(rows[0]), s.Cin*hw) // verified contiguous
			}
			w.copy = CopyRows{Dst: c.subBuf[(f*s.Cin+ci)*c.ohw:], Src: src, Planes: planes, Rows: s.OutH(), Cols: c.ow,
				DPS: c.ohw, DLD: c.ow, SPS: hw, SLD: s.StrideH * s.W, SS: s.StrideW}
			copyRows(&w.copy)
		}
	})
}
