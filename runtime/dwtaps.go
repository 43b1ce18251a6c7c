package runtime

import "math"

// Depthwise convolutions other than the undilated 3x3 ones (5x5 in
// MobileNetV3 and EfficientNet, 7x7, dilated ones, any stride) run as sums
// of taps over flattened planes. A channel's input plane is copied with
// its padding, its rows split by the vertical stride into phase planes:
// phase py holds the padded rows py, py+SH, .... Output row oy then reads
// tap (ky, kx) at row oy + ky*DH/SH of phase (ky*DH) mod SH, column
// x + kx*DW for x = ox*SW; with the outputs flattened at the padded width
// every tap is one constant offset, and the kernel computes contiguous
// runs of outputs as Bias plus a sum of shifted input runs times a
// weight. Every column x is computed, and the row copied out keeps
// x = 0, SW, 2SW, ... below OW*SW: a horizontal stride of 2 computes twice
// the sums, and costs less than splitting columns (a gather per input)
// in the layers that have one.

// DWTaps is the argument block of the depthwise tap kernel, which
// computes C flattened planes of N outputs, for c < C and q < N:
//
//	acc = Bias[c]
//	for t := 0; t < T; t++ { acc += W[c*T+t] · In[c*IStride + q + Off[t]] }   // in order, fused multiply-adds
//	O[c*OStride + q] = min(max(acc, Lo), Hi)
//
// Every In element read lies inside In; C, N and T are positive. The
// field layout is part of the assembly contract (offsets in bytes on
// 64-bit targets: O 0, In 24, W 48, Off 72, Bias 96, C 120, N 128, T 136,
// OStride 144, IStride 152, Lo 160, Hi 164).
type DWTaps struct {
	O, In, W         []float32
	Off              []int
	Bias             []float32
	C, N, T          int
	OStride, IStride int
	Lo, Hi           float32
}

// dwTaps is the depthwise tap kernel in use: the pure-Go one unless an
// architecture file selected an assembly kernel at init.
var dwTaps = dwTapsGo

// dwTapsGo implements DWTaps in Go.
func dwTapsGo(a *DWTaps) {
	for c := range a.C {
		in := a.In[c*a.IStride:]
		o := a.O[c*a.OStride : c*a.OStride+a.N]
		w := a.W[c*a.T : (c+1)*a.T]
		b := a.Bias[c]
		for q := range o {
			o[q] = b
		}
		for t, off := range a.Off[:a.T] {
			wt, src := w[t], in[off:off+a.N]
			for q, v := range src {
				o[q] += wt * v
			}
		}
		for q, v := range o {
			o[q] = clamp(v, a.Lo, a.Hi)
		}
	}
}

// dwTapPlan is a depthwise convolution's plan on the tap kernel.
type dwTapPlan struct {
	phs, pw int   // rows of a phase plane, columns of the padded plane
	inSize  int   // floats of a channel's phase planes
	outSize int   // floats of a channel's flattened outputs (n, rounded up)
	n       int   // flattened outputs per channel: (OH-1)*pw + (OW-1)*SW + 1
	off     []int // the taps' offsets, row-major
	rowAt   []int // where input row iy goes in the phase planes (fill)
	// bufs[worker] holds a work item's phase planes, then its flattened
	// outputs. Made zero, it keeps the padding zero: runs write the
	// planes' interiors only.
	bufs [][]float32
}

// buf returns worker's buffer for items of perItem channels.
func (t *dwTapPlan) buf(worker, perItem int) []float32 {
	for len(t.bufs) <= worker {
		t.bufs = append(t.bufs, nil)
	}
	if t.bufs[worker] == nil {
		t.bufs[worker] = AlignedFloats(perItem * (t.inSize + t.outSize))
	}
	return t.bufs[worker]
}

// newDWTapPlan plans the (normalized) depthwise shape s on the tap kernel.
func newDWTapPlan(s ConvShape) *dwTapPlan {
	ph := s.H + s.PadTop + s.PadBottom
	t := &dwTapPlan{phs: ceilDiv(ph, s.StrideH), pw: s.W + s.PadLeft + s.PadRight}
	t.inSize = s.StrideH * t.phs * t.pw
	t.n = (s.OutH()-1)*t.pw + (s.OutW()-1)*s.StrideW + 1
	t.outSize = AlignUp(t.n)
	for ky := range s.KH {
		for kx := range s.KW {
			y := ky * s.DilationH
			t.off = append(t.off, ((y%s.StrideH)*t.phs+y/s.StrideH)*t.pw+kx*s.DilationW)
		}
	}
	for iy := range s.H {
		r := iy + s.PadTop
		t.rowAt = append(t.rowAt, ((r%s.StrideH)*t.phs+r/s.StrideH)*t.pw+s.PadLeft)
	}
	return t
}

// fill writes the input plane in (H x W) into the interiors of the phase
// planes in dst, whose padding is zero: input row iy is padded row
// iy+PadTop, row (iy+PadTop)/SH of phase (iy+PadTop) mod SH.
func (t *dwTapPlan) fill(s ConvShape, dst, in []float32) {
	w := s.W
	in = in[:len(t.rowAt)*w]
	for iy, at := range t.rowAt {
		copyFloats(dst[at:at+w], in[iy*w:iy*w+w])
	}
}

// runTaps runs the convolution on the tap kernel: per work item (a frame's
// channels c0..c1) the phase planes and the flattened outputs in the
// worker's buffer (tp.buf), then each output row copied out (the residual added
// and the clamp applied here when there is one) and the activation's
// elementwise part applied to the finished planes.
func (d *DepthwiseConv) runTaps(p *Pool, in Rows, out, residual []float32) {
	s, tp := d.s, d.taps
	ohw := d.oh * d.ow
	perFrame := ceilDiv(s.Cin, d.perItem)
	p.For(s.Frames*perFrame, func(worker, item int) {
		f, c0 := item/perFrame, item%perFrame*d.perItem
		c1 := min(s.Cin, c0+d.perItem)
		nc := c1 - c0
		w := p.state(worker, 0, 0, 0)
		buf := tp.buf(worker, d.perItem)
		planes, flat := buf[:nc*tp.inSize], buf[d.perItem*tp.inSize:][:nc*tp.outSize]
		for c := range nc {
			tp.fill(s, planes[c*tp.inSize:(c+1)*tp.inSize], in[f*s.Cin+c0+c])
		}
		lo, hi := d.lo, d.hi
		if residual != nil { // clamped after the residual
			lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		}
		a := &w.taps
		*a = DWTaps{O: flat, In: planes, W: d.w[c0*len(tp.off) : c1*len(tp.off)], Off: tp.off, Bias: d.bias[c0:c1],
			C: nc, N: tp.n, T: len(tp.off), OStride: tp.outSize, IStride: tp.inSize, Lo: lo, Hi: hi}
		dwTaps(a)
		o0 := (f*s.Cin + c0) * ohw
		for c := range nc {
			src := flat[c*tp.outSize:]
			for oy := range d.oh {
				o := out[o0+c*ohw+oy*d.ow:][:d.ow]
				row := src[oy*tp.pw:][:(d.ow-1)*s.StrideW+1]
				switch {
				case s.StrideW == 1:
					copyFloats(o, row)
				default:
					for i := range o {
						o[i] = row[i*s.StrideW]
					}
				}
				if residual != nil {
					r := residual[o0+c*ohw+oy*d.ow:][:d.ow]
					for i, v := range o {
						o[i] = clamp(v+r[i], d.lo, d.hi)
					}
				}
			}
		}
		d.tail.apply(w, out[o0:o0+nc*ohw], 1, nc*ohw, 0)
	})
}
