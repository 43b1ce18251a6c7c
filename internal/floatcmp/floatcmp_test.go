package floatcmp

import (
	"math"
	"testing"
)

func TestSlices(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		name      string
		got, want []float32
		rel       float64
	}{
		{"equal", []float32{1, -2}, []float32{1, -2}, 0},
		{"relative to the largest expected", []float32{1.5, -4}, []float32{1, -4}, 0.125},
		{"absolute against zeros", []float32{0.25, 0}, []float32{0, 0}, 0.25},
		{"NaN on one side", []float32{nan, 1}, []float32{1, 1}, math.Inf(1)},
		{"NaN expected only", []float32{1, 1}, []float32{nan, 1}, math.Inf(1)},
		{"NaN on both sides", []float32{nan, 2}, []float32{nan, 1}, 1},
		{"lengths differ", []float32{1}, []float32{1, 2}, math.Inf(1)},
	} {
		if got := Slices(c.got, c.want); got != c.rel {
			t.Errorf("%s: %v, want %v", c.name, got, c.rel)
		}
	}
	if got := Slices([]float32{1, 3}, []float64{1, 2}); got != 0.5 {
		t.Errorf("float32 against float64: %v, want 0.5", got)
	}
}

func TestSameBits(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	if !SameBits([]float32{1, nan}, []float32{1, nan}) {
		t.Error("identical slices with a NaN differ")
	}
	if SameBits([]float32{0}, []float32{negZero}) {
		t.Error("0 and -0 have the same bits")
	}
	if SameBits([]float32{1}, []float32{1, 1}) {
		t.Error("slices of different lengths are the same")
	}
}
