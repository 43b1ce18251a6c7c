// Package floatcmp compares computed floats with expected ones the way
// every check in tsmc does: the largest absolute difference relative to
// the largest expected magnitude, and bit identity. It imports the
// standard library only: the tests of generated packages use it (through
// runtime/modeltest and runtime/streamtest), and they depend on no
// compiler package. internal/tensorcmp applies the same rule to IR tensors.
package floatcmp

import "math"

// RelErr returns max|got(i)-want(i)| / max|want(i)| over i < n, or the
// largest absolute difference when every want(i) is zero. A NaN on one
// side only gives +Inf; NaNs in the same place on both sides agree.
func RelErr(n int, got, want func(i int) float64) float64 {
	var diff, scale float64
	for i := range n {
		g, w := got(i), want(i)
		if math.IsNaN(g) || math.IsNaN(w) {
			if math.IsNaN(g) != math.IsNaN(w) {
				return math.Inf(1)
			}
			continue
		}
		diff = max(diff, math.Abs(g-w))
		scale = max(scale, math.Abs(w))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// Slices is RelErr over two slices, +Inf when their lengths differ.
func Slices[G, W ~float32 | ~float64](got []G, want []W) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	return RelErr(len(want),
		func(i int) float64 { return float64(got[i]) },
		func(i int) float64 { return float64(want[i]) })
}

// SameBits reports whether a and b hold identical float32 bit patterns.
func SameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
