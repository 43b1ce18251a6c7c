package runtime

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/runtime/fma"
)

// Quantised tensors.
//
// An int8 activation is stored as one byte per value with a per-tensor
// scale and zero point: x = scale * (q - zero). The runtime holds every
// activation as uint8. An ONNX int8 (s8) tensor is the same tensor with
// zero point zero+128 and every byte XOR 0x80: q_s8 - zero_s8 =
// (q_s8 ^ 0x80) - (zero_s8 + 128), and saturating to [-128, 127] before
// the flip is saturating to [0, 255] after it, so every rule below holds
// for s8 tensors seen that way (S8ToU8, U8Zero). Weights are int8,
// symmetric per output channel (zero point 0).
//
// The rounding rule is ONNX QuantizeLinear's, as onnxruntime's MLAS
// computes it (MlasQuantizeLinear, MlasRequantizeOutput): a float32
// multiply (or division), a clamp to the output range minus the zero
// point, rounding half to even, then the zero point is added.

// QuantizeU8 returns saturate(round_half_even(x / scale) + zero), the ONNX
// QuantizeLinear of a uint8 output, computed in float32 as onnxruntime
// does (x / scale clamped to [-zero, 255-zero] before rounding).
func QuantizeU8(x, scale float32, zero uint8) uint8 {
	v := x / scale
	if v != v { // NaN: MLAS's MAXPS/MINPS return the bound
		v = float32(-int32(zero))
	}
	return uint8(rne(clamp(v, float32(-int32(zero)), float32(255-int32(zero)))) + int32(zero))
}

// DequantizeU8 returns scale * (q - zero), the ONNX DequantizeLinear.
func DequantizeU8(q uint8, scale float32, zero uint8) float32 {
	return float32(int32(q)-int32(zero)) * scale
}

// S8ToU8 converts an int8 tensor to the runtime's uint8 form (U8Zero
// converts its zero point).
func S8ToU8(dst []uint8, src []int8) {
	for i, v := range src[:len(dst)] {
		dst[i] = uint8(v) ^ 0x80
	}
}

// U8ToS8 converts back (the inverse of S8ToU8).
func U8ToS8(dst []int8, src []uint8) {
	for i, v := range src[:len(dst)] {
		dst[i] = int8(v ^ 0x80)
	}
}

// U8Zero returns the uint8 zero point of an int8 tensor of zero point z.
func U8Zero(z int8) uint8 { return uint8(int32(z) + 128) }

// QuantScale returns the requantisation scale of an output channel,
// inScale * wScale / outScale in float32, left to right, as onnxruntime's
// QLinearConv computes it (the product of the input and weight scales is
// the scale of the int32 accumulator).
func QuantScale(inScale, wScale, outScale float32) float32 {
	return float32(inScale*wScale) / outScale
}

// QuantBounds returns the output clamp [lo, hi] that implements act on a
// uint8 output of the given scale and zero point: the activation's bounds
// quantised with QuantizeU8 (ReLU: [zero, 255]; ReLU6: [zero,
// QuantizeU8(6)]).
func QuantBounds(act Act, scale float32, zero uint8) (lo, hi uint8, err error) {
	if err := act.validate(); err != nil {
		return 0, 0, err
	}
	if !validScale(scale) {
		return 0, 0, fmt.Errorf("output scale %g is not positive and finite", scale)
	}
	lo, hi = 0, 255
	switch act.Kind {
	case ActRelu:
		lo = zero
	case ActClip:
		lo, hi = QuantizeU8(act.Min, scale, zero), QuantizeU8(act.Max, scale, zero)
	}
	return lo, hi, nil
}

func validScale(s float32) bool { return s > 0 && s <= math.MaxFloat32 }

// rne rounds half to even, as CVTPS2DQ (default MXCSR) and FCVTNS do; v
// is within int32 range.
func rne(v float32) int32 { return int32(math.RoundToEven(float64(v))) }

// QRequant is how a quantised convolution or GEMM turns its int32
// accumulators into output bytes (see QTile for the exact rule).
//
// Without Add: out = clamp(round(acc * Scale[c]) + Zero, Lo, Hi), where
// acc = Σ (x - inZero) * w + bias[c] and Scale[c] = QuantScale(input
// scale, weight scale of c, output scale).
//
// With Add, the convolution is followed by a residual add (QLinearConv
// then QLinearAdd, or the QDQ pattern Conv -> Q -> DQ -> Add <- DQ ->
// Q): Scale[c] then maps to the convolution's own output (Add.ConvScale,
// Add.ConvZero), which is quantised as the QDQ graph quantises it, and
// the sum is quantised to the output (Add.OutScale, Zero), clamped to
// [Lo, Hi]. With (a, b) = (y, r), or (r, y) when Add.ResidualFirst, and
// rA, rB their scales over OutScale:
//
//	y = saturate(round(acc * Scale[c]) + ConvZero)          // the convolution's output
//	F = Zero - fma(rA, zeroA, rB*zeroB)
//	out = clamp(round(fma(a, rA, fma(b, rB, F))), Lo, Hi)
//
// in float32 with single-rounding fused multiply-adds, exactly as
// onnxruntime's QLinearAdd (MLAS, AVX2 and AVX-512) evaluates it. Fusing
// only skips storing y.
type QRequant struct {
	Scale  []float32 // per output channel, or a single value for all
	Zero   uint8     // output zero point
	Lo, Hi uint8     // output clamp (0, 255 for none; see QuantBounds)
	Add    *QAdd     // fused residual add, or nil
}

// QAdd is the residual add fused into a quantised convolution's
// epilogue (see QRequant).
type QAdd struct {
	ConvScale float32 // the convolution's own output quantisation
	ConvZero  uint8
	ResScale  float32 // the residual's
	ResZero   uint8
	OutScale  float32 // the sum's (its zero point and clamp are QRequant's)
	// ResidualFirst: the residual is the sum's first operand (the
	// order of its fused multiply-adds)
	ResidualFirst bool
}

// validate checks r for cout output channels.
func (r *QRequant) validate(cout int) error {
	if len(r.Scale) != 1 && len(r.Scale) != cout {
		return fmt.Errorf("%d requantisation scales for %d output channels", len(r.Scale), cout)
	}
	for _, s := range r.Scale {
		if !validScale(s) {
			return fmt.Errorf("requantisation scale %g is not positive and finite", s)
		}
	}
	if r.Lo > r.Hi {
		return fmt.Errorf("output clamp [%d, %d] is empty", r.Lo, r.Hi)
	}
	if a := r.Add; a != nil {
		for _, s := range []float32{a.ConvScale, a.ResScale, a.OutScale} {
			if !validScale(s) {
				return fmt.Errorf("residual add scale %g is not positive and finite", s)
			}
		}
	}
	return nil
}

// scale returns the requantisation scale of output channel c.
func (r *QRequant) scale(c int) float32 {
	if len(r.Scale) == 1 {
		return r.Scale[0]
	}
	return r.Scale[c]
}

// setEpilogue fills the epilogue fields of t (all but Offset and Scale)
// from r.
func (r *QRequant) setEpilogue(t *QTile) {
	t.Zero = int32(r.Zero)
	t.Lo, t.Hi = float32(int32(r.Lo)-int32(r.Zero)), float32(int32(r.Hi)-int32(r.Zero))
	t.Lo1, t.Hi1, t.ZeroC, t.S1, t.SR, t.F, t.Swap = 0, 0, 0, 0, 0, 0, 0
	if a := r.Add; a != nil {
		t.Lo1, t.Hi1 = float32(-int32(a.ConvZero)), float32(255-int32(a.ConvZero))
		t.ZeroC = int32(a.ConvZero)
		rc, rr := a.ConvScale/a.OutScale, a.ResScale/a.OutScale
		za, zb := float32(a.ConvZero), float32(a.ResZero)
		t.S1, t.SR = rc, rr
		if a.ResidualFirst {
			t.S1, t.SR, za, zb = rr, rc, zb, za
			t.Swap = -1
		}
		t.F = float32(r.Zero) - fma.F32(t.S1, za, float32(t.SR*zb))
		// the zero point is in F: the clamp is of the result itself
		t.Zero, t.Lo, t.Hi = 0, float32(r.Lo), float32(r.Hi)
	}
}

// requant is the output byte of accumulator acc (offset included) of a
// row of scale s, r the residual byte (ignored when res is false): the
// epilogue of the QTile contract.
func (t *QTile) requant(acc int32, s float32, res bool, r uint8) uint8 {
	v := float32(acc) * s
	if res {
		y := rne(clamp(v, t.Lo1, t.Hi1)) + t.ZeroC
		ri := int32(r)
		x := (ri - y) & t.Swap
		v = fma.F32(float32(y+x), t.S1, fma.F32(float32(ri-x), t.SR, t.F))
	}
	return uint8(rne(clamp(v, t.Lo, t.Hi)) + t.Zero)
}
