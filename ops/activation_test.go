package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// activationNode is a tsmc.Activation with the given attributes.
func activationNode(attrs map[string]ir.Attr) *ir.Node {
	return &ir.Node{Name: "act", Op: OpActivation, Domain: Domain, Attrs: attrs, Outputs: []*ir.Value{{Name: "y"}}}
}

func strAttr(s string) ir.Attr    { return ir.Attr{Kind: ir.AttrString, String: s} }
func floatAttr(v float32) ir.Attr { return ir.Attr{Kind: ir.AttrFloat, Float: v} }

// activationInputs are values of every range an activation treats apart:
// zero, the hard kinds' corners, large magnitudes and the specials.
func activationInputs() *ir.Tensor {
	rng := rand.New(rand.NewPCG(7, 8))
	x := []float32{0, float32(math.Copysign(0, -1)), 3, -3, 2.5, -2.5, 100, -100, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for range 200 {
		x = append(x, float32(rng.NormFloat64()*4))
	}
	return ir.Float32s(ir.Shape{len(x)}, x)
}

// eval runs one ONNX op of opset 13 through the interpreter.
func eval(t *testing.T, op string, attrs map[string]ir.Attr, in ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	y, err := EvalOp("", op, onnxOpset, attrs, in...)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// hardSwishOp is ONNX HardSwish of x: by its definition in float64, and
// the interpreter's kernel when it has one.
func hardSwishOp(t *testing.T, x *ir.Tensor) *ir.Tensor {
	h := ir.Float32s(x.Shape, make([]float32, x.Len()))
	for i, v := range x.F32 {
		v := float64(v)
		h.F32[i] = float32(v * math.Max(0, math.Min(1, v/6+0.5)))
	}
	if slices.Contains(interp.Supported(), "HardSwish") {
		got, err := EvalOp("", "HardSwish", 14, nil, x)
		if err != nil {
			t.Fatal(err)
		}
		if !floatcmp.SameBits(got.F32, h.F32) {
			t.Fatalf("the interpreter's HardSwish differs from the ONNX definition")
		}
	}
	return h
}

// TestActivationKernelIsTheONNXOps: each activation of tsmc.Activation
// (and so of a fused convolution's epilogue) gives bit for bit what the
// ONNX ops it replaces give in the interpreter: Sigmoid; Mul(x,
// Sigmoid(x)); HardSigmoid (the ONNX definition in float64, and the
// interpreter's kernel when it has one); Mul(x, HardSigmoid(x)); HardSwish.
func TestActivationKernelIsTheONNXOps(t *testing.T) {
	x := activationInputs()
	hard := func(alpha, beta float32) *ir.Tensor {
		h := ir.Float32s(x.Shape, make([]float32, x.Len()))
		for i, v := range x.F32 {
			h.F32[i] = float32(math.Max(0, math.Min(1, float64(alpha)*float64(v)+float64(beta))))
		}
		if slices.Contains(interp.Supported(), "HardSigmoid") {
			got := eval(t, "HardSigmoid", map[string]ir.Attr{"alpha": floatAttr(alpha), "beta": floatAttr(beta)}, x)
			if !floatcmp.SameBits(got.F32, h.F32) {
				t.Fatalf("the interpreter's HardSigmoid differs from the ONNX definition")
			}
		}
		return h
	}
	sig := eval(t, "Sigmoid", nil, x)
	params := func(kind string, alpha, beta float32) map[string]ir.Attr {
		return map[string]ir.Attr{"activation": strAttr(kind), "act_alpha": floatAttr(alpha), "act_beta": floatAttr(beta)}
	}
	for _, c := range []struct {
		name  string
		attrs map[string]ir.Attr
		want  *ir.Tensor
	}{
		{"sigmoid", map[string]ir.Attr{"activation": strAttr(ActSigmoid)}, sig},
		{"silu", map[string]ir.Attr{"activation": strAttr(ActSiLU)}, eval(t, "Mul", nil, x, sig)},
		{"hardsigmoid", params(ActHardSigmoid, 0.2, 0.5), hard(0.2, 0.5)},
		{"hardswish", params(ActHardSwish, 1.0/6, 0.5), eval(t, "Mul", nil, x, hard(1.0/6, 0.5))},
		{"hardswish other", params(ActHardSwish, -0.25, 0.125), eval(t, "Mul", nil, x, hard(-0.25, 0.125))},
		{"relu", map[string]ir.Attr{"activation": strAttr(ActRelu)}, eval(t, "Relu", nil, x)},
		{"onnx hardswish", map[string]ir.Attr{"activation": strAttr(ActHardSwish)}, hardSwishOp(t, x)},
	} {
		outs, err := interp.Eval(activationNode(c.attrs), 1, []*ir.Tensor{x})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !floatcmp.SameBits(outs[0].F32, c.want.F32) {
			t.Errorf("%s: %v, want %v", c.name, outs[0].F32[:16], c.want.F32[:16])
		}
	}
}

func TestActivationAttributes(t *testing.T) {
	for _, c := range []struct {
		attrs map[string]ir.Attr
		want  runtime.Act
		err   bool
	}{
		{attrs: map[string]ir.Attr{"activation": strAttr(ActSiLU)}, want: runtime.SiLU},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActSigmoid)}, want: runtime.Sigmoid},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSwish), "act_alpha": floatAttr(0.25), "act_beta": floatAttr(0.5)},
			want: runtime.HardSwish(0.25, 0.5)},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSigmoid), "act_alpha": floatAttr(0.2), "act_beta": floatAttr(0.5)},
			want: runtime.HardSigmoid(0.2, 0.5)},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSwish), "act_alpha": floatAttr(0.25)}, err: true},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSwish)}, want: runtime.HardSwish(1.0/6, 0.5)},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSigmoid), "act_alpha": floatAttr(float32(math.NaN())), "act_beta": floatAttr(0)}, err: true},
		{attrs: map[string]ir.Attr{"activation": strAttr(ActHardSigmoid), "act_alpha": {Kind: ir.AttrInt, Int: 1}, "act_beta": floatAttr(0)}, err: true},
		{attrs: map[string]ir.Attr{"activation": strAttr("gelu")}, err: true},
	} {
		n := activationNode(c.attrs)
		n.Inputs = []*ir.Value{{Name: "x", DType: ir.Float32, Shape: ir.Shape{2, 3}}}
		got, err := Activation(n)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%v: got %v, %v; want %v (error %v)", c.attrs, got, err, c.want, c.err)
		}
		if ierr := inferActivation(nil, n); (ierr != nil) != c.err {
			t.Errorf("%v: shape rule error %v, want one: %v", c.attrs, ierr, c.err)
		}
	}
	n := activationNode(map[string]ir.Attr{"activation": strAttr(ActSiLU)})
	n.Inputs = []*ir.Value{{Name: "x", DType: ir.Int64, Shape: ir.Shape{2}}}
	if err := inferActivation(nil, n); err == nil {
		t.Error("an int64 input accepted")
	}
}

// TestFusedConvEpilogueIsTheONNXOps: a tsmc.Conv with a SiLU or HardSwish
// epilogue computes, bit for bit, the ONNX Conv followed by the ops it
// absorbed.
func TestFusedConvEpilogueIsTheONNXOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	rnd := func(shape ir.Shape) *ir.Tensor {
		v := make([]float32, shape.Size())
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return ir.Float32s(shape, v)
	}
	x, w, b := rnd(ir.Shape{2, 3, 5, 5}), rnd(ir.Shape{4, 3, 3, 3}), rnd(ir.Shape{4})
	convAttrs := map[string]ir.Attr{"pads": {Kind: ir.AttrInts, Ints: []int64{1, 1, 1, 1}}}
	y := eval(t, "Conv", convAttrs, x, w, b)
	for _, c := range []struct {
		act  map[string]ir.Attr
		want *ir.Tensor
	}{
		{map[string]ir.Attr{"activation": strAttr(ActSiLU)}, eval(t, "Mul", nil, y, eval(t, "Sigmoid", nil, y))},
		{map[string]ir.Attr{"activation": strAttr(ActHardSwish), "act_alpha": floatAttr(1.0 / 6), "act_beta": floatAttr(0.5)},
			eval(t, "Mul", nil, y, func() *ir.Tensor {
				h, _ := hardSigmoid(y, 1.0/6, 0.5)
				return h
			}())},
	} {
		n := &ir.Node{Name: "conv", Op: OpConv, Domain: Domain, Outputs: []*ir.Value{{Name: "y"}},
			Attrs: map[string]ir.Attr{"pads": convAttrs["pads"], "strides": {Kind: ir.AttrInts, Ints: []int64{1, 1}},
				"dilations": {Kind: ir.AttrInts, Ints: []int64{1, 1}}, "kernel_shape": {Kind: ir.AttrInts, Ints: []int64{3, 3}}}}
		for k, a := range c.act {
			n.Attrs[k] = a
		}
		outs, err := interp.Eval(n, 1, []*ir.Tensor{x, w, b})
		if err != nil {
			t.Fatal(err)
		}
		if !floatcmp.SameBits(outs[0].F32, c.want.F32) {
			t.Errorf("%s: the fused conv differs from the ONNX ops", c.act["activation"].String)
		}
	}
}
