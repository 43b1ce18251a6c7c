// Package fma computes float32 fused multiply-adds exactly, in Go, and
// the float32 functions built on them that must round as onnxruntime's
// kernels do: the int8 kernels' epilogue (package runtime), onnxruntime's
// quantised sum and its sigmoid (packages interp and runtime), in one
// place for both.
package fma

import "math"

// F32 is x × y + z rounded once to float32, as a fused multiply-add
// instruction computes it. The product of two float32s is exact in
// float64; the sum is rounded to float64 and then to float32, and where
// that double rounding lands exactly on a float32 tie the sum's exact
// error decides the side.
func F32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	s := p + float64(z)
	r := float32(s)
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	// The error of the float64 sum (TwoSum), exact.
	bv := s - p
	e := (p - (s - bv)) + (float64(z) - bv)
	if e == 0 {
		return r
	}
	// The float32 neighbour of s on the other side of r.
	other := math.Nextafter32(r, float32(math.Copysign(math.Inf(1), s-float64(r))))
	if mid := (float64(r) + float64(other)) / 2; s != mid {
		return r // not a tie: the float64 rounding cannot have crossed it
	}
	// s is exactly halfway; the exact value lies on e's side of it.
	if (e > 0) == (other > r) {
		return other
	}
	return r
}
