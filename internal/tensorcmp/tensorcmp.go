// Package tensorcmp compares IR tensors for the tests of the compiler's
// stages, by internal/floatcmp's rule. It is the IR half of that
// comparison, kept apart so that floatcmp, which the tests of every
// generated package run through runtime/modeltest, imports no compiler
// package.
package tensorcmp

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// RelErr is floatcmp.RelErr over two tensors' elements, +Inf when got is
// nil or their shapes differ.
func RelErr(got, want *ir.Tensor) float64 {
	if got == nil || !got.Shape.Equal(want.Shape) || got.Len() != want.Len() {
		return math.Inf(1)
	}
	return floatcmp.RelErr(want.Len(), got.Float, want.Float)
}

// Equal reports how got differs from want: dtype, shape, or the first
// element that is not identical (floats bit for bit, so -0 differs from 0
// and NaN equals NaN). It is the check for integer results and for data
// that must survive a round trip unchanged.
func Equal(got, want *ir.Tensor) error {
	switch {
	case got == nil:
		return fmt.Errorf("no tensor, want %v%v", want.DType, want.Shape)
	case got.DType != want.DType || !got.Shape.Equal(want.Shape) || got.Len() != want.Len():
		return fmt.Errorf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	for i := 0; i < want.Len(); i++ {
		same := false
		switch {
		case want.DType == ir.Float32:
			same = math.Float32bits(got.F32[i]) == math.Float32bits(want.F32[i])
		case want.DType == ir.Float64:
			same = math.Float64bits(got.F64[i]) == math.Float64bits(want.F64[i])
		case want.DType == ir.Bool:
			same = got.B[i] == want.B[i]
		default:
			same = got.I64[i] == want.I64[i]
		}
		if !same {
			return fmt.Errorf("element %d of %d is %v, want %v", i, want.Len(), got.Float(i), want.Float(i))
		}
	}
	return nil
}
