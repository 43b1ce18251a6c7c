package passes

import (
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// TestQLinearLeftoversAndCentring: a QLinearConv whose weight zero points
// leave int8 keeps them (tsmc.QConv with uint8 weights, which code
// generation refuses by name), one whose scale is computed at run time
// stays a QLinearConv, and int8 weights with a zero point are centred;
// the interpreter computes the same bytes before and after.
func TestQLinearLeftoversAndCentring(t *testing.T) {
	b := irtest.New(map[string]int64{"": 13})
	rng := rand.New(rand.NewPCG(2, 7))
	tensor := func(name string, dt ir.DType, shape []int, lo, hi int64) *ir.Value {
		return irtest.RandomInts(rng, name, dt, shape, lo, hi)
	}
	f32 := func(name string, v float32) *ir.Value { return irtest.Scale(name, v) }
	u8 := func(name string, v int64) *ir.Value { return irtest.Zero(name, ir.Uint8, v) }
	x := b.Input("x", 1, 3, 5, 5)
	xq := b.Node("xq", "", "QuantizeLinear", nil, x, f32("xs", 0.02), u8("xz", 128))
	qconv := func(name string, w, ws, wz, ys *ir.Value) *ir.Value {
		y := b.Node(name, "", "QLinearConv", irtest.Attrs("kernel_shape", []int64{1, 1}), xq, f32(name+"_xs", 0.02), u8(name+"_xz", 128),
			w, ws, wz, ys, u8(name+"_yz", 100))
		return b.Node(name+"_f", "", "DequantizeLinear", nil, y, f32(name+"_fs", 0.05), u8(name+"_fz", 100))
	}
	// uint8 weights 0..255 of zero point 100: 155 does not fit int8
	ww := tensor("ww", ir.Uint8, []int{4, 3, 1, 1}, 0, 255)
	ww.Const.I64[5] = 255
	wide := qconv("wide", ww, f32("wws", 0.003), u8("wwz", 100), f32("wys", 0.05))
	// y_scale computed at run time
	ys := b.Node("ys", "", "Abs", nil, b.Input("s", 1))
	dyn := qconv("dyn", tensor("wd", ir.Int8, []int{4, 3, 1, 1}, -127, 127), f32("wds", 0.003), tensor("wdz", ir.Int8, nil, 0, 0), ys)
	// int8 weights -100..100 of zero point 20: w - 20 fits
	centred := qconv("centred", tensor("wc", ir.Int8, []int{4, 3, 1, 1}, -100, 100), f32("wcs", 0.003), tensor("wcz", ir.Int8, nil, 20, 20), f32("wcy", 0.05))
	b.Output(wide, dyn, centred)
	g := b.Graph(t)
	before, after := runQuantPipeline(t, g, 2)
	for _, v := range g.Outputs {
		if err := tensorcmp.Equal(after[v.Name], before[v.Name]); err != nil {
			t.Errorf("output %s changed: %v", v.Name, err)
		}
	}
	got := map[string]string{}
	for _, n := range g.Nodes {
		if n.Op == "QLinearConv" || n.Op == ops.OpQConv {
			got[n.Name] = n.OpName() + " " + n.Input(1).DType.String()
			if n.Op == "QLinearConv" {
				got[n.Name] = n.OpName()
			}
		}
	}
	want := map[string]string{"wide": "tsmc.QConv u8", "dyn": "QLinearConv", "centred": "tsmc.QConv i8"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	for _, n := range g.Nodes {
		if n.Name == "centred" {
			if s, err := ops.QuantSpecOf(n); err != nil || s.WZeros[0] != 0 {
				t.Errorf("centred weights keep zero points %v (%v)", s.WZeros, err)
			}
		}
	}
}
