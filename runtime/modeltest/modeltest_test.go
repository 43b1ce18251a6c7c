package modeltest

import (
	"math"
	"testing"
)

func TestRelativeError(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		got, want []float32
		rel       float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0},
		{[]float32{1, 2.5}, []float32{1, -2}, 4.5 / 2},
		{[]float32{0.5, 0}, []float32{0, 0}, 0.5},
		{[]float32{1}, []float32{1, 2}, math.Inf(1)},
		{[]float32{nan}, []float32{1}, math.Inf(1)},
	}
	for _, c := range cases {
		if got := RelativeError(c.got, c.want); got != c.rel {
			t.Errorf("RelativeError(%v, %v) = %v, want %v", c.got, c.want, got, c.rel)
		}
	}
}
