package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
)

// QMaxPool is a max pooling of uint8 planes planned for a fixed shape.
// The input's scale and zero point carry over to the output: quantisation
// is monotonic, so the largest byte is the quantised maximum (ONNX MaxPool
// on uint8, as onnxruntime runs the DQ -> MaxPool -> Q pattern). Padding
// never wins: windows are clipped to the input.
type QMaxPool struct {
	s      PoolShape
	oh, ow int
	// cols holds the clipped window [first, end) of every output column
	// (no dilation: the rows path, maxRows)
	cols []int32
	// rows3x3s2: the shape fits the QMaxPoolRow contract
	rows3x3s2 bool
	// inner2x2: a 2x2 stride-2 pool whose windows all lie inside the
	// plane (pool2x2)
	inner2x2 bool
}

// QMaxPoolRow is MaxPoolRow on bytes: for y < N and x < len(O),
//
//	O[y*LDO + x] = max over the rows r of R_r[2y*LD + 2x-1], R_r[2y*LD + 2x], R_r[2y*LD + 2x+1]
//
// where columns outside [0, len(R0)) do not count.
type QMaxPoolRow struct {
	O, R0, R1, R2 []uint8
	N, LD, LDO    int
}

// qmaxPoolRow is the uint8 3x3 stride-2 row kernel in use, or nil.
var qmaxPoolRow func(*QMaxPoolRow)

// NewQMaxPool plans a max pooling.
func NewQMaxPool(s PoolShape) (*QMaxPool, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	m := &QMaxPool{s: s, oh: s.OutH(), ow: s.OutW()}
	m.rows3x3s2 = rows3x3s2(s)
	m.inner2x2 = s.KH == 2 && s.KW == 2 && s.StrideH == 2 && s.StrideW == 2 && s.DilationH == 1 && s.DilationW == 1 &&
		s.PadTop == 0 && s.PadLeft == 0 && 2*m.oh <= s.H && 2*m.ow <= s.W
	if s.DilationH == 1 && s.DilationW == 1 {
		for ox := range m.ow {
			x0, x1 := poolWindow(ox, s.StrideW, s.PadLeft, s.KW, 1, s.W)
			m.cols = append(m.cols, int32(x0), int32(x1))
		}
	}
	return m, nil
}

// validate reports shapes the pooling kernels cannot run.
func (s PoolShape) validate() error {
	n := s.normalized()
	switch {
	case n.Planes <= 0 || n.H <= 0 || n.W <= 0 || n.KH <= 0 || n.KW <= 0:
		return fmt.Errorf("pool %+v: sizes must be positive", s)
	case n.StrideH < 0 || n.StrideW < 0 || n.DilationH < 0 || n.DilationW < 0 ||
		n.PadTop < 0 || n.PadLeft < 0 || n.PadBottom < 0 || n.PadRight < 0:
		return fmt.Errorf("pool %+v: negative stride, dilation or padding", s)
	case n.OutH() <= 0 || n.OutW() <= 0:
		return fmt.Errorf("pool %+v: window larger than the padded input", s)
	}
	return nil
}

// Shape returns the planned shape.
func (m *QMaxPool) Shape() PoolShape { return m.s }

func (m *QMaxPool) profileName() string   { return fmt.Sprintf("qmaxpool %+v", m.s) }
func (m *QMaxPool) profileFLOPs() float64 { return 0 }

// Run pools x [Planes][H*W] into out [Planes][OH*OW].
func (m *QMaxPool) Run(p *Pool, x, out []uint8) {
	defer profileDone(m, profileStart())
	s := m.s
	hw, ohw := s.H*s.W, m.oh*m.ow
	if len(x) != s.Planes*hw || len(out) != s.Planes*ohw {
		panic(fmt.Sprintf("runtime: qmaxpool of %d bytes into %d, want %d into %d", len(x), len(out), s.Planes*hw, s.Planes*ohw))
	}
	if kern := qmaxPoolRow; kern != nil && m.rows3x3s2 {
		p.For(s.Planes, func(worker, c int) {
			a := &p.state(worker, 0, 0, 0).qmaxPool
			in, o := x[c*hw:][:hw], out[c*ohw:][:ohw]
			rowRuns3(s, 0, m.oh, func(oy, r0, r1, r2, n int) {
				// the kernel steps past the slices: the last output row's lie inside
				_ = in[(r2+2*(n-1))*s.W+s.W-1]
				_ = o[(oy+n)*m.ow-1]
				row := func(y int) []uint8 { return in[y*s.W:][:s.W] }
				*a = QMaxPoolRow{O: o[oy*m.ow:][:m.ow], R0: row(r0), R1: row(r1), R2: row(r2), N: n, LD: s.W, LDO: m.ow}
				kern(a)
			})
		})
		return
	}
	if m.inner2x2 {
		// planes in items of about 32 KB
		per := max(1, (32<<10)/hw)
		p.For(ceilDiv(s.Planes, per), func(_, item int) {
			for c := item * per; c < min(s.Planes, (item+1)*per); c++ {
				m.pool2x2(x[c*hw:][:hw], out[c*ohw:][:ohw])
			}
		})
		return
	}
	if m.cols != nil {
		p.For(s.Planes, func(_, c int) { m.maxRows(x[c*hw:][:hw], out[c*ohw:][:ohw]) })
		return
	}
	p.For(s.Planes, func(_, c int) {
		in, o := x[c*hw:][:hw], out[c*ohw:][:ohw]
		for oy := range m.oh {
			y0, y1 := poolWindow(oy, s.StrideH, s.PadTop, s.KH, s.DilationH, s.H)
			for ox := range m.ow {
				x0, x1 := poolWindow(ox, s.StrideW, s.PadLeft, s.KW, s.DilationW, s.W)
				var v uint8
				for y := y0; y < y1; y += s.DilationH {
					row := in[y*s.W : (y+1)*s.W]
					for x := x0; x < x1; x += s.DilationW {
						v = max(v, row[x])
					}
				}
				o[oy*m.ow+ox] = v
			}
		}
	})
}

// pool2x2 pools one plane of a 2x2 stride-2 pool whose windows lie
// inside it (inner2x2), four outputs from 8 bytes of each row at a time
// without branches (maxU8x8: data-dependent branches mispredict on
// activations).
func (m *QMaxPool) pool2x2(in, o []uint8) {
	w := m.s.W
	for oy := range m.oh {
		r0, r1 := in[2*oy*w:][:2*m.ow], in[(2*oy+1)*w:][:2*m.ow]
		out := o[oy*m.ow:][:m.ow]
		ox := 0
		for ; ox+4 <= len(out); ox += 4 {
			v := maxU8x8(binary.LittleEndian.Uint64(r0[2*ox:]), binary.LittleEndian.Uint64(r1[2*ox:]))
			h := maxU8x8(v, v>>8) & 0x00ff00ff00ff00ff // pair maxima in the even bytes
			h = (h | h>>8) & 0x0000ffff0000ffff
			binary.LittleEndian.PutUint32(out[ox:], uint32(h|h>>16))
		}
		for ; ox < len(out); ox++ {
			v := maxU8x8(uint64(binary.LittleEndian.Uint16(r0[2*ox:])), uint64(binary.LittleEndian.Uint16(r1[2*ox:])))
			out[ox] = uint8(maxU8x8(v, v>>8))
		}
	}
}

// maxRows pools one plane without dilation: the rows of an output row's
// window are reduced to one, then that row's windows of KW bytes
// (full[i] = max(row[i : i+KW])), both 8 bytes at a time; each output
// column reads its full window there, or its clipped one at the edges.
func (m *QMaxPool) maxRows(in, o []uint8) {
	s := m.s
	var stack [2048]uint8
	buf := stack[:]
	if 2*s.W > len(buf) {
		buf = make([]uint8, 2*s.W)
	}
	row, full := buf[:s.W], buf[s.W:][:max(0, s.W-s.KW+1)]
	for oy := range m.oh {
		y0, y1 := poolWindow(oy, s.StrideH, s.PadTop, s.KH, 1, s.H)
		copy(row, in[y0*s.W:][:s.W])
		for y := y0 + 1; y < y1; y++ {
			maxBytes(row, in[y*s.W:][:s.W])
		}
		copy(full, row)
		for k := 1; k < s.KW; k++ {
			maxBytes(full, row[k:])
		}
		orow := o[oy*m.ow:][:m.ow]
		for ox := range orow {
			x0, x1 := int(m.cols[2*ox]), int(m.cols[2*ox+1])
			if x1-x0 == s.KW {
				orow[ox] = full[x0]
				continue
			}
			v := row[x0]
			for _, b := range row[x0+1 : x1] {
				v = max(v, b)
			}
			orow[ox] = v
		}
	}
}

// maxBytes sets dst[i] = max(dst[i], src[i]), 8 bytes at a time.
func maxBytes(dst, src []uint8) {
	src = src[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		a, b := binary.LittleEndian.Uint64(dst[i:]), binary.LittleEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(dst[i:], maxU8x8(a, b))
	}
	for ; i < len(dst); i++ {
		dst[i] = max(dst[i], src[i])
	}
}

// maxU8x8 is the bytewise unsigned maximum of two words: per byte, the
// low 7 bits compare through (a|0x80) - (b&0x7f), which never borrows
// across bytes, and the top bits decide where they differ.
func maxU8x8(a, b uint64) uint64 {
	const high = 0x8080808080808080
	d := (a | high) - (b &^ high)
	ge := (a&^b | ^(a^b)&d) & high // the top bit of every byte where a >= b
	mask := (ge >> 7) * 0xff
	return a&mask | b&^mask
}

// poolWindow returns the window of output o along an axis, clipped to
// the input [0, n): the first tap inside and the end (taps step by
// dilation).
func poolWindow(o, stride, pad, k, dilation, n int) (first, end int) {
	start := o*stride - pad
	first = start
	if first < 0 {
		first += (-first + dilation - 1) / dilation * dilation
	}
	return first, min(start+(k-1)*dilation+1, n)
}

// QAvgPool is a quantised average pooling planned for a fixed shape:
// onnxruntime's QLinearAveragePool and QLinearGlobalAveragePool
// (com.microsoft), as onnxruntime computes them on x86, bit for bit.
//
// A window covering the whole plane without padding (the global average
// pool, which onnxruntime routes to QLinearGlobalAveragePool) sums the
// bytes in int32 and requantises as a convolution does (QTile): with n
// the plane size and scale = inScale / (outScale * float32(n)),
//
//	out = clamp(round(float32(Σx - inZero*n) * scale), -outZero, 255-outZero) + outZero
//
// Any other window dequantises each byte, inScale * float32(x - inZero),
// sums them in float32 row by row, divides by the count (the window's
// size with countIncludePad, else its taps inside the input) and
// quantises: out = saturate(round(float32(avg/outScale) + outZero)), the
// zero point added before rounding, as onnxruntime does there. (An int8
// tensor seen as uint8 adds zero+128 instead of zero: the same but in rare
// half-way cases.)
type QAvgPool struct {
	s               PoolShape
	oh, ow          int
	countIncludePad bool
	global          bool
	deq             [256]float32 // the dequantised bytes
	outScale        float32
	outZero         uint8
	inZero          uint8
	gscale          float32 // global: inScale / (outScale * n)
	gtile           QTile   // global: the requantisation
}

// NewQAvgPool plans an average pooling from input (scale, zero point)
// to output (scale, zero point). Dilation is not supported (nor by
// onnxruntime).
func NewQAvgPool(s PoolShape, countIncludePad bool, inScale float32, inZero uint8, outScale float32, outZero uint8) (*QAvgPool, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	if s.DilationH != 1 || s.DilationW != 1 {
		return nil, fmt.Errorf("pool %+v: a dilated average pooling", s)
	}
	if !validScale(inScale) || !validScale(outScale) {
		return nil, fmt.Errorf("pool %+v: scales %g, %g are not positive and finite", s, inScale, outScale)
	}
	a := &QAvgPool{s: s, oh: s.OutH(), ow: s.OutW(), countIncludePad: countIncludePad,
		outScale: outScale, outZero: outZero, inZero: inZero}
	a.global = s.KH == s.H && s.KW == s.W && s.PadTop == 0 && s.PadLeft == 0 && s.PadBottom == 0 && s.PadRight == 0
	if a.global {
		n := s.H * s.W
		if n >= 1<<24 {
			return nil, fmt.Errorf("pool %+v: planes of %d values", s, n)
		}
		a.gscale = inScale / float32(outScale*float32(n))
		if !(a.gscale >= 0x1p-32 && a.gscale < 256) {
			return nil, fmt.Errorf("pool %+v: scale ratio %g outside [2^-32, 256)", s, a.gscale)
		}
		rq := QRequant{Zero: outZero, Lo: 0, Hi: 255}
		rq.setEpilogue(&a.gtile)
	}
	for b := range a.deq {
		a.deq[b] = inScale * float32(int32(b)-int32(inZero))
	}
	return a, nil
}

// Shape returns the planned shape.
func (a *QAvgPool) Shape() PoolShape { return a.s }

func (a *QAvgPool) profileName() string   { return fmt.Sprintf("qavgpool %+v", a.s) }
func (a *QAvgPool) profileFLOPs() float64 { return 0 }

// Run pools x [Planes][H*W] into out [Planes][OH*OW].
func (a *QAvgPool) Run(p *Pool, x, out []uint8) {
	defer profileDone(a, profileStart())
	s := a.s
	hw, ohw := s.H*s.W, a.oh*a.ow
	if len(x) != s.Planes*hw || len(out) != s.Planes*ohw {
		panic(fmt.Sprintf("runtime: qavgpool of %d bytes into %d, want %d into %d", len(x), len(out), s.Planes*hw, s.Planes*ohw))
	}
	if a.global {
		p.For(s.Planes, func(_, c int) {
			acc := -int32(a.inZero) * int32(hw)
			for _, v := range x[c*hw:][:hw] {
				acc += int32(v)
			}
			out[c] = a.gtile.requant(acc, a.gscale, false, 0)
		})
		return
	}
	p.For(s.Planes, func(_, c int) {
		in, o := x[c*hw:][:hw], out[c*ohw:][:ohw]
		for oy := range a.oh {
			y0, y1 := poolWindow(oy, s.StrideH, s.PadTop, s.KH, 1, s.H)
			for ox := range a.ow {
				x0, x1 := poolWindow(ox, s.StrideW, s.PadLeft, s.KW, 1, s.W)
				var sum float32
				for y := y0; y < y1; y++ {
					for _, v := range in[y*s.W+x0 : y*s.W+x1] {
						sum += a.deq[v]
					}
				}
				n := (y1 - y0) * (x1 - x0)
				if a.countIncludePad {
					n = s.KH * s.KW
				}
				o[oy*a.ow+ox] = a.quantize(sum / float32(n))
			}
		}
	})
}

// quantize is onnxruntime's quantize_value of QLinearAveragePool:
// saturate(nearbyint(y/scale + zero)).
func (a *QAvgPool) quantize(y float32) uint8 {
	v := float32(y/a.outScale) + float32(a.outZero)
	r := math.RoundToEven(float64(v))
	return uint8(min(max(r, 0), 255))
}
