package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// qdqBuilder builds QDQ graphs: float computations between
// QuantizeLinear and DequantizeLinear pairs, as quantisation tools write
// them.
type qdqBuilder struct {
	*shiftBuilder
	rng *rand.Rand
}

func newQDQBuilder(opset int64) *qdqBuilder {
	return &qdqBuilder{shiftBuilder: newShiftBuilder(opset), rng: rand.New(rand.NewPCG(21, 22))}
}

// act is an activation's per-tensor parameters.
type act struct {
	scale float32
	zero  int64
	dt    ir.DType
}

var (
	uAct = act{0.05, 128, ir.Uint8}
	yAct = act{0.1, 100, ir.Uint8}
)

func (b *qdqBuilder) quantize(x *ir.Value, a act) *ir.Value {
	return b.op("QuantizeLinear", nil, x, irtest.Scale(b.name("s"), a.scale), irtest.Zero(b.name("z"), a.dt, a.zero))
}

func (b *qdqBuilder) dequantize(q *ir.Value, a act) *ir.Value {
	return b.op("DequantizeLinear", nil, q, irtest.Scale(b.name("s"), a.scale), irtest.Zero(b.name("z"), a.dt, a.zero))
}

func (b *qdqBuilder) qdq(x *ir.Value, a act) *ir.Value { return b.dequantize(b.quantize(x, a), a) }

// conv adds DequantizeLinear'd per-channel int8 weights [m, c, k, k] and
// an int32 bias of scale x_scale × w_scale, and the float Conv of x.
func (b *qdqBuilder) conv(x *ir.Value, xa act, c, m, k int, attrs map[string]ir.Attr) *ir.Value {
	ws := irtest.RandomScales(b.rng, 0.01, m)
	w := irtest.RandomInts(b.rng, b.name("w"), ir.Int8, ir.Shape{m, c, k, k}, -127, 127)
	axis0 := irtest.Attrs("axis", 0)
	wf := b.op("DequantizeLinear", axis0, w, irtest.Scale(b.name("s"), ws...), irtest.Zero(b.name("z"), ir.Int8, make([]int64, m)...))
	bs := make([]float32, m)
	for i := range bs {
		bs[i] = xa.scale * ws[i]
	}
	bias := irtest.RandomInts(b.rng, b.name("b"), ir.Int32, ir.Shape{m}, -300, 300)
	bf := b.op("DequantizeLinear", axis0, bias, irtest.Scale(b.name("s"), bs...), irtest.Zero(b.name("z"), ir.Int32, make([]int64, m)...))
	return b.op("Conv", attrs, x, wf, bf)
}

// withinOneStep checks that every output after the passes is within one
// step of its final DequantizeLinear's scale of before. The passes make
// tsmc's quantised ops, whose arithmetic is onnxruntime's; the literal
// float reading the graph computes before them differs by a step at ties
// and near-ties (the ops' tests say where), which these shallow graphs
// do not amplify.
func withinOneStep(t *testing.T, before, after map[string]*ir.Tensor, step float32) {
	t.Helper()
	for name, want := range before {
		got := after[name]
		if got == nil || !got.Shape.Equal(want.Shape) {
			t.Fatalf("output %s: got %v, want shape %v", name, got, want.Shape)
		}
		for i, w := range want.F32 {
			if d := math.Abs(float64(got.F32[i] - w)); d > float64(step)*1.0001 {
				t.Fatalf("output %s element %d: %v after the passes, %v before (step %v)", name, i, got.F32[i], w, step)
			}
		}
	}
}

// runQuantPipeline runs the whole pipeline and interprets g before and
// after on random inputs in ±amp.
func runQuantPipeline(t *testing.T, g *ir.Graph, amp float32) (before, after map[string]*ir.Tensor) {
	t.Helper()
	feeds := shiftRandomInputs(g, 7)
	for _, v := range feeds {
		for i := range v.F32 {
			v.F32[i] *= amp
		}
	}
	before, err := interp.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(g, Options{}); err != nil {
		t.Fatalf("%v\n%s", err, g.Print())
	}
	after, err = interp.Run(g, feeds)
	if err != nil {
		t.Fatalf("%v\n%s", err, g.Print())
	}
	return before, after
}

// opCount counts g's nodes by op name.
func opCount(g *ir.Graph) map[string]int {
	return g.ComputeStats().Ops
}

// TestQDQShiftFusedInInt8: every spelling of the temporal shift between a
// DequantizeLinear and a QuantizeLinear of one activation's parameters is
// recognised, runs on the uint8 tensor and fuses into the tsmc.QConv that
// reads it, its vacated rows the zero point; the float movement, the
// zeros and every QDQ pair around them disappear.
func TestQDQShiftFusedInInt8(t *testing.T) {
	s := clipShape{N: 1, T: 4, C: 8, H: 3, W: 3}
	spellings := map[string]func(b *qdqBuilder, x *ir.Value) *ir.Value{
		"mmaction": func(b *qdqBuilder, x *ir.Value) *ir.Value { return b.mmactionShift(x, s, 1, nil) },
		"official": func(b *qdqBuilder, x *ir.Value) *ir.Value { return b.officialShift(x, s, 1, nil) },
		"pad":      func(b *qdqBuilder, x *ir.Value) *ir.Value { return b.padShift(x, s, 1, 0) },
	}
	for name, spell := range spellings {
		t.Run(name, func(t *testing.T) {
			b := newQDQBuilder(13)
			x := b.qdq(b.Input("x", s.N*s.T, s.C, s.H, s.W), uAct)
			shifted := b.qdq(spell(b, x), uAct)
			y := b.conv(shifted, uAct, s.C, 6, 1, nil)
			g := b.finish(t, b.qdq(y, yAct))
			before, after := runQuantPipeline(t, g, 3)
			ops := opCount(g)
			if ops["tsmc.QConv"] != 1 || len(ops) != 3 || ops["QuantizeLinear"] != 1 || ops["DequantizeLinear"] != 1 {
				t.Errorf("ops after the pipeline: %v, want QuantizeLinear, tsmc.QConv, DequantizeLinear\n%s", ops, g.Print())
			}
			if m, f := ShiftCounts(g); m != 0 || f != 1 {
				t.Errorf("%d shifts materialised, %d fused; want 0 and 1", m, f)
			}
			withinOneStep(t, before, after, yAct.scale)
		})
	}
}

// TestQDQShiftOnlineState: the online spelling, Slice and Concat with a
// float state input, becomes a shift of the uint8 activation whose state
// is the quantised state input, fused into the conv; the state output, a
// slice of the dequantised activation, stays a float output.
func TestQDQShiftOnlineState(t *testing.T) {
	b := newQDQBuilder(13)
	x := b.qdq(b.Input("x", 1, 8, 3, 3), uAct)
	state := b.Input("state", 1, 1, 3, 3)
	next := b.slice(x, 1, 0, 1)
	shifted := b.qdq(b.concat(1, state, b.slice(x, 1, 1, 8)), uAct)
	y := b.qdq(b.conv(shifted, uAct, 8, 4, 3, irtest.Attrs("pads", []int64{1, 1, 1, 1})), yAct)
	g := b.finish(t, y, next)
	before, after := runQuantPipeline(t, g, 3)
	conv := nodeOf(g, ops.OpQConv)
	if conv == nil || !hasShift(conv) || conv.Input(ops.ConvState) == nil || !isQ(g.Producers()[conv.Input(ops.ConvState)]) {
		t.Fatalf("want a tsmc.QConv reading the quantised state through its shift:\n%s", g.Print())
	}
	withinOneStep(t, map[string]*ir.Tensor{"y": before[y.Name]}, map[string]*ir.Tensor{"y": after[y.Name]}, yAct.scale)
	if d := maxAbsDiff(before[next.Name], after[next.Name]); d != 0 {
		t.Errorf("state output differs by %v", d)
	}
	if dq := g.Producers()[next]; !isDQ(dq) || !isOp(g.Producers()[dq.Inputs[0]], "Slice") || dq.Inputs[0].DType != ir.Uint8 {
		t.Errorf("want the state output dequantised after its slice (dequantize-late):\n%s", g.Print())
	}
}

// TestInt8MovementShift: exporters that move uint8 rows themselves
// (QuantizeLinear, then Slice and Concat with a zero-point constant, then
// DequantizeLinear) get the same shift, filled with that constant; a
// conv whose x_zero_point it is takes it fused.
func TestInt8MovementShift(t *testing.T) {
	for _, fill := range []int64{128, 0} {
		b := newQDQBuilder(13)
		q := b.quantize(b.Input("x", 4, 8, 2, 2), uAct)
		zeros := irtest.Ints(b.name("zp"), ir.Uint8, ir.Shape{1, 1, 2, 2}, fill, fill, fill, fill)
		past := b.concat(0, zeros, b.slice(b.slice(q, 1, 0, 1), 0, 0, 3))
		moved := b.concat(1, past, b.slice(q, 1, 1, 8))
		y := b.qdq(b.conv(b.dequantize(moved, uAct), uAct, 8, 4, 1, nil), yAct)
		g := b.finish(t, y)
		before, after := runQuantPipeline(t, g, 3)
		withinOneStep(t, before, after, yAct.scale)
		conv := nodeOf(g, ops.OpQConv)
		ts := nodeOf(g, ops.OpTemporalShift)
		switch {
		case fill == uAct.zero && (conv == nil || !hasShift(conv) || ts != nil):
			t.Errorf("fill %d: want the shift fused into the conv:\n%s", fill, g.Print())
		case fill != uAct.zero && (ts == nil || ts.AttrInt("fill", -1) != fill || hasShift(conv)):
			t.Errorf("fill %d: want a materialised shift filling %d (not real zero):\n%s", fill, fill, g.Print())
		}
	}
}

func nodeOf(g *ir.Graph, op string) *ir.Node {
	for _, n := range g.Nodes {
		if isTsmc(n, op) {
			return n
		}
	}
	return nil
}

func maxAbsDiff(a, b *ir.Tensor) float64 {
	d := 0.0
	for i := range a.F32 {
		d = math.Max(d, math.Abs(float64(a.F32[i]-b.F32[i])))
	}
	return d
}

// TestFuseQDQGolden shows the attributes the QDQ patterns become: a conv
// with its ReLU6 as the clamp [Q(0), Q(6)] = [10, 160], a residual sum
// and its ReLU fused into the conv that computes an operand (out_min the
// sum's zero point), a max pool and a flatten on uint8, a Gemm as
// tsmc.QDense with per-output-channel scales.
func TestFuseQDQGolden(t *testing.T) {
	b := newQDQBuilder(13)
	b.rng = rand.New(rand.NewPCG(1, 1))
	x := b.qdq(b.Input("x", 1, 2, 4, 4), uAct)
	relu6 := b.op("Clip", nil, b.conv(x, uAct, 2, 2, 3, irtest.Attrs("pads", []int64{1, 1, 1, 1})), b.floats(ir.Shape{}, 0), b.floats(ir.Shape{}, 6))
	h := b.qdq(relu6, act{0.04, 10, ir.Uint8})
	h2 := b.qdq(b.conv(h, act{0.04, 10, ir.Uint8}, 2, 2, 1, nil), act{0.08, 120, ir.Uint8})
	sum := b.qdq(b.op("Relu", nil, b.op("Add", nil, h2, x)), act{0.1, 110, ir.Uint8})
	pool := b.qdq(b.op("MaxPool", irtest.Attrs("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), sum), act{0.1, 110, ir.Uint8})
	flat := b.qdq(b.op("Flatten", nil, pool), act{0.1, 110, ir.Uint8})
	w := irtest.RandomInts(b.rng, "fc_w", ir.Int8, ir.Shape{3, 8}, -127, 127)
	wf := b.op("DequantizeLinear", irtest.Attrs("axis", 0), w, irtest.Scale("fc_s", 0.01, 0.02, 0.03), irtest.Zero("fc_z", ir.Int8, 0, 0, 0))
	fc := b.op("Gemm", irtest.Attrs("transB", 1), flat, wf)
	g := b.finish(t, b.qdq(fc, act{0.2, 128, ir.Uint8}))
	feeds := shiftRandomInputs(g, 3)
	before, err := interp.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []func(*ir.Graph) error{FoldConstants, QuantizeMovement, EliminateDeadCode, FuseQDQ, FuseQuantizedResidual, EliminateDeadCode} {
		if err := p(g); err != nil {
			t.Fatal(err)
		}
		if err := ir.InferShapes(g, interp.Eval); err != nil {
			t.Fatalf("%v\n%s", err, g.Print())
		}
	}
	want := `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,4,4]
  const %s_1: f32[] = {0.05}
  const %z_2: u8[] = {128}
  const %w_7: i8[2,2,3,3] = #4860461a82f8da8a
  const %b_11: i32[2] = {69,-173}
  const %w_25: i8[2,2,1,1] = {-79,-76,107,123}
  const %b_29: i32[2] = {-45,50}
  const %fc_w: i8[3,8] = #f249525010392b75
  const %fc_w_bias: i32[3] = splat(0)
  const %s_67: f32[] = {0.2}
  const %z_68: u8[] = {128}
  %quantizelinear_3: u8[1,2,4,4] = QuantizeLinear(%x, %s_1, %z_2)
  %quantizelinear_21: u8[1,2,4,4] = tsmc.QConv(%quantizelinear_3, %w_7, %b_11) {dilations=[1,1], group=1, kernel_shape=[3,3], output_type="u8", pads=[1,1,1,1], strides=[1,1], w_scales=[0.013208578,0.030298738], w_zero_points=[0,0], x_scale=0.05, x_zero_point=128, y_max=160, y_min=10, y_scale=0.04, y_zero_point=10}
  %quantizelinear_44: u8[1,2,4,4] = tsmc.QConv(%quantizelinear_21, %w_25, %b_29, %quantizelinear_3) {dilations=[1,1], group=1, kernel_shape=[1,1], out_max=255, out_min=110, out_scale=0.1, out_zero_point=110, output_type="u8", pads=[0,0,0,0], r_scale=0.05, r_zero_point=128, residual_first=0, strides=[1,1], w_scales=[0.025350736,0.021458263], w_zero_points=[0,0], x_scale=0.04, x_zero_point=10, y_max=255, y_min=0, y_scale=0.08, y_zero_point=120}
  %maxpool_48_q: u8[1,2,2,2] = MaxPool(%quantizelinear_44) {kernel_shape=[2,2], strides=[2,2]}
  %flatten_55_q: u8[1,8] = Flatten(%maxpool_48_q)
  %quantizelinear_66: u8[1,3] = tsmc.QDense(%flatten_55_q, %fc_w, %fc_w_bias) {output_type="u8", w_scales=[0.01,0.02,0.03], w_zero_points=[0,0,0], x_scale=0.1, x_zero_point=110, y_max=255, y_min=0, y_scale=0.2, y_zero_point=128}
  %dequantizelinear_69: f32[1,3] = DequantizeLinear(%quantizelinear_66, %s_67, %z_68)
  output %dequantizelinear_69
`
	if got := g.Print(); got != strings.TrimLeft(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	after, err := interp.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	withinOneStep(t, before, after, 0.2)
}

// TestQDQLeftovers: patterns that do not match stay correct float
// computations: a conv of a float input with quantised weights (weights
// dequantised at compile time, then a tsmc.Conv), a conv whose output is
// not quantised.
func TestQDQLeftovers(t *testing.T) {
	b := newQDQBuilder(13)
	y := b.conv(b.Input("x", 1, 3, 4, 4), uAct, 3, 2, 3, nil) // float x
	z := b.conv(b.qdq(y, uAct), uAct, 2, 2, 1, nil)           // no Q after it
	g := b.finish(t, z)
	feeds := shiftRandomInputs(g, 1)
	before, err := interp.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(g, Options{}); err != nil {
		t.Fatal(err)
	}
	after, err := interp.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	if got := opCount(g); got["tsmc.Conv"] != 2 || got["DequantizeLinear"] != 1 || got["tsmc.QConv"] != 0 {
		t.Errorf("ops %v, want two tsmc.Conv (float weights) and the activation's QDQ pair:\n%s", got, g.Print())
	}
	if e := shiftOutputsRelErr(t, after, before); e > 1e-6 {
		t.Errorf("outputs moved by %g", e)
	}
}
