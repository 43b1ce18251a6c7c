// Package tensorcmp compares IR tensors for the tests of the compiler's
// stages, by internal/floatcmp's rule. It is the IR half of that
// comparison, kept apart so that floatcmp, which the tests of every
// generated package run through runtime/modeltest, imports no compiler
// package.
package tensorcmp

import (
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
