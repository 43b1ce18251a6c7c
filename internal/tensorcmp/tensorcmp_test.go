package tensorcmp

import (
	"math"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestRelErr(t *testing.T) {
	want := ir.Float32s(ir.Shape{2}, []float32{1, -4})
	for _, c := range []struct {
		name string
		got  *ir.Tensor
		rel  float64
	}{
		{"equal", ir.Float32s(ir.Shape{2}, []float32{1, -4}), 0},
		{"relative to the largest expected", ir.Float32s(ir.Shape{2}, []float32{1.5, -4}), 0.125},
		{"shapes differ", ir.Float32s(ir.Shape{1, 2}, []float32{1, -4}), math.Inf(1)},
		{"nothing computed", nil, math.Inf(1)},
	} {
		if got := RelErr(c.got, want); got != c.rel {
			t.Errorf("%s: %v, want %v", c.name, got, c.rel)
		}
	}
}
