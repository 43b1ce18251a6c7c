package ir

// Shape rules of convolution, pooling, matrix products and reductions.

// window holds the sliding-window attributes shared by Conv and the pools.
type window struct {
	kernel, strides, dilations, padBegin, padEnd []int
	autoPad                                      string
	ceil                                         bool
}

// parseWindow reads strides, dilations, pads, auto_pad and (when
// ceilAllowed) ceil_mode for the given kernel.
func parseWindow(n *Node, kernel []int, ceilAllowed bool) (*window, error) {
	sp := len(kernel)
	w := &window{kernel: kernel}
	for i, k := range kernel {
		if k < 1 {
			return nil, n.Errorf("kernel %v: spatial dim %d is %d, want >= 1", kernel, i, k)
		}
	}
	var err error
	if w.strides, err = intsAttr(n, "strides", sp, 1, 1); err != nil {
		return nil, err
	}
	if w.dilations, err = intsAttr(n, "dilations", sp, 1, 1); err != nil {
		return nil, err
	}
	pads, err := intsAttr(n, "pads", 2*sp, 0, 0)
	if err != nil {
		return nil, err
	}
	w.padBegin, w.padEnd = pads[:sp], pads[sp:]
	w.autoPad = n.AttrString("auto_pad", "NOTSET")
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, n.Errorf("unknown auto_pad %q", w.autoPad)
	}
	w.ceil = ceilAllowed && n.AttrInt("ceil_mode", 0) != 0
	return w, nil
}

// outDims computes the output spatial dims for input spatial dims in.
// SAME_* gives ceil(in/stride); VALID and explicit pads slide the dilated
// kernel over the (padded) input, rounding down, or up with ceil_mode where
// a window that would start inside the end padding is dropped.
func (w *window) outDims(n *Node, in []int) (Shape, error) {
	out := make(Shape, len(in))
	for i, d := range in {
		span, ok := mulDim(w.kernel[i]-1, w.dilations[i])
		if !ok {
			return nil, n.Errorf("dilated kernel on spatial axis %d is larger than %d", i, MaxElements)
		}
		extent, s := span+1, w.strides[i]
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out[i] = (d + s - 1) / s
		case "VALID":
			if d < extent {
				return nil, n.Errorf("kernel extent %d exceeds input size %d on spatial axis %d (auto_pad VALID)", extent, d, i)
			}
			out[i] = (d-extent)/s + 1
		default:
			padded := d + w.padBegin[i] + w.padEnd[i]
			if padded < extent {
				return nil, n.Errorf("kernel extent %d exceeds padded input size %d on spatial axis %d", extent, padded, i)
			}
			o := (padded-extent)/s + 1
			if w.ceil && (padded-extent)%s != 0 {
				o++
				if (o-1)*s >= d+w.padBegin[i] {
					o--
				}
			}
			out[i] = o
		}
	}
	return out, nil
}

// inferConv: X [N, C, D...], W [M, C/group, K...], optional B [M].
func inferConv(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	x, w := n.Inputs[0], n.Inputs[1]
	if len(x.Shape) < 3 {
		return n.Errorf("input %v must have rank >= 3 (N, C, spatial...), has shape %v", x, x.Shape)
	}
	if len(w.Shape) != len(x.Shape) {
		return n.Errorf("weight %v has shape %v, want rank %d like the input %v", w, w.Shape, len(x.Shape), x.Shape)
	}
	if err := sameDTypes(n, 0, 1, 2); err != nil {
		return err
	}
	group := n.AttrInt("group", 1)
	c, m := x.Shape[1], w.Shape[0]
	if group < 1 || group > MaxElements {
		return n.Errorf("group %d is out of range", group)
	}
	if perGroup, ok := mulDim(w.Shape[1], int(group)); !ok || perGroup != c {
		return n.Errorf("weight %v has %d input channels per group with group=%d, but the input %v has %d channels", w.Shape, w.Shape[1], group, x.Shape, c)
	}
	if int64(m)%group != 0 {
		return n.Errorf("weight %v has %d output channels, not a multiple of group=%d", w.Shape, m, group)
	}
	kernel := append([]int(nil), w.Shape[2:]...)
	if ks, ok := n.AttrInts("kernel_shape"); ok && !Shape(kernel).Equal(int64sToShape(ks)) {
		return n.Errorf("kernel_shape %v does not match weight shape %v", ks, w.Shape)
	}
	if b := n.Input(2); b != nil && !b.Shape.Equal(Shape{m}) {
		return n.Errorf("bias %v has shape %v, want [%d]", b, b.Shape, m)
	}
	win, err := parseWindow(n, kernel, false)
	if err != nil {
		return err
	}
	spatial, err := win.outDims(n, x.Shape[2:])
	if err != nil {
		return err
	}
	setOutput(n, 0, x.DType, append(Shape{x.Shape[0], m}, spatial...))
	return nil
}

// inferPool covers AveragePool and MaxPool (whose optional second output
// holds int64 indices).
func inferPool(ctx *InferContext, n *Node) error {
	maxOut := 1
	if n.Op == "MaxPool" {
		maxOut = 2
	}
	if err := arity(n, 1, 1, 1, maxOut); err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 3 {
		return n.Errorf("input %v must have rank >= 3 (N, C, spatial...), has shape %v", x, x.Shape)
	}
	if _, ok := n.AttrInts("kernel_shape"); !ok {
		return n.Errorf("missing attribute kernel_shape")
	}
	kernel, err := intsAttr(n, "kernel_shape", len(x.Shape)-2, 1, 1)
	if err != nil {
		return err
	}
	win, err := parseWindow(n, kernel, true)
	if err != nil {
		return err
	}
	spatial, err := win.outDims(n, x.Shape[2:])
	if err != nil {
		return err
	}
	out := append(Shape{x.Shape[0], x.Shape[1]}, spatial...)
	setOutput(n, 0, x.DType, out)
	setOutput(n, 1, Int64, out.Clone())
	return nil
}

// inferGlobalPool: [N, C, D...] -> [N, C, 1...].
func inferGlobalPool(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 3 {
		return n.Errorf("input %v must have rank >= 3 (N, C, spatial...), has shape %v", x, x.Shape)
	}
	out := x.Shape.Clone()
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	setOutput(n, 0, x.DType, out)
	return nil
}

// inferGemm: op(A) [M, K] times op(B) [K, N], plus C broadcast to [M, N].
func inferGemm(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	a, b := n.Inputs[0], n.Inputs[1]
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return n.Errorf("inputs must be matrices, have shapes %v and %v", a.Shape, b.Shape)
	}
	if err := sameDTypes(n, 0, 1, 2); err != nil {
		return err
	}
	m, k := a.Shape[0], a.Shape[1]
	if n.AttrInt("transA", 0) != 0 {
		m, k = k, m
	}
	kb, cols := b.Shape[0], b.Shape[1]
	if n.AttrInt("transB", 0) != 0 {
		kb, cols = cols, kb
	}
	if k != kb {
		return n.Errorf("inner dimensions differ: A %v gives K=%d, B %v gives K=%d", a.Shape, k, b.Shape, kb)
	}
	out := Shape{m, cols}
	if c := n.Input(2); c != nil {
		if err := broadcastTo(n, c.Shape, out, "C"); err != nil {
			return err
		}
	}
	setOutput(n, 0, a.DType, out)
	return nil
}

// inferMatMul follows numpy.matmul: 1-D operands get a dim added and
// removed again, batch dims broadcast.
func inferMatMul(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	a, b := n.Inputs[0].Shape, n.Inputs[1].Shape
	if len(a) == 0 || len(b) == 0 {
		return n.Errorf("inputs must have rank >= 1, have shapes %v and %v", a, b)
	}
	am, bm := a, b
	if len(a) == 1 {
		am = Shape{1, a[0]}
	}
	if len(b) == 1 {
		bm = Shape{b[0], 1}
	}
	if am[len(am)-1] != bm[len(bm)-2] {
		return n.Errorf("inner dimensions differ: %v and %v", a, b)
	}
	out, err := broadcast(n, am[:len(am)-2], bm[:len(bm)-2])
	if err != nil {
		return err
	}
	if len(a) > 1 {
		out = append(out, am[len(am)-2])
	}
	if len(b) > 1 {
		out = append(out, bm[len(bm)-1])
	}
	setOutput(n, 0, n.Inputs[0].DType, out)
	return nil
}

// reduceRule makes the rule of a Reduce* op whose axes move from attribute
// to input at opset since. No axes reduces everything, unless
// noop_with_empty_axes (input form) makes it the identity.
func reduceRule(since int64) InferFunc {
	return func(ctx *InferContext, n *Node) error {
		if err := arity(n, 1, axesMaxInputs(ctx, since), 1, 1); err != nil {
			return err
		}
		x := n.Inputs[0]
		axes, _, err := axesArg(ctx, n, since, 1)
		if err != nil {
			return err
		}
		reduced := make([]bool, len(x.Shape))
		if len(axes) == 0 {
			if ctx.Opset >= since && n.AttrInt("noop_with_empty_axes", 0) != 0 {
				setOutput(n, 0, x.DType, x.Shape.Clone())
				return nil
			}
			for i := range reduced {
				reduced[i] = true
			}
		} else {
			ax, err := normAxes(n, axes, len(x.Shape), "axes")
			if err != nil {
				return err
			}
			for _, a := range ax {
				reduced[a] = true
			}
		}
		setOutput(n, 0, x.DType, reducedShape(x.Shape, reduced, n.AttrInt("keepdims", 1) != 0))
		return nil
	}
}

// reducedShape drops (or with keep sets to 1) the dims marked reduced.
func reducedShape(s Shape, reduced []bool, keep bool) Shape {
	out := Shape{}
	for i, d := range s {
		switch {
		case !reduced[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}

// inferArgReduce covers ArgMax and ArgMin: one axis, int64 output.
func inferArgReduce(ctx *InferContext, n *Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	ax, err := normAxis(n, n.AttrInt("axis", 0), len(x.Shape), "axis")
	if err != nil {
		return err
	}
	reduced := make([]bool, len(x.Shape))
	reduced[ax] = true
	setOutput(n, 0, Int64, reducedShape(x.Shape, reduced, n.AttrInt("keepdims", 1) != 0))
	return nil
}

// inferPRelu: Y has X's type; slope must broadcast to X.
func inferPRelu(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if s := n.Inputs[1].Shape; ctx.Opset >= 7 || s.Size() != 1 {
		if err := broadcastTo(n, s, x.Shape, "slope"); err != nil {
			return err
		}
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

// inferInstanceNorm: Y has the input's type (N x C x spatial).
func inferInstanceNorm(ctx *InferContext, n *Node) error {
	if err := arity(n, 3, 3, 1, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if len(x.Shape) < 3 {
		return n.Errorf("input %v must be N x C x spatial, has shape %v", x, x.Shape)
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	return nil
}

// inferLayerNorm: Y has X's type; the optional Mean and InvStdDev keep X's
// rank with size 1 from axis on, in stash_type's dtype (float32 only).
func inferLayerNorm(ctx *InferContext, n *Node) error {
	if err := arity(n, 2, 3, 1, 3); err != nil {
		return err
	}
	x := n.Inputs[0]
	axis, err := normAxis(n, n.AttrInt("axis", -1), len(x.Shape), "axis")
	if err != nil {
		return err
	}
	if stash := n.AttrInt("stash_type", 1); stash != 1 {
		return n.Errorf("stash_type %d is not supported (only 1, float32)", stash)
	}
	stats := x.Shape[:axis].Clone()
	for range x.Shape[axis:] {
		stats = append(stats, 1)
	}
	setOutput(n, 0, x.DType, x.Shape.Clone())
	setOutput(n, 1, Float32, stats)
	setOutput(n, 2, Float32, stats.Clone())
	return nil
}
