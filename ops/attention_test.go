package ops

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// attentionNode is a tsmc.Attention of operands with the given types and
// shapes [1, D, M], [1, D, N], [1, E, N] and attributes.
func attentionNode(qt, k ir.DType, d, m, n, e int, attrs map[string]ir.Attr) *ir.Node {
	return &ir.Node{Name: "att", Op: OpAttention, Domain: Domain, Attrs: attrs,
		Inputs: []*ir.Value{{Name: "qt", DType: qt, Shape: ir.Shape{1, d, m}}, {Name: "k", DType: k, Shape: ir.Shape{1, d, n}},
			{Name: "vt", DType: ir.Float32, Shape: ir.Shape{1, e, n}}},
		Outputs: []*ir.Value{{Name: "yt"}}}
}

func quantAttrs(qs float32, qz int64, ks float32, kz int64) map[string]ir.Attr {
	return map[string]ir.Attr{"q_scale": {Kind: ir.AttrFloat, Float: qs}, "q_zero_point": {Kind: ir.AttrInt, Int: qz},
		"k_scale": {Kind: ir.AttrFloat, Float: ks}, "k_zero_point": {Kind: ir.AttrInt, Int: kz}}
}

// TestQuantizedAttentionIsMatMulIntegerToFloat: with power-of-two scales
// and small sums every float32 product and sum of the float32 form is
// exact, so the quantised form's reference (integer scores) must give
// the float32 form's result on the dequantised operands bit for bit,
// for uint8 and int8 operands, with and without a scale.
func TestQuantizedAttentionIsMatMulIntegerToFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 9))
	const d, m, n, e = 5, 7, 6, 3
	for _, c := range []struct {
		qt, kt ir.DType
		qz, kz int64
		scale  float32
	}{{ir.Uint8, ir.Uint8, 131, 120, 1}, {ir.Int8, ir.Uint8, -3, 128, 0.5}, {ir.Uint8, ir.Int8, 0, 5, 1}, {ir.Int8, ir.Int8, 127, -128, 2}} {
		lo, hi := int64(0), int64(255)
		if c.qt == ir.Int8 {
			lo, hi = -128, 127
		}
		q := randInts(rng, c.qt, ir.Shape{1, d, m}, lo, hi)
		lo, hi = 0, 255
		if c.kt == ir.Int8 {
			lo, hi = -128, 127
		}
		k := randInts(rng, c.kt, ir.Shape{1, d, n}, lo, hi)
		vt := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, e, n}, F32: make([]float32, e*n)}
		for i := range vt.F32 {
			vt.F32[i] = float32(rng.IntN(9) - 4)
		}
		const qs, ks = 1.0 / 64, 1.0 / 128
		attrs := quantAttrs(qs, c.qz, ks, c.kz)
		plain := map[string]ir.Attr{}
		if c.scale != 1 {
			attrs["scale"] = ir.Attr{Kind: ir.AttrFloat, Float: c.scale}
			plain["scale"] = attrs["scale"]
		}
		got := evalNode(t, attentionNode(c.qt, c.kt, d, m, n, e, attrs), q, k, vt)
		deq := func(x *ir.Tensor, s float32, z int64) *ir.Tensor {
			out := &ir.Tensor{DType: ir.Float32, Shape: x.Shape.Clone(), F32: make([]float32, len(x.I64))}
			for i, v := range x.I64 {
				out.F32[i] = float32(v-z) * s
			}
			return out
		}
		want := evalNode(t, attentionNode(ir.Float32, ir.Float32, d, m, n, e, plain), deq(q, qs, c.qz), deq(k, ks, c.kz), vt)
		if err := tensorcmp.Equal(got, want); err != nil {
			t.Errorf("%v x %v, zero points %d and %d, scale %g: %v", c.qt, c.kt, c.qz, c.kz, c.scale, err)
		}
	}
}

func TestAttentionQuantErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		qt, kt ir.DType
		attrs  map[string]ir.Attr
		want   string
	}{
		{"one operand quantised", ir.Uint8, ir.Float32, quantAttrs(1, 0, 1, 0), "both float32 or both"},
		{"quantised attributes on float32", ir.Float32, ir.Float32, quantAttrs(1, 0, 1, 0), "belongs to the quantised form"},
		{"no scale", ir.Uint8, ir.Uint8, map[string]ir.Attr{"q_zero_point": {Kind: ir.AttrInt}, "k_scale": {Kind: ir.AttrFloat, Float: 1}, "k_zero_point": {Kind: ir.AttrInt}}, "q_scale"},
		{"zero scale", ir.Uint8, ir.Uint8, quantAttrs(1, 0, 0, 0), "k_scale"},
		{"zero point out of int8", ir.Uint8, ir.Int8, quantAttrs(1, 0, 1, 200), "k_zero_point must be an int in [-128, 127]"},
		{"zero point out of uint8", ir.Uint8, ir.Int8, quantAttrs(1, -1, 1, 0), "q_zero_point must be an int in [0, 255]"},
		{"int16 queries", ir.Int16, ir.Uint8, quantAttrs(1, 0, 1, 0), "both float32 or both"},
	} {
		err := inferAttention(nil, attentionNode(c.qt, c.kt, 4, 3, 2, 1, c.attrs))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if err := inferAttention(nil, attentionNode(ir.Uint8, ir.Uint8, maxAttentionDepth+1, 3, 2, 1, quantAttrs(1, 0, 1, 0))); err == nil || !strings.Contains(err.Error(), "int32") {
		t.Errorf("a depth past int32: error %v", err)
	}
}
