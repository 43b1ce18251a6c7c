package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Tests of tsmc's quantised operators: their reference kernels against
// the ONNX quantised ops they stand for, and the stated relation to the
// literal float reading of the QDQ pattern they replace.

func randInts(r *rand.Rand, dt ir.DType, shape ir.Shape, lo, hi int64) *ir.Tensor {
	t := &ir.Tensor{DType: dt, Shape: shape.Clone(), I64: make([]int64, shape.Size())}
	for i := range t.I64 {
		t.I64[i] = lo + r.Int64N(hi-lo+1)
	}
	return t
}

func f32s(v ...float32) *ir.Tensor {
	if len(v) == 1 {
		return ir.Scalar(v[0])
	}
	return ir.Float32s(ir.Shape{len(v)}, v)
}

func qints(dt ir.DType, v ...int64) *ir.Tensor {
	if len(v) == 1 {
		return &ir.Tensor{DType: dt, Shape: ir.Shape{}, I64: v}
	}
	return &ir.Tensor{DType: dt, Shape: ir.Shape{len(v)}, I64: v}
}

// qconvCase is a random quantised convolution.
type qconvCase struct {
	spec          QuantSpec
	attrs         map[string]ir.Attr
	x, w, b       *ir.Tensor
	depth, stride int
}

func randomQConv(r *rand.Rand) qconvCase {
	c := 1 + r.IntN(8)
	group := 1
	if r.IntN(3) == 0 {
		group = c
	}
	maps := group * (1 + r.IntN(4))
	k := []int{1, 3}[r.IntN(2)]
	pad := int64(r.IntN(k/2 + 1))
	stride := 1 + r.IntN(2)
	xdt := []ir.DType{ir.Uint8, ir.Int8}[r.IntN(2)]
	lo, hi, _ := interp.QuantRange(xdt)
	s := QuantSpec{
		X:      QParams{Scale: 0.01 + 0.05*r.Float32(), Zero: lo + r.Int64N(hi-lo+1)},
		Output: []ir.DType{ir.Uint8, ir.Int8}[r.IntN(2)],
	}
	for m := 0; m < maps; m++ {
		s.WScales = append(s.WScales, 0.002+0.02*r.Float32())
		s.WZeros = append(s.WZeros, 0)
	}
	depth := c / group * k * k
	olo, ohi, _ := interp.QuantRange(s.Output)
	s.Y = Requant{QParams{s.X.Scale * s.WScales[0] * 80 * 73 * float32(math.Sqrt(float64(depth))) / 50, olo + 100 + r.Int64N(56)}, olo, ohi}
	return qconvCase{
		spec: s,
		attrs: map[string]ir.Attr{
			"group": {Kind: ir.AttrInt, Int: int64(group)}, "kernel_shape": {Kind: ir.AttrInts, Ints: []int64{int64(k), int64(k)}},
			"pads": {Kind: ir.AttrInts, Ints: []int64{pad, pad, pad, pad}}, "strides": {Kind: ir.AttrInts, Ints: []int64{int64(stride), int64(stride)}},
			"dilations": {Kind: ir.AttrInts, Ints: []int64{1, 1}},
		},
		x:     randInts(r, xdt, ir.Shape{1 + r.IntN(2), c, k + 2 + r.IntN(5), k + 2 + r.IntN(5)}, lo, hi),
		w:     randInts(r, ir.Int8, ir.Shape{maps, c / group, k, k}, -127, 127),
		b:     randInts(r, ir.Int32, ir.Shape{maps}, -5000, 5000),
		depth: depth, stride: stride,
	}
}

// node is the tsmc.QConv of the case (plus extra attributes).
func (c qconvCase) node(extra map[string]ir.Attr) *ir.Node {
	n := &ir.Node{Name: "qconv", Op: OpQConv, Domain: Domain, Attrs: map[string]ir.Attr{}, Outputs: []*ir.Value{{Name: "y"}}}
	for k, a := range c.attrs {
		n.Attrs[k] = a
	}
	for k, a := range extra {
		n.Attrs[k] = a
	}
	c.spec.Attrs(n)
	return n
}

// qlinearConv runs ONNX QLinearConv on the case, requantising to the
// output type's zero point y (the spec's clamp is applied by the caller).
func (c qconvCase) qlinearConv(t *testing.T, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	s := c.spec
	y, err := EvalOp("", "QLinearConv", 10, c.attrs, x, f32s(s.X.Scale), qints(x.DType, s.X.Zero),
		c.w, f32s(s.WScales...), qints(ir.Int8, s.WZeros...), f32s(s.Y.Scale), qints(s.Output, s.Y.Zero), c.b)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func evalNode(t *testing.T, n *ir.Node, in ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	outs, err := interp.Eval(n, 1, in)
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

// TestQConvIsQLinearConv: tsmc.QConv is ONNX QLinearConv, clamped, then
// (with a residual) com.microsoft QLinearAdd; a fused shift is the
// quantised TemporalShift filling with the zero point.
func TestQConvIsQLinearConv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 60; i++ {
		c := randomQConv(r)
		want := c.qlinearConv(t, c.x)
		if i%3 == 1 { // a clamp: ReLU6 of some scale
			c.spec.Y.Min, c.spec.Y.Max = c.spec.Y.Zero, c.spec.Y.Zero+20
			for j, v := range want.I64 {
				want.I64[j] = max(c.spec.Y.Min, min(v, c.spec.Y.Max))
			}
		}
		n := c.node(nil)
		got := evalNode(t, n, c.x, c.w, c.b)
		if err := tensorcmp.Equal(got, want); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}

		// A residual: QLinearAdd of the conv result and R.
		olo, ohi, _ := interp.QuantRange(c.spec.Output)
		res := randInts(r, c.spec.Output, want.Shape, olo, ohi)
		rp := QParams{Scale: c.spec.Y.Scale * (0.5 + r.Float32()), Zero: olo + 100 + r.Int64N(56)}
		out := Requant{QParams{(c.spec.Y.Scale + rp.Scale) * 0.8, olo + 90 + r.Int64N(70)}, olo, ohi}
		c.spec.Residual, c.spec.Out = &rp, &out
		sum, err := EvalOp(interp.MSDomain, "QLinearAdd", 1, nil, want, f32s(c.spec.Y.Scale), qints(c.spec.Output, c.spec.Y.Zero),
			res, f32s(rp.Scale), qints(c.spec.Output, rp.Zero), f32s(out.Scale), qints(c.spec.Output, out.Zero))
		if err != nil {
			t.Fatal(err)
		}
		if got := evalNode(t, c.node(nil), c.x, c.w, c.b, res); tensorcmp.Equal(got, sum) != nil {
			t.Fatalf("case %d with residual: %v", i, tensorcmp.Equal(got, sum))
		}
	}
}

// TestQConvFusedShift: a shift fused into tsmc.QConv is the quantised
// TemporalShift (vacated rows hold x_zero_point) followed by the conv; an
// online shift reads its state.
func TestQConvFusedShift(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		c := randomQConv(r)
		c.x = randInts(r, c.x.DType, ir.Shape{4, 8, 5, 5}, 0, 100)
		c.w = randInts(r, ir.Int8, ir.Shape{3, 8, 1, 1}, -127, 127)
		c.b = randInts(r, ir.Int32, ir.Shape{3}, -100, 100)
		c.attrs = map[string]ir.Attr{"kernel_shape": {Kind: ir.AttrInts, Ints: []int64{1, 1}}, "group": {Kind: ir.AttrInt, Int: 1}}
		c.spec.WScales, c.spec.WZeros = c.spec.WScales[:1], c.spec.WZeros[:1]
		shift := Shift{Segments: 2, Ranges: []ShiftRange{{0, 1, 1}, {1, 2, -1}}}
		var state *ir.Tensor
		if i%2 == 1 {
			shift = Shift{Segments: 2, Ranges: []ShiftRange{{0, 2, -1}}}
			state = randInts(r, c.x.DType, ir.Shape{2, 2, 5, 5}, 0, 100)
		}
		n := c.node(nil)
		shift.Attrs(n)
		ts := &ir.Node{Name: "ts", Op: OpTemporalShift, Domain: Domain, Outputs: []*ir.Value{{Name: "s"}}, Attrs: map[string]ir.Attr{"fill": {Kind: ir.AttrInt, Int: c.spec.X.Zero}}}
		shift.Attrs(ts)
		shifted := evalNode(t, ts, c.x, state)
		want := c.qlinearConv(t, shifted)
		if got := evalNode(t, n, c.x, c.w, c.b, nil, state); tensorcmp.Equal(got, want) != nil {
			t.Fatalf("case %d: %v", i, tensorcmp.Equal(got, want))
		}
	}
}

// literalQDQConv is the float reading of DequantizeLinear (x, per-channel
// w, int32 bias) → Conv → QuantizeLinear with the interpreter's float32
// kernels.
func literalQDQConv(t *testing.T, c qconvCase) *ir.Tensor {
	t.Helper()
	s := c.spec
	x, err := EvalOp("", "DequantizeLinear", 13, nil, c.x, f32s(s.X.Scale), qints(c.x.DType, s.X.Zero))
	if err != nil {
		t.Fatal(err)
	}
	axis0 := map[string]ir.Attr{"axis": {Kind: ir.AttrInt, Int: 0}}
	w, err := EvalOp("", "DequantizeLinear", 13, axis0, c.w, f32s(s.WScales...), qints(ir.Int8, s.WZeros...))
	if err != nil {
		t.Fatal(err)
	}
	bscale := make([]float32, len(s.WScales))
	for m, ws := range s.WScales {
		bscale[m] = float32(s.X.Scale * ws)
	}
	b, err := EvalOp("", "DequantizeLinear", 13, axis0, c.b, f32s(bscale...), qints(ir.Int32, make([]int64, len(bscale))...))
	if err != nil {
		t.Fatal(err)
	}
	y, err := EvalOp("", "Conv", 13, c.attrs, x, w, b)
	if err != nil {
		t.Fatal(err)
	}
	q, err := EvalOp("", "QuantizeLinear", 13, nil, y, f32s(s.Y.Scale), qints(s.Output, s.Y.Zero))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestQConvAgainstFloatReading states the rule that relates tsmc.QConv
// (onnxruntime's QLinearConv arithmetic) to the literal float reading of
// the QDQ pattern it replaces: they agree except by one step, and only
// where the exact value acc × x_scale × w_scale / y_scale lies within the
// float reading's rounding error of a tie (a half-integer). The bound
// counts float32 rounding of each dequantised operand, each product and
// each partial sum of the float convolution, and of the division. Every
// other case has scales that put half the exact values next to a tie
// (y_scale = 2 x_scale w_scale, rounded to float32), where the readings
// do part.
func TestQConvAgainstFloatReading(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	total, differ := 0, 0
	for i := 0; i < 80; i++ {
		c := randomQConv(r)
		if i%2 == 0 {
			ws := c.spec.WScales[0]
			for m := range c.spec.WScales {
				c.spec.WScales[m] = ws
			}
			c.spec.Y.Scale = float32(2 * float64(c.spec.X.Scale) * float64(ws))
			c.b = randInts(r, ir.Int32, c.b.Shape, -200, 200)
		}
		got := evalNode(t, c.node(nil), c.x, c.w, c.b)
		lit := literalQDQConv(t, c)
		// Exact accumulators and the magnitude of their terms.
		centred := &ir.Node{Name: "acc", Op: "ConvInteger", Attrs: c.attrs}
		acc, err := interp.IntConv(centred, c.x, c.spec.X.Zero, c.w, c.spec.WZeros)
		if err != nil {
			t.Fatal(err)
		}
		absX := c.x.Clone()
		for j, v := range absX.I64 {
			absX.I64[j] = int64(math.Abs(float64(v-c.spec.X.Zero))) + c.spec.X.Zero
		}
		absW := c.w.Clone()
		for j, v := range absW.I64 {
			absW.I64[j] = int64(math.Abs(float64(v)))
		}
		mag, err := interp.IntConv(centred, absX, c.spec.X.Zero, absW, c.spec.WZeros)
		if err != nil {
			t.Fatal(err)
		}
		plane := acc.Shape[2:].Size()
		maps := acc.Shape[1]
		for j := range got.I64 {
			total++
			d := got.I64[j] - lit.I64[j]
			if d == 0 {
				continue
			}
			differ++
			m := j / plane % maps
			unit := float64(c.spec.X.Scale) * float64(c.spec.WScales[m]) / float64(c.spec.Y.Scale)
			exact := (float64(acc.I64[j]) + float64(c.b.I64[m])) * unit
			bound := 4*float64(c.depth+4)*0x1p-24*(float64(mag.I64[j])+math.Abs(float64(c.b.I64[m])))*unit + 4*0x1p-24*math.Abs(exact) + 1e-9
			tie := math.Abs(exact - math.Floor(exact) - 0.5)
			if d*d != 1 || tie > bound {
				t.Errorf("case %d element %d: tsmc.QConv %d, float reading %d; exact %.9g is %.3g from a tie, bound %.3g",
					i, j, got.I64[j], lit.I64[j], exact, tie, bound)
			}
		}
	}
	t.Logf("%d of %d elements one step apart, all at near-ties", differ, total)
	if total < 10000 || differ == 0 {
		t.Errorf("%d elements compared, %d apart: the cases do not reach the ties the rule is about", total, differ)
	}
}

// TestQAddRule: tsmc.QAdd is com.microsoft QLinearAdd (onnxruntime's
// arithmetic), with its clamp; the literal float reading of
// DequantizeLinear, Add, Relu and QuantizeLinear agrees with it except by
// one step where the exact sum lies within the rounding error of a tie.
func TestQAddRule(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	total, apart := 0, 0
	for i := 0; i < 24; i++ {
		// Every pair of quantised values, for random parameters.
		dt := []ir.DType{ir.Uint8, ir.Int8}[r.IntN(2)]
		lo, hi, _ := interp.QuantRange(dt)
		shape := ir.Shape{256, 256}
		a, b := randInts(r, dt, shape, 0, 0), randInts(r, dt, shape, 0, 0)
		for j := range a.I64 {
			a.I64[j], b.I64[j] = lo+int64(j/256), lo+int64(j%256)
		}
		s := QuantSpec{
			X:      QParams{0.01 + 0.1*r.Float32(), lo + r.Int64N(256)},
			B:      QParams{0.01 + 0.1*r.Float32(), lo + r.Int64N(256)},
			Output: dt,
		}
		s.Y = Requant{QParams{(s.X.Scale + s.B.Scale) * (0.5 + r.Float32()), lo + r.Int64N(256)}, lo, hi}
		if i%2 == 1 {
			s.Y.Min = s.Y.Zero // a fused ReLU
		}
		n := &ir.Node{Name: "qadd", Op: OpQAdd, Domain: Domain, Outputs: []*ir.Value{{Name: "y"}}}
		s.Attrs(n)
		got := evalNode(t, n, a, b)
		want, err := EvalOp(interp.MSDomain, "QLinearAdd", 1, nil, a, f32s(s.X.Scale), qints(dt, s.X.Zero), b, f32s(s.B.Scale), qints(dt, s.B.Zero), f32s(s.Y.Scale), qints(dt, s.Y.Zero))
		if err != nil {
			t.Fatal(err)
		}
		for j := range want.I64 {
			want.I64[j] = max(want.I64[j], s.Y.Min)
		}
		if err := tensorcmp.Equal(got, want); err != nil {
			t.Fatalf("case %d against QLinearAdd: %v", i, err)
		}
		da, _ := EvalOp("", "DequantizeLinear", 13, nil, a, f32s(s.X.Scale), qints(dt, s.X.Zero))
		db, _ := EvalOp("", "DequantizeLinear", 13, nil, b, f32s(s.B.Scale), qints(dt, s.B.Zero))
		sum, _ := EvalOp("", "Add", 13, nil, da, db)
		if i%2 == 1 {
			sum, _ = EvalOp("", "Relu", 13, nil, sum)
		}
		lit, err := EvalOp("", "QuantizeLinear", 13, nil, sum, f32s(s.Y.Scale), qints(dt, s.Y.Zero))
		if err != nil {
			t.Fatal(err)
		}
		for j := range lit.I64 {
			total++
			d := got.I64[j] - lit.I64[j]
			if d == 0 {
				continue
			}
			apart++
			ta := float64(a.I64[j]-s.X.Zero) * float64(s.X.Scale)
			tb := float64(b.I64[j]-s.B.Zero) * float64(s.B.Scale)
			exact := (ta + tb) / float64(s.Y.Scale)
			bound := 8 * 0x1p-24 * (math.Abs(ta) + math.Abs(tb) + float64(s.Y.Scale)*float64(max(-lo, hi))) / float64(s.Y.Scale)
			if d*d != 1 || math.Abs(exact-math.Floor(exact)-0.5) > bound {
				t.Errorf("case %d element %d: tsmc.QAdd %d, float reading %d, exact %.9g (bound %.3g)", i, j, got.I64[j], lit.I64[j], exact, bound)
			}
		}
	}
	t.Logf("%d of %d sums one step from the float reading, all at near-ties", apart, total)
	if apart == 0 {
		t.Error("no case reached a tie the rule is about")
	}
}

// TestQDenseIsQGemm: tsmc.QDense is com.microsoft QGemm with transB,
// batched over X's leading axes.
func TestQDenseIsQGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 30; i++ {
		rows, k, cols := 1+r.IntN(4), 1+r.IntN(60), 1+r.IntN(20)
		x := randInts(r, ir.Uint8, ir.Shape{rows, k}, 0, 255)
		w := randInts(r, ir.Int8, ir.Shape{cols, k}, -127, 127)
		b := randInts(r, ir.Int32, ir.Shape{cols}, -3000, 3000)
		s := QuantSpec{X: QParams{0.02, r.Int64N(256)}, Output: ir.Uint8}
		for c := 0; c < cols; c++ {
			s.WScales = append(s.WScales, 0.002+0.01*r.Float32())
			s.WZeros = append(s.WZeros, 0)
		}
		s.Y = Requant{QParams{0.02 * s.WScales[0] * 80 * 73 * float32(math.Sqrt(float64(k))) / 50, 128}, 0, 255}
		n := &ir.Node{Name: "qdense", Op: OpQDense, Domain: Domain, Outputs: []*ir.Value{{Name: "y"}}}
		s.Attrs(n)
		got := evalNode(t, n, x, w, b)
		want, err := EvalOp(interp.MSDomain, "QGemm", 1, map[string]ir.Attr{"transB": {Kind: ir.AttrInt, Int: 1}}, x, f32s(s.X.Scale), qints(ir.Uint8, s.X.Zero),
			w, f32s(s.WScales...), qints(ir.Int8, s.WZeros...), b, f32s(s.Y.Scale), qints(ir.Uint8, s.Y.Zero))
		if err != nil {
			t.Fatal(err)
		}
		if err := tensorcmp.Equal(got, want); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// Leading axes: [2, rows, k] gives the same rows twice.
		x3 := &ir.Tensor{DType: ir.Uint8, Shape: ir.Shape{2, rows, k}, I64: append(append([]int64{}, x.I64...), x.I64...)}
		got3 := evalNode(t, n, x3, w, b)
		if !got3.Shape.Equal(ir.Shape{2, rows, cols}) || fmt.Sprint(got3.I64[:len(got.I64)]) != fmt.Sprint(got.I64) {
			t.Fatalf("case %d batched: got %v%v", i, got3.Shape, got3.I64)
		}
	}
}

// TestQuantSpecErrors: attributes that cannot be run are errors naming
// what is wrong.
func TestQuantSpecErrors(t *testing.T) {
	good := QuantSpec{X: QParams{1, 0}, WScales: []float32{1}, WZeros: []int64{0}, Y: Requant{QParams{1, 0}, 0, 255}, Output: ir.Uint8}
	tests := []struct {
		name   string
		change func(n *ir.Node)
		want   string
	}{
		{"zero scale", func(n *ir.Node) { n.Attrs["y_scale"] = ir.Attr{Kind: ir.AttrFloat, Float: 0} }, "y_scale 0 is not a positive"},
		{"missing zero point", func(n *ir.Node) { delete(n.Attrs, "x_zero_point") }, "x_zero_point is missing"},
		{"clamp outside type", func(n *ir.Node) { n.Attrs["y_max"] = ir.Attr{Kind: ir.AttrInt, Int: 300} }, "outside u8"},
		{"empty clamp", func(n *ir.Node) {
			n.Attrs["y_min"] = ir.Attr{Kind: ir.AttrInt, Int: 9}
			n.Attrs["y_max"] = ir.Attr{Kind: ir.AttrInt, Int: 3}
		}, "is empty"},
		{"bad type", func(n *ir.Node) { n.Attrs["output_type"] = ir.Attr{Kind: ir.AttrString, String: "f32"} }, "not u8 or i8"},
		{"scale counts", func(n *ir.Node) { n.Attrs["w_zero_points"] = ir.Attr{Kind: ir.AttrInts, Ints: []int64{0, 0}} }, "one count"},
	}
	for _, tc := range tests {
		n := &ir.Node{Name: "q", Op: OpQConv, Domain: Domain}
		good.Attrs(n)
		tc.change(n)
		if _, err := QuantSpecOf(n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	n := &ir.Node{Name: "q", Op: OpQConv, Domain: Domain}
	good.Attrs(n)
	back, err := QuantSpecOf(n)
	if err != nil || fmt.Sprint(back) != fmt.Sprint(good) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestQLookup: tsmc.QLookup maps each value through its table, indexed
// from the input type's least value (int8 input to uint8 output here);
// attributes and inputs it cannot run are errors naming what is wrong.
func TestQLookup(t *testing.T) {
	table := make([]int64, 256)
	for i := range table {
		table[i] = int64(255 - i)
	}
	node := func() *ir.Node {
		n := &ir.Node{Name: "lut", Op: OpQLookup, Domain: Domain, Inputs: []*ir.Value{{Name: "x", DType: ir.Int8, Shape: ir.Shape{2, 2}}},
			Outputs: []*ir.Value{{Name: "y"}}}
		n.SetAttr("table", ir.Attr{Kind: ir.AttrInts, Ints: table})
		n.SetAttr("output_type", ir.Attr{Kind: ir.AttrString, String: "u8"})
		return n
	}
	got := evalNode(t, node(), &ir.Tensor{DType: ir.Int8, Shape: ir.Shape{2, 2}, I64: []int64{-128, -1, 0, 127}})
	if got.DType != ir.Uint8 || fmt.Sprint(got.I64) != "[255 128 127 0]" {
		t.Errorf("lookup: %v %v, want u8 [255 128 127 0]", got.DType, got.I64)
	}
	for _, tc := range []struct {
		name   string
		change func(n *ir.Node)
		want   string
	}{
		{"short table", func(n *ir.Node) { n.Attrs["table"] = ir.Attr{Kind: ir.AttrInts, Ints: table[:255]} }, "256 values, has 255"},
		{"value outside type", func(n *ir.Node) {
			n.Attrs["table"] = ir.Attr{Kind: ir.AttrInts, Ints: append(append([]int64{}, table[:255]...), 256)}
		}, "table[255] = 256 is outside u8"},
		{"bad type", func(n *ir.Node) { n.Attrs["output_type"] = ir.Attr{Kind: ir.AttrString, String: "f32"} }, "not u8 or i8"},
		{"float input", func(n *ir.Node) { n.Inputs[0].DType = ir.Float32 }, "must be uint8 or int8"},
	} {
		n := node()
		tc.change(n)
		if err := inferQLookup(nil, n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
