package runtime

import "fmt"

// DepthwiseConv is a depthwise convolution (Group == Cin == Cout) planned
// for a fixed shape: each channel's plane is convolved with its own KHxKW
// filter, by the 3x3 plane or row kernels, or for other kernel sizes and
// dilations by the tap kernel (dwtaps.go). The input is read
// through a row table, so a temporal shift fuses here too. Per output
// element the taps are summed in an order fixed by the shape (so results
// do not depend on the thread count), then bias and the residual are added
// and the sum is clamped.
type DepthwiseConv struct {
	s       ConvShape
	w, bias []float32
	lo, hi  float32
	tail    actTail // the activation's elementwise part, applied to finished rows
	oh, ow  int
	perItem int // channels per work item
	// planes: the shape fits the DWConv contract, so a plane kernel runs
	// it (when the CPU has one) without a padded copy of the input
	planes bool
	zero   []float32  // a zero input row for the plane kernel
	taps   *dwTapPlan // the plan on the tap kernel (shapes other than 3x3 undilated, or AlgoTaps), or nil
}

// NewDepthwiseConv plans a depthwise convolution by the default rules:
// NewDepthwiseConvPlan with the zero Plan.
func NewDepthwiseConv(s ConvShape, w, bias []float32, act Act) (*DepthwiseConv, error) {
	return NewDepthwiseConvPlan(s, w, bias, act, Plan{})
}

// NewDepthwiseConvPlan plans a depthwise convolution: w holds the ONNX
// weights [C][1][KH][KW] as they are, bias has C values or is nil; plan
// sets the kernel (Plan.Algo: AlgoDirect, the default for 3x3 undilated
// shapes, or AlgoTaps) and the channels per work item (Plan.Channels).
func NewDepthwiseConvPlan(s ConvShape, w, bias []float32, act Act, plan Plan) (*DepthwiseConv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := plan.checkFields("depthwise convolution", "algo", "channels"); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	s = s.normalized()
	switch plan.Algo {
	case "", AlgoTaps:
	case AlgoDirect:
		if !dwDirect(s) {
			return nil, fmt.Errorf("%v: plan %v: the direct kernels take 3x3 undilated depthwise convolutions", s, plan)
		}
	default:
		return nil, fmt.Errorf("%v: plan %v: a depthwise convolution runs %q or %q", s, plan, AlgoDirect, AlgoTaps)
	}
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
	d.tail = act.tail()
	d.perItem = max(1, min(s.Cin, rules.DWItemFLOPs/(2*d.oh*d.ow*s.KH*s.KW)))
	if plan.Channels > 0 {
		d.perItem = min(s.Cin, plan.Channels)
	}
	d.planes = dwPlanes(s)
	d.zero = ZeroRow(s.W)
	if !dwDirect(s) || plan.Algo == AlgoTaps {
		d.taps = newDWTapPlan(s)
		d.planes = false
	}
	return d, nil
}

// Shape returns the planned shape.
func (d *DepthwiseConv) Shape() ConvShape { return d.s }

// Plan returns the plan the convolution runs, every choice explicit.
func (d *DepthwiseConv) Plan() Plan {
	if d.taps != nil {
		return Plan{Algo: AlgoTaps, Channels: d.perItem}
	}
	return Plan{Algo: AlgoDirect, Channels: d.perItem}
}

// dwDirect reports whether the direct 3x3 kernels (plane or row) take the
// (normalized) depthwise shape s; the tap kernel takes every shape.
func dwDirect(s ConvShape) bool {
	return s.KH == 3 && s.KW == 3 && s.DilationH == 1 && s.DilationW == 1
}

// dwPlanes reports whether the (normalized) depthwise shape s fits the
// DWConv contract of the plane kernels.
func dwPlanes(s ConvShape) bool {
	return s.KH == 3 && s.KW == 3 && s.DilationH == 1 && s.DilationW == 1 &&
		s.StrideH == s.StrideW && (s.StrideW == 1 || s.StrideW == 2) &&
		s.PadLeft <= 2 && (s.OutW()-1)*s.StrideW+2-s.PadLeft <= s.W+1
}

func (d *DepthwiseConv) profileName() string   { return "depthwise " + d.s.String() }
func (d *DepthwiseConv) profileFLOPs() float64 { return d.s.FLOPs() }

// Run computes out = act(dwconv(in) + bias + residual), the activation
// applied to each output plane or row as it is finished, with in the row table
// (Frames x C rows of H*W floats), out [Frames][C][OH*OW] and residual nil or
// shaped like out.
func (d *DepthwiseConv) Run(p *Pool, in Rows, out, residual []float32) {
	defer profileDone(d, profileStart())
	s := d.s
	checkIn(in, s.Frames*s.Cin, s.H*s.W, "depthwise conv")
	ohw := d.oh * d.ow
	checkOut(out, residual, s.Frames*s.Cin*ohw, "depthwise conv")
	perFrame := ceilDiv(s.Cin, d.perItem)
	if kern := dwConv3x3; kern != nil && d.planes {
		p.For(s.Frames*perFrame, func(worker, item int) {
			w := p.state(worker, 0, 0, 0)
			f, c0 := item/perFrame, item%perFrame*d.perItem
			c1 := min(s.Cin, c0+d.perItem)
			o0, o1 := (f*s.Cin+c0)*ohw, (f*s.Cin+c1)*ohw
			a := &w.dw
			*a = DWConv{O: out[o0:o1], In: in[f*s.Cin+c0 : f*s.Cin+c1], Zero: d.zero,
				W: d.w[9*c0 : 9*c1], Bias: d.bias[c0:c1],
				C: c1 - c0, IH: s.H, IW: s.W, OH: d.oh, OW: d.ow, OStride: ohw,
				Stride: s.StrideW, PadTop: s.PadTop, PadLeft: s.PadLeft, Lo: d.lo, Hi: d.hi}
			if residual != nil {
				a.Res = residual[o0:o1]
			}
			runDWConv(a, kern)
			d.tail.apply(w, out[o0:o1], 1, o1-o0, 0)
		})
		return
	}
	if d.taps != nil {
		d.runTaps(p, in, out, residual)
		return
	}
	pw := s.W + s.PadLeft + s.PadRight
	padded := (s.H + s.PadTop + s.PadBottom) * pw
	p.For(s.Frames*perFrame, func(worker, item int) {
		w := p.state(worker, padded, 0, 0)
		w.packed = packKey{} // buf no longer holds a packed B block
		f, c0 := item/perFrame, item%perFrame*d.perItem
		for c := c0; c < min(s.Cin, c0+d.perItem); c++ {
			plane := (f*s.Cin + c) * ohw
			var res []float32
			if residual != nil {
				res = residual[plane : plane+ohw]
			}
			d.plane(w, out[plane:plane+ohw], in[f*s.Cin+c], c, res, w.buf[:padded])
		}
	})
}

// plane computes one output channel plane of a 3x3 undilated convolution
// with the row kernel. The input plane is first copied into buf with its
// zero padding around it (unless it has none), so that every tap of every
// output is inside the plane; w holds the kernels' argument blocks.
func (d *DepthwiseConv) plane(w *workerState, out, in []float32, c int, res, buf []float32) {
	a := &w.dwRow
	s := d.s
	pw := s.W + s.PadLeft + s.PadRight
	src := in
	if pw != s.W || s.PadTop+s.PadBottom != 0 {
		clear(buf[:s.PadTop*pw])
		for y := range s.H {
			row := buf[(s.PadTop+y)*pw : (s.PadTop+y+1)*pw]
			for i := range s.PadLeft { // pads are a few floats: no memclr call
				row[i] = 0
			}
			copy(row[s.PadLeft:], in[y*s.W:(y+1)*s.W])
			for i := s.PadLeft + s.W; i < pw; i++ {
				row[i] = 0
			}
		}
		clear(buf[(s.PadTop+s.H)*pw:])
		src = buf
	}
	*a = DWRow{Stride: s.StrideW, Bias: d.bias[c], Lo: d.lo, Hi: d.hi, W: (*[9]float32)(d.w[9*c : 9*c+9])}
	for oy := range d.oh {
		o := out[oy*d.ow : (oy+1)*d.ow]
		var r []float32
		if res != nil {
			r = res[oy*d.ow : (oy+1)*d.ow]
		}
		top := src[oy*s.StrideH*pw:]
		a.O, a.R0, a.R1, a.R2, a.Res = o, top[:pw], top[pw:2*pw], top[2*pw:3*pw], r
		dwRow3x3(a)
		d.tail.apply(w, o, 1, len(o), 0)
	}
}

// DWRow is the argument block of a depthwise 3x3 row kernel, which
// computes one output row with its epilogue: for j < len(O),
//
//	acc = Σ_{y<3, x<3} W[3y+x] · Ry[j*Stride+x]   (R0, R1, R2: the window's padded input rows)
//	acc += Bias
//	if Res != nil { acc += Res[j] }
//	O[j] = min(max(acc, Lo), Hi)
//
// Each Ry holds at least (len(O)-1)*Stride+3 floats; Stride is 1 or 2 in
// the models, any positive value in the contract. Offsets in bytes on
// 64-bit targets: O 0, R0 24, R1 48, R2 72, Res 96, W 120, Stride 128,
// Bias 136, Lo 140, Hi 144.
type DWRow struct {
	O, R0, R1, R2, Res []float32
	W                  *[9]float32
	Stride             int
	Bias, Lo, Hi       float32
}

// dwRow3x3 is the depthwise 3x3 row kernel in use: the pure-Go one unless
// an architecture file selected an assembly kernel at init.
var dwRow3x3 = dwRow3x3Go

// dwRow3x3Go implements DWRow in Go; the taps are summed in row-major
// order.
func dwRow3x3Go(a *DWRow) {
	w := a.W
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	o, r0, r1, r2 := a.O, a.R0, a.R1, a.R2
	bias, lo, hi := a.Bias, a.Lo, a.Hi
	if a.Stride == 1 && a.Res == nil {
		n := len(o)
		r0, r1, r2 = r0[:n+2], r1[:n+2], r2[:n+2] // lets the compiler drop the bounds checks
		for j := range o {
			acc := w0*r0[j] + w1*r0[j+1] + w2*r0[j+2] + w3*r1[j] + w4*r1[j+1] + w5*r1[j+2] + w6*r2[j] + w7*r2[j+1] + w8*r2[j+2]
			o[j] = clamp(acc+bias, lo, hi)
		}
		return
	}
	for j := range o {
		x := j * a.Stride
		p := r0[x : x+3 : x+3]
		q := r1[x : x+3 : x+3]
		r := r2[x : x+3 : x+3]
		acc := w0*p[0] + w1*p[1] + w2*p[2] + w3*q[0] + w4*q[1] + w5*q[2] + w6*r[0] + w7*r[1] + w8*r[2]
		acc += bias
		if a.Res != nil {
			acc += a.Res[j]
		}
		o[j] = clamp(acc, lo, hi)
	}
}

// DWConv is the argument block of a depthwise 3x3 plane kernel, which
// computes whole output planes of C channels with their epilogue, reading
// the padding as zeros: for c < C, r < OH, j < OW,
//
//	acc = Σ_{y<3, x<3} W[9c+3y+x] · X(c, r*Stride-PadTop+y, j*Stride-PadLeft+x)
//	acc += Bias[c]
//	if Res != nil { acc += Res[c*OStride + r*OW + j] }
//	O[c*OStride + r*OW + j] = min(max(acc, Lo), Hi)
//
// where X(c, iy, ix) = In[c][iy*IW+ix] inside the IH x IW plane and 0
// outside it. The sum is three partial sums, one per kernel row y (the
// tap x = 0 a product, then fused multiply-adds for x = 1, 2), added as
// (p0 + p1) + p2: short dependency chains for the FMA pipes. Padding taps
// are included (as products with zero). Each In[c] holds IH*IW floats; Zero holds at least IW zeros
// (kernels read it for rows outside the plane). Stride is 1 or 2 (a
// kernel is specialised for one), 0 <= PadLeft <= 2, and a window
// reaches at most 2 columns past the row: (OW-1)*Stride+2-PadLeft <= IW+1.
// C, OH and OW are positive. The field layout is part of the assembly
// contract (asm/layout.go mirrors it; the tests compare the offsets).
//
// The small-plane kernels (dwConvSmall3x3) take the same contract for
// the shapes they fit, with the same sums, so their results are bit for
// bit the plane kernels': the flat kernels (Stride 1, OW == IW, OH*OW <=
// 256) run each plane as one vector of OH*OW outputs, tap (y, x) read at
// the constant offset (y-PadTop)*IW + x-PadLeft under a mask; the
// two-row kernel (Stride 2, OW <= 7, OH <= 32) puts two output rows in
// one vector.
type DWConv struct {
	O, Res                     []float32
	In                         [][]float32
	Zero                       []float32
	W, Bias                    []float32
	C, IH, IW, OH, OW, OStride int
	Stride, PadTop, PadLeft    int
	Lo, Hi                     float32
}

// dwConv3x3 is the depthwise 3x3 plane kernel in use, or nil: then the
// driver copies each plane with its padding and runs the row kernel, and
// fused blocks run dwConvRows.
var dwConv3x3 func(*DWConv)

// dwConvSmall3x3 is the small-plane depthwise 3x3 kernel set in use, or
// nil: it runs a DWConv through the kernel its shape fits and reports
// true, or reports false and leaves it to the plane kernel.
var dwConvSmall3x3 func(*DWConv) bool

// dwFlat says where the flat small-plane kernel of the level in use pays.
var dwFlat dwFlatRule

// dwFlatRule says where a flat small-plane kernel (stride 1) beats the
// plane kernel, which spends ceil(OW/lanes) vectors on each output row
// where the flat kernel spends ceil(OH*OW/lanes) on the call but masks
// its loads. The zero rule never takes the flat kernel.
type dwFlatRule struct {
	lanes int
	// share: flat when its vectors are at most share[0]/share[1] of the
	// plane kernel's (0/0: no such case)
	share [2]int
	// maxRows, maxWidth: flat for calls of at most maxRows output rows,
	// or rows of at most maxWidth columns
	maxRows, maxWidth int
}

// pays reports whether the flat kernel should run a (stride 1).
func (r dwFlatRule) pays(a *DWConv) bool {
	if r.lanes == 0 {
		return false
	}
	flat, plane := ceilDiv(a.OH*a.OW, r.lanes), a.OH*ceilDiv(a.OW, r.lanes)
	return r.share[1] > 0 && flat*r.share[1] <= plane*r.share[0] || a.OH <= r.maxRows || a.OW <= r.maxWidth
}

// runDWConv runs a through the small-plane kernel that fits its shape
// and pays there, else through plane, the plane kernel in use.
func runDWConv(a *DWConv, plane func(*DWConv)) {
	if small := dwConvSmall3x3; small != nil && (a.Stride != 1 || dwFlat.pays(a)) && small(a) {
		return
	}
	plane(a)
}

// dwConvRows computes a DWConv through the row kernel in use (dwRow3x3:
// NEON on arm64, Go elsewhere): per output row, its three input rows are
// copied with their zero padding into pad (grown as needed and returned),
// and r is the row kernel's argument block. The sum is the row kernel's
// (one chain in row-major order), not the plane kernels' partial sums.
func dwConvRows(a *DWConv, pad []float32, r *DWRow) []float32 {
	rowLen := (a.OW-1)*a.Stride + 3
	if len(pad) < 3*rowLen {
		pad = make([]float32, 3*rowLen)
	}
	rows := [3][]float32{pad[:rowLen], pad[rowLen : 2*rowLen], pad[2*rowLen : 3*rowLen]}
	for c := range a.C {
		in := a.In[c]
		for oy := range a.OH {
			for y, row := range rows {
				clear(row)
				iy := oy*a.Stride - a.PadTop + y
				if iy < 0 || iy >= a.IH {
					continue
				}
				// row[x] = in[iy*IW + x - PadLeft] inside the plane
				x0, x1 := max(0, a.PadLeft), min(rowLen, a.IW+a.PadLeft)
				if x0 < x1 {
					copy(row[x0:x1], in[iy*a.IW+x0-a.PadLeft:iy*a.IW+x1-a.PadLeft])
				}
			}
			o := c*a.OStride + oy*a.OW
			*r = DWRow{O: a.O[o : o+a.OW], R0: rows[0], R1: rows[1], R2: rows[2],
				W: (*[9]float32)(a.W[9*c : 9*c+9]), Stride: a.Stride, Bias: a.Bias[c], Lo: a.Lo, Hi: a.Hi}
			if a.Res != nil {
				r.Res = a.Res[o : o+a.OW]
			}
			dwRow3x3(r)
		}
	}
	return pad
}
