package ops

import (
	"math"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// Fused activations: the "activation" attribute of tsmc.Conv (and of each
// stage of tsmc.InvertedResidual) and tsmc.Activation, the op a
// standalone activation that is no single ONNX op becomes.

// Activation names of the "activation" attribute, each with the
// attributes it reads. The reference kernels (reference.go) compute them
// as the ONNX ops they replace do.
const (
	ActNone        = ""
	ActRelu        = "relu"        // Relu: max(x, 0)
	ActClip        = "clip"        // Clip: min(max(x, clip_min), clip_max)
	ActSigmoid     = "sigmoid"     // Sigmoid: 1/(1+e^-x)
	ActSiLU        = "silu"        // Mul(x, Sigmoid(x))
	ActHardSigmoid = "hardsigmoid" // HardSigmoid with alpha act_alpha, beta act_beta
	// ActHardSwish is Mul(x, HardSigmoid(x)) with alpha act_alpha and
	// beta act_beta; without them, ONNX HardSwish (alpha 1/6, beta 1/2,
	// the product rounded once).
	ActHardSwish = "hardswish"
)

// OpActivation is a standalone fused activation: input X, output
// act(X) of X's type, attributes as a tsmc.Conv's epilogue ("activation"
// and its parameters). The passes make it of SiLU and HardSwish spelled
// as a Sigmoid or HardSigmoid and a Mul that no convolution absorbs.
const OpActivation = "Activation"

func activationDefs() []*Def {
	return []*Def{{Domain: Domain, Op: OpActivation, Infer: inferActivation, Lower: lowerFusedActivation, Elementwise: true}}
}

// Activation reads the fused activation of a tsmc op (nothing for an ONNX
// op, which has no "activation" attribute).
func Activation(n *ir.Node) (runtime.Act, error) {
	switch k := n.AttrString("activation", ActNone); k {
	case ActNone:
		return runtime.Act{}, nil
	case ActRelu:
		return runtime.Relu, nil
	case ActClip:
		return clipAct(n, n.AttrFloat("clip_min", float32(math.Inf(-1))), n.AttrFloat("clip_max", float32(math.Inf(1))))
	case ActSigmoid:
		return runtime.Sigmoid, nil
	case ActSiLU:
		return runtime.SiLU, nil
	case ActHardSigmoid, ActHardSwish:
		if k == ActHardSwish && onnxHardSwish(n) {
			return runtime.HardSwish(1.0/6, 0.5), nil
		}
		alpha, beta, err := hardParams(n)
		if err != nil {
			return runtime.Act{}, err
		}
		if k == ActHardSigmoid {
			return runtime.HardSigmoid(alpha, beta), nil
		}
		return runtime.HardSwish(alpha, beta), nil
	default:
		return runtime.Act{}, n.Errorf("unknown fused activation %q", k)
	}
}

// onnxHardSwish reports whether a hardswish activation is ONNX HardSwish:
// it has neither act_alpha nor act_beta.
func onnxHardSwish(n *ir.Node) bool {
	_, a := n.Attrs["act_alpha"]
	_, b := n.Attrs["act_beta"]
	return !a && !b
}

// hardParams reads the HardSigmoid parameters of a hardsigmoid or
// hardswish activation: float attributes act_alpha and act_beta, finite.
func hardParams(n *ir.Node) (alpha, beta float32, err error) {
	for _, p := range []struct {
		name string
		v    *float32
	}{{"act_alpha", &alpha}, {"act_beta", &beta}} {
		a, ok := n.Attrs[p.name]
		if !ok || a.Kind != ir.AttrFloat {
			return 0, 0, n.Errorf("activation %s needs a float attribute %s", n.AttrString("activation", ""), p.name)
		}
		if math.IsNaN(float64(a.Float)) || math.IsInf(float64(a.Float), 0) {
			return 0, 0, n.Errorf("activation %s: %s is %v, want a finite value", n.AttrString("activation", ""), p.name, a.Float)
		}
		*p.v = a.Float
	}
	return alpha, beta, nil
}

// clipAct normalises clamp bounds: none is no activation, [0, +Inf) is a
// ReLU.
func clipAct(n *ir.Node, lo, hi float32) (runtime.Act, error) {
	if lo != lo || hi != hi || lo > hi {
		return runtime.Act{}, n.Errorf("clip bounds [%v, %v] are not an interval", lo, hi)
	}
	switch {
	case math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1):
		return runtime.Act{}, nil
	case lo == 0 && math.IsInf(float64(hi), 1):
		return runtime.Relu, nil
	}
	return runtime.Clip(lo, hi), nil
}

// inferActivation: one float32 input, a known activation; the output has
// the input's type.
func inferActivation(_ *ir.InferContext, n *ir.Node) error {
	if len(n.Inputs) != 1 || n.Input(0) == nil || len(n.Outputs) != 1 {
		return n.Errorf("needs one input X and one output")
	}
	x := n.Inputs[0]
	if x.DType != ir.Float32 {
		return n.Errorf("input %v is %v, want float32", x, x.DType)
	}
	if _, err := Activation(n); err != nil {
		return err
	}
	y := n.Outputs[0]
	y.DType, y.Shape = x.DType, x.Shape.Clone()
	return nil
}

// lowerFusedActivation runs a tsmc.Activation as runtime.Activate.
func lowerFusedActivation(l Lowering, n *ir.Node) error {
	act, err := Activation(n)
	if err != nil {
		return err
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	l.Run(Fn("Activate", Pool, ins[0], out, act))
	return nil
}
