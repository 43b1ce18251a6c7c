package interp

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// window is the geometry of a sliding window along one spatial axis:
// output position o at kernel tap k reads input index
// o*stride - padBegin + k*dilation.
type window struct {
	in, kernel, stride, dilation, padBegin, padEnd, out int
}

// span is the extent of the dilated kernel.
func (w window) span() int { return (w.kernel-1)*w.dilation + 1 }

// source returns the input index read by output o at tap k, or -1 when it
// falls in the padding.
func (w window) source(o, k int) int {
	i := o*w.stride - w.padBegin + k*w.dilation
	if i < 0 || i >= w.in {
		return -1
	}
	return i
}

// inPadded reports whether output o at tap k reads the input or the
// explicit padding (rather than beyond it, which ceil_mode can reach).
func (w window) inPadded(o, k int) bool {
	i := o*w.stride - w.padBegin + k*w.dilation
	return i >= -w.padBegin && i < w.in+w.padEnd
}

// windows computes the windows of Conv and the pools along each spatial
// axis of size in[i] from the attributes strides, dilations, pads and
// auto_pad. ceilMode rounds the output size up (pools from opset 10).
func windows(n *ir.Node, in, kernel []int, ceilMode bool) ([]window, error) {
	r := len(in)
	strides := attrInts(n, "strides", repeatInt(1, r))
	dilations := attrInts(n, "dilations", repeatInt(1, r))
	pads := attrInts(n, "pads", repeatInt(0, 2*r))
	if len(kernel) != r || len(strides) != r || len(dilations) != r || len(pads) != 2*r {
		return nil, fmt.Errorf("kernel %v, strides %v, dilations %v and pads %v do not fit %d spatial axes",
			kernel, strides, dilations, pads, r)
	}
	autoPad := n.AttrString("auto_pad", "NOTSET")
	ws := make([]window, r)
	for i := range ws {
		w := window{in: in[i], kernel: kernel[i], stride: strides[i], dilation: dilations[i]}
		if w.kernel < 1 || w.stride < 1 || w.dilation < 1 || pads[i] < 0 || pads[i+r] < 0 {
			return nil, fmt.Errorf("invalid window on axis %d: kernel %d, stride %d, dilation %d, pads %d,%d",
				i, w.kernel, w.stride, w.dilation, pads[i], pads[i+r])
		}
		switch autoPad {
		case "NOTSET", "":
			w.padBegin, w.padEnd = pads[i], pads[i+r]
			room := w.in + w.padBegin + w.padEnd - w.span()
			if room < 0 {
				return nil, fmt.Errorf("axis %d of size %d (padded %d,%d) is smaller than the window %d",
					i, w.in, w.padBegin, w.padEnd, w.span())
			}
			w.out = room/w.stride + 1
			if ceilMode {
				w.out = (room+w.stride-1)/w.stride + 1
				// The last window must start inside the input or the
				// leading padding.
				if (w.out-1)*w.stride >= w.in+w.padBegin {
					w.out--
				}
			}
		case "VALID":
			if w.in < w.span() {
				return nil, fmt.Errorf("axis %d of size %d is smaller than the window %d", i, w.in, w.span())
			}
			w.out = (w.in-w.span())/w.stride + 1
		case "SAME_UPPER", "SAME_LOWER":
			w.out = (w.in + w.stride - 1) / w.stride
			total := max(0, (w.out-1)*w.stride+w.span()-w.in)
			w.padBegin = total / 2
			if autoPad == "SAME_LOWER" {
				w.padBegin = total - total/2
			}
			w.padEnd = total - w.padBegin
		default:
			return nil, fmt.Errorf("unsupported auto_pad %q", autoPad)
		}
		ws[i] = w
	}
	return ws, nil
}

// grid3 is the windows of up to three spatial axes; 1-D and 2-D problems
// get leading size-1 axes, so one set of triple loops serves all ranks.
type grid3 [3]window

func toGrid3(ws []window) grid3 {
	var g grid3
	for i := range g {
		g[i] = window{in: 1, kernel: 1, stride: 1, dilation: 1, out: 1}
	}
	copy(g[3-len(ws):], ws)
	return g
}

func (g grid3) inSize() int     { return g[0].in * g[1].in * g[2].in }
func (g grid3) outSize() int    { return g[0].out * g[1].out * g[2].out }
func (g grid3) kernelSize() int { return g[0].kernel * g[1].kernel * g[2].kernel }

// identity reports whether the windows read each input element once, in
// order (a 1x1 kernel with stride 1 and no padding).
func (g grid3) identity() bool {
	for _, w := range g {
		if w.kernel != 1 || w.stride != 1 || w.padBegin != 0 || w.padEnd != 0 {
			return false
		}
	}
	return true
}

// spatialInput checks an N x C x spatial input of 1 to 3 spatial axes.
func spatialInput(x *ir.Tensor, what string) error {
	if err := requireFloat32(x, what); err != nil {
		return err
	}
	if r := len(x.Shape); r < 3 || r > 5 {
		return fmt.Errorf("%s must be N x C x (1 to 3 spatial axes), got shape %v", what, x.Shape)
	}
	return nil
}

// convKernel is ONNX Conv: per image and group, im2col then a matmul of the
// group's weights with the patch matrix.
func convKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "X", "W"); err != nil {
		return nil, err
	}
	x, w, b := inputs[0], inputs[1], optional(inputs, 2)
	if err := spatialInput(x, "X"); err != nil {
		return nil, err
	}
	if err := requireFloat32(w, "W"); err != nil {
		return nil, err
	}
	if err := requireRank(w, len(x.Shape), "W"); err != nil {
		return nil, err
	}
	group, ws, shape, err := convGeometry(n, x, w, "X", "W")
	if err != nil {
		return nil, err
	}
	batch, channels, maps, groupChannels := x.Shape[0], x.Shape[1], w.Shape[0], w.Shape[1]
	if b != nil {
		if err := requireFloat32(b, "B"); err != nil {
			return nil, err
		}
		if !b.Shape.Equal(ir.Shape{maps}) {
			return nil, fmt.Errorf("B has shape %v, want [%d]", b.Shape, maps)
		}
	}
	y, err := alloc(ir.Float32, shape)
	if err != nil {
		return nil, err
	}
	g := toGrid3(ws)
	inSize, outSize := g.inSize(), g.outSize()
	depth := groupChannels * g.kernelSize() // rows of the patch matrix
	groupMaps := maps / group

	// convolve computes group grp of image img; col is scratch space for
	// the patch matrix.
	convolve := func(img, grp int, col []float32, parallel bool) {
		xg := x.F32[(img*channels+grp*groupChannels)*inSize:][:groupChannels*inSize]
		yg := y.F32[(img*maps+grp*groupMaps)*outSize:][:groupMaps*outSize]
		wg := w.F32[grp*groupMaps*depth:][:groupMaps*depth]
		if g.identity() {
			col = xg
		} else {
			im2col(col, xg, groupChannels, g)
		}
		if b != nil {
			for m := 0; m < groupMaps; m++ {
				row := yg[m*outSize : (m+1)*outSize]
				for j := range row {
					row[j] = b.F32[grp*groupMaps+m]
				}
			}
		}
		matmulAdd(groupMaps, outSize, depth, wg, col, yg, parallel)
	}
	colSize := depth * outSize
	if g.identity() {
		colSize = 0
	}
	tasks := batch * group
	if tasks >= workers() { // enough (image, group) pairs to share out
		parallelFor(tasks, func(lo, hi int) {
			col := make([]float32, colSize)
			for t := lo; t < hi; t++ {
				convolve(t/group, t%group, col, false)
			}
		})
	} else {
		col := make([]float32, colSize)
		for t := 0; t < tasks; t++ {
			convolve(t/group, t%group, col, true)
		}
	}
	return []*ir.Tensor{y}, nil
}

// im2col writes the patch matrix of one image's channels into col: row
// (c, kz, ky, kx) holds, for every output position, the input value under
// that kernel tap, or 0 in the padding.
func im2col[T number](col, x []T, channels int, g grid3) {
	height, width := g[1].in, g[2].in
	outSize := g.outSize()
	row := 0
	for c := 0; c < channels; c++ {
		xc := x[c*g.inSize() : (c+1)*g.inSize()]
		for kz := 0; kz < g[0].kernel; kz++ {
			for ky := 0; ky < g[1].kernel; ky++ {
				for kx := 0; kx < g[2].kernel; kx++ {
					dst := col[row*outSize : (row+1)*outSize]
					p := 0
					for oz := 0; oz < g[0].out; oz++ {
						iz := g[0].source(oz, kz)
						for oy := 0; oy < g[1].out; oy++ {
							iy := g[1].source(oy, ky)
							for ox := 0; ox < g[2].out; ox++ {
								ix := g[2].source(ox, kx)
								if iz < 0 || iy < 0 || ix < 0 {
									dst[p] = 0
								} else {
									dst[p] = xc[(iz*height+iy)*width+ix]
								}
								p++
							}
						}
					}
					row++
				}
			}
		}
	}
}

// poolKernel is MaxPool (max over the window, padding never wins, optional
// Indices output) or AveragePool (mean over the window, padding counted
// only with count_include_pad).
func poolKernel(isMax bool) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "X"); err != nil {
			return nil, err
		}
		x := inputs[0]
		if _, _, quantized := QuantRange(x.DType); isMax && quantized && x.DType != ir.Int32 {
			return intMaxPool(n, opset, x)
		}
		if err := spatialInput(x, "X"); err != nil {
			return nil, err
		}
		kernel, ok := n.AttrInts("kernel_shape")
		if !ok {
			return nil, errors.New("missing attribute kernel_shape")
		}
		ceilMode := opset >= 10 && n.AttrInt("ceil_mode", 0) != 0
		ws, err := windows(n, x.Shape[2:], toInts(kernel), ceilMode)
		if err != nil {
			return nil, err
		}
		shape := x.Shape[:2].Clone()
		for _, w := range ws {
			shape = append(shape, w.out)
		}
		y, err := alloc(ir.Float32, shape)
		if err != nil {
			return nil, err
		}
		var indices *ir.Tensor
		if isMax && len(n.Outputs) > 1 && n.Outputs[1] != nil {
			if indices, err = alloc(ir.Int64, shape); err != nil {
				return nil, err
			}
		}
		includePad := !isMax && n.AttrInt("count_include_pad", 0) != 0
		columnMajor := n.AttrInt("storage_order", 0) != 0
		g := toGrid3(ws)
		planes := x.Shape[0] * x.Shape[1]
		parallelFor(planes, func(lo, hi int) {
			for plane := lo; plane < hi; plane++ {
				pool(plane, x.F32, y.F32, indices, g, isMax, includePad, columnMajor)
			}
		})
		outs := []*ir.Tensor{y}
		if indices != nil {
			outs = append(outs, indices)
		}
		return outs, nil
	}
}

// intMaxPool is MaxPool of an 8- or 16-bit integer tensor (opset 12 and
// later): the float32 kernel on the exactly converted values.
func intMaxPool(n *ir.Node, opset int64, x *ir.Tensor) ([]*ir.Tensor, error) {
	if opset < 12 {
		return nil, fmt.Errorf("MaxPool takes %v tensors from opset 12", x.DType)
	}
	xf, err := alloc(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	for i, v := range x.I64 {
		xf.F32[i] = float32(v)
	}
	outs, err := poolKernel(true)(n, opset, []*ir.Tensor{xf})
	if err != nil {
		return nil, err
	}
	y := &ir.Tensor{DType: x.DType, Shape: outs[0].Shape, I64: make([]int64, outs[0].Len())}
	for i, v := range outs[0].F32 {
		y.I64[i] = int64(v)
	}
	outs[0] = y
	return outs, nil
}

// pool computes one N x C plane of a pooling. MaxPool's indices are flat
// positions in X, the spatial part in row-major order, or column-major
// (x fastest last: z + y*depth + x*depth*height) with columnMajor.
func pool(plane int, x, y []float32, indices *ir.Tensor, g grid3, isMax, includePad, columnMajor bool) {
	depth, height, width := g[0].in, g[1].in, g[2].in
	xs := x[plane*g.inSize() : (plane+1)*g.inSize()]
	p := plane * g.outSize()
	for oz := 0; oz < g[0].out; oz++ {
		for oy := 0; oy < g[1].out; oy++ {
			for ox := 0; ox < g[2].out; ox++ {
				best, found, bestIndex := float32(-math.MaxFloat32), false, 0
				sum, count := 0.0, 0
				for kz := 0; kz < g[0].kernel; kz++ {
					for ky := 0; ky < g[1].kernel; ky++ {
						for kx := 0; kx < g[2].kernel; kx++ {
							iz, iy, ix := g[0].source(oz, kz), g[1].source(oy, ky), g[2].source(ox, kx)
							if iz < 0 || iy < 0 || ix < 0 {
								if includePad && g[0].inPadded(oz, kz) && g[1].inPadded(oy, ky) && g[2].inPadded(ox, kx) {
									count++
								}
								continue
							}
							at := (iz*height+iy)*width + ix
							v := xs[at]
							if v > best || !found && !math.IsNaN(float64(v)) {
								best, found, bestIndex = v, true, at
								if columnMajor {
									bestIndex = iz + (iy+ix*height)*depth
								}
							}
							sum += float64(v)
							count++
						}
					}
				}
				switch {
				case isMax:
					y[p] = best
					if indices != nil {
						indices.I64[p] = int64(plane*g.inSize() + bestIndex)
					}
				case count > 0:
					y[p] = float32(sum / float64(count))
				}
				p++
			}
		}
	}
}

// batchNormKernel is inference-mode BatchNormalization:
// Y = (X - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1).
func batchNormKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	names := []string{"X", "scale", "B", "input_mean", "input_var"}
	if err := required(inputs, names...); err != nil {
		return nil, err
	}
	x := inputs[0]
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("X must have rank >= 2, got shape %v", x.Shape)
	}
	channels := x.Shape[1]
	for i, name := range names {
		if err := requireFloat32(inputs[i], name); err != nil {
			return nil, err
		}
		if i > 0 && !inputs[i].Shape.Equal(ir.Shape{channels}) {
			return nil, fmt.Errorf("%s has shape %v, want [%d] (spatial=0 is not supported)", name, inputs[i].Shape, channels)
		}
	}
	if opset >= 14 && n.AttrInt("training_mode", 0) != 0 {
		return nil, errors.New("training_mode is not supported")
	}
	for i, o := range n.Outputs {
		if i > 0 && o != nil {
			return nil, fmt.Errorf("output %d (running statistics) exists only in training mode, which is not supported", i)
		}
	}
	scale, bias, mean, variance := inputs[1].F32, inputs[2].F32, inputs[3].F32, inputs[4].F32
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	y, err := alloc(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	inner := product(x.Shape[2:])
	for i := 0; i < x.Shape[0]*channels; i++ {
		c := i % channels
		k := float64(scale[c]) / math.Sqrt(float64(variance[c])+eps)
		for j := i * inner; j < (i+1)*inner; j++ {
			y.F32[j] = float32((float64(x.F32[j])-float64(mean[c]))*k + float64(bias[c]))
		}
	}
	return []*ir.Tensor{y}, nil
}

// softmaxKernel is Softmax (or LogSoftmax with log set). Before opset 13
// the input is coerced to 2-D at axis (default 1) and normalised over the
// trailing block; from 13 on it is normalised along axis (default -1).
func softmaxKernel(log bool) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "input"); err != nil {
			return nil, err
		}
		x := inputs[0]
		if err := requireFloat32(x, "input"); err != nil {
			return nil, err
		}
		rank := len(x.Shape)
		var outer, size, inner int
		if opset < 13 {
			axis, err := normAxis(int(n.AttrInt("axis", 1)), rank)
			if err != nil {
				return nil, err
			}
			outer, size, inner = product(x.Shape[:axis]), product(x.Shape[axis:]), 1
		} else {
			axis, err := normAxis(int(n.AttrInt("axis", -1)), rank)
			if err != nil {
				return nil, err
			}
			outer, size, inner = product(x.Shape[:axis]), x.Shape[axis], product(x.Shape[axis+1:])
		}
		y, err := alloc(ir.Float32, x.Shape)
		if err != nil {
			return nil, err
		}
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				at := func(j int) int { return (o*size+j)*inner + i }
				top := math.Inf(-1)
				for j := 0; j < size; j++ {
					top = math.Max(top, float64(x.F32[at(j)]))
				}
				sum := 0.0
				for j := 0; j < size; j++ {
					sum += math.Exp(float64(x.F32[at(j)]) - top)
				}
				for j := 0; j < size; j++ {
					v := float64(x.F32[at(j)]) - top
					if log {
						y.F32[at(j)] = float32(v - math.Log(sum))
					} else {
						y.F32[at(j)] = float32(math.Exp(v) / sum)
					}
				}
			}
		}
		return []*ir.Tensor{y}, nil
	}
}

// reduceOp folds the elements of a reduction in float64.
type reduceOp struct {
	init    float64
	combine func(acc, x float64) float64
	finish  func(acc float64, count int) float64 // nil: the accumulator
	// axesInputSince is the opset from which axes are an input.
	axesInputSince int64
}

func sum(acc, x float64) float64 { return acc + x }

func mean(acc float64, count int) float64 { return acc / float64(count) }

var reduceOps = map[string]reduceOp{
	"ReduceMean":      {0, sum, mean, 18},
	"ReduceSum":       {0, sum, nil, 13},
	"ReduceMax":       {math.Inf(-1), math.Max, nil, 18},
	"ReduceMin":       {math.Inf(1), math.Min, nil, 18},
	"ReduceProd":      {1, func(acc, x float64) float64 { return acc * x }, nil, 18},
	"ReduceSumSquare": {0, func(acc, x float64) float64 { return acc + x*x }, nil, 18},
	"ReduceL1":        {0, func(acc, x float64) float64 { return acc + math.Abs(x) }, nil, 18},
	"ReduceL2": {0, func(acc, x float64) float64 { return acc + x*x },
		func(acc float64, _ int) float64 { return math.Sqrt(acc) }, 18},
	"ReduceLogSum": {0, sum, func(acc float64, _ int) float64 { return math.Log(acc) }, 18},
	"ReduceLogSumExp": {0, func(acc, x float64) float64 { return acc + math.Exp(x) },
		func(acc float64, _ int) float64 { return math.Log(acc) }, 18},
}

// reduceKernel reduces over the axes (attribute, or input 1 from the op's
// axesInputSince opset; all axes when none are given unless
// noop_with_empty_axes), keeping reduced axes as size 1 with keepdims.
func reduceKernel(op reduceOp) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "data"); err != nil {
			return nil, err
		}
		x := inputs[0]
		axes, _, err := axesArg(n, opset, op.axesInputSince, inputs, 1)
		if err != nil {
			return nil, err
		}
		if len(axes) == 0 {
			if opset >= op.axesInputSince && n.AttrInt("noop_with_empty_axes", 0) != 0 {
				return []*ir.Tensor{x}, nil
			}
			axes = seq(len(x.Shape))
		}
		out, err := reduce(x, axes, n.AttrInt("keepdims", 1) != 0, op)
		return []*ir.Tensor{out}, err
	}
}

// reduce applies op over the given axes of x.
func reduce(x *ir.Tensor, axes []int, keepDims bool, op reduceOp) (*ir.Tensor, error) {
	if x.DType == ir.Bool {
		return nil, errors.New("cannot reduce bool tensors")
	}
	axes, err := normAxes(axes, len(x.Shape))
	if err != nil {
		return nil, err
	}
	kept := x.Shape.Clone() // x's shape with reduced axes set to 1
	count := 1
	for _, a := range axes {
		count *= kept[a]
		kept[a] = 1
	}
	acc := make([]float64, kept.Size())
	for i := range acc {
		acc[i] = op.init
	}
	forEachBroadcast(x.Shape, [][]int{broadcastStrides(kept, x.Shape)}, func(i int, o []int) {
		acc[o[0]] = op.combine(acc[o[0]], x.Float(i))
	})
	shape := kept
	if !keepDims {
		shape = ir.Shape{}
		for a, d := range x.Shape {
			if !contains(axes, a) {
				shape = append(shape, d)
			}
		}
	}
	out, err := alloc(x.DType, shape)
	if err != nil {
		return nil, err
	}
	for i, v := range acc {
		if op.finish != nil {
			v = op.finish(v, count)
		}
		switch {
		case x.DType == ir.Float32:
			out.F32[i] = float32(v)
		case x.DType == ir.Float64:
			out.F64[i] = v
		default:
			out.I64[i] = wrapInt(x.DType, truncToInt(v))
		}
	}
	return out, nil
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// globalPoolKernel reduces each plane of X (all spatial axes) to one
// value by plane, keeping the axes as size 1: mean32 for
// GlobalAveragePool, max32 for GlobalMaxPool.
func globalPoolKernel(plane func(v []float32) float32) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := required(inputs, "X"); err != nil {
			return nil, err
		}
		x := inputs[0]
		if err := requireFloat32(x, "X"); err != nil {
			return nil, err
		}
		if len(x.Shape) < 3 {
			return nil, fmt.Errorf("X must be N x C x spatial, got shape %v", x.Shape)
		}
		shape := x.Shape.Clone()
		for a := 2; a < len(shape); a++ {
			shape[a] = 1
		}
		out, err := alloc(ir.Float32, shape)
		if err != nil {
			return nil, err
		}
		hw := x.Shape[2:].Size()
		for i := range out.F32 {
			out.F32[i] = plane(x.F32[i*hw : (i+1)*hw])
		}
		return []*ir.Tensor{out}, nil
	}
}

// max32 is the largest of v, NaN if any is (-Inf for none).
func max32(v []float32) float32 {
	m := float32(math.Inf(-1))
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// mean32 is the mean of v as onnxruntime's x86 build computes a float32
// GlobalAveragePool: float32 sums in 4 lanes (lane l takes v[l], v[l+4],
// ... of the whole groups of four), the lanes added as (0+2) + (1+3), the
// remaining values added in turn, the sum divided by len(v). A QDQ model
// quantises the mean again, where a last-bit difference from onnxruntime
// could round to another step.
func mean32(v []float32) float32 {
	var lanes [4]float32
	whole := len(v) / 4 * 4
	for i, x := range v[:whole] {
		lanes[i%4] += x
	}
	s := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	for _, x := range v[whole:] {
		s += x
	}
	return s / float32(len(v))
}

// convGeometry checks a convolution's group and kernel_shape against x
// and w (named xName and wName in errors) and returns the group, the
// windows and the output shape [N, M, spatial...].
func convGeometry(n *ir.Node, x, w *ir.Tensor, xName, wName string) (group int, ws []window, shape ir.Shape, err error) {
	group = int(n.AttrInt("group", 1))
	channels, maps, groupChannels := x.Shape[1], w.Shape[0], w.Shape[1]
	if group < 1 || channels != groupChannels*group || maps%group != 0 {
		return 0, nil, nil, fmt.Errorf("%s has %d channels and %s is %v: does not fit group %d", xName, channels, wName, w.Shape, group)
	}
	kernel := w.Shape[2:]
	if ks, ok := n.AttrInts("kernel_shape"); ok && !ir.Shape(toInts(ks)).Equal(kernel) {
		return 0, nil, nil, fmt.Errorf("kernel_shape %v does not match %s %v", ks, wName, w.Shape)
	}
	if ws, err = windows(n, x.Shape[2:], kernel, false); err != nil {
		return 0, nil, nil, err
	}
	shape = ir.Shape{x.Shape[0], maps}
	for _, w := range ws {
		shape = append(shape, w.out)
	}
	return group, ws, shape, nil
}
