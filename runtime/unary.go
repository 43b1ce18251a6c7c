package runtime

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/runtime/fma"
)

// UnaryKind names an elementwise function of one tensor.
type UnaryKind uint8

// Unary functions; the parameters NewUnary takes are listed with each.
// Transcendental functions compute in float64 and round once, as the
// interpreter does, so results are within one float32 ulp of exact.
const (
	UnaryRelu        UnaryKind = iota // max(x, 0)
	UnaryNeg                          // -x
	UnaryAbs                          // |x|
	UnaryExp                          // e^x
	UnaryLog                          // ln x
	UnarySqrt                         // √x
	UnaryReciprocal                   // 1/x
	UnaryFloor                        // ⌊x⌋
	UnaryCeil                         // ⌈x⌉
	UnaryTanh                         // tanh x
	UnarySigmoid                      // 1/(1+e^-x)
	UnaryHardSigmoid                  // (alpha, beta): max(0, min(1, alpha*x+beta))
	UnaryHardSwish                    // x * max(0, min(1, x/6+1/2))
	UnaryLeakyRelu                    // (alpha): x < 0 ? alpha*x : x
	UnaryElu                          // (alpha): x < 0 ? alpha*(e^x-1) : x
	UnarySelu                         // (alpha, gamma): gamma * (x > 0 ? x : alpha*(e^x-1))
	UnarySoftplus                     // ln(1+e^x), without overflow for large x
	UnaryErf                          // erf x
	UnaryGelu                         // x/2 * (1+erf(x/√2)), as x/2 * erfc(-x/√2)
	UnaryGeluTanh                     // x/2 * (1+tanh(√(2/π)*(x+0.044715x³))), as x*sigmoid(2z): Gelu's approximate="tanh"
	UnaryClip                         // (lo, hi): min(max(x, lo), hi)
	UnarySiLU                         // x * sigmoid(x), the fused Sigmoid-Mul
	UnaryMish                         // x * tanh(softplus(x))
	UnarySoftsign                     // x / (1+|x|)
	UnaryNot                          // x == 0 ? 1 : 0, on bools stored as 0/1 floats
	unaryKinds
)

var unaryNames = [unaryKinds]string{"relu", "neg", "abs", "exp", "log", "sqrt", "reciprocal", "floor", "ceil",
	"tanh", "sigmoid", "hardsigmoid", "hardswish", "leakyrelu", "elu", "selu", "softplus", "erf", "gelu",
	"gelu_tanh", "clip", "silu", "mish", "softsign", "not"}

// unaryParams is the number of parameters each kind takes (the others
// take none).
var unaryParams = map[UnaryKind]int{UnaryHardSigmoid: 2, UnaryLeakyRelu: 1, UnaryElu: 1, UnarySelu: 2, UnaryClip: 2}

func (k UnaryKind) String() string {
	if k < unaryKinds {
		return unaryNames[k]
	}
	return fmt.Sprintf("unary(%d)", k)
}

// Unary applies an elementwise function to n floats, in parallel chunks.
//
//	NewUnary(kind UnaryKind, n int, params ...float32) (*Unary, error)
//	(*Unary).Run(p *Pool, x, out []float32)
//
// params are the kind's parameters in the order listed with it
// (HardSigmoid alpha, beta; LeakyRelu alpha; Elu alpha; Selu alpha,
// gamma; Clip lo, hi): exactly that many, none NaN. out may alias x.
type Unary struct {
	kind   UnaryKind
	n      int
	params []float32
	loop   func(o, x []float32)
}

// NewUnary plans kind over n floats.
func NewUnary(kind UnaryKind, n int, params ...float32) (*Unary, error) {
	if kind >= unaryKinds {
		return nil, fmt.Errorf("unary: unknown kind %d", kind)
	}
	if n < 0 || n > maxElements {
		return nil, fmt.Errorf("%v of %d floats: bad size", kind, n)
	}
	if len(params) != unaryParams[kind] {
		return nil, fmt.Errorf("%v takes %d parameters, got %d", kind, unaryParams[kind], len(params))
	}
	for _, v := range params {
		if v != v {
			return nil, fmt.Errorf("%v: parameters %v include NaN", kind, params)
		}
	}
	return &Unary{kind: kind, n: n, params: append([]float32(nil), params...), loop: unaryLoop(kind, params)}, nil
}

func (u *Unary) profileName() string   { return fmt.Sprintf("%v [%d]", u.kind, u.n) }
func (u *Unary) profileFLOPs() float64 { return 0 }

// Run computes out[i] = f(x[i]).
func (u *Unary) Run(p *Pool, x, out []float32) {
	defer profileDone(u, profileStart())
	checkLen(u.kind.String(), "x", len(x), u.n)
	checkLen(u.kind.String(), "out", len(out), u.n)
	p.For(ceilDiv(u.n, ewChunk), func(_, item int) {
		i0, i1 := item*ewChunk, min(u.n, (item+1)*ewChunk)
		u.loop(out[i0:i1], x[i0:i1])
	})
}

// mapF sets o[i] = f(x[i]). It inlines, and so does f where it is a
// function literal or a named function: each loop of unaryLoop is
// compiled with its function in the loop body.
func mapF(o, x []float32, f func(float32) float32) {
	x = x[:len(o)]
	for i, v := range x {
		o[i] = f(v)
	}
}

// f64 lifts a float64 function to float32, rounding once.
func f64(f func(float64) float64) func(float32) float32 {
	return func(v float32) float32 { return float32(f(float64(v))) }
}

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func softplus64(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// mish64 is x * tanh(ln(1+e^x)) = x * n/(n+2) with n = e^x (e^x + 2),
// free of cancellation; beyond x = 20 the factor is 1 in float64.
func mish64(x float64) float64 {
	if x > 20 {
		return x
	}
	e := math.Exp(x)
	n := e * (e + 2)
	return x * n / (n + 2)
}

// unaryLoop returns the loop of kind with its parameters bound.
func unaryLoop(kind UnaryKind, params []float32) func(o, x []float32) {
	var a, b float64
	if len(params) > 0 {
		a = float64(params[0])
	}
	if len(params) > 1 {
		b = float64(params[1])
	}
	switch kind {
	case UnaryRelu:
		return func(o, x []float32) { mapF(o, x, func(v float32) float32 { return max(v, 0) }) }
	case UnaryNeg:
		return func(o, x []float32) { mapF(o, x, func(v float32) float32 { return -v }) }
	case UnaryAbs:
		return func(o, x []float32) {
			mapF(o, x, func(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) })
		}
	case UnaryExp:
		return func(o, x []float32) { mapF(o, x, f64(math.Exp)) }
	case UnaryLog:
		return func(o, x []float32) { mapF(o, x, f64(math.Log)) }
	case UnarySqrt:
		return func(o, x []float32) { mapF(o, x, f64(math.Sqrt)) }
	case UnaryReciprocal:
		return func(o, x []float32) { mapF(o, x, func(v float32) float32 { return 1 / v }) }
	case UnaryFloor:
		return func(o, x []float32) { mapF(o, x, f64(math.Floor)) }
	case UnaryCeil:
		return func(o, x []float32) { mapF(o, x, f64(math.Ceil)) }
	case UnaryTanh:
		return func(o, x []float32) { mapF(o, x, f64(math.Tanh)) }
	case UnarySigmoid:
		return func(o, x []float32) { mapF(o, x, fma.Sigmoid) }
	case UnaryHardSigmoid:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 { return max(0, min(1, a*v+b)) }))
		}
	case UnaryHardSwish:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 { return v * max(0, min(1, v/6+0.5)) }))
		}
	case UnaryLeakyRelu:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 {
				if v < 0 {
					return a * v
				}
				return v
			}))
		}
	case UnaryElu:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 {
				if v < 0 {
					return a * math.Expm1(v)
				}
				return v
			}))
		}
	case UnarySelu:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 {
				if v > 0 {
					return b * v
				}
				return b * a * math.Expm1(v)
			}))
		}
	case UnarySoftplus:
		return func(o, x []float32) { mapF(o, x, f64(softplus64)) }
	case UnaryErf:
		return func(o, x []float32) { mapF(o, x, f64(math.Erf)) }
	case UnaryGelu:
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 { return 0.5 * v * math.Erfc(-v/math.Sqrt2) }))
		}
	case UnaryGeluTanh: // (1+tanh z)/2 = sigmoid(2z)
		k := 2 * math.Sqrt(2/math.Pi)
		return func(o, x []float32) {
			mapF(o, x, f64(func(v float64) float64 { return v * sigmoid64(k*(v+0.044715*v*v*v)) }))
		}
	case UnaryClip:
		lo, hi := params[0], params[1]
		return func(o, x []float32) { mapF(o, x, func(v float32) float32 { return min(max(v, lo), hi) }) }
	case UnarySiLU:
		return func(o, x []float32) {
			mapF(o, x, func(v float32) float32 { return v * fma.Sigmoid(v) })
		}
	case UnaryMish:
		return func(o, x []float32) { mapF(o, x, f64(mish64)) }
	case UnarySoftsign:
		return func(o, x []float32) { mapF(o, x, f64(func(v float64) float64 { return v / (1 + math.Abs(v)) })) }
	case UnaryNot:
		return func(o, x []float32) { mapF(o, x, func(v float32) float32 { return b2f(v == 0) }) }
	}
	panic("unreachable")
}

// b2f is a bool as the float32 0 or 1 that stores it.
func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
