package ops

import (
	"slices"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// nnDefs are the neural-network ops: convolution, pooling, matrix
// products and reductions.
func nnDefs() []*Def {
	return []*Def{
		{Op: "AveragePool", Infer: inferPool, Lower: lowerPool},
		{Op: "MaxPool", Infer: inferPool, Lower: lowerPool, Int8: true},
		{Op: "GlobalAveragePool", Infer: inferGlobalPool, Lower: lowerGlobalPool},
		{Op: "GlobalMaxPool", Infer: inferGlobalPool, Lower: lowerGlobalPool},
		{Op: "Gemm", Infer: inferGemm, MACs: gemmMACs, Params: true, Lower: lowerGemm},
		{Op: "MatMul", Infer: inferMatMul, MACs: matMulMACs, Params: true, Lower: lowerMatMul},
		{Op: "ReduceMean", Infer: reduceRule(reduceSince["ReduceMean"]), Lower: lowerReduceMean},
		{Op: "ReduceMax", Infer: reduceRule(reduceSince["ReduceMax"]), Lower: lowerReduce},
		{Op: "ReduceMin", Infer: reduceRule(reduceSince["ReduceMin"]), Lower: lowerReduce},
		{Op: "ReduceProd", Infer: reduceRule(reduceSince["ReduceProd"]), Lower: lowerReduce},
		{Op: "ReduceSum", Infer: reduceRule(reduceSince["ReduceSum"]), Lower: lowerReduce},
		{Op: "ReduceSumSquare", Infer: reduceRule(reduceSince["ReduceSumSquare"]), Lower: lowerReduce},
		{Op: "ReduceL1", Infer: reduceRule(reduceSince["ReduceL1"]), Lower: lowerReduce},
		{Op: "ReduceL2", Infer: reduceRule(reduceSince["ReduceL2"]), Lower: lowerReduce},
		{Op: "ReduceLogSum", Infer: reduceRule(reduceSince["ReduceLogSum"]), Lower: lowerReduce},
		{Op: "ReduceLogSumExp", Infer: reduceRule(reduceSince["ReduceLogSumExp"]), Lower: lowerReduce},
		{Op: "ArgMax", Infer: inferArgReduce},
		{Op: "ArgMin", Infer: inferArgReduce},
	}
}

// gemmMACs: K per output element.
func gemmMACs(n *ir.Node) int64 {
	a := n.Input(0)
	if a == nil || len(a.Shape) != 2 || !a.Shape.Known() {
		return 0
	}
	k := a.Shape[1]
	if n.AttrInt("transA", 0) != 0 {
		k = a.Shape[0]
	}
	return int64(n.Outputs[0].Shape.Size()) * int64(k)
}

// matMulMACs: the inner dimension per output element.
func matMulMACs(n *ir.Node) int64 {
	a := n.Input(0)
	if a == nil || len(a.Shape) == 0 || !a.Shape.Known() {
		return 0
	}
	return int64(n.Outputs[0].Shape.Size()) * int64(a.Shape[len(a.Shape)-1])
}

// Shape rules of convolution, pooling, matrix products and reductions.

// window holds the sliding-window attributes shared by Conv and the pools.
type window struct {
	kernel, strides, dilations, padBegin, padEnd []int
	autoPad                                      string
	ceil                                         bool
}

// parseWindow reads strides, dilations, pads, auto_pad and (when
// ceilAllowed) ceil_mode for the given kernel.
func parseWindow(n *ir.Node, kernel []int, ceilAllowed bool) (*window, error) {
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
func (w *window) outDims(n *ir.Node, in []int) (ir.Shape, error) {
	out := make(ir.Shape, len(in))
	for i, d := range in {
		span, ok := mulDim(w.kernel[i]-1, w.dilations[i])
		if !ok {
			return nil, n.Errorf("dilated kernel on spatial axis %d is larger than %d", i, ir.MaxElements)
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

// explicitPads resolves auto_pad: the pads before and after each spatial
// axis of input dims in. SAME_* pads so that the output has ceil(in/stride)
// elements, the odd one at the end (SAME_UPPER) or the beginning
// (SAME_LOWER).
func (w *window) explicitPads(in []int) (begin, end []int) {
	switch w.autoPad {
	case "VALID":
		return make([]int, len(in)), make([]int, len(in))
	case "SAME_UPPER", "SAME_LOWER":
		begin, end = make([]int, len(in)), make([]int, len(in))
		for i, d := range in {
			s := w.strides[i]
			out := (d + s - 1) / s
			total := max(0, (out-1)*s+(w.kernel[i]-1)*w.dilations[i]+1-d)
			small, large := total/2, total-total/2
			if w.autoPad == "SAME_UPPER" {
				begin[i], end[i] = small, large
			} else {
				begin[i], end[i] = large, small
			}
		}
		return begin, end
	}
	return w.padBegin, w.padEnd
}

// Pads returns the explicit pads of the Conv, pool or tsmc.Conv n on input
// x (begins, then ends, as ONNX lists them), auto_pad resolved.
func Pads(n *ir.Node, x ir.Shape, kernel []int) ([]int, error) {
	if len(x) != len(kernel)+2 {
		return nil, n.Errorf("input %v does not have %d spatial dims", x, len(kernel))
	}
	w, err := parseWindow(n, kernel, false)
	if err != nil {
		return nil, err
	}
	begin, end := w.explicitPads(x[2:])
	return append(append([]int(nil), begin...), end...), nil
}

// inferPool covers AveragePool and MaxPool (whose optional second output
// holds int64 indices).
func inferPool(ctx *ir.InferContext, n *ir.Node) error {
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
	out := append(ir.Shape{x.Shape[0], x.Shape[1]}, spatial...)
	setOutput(n, 0, x.DType, out)
	setOutput(n, 1, ir.Int64, out.Clone())
	return nil
}

// inferGlobalPool: [N, C, D...] -> [N, C, 1...].
func inferGlobalPool(ctx *ir.InferContext, n *ir.Node) error {
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
func inferGemm(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 3, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1, 2); err != nil {
		return err
	}
	out, err := gemmOutput(n, n.Inputs[0], n.Inputs[1], n.Input(2))
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, out)
	return nil
}

// gemmOutput checks the matrices a and b (transposed as transA and transB
// say) and the optional c that broadcasts to the result, and returns the
// result's shape [M, N]. Gemm and QGemm share it.
func gemmOutput(n *ir.Node, a, b, c *ir.Value) (ir.Shape, error) {
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, n.Errorf("inputs must be matrices, have shapes %v and %v", a.Shape, b.Shape)
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
		return nil, n.Errorf("inner dimensions differ: A %v gives K=%d, B %v gives K=%d", a.Shape, k, b.Shape, kb)
	}
	out := ir.Shape{m, cols}
	if c != nil {
		if err := broadcastTo(n, c.Shape, out, "C"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// inferMatMul follows numpy.matmul: 1-D operands get a dim added and
// removed again, batch dims broadcast.
func inferMatMul(ctx *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 2, 2, 1, 1); err != nil {
		return err
	}
	if err := sameDTypes(n, 0, 1); err != nil {
		return err
	}
	out, err := matMulOutput(n, n.Inputs[0].Shape, n.Inputs[1].Shape)
	if err != nil {
		return err
	}
	setOutput(n, 0, n.Inputs[0].DType, out)
	return nil
}

// matMulOutput is the shape numpy.matmul gives operands of shapes a and b.
// MatMul and the quantised products share it.
func matMulOutput(n *ir.Node, a, b ir.Shape) (ir.Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, n.Errorf("inputs must have rank >= 1, have shapes %v and %v", a, b)
	}
	am, bm := a, b
	if len(a) == 1 {
		am = ir.Shape{1, a[0]}
	}
	if len(b) == 1 {
		bm = ir.Shape{b[0], 1}
	}
	if am[len(am)-1] != bm[len(bm)-2] {
		return nil, n.Errorf("inner dimensions differ: %v and %v", a, b)
	}
	out, err := broadcast(n, am[:len(am)-2], bm[:len(bm)-2])
	if err != nil {
		return nil, err
	}
	if len(a) > 1 {
		out = append(out, am[len(am)-2])
	}
	if len(b) > 1 {
		out = append(out, bm[len(bm)-1])
	}
	return out, nil
}

// reduceRule makes the rule of a Reduce* op whose axes move from attribute
// to input at opset since.
func reduceRule(since int64) ir.InferFunc {
	return func(ctx *ir.InferContext, n *ir.Node) error {
		r, err := decodeReduce(ctx, n, since)
		if err != nil {
			return err
		}
		x := n.Inputs[0]
		if r.noop {
			setOutput(n, 0, x.DType, x.Shape.Clone())
			return nil
		}
		setOutput(n, 0, x.DType, reducedShape(x.Shape, r.axes, r.keep))
		return nil
	}
}

// reduction is a decoded Reduce*: the axes reduced (per input axis), and
// whether they are kept as 1s; noop when nothing is reduced at all.
type reduction struct {
	axes       []bool
	keep, noop bool
}

// decodeReduce reads a Reduce* op whose axes move from attribute to input
// at opset since. No axes reduces everything, unless noop_with_empty_axes
// (input form) makes it the identity.
func decodeReduce(ctx *ir.InferContext, n *ir.Node, since int64) (reduction, error) {
	if err := arity(n, 1, axesMaxInputs(ctx, since), 1, 1); err != nil {
		return reduction{}, err
	}
	x := n.Inputs[0]
	axes, _, err := axesArg(ctx, n, since, 1)
	if err != nil {
		return reduction{}, err
	}
	r := reduction{axes: make([]bool, len(x.Shape)), keep: n.AttrInt("keepdims", 1) != 0}
	if len(axes) == 0 {
		if ctx.Opset >= since && n.AttrInt("noop_with_empty_axes", 0) != 0 {
			r.noop = true
			return r, nil
		}
		for i := range r.axes {
			r.axes[i] = true
		}
		return r, nil
	}
	ax, err := normAxes(n, axes, len(x.Shape), "axes")
	if err != nil {
		return reduction{}, err
	}
	for _, a := range ax {
		r.axes[a] = true
	}
	return r, nil
}

// reduceSince is the opset from which the op's axes are an input.
var reduceSince = map[string]int64{"ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceProd": 18, "ReduceSum": 13,
	"ReduceSumSquare": 18, "ReduceL1": 18, "ReduceL2": 18, "ReduceLogSum": 18, "ReduceLogSumExp": 18}

// reducedShape drops (or with keep sets to 1) the dims marked reduced.
func reducedShape(s ir.Shape, reduced []bool, keep bool) ir.Shape {
	out := ir.Shape{}
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
func inferArgReduce(ctx *ir.InferContext, n *ir.Node) error {
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
	setOutput(n, 0, ir.Int64, reducedShape(x.Shape, reduced, n.AttrInt("keepdims", 1) != 0))
	return nil
}

// lowerPool runs MaxPool and AveragePool: a 2-D max pool the row kernels
// take as runtime.MaxPool (runtime.QMaxPool on bytes), any other over 1,
// 2 or 3 spatial axes as runtime.MaxPoolNd or runtime.AveragePoolNd. A
// max pool whose leading spatial axes have one-element windows (kernel 1,
// stride 1, no pads: the [1, 2, 2] pool over frames of a non-local block)
// is a 2-D one over more planes.
func lowerPool(l Lowering, n *ir.Node) error {
	x := n.Input(0)
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return n.Errorf("the Indices output of MaxPool is not computed at run time")
	}
	kernel, err := intsAttr(n, "kernel_shape", len(x.Shape)-2, 1, 1)
	if err != nil {
		return err
	}
	win, err := parseWindow(n, kernel, true)
	if err != nil {
		return err
	}
	begin, end := win.explicitPads(x.Shape[2:])
	nd := runtime.PoolNdShape{
		Planes: x.Shape[0] * x.Shape[1], In: x.Shape[2:], Kernel: kernel, Strides: win.strides, Dilations: win.dilations,
		PadsBegin: begin, PadsEnd: end, CeilMode: win.ceil,
	}
	if err := nd.Validate(); err != nil {
		return n.Errorf("%v", err)
	}
	if got, want := n.Outputs[0].Shape, append(ir.Shape{x.Shape[0], x.Shape[1]}, nd.Out()...); !got.Equal(want) {
		return n.Errorf("output shape %v, but the kernel computes %v", got, want)
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	if n.Op == "AveragePool" {
		if n.AttrInt("count_include_pad", 0) != 0 && l.Opset() < 7 {
			return n.Errorf("count_include_pad is not an attribute of AveragePool at opset %d", l.Opset())
		}
		pool := l.Object("pool", "AveragePoolNd", "NewAveragePoolNd", nd, n.AttrInt("count_include_pad", 0) != 0)
		l.Run(Method(pool, "Run", Pool, ins[0], out))
		return nil
	}
	quant := quantByte(x.DType)
	// leading spatial axes of one-element windows (a pool over frames'
	// planes) add planes: what is left may be 2-D
	planes, a := nd.Planes, 0
	for a < len(kernel)-2 && kernel[a] == 1 && win.strides[a] == 1 && win.dilations[a] == 1 && begin[a] == 0 && end[a] == 0 {
		planes *= nd.In[a]
		a++
	}
	if len(kernel)-a == 2 {
		ps := runtime.PoolShape{
			Planes: planes, H: nd.In[a], W: nd.In[a+1], KH: kernel[a], KW: kernel[a+1],
			StrideH: win.strides[a], StrideW: win.strides[a+1], DilationH: win.dilations[a], DilationW: win.dilations[a+1],
			PadTop: begin[a], PadLeft: begin[a+1], PadBottom: end[a], PadRight: end[a+1], CeilMode: win.ceil,
		}
		if quant { // the largest byte is the quantised maximum
			if _, err := runtime.NewQMaxPool(ps); err != nil {
				return n.Errorf("%v", err)
			}
			pool := l.Object("pool", "QMaxPool", "NewQMaxPool", ps)
			l.Run(Method(pool, "Run", Pool, ins[0], out))
			return nil
		}
		if _, err := runtime.NewMaxPool(ps); err == nil {
			pool := l.Object("pool", "MaxPool", "NewMaxPool", ps)
			l.Run(Method(pool, "Run", Pool, ins[0], out))
			return nil
		}
	}
	if quant {
		return n.Errorf("a quantised max pooling over %d spatial axes is not supported (2 are, after leading axes of one-element windows)", len(kernel))
	}
	pool := l.Object("pool", "MaxPoolNd", "NewMaxPoolNd", nd)
	l.Run(Method(pool, "Run", Pool, ins[0], out))
	return nil
}

// lowerGlobalPool averages (GlobalAveragePool) or takes the maximum of
// (GlobalMaxPool) every (n, c) plane of [N, C, spatial...].
func lowerGlobalPool(l Lowering, n *ir.Node) error {
	x := n.Input(0)
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn(n.Op, Pool, ins[0], out, x.Shape[0]*x.Shape[1], x.Shape[2:].Size()))
	return nil
}

// lowerReduceMean runs a ReduceMean over one run of consecutive axes as
// the mean over the middle of [outer][reduced][inner], any other as a
// runtime.Reduce; reducing nothing is a view.
func lowerReduceMean(l Lowering, n *ir.Node) error {
	r, err := decodeReduce(ir.ConstContext(l.Opset()), n, reduceSince[n.Op])
	if err != nil {
		return err
	}
	x := n.Input(0).Shape
	first, last := -1, -1
	for a, reduced := range r.axes {
		if reduced && first < 0 {
			first = a
		}
		if reduced {
			last = a
		}
	}
	if r.noop || first < 0 || x[first:last+1].Size() == 1 {
		return l.Alias()
	}
	if slices.Contains(r.axes[first:last+1], false) {
		return lowerReduce(l, n)
	}
	return lowerMeanOverMiddle(l, x[:first].Size(), x[first:last+1].Size(), x[last+1:].Size())
}

// lowerReduce runs a Reduce* op as a runtime.Reduce (keepdims is a view of
// its output).
func lowerReduce(l Lowering, n *ir.Node) error {
	r, err := decodeReduce(ir.ConstContext(l.Opset()), n, reduceSince[n.Op])
	if err != nil {
		return err
	}
	if r.noop {
		return l.Alias()
	}
	var axes []int
	for a, reduced := range r.axes {
		if reduced {
			axes = append(axes, a)
		}
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	red := l.Object("reduce", "Reduce", "NewReduce", Named(n.Op), []int(n.Input(0).Shape), axes)
	l.Run(Method(red, "Run", Pool, ins[0], out))
	return nil
}

// lowerMeanOverMiddle averages x viewed as [outer][r][inner] over r.
func lowerMeanOverMiddle(l Lowering, outer, r, inner int) error {
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn("SegmentMean", ins[0], out, outer, r, inner))
	return nil
}

// lowerGemm runs ONNX Gemm as a runtime.Gemm, a constant B packed at
// compile time.
func lowerGemm(l Lowering, n *ir.Node) error {
	a, b, c := n.Input(0), n.Input(1), n.Input(2)
	spec := runtime.GemmSpec{
		M: n.Outputs[0].Shape[0], N: n.Outputs[0].Shape[1],
		TransA: n.AttrInt("transA", 0) != 0, TransB: n.AttrInt("transB", 0) != 0,
		Alpha: n.AttrFloat("alpha", 1), Beta: n.AttrFloat("beta", 1),
	}
	spec.K = a.Shape[1]
	if spec.TransA {
		spec.K = a.Shape[0]
	}
	if c != nil {
		spec.C = c.Shape
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	cBuf, err := l.In(2)
	if err != nil {
		return err
	}
	if b.IsConst() && b.DType == ir.Float32 {
		packed := l.Packed(b, "gemm", runtime.PackedGemmBLen(spec.K, spec.N, runtime.PackNR), func() ([]float32, error) {
			return runtime.PackGemmB(b.Const.F32, spec.K, spec.N, 0, spec.TransB, runtime.PackNR)
		})
		g := l.Object("gemm", "Gemm", "NewGemmPackedB", spec, packed, Ident("packNR"))
		l.Run(Method(g, "Run", Pool, ins[0], nil, cBuf, out))
		return nil
	}
	bBuf, err := l.In(1)
	if err != nil {
		return err
	}
	g := l.Object("gemm", "Gemm", "NewGemm", spec)
	l.Run(Method(g, "Run", Pool, ins[0], bBuf, cBuf, out))
	return nil
}

// lowerMatMul runs a runtime.MatMul with numpy batch broadcasting, a
// constant B packed at compile time.
func lowerMatMul(l Lowering, n *ir.Node) error {
	a, b := n.Input(0), n.Input(1)
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	if b.IsConst() && b.DType == ir.Float32 {
		packed := l.Packed(b, "matmul", runtime.PackedMatMulBLen(b.Shape, runtime.PackNR), func() ([]float32, error) {
			return runtime.PackMatMulB(b.Const.F32, b.Shape, runtime.PackNR)
		})
		mm := l.Object("matmul", "MatMul", "NewMatMulPackedB", []int(a.Shape), []int(b.Shape), packed, Ident("packNR"))
		l.Run(Method(mm, "Run", Pool, ins[0], nil, out))
		return nil
	}
	bBuf, err := l.In(1)
	if err != nil {
		return err
	}
	mm := l.Object("matmul", "MatMul", "NewMatMul", []int(a.Shape), []int(b.Shape))
	l.Run(Method(mm, "Run", Pool, ins[0], bBuf, out))
	return nil
}
