package runtime

import "fmt"

// QDepthwiseConv is a quantised depthwise convolution (QLinearConv with
// group == Cin == Cout) planned for a fixed shape: uint8 input with a
// per-tensor zero point, one int8 filter per channel (symmetric, per
// channel scale), int32 bias, requantised as QRequant says (no residual
// add). Padding reads the input zero point, so it contributes nothing, as
// in onnxruntime. Run may be called any number of times, not concurrently.
type QDepthwiseConv struct {
	s      ConvShape
	w      []int8 // ONNX [C][KH][KW]
	quads  []int8 // per channel the 3 rows of QDWConv.W
	offset []int32
	rq     QRequant
	ep     QTile // Zero, Lo, Hi
	inZero uint8
	oh, ow int
	// planes: KH 3, KW up to 4, stride 1 or 2, no dilation: the QDWConv
	// kernels run it
	planes  bool
	scales  []float32 // per channel
	perItem int
	// other shapes: the float32 depthwise convolution of one frame on
	// the input minus its zero point with the weights as floats, exact
	// (see exactFloat), then the requantisation of its sums; nil where it
	// would not be exact (direct then runs them in Go)
	viaFloat *DepthwiseConv
	xf, yf   []float32 // a frame of viaFloat's input and output
	xRows    Rows
}

// QDWConv is the argument block of the int8 depthwise kernels: C
// channels of a depthwise convolution with 3 kernel rows of up to 4 taps.
// For c < C, oy < OH and ox < OW:
//
//	acc = Offset[c] + Σ_{r<3} Σ_{k<4} X(c, oy*Stride - PadTop + r, ox*Stride - PadLeft + k) * W[12c + 4r + k]
//	O[c*OH*OW + oy*OW + ox] = round(clamp(float32(acc)*Scale[c], Lo, Hi)) + Zero
//
// where X(c, y, x) is In[c][y*IW + x] inside the IH x IW plane and
// InZero outside it (the padding), with the QTile rounding (float32
// multiply, half to even; Lo and Hi are the clamp minus Zero). W holds
// int8 taps, zero past the kernel's width. The kernels read the planes
// in place (the AVX-512 one with masked loads, which never touch bytes
// outside them) or copy them with their padding into Scratch (NEON). The
// field layout is part of the assembly contract.
type QDWConv struct {
	O                         []uint8
	In                        [][]uint8
	W                         []int8
	Offset                    []int32
	Scale                     []float32
	C, IH, IW, OH, OW, Stride int
	PadTop, PadLeft           int
	InZero, Zero              int32
	Lo, Hi                    float32
	// Scratch is working memory for kernels that copy a plane with its
	// padding (qdwScratchLen bytes; the others ignore it)
	Scratch []uint8
}

// qdwConv is the kernel of the selected int8 level, or nil
// (selectQKernels).
var qdwConv func(*QDWConv)

// qdwConvGo implements QDWConv in Go: the twin of the assembly kernels.
func qdwConvGo(a *QDWConv) {
	t := QTile{Zero: a.Zero, Lo: a.Lo, Hi: a.Hi}
	ohw := a.OH * a.OW
	for c := range a.C {
		in := a.In[c][:a.IH*a.IW]
		w := a.W[12*c : 12*c+12 : 12*c+12]
		for oy := range a.OH {
			o := a.O[c*ohw+oy*a.OW:][:a.OW]
			for ox := range o {
				acc := a.Offset[c]
				for r := range 3 {
					y := oy*a.Stride - a.PadTop + r
					for k := range 4 {
						x, v := ox*a.Stride-a.PadLeft+k, a.InZero
						if y >= 0 && y < a.IH && x >= 0 && x < a.IW {
							v = int32(in[y*a.IW+x])
						}
						acc += v * int32(w[4*r+k])
					}
				}
				o[ox] = t.requant(acc, a.Scale[c], false, 0)
			}
		}
	}
}

// NewQDepthwiseConv plans a quantised depthwise convolution: w holds the
// ONNX int8 weights [C][1][KH][KW] as they are, bias has C values or is
// nil, inZero is the input's zero point.
func NewQDepthwiseConv(s ConvShape, w []int8, bias []int32, inZero uint8, rq QRequant) (*QDepthwiseConv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.normalized()
	if s.Group != s.Cin || s.Cout != s.Cin {
		return nil, fmt.Errorf("%v: not depthwise (need group == Cin == Cout)", s)
	}
	if err := rq.validate(s.Cin); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	if rq.Add != nil {
		return nil, fmt.Errorf("%v: a residual add is not fused into an int8 depthwise convolution", s)
	}
	khw := s.KH * s.KW
	if len(w) != s.Cin*khw {
		return nil, fmt.Errorf("%v: weights have %d values, want %d", s, len(w), s.Cin*khw)
	}
	if bias != nil && len(bias) != s.Cin {
		return nil, fmt.Errorf("%v: bias has %d values, want %d", s, len(bias), s.Cin)
	}
	d := &QDepthwiseConv{s: s, w: w, rq: rq, inZero: inZero, oh: s.OutH(), ow: s.OutW()}
	rq.setEpilogue(&d.ep)
	d.offset = make([]int32, s.Cin)
	for c := range s.Cin {
		var sum int32
		for _, v := range w[c*khw : (c+1)*khw] {
			sum += int32(v)
		}
		if bias != nil {
			d.offset[c] = bias[c]
		}
		d.offset[c] -= int32(inZero) * sum
	}
	d.planes = s.KH == 3 && s.KW <= 4 && s.DilationH == 1 && s.DilationW == 1 &&
		s.StrideH == s.StrideW && (s.StrideW == 1 || s.StrideW == 2)
	if d.planes {
		d.quads = make([]int8, 12*s.Cin)
		for c := range s.Cin {
			for r := range 3 {
				copy(d.quads[12*c+4*r:], w[c*khw+r*s.KW:c*khw+(r+1)*s.KW])
			}
		}
	}
	if !d.planes && exactFloat(w, bias, khw) {
		fw, fb := make([]float32, len(w)), make([]float32, s.Cin)
		for i, v := range w {
			fw[i] = float32(v)
		}
		for c := range bias {
			fb[c] = float32(bias[c])
		}
		frame := s
		frame.Frames = 1
		f, err := NewDepthwiseConv(frame, fw, fb, Act{})
		if err != nil {
			return nil, err
		}
		d.viaFloat = f
	}
	d.scales = make([]float32, s.Cin)
	for c := range d.scales {
		d.scales[c] = rq.scale(c)
	}
	const itemMACs = 1 << 16
	d.perItem = max(1, min(s.Cin, itemMACs/(d.oh*d.ow*khw)))
	return d, nil
}

// Shape returns the planned shape.
func (d *QDepthwiseConv) Shape() ConvShape { return d.s }

func (d *QDepthwiseConv) profileName() string   { return "qdepthwise " + d.s.String() }
func (d *QDepthwiseConv) profileFLOPs() float64 { return d.s.FLOPs() }

// Run computes the convolution of in (Frames x C rows of H*W bytes) into
// out [Frames][C][OH*OW].
func (d *QDepthwiseConv) Run(p *Pool, in QRows, out []uint8) {
	defer profileDone(d, profileStart())
	s := d.s
	checkQIn(in, s.Frames*s.Cin, s.H*s.W, "qdepthwise")
	ohw := d.oh * d.ow
	if len(out) != s.Frames*s.Cin*ohw {
		panic(fmt.Sprintf("runtime: qdepthwise output has %d bytes, want %d", len(out), s.Frames*s.Cin*ohw))
	}
	if d.viaFloat != nil {
		d.runViaFloat(p, in, out)
		return
	}
	perFrame := ceilDiv(s.Cin, d.perItem)
	p.For(s.Frames*perFrame, func(worker, item int) {
		f, c0 := item/perFrame, item%perFrame*d.perItem
		c1 := min(s.Cin, c0+d.perItem)
		if !d.planes {
			for c := c0; c < c1; c++ {
				d.direct(out[(f*s.Cin+c)*ohw:][:ohw], in[f*s.Cin+c], c)
			}
			return
		}
		w := p.qstate(worker, qdwScratchLen(d.oh, d.ow, s.StrideW), 0, 0)
		w.packed = qPackKey{} // buf no longer holds a packed block
		a := &w.dw
		*a = QDWConv{Scratch: w.buf, O: out[(f*s.Cin+c0)*ohw : (f*s.Cin+c1)*ohw], In: in[f*s.Cin+c0 : f*s.Cin+c1],
			W: d.quads[12*c0 : 12*c1], Offset: d.offset[c0:c1], Scale: d.scales[c0:c1],
			C: c1 - c0, IH: s.H, IW: s.W, OH: d.oh, OW: d.ow, Stride: s.StrideW, PadTop: s.PadTop, PadLeft: s.PadLeft,
			InZero: int32(d.inZero), Zero: d.ep.Zero, Lo: d.ep.Lo, Hi: d.ep.Hi}
		if kern := qdwConv; kern != nil {
			kern(a)
		} else {
			qdwConvGo(a)
		}
	})
}

// QDWPlane is the argument block of the NEON int8 depthwise kernel (on
// arm64; qdwConvNEON runs QDWConv on it): one
// channel whose input plane was copied with its padding (the input zero
// point) around it, In rows LDI bytes apart. For oy < OH and ox < OW8:
//
//	acc = Offset + Σ_{r<3} Σ_{k<4} int8(In[(oy*Stride + r)*LDI + ox*Stride + k] ^ 0x80) * W[4r+k]
//	O[oy*OW8 + ox] = round(clamp(float32(acc)*Scale, Lo, Hi)) + Zero
//
// with the QTile rounding; the activations are flipped to int8 for SDOT,
// so Offset holds the bias, less the input zero point and plus 128 times
// the taps' sum. OW8 is a multiple of 8 (the kernel stores 8 outputs a
// step), In is readable 16*Stride bytes from every step's first tap. Idx
// holds the TBL indices of Stride: byte 4p+t is p*Stride+t. The field
// layout is part of the assembly contract.
type QDWPlane struct {
	O, In                []uint8
	W                    [16]int8
	Idx                  [32]uint8
	OH, OW8, LDI, Stride int
	Offset               int32
	Scale                float32
	Zero                 int32
	Lo, Hi               float32
}

// qdwIdx are the TBL indices of strides 1 and 2.
var qdwIdx = func() (idx [2][32]uint8) {
	for s := range idx {
		for i := range 32 {
			idx[s][i] = uint8(i/4*(s+1) + i%4)
		}
	}
	return idx
}()

// qdwScratchLen is the scratch a QDWConv kernel may use: a plane padded
// for OH x OW outputs at stride and an output plane of rows padded to 8
// (the layout of QDWPlane, which qdwPlaneLayout spells out).
func qdwScratchLen(oh, ow, stride int) int {
	ldi, rows, ow8 := qdwPlaneLayout(oh, ow, stride)
	return ldi*rows + oh*ow8
}

// qdwPlaneLayout returns the row length and rows of a padded input
// plane for OH x OW outputs at stride, and the padded output row length:
// 8-output steps load 16 (stride 1) or 32 (stride 2) bytes from the
// step's first tap.
func qdwPlaneLayout(oh, ow, stride int) (ldi, rows, ow8 int) {
	ow8 = ceilDiv(ow, 8) * 8
	return (ow8-8)*stride + 16*stride, (oh-1)*stride + 3, ow8
}

// direct computes channel c of any other shape tap by tap, skipping the
// padding (which contributes nothing).
func (d *QDepthwiseConv) direct(o, in []uint8, c int) {
	s := d.s
	khw := s.KH * s.KW
	w := d.w[c*khw : (c+1)*khw]
	scale := d.rq.scale(c)
	for oy := range d.oh {
		for ox := range d.ow {
			acc := d.offset[c]
			for ky := range s.KH {
				iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
				for kx := range s.KW {
					ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
					x := int32(d.inZero)
					if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
						x = int32(in[iy*s.W+ix])
					}
					acc += x * int32(w[ky*s.KW+kx])
				}
			}
			o[oy*d.ow+ox] = d.ep.requant(acc, scale, false, 0)
		}
	}
}

// exactFloat reports whether a float32 depthwise convolution computes the
// int8 one exactly: every product of an input minus its zero point (at
// most 255 in magnitude) and a weight, and every partial sum of them and
// the bias, is an integer below 2^24 in magnitude, which float32 holds
// exactly whatever the order of the additions.
func exactFloat(w []int8, bias []int32, khw int) bool {
	for c := 0; c < len(w)/khw; c++ {
		var sum int
		for _, v := range w[c*khw : (c+1)*khw] {
			sum += max(int(v), -int(v))
		}
		sum *= 255
		if bias != nil {
			sum += max(int(bias[c]), -int(bias[c]))
		}
		if sum >= 1<<24 {
			return false
		}
	}
	return true
}

// runViaFloat runs the convolution a frame at a time on the float32
// depthwise kernels: the frame's input minus its zero point as floats
// (the padding then adds nothing), the exact sums with the bias, then per
// channel the requantisation.
func (d *QDepthwiseConv) runViaFloat(p *Pool, in QRows, out []uint8) {
	s := d.s
	hw, ohw := s.H*s.W, d.oh*d.ow
	if d.xf == nil {
		d.xf = make([]float32, s.Cin*hw)
		d.yf = make([]float32, s.Cin*ohw)
		d.xRows = PlainRows(d.xf, 1, s.Cin, hw)
	}
	items := ceilDiv(s.Cin, d.perItem)
	for f := range s.Frames {
		p.For(items, func(_, item int) {
			for c := item * d.perItem; c < min(s.Cin, (item+1)*d.perItem); c++ {
				dequantizeU8s(d.xf[c*hw:(c+1)*hw], in[f*s.Cin+c], 1, d.inZero)
			}
		})
		d.viaFloat.Run(p, d.xRows, d.yf, nil)
		o := out[f*s.Cin*ohw : (f+1)*s.Cin*ohw]
		p.For(items, func(_, item int) {
			for c := item * d.perItem; c < min(s.Cin, (item+1)*d.perItem); c++ {
				requantizeU8s(o[c*ohw:(c+1)*ohw], d.yf[c*ohw:(c+1)*ohw], d.scales[c], d.ep.Lo, d.ep.Hi, d.ep.Zero)
			}
		})
	}
}
