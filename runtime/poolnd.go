package runtime

import (
	"fmt"
	"math"
	"slices"
)

// N-d pooling: MaxPool and AveragePool over any number of spatial axes
// (ONNX's 1-D, 2-D and 3-D), and GlobalMaxPool. A window is the product
// of one tap range per axis, so both pools are separable: a pass per
// axis pools along that axis alone (a max, or a mean over the axis's
// count), and the passes compose to the pool over the whole window.

// PoolNdShape is the static shape of a pooling over Planes planes (N x C)
// of spatial size In, one entry per spatial axis, row-major. Strides and
// Dilations are nil or hold 0 for 1; PadsBegin and PadsEnd are nil for 0.
// CeilMode rounds the output size up, the ONNX rule of PoolOutSize: a
// window starting in the end padding is dropped.
type PoolNdShape struct {
	Planes             int
	In, Kernel         []int
	Strides, Dilations []int
	PadsBegin, PadsEnd []int
	CeilMode           bool
}

func (s PoolNdShape) String() string {
	return fmt.Sprintf("pool %dx%v kernel %v strides %v dilations %v pads %v,%v ceil %v",
		s.Planes, s.In, s.Kernel, s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd, s.CeilMode)
}

// axisWindow is the window geometry along spatial axis i, defaults
// filled in.
func (s PoolNdShape) axisWindow(i int) (in, kernel, stride, dilation, padBegin, padEnd int) {
	at := func(v []int, def int) int {
		if v == nil || v[i] == 0 && def == 1 {
			return def
		}
		return v[i]
	}
	return s.In[i], s.Kernel[i], at(s.Strides, 1), at(s.Dilations, 1), at(s.PadsBegin, 0), at(s.PadsEnd, 0)
}

// Validate reports shapes no pooling can run: no spatial axis, lists of
// the wrong length, sizes that are not positive, negative pads, and
// windows larger than the padded input.
func (s PoolNdShape) Validate() error {
	r := len(s.In)
	if r == 0 || len(s.Kernel) != r {
		return fmt.Errorf("%v: want one kernel size per spatial axis, at least one axis", s)
	}
	for _, v := range [][]int{s.Strides, s.Dilations, s.PadsBegin, s.PadsEnd} {
		if v != nil && len(v) != r {
			return fmt.Errorf("%v: strides, dilations and pads must be nil or have %d entries", s, r)
		}
	}
	if s.Planes < 0 {
		return fmt.Errorf("%v: negative plane count", s)
	}
	for i := range r {
		in, k, st, d, pb, pe := s.axisWindow(i)
		switch {
		case in <= 0 || k <= 0 || st <= 0 || d <= 0:
			return fmt.Errorf("%v: axis %d: sizes, strides and dilations must be positive", s, i)
		case pb < 0 || pe < 0:
			return fmt.Errorf("%v: axis %d: negative padding", s, i)
		case PoolOutSize(in, k, st, d, pb, pe, s.CeilMode) <= 0:
			return fmt.Errorf("%v: axis %d: window larger than the padded input", s, i)
		}
	}
	return nil
}

// Out returns the output's spatial size.
func (s PoolNdShape) Out() []int {
	out := make([]int, len(s.In))
	for i := range out {
		in, k, st, d, pb, pe := s.axisWindow(i)
		out[i] = PoolOutSize(in, k, st, d, pb, pe, s.CeilMode)
	}
	return out
}

// poolAxis is the pass of one spatial axis: output o reads the taps
// first[o] + t*step for t < taps[o], the window's taps inside the input.
type poolAxis struct {
	in, out    int
	step       int
	first      []int
	taps       []int
	inv        []float32 // averages: 1 / the count of output o (0 when it has no tap)
	identity   bool      // kernel 1, stride 1, no padding: the pass changes nothing
	emptyTaps  bool      // some output has no tap inside the input
	paddedTaps []int     // taps inside the input or its explicit padding
}

func newPoolAxes(s PoolNdShape) []poolAxis {
	axes := make([]poolAxis, len(s.In))
	for i := range axes {
		in, k, st, d, pb, pe := s.axisWindow(i)
		out := PoolOutSize(in, k, st, d, pb, pe, s.CeilMode)
		ax := poolAxis{in: in, out: out, step: d, first: make([]int, out), taps: make([]int, out),
			paddedTaps: make([]int, out), identity: k == 1 && st == 1 && pb == 0 && pe == 0}
		for o := range out {
			for t := range k {
				switch idx := o*st - pb + t*d; {
				case idx >= 0 && idx < in:
					if ax.taps[o] == 0 {
						ax.first[o] = idx
					}
					ax.taps[o]++
					ax.paddedTaps[o]++
				case idx >= -pb && idx < in+pe: // not the ceil-mode extension
					ax.paddedTaps[o]++
				}
			}
			ax.emptyTaps = ax.emptyTaps || ax.taps[o] == 0
		}
		axes[i] = ax
	}
	return axes
}

// setAverage sets the reciprocal counts of an average: of the taps
// inside the input, or with countPad of those inside the input or its
// explicit padding (ONNX count_include_pad: the ceil-mode extension past
// the end padding never counts).
func (ax *poolAxis) setAverage(countPad bool) {
	ax.inv = make([]float32, ax.out)
	for o := range ax.out {
		n := ax.taps[o]
		if countPad {
			n = ax.paddedTaps[o]
		}
		if ax.taps[o] > 0 {
			ax.inv[o] = 1 / float32(n)
		}
	}
}

// emptyMax is the max over a window with no tap inside the input, the
// interpreter's and onnxruntime's lowest float.
const emptyMax = -math.MaxFloat32

// maxPass pools src [outer][in][inner] along the middle axis into dst
// [outer][out][inner].
func (ax *poolAxis) maxPass(dst, src []float32, outer, inner int) {
	for q := range outer {
		s, d := src[q*ax.in*inner:][:ax.in*inner], dst[q*ax.out*inner:][:ax.out*inner]
		if inner == 1 {
			for o := range ax.out {
				acc := float32(emptyMax)
				if n := ax.taps[o]; n > 0 {
					acc = s[ax.first[o]]
					for t := 1; t < n; t++ {
						acc = max(acc, s[ax.first[o]+t*ax.step])
					}
				}
				d[o] = acc
			}
			continue
		}
		for o := range ax.out {
			row := d[o*inner : (o+1)*inner]
			n := ax.taps[o]
			if n == 0 {
				for i := range row {
					row[i] = emptyMax
				}
				continue
			}
			copy(row, s[ax.first[o]*inner:][:inner])
			for t := 1; t < n; t++ {
				r := s[(ax.first[o]+t*ax.step)*inner:][:inner]
				for i, v := range r {
					row[i] = max(row[i], v)
				}
			}
		}
	}
}

// avgPass averages src [outer][in][inner] along the middle axis into dst
// [outer][out][inner]: the sum of the taps times inv.
func (ax *poolAxis) avgPass(dst, src []float32, outer, inner int) {
	for q := range outer {
		s, d := src[q*ax.in*inner:][:ax.in*inner], dst[q*ax.out*inner:][:ax.out*inner]
		if inner == 1 {
			for o := range ax.out {
				var acc float32
				for t := range ax.taps[o] {
					acc += s[ax.first[o]+t*ax.step]
				}
				d[o] = acc * ax.inv[o]
			}
			continue
		}
		for o := range ax.out {
			row := d[o*inner : (o+1)*inner]
			n := ax.taps[o]
			if n == 0 {
				clear(row)
				continue
			}
			copy(row, s[ax.first[o]*inner:][:inner])
			for t := 1; t < n; t++ {
				r := s[(ax.first[o]+t*ax.step)*inner:][:inner]
				for i, v := range r {
					row[i] += v
				}
			}
			inv := ax.inv[o]
			for i := range row {
				row[i] *= inv
			}
		}
	}
}

// poolNd is the plan shared by MaxPoolNd and AveragePoolNd.
type poolNd struct {
	s               PoolNdShape
	axes            []poolAxis
	inSize, outSize int // floats per plane
	perItem         int // planes per work item
	tmp             int // floats of each of the two scratch buffers per plane
	average         bool
}

func newPoolNd(s PoolNdShape) (*poolNd, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.In, s.Kernel = slices.Clone(s.In), slices.Clone(s.Kernel)
	s.Strides, s.Dilations = slices.Clone(s.Strides), slices.Clone(s.Dilations)
	s.PadsBegin, s.PadsEnd = slices.Clone(s.PadsBegin), slices.Clone(s.PadsEnd)
	pl := &poolNd{s: s, axes: newPoolAxes(s), inSize: shapeProduct(s.In), outSize: shapeProduct(s.Out())}
	pl.perItem = max(1, (1<<15)/pl.inSize)
	// the intermediate sizes: axes pooled from the last
	cur := slices.Clone(s.In)
	for a := len(cur) - 1; a >= 0; a-- {
		cur[a] = pl.axes[a].out
		pl.tmp = max(pl.tmp, shapeProduct(cur))
	}
	return pl, nil
}

// run pools x [Planes][In] into out [Planes][Out], per item a run of
// planes through the passes of the axes, last axis first, skipping the
// axes that change nothing.
func (pl *poolNd) run(p *Pool, x, out []float32, op string) {
	s := pl.s
	if len(x) != s.Planes*pl.inSize || len(out) != s.Planes*pl.outSize {
		panic(fmt.Sprintf("runtime: %s %v of %d floats into %d, want %d into %d", op, s, len(x), len(out), s.Planes*pl.inSize, s.Planes*pl.outSize))
	}
	last := -1 // the last pass writes to out
	for a := range pl.axes {
		if !pl.axes[a].identity {
			last = a
			break
		}
	}
	p.For(ceilDiv(s.Planes, pl.perItem), func(worker, item int) {
		p0, p1 := item*pl.perItem, min(s.Planes, (item+1)*pl.perItem)
		n := p1 - p0
		src, dst := x[p0*pl.inSize:p1*pl.inSize], out[p0*pl.outSize:p1*pl.outSize]
		if last < 0 {
			copy(dst, src)
			return
		}
		scratch := p.Scratch(worker, 2*n*pl.tmp)
		bufs := [2][]float32{scratch[:n*pl.tmp], scratch[n*pl.tmp:]}
		cur := slices.Clone(s.In)
		pass := 0
		for a := len(cur) - 1; a >= 0; a-- {
			ax := &pl.axes[a]
			if ax.identity {
				continue
			}
			outer, inner := n*shapeProduct(cur[:a]), shapeProduct(cur[a+1:])
			cur[a] = ax.out
			next := bufs[pass%2][:outer*ax.out*inner]
			pass++
			if a == last {
				next = dst
			}
			if pl.average {
				ax.avgPass(next, src, outer, inner)
			} else {
				ax.maxPass(next, src, outer, inner)
			}
			src = next
		}
	})
}

// MaxPoolNd is ONNX MaxPool (without the Indices output) over any number
// of spatial axes, planned for a fixed shape: the maximum of each window's
// taps inside the input (padding never wins; a window with none, possible
// with dilations, gives -MaxFloat32 as the interpreter and onnxruntime
// do). A 2-D shape that MaxPool takes runs on MaxPool. Comparisons are
// Go's max (a NaN wins); the 2-D kernels document their own.
type MaxPoolNd struct {
	pl *poolNd
	mp *MaxPool // the 2-D fast path, or nil
}

// NewMaxPoolNd plans a max pooling; it fails on shapes Validate rejects.
func NewMaxPoolNd(s PoolNdShape) (*MaxPoolNd, error) {
	return newMaxPoolNd(s, true)
}

// newMaxPoolNd plans the pooling, on MaxPool when fast2D allows and the
// shape fits it.
func newMaxPoolNd(s PoolNdShape, fast2D bool) (*MaxPoolNd, error) {
	pl, err := newPoolNd(s)
	if err != nil {
		return nil, err
	}
	m := &MaxPoolNd{pl: pl}
	empty := slices.ContainsFunc(pl.axes, func(ax poolAxis) bool { return ax.emptyTaps })
	if fast2D && len(s.In) == 2 && !empty {
		_, kh, sh, dh, top, bottom := s.axisWindow(0)
		_, kw, sw, dw, left, right := s.axisWindow(1)
		m.mp, _ = NewMaxPool(PoolShape{Planes: s.Planes, H: s.In[0], W: s.In[1], KH: kh, KW: kw,
			StrideH: sh, StrideW: sw, DilationH: dh, DilationW: dw,
			PadTop: top, PadLeft: left, PadBottom: bottom, PadRight: right, CeilMode: s.CeilMode})
	}
	return m, nil
}

// Shape returns the planned shape.
func (m *MaxPoolNd) Shape() PoolNdShape { return m.pl.s }

func (m *MaxPoolNd) profileName() string   { return "max" + m.pl.s.String() }
func (m *MaxPoolNd) profileFLOPs() float64 { return 0 }

// Run pools x [Planes][In...] into out [Planes][Out()...]. Lengths that
// do not fit the plan are a code-generator bug and panic.
func (m *MaxPoolNd) Run(p *Pool, x, out []float32) {
	if m.mp != nil {
		m.mp.Run(p, x, out)
		return
	}
	defer profileDone(m, profileStart())
	m.pl.run(p, x, out, "maxpool")
}

// AveragePoolNd is ONNX AveragePool over any number of spatial axes,
// planned for a fixed shape: the sum of each window's taps inside the
// input over their count, or with count_include_pad over the count of
// its taps inside the input or its explicit padding; taps in the
// ceil-mode extension past the end padding never count (the ONNX
// reference, onnxruntime and the interpreter agree). A window with no
// tap inside the input gives 0. Sums are float32, one axis at a time.
type AveragePoolNd struct {
	pl *poolNd
}

// NewAveragePoolNd plans an average pooling; countIncludePad is ONNX's
// count_include_pad. It fails on shapes Validate rejects.
func NewAveragePoolNd(s PoolNdShape, countIncludePad bool) (*AveragePoolNd, error) {
	pl, err := newPoolNd(s)
	if err != nil {
		return nil, err
	}
	pl.average = true
	for i := range pl.axes {
		pl.axes[i].setAverage(countIncludePad)
	}
	return &AveragePoolNd{pl: pl}, nil
}

// Shape returns the planned shape.
func (a *AveragePoolNd) Shape() PoolNdShape { return a.pl.s }

func (a *AveragePoolNd) profileName() string { return "average" + a.pl.s.String() }
func (a *AveragePoolNd) profileFLOPs() float64 {
	return float64(a.pl.s.Planes * a.pl.outSize * shapeProduct(a.pl.s.Kernel))
}

// Run pools x [Planes][In...] into out [Planes][Out()...]. Lengths that
// do not fit the plan are a code-generator bug and panic.
func (a *AveragePoolNd) Run(p *Pool, x, out []float32) {
	defer profileDone(a, profileStart())
	a.pl.run(p, x, out, "averagepool")
}

// GlobalMaxPool computes out[i] = the maximum of x[i*size:(i+1)*size] for
// each of the planes (ONNX GlobalMaxPool over N x C planes of size
// spatial values; a NaN wins).
func GlobalMaxPool(p *Pool, x, out []float32, planes, size int) {
	if len(x) != planes*size || len(out) != planes || size <= 0 {
		panic(fmt.Sprintf("runtime: global max pool of %d floats into %d, want %d x %d", len(x), len(out), planes, size))
	}
	if t0 := profileStart(); !t0.IsZero() {
		defer profileDone(fmt.Sprintf("global max pool %dx[%d]", planes, size), t0)
	}
	perItem := max(1, (1<<15)/size)
	p.For(ceilDiv(planes, perItem), func(_, item int) {
		for i := item * perItem; i < min(planes, (item+1)*perItem); i++ {
			plane := x[i*size : (i+1)*size]
			acc := plane[0]
			for _, v := range plane[1:] {
				acc = max(acc, v)
			}
			out[i] = acc
		}
	})
}
