package runtime

import (
	"fmt"
	"math"
)

// PoolShape is the static shape of a 2-D pooling over Planes = frames x
// channels planes of H x W. Zero strides and dilations mean 1.
type PoolShape struct {
	Planes                               int
	H, W                                 int
	KH, KW                               int
	StrideH, StrideW                     int
	DilationH, DilationW                 int
	PadTop, PadLeft, PadBottom, PadRight int
	CeilMode                             bool
}

func (s PoolShape) normalized() PoolShape {
	for _, v := range []*int{&s.StrideH, &s.StrideW, &s.DilationH, &s.DilationW} {
		if *v == 0 {
			*v = 1
		}
	}
	return s
}

// PoolOutSize returns the output size of a pooling window along one axis,
// the ONNX rule: the dilated kernel slides over the padded input, rounding
// down, or up with ceil mode, where a window starting inside the end
// padding is dropped (also when nothing was rounded up, as in PyTorch,
// onnxruntime and the interpreter: an end pad as wide as the window). It
// is 0 when the window is larger than the padded input.
func PoolOutSize(in, kernel, stride, dilation, padBegin, padEnd int, ceil bool) int {
	extent := (kernel-1)*dilation + 1
	padded := in + padBegin + padEnd
	if padded < extent {
		return 0
	}
	o := (padded-extent)/stride + 1
	if ceil {
		o = (padded-extent+stride-1)/stride + 1
		if (o-1)*stride >= in+padBegin {
			o--
		}
	}
	return o
}

// OutH returns the output height.
func (s PoolShape) OutH() int {
	s = s.normalized()
	return PoolOutSize(s.H, s.KH, s.StrideH, s.DilationH, s.PadTop, s.PadBottom, s.CeilMode)
}

// OutW returns the output width.
func (s PoolShape) OutW() int {
	s = s.normalized()
	return PoolOutSize(s.W, s.KW, s.StrideW, s.DilationW, s.PadLeft, s.PadRight, s.CeilMode)
}

// MaxPool is a max pooling planned for a fixed shape. Padding never wins:
// windows are clipped to the input.
type MaxPool struct {
	s      PoolShape
	oh, ow int
	// rows3x3s2: the shape fits the MaxPoolRow contract (3x3, stride 2,
	// one column of padding on the left, at most one row above and below)
	rows3x3s2 bool
}

// MaxPoolRow is the argument block of the 3x3 stride-2 max-pool row
// kernel: for N output rows y and x < len(O),
//
//	O[y*LDO + x] = max over the rows R0, R1, R2 of their columns
//	               2y*LD + 2x-1, 2y*LD + 2x, 2y*LD + 2x+1
//
// where columns outside [0, len(R0)) of a row do not count (one column
// of padding on the left; any on the right). The rows have the same
// length; the slices hold the first output row's, and the caller sees
// that the later rows' lie inside their arrays. A window row in the
// padding is passed as a repeat of one inside (max is idempotent), one
// output row at a time. The comparisons are VMAXPS's: with a NaN the
// later operand wins, where Go's max would give NaN. Layout (bytes): O
// 0, R0 24, R1 48, R2 72, N 96, LD 104, LDO 112.
type MaxPoolRow struct {
	O, R0, R1, R2 []float32
	N, LD, LDO    int
}

// maxPoolRow is the 3x3 stride-2 row kernel in use, or nil: then every
// max pool runs in Go.
var maxPoolRow func(*MaxPoolRow)

// NewMaxPool plans a max pooling.
func NewMaxPool(s PoolShape) (*MaxPool, error) {
	n := s.normalized()
	if n.Planes <= 0 || n.H <= 0 || n.W <= 0 || n.KH <= 0 || n.KW <= 0 || n.StrideH < 0 || n.StrideW < 0 ||
		n.DilationH < 0 || n.DilationW < 0 || n.PadTop < 0 || n.PadLeft < 0 || n.PadBottom < 0 || n.PadRight < 0 {
		return nil, fmt.Errorf("maxpool %+v: sizes must be positive, pads non-negative", s)
	}
	if n.PadTop >= (n.KH-1)*n.DilationH+1 || n.PadBottom >= (n.KH-1)*n.DilationH+1 ||
		n.PadLeft >= (n.KW-1)*n.DilationW+1 || n.PadRight >= (n.KW-1)*n.DilationW+1 {
		return nil, fmt.Errorf("maxpool %+v: a pad as large as the window gives windows of padding only", s)
	}
	if n.OutH() <= 0 || n.OutW() <= 0 {
		return nil, fmt.Errorf("maxpool %+v: window larger than the padded input", s)
	}
	m := &MaxPool{s: n, oh: n.OutH(), ow: n.OutW()}
	m.rows3x3s2 = rows3x3s2(n)
	return m, nil
}

// Shape returns the planned shape.
func (m *MaxPool) Shape() PoolShape { return m.s }

// colLen is the length of plane's column maxima of a window row, with
// -Inf in the padding: PadLeft before the row and enough after it for the
// last window.
func (m *MaxPool) colLen() int {
	s := m.s
	return max(s.PadLeft+s.W, (m.ow-1)*s.StrideW+(s.KW-1)*s.DilationW+1)
}

func (m *MaxPool) profileName() string {
	s := m.s
	return fmt.Sprintf("maxpool %dx[%d,%d] -> [%d,%d], kernel %dx%d, stride %d,%d", s.Planes, s.H, s.W, m.oh, m.ow, s.KH, s.KW, s.StrideH, s.StrideW)
}
func (m *MaxPool) profileFLOPs() float64 { return 0 }

// Run pools x [Planes][H][W] into out [Planes][OH][OW]: per output row a
// vertical max over the window's rows, then a horizontal max along it.
func (m *MaxPool) Run(p *Pool, x, out []float32) {
	defer profileDone(m, profileStart())
	m.run(p, x, out)
}

// run is Run without the profile.
func (m *MaxPool) run(p *Pool, x, out []float32) {
	s := m.s
	hw, ohw := s.H*s.W, m.oh*m.ow
	if len(x) != s.Planes*hw || len(out) != s.Planes*ohw {
		panic(fmt.Sprintf("runtime: maxpool of %d floats into %d, want %d into %d", len(x), len(out), s.Planes*hw, s.Planes*ohw))
	}
	perItem := max(1, (1<<15)/max(1, hw))
	if kern := maxPoolRow; kern != nil && m.rows3x3s2 {
		p.For(ceilDiv(s.Planes, perItem), func(worker, item int) {
			a := &p.state(worker, 0, 0, 0).maxPool
			for pl := item * perItem; pl < min(s.Planes, (item+1)*perItem); pl++ {
				m.rowsPlane(kern, a, out[pl*ohw:(pl+1)*ohw], x[pl*hw:(pl+1)*hw], 0, s.W, 0, m.oh)
			}
		})
		return
	}
	p.For(ceilDiv(s.Planes, perItem), func(worker, item int) {
		col := p.Scratch(worker, m.colLen())
		for pl := item * perItem; pl < min(s.Planes, (item+1)*perItem); pl++ {
			m.plane(out[pl*ohw:(pl+1)*ohw], x[pl*hw:(pl+1)*hw], col, 0, s.W, 0, m.oh)
		}
	})
}

// rowsPlane pools output rows oy0..oy1-1 of one plane through the row
// kernel (see rowRuns3). Input row y is x[(y-y0)*ld:][:W].
func (m *MaxPool) rowsPlane(kern func(*MaxPoolRow), a *MaxPoolRow, out, x []float32, y0, ld, oy0, oy1 int) {
	s := m.s
	a.LD, a.LDO = ld, m.ow
	rowRuns3(s, oy0, oy1, func(oy, r0, r1, r2, n int) {
		// the kernel steps past the slices: the last output row's lie inside
		_ = x[(r2-y0+2*(n-1))*ld+s.W-1]
		_ = out[(oy+n)*m.ow-1]
		row := func(y int) []float32 { return x[(y-y0)*ld:][:s.W] }
		a.O, a.R0, a.R1, a.R2, a.N = out[oy*m.ow:][:m.ow], row(r0), row(r1), row(r2), n
		kern(a)
	})
}

// rowRuns3 splits output rows oy0..oy1-1 of a 3x3 stride-2 pool into the
// calls of a row kernel: run(oy, r0, r1, r2, n) pools n output rows from
// oy, the first's window rows r0..r2. A window row above or below the
// plane is replaced by the window's first or last row inside (a call of
// its own); the rows whose windows lie inside the plane go in one call.
func rowRuns3(s PoolShape, oy0, oy1 int, run func(oy, r0, r1, r2, n int)) {
	for oy := oy0; oy < oy1; {
		r0, r1, r2 := windowRows3(oy, s.PadTop, s.H)
		n := 1
		if top := oy*2 - s.PadTop; r0 == top && r2 == top+2 {
			// inside the plane, and so are the windows down to row inner
			inner := (s.H + s.PadTop - 3) / 2
			n = min(oy1-1, inner) - oy + 1
		}
		run(oy, r0, r1, r2, n)
		oy += n
	}
}

// rows3x3s2 reports whether s (normalized) fits the 3x3 stride-2 row
// kernels' contract: one column of padding on the left, at most one row
// above and below.
func rows3x3s2(s PoolShape) bool {
	return s.KH == 3 && s.KW == 3 && s.StrideH == 2 && s.StrideW == 2 && s.DilationH == 1 && s.DilationW == 1 &&
		s.PadLeft == 1 && s.PadTop <= 1 && s.PadBottom <= 1
}

// windowRows3 returns the rows of output row oy's 3-row stride-2 window
// in a plane of h rows, a row above or below the plane replaced by the
// window's first or last row inside (max is idempotent).
func windowRows3(oy, padTop, h int) (r0, r1, r2 int) {
	top := oy*2 - padTop
	lo, hi := max(0, top), min(h-1, top+2)
	pick := func(y int) int { return min(max(y, lo), hi) }
	return pick(top), pick(top + 1), pick(top + 2)
}

// plane pools output rows oy0..oy1-1 of one plane: per output row, the
// maximum over the window's rows inside the plane into col (between -Inf
// pads), then the maximum over the window's columns. Input row y is
// x[(y-y0)*ld:][:W].
func (m *MaxPool) plane(out, x, col []float32, y0, ld, oy0, oy1 int) {
	s := m.s
	negInf := float32(math.Inf(-1))
	for i := range col {
		col[i] = negInf
	}
	c := col[s.PadLeft : s.PadLeft+s.W]
	for oy := oy0; oy < oy1; oy++ {
		first := true
		for kh := range s.KH {
			iy := oy*s.StrideH - s.PadTop + kh*s.DilationH
			if iy < 0 || iy >= s.H {
				continue
			}
			row := x[(iy-y0)*ld:][:s.W]
			if first {
				copy(c, row)
				first = false
				continue
			}
			for i, v := range row {
				c[i] = max(c[i], v)
			}
		}
		if first { // no row of the window is inside the plane (cannot happen for valid pads)
			clear(c)
			for i := range c {
				c[i] = negInf
			}
		}
		o := out[oy*m.ow : (oy+1)*m.ow]
		if s.KW == 3 && s.StrideW == 2 && s.DilationW == 1 {
			cc := col[:2*len(o)+1]
			for ox := range o {
				w := cc[2*ox : 2*ox+3 : 2*ox+3]
				o[ox] = max(max(w[0], w[1]), w[2])
			}
			continue
		}
		for ox := range o {
			acc := negInf
			for kw := range s.KW {
				acc = max(acc, col[ox*s.StrideW+kw*s.DilationW])
			}
			o[ox] = acc
		}
	}
}

// GlobalAveragePool computes out[i] = mean of x[i*hw:(i+1)*hw] for each of
// the planes, summed as onnxruntime's x86 build sums it (sum4) and divided
// by hw: in a QDQ model the mean is quantised again, and a sum that
// differed from onnxruntime's in its last bit could round to another
// step there.
func GlobalAveragePool(p *Pool, x, out []float32, planes, hw int) {
	if len(x) != planes*hw || len(out) != planes || hw <= 0 {
		panic(fmt.Sprintf("runtime: global average pool of %d floats into %d, want %d x %d", len(x), len(out), planes, hw))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("global average pool %dx[%d]", planes, hw), t0)
	}
	perItem := max(1, (1<<15)/hw)
	n := float32(hw)
	p.For(ceilDiv(planes, perItem), func(_, item int) {
		for i := item * perItem; i < min(planes, (item+1)*perItem); i++ {
			out[i] = sum4(x[i*hw:(i+1)*hw]) / n
		}
	})
}

// sum4 sums v in 4 lanes, lane l taking v[l], v[l+4], ... up to the last
// whole group of four, then adds the lanes as (0+2) + (1+3), then the
// remaining floats one by one: the order of onnxruntime's (MLAS) float
// global pooling on x86. The lanes are separate variables, which the
// compiler keeps in registers.
func sum4(v []float32) float32 {
	var l0, l1, l2, l3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		c := v[i : i+4 : i+4]
		l0 += c[0]
		l1 += c[1]
		l2 += c[2]
		l3 += c[3]
	}
	s := (l0 + l2) + (l1 + l3)
	for _, x := range v[i:] {
		s += x
	}
	return s
}
