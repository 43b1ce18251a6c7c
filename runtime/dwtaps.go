package runtime

import (
	"math"
	"unsafe"
)

// Depthwise convolutions other than the undilated 3x3 ones (5x5 in
// MobileNetV3 and EfficientNet, 7x7, dilated ones, any stride) run as sums
// of taps over flattened planes. A channel's input plane is copied with
// its padding and split by stride into phase planes: phase (py, px) holds
// the padded rows py, py+SH, ... and columns px, px+SW, .... Output
// (oy, ox) then reads tap (ky, kx) at row oy + ky*DH/SH and column
// ox + kx*DW/SW of phase ((ky*DH) mod SH, (kx*DW) mod SW), so with the
// outputs flattened at the phase planes' width every tap is one constant
// offset: the kernel computes contiguous runs of outputs as Bias plus a
// sum of shifted input runs times a weight, the columns past OW of each
// row computed and dropped. The planes are filled and the output rows
// copied out by the strided row copy (CopyRows), a call per phase for a
// work item's channels (per channel and phase when a shift scatters their
// input planes): its stride-2 form splits the columns of a row.

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
	phs, pws int      // rows and columns of a phase plane
	inSize   int      // floats of a channel's phase planes
	outSize  int      // floats of a channel's flattened outputs (n, rounded up)
	n        int      // flattened outputs per channel: (OH-1)*pws + OW
	off      []int    // the taps' offsets, row-major
	fills    []dwFill // the copies of a channel's input into its phase planes
	// bufs[worker] holds a work item's phase planes, then its flattened
	// outputs. Made zero, it keeps the padding zero: runs write the
	// planes' interiors only.
	bufs [][]float32
}

// buf returns worker's buffer for items of perItem channels; the run
// sized t.bufs for its pool first (workers only fill their own entry).
func (t *dwTapPlan) buf(worker, perItem int) []float32 {
	if t.bufs[worker] == nil {
		t.bufs[worker] = AlignedFloats(perItem * (t.inSize + t.outSize))
	}
	return t.bufs[worker]
}

// dwFill is the copy of a channel's input rows and columns of one phase
// into its phase plane: the copy's shape, and the offsets of its first
// element in the channel's phase planes and in its input plane.
type dwFill struct {
	copy           CopyRows
	dstOff, srcOff int
}

// newDWTapPlan plans the (normalized) depthwise shape s on the tap kernel.
func newDWTapPlan(s ConvShape) *dwTapPlan {
	ph, pw := s.H+s.PadTop+s.PadBottom, s.W+s.PadLeft+s.PadRight
	t := &dwTapPlan{phs: ceilDiv(ph, s.StrideH), pws: ceilDiv(pw, s.StrideW)}
	t.inSize = s.StrideH * s.StrideW * t.phs * t.pws
	t.n = (s.OutH()-1)*t.pws + s.OutW()
	t.outSize = AlignUp(t.n)
	for ky := range s.KH {
		for kx := range s.KW {
			y, x := ky*s.DilationH, kx*s.DilationW
			phase := (y%s.StrideH)*s.StrideW + x%s.StrideW
			t.off = append(t.off, phase*t.phs*t.pws+(y/s.StrideH)*t.pws+x/s.StrideW)
		}
	}
	// phase (py, px) holds the input rows iy ≡ py - PadTop and columns
	// ix ≡ px - PadLeft (mod the stride), from the first such iy0, ix0
	first := func(p, pad, stride int) int { return ((p-pad)%stride + stride) % stride }
	for py := range s.StrideH {
		iy0 := first(py, s.PadTop, s.StrideH)
		for px := range s.StrideW {
			ix0 := first(px, s.PadLeft, s.StrideW)
			if iy0 >= s.H || ix0 >= s.W {
				continue
			}
			phase := py*s.StrideW + px
			t.fills = append(t.fills, dwFill{
				copy: CopyRows{Rows: ceilDiv(s.H-iy0, s.StrideH), Cols: ceilDiv(s.W-ix0, s.StrideW),
					DLD: t.pws, SLD: s.StrideH * s.W, SS: s.StrideW},
				dstOff: phase*t.phs*t.pws + (iy0+s.PadTop)/s.StrideH*t.pws + (ix0+s.PadLeft)/s.StrideW,
				srcOff: iy0*s.W + ix0,
			})
		}
	}
	return t
}

// fill writes the input planes in (H x W each) into the interiors of
// their channels' phase planes in dst, whose padding is zero, through a's
// argument block: a copy per phase for all the channels when their planes
// lie hw floats apart in one buffer, else a copy per channel and phase.
func (t *dwTapPlan) fill(a *CopyRows, dst []float32, in Rows, hw int) {
	if contiguous(in, hw) { // the rows' union is one slice
		t.fillPlanes(a, dst, unsafe.Slice(unsafe.SliceData(in[0]), len(in)*hw), len(in), hw)
		return
	}
	for c, plane := range in {
		t.fillPlanes(a, dst[c*t.inSize:(c+1)*t.inSize], plane, 1, hw)
	}
}

// fillPlanes fills the phase planes of n channels whose input planes
// start hw floats apart in in.
func (t *dwTapPlan) fillPlanes(a *CopyRows, dst, in []float32, n, hw int) {
	for _, f := range t.fills {
		*a = f.copy
		a.Planes, a.DPS, a.SPS = n, t.inSize, hw
		a.Dst = dst[f.dstOff : (n-1)*t.inSize+f.dstOff+(a.Rows-1)*a.DLD+a.Cols]
		a.Src = in[f.srcOff : (n-1)*hw+f.srcOff+(a.Rows-1)*a.SLD+(a.Cols-1)*a.SS+1]
		copyRows(a)
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
	for len(tp.bufs) < p.Threads() {
		tp.bufs = append(tp.bufs, nil)
	}
	p.For(s.Frames*perFrame, func(worker, item int) {
		f, c0 := item/perFrame, item%perFrame*d.perItem
		c1 := min(s.Cin, c0+d.perItem)
		nc := c1 - c0
		w := p.state(worker, 0, 0, 0)
		buf := tp.buf(worker, d.perItem)
		planes, flat := buf[:nc*tp.inSize], buf[d.perItem*tp.inSize:][:nc*tp.outSize]
		tp.fill(&w.copy, planes, in[f*s.Cin+c0:f*s.Cin+c1], s.H*s.W)
		lo, hi := d.lo, d.hi
		if residual != nil { // clamped after the residual
			lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		}
		a := &w.taps
		*a = DWTaps{O: flat, In: planes, W: d.w[c0*len(tp.off) : c1*len(tp.off)], Off: tp.off, Bias: d.bias[c0:c1],
			C: nc, N: tp.n, T: len(tp.off), OStride: tp.outSize, IStride: tp.inSize, Lo: lo, Hi: hi}
		dwTaps(a)
		o0 := (f*s.Cin + c0) * ohw
		cp := &w.copy
		*cp = CopyRows{Dst: out[o0 : o0+nc*ohw], Src: flat[:(nc-1)*tp.outSize+tp.n],
			Rows: d.oh, Cols: d.ow, DLD: d.ow, SLD: tp.pws, SS: 1, Planes: nc, DPS: ohw, SPS: tp.outSize}
		copyRows(cp)
		if residual != nil {
			o, r := out[o0:o0+nc*ohw], residual[o0:o0+nc*ohw]
			for i, v := range o {
				o[i] = clamp(v+r[i], d.lo, d.hi)
			}
		}
		d.tail.apply(w, out[o0:o0+nc*ohw], 1, nc*ohw, 0)
	})
}

// CopyRows is the argument block of the strided row copy: for p <
// Planes, r < Rows, j < Cols,
//
//	Dst[p*DPS + r*DLD + j] = Src[p*SPS + r*SLD + j*SS]
//
// Planes, Rows, Cols and SS are positive and the rows do not overlap. The
// field layout is part of the assembly contract (offsets in bytes on
// 64-bit targets: Dst 0, Src 24, Rows 48, Cols 56, DLD 64, SLD 72, SS 80,
// Planes 88, DPS 96, SPS 104).
type CopyRows struct {
	Dst, Src                 []float32
	Rows, Cols, DLD, SLD, SS int
	Planes, DPS, SPS         int
}

// copyRowsAsm is the assembly row copy in use, for source column strides
// up to copyRowsMaxSS (nil: none).
var (
	copyRowsAsm   func(*CopyRows)
	copyRowsMaxSS int
)

// copyRows runs a on the assembly kernel when it takes its stride, else
// in Go.
func copyRows(a *CopyRows) {
	if copyRowsAsm != nil && a.SS <= copyRowsMaxSS {
		copyRowsAsm(a)
		return
	}
	copyRowsGo(a)
}

// copyRowsGo implements CopyRows in Go.
func copyRowsGo(a *CopyRows) {
	copyRowsOf(a.Dst, a.Src, a.Planes, a.Rows, a.Cols, a.DPS, a.DLD, a.SPS, a.SLD, a.SS)
}

// copyRowsOf copies cols elements, the source's every ss-th, of each of
// rows rows of each of planes planes, from src to dst (the Go twin of
// the CopyRows and CopyBytes kernels).
func copyRowsOf[T float32 | uint8](dst, src []T, planes, rows, cols, dps, dld, sps, sld, ss int) {
	for p := range planes {
		for r := range rows {
			d := dst[p*dps+r*dld:][:cols]
			s := src[p*sps+r*sld:]
			if ss == 1 {
				copy(d, s[:cols])
				continue
			}
			s = s[:(cols-1)*ss+1]
			for j := range d {
				d[j] = s[j*ss]
			}
		}
	}
}
