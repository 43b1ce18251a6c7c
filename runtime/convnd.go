package runtime

import (
	"fmt"
	"slices"
)

// Convolutions of 1 to 3 spatial axes. Those whose extra axes change
// nothing (1-D, and 3-D with a (kt,1,1) kernel, ...) are 2-D
// convolutions exactly and run on Conv (ConvNdShape.Conv2D); the others
// run as a GEMM per image and group on gemmPlan, the B panels packed by
// an N-d im2col: output depth oz of a 3-D convolution is a 2-D
// convolution of the input planes (ci, iz) that its kernel taps kt reach,
// so the 2-D packing kernels (PackRun) pack it through a row table of
// those planes, a zero plane where iz falls in the padding.

// ConvNdShape is the static shape of ONNX Conv over Batch images of Cin
// channels of spatial size In (1 to 3 axes, row-major): Cout output
// channels, Kernel one size per axis, weights [Cout][Cin/Group][Kernel...].
// Group 0 means 1; Strides and Dilations are nil or hold 0 for 1;
// PadsBegin and PadsEnd are nil for 0.
type ConvNdShape struct {
	Batch              int
	Cin, Cout, Group   int
	In, Kernel         []int
	Strides, Dilations []int
	PadsBegin, PadsEnd []int
}

func (s ConvNdShape) String() string {
	return fmt.Sprintf("conv %dx[%d,%v] -> %d, kernel %v, strides %v, dilations %v, pads %v,%v, group %d",
		s.Batch, s.Cin, s.In, s.Cout, s.Kernel, s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd, max(s.Group, 1))
}

// convWindow is the window geometry of one spatial axis.
type convWindow struct {
	in, kernel, stride, dilation, padBegin, padEnd int
}

func (w convWindow) out() int {
	return (w.in+w.padBegin+w.padEnd-(w.kernel-1)*w.dilation-1)/w.stride + 1
}

// identity reports whether the axis changes nothing: kernel 1, stride 1,
// no padding.
func (w convWindow) identity() bool {
	return w.kernel == 1 && w.stride == 1 && w.padBegin == 0 && w.padEnd == 0
}

// window returns the geometry of spatial axis i, defaults filled in.
func (s ConvNdShape) window(i int) convWindow {
	at := func(v []int, def int) int {
		if v == nil || v[i] == 0 && def == 1 {
			return def
		}
		return v[i]
	}
	return convWindow{s.In[i], s.Kernel[i], at(s.Strides, 1), at(s.Dilations, 1), at(s.PadsBegin, 0), at(s.PadsEnd, 0)}
}

func (s ConvNdShape) group() int { return max(s.Group, 1) }

// Validate reports shapes no convolution can run: 0 or more than 3
// spatial axes, lists of the wrong length, sizes that are not positive,
// negative pads, groups that do not divide the channels and kernels
// larger than the padded input.
func (s ConvNdShape) Validate() error {
	r := len(s.In)
	if r < 1 || r > 3 || len(s.Kernel) != r {
		return fmt.Errorf("%v: want 1 to 3 spatial axes and one kernel size per axis", s)
	}
	for _, v := range [][]int{s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd} {
		if v != nil && len(v) != r {
			return fmt.Errorf("%v: strides, dilations and pads must be nil or have %d entries", s, r)
		}
	}
	g := s.group()
	switch {
	case s.Batch <= 0 || s.Cin <= 0 || s.Cout <= 0 || s.Group < 0:
		return fmt.Errorf("%v: sizes must be positive", s)
	case s.Cin%g != 0 || s.Cout%g != 0:
		return fmt.Errorf("%v: group does not divide the channels", s)
	}
	for i := range r {
		w := s.window(i)
		switch {
		case w.in <= 0 || w.kernel <= 0 || w.stride <= 0 || w.dilation <= 0:
			return fmt.Errorf("%v: axis %d: sizes, strides and dilations must be positive", s, i)
		case w.padBegin < 0 || w.padEnd < 0:
			return fmt.Errorf("%v: axis %d: negative padding", s, i)
		case w.in+w.padBegin+w.padEnd < (w.kernel-1)*w.dilation+1:
			return fmt.Errorf("%v: axis %d: kernel larger than the padded input", s, i)
		}
	}
	return nil
}

// Out returns the output's spatial size.
func (s ConvNdShape) Out() []int {
	out := make([]int, len(s.In))
	for i := range out {
		out[i] = s.window(i).out()
	}
	return out
}

// InLen returns the float count of the input.
func (s ConvNdShape) InLen() int { return s.Batch * s.Cin * shapeProduct(s.In) }

// OutLen returns the float count of the output.
func (s ConvNdShape) OutLen() int { return s.Batch * s.Cout * shapeProduct(s.Out()) }

// FLOPs returns 2 x the multiply-adds of one call.
func (s ConvNdShape) FLOPs() float64 {
	return 2 * float64(s.OutLen()) * float64(s.Cin/s.group()*shapeProduct(s.Kernel))
}

// Conv2D reports whether the convolution is exactly a 2-D one and returns
// its ConvShape. Axes that change nothing (kernel 1, stride 1, no
// padding) are dropped when of size 1 and merged with a neighbour that
// also changes nothing; what is left must be at most two axes, padded
// with leading size-1 ones. A 1-D convolution is a 2-D one of height 1; a
// 3-D one with kernel (kt,1,1), strides (st,1,1), pads (pt,0,0) and any
// dilations is one over [T, H*W]; a 3-D one of depth 1 with kernel
// (1,kh,kw) one over [H, W]. The input, output and weights have the same
// layout in both forms (the weights packed by PackConvNdWeights are those
// of PackConvWeights for the ConvShape).
func (s ConvNdShape) Conv2D() (ConvShape, bool) {
	if s.Validate() != nil {
		return ConvShape{}, false
	}
	var axes []convWindow
	for i := range s.In {
		w := s.window(i)
		if w.identity() {
			w.dilation = 1
			if w.in == 1 {
				continue
			}
			if n := len(axes); n > 0 && axes[n-1].identity() {
				axes[n-1].in *= w.in
				continue
			}
		}
		axes = append(axes, w)
	}
	if len(axes) > 2 {
		return ConvShape{}, false
	}
	for len(axes) < 2 {
		axes = append([]convWindow{{in: 1, kernel: 1, stride: 1, dilation: 1}}, axes...)
	}
	h, w := axes[0], axes[1]
	return ConvShape{Frames: s.Batch, Cin: s.Cin, H: h.in, W: w.in, Cout: s.Cout, Group: s.group(),
		KH: h.kernel, KW: w.kernel, StrideH: h.stride, StrideW: w.stride, DilationH: h.dilation, DilationW: w.dilation,
		PadTop: h.padBegin, PadLeft: w.padBegin, PadBottom: h.padEnd, PadRight: w.padEnd}, true
}

// PackedConvNdWeightsLen returns the length of PackConvNdWeights' result.
func PackedConvNdWeightsLen(s ConvNdShape, mr int) int {
	g := max(s.Group, 1)
	return PackedConvWeightsLen(s.Cout, s.Cin/g, 1, shapeProduct(s.Kernel), g, mr)
}

// PackConvNdWeights packs ONNX weights w [Cout][Cin/Group][Kernel...] for
// NewConvNd: PackConvWeights with the kernel's taps as one row (codegen
// packs with mr = PackMR).
func PackConvNdWeights(w []float32, s ConvNdShape, mr int) ([]float32, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	g := s.group()
	return PackConvWeights(w, s.Cout, s.Cin/g, 1, shapeProduct(s.Kernel), g, mr)
}

// PackConvNdWeightsTo is PackConvNdWeights into dst, which has
// PackedConvNdWeightsLen values: the per-run packing of weights that are
// run-time tensors.
func PackConvNdWeightsTo(dst, w []float32, s ConvNdShape, mr int) error {
	if err := s.Validate(); err != nil {
		return err
	}
	g := s.group()
	return packConvWeightsTo(dst, w, s.Cout, s.Cin/g, 1, shapeProduct(s.Kernel), g, mr)
}

// ConvNd is a convolution of 1 to 3 spatial axes planned for a fixed
// shape: on Conv when the shape is a 2-D one (Conv2D), else as a GEMM per
// image and group, weights packed at compile time against im2col panels
// packed per run. Run must not be called concurrently on one ConvNd.
type ConvNd struct {
	s     ConvNdShape
	conv  *Conv // the 2-D plan, or nil
	rows  Rows  // Conv's input rows, set per run
	plan  *gemmPlan
	panel *convNdPanels
}

// NewConvNd plans a convolution. packed holds the weights packed by
// PackConvNdWeights with panel height packMR; bias has Cout values or is
// nil; act is fused into the epilogue. It fails on shapes Validate
// rejects and on weights or a bias of the wrong length.
func NewConvNd(s ConvNdShape, packed []float32, packMR int, bias []float32, act Act) (*ConvNd, error) {
	return newConvNd(s, packed, packMR, bias, act, true)
}

// NewConvNdRunTimeWeights plans a convolution whose weights are a run-time
// tensor: the GEMM plan reads packed, which PackConvNdWeightsTo fills
// before every Run, and adds no bias.
func NewConvNdRunTimeWeights(s ConvNdShape, packed []float32, packMR int, act Act) (*ConvNd, error) {
	return newConvNd(s, packed, packMR, nil, act, false)
}

// newConvNd plans the convolution, on Conv when via2D allows and the
// shape maps onto it.
func newConvNd(s ConvNdShape, packed []float32, packMR int, bias []float32, act Act, via2D bool) (*ConvNd, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := act.validate(); err != nil {
		return nil, fmt.Errorf("%v: %w", s, err)
	}
	if packMR <= 0 {
		return nil, fmt.Errorf("%v: panel height %d", s, packMR)
	}
	if want := PackedConvNdWeightsLen(s, packMR); len(packed) != want {
		return nil, fmt.Errorf("%v: packed weights have %d values, want %d", s, len(packed), want)
	}
	if bias != nil && len(bias) != s.Cout {
		return nil, fmt.Errorf("%v: bias has %d values, want %d", s, len(bias), s.Cout)
	}
	s.In, s.Kernel = slices.Clone(s.In), slices.Clone(s.Kernel)
	s.Strides, s.Dilations = slices.Clone(s.Strides), slices.Clone(s.Dilations)
	s.PadsBegin, s.PadsEnd = slices.Clone(s.PadsBegin), slices.Clone(s.PadsEnd)
	c := &ConvNd{s: s}
	if cs, ok := s.Conv2D(); ok && via2D {
		conv, err := NewConv(cs, packed, packMR, bias, act)
		if err != nil {
			return nil, err
		}
		c.conv, c.rows = conv, NewRows(s.Batch, s.Cin)
		return c, nil
	}

	g := s.group()
	coutG := s.Cout / g
	c.panel = newConvNdPanels(s)
	k, os := c.panel.k, c.panel.outSize
	kern := GemmKernelForA(packMR)
	if k, n := archIm2col(isa, c.panel.win[2].stride); k != nil && kern.NR <= n && c.panel.win[2].kernel <= im2colMaxKW {
		c.panel.im2col, c.panel.im2colMaxN = k, n
	}
	plan := newGemmPlan(coutG, os, k, s.Batch*g, kern)
	plan.ldc, plan.ldr = os, os
	plan.lo, plan.hi = act.Bounds()
	plan.tail = act.tail()
	panels := ceilDiv(coutG, packMR)
	aOff, cOff := make([]int, plan.batch), make([]int, plan.batch)
	pad := plan.paddedRows()
	plan.bias, plan.biasOff = make([]float32, g*pad), make([]int, plan.batch)
	for b := range plan.batch {
		n, gi := b/g, b%g
		aOff[b], cOff[b], plan.biasOff[b] = gi*panels*packMR*k, (n*s.Cout+gi*coutG)*os, gi*pad
	}
	for co, v := range bias {
		plan.bias[co/coutG*pad+co%coutG] = v
	}
	plan.a = gemmOperand{packed: packed, width: packMR, off: aOff}
	plan.b = gemmOperand{pack: c.panel}
	plan.cOff = cOff
	plan.prepare()
	c.plan = plan
	return c, nil
}

// Shape returns the planned shape.
func (c *ConvNd) Shape() ConvNdShape { return c.s }

// Kernel returns the name of the micro-kernel in use.
func (c *ConvNd) Kernel() string {
	if c.conv != nil {
		return c.conv.Kernel()
	}
	return c.plan.kern.Name
}

func (c *ConvNd) profileName() string   { return c.s.String() }
func (c *ConvNd) profileFLOPs() float64 { return c.s.FLOPs() }

// Run computes out = act(conv(x) + bias + residual): x is [Batch][Cin][In...]
// row-major, out [Batch][Cout][Out()...], residual nil or shaped like out
// and not aliasing it. Lengths that do not fit the plan are a
// code-generator bug and panic.
func (c *ConvNd) Run(p *Pool, x, out, residual []float32) {
	s := c.s
	if len(x) != s.InLen() {
		panic(fmt.Sprintf("runtime: %v: input of %d floats, want %d", s, len(x), s.InLen()))
	}
	if c.conv != nil {
		c.rows.SetPlain(x, s.Batch, s.Cin, shapeProduct(s.In))
		c.conv.Run(p, c.rows, out, residual)
		return
	}
	defer profileDone(c, profileStart())
	checkOut(out, residual, s.OutLen(), "conv")
	c.panel.setInput(x)
	c.plan.run(p, out, residual)
}

// convNdPanels packs the B panels of a ConvNd (the N-d im2col): lane j
// of member b = (image n, group g) is output position j, depth k =
// (ci*KT + kt)*KH*KW + kh*KW + kw reads input channel g*cinG+ci at depth
// oz*ST - PT + kt*DT, row oy*SH - PH + kh*DH, column ox*SW - PW + kw*DW,
// or 0 in the padding. 1-D and 2-D shapes are 3-D ones with leading axes
// of size 1.
type convNdPanels struct {
	win              [3]convWindow // depth, height, width
	od, oh, ow       int
	outSize, k       int
	cinG, kt, planes int // planes: cinG*KT rows per (member, oz)
	// planeOff[(b*od+oz)*planes + ci*KT+kt] is the offset in x of the
	// plane that row reads, or -1 for a zero plane
	planeOff []int
	rows     Rows // the same, set per run
	hw       int
	im2col   func(*PackRun) // the assembly packing kernel, or nil
	// im2colMaxN is the longest run im2col takes.
	im2colMaxN int
}

func newConvNdPanels(s ConvNdShape) *convNdPanels {
	cp := &convNdPanels{}
	r := len(s.In)
	for i := range cp.win {
		cp.win[i] = convWindow{in: 1, kernel: 1, stride: 1, dilation: 1}
		if j := i - (3 - r); j >= 0 {
			cp.win[i] = s.window(j)
		}
	}
	d, h, w := cp.win[0], cp.win[1], cp.win[2]
	cp.od, cp.oh, cp.ow = d.out(), h.out(), w.out()
	cp.outSize = cp.od * cp.oh * cp.ow
	g := s.group()
	cp.cinG, cp.kt = s.Cin/g, d.kernel
	cp.planes = cp.cinG * cp.kt
	cp.k = cp.planes * h.kernel * w.kernel
	cp.hw = h.in * w.in
	members := s.Batch * g
	cp.planeOff = make([]int, members*cp.od*cp.planes)
	cp.rows = make(Rows, len(cp.planeOff))
	for b := range members {
		n, gi := b/g, b%g
		for oz := range cp.od {
			for ci := range cp.cinG {
				for kt := range cp.kt {
					off := -1
					if iz := oz*d.stride - d.padBegin + kt*d.dilation; iz >= 0 && iz < d.in {
						off = ((n*s.Cin+gi*cp.cinG+ci)*d.in + iz) * cp.hw
					}
					cp.planeOff[(b*cp.od+oz)*cp.planes+ci*cp.kt+kt] = off
				}
			}
		}
	}
	return cp
}

// setInput points the row table at x.
func (cp *convNdPanels) setInput(x []float32) {
	zero := ZeroRow(cp.hw)
	for i, off := range cp.planeOff {
		if off < 0 {
			cp.rows[i] = zero
		} else {
			cp.rows[i] = x[off : off+cp.hw : off+cp.hw]
		}
	}
}

func (cp *convNdPanels) source(b int) int { return b }

func (cp *convNdPanels) packPanels(ws *workerState, dst []float32, b, l0, nl, k0, kn, width int) {
	h, w := cp.win[1], cp.win[2]
	a := &ws.pack
	for j := 0; j < nl; {
		pos := l0 + j
		oz, oy, ox := pos/(cp.oh*cp.ow), pos/cp.ow%cp.oh, pos%cp.ow
		// a run: consecutive columns of one output row inside one panel
		n := min(cp.ow-ox, nl-j, width-j%width)
		rows := cp.rows[(b*cp.od+oz)*cp.planes:][:cp.planes]
		*a = PackRun{Dst: dst[j/width*kn*width+j%width:][:(kn-1)*width+n], Rows: rows,
			K0: k0, KN: kn, N: n, LDD: width,
			IY: oy*h.stride - h.padBegin, IX: ox*w.stride - w.padBegin,
			KH: h.kernel, KW: w.kernel, DH: h.dilation, DW: w.dilation, H: h.in, W: w.in, SW: w.stride}
		kern := cp.im2col
		if kern == nil || n > cp.im2colMaxN {
			kern = packRunGo
		}
		kern(a)
		j += n
	}
}
