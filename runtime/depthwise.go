package runtime

import "fmt"

// DepthwiseConv is a depthwise convolution (Group == Cin == Cout) planned
// for a fixed shape: each channel's plane is convolved with its own KHxKW
// filter, row by row, the inner loops running along W. The input is read
// through a row table, so a temporal shift fuses here too. Per output
// element the taps are summed in an order fixed by the shape (so results
// do not depend on the thread count), then bias and the residual are added
// and the sum is clamped.
type DepthwiseConv struct {
	s        ConvShape
	w, bias  []float32
	lo, hi   float32
	oh, ow   int
	x0, x1   int // output columns whose taps are all inside the row
	perItem  int // channels per work item
	zeroRows []float32
}

// NewDepthwiseConv plans a depthwise convolution: w holds the ONNX weights
// [C][1][KH][KW] as they are, bias has C values or is nil.
func NewDepthwiseConv(s ConvShape, w, bias []float32, act Act) (*DepthwiseConv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	if s.Group != s.Cin || s.Cout != s.Cin {
		return nil, fmt.Errorf("%v: not depthwise (need group == Cin == Cout)", s)
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	if len(w) != s.Cin*s.KH*s.KW {
		return nil, fmt.Errorf("%v: weights have %d values, want %d", s, len(w), s.Cin*s.KH*s.KW)
	}
	if bias != nil && len(bias) != s.Cin {
		return nil, fmt.Errorf("%v: bias has %d values, want %d", s, len(bias), s.Cin)
	}
	d := &DepthwiseConv{s: s, w: w, bias: bias, oh: s.OutH(), ow: s.OutW()}
	if d.bias == nil {
		d.bias = make([]float32, s.Cin)
	}
	d.lo, d.hi = act.Bounds()
	// interior: 0 <= ox*sw - pl and ox*sw - pl + (KW-1)*dw <= W-1
	d.x0 = min(d.ow, ceilDiv(s.PadLeft, s.StrideW))
	if last := s.W - 1 + s.PadLeft - (s.KW-1)*s.DilationW; last >= 0 {
		d.x1 = min(d.ow, last/s.StrideW+1)
	}
	d.x1 = max(d.x0, d.x1)
	const itemFLOPs = 1 << 16
	d.perItem = max(1, min(s.Cin, itemFLOPs/(2*d.oh*d.ow*s.KH*s.KW)))
	d.zeroRows = ZeroRow(s.W)
	return d, nil
}

// Shape returns the planned shape.
func (d *DepthwiseConv) Shape() ConvShape { return d.s }

// Run computes out = act(dwconv(in) + bias + residual) with in the row table
// (Frames x C rows of H*W floats), out [Frames][C][OH*OW] and residual nil or
// shaped like out.
func (d *DepthwiseConv) Run(p *Pool, in Rows, out, residual []float32) {
	s := d.s
	checkIn(in, s.Frames*s.Cin, s.H*s.W, "depthwise conv")
	ohw := d.oh * d.ow
	checkOut(out, residual, s.Frames*s.Cin*ohw, "depthwise conv")
	perFrame := ceilDiv(s.Cin, d.perItem)
	p.For(s.Frames*perFrame, func(_, item int) {
		f, c0 := item/perFrame, item%perFrame*d.perItem
		for c := c0; c < min(s.Cin, c0+d.perItem); c++ {
			plane := (f*s.Cin + c) * ohw
			var res []float32
			if residual != nil {
				res = residual[plane : plane+ohw]
			}
			d.plane(out[plane:plane+ohw], in[f*s.Cin+c], c, res)
		}
	})
}

// plane computes one output channel plane.
func (d *DepthwiseConv) plane(out, in []float32, c int, res []float32) {
	s := d.s
	var rowsBuf [16][]float32
	rows := rowsBuf[:0]
	if s.KH > len(rowsBuf) {
		rows = make([][]float32, 0, s.KH)
	}
	w := d.w[c*s.KH*s.KW : (c+1)*s.KH*s.KW]
	bias := d.bias[c]
	for oy := range d.oh {
		rows = rows[:0]
		for kh := range s.KH {
			iy := oy*s.StrideH - s.PadTop + kh*s.DilationH
			if iy < 0 || iy >= s.H {
				rows = append(rows, d.zeroRows)
			} else {
				rows = append(rows, in[iy*s.W:(iy+1)*s.W])
			}
		}
		o := out[oy*d.ow : (oy+1)*d.ow]
		d.interior(o, rows, w)
		for ox := range d.x0 {
			o[ox] = d.border(rows, w, ox)
		}
		for ox := d.x1; ox < d.ow; ox++ {
			o[ox] = d.border(rows, w, ox)
		}
		if res != nil {
			r := res[oy*d.ow : (oy+1)*d.ow]
			for i, v := range o {
				o[i] = clamp(v+bias+r[i], d.lo, d.hi)
			}
		} else {
			for i, v := range o {
				o[i] = clamp(v+bias, d.lo, d.hi)
			}
		}
	}
}

// interior computes the raw sums of output columns [x0, x1), whose taps
// are all inside the input rows.
func (d *DepthwiseConv) interior(o []float32, rows [][]float32, w []float32) {
	s := d.s
	x0, x1 := d.x0, d.x1
	if x0 >= x1 {
		return
	}
	base := x0*s.StrideW - s.PadLeft // input column of the first tap of x0
	if s.KW == 3 && s.DilationW == 1 {
		clear(o[x0:x1])
		for kh, row := range rows {
			dwRow3(o[x0:x1], row[base:], w[3*kh:3*kh+3:3*kh+3], s.StrideW)
		}
		return
	}
	for ox := x0; ox < x1; ox++ {
		var acc float32
		b := base + (ox-x0)*s.StrideW
		for kh, row := range rows {
			wr := w[kh*s.KW : (kh+1)*s.KW]
			for kw, wv := range wr {
				acc += wv * row[b+kw*s.DilationW]
			}
		}
		o[ox] = acc
	}
}

// dwRow3 adds one filter row of a 3-wide stride-s kernel: o[j] +=
// w0*in[j*s] + w1*in[j*s+1] + w2*in[j*s+2].
func dwRow3(o, in []float32, w []float32, stride int) {
	w0, w1, w2 := w[0], w[1], w[2]
	if stride == 1 {
		in = in[:len(o)+2]
		for j := range o {
			x := in[j : j+3 : j+3]
			o[j] += w0*x[0] + w1*x[1] + w2*x[2]
		}
		return
	}
	for j := range o {
		x := in[j*stride : j*stride+3 : j*stride+3]
		o[j] += w0*x[0] + w1*x[1] + w2*x[2]
	}
}

// border computes the raw sum of output column ox, skipping taps outside
// the row.
func (d *DepthwiseConv) border(rows [][]float32, w []float32, ox int) float32 {
	s := d.s
	var acc float32
	for kh, row := range rows {
		for kw := range s.KW {
			ix := ox*s.StrideW - s.PadLeft + kw*s.DilationW
			if ix >= 0 && ix < s.W {
				acc += w[kh*s.KW+kw] * row[ix]
			}
		}
	}
	return acc
}
