package interp

import (
	"errors"
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime/fma"
)

// Quantised operators: QuantizeLinear and DequantizeLinear (per tensor,
// per axis and, from opset 21, per block), the integer products
// ConvInteger and MatMulInteger, the requantising QLinearConv and
// QLinearMatMul, and onnxruntime's com.microsoft QLinearAdd and QGemm,
// which its quantisation tools and graph optimiser write.
//
// Rounding is to nearest with ties to even, and results saturate to the
// range of the output type, as the ONNX specification says. Where it leaves
// the float arithmetic open the kernels follow onnxruntime (CPU): integer
// products accumulate exactly in int32 (wrapping on overflow, as its
// accumulators do); a requantised output is
//
//	saturate(roundHalfEven(float32(acc) × m) + y_zero_point)
//
// with one float32 multiplier per output channel, m = (x_scale × w_scale) /
// y_scale, evaluated in float32 in that order (Requantize). The float
// operations are spelled with explicit float32 conversions so that no
// platform fuses them into a multiply-add.

// MSDomain is onnxruntime's operator domain.
const MSDomain = "com.microsoft"

func init() {
	Register(MSDomain, "QLinearAdd", qlinearAddKernel)
	Register(MSDomain, "QGemm", qgemmKernel)
	// onnxruntime's own spellings of the quantisation pair, which its
	// tools write with use_qdq_contrib_ops; same semantics.
	Register(MSDomain, "QuantizeLinear", quantizeLinearKernel)
	Register(MSDomain, "DequantizeLinear", dequantizeLinearKernel)
}

// QuantRange returns the values a quantised tensor of dtype dt holds, and
// whether dt is a quantised type (uint8, int8, int16 or int32).
func QuantRange(dt ir.DType) (lo, hi int64, ok bool) {
	switch dt {
	case ir.Uint8:
		return 0, math.MaxUint8, true
	case ir.Int8:
		return math.MinInt8, math.MaxInt8, true
	case ir.Int16:
		return math.MinInt16, math.MaxInt16, true
	case ir.Int32:
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}

// saturateRounded adds zp to r, an integer-valued float, and saturates the
// sum to [lo, hi]; NaN gives lo (as onnxruntime's min/max clamp does).
func saturateRounded(r float64, zp, lo, hi int64) int64 {
	switch {
	case !(r >= float64(lo-zp)):
		return lo
	case r > float64(hi-zp):
		return hi
	}
	return int64(r) + zp
}

// Quantize is QuantizeLinear of one value: saturate(roundHalfEven(x /
// scale) + zp) to [lo, hi], the division in float32.
func Quantize(x, scale float32, zp, lo, hi int64) int64 {
	q := float32(x / scale)
	return saturateRounded(math.RoundToEven(float64(q)), zp, lo, hi)
}

// Dequantize is DequantizeLinear of one value: float32(q - zp) × scale.
func Dequantize(q, zp int64, scale float32) float32 {
	return float32(float32(q-zp) * scale)
}

// Multiplier is the requantisation multiplier of a product whose operands
// have scales a and b and whose result has scale y: (a × b) / y in
// float32, in that order (onnxruntime's QLinearConv, QLinearMatMul and
// QGemm).
func Multiplier(a, b, y float32) float32 {
	return float32(float32(a*b) / y)
}

// Requantize turns an int32 accumulator into a quantised value:
// saturate(roundHalfEven(float32(acc) × m) + zp) to [lo, hi], the product
// in float32 (onnxruntime's MlasRequantizeOutput).
func Requantize(acc int32, m float32, zp, lo, hi int64) int64 {
	v := float32(float32(acc) * m)
	return saturateRounded(math.RoundToEven(float64(v)), zp, lo, hi)
}

// qparams are the scales and zero points of a quantised tensor: one pair
// for the whole tensor, one per index along axis, or (blocked
// quantisation, opset 21) one per block of block indices along axis.
type qparams struct {
	scale []float32
	zero  []int64 // nil when the zero point is absent (0)
	zeroT ir.DType
	axis  int
	block int
	// dim is the tensor's size along axis, inner the product of the
	// dimensions after it, blocks the number of blocks along axis.
	dim, inner, blocks int
}

// at is the index of the parameters of element i (flat, row-major) of the
// tensor.
func (p *qparams) at(i int) int {
	if len(p.scale) == 1 {
		return 0
	}
	c := i / p.inner % p.dim
	if p.block == 0 {
		return c
	}
	outer := i / (p.inner * p.dim)
	return (outer*p.blocks+c/p.block)*p.inner + i%p.inner
}

func (p *qparams) zeroAt(k int) int64 {
	if p.zero == nil {
		return 0
	}
	return p.zero[k]
}

// readQParams reads the scale and optional zero point of a tensor of
// shape x for QuantizeLinear or DequantizeLinear at opset: per tensor (one
// element), per axis (a 1-D tensor along the "axis" attribute, opset 13 and
// later) or per block (the "block_size" attribute, opset 21 and later).
func readQParams(n *ir.Node, opset int64, x ir.Shape, scale, zero *ir.Tensor) (*qparams, error) {
	if scale.DType != ir.Float32 {
		return nil, fmt.Errorf("scale must be f32 (float16 and bfloat16 are read as f32), got %v", scale.DType)
	}
	for _, s := range scale.F32 {
		if !(s > 0) || math.IsInf(float64(s), 1) {
			return nil, fmt.Errorf("scale %v is not a positive finite number", s)
		}
	}
	p := &qparams{scale: scale.F32}
	if zero != nil {
		if _, _, ok := QuantRange(zero.DType); !ok {
			return nil, fmt.Errorf("zero point must be an 8-, 16- or 32-bit integer, got %v", zero.DType)
		}
		if !zero.Shape.Equal(scale.Shape) {
			return nil, fmt.Errorf("zero point has shape %v, scale %v: they must match", zero.Shape, scale.Shape)
		}
		p.zero, p.zeroT = zero.I64, zero.DType
	}
	if opset >= 21 {
		p.block = int(n.AttrInt("block_size", 0))
		if p.block < 0 {
			return nil, fmt.Errorf("block_size %d is negative", p.block)
		}
	}
	if scale.Len() == 1 && len(scale.Shape) <= 1 && p.block == 0 {
		return p, nil // per tensor
	}
	if opset < 13 {
		return nil, fmt.Errorf("scale has shape %v; opset %d takes one scale per tensor (per-axis scales need opset 13)", scale.Shape, opset)
	}
	axis, err := normAxis(int(n.AttrInt("axis", 1)), len(x))
	if err != nil {
		return nil, fmt.Errorf("per-axis quantisation of a tensor of shape %v: %v", x, err)
	}
	p.axis, p.dim, p.inner = axis, x[axis], product(x[axis+1:])
	if p.block == 0 {
		if len(scale.Shape) != 1 || scale.Shape[0] != p.dim {
			return nil, fmt.Errorf("scale has shape %v, want a scalar or [%d] (axis %d of %v)", scale.Shape, p.dim, axis, x)
		}
		return p, nil
	}
	p.blocks = (p.dim + p.block - 1) / p.block
	want := x.Clone()
	want[axis] = p.blocks
	if !scale.Shape.Equal(want) {
		return nil, fmt.Errorf("scale has shape %v, want %v for blocks of %d along axis %d of %v", scale.Shape, want, p.block, axis, x)
	}
	return p, nil
}

// CheckQParams checks the scale and optional zero point of a
// QuantizeLinear or DequantizeLinear node n at opset for a tensor of
// shape x by the rules its kernels apply (readQParams): shape inference
// reports constant parameters that no run could take at the node that
// holds them.
func CheckQParams(n *ir.Node, opset int64, x ir.Shape, scale, zero *ir.Tensor) error {
	_, err := readQParams(n, opset, x, scale, zero)
	return err
}

// quantizeLinearKernel: y = saturate(round(x / y_scale) + y_zero_point).
// The output type is the zero point's, else (opset 21) the output_dtype
// attribute's, else uint8. The saturate attribute (opset 19) concerns
// float8 outputs only, which tsmc does not read.
func quantizeLinearKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "x", "y_scale"); err != nil {
		return nil, err
	}
	x, zero := inputs[0], optional(inputs, 2)
	if err := requireFloat32(x, "x"); err != nil {
		return nil, err
	}
	dt := ir.Uint8
	if zero != nil {
		dt = zero.DType
	}
	if code := n.AttrInt("output_dtype", 0); opset >= 21 && code != 0 {
		odt, err := dtypeFromONNX(code)
		if err != nil {
			return nil, fmt.Errorf("output_dtype: %v", err)
		}
		if zero != nil && odt != zero.DType {
			return nil, fmt.Errorf("output_dtype is %v but the zero point is %v", odt, zero.DType)
		}
		dt = odt
	}
	lo, hi, ok := QuantRange(dt)
	if !ok || dt == ir.Int32 {
		return nil, fmt.Errorf("cannot quantise to %v (uint8, int8 or int16)", dt)
	}
	p, err := readQParams(n, opset, x.Shape, inputs[1], zero)
	if err != nil {
		return nil, err
	}
	y, err := alloc(dt, x.Shape)
	if err != nil {
		return nil, err
	}
	for i, v := range x.F32 {
		k := p.at(i)
		y.I64[i] = Quantize(v, p.scale[k], p.zeroAt(k), lo, hi)
	}
	return []*ir.Tensor{y}, nil
}

// dequantizeLinearKernel: y = (x - x_zero_point) * x_scale, as float32.
// An int32 x has no zero point other than 0.
func dequantizeLinearKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "x", "x_scale"); err != nil {
		return nil, err
	}
	x, zero := inputs[0], optional(inputs, 2)
	if _, _, ok := QuantRange(x.DType); !ok {
		return nil, fmt.Errorf("x must be uint8, int8, int16 or int32, got %v", x.DType)
	}
	p, err := readQParams(n, opset, x.Shape, inputs[1], zero)
	if err != nil {
		return nil, err
	}
	if zero != nil && zero.DType != x.DType {
		return nil, fmt.Errorf("zero point is %v, x is %v: they must match", zero.DType, x.DType)
	}
	if x.DType == ir.Int32 && zero != nil {
		for _, z := range zero.I64 {
			if z != 0 {
				return nil, fmt.Errorf("an int32 x takes no zero point other than 0, got %d", z)
			}
		}
	}
	y, err := alloc(ir.Float32, x.Shape)
	if err != nil {
		return nil, err
	}
	for i, q := range x.I64 {
		k := p.at(i)
		y.F32[i] = Dequantize(q, p.zeroAt(k), p.scale[k])
	}
	return []*ir.Tensor{y}, nil
}

// scalarScale reads a one-element float32 scale.
func scalarScale(t *ir.Tensor, what string) (float32, error) {
	if t.DType != ir.Float32 || t.Len() != 1 {
		return 0, fmt.Errorf("%s must be one f32 value, got %v%v", what, t.DType, t.Shape)
	}
	if s := t.F32[0]; !(s > 0) || math.IsInf(float64(s), 1) {
		return 0, fmt.Errorf("%s %v is not a positive finite number", what, s)
	}
	return t.F32[0], nil
}

// zeroPoints reads the zero points of an integer operand of dtype dt: nil
// (all 0), or count values (1 or the per-channel count) of dtype dt.
func zeroPoints(t *ir.Tensor, dt ir.DType, what string, counts ...int) ([]int64, error) {
	if t == nil {
		return []int64{0}, nil
	}
	if t.DType != dt {
		return nil, fmt.Errorf("%s is %v, its operand %v: they must match", what, t.DType, dt)
	}
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("%s must be a scalar or 1-D, got shape %v", what, t.Shape)
	}
	for _, c := range append([]int{1}, counts...) {
		if t.Len() == c {
			return t.I64, nil
		}
	}
	return nil, fmt.Errorf("%s has %d values, want 1 or %v", what, t.Len(), counts)
}

// scales reads a float32 scale of 1 or count values.
func scales(t *ir.Tensor, what string, count int) ([]float32, error) {
	if t.DType != ir.Float32 || len(t.Shape) > 1 || t.Len() != 1 && t.Len() != count {
		return nil, fmt.Errorf("%s must be a scalar or 1-D of %d f32 values, got %v%v", what, count, t.DType, t.Shape)
	}
	for _, s := range t.F32 {
		if !(s > 0) || math.IsInf(float64(s), 1) {
			return nil, fmt.Errorf("%s %v is not a positive finite number", what, s)
		}
	}
	return t.F32, nil
}

// quantOperand checks that t is an 8-bit quantised tensor.
func quantOperand(t *ir.Tensor, what string) error {
	if t.DType != ir.Uint8 && t.DType != ir.Int8 {
		return fmt.Errorf("%s must be uint8 or int8, got %v", what, t.DType)
	}
	return nil
}

// pick returns vs[i], or vs[0] for a per-tensor list.
func pick[T any](vs []T, i int) T {
	if len(vs) == 1 {
		return vs[0]
	}
	return vs[i]
}

// IntConv is the integer convolution of ConvInteger, QLinearConv and
// tsmc's quantised convolutions: int32 sums of (x - xZero) × (w - wZero[m])
// over each window, where the padding reads xZero (real zero). n holds the
// Conv attributes; wZero has one value or one per output channel. acc has
// the output's shape [N, M, spatial...] and int32 values.
func IntConv(n *ir.Node, x *ir.Tensor, xZero int64, w *ir.Tensor, wZero []int64) (*ir.Tensor, error) {
	if err := quantOperand(x, "x"); err != nil {
		return nil, err
	}
	if err := quantOperand(w, "w"); err != nil {
		return nil, err
	}
	if r := len(x.Shape); r < 3 || r > 5 {
		return nil, fmt.Errorf("x must be N x C x (1 to 3 spatial axes), got shape %v", x.Shape)
	}
	if err := requireRank(w, len(x.Shape), "w"); err != nil {
		return nil, err
	}
	group, ws, shape, err := convGeometry(n, x, w, "x", "w")
	if err != nil {
		return nil, err
	}
	batch, channels, maps, groupChannels := x.Shape[0], x.Shape[1], w.Shape[0], w.Shape[1]
	if len(wZero) != 1 && len(wZero) != maps {
		return nil, fmt.Errorf("%d weight zero points for %d output channels", len(wZero), maps)
	}
	acc, err := alloc(ir.Int32, shape)
	if err != nil {
		return nil, err
	}
	xc := make([]int32, x.Len())
	for i, v := range x.I64 {
		xc[i] = int32(v - xZero)
	}
	g := toGrid3(ws)
	depth := groupChannels * g.kernelSize()
	wc := make([]int32, w.Len())
	for i, v := range w.I64 {
		wc[i] = int32(v - pick(wZero, i/depth))
	}
	inSize, outSize, groupMaps := g.inSize(), g.outSize(), maps/group
	out := make([]int32, acc.Len())
	parallelFor(batch*group, func(lo, hi int) {
		col := make([]int32, depth*outSize)
		for t := lo; t < hi; t++ {
			img, grp := t/group, t%group
			xg := xc[(img*channels+grp*groupChannels)*inSize:][:groupChannels*inSize]
			im2col(col, xg, groupChannels, g)
			yg := out[(img*maps+grp*groupMaps)*outSize:][:groupMaps*outSize]
			matmulAdd(groupMaps, outSize, depth, wc[grp*groupMaps*depth:][:groupMaps*depth], col, yg, false)
		}
	})
	for i, v := range out {
		acc.I64[i] = int64(v)
	}
	return acc, nil
}

// convIntegerKernel is ConvInteger: the int32 convolution of the centred
// operands, with no bias.
func convIntegerKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "x", "w"); err != nil {
		return nil, err
	}
	x, w := inputs[0], inputs[1]
	xZero, err := zeroPoints(optional(inputs, 2), x.DType, "x_zero_point")
	if err != nil {
		return nil, err
	}
	wZero, err := zeroPoints(optional(inputs, 3), w.DType, "w_zero_point", w.Shape[0])
	if err != nil {
		return nil, err
	}
	acc, err := IntConv(n, x, xZero[0], w, wZero)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{acc}, nil
}

// qlinearConvKernel is QLinearConv: the integer convolution plus the int32
// bias, requantised per output channel with (x_scale × w_scale[m]) /
// y_scale.
func qlinearConvKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"); err != nil {
		return nil, err
	}
	x, w, b := inputs[0], inputs[3], optional(inputs, 8)
	if len(w.Shape) < 1 {
		return nil, fmt.Errorf("w must have rank >= 3, got shape %v", w.Shape)
	}
	maps := w.Shape[0]
	xScale, err := scalarScale(inputs[1], "x_scale")
	if err != nil {
		return nil, err
	}
	xZero, err := zeroPoints(inputs[2], x.DType, "x_zero_point")
	if err != nil {
		return nil, err
	}
	wScale, err := scales(inputs[4], "w_scale", maps)
	if err != nil {
		return nil, err
	}
	wZero, err := zeroPoints(inputs[5], w.DType, "w_zero_point", maps)
	if err != nil {
		return nil, err
	}
	yScale, err := scalarScale(inputs[6], "y_scale")
	if err != nil {
		return nil, err
	}
	yZero, err := zeroPoints(inputs[7], inputs[7].DType, "y_zero_point")
	if err != nil {
		return nil, err
	}
	if err := quantOperand(inputs[7], "y_zero_point"); err != nil {
		return nil, err
	}
	if b != nil && (b.DType != ir.Int32 || !b.Shape.Equal(ir.Shape{maps})) {
		return nil, fmt.Errorf("B must be int32 of shape [%d], got %v%v", maps, b.DType, b.Shape)
	}
	acc, err := IntConv(n, x, xZero[0], w, wZero)
	if err != nil {
		return nil, err
	}
	y, err := alloc(inputs[7].DType, acc.Shape)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := QuantRange(y.DType)
	plane := acc.Shape[2:].Size()
	for i, a := range acc.I64 {
		m := i / plane % maps
		sum := int32(a)
		if b != nil {
			sum += int32(b.I64[m])
		}
		y.I64[i] = Requantize(sum, Multiplier(xScale, pick(wScale, m), yScale), yZero[0], lo, hi)
	}
	return []*ir.Tensor{y}, nil
}

// matmulOperand centres an integer MatMul operand by its zero points:
// zero broadcasts against t's shape, a 1-D zero point of a (perRow) being
// one per row ([M] read as [M, 1]). A 1-D operand becomes a row (a) or a
// column (b) of rank 2, as MatMul reads it.
func matmulOperand(t, zero *ir.Tensor, isA bool, what string) ([]int32, ir.Shape, error) {
	if err := quantOperand(t, what); err != nil {
		return nil, nil, err
	}
	shape := t.Shape
	switch {
	case len(shape) == 0:
		return nil, nil, fmt.Errorf("%s must have rank >= 1", what)
	case len(shape) == 1 && isA:
		shape = ir.Shape{1, shape[0]}
	case len(shape) == 1:
		shape = ir.Shape{shape[0], 1}
	}
	out := make([]int32, t.Len())
	if zero == nil {
		for i, v := range t.I64 {
			out[i] = int32(v)
		}
		return out, shape, nil
	}
	if zero.DType != t.DType {
		return nil, nil, fmt.Errorf("%s's zero point is %v, the operand %v: they must match", what, zero.DType, t.DType)
	}
	zs := zero.Shape
	if isA && len(zs) == 1 && zero.Len() != 1 {
		zs = ir.Shape{zs[0], 1} // one per row
	}
	if b, err := broadcastShape(zs, shape); err != nil || !b.Equal(shape) {
		return nil, nil, fmt.Errorf("%s's zero point of shape %v does not fit the operand %v", what, zero.Shape, t.Shape)
	}
	zt, err := broadcastTo(reshaped(zero, zs), shape)
	if err != nil {
		return nil, nil, err
	}
	for i, v := range t.I64 {
		out[i] = int32(v - zt.I64[i])
	}
	return out, shape, nil
}

// intMatMul is MatMul of the centred integer operands into int32: batched
// over broadcast leading axes, a 1-D a read as a row and a 1-D b as a
// column (their axis dropped from the result). It returns the int32 result
// and its rows and columns.
func intMatMul(a, aZero, b, bZero *ir.Tensor) (acc *ir.Tensor, rows, cols int, err error) {
	ac, aShape, err := matmulOperand(a, aZero, true, "a")
	if err != nil {
		return nil, 0, 0, err
	}
	bc, bShape, err := matmulOperand(b, bZero, false, "b")
	if err != nil {
		return nil, 0, 0, err
	}
	m, k := aShape[len(aShape)-2], aShape[len(aShape)-1]
	k2, n := bShape[len(bShape)-2], bShape[len(bShape)-1]
	if k != k2 {
		return nil, 0, 0, fmt.Errorf("a %v and b %v: inner dimensions differ", a.Shape, b.Shape)
	}
	aBatch, bBatch := aShape[:len(aShape)-2], bShape[:len(bShape)-2]
	batch, err := broadcastShape(aBatch, bBatch)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := checkShape(append(batch.Clone(), m, n)); err != nil {
		return nil, 0, 0, err
	}
	out := make([]int32, batch.Size()*m*n)
	strides := [][]int{broadcastStrides(aBatch, batch), broadcastStrides(bBatch, batch)}
	forEachBroadcast(batch, strides, func(i int, o []int) {
		matmulAdd(m, n, k, ac[o[0]*m*k:(o[0]+1)*m*k], bc[o[1]*k*n:(o[1]+1)*k*n], out[i*m*n:(i+1)*m*n], true)
	})
	shape := batch.Clone()
	if len(a.Shape) > 1 {
		shape = append(shape, m)
	}
	if len(b.Shape) > 1 {
		shape = append(shape, n)
	}
	acc = &ir.Tensor{DType: ir.Int32, Shape: shape, I64: make([]int64, len(out))}
	for i, v := range out {
		acc.I64[i] = int64(v)
	}
	return acc, m, n, nil
}

// matmulIntegerKernel is MatMulInteger: int32 (a - a_zero_point) ×
// (b - b_zero_point); a's zero point is a scalar, one per row or of a
// shape that broadcasts to a's, b's a scalar, one per column or one that
// broadcasts to b's.
func matmulIntegerKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "A", "B"); err != nil {
		return nil, err
	}
	acc, _, _, err := intMatMul(inputs[0], optional(inputs, 2), inputs[1], optional(inputs, 3))
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{acc}, nil
}

// qlinearMatMulKernel is QLinearMatMul: the integer product requantised
// with (a_scale × b_scale) / y_scale, a's parameters per tensor or per
// row, b's per tensor or per column (opset 21 spells out both; older
// models use scalars).
func qlinearMatMulKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"); err != nil {
		return nil, err
	}
	a, b := inputs[0], inputs[3]
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, errors.New("a and b must have rank >= 1")
	}
	rows, cols := 1, 1
	if len(a.Shape) > 1 {
		rows = a.Shape[len(a.Shape)-2]
	}
	if len(b.Shape) > 1 {
		cols = b.Shape[len(b.Shape)-1]
	}
	aScale, err := scales(inputs[1], "a_scale", rows)
	if err != nil {
		return nil, err
	}
	bScale, err := scales(inputs[4], "b_scale", cols)
	if err != nil {
		return nil, err
	}
	if _, err := zeroPoints(inputs[2], a.DType, "a_zero_point", rows); err != nil {
		return nil, err
	}
	if _, err := zeroPoints(inputs[5], b.DType, "b_zero_point", cols); err != nil {
		return nil, err
	}
	yScale, err := scalarScale(inputs[6], "y_scale")
	if err != nil {
		return nil, err
	}
	if err := quantOperand(inputs[7], "y_zero_point"); err != nil {
		return nil, err
	}
	yZero, err := zeroPoints(inputs[7], inputs[7].DType, "y_zero_point")
	if err != nil {
		return nil, err
	}
	acc, m, cols, err := intMatMul(a, inputs[2], b, inputs[5])
	if err != nil {
		return nil, err
	}
	y, err := alloc(inputs[7].DType, acc.Shape)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := QuantRange(y.DType)
	for i, v := range acc.I64 {
		r, c := i/cols%m, i%cols
		y.I64[i] = Requantize(int32(v), Multiplier(pick(aScale, r), pick(bScale, c), yScale), yZero[0], lo, hi)
	}
	return []*ir.Tensor{y}, nil
}

// qlinearAddKernel is com.microsoft QLinearAdd: C = saturate(round((A_scale
// (A - A_zero_point) + B_scale (B - B_zero_point)) / C_scale) +
// C_zero_point) with numpy broadcasting, computed as onnxruntime computes
// it (AddRescaled; an operand that is one value along the innermost axis
// takes AddRescaledScalar's form). The literal float32 reading of
// DequantizeLinear, Add and QuantizeLinear can differ from it by one step
// where the sum lies within rounding error of a tie.
func qlinearAddKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	for i, name := range map[int]string{0: "A", 1: "A_scale", 3: "B", 4: "B_scale", 6: "C_scale"} {
		if optional(inputs, i) == nil {
			return nil, fmt.Errorf("missing required input %d (%s)", i, name)
		}
	}
	a, b := inputs[0], inputs[3]
	if err := quantOperand(a, "A"); err != nil {
		return nil, err
	}
	if b.DType != a.DType {
		return nil, fmt.Errorf("A is %v and B is %v: they must match", a.DType, b.DType)
	}
	var sc [3]float32
	var zp [3]int64
	for k, i := range []int{1, 4, 6} {
		s, err := scalarScale(inputs[i], fmt.Sprintf("scale %d", k))
		if err != nil {
			return nil, err
		}
		z, err := zeroPoints(optional(inputs, i+1), a.DType, fmt.Sprintf("zero point %d", k))
		if err != nil {
			return nil, err
		}
		if len(z) != 1 {
			return nil, fmt.Errorf("zero point %d must be one value", k)
		}
		sc[k], zp[k] = s, z[0]
	}
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	c, err := alloc(a.DType, shape)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := QuantRange(a.DType)
	r := NewRescale(sc[0], zp[0], sc[1], zp[1], sc[2], zp[2], lo, hi)
	// onnxruntime adds along the innermost axis; an operand that has one
	// value there is its scalar case.
	innerScalar := func(t *ir.Tensor) bool {
		return len(shape) > 0 && t.Len() < c.Len() && (len(t.Shape) == 0 || t.Shape[len(t.Shape)-1] == 1) && shape[len(shape)-1] > 1 || t.Len() == 1 && c.Len() > 1
	}
	aScalar, bScalar := innerScalar(a), innerScalar(b)
	strides := [][]int{broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape)}
	forEachBroadcast(shape, strides, func(i int, o []int) {
		av, bv := a.I64[o[0]], b.I64[o[1]]
		switch {
		case aScalar && !bScalar:
			c.I64[i] = r.AddScalarA(av, bv)
		case bScalar && !aScalar:
			c.I64[i] = r.AddScalarB(av, bv)
		default:
			c.I64[i] = r.Add(av, bv)
		}
	})
	return []*ir.Tensor{c}, nil
}

// Rescale is onnxruntime's quantised sum of two quantised values (its
// QLinearAdd, the same on every x86 CPU with AVX2 and, through NEON's
// fused multiply-add, on arm64): with the ratios rA = a_scale / y_scale
// and rB = b_scale / y_scale and the fixed part F = y_zero_point -
// fma(rA, a_zero_point, rB × b_zero_point),
//
//	y = saturate(roundHalfEven(fma(a, rA, fma(b, rB, F))))
//
// every operation in float32, each fma rounded once (FMA32). tsmc's
// quantised sums (tsmc.QAdd, a tsmc.QConv's residual) are this rule, so
// that they reproduce onnxruntime's results on QDQ models.
type Rescale struct {
	RatioA, RatioB, Fixed float32
	Lo, Hi                int64
}

// NewRescale is the rule of a sum of A (aScale, aZero) and B (bScale,
// bZero) into Y (yScale, yZero) saturated to [lo, hi].
func NewRescale(aScale float32, aZero int64, bScale float32, bZero int64, yScale float32, yZero, lo, hi int64) Rescale {
	ra, rb := float32(aScale/yScale), float32(bScale/yScale)
	fixed := float32(float32(yZero) - FMA32(ra, float32(aZero), float32(rb*float32(bZero))))
	return Rescale{RatioA: ra, RatioB: rb, Fixed: fixed, Lo: lo, Hi: hi}
}

func (r Rescale) saturate(v float32) int64 {
	return saturateRounded(math.RoundToEven(float64(v)), 0, r.Lo, r.Hi)
}

// Add is the sum of a and b.
func (r Rescale) Add(a, b int64) int64 {
	return r.saturate(FMA32(float32(a), r.RatioA, FMA32(float32(b), r.RatioB, r.Fixed)))
}

// AddScalarA and AddScalarB are the sum when a (or b) is one value
// broadcast along the innermost axis: onnxruntime folds it into the
// fixed part with a multiply and an add, then one fma.
func (r Rescale) AddScalarA(a, b int64) int64 {
	fixed := float32(r.Fixed + float32(float32(a)*r.RatioA))
	return r.saturate(FMA32(float32(b), r.RatioB, fixed))
}

func (r Rescale) AddScalarB(a, b int64) int64 {
	fixed := float32(r.Fixed + float32(float32(b)*r.RatioB))
	return r.saturate(FMA32(float32(a), r.RatioA, fixed))
}

// FMA32 is x × y + z rounded once to float32, as a fused multiply-add
// instruction computes it (fma.F32, the int8 kernels' rounding too).
func FMA32(x, y, z float32) float32 { return fma.F32(x, y, z) }

// qgemmKernel is com.microsoft QGemm: Y = alpha × A' × B' + C over the
// centred integer operands (A' and B' transposed as transA and transB
// say), C an int32 bias broadcast to [M, N] in the accumulator's units.
// With y_scale and y_zero_point the result is requantised with (alpha ×
// a_scale × b_scale[n]) / y_scale; without them it is float32(acc) ×
// alpha × a_scale × b_scale[n]. a's parameters are per tensor, b's per
// tensor or per column.
func qgemmKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "A", "a_scale", "a_zero_point", "B", "b_scale", "b_zero_point"); err != nil {
		return nil, err
	}
	a, b, c := inputs[0], inputs[3], optional(inputs, 6)
	yScaleT, yZeroT := optional(inputs, 7), optional(inputs, 8)
	for _, t := range []struct {
		x    *ir.Tensor
		name string
	}{{a, "A"}, {b, "B"}} {
		if err := requireRank(t.x, 2, t.name); err != nil {
			return nil, err
		}
	}
	a, b, err := gemmOperands(n, a, b)
	if err != nil {
		return nil, err
	}
	cols := b.Shape[1]
	aScale, err := scalarScale(inputs[1], "a_scale")
	if err != nil {
		return nil, err
	}
	bScale, err := scales(inputs[4], "b_scale", cols)
	if err != nil {
		return nil, err
	}
	if _, err := zeroPoints(inputs[2], a.DType, "a_zero_point"); err != nil {
		return nil, err
	}
	bZero, err := zeroPoints(inputs[5], b.DType, "b_zero_point", cols)
	if err != nil {
		return nil, err
	}
	if len(bZero) != len(bScale) {
		return nil, fmt.Errorf("b_scale has %d values and b_zero_point %d: they must match", len(bScale), len(bZero))
	}
	acc, _, _, err := intMatMul(a, inputs[2], b, inputs[5])
	if err != nil {
		return nil, err
	}
	if c != nil {
		if c.DType != ir.Int32 {
			return nil, fmt.Errorf("C must be int32, got %v", c.DType)
		}
		if shape, err := broadcastShape(c.Shape, acc.Shape); err != nil || !shape.Equal(acc.Shape) {
			return nil, fmt.Errorf("C of shape %v does not broadcast to %v", c.Shape, acc.Shape)
		}
		forEachBroadcast(acc.Shape, [][]int{broadcastStrides(c.Shape, acc.Shape)}, func(i int, o []int) {
			acc.I64[i] = int64(int32(acc.I64[i]) + int32(c.I64[o[0]]))
		})
	}
	alpha := n.AttrFloat("alpha", 1)
	if (yScaleT == nil) != (yZeroT == nil) {
		return nil, errors.New("y_scale and y_zero_point go together: give both (quantised output) or neither (float32 output)")
	}
	if yScaleT == nil {
		y, err := alloc(ir.Float32, acc.Shape)
		if err != nil {
			return nil, err
		}
		for i, v := range acc.I64 {
			scale := float32(float32(alpha*aScale) * pick(bScale, i%cols)) // (alpha × a_scale) × b_scale
			y.F32[i] = float32(float32(int32(v)) * scale)
		}
		return []*ir.Tensor{y}, nil
	}
	yScale, err := scalarScale(yScaleT, "y_scale")
	if err != nil {
		return nil, err
	}
	if err := quantOperand(yZeroT, "y_zero_point"); err != nil {
		return nil, err
	}
	yZero, err := zeroPoints(yZeroT, yZeroT.DType, "y_zero_point")
	if err != nil {
		return nil, err
	}
	y, err := alloc(yZeroT.DType, acc.Shape)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := QuantRange(y.DType)
	for i, v := range acc.I64 {
		m := Multiplier(float32(alpha*aScale), pick(bScale, i%cols), yScale) // ((alpha × a_scale) × b_scale) / y_scale
		y.I64[i] = Requantize(int32(v), m, yZero[0], lo, hi)
	}
	return []*ir.Tensor{y}, nil
}
