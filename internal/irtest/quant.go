package irtest

import (
	"math/rand/v2"

	"github.com/tsmc-go/tsmc/ir"
)

// Constants of quantised test graphs.

// Ints is a constant of the integer dtype dt.
func Ints(name string, dt ir.DType, shape ir.Shape, v ...int64) *ir.Value {
	return ir.NewConst(name, &ir.Tensor{DType: dt, Shape: shape.Clone(), I64: v})
}

// Floats is a float32 constant.
func Floats(name string, shape ir.Shape, v ...float32) *ir.Value {
	return ir.NewConst(name, ir.Float32s(shape, v))
}

// Scale is a quantisation scale: a scalar for one value, else 1-D.
func Scale(name string, v ...float32) *ir.Value {
	if len(v) == 1 {
		return Floats(name, ir.Shape{}, v...)
	}
	return Floats(name, ir.Shape{len(v)}, v...)
}

// Zero is a zero point of dtype dt: a scalar for one value, else 1-D.
func Zero(name string, dt ir.DType, v ...int64) *ir.Value {
	if len(v) == 1 {
		return Ints(name, dt, ir.Shape{}, v...)
	}
	return Ints(name, dt, ir.Shape{len(v)}, v...)
}

// RandomInts is a constant of dtype dt with uniform values in [lo, hi].
func RandomInts(rng *rand.Rand, name string, dt ir.DType, shape ir.Shape, lo, hi int64) *ir.Value {
	v := make([]int64, shape.Size())
	for i := range v {
		v[i] = lo + rng.Int64N(hi-lo+1)
	}
	return Ints(name, dt, shape, v...)
}

// RandomScales returns n positive scales spread over two decades around
// base, as calibration gives them.
func RandomScales(rng *rand.Rand, base float32, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = base * float32(0.3+3*rng.Float64())
	}
	return s
}
