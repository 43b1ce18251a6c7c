package interp

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/ir"
)

// activation is an elementwise float function whose constants may come
// from the node's attributes (LeakyRelu's alpha, Gelu's approximation).
type activation struct {
	// since is the first opset that defines the op.
	since int64
	// build reads the attributes and returns the function.
	build func(n *ir.Node) (func(x float64) float64, error)
}

// fixed is the build of an activation without attributes.
func fixed(f func(x float64) float64) func(*ir.Node) (func(float64) float64, error) {
	return func(*ir.Node) (func(float64) float64, error) { return f, nil }
}

// Default attribute values of Selu, the constants of self-normalising
// networks rounded to float32 as the ONNX spec writes them.
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

var activations = map[string]activation{
	"Erf": {9, fixed(math.Erf)},
	"HardSigmoid": {1, func(n *ir.Node) (func(float64) float64, error) {
		alpha, beta := float64(n.AttrFloat("alpha", 0.2)), float64(n.AttrFloat("beta", 0.5))
		return func(x float64) float64 { return hardSigmoid(alpha*x + beta) }, nil
	}},
	"HardSwish": {14, fixed(func(x float64) float64 { return x * hardSigmoid(x/6+0.5) })},
	"LeakyRelu": {1, func(n *ir.Node) (func(float64) float64, error) {
		alpha := float64(n.AttrFloat("alpha", 0.01))
		return func(x float64) float64 {
			if x < 0 {
				return alpha * x
			}
			return x
		}, nil
	}},
	"Elu": {1, func(n *ir.Node) (func(float64) float64, error) {
		alpha := float64(n.AttrFloat("alpha", 1))
		return func(x float64) float64 {
			if x < 0 {
				return alpha * math.Expm1(x)
			}
			return x
		}, nil
	}},
	"Selu": {1, func(n *ir.Node) (func(float64) float64, error) {
		alpha := float64(n.AttrFloat("alpha", seluAlpha))
		gamma := float64(n.AttrFloat("gamma", seluGamma))
		return func(x float64) float64 {
			if x > 0 {
				return gamma * x
			}
			return gamma * alpha * math.Expm1(x)
		}, nil
	}},
	"Softplus": {1, fixed(softplus)},
	"Mish":     {18, fixed(func(x float64) float64 { return x * math.Tanh(softplus(x)) })},
	"Softsign": {1, fixed(func(x float64) float64 { return x / (1 + math.Abs(x)) })},
	"Gelu": {20, func(n *ir.Node) (func(float64) float64, error) {
		switch a := n.AttrString("approximate", "none"); a {
		case "none":
			return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, nil
		case "tanh":
			k := math.Sqrt(2 / math.Pi)
			return func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(k*(x+0.044715*x*x*x))) }, nil
		default:
			return nil, fmt.Errorf(`attribute approximate is %q, want "none" or "tanh"`, a)
		}
	}},
}

// hardSigmoid clamps v to [0, 1]; NaN stays NaN.
func hardSigmoid(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// softplus is ln(1 + e^x), written so that neither branch overflows.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sinceOpset rejects nodes of an opset older than the op's first version.
func sinceOpset(since, opset int64) error {
	if opset < since {
		return fmt.Errorf("the op is defined from opset %d on", since)
	}
	return nil
}

func activationKernel(a activation) Kernel {
	return func(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := sinceOpset(a.since, opset); err != nil {
			return nil, err
		}
		if err := required(inputs, "X"); err != nil {
			return nil, err
		}
		f, err := a.build(n)
		if err != nil {
			return nil, err
		}
		out, err := unaryOp{float: f}.apply(inputs[0])
		return []*ir.Tensor{out}, err
	}
}

// preluKernel: Y = slope * X where X < 0, else X. From opset 7 slope
// broadcasts unidirectionally to X; the older versions define a slope of
// one element or of X's shape only.
func preluKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "X", "slope"); err != nil {
		return nil, err
	}
	x, slope := inputs[0], inputs[1]
	if opset < 7 {
		switch {
		case slope.Len() == 1:
			slope = reshaped(slope, ir.Shape{})
		case !slope.Shape.Equal(x.Shape):
			return nil, fmt.Errorf("slope has shape %v: before opset 7 it must hold one element or have X's shape %v", slope.Shape, x.Shape)
		}
	}
	op := binaryOp{
		float: func(x, s float64) float64 {
			if x < 0 {
				return s * x
			}
			return x
		},
		int: func(x, s int64) (int64, error) {
			if x < 0 {
				return s * x, nil
			}
			return x, nil
		},
	}
	out, err := op.apply(x, slope)
	if err != nil {
		return nil, err
	}
	if !out.Shape.Equal(x.Shape) {
		return nil, fmt.Errorf("slope of shape %v does not broadcast to X's shape %v", slope.Shape, x.Shape)
	}
	return []*ir.Tensor{out}, nil
}
