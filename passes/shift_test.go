package passes

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/internal/testmodels"
	"github.com/tsmc-go/tsmc/ops"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// shiftBuilder builds small graphs in the spellings exporters use for the
// temporal shift.
type shiftBuilder struct {
	*irtest.Builder
	opset int64
	count int
}

func newShiftBuilder(opset int64) *shiftBuilder {
	return &shiftBuilder{Builder: irtest.New(map[string]int64{"": opset}), opset: opset}
}

func (b *shiftBuilder) name(base string) string {
	b.count++
	return fmt.Sprintf("%s_%d", base, b.count)
}

func (b *shiftBuilder) ints(vals ...int64) *ir.Value {
	return ir.NewConst(b.name("c"), ir.Int64s(ir.Shape{len(vals)}, vals))
}

func (b *shiftBuilder) floats(shape ir.Shape, v float32) *ir.Value {
	data := make([]float32, shape.Size())
	for i := range data {
		data[i] = v
	}
	return ir.NewConst(b.name("f"), ir.Float32s(shape, data))
}

// op appends a one-output node.
func (b *shiftBuilder) op(op string, attrs map[string]ir.Attr, inputs ...*ir.Value) *ir.Value {
	return b.Node(b.name(strings.ToLower(op)), "", op, attrs, inputs...)
}

func (b *shiftBuilder) reshape(x *ir.Value, shape ...int64) *ir.Value {
	return b.op("Reshape", nil, x, b.ints(shape...))
}

// slice takes [start, end) along axis, with attributes before opset 10
// and inputs from then on.
func (b *shiftBuilder) slice(x *ir.Value, axis, start, end int64) *ir.Value {
	if b.opset < 10 {
		return b.op("Slice", map[string]ir.Attr{
			"axes": newIntsAttr(axis), "starts": newIntsAttr(start), "ends": newIntsAttr(end),
		}, x)
	}
	return b.op("Slice", nil, x, b.ints(start), b.ints(end), b.ints(axis))
}

func (b *shiftBuilder) concat(axis int64, xs ...*ir.Value) *ir.Value {
	return b.op("Concat", map[string]ir.Attr{"axis": newIntAttr(axis)}, xs...)
}

func (b *shiftBuilder) pad(x *ir.Value, value float32, pads ...int64) *ir.Value {
	return b.op("Pad", nil, x, b.ints(pads...), b.floats(ir.Shape{}, value))
}

// scatterIndices lists the (n, t, c) positions of a [n, t, c] block whose
// origin is at (0, t0, c0), as ScatterND indices of shape [n, t, c, 3].
func (b *shiftBuilder) scatterIndices(n, t, c, t0, c0 int) *ir.Value {
	var idx []int64
	for i := 0; i < n; i++ {
		for j := 0; j < t; j++ {
			for k := 0; k < c; k++ {
				idx = append(idx, int64(i), int64(t0+j), int64(c0+k))
			}
		}
	}
	return ir.NewConst(b.name("idx"), ir.Int64s(ir.Shape{n, t, c, 3}, idx))
}

// finish lists the outputs and infers shapes.
func (b *shiftBuilder) finish(t *testing.T, outputs ...*ir.Value) *ir.Graph {
	t.Helper()
	b.Output(outputs...)
	return b.Graph(t)
}

// clipShape is the size of the synthetic activations.
type clipShape struct{ N, T, C, H, W int }

// activation returns X = Relu(input) of shape [N*T, C, H, W].
func (b *shiftBuilder) activation(s clipShape, name string) *ir.Value {
	return b.op("Relu", nil, b.Input(name, s.N*s.T, s.C, s.H, s.W))
}

// mmactionShift spells the shift as open-mmlab/mmaction2 does: Slice,
// Sub(x, x) for zeros, Concat. Channels [0, fold) read t+1, [fold, 2fold)
// read t-1. diff, when set, replaces the zeros of the first part.
func (b *shiftBuilder) mmactionShift(x *ir.Value, s clipShape, fold int64, rest *ir.Value) *ir.Value {
	T, C := int64(s.T), int64(s.C)
	v := b.reshape(x, -1, T, C, int64(s.H*s.W))
	left, mid := b.slice(v, 2, 0, fold), b.slice(v, 2, fold, 2*fold)
	if rest == nil {
		rest = b.slice(v, 2, 2*fold, C)
	}
	blank := b.slice(b.op("Sub", nil, left, left), 1, 0, 1)
	left = b.concat(1, b.slice(left, 1, 1, T), blank)
	blank = b.slice(b.op("Sub", nil, mid, mid), 1, 0, 1)
	mid = b.concat(1, blank, b.slice(mid, 1, 0, T-1))
	out := b.concat(2, left, mid, rest)
	return b.reshape(out, int64(s.N*s.T), C, int64(s.H), int64(s.W))
}

// officialShift spells the shift as mit-han-lab's temporal_shift.py
// exports it: slice assignments into zeros, as ScatterND. zerosLike makes
// the zeros from the clip view; nil means a constant zero tensor.
func (b *shiftBuilder) officialShift(x *ir.Value, s clipShape, fold int, zerosLike func(v *ir.Value) *ir.Value) *ir.Value {
	T, C := int64(s.T), int64(s.C)
	v := b.reshape(x, int64(s.N), T, C, int64(s.H), int64(s.W))
	var zeros *ir.Value
	if zerosLike == nil {
		zeros = b.floats(ir.Shape{s.N, s.T, s.C, s.H, s.W}, 0)
	} else {
		zeros = zerosLike(v)
	}
	f := int64(fold)
	back := b.slice(b.slice(v, 1, 1, T), 2, 0, f)
	out := b.op("ScatterND", nil, zeros, b.scatterIndices(s.N, s.T-1, fold, 0, 0), back)
	fwd := b.slice(b.slice(v, 1, 0, T-1), 2, f, 2*f)
	out = b.op("ScatterND", nil, out, b.scatterIndices(s.N, s.T-1, fold, 1, fold), fwd)
	keep := b.slice(v, 2, 2*f, C)
	out = b.op("ScatterND", nil, out, b.scatterIndices(s.N, s.T, s.C-2*fold, 0, 2*fold), keep)
	return b.reshape(out, int64(s.N*s.T), C, int64(s.H), int64(s.W))
}

// padShift spells the shift with Pad along time and Slices of the padded
// clip: channels [0, fold) read t-1, [fold, 2fold) read t+1.
func (b *shiftBuilder) padShift(x *ir.Value, s clipShape, fold int64, value float32) *ir.Value {
	T, C := int64(s.T), int64(s.C)
	v := b.reshape(x, int64(s.N), T, C, int64(s.H), int64(s.W))
	p := b.pad(v, value, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0)
	past := b.slice(b.slice(p, 1, 0, T), 2, 0, fold)
	future := b.slice(b.slice(p, 1, 2, T+2), 2, fold, 2*fold)
	rest := b.slice(v, 2, 2*fold, C)
	return b.reshape(b.concat(2, past, future, rest), int64(s.N*s.T), C, int64(s.H), int64(s.W))
}

// forwardOnlyShift moves the first quarter of the channels one frame
// forward in time (frame t reads t-1) with a front Pad; nothing else moves.
func (b *shiftBuilder) forwardOnlyShift(x *ir.Value, s clipShape) *ir.Value {
	T, C, q := int64(s.T), int64(s.C), int64(s.C/4)
	v := b.reshape(x, int64(s.N), T, C, int64(s.H), int64(s.W))
	p := b.pad(v, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)
	past := b.slice(b.slice(p, 1, 0, T), 2, 0, q)
	return b.reshape(b.concat(2, past, b.slice(v, 2, q, C)), int64(s.N*s.T), C, int64(s.H), int64(s.W))
}

// consume reads y with a compute op and makes the result a graph output.
func (b *shiftBuilder) consume(y *ir.Value) *ir.Value { return b.op("Sigmoid", nil, y) }

// shiftNodes returns the TemporalShift nodes of g.
func shiftNodes(g *ir.Graph) []*ir.Node {
	var out []*ir.Node
	for _, n := range g.Nodes {
		if isTsmc(n, ops.OpTemporalShift) {
			out = append(out, n)
		}
	}
	return out
}

// shiftRandomInputs fills every graph input with reproducible random values.
func shiftRandomInputs(g *ir.Graph, seed int64) map[string]*ir.Tensor {
	rng := rand.New(rand.NewSource(seed))
	in := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		data := make([]float32, v.Shape.Size())
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		in[v.Name] = ir.Float32s(v.Shape, data)
	}
	return in
}

// shiftOutputsRelErr compares outputs by name: max|got-want| / max|want|.
func shiftOutputsRelErr(t *testing.T, got, want map[string]*ir.Tensor) float64 {
	t.Helper()
	worst := 0.0
	for name, w := range want {
		g := got[name]
		if g == nil || !g.Shape.Equal(w.Shape) || g.Len() != w.Len() {
			t.Fatalf("output %q: got %v, want shape %v", name, g, w.Shape)
		}
		worst = max(worst, tensorcmp.RelErr(g, w))
	}
	return worst
}

// recognizeShiftsChecked runs the pass, the verifier and, as the pipeline does
// after every pass, shape inference.
func recognizeShiftsChecked(t *testing.T, g *ir.Graph) {
	t.Helper()
	if err := RecognizeTemporalShift(g); err != nil {
		t.Fatalf("RecognizeTemporalShift: %v", err)
	}
	if err := g.Verify(); err != nil {
		t.Fatalf("after RecognizeTemporalShift: %v", err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		t.Fatalf("shape inference after RecognizeTemporalShift: %v", err)
	}
}

// shiftCase is a graph holding one shift and what recognition must make
// of it.
type shiftCase struct {
	name  string
	opset int64
	// build returns the shift's result and the graph outputs.
	build func(b *shiftBuilder) (y *ir.Value, outputs []*ir.Value)
	want  ops.Shift
	state bool // the shift reads a state graph input
	// left are the ops other than the shift left after recognition.
	left []string
}

func TestRecognizeShiftSpellings(t *testing.T) {
	clip := clipShape{N: 2, T: 4, C: 16, H: 3, W: 5}
	single := clipShape{N: 1, T: 8, C: 8, H: 2, W: 3}
	tests := []shiftCase{
		{
			name: "mmaction slice/sub/concat", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.mmactionShift(b.activation(clip, "x"), clip, 2, nil)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 4, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "mmaction with attribute slices", opset: 9,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.mmactionShift(b.activation(single, "x"), single, 1, nil)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 1, Offset: 1}, {Begin: 1, End: 2, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "official scatternd into zeros", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.officialShift(b.activation(single, "x"), single, 1, nil)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 1, Offset: 1}, {Begin: 1, End: 2, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "official scatternd, two clips", opset: 11,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.officialShift(b.activation(clip, "x"), clip, 2, nil)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 4, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "official, zeros as x*0", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				mulZero := func(v *ir.Value) *ir.Value { return b.op("Mul", nil, v, b.floats(ir.Shape{}, 0)) }
				y := b.officialShift(b.activation(single, "x"), single, 1, mulZero)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 1, Offset: 1}, {Begin: 1, End: 2, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "official, zeros from ConstantOfShape", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				s := single
				constantOfShape := func(*ir.Value) *ir.Value {
					return b.op("ConstantOfShape", nil, b.ints(int64(s.N), int64(s.T), int64(s.C), int64(s.H), int64(s.W)))
				}
				y := b.officialShift(b.activation(s, "x"), s, 1, constantOfShape)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 1, Offset: 1}, {Begin: 1, End: 2, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "pad+slice+concat, directions swapped", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.padShift(b.activation(clip, "x"), clip, 4, 0)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 4, Ranges: []ops.ShiftRange{{Begin: 0, End: 4, Offset: -1}, {Begin: 4, End: 8, Offset: 1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "pad, forward quarter only", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.forwardOnlyShift(b.activation(single, "x"), single)
				return y, []*ir.Value{b.consume(y)}
			},
			want: ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: -1}}},
			left: []string{"Relu", "Sigmoid"},
		},
		{
			name: "shift of a graph input read by a graph output", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				y := b.mmactionShift(b.Input("x", clip.N*clip.T, clip.C, clip.H, clip.W), clip, 2, nil)
				return y, []*ir.Value{y}
			},
			want: ops.Shift{Segments: 4, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}},
			left: nil,
		},
		{
			// ShuffleNet: a channel shuffle before the shift and the
			// channel split after it are data movement too
			name: "between a channel shuffle and a channel split", opset: 13,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				x := b.activation(clip, "x")
				nt, c, h, w := int64(clip.N*clip.T), int64(clip.C), int64(clip.H), int64(clip.W)
				shuffled := b.reshape(b.op("Transpose", attrs("perm", []int64{0, 2, 1, 3, 4}), b.reshape(x, nt, 2, c/2, h, w)), nt, c, h, w)
				y := b.officialShift(shuffled, clip, 2, nil)
				left, right := b.slice(y, 1, 0, c/2), b.slice(y, 1, c/2, c)
				return y, []*ir.Value{b.concat(1, b.consume(right), left)}
			},
			want: ops.Shift{Segments: 4, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}},
			left: []string{"Concat", "Relu", "Reshape", "Reshape", "Sigmoid", "Slice", "Slice", "Transpose"},
		},
	}
	for _, online := range []int64{10, 13} {
		tests = append(tests, shiftCase{
			name: fmt.Sprintf("online slice+concat with state, opset %d", online), opset: online,
			build: func(b *shiftBuilder) (*ir.Value, []*ir.Value) {
				x := b.activation(clipShape{N: 1, T: 1, C: 16, H: 4, W: 4}, "frame")
				s := b.Input("state", 1, 2, 4, 4)
				y := b.concat(1, s, b.slice(x, 1, 2, 1<<30))
				next := b.slice(x, 1, 0, 2)
				return y, []*ir.Value{b.consume(y), next}
			},
			want: ops.Shift{Segments: 1, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: -1}}}, state: true,
			left: []string{"Relu", "Sigmoid", "Slice"},
		})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newShiftBuilder(tc.opset)
			y, outputs := tc.build(b)
			g := b.finish(t, outputs...)
			inputs := shiftRandomInputs(g, 1)
			before, err := interp.Run(g, inputs)
			if err != nil {
				t.Fatal(err)
			}
			recognizeShiftsChecked(t, g)
			shifts := shiftNodes(g)
			if len(shifts) != 1 {
				t.Fatalf("got %d TemporalShift nodes, want 1:\n%s", len(shifts), g.Print())
			}
			n := shifts[0]
			got, _, err := ops.ShiftOf(n)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want.String() {
				t.Errorf("shift %v, want %v", got, tc.want)
			}
			if n.Outputs[0] != y || !y.Shape.Equal(n.Inputs[0].Shape) {
				t.Errorf("shift writes %v%v from %v%v, want the original result %v", n.Outputs[0], n.Outputs[0].Shape, n.Inputs[0], n.Inputs[0].Shape, y)
			}
			switch {
			case !tc.state && len(n.Inputs) != 1:
				t.Errorf("shift inputs %v, want the activation only", n.Inputs)
			case tc.state && (len(n.Inputs) != 2 || n.Inputs[1] != g.Inputs[1]):
				t.Errorf("shift inputs %v, want the activation and the state input %v", n.Inputs, g.Inputs[1])
			}
			var left []string
			for _, m := range g.Nodes {
				if m != n {
					left = append(left, m.Op)
				}
			}
			slices.Sort(left)
			if !slices.Equal(left, tc.left) {
				t.Errorf("ops left besides the shift: %v, want %v\n%s", left, tc.left, g.Print())
			}
			after, err := interp.Run(g, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if e := shiftOutputsRelErr(t, after, before); e != 0 {
				t.Errorf("outputs changed by recognition: relative error %g (a data movement must be exact)", e)
			}
		})
	}
}

// expectShiftUnchanged checks that the pass leaves g alone and that the cone of
// y is rejected for the reason named by why.
func expectShiftUnchanged(t *testing.T, g *ir.Graph, y *ir.Value, why string) {
	t.Helper()
	_, s, reason := analyzeShift(g, g.Producers(), y)
	if !strings.Contains(reason, why) {
		t.Errorf("cone of %v: rejection %q (shift %v), want one mentioning %q", y, reason, s, why)
	}
	text := g.Print()
	recognizeShiftsChecked(t, g)
	if after := g.Print(); after != text {
		t.Errorf("graph changed:\nbefore:\n%s\nafter:\n%s", text, after)
	}
}

var rejectClip = clipShape{N: 1, T: 4, C: 8, H: 3, W: 3}

func TestShiftRejectsRoll(t *testing.T) {
	// Channels [0, 2) read frame t+2 and wrap around: a roll, not a shift.
	b := newShiftBuilder(13)
	s := rejectClip
	v := b.reshape(b.activation(s, "x"), 1, int64(s.T), int64(s.C), int64(s.H*s.W))
	part := b.slice(v, 2, 0, 2)
	rolled := b.concat(1, b.slice(part, 1, 2, int64(s.T)), b.slice(part, 1, 0, 2))
	y := b.reshape(b.concat(2, rolled, b.slice(v, 2, 2, int64(s.C))), int64(s.N*s.T), int64(s.C), int64(s.H), int64(s.W))
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "reads frames at offsets")
}

func TestShiftRejectsChannelPermutation(t *testing.T) {
	// A genuine mmaction shift whose kept channels come in swapped halves.
	b := newShiftBuilder(13)
	s := rejectClip
	x := b.activation(s, "x")
	v := b.reshape(x, -1, int64(s.T), int64(s.C), int64(s.H*s.W))
	swapped := b.concat(2, b.slice(v, 2, 6, 8), b.slice(v, 2, 2, 6))
	y := b.mmactionShift(x, s, 1, swapped)
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "same channel")
}

func TestShiftRejectsShiftAlongH(t *testing.T) {
	// Channels [0, 2) move up one row, the last row reading zeros.
	b := newShiftBuilder(13)
	s := rejectClip
	x := b.activation(s, "x")
	part := b.slice(x, 1, 0, 2)
	up := b.concat(2, b.slice(part, 2, 1, int64(s.H)), b.floats(ir.Shape{s.N * s.T, 2, 1, s.W}, 0))
	y := b.concat(1, up, b.slice(x, 1, 2, int64(s.C)))
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "moves within the row")
}

func TestShiftRejectsTwoActivations(t *testing.T) {
	// The shifted channels come from x, the kept ones from another tensor.
	b := newShiftBuilder(13)
	s := rejectClip
	x := b.activation(s, "x")
	other := b.op("Sigmoid", nil, x)
	ov := b.reshape(other, -1, int64(s.T), int64(s.C), int64(s.H*s.W))
	y := b.mmactionShift(x, s, 1, b.slice(ov, 2, 2, int64(s.C)))
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "reads two activations")
}

func TestShiftRejectsNonZeroPad(t *testing.T) {
	b := newShiftBuilder(13)
	s := rejectClip
	y := b.padShift(b.activation(s, "x"), s, 1, 0.5)
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "not all zeros")
}

func TestShiftRejectsArithmetic(t *testing.T) {
	// "Zeros" computed as the difference of two different slices: every
	// value is a difference of indices, which one encoding alone could
	// mistake for a copy.
	b := newShiftBuilder(13)
	s := rejectClip
	T, C := int64(s.T), int64(s.C)
	v := b.reshape(b.activation(s, "x"), -1, T, C, int64(s.H*s.W))
	left, mid := b.slice(v, 2, 0, 1), b.slice(v, 2, 1, 2)
	blank := b.slice(b.op("Sub", nil, mid, left), 1, 0, 1)
	left = b.concat(1, b.slice(left, 1, 1, T), blank)
	y := b.reshape(b.concat(2, left, b.slice(v, 2, 1, C)), T, C, int64(s.H), int64(s.W))
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "encodings disagree")
}

func TestShiftRefusesHugeTensors(t *testing.T) {
	// 8x64x256x160 elements is more than float32 index encodings hold
	// exactly (2^24), so the shift is left alone; nothing is allocated.
	b := newShiftBuilder(13)
	s := clipShape{N: 1, T: 8, C: 64, H: 256, W: 160}
	y := b.mmactionShift(b.activation(s, "x"), s, 8, nil)
	g := b.finish(t, b.consume(y))
	expectShiftUnchanged(t, g, y, "more than 16777216")
}

// shiftModelDir finds a model folder: the tiny models in testdata, the others
// where testmodels finds them.
func shiftModelDir(t *testing.T, name string) string {
	t.Helper()
	if dir := filepath.Join("..", "testdata", name); shiftModelExists(filepath.Join(dir, "model.onnx")) {
		return dir
	}
	return testmodels.Model(t, name)
}

func shiftModelExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadShiftModel reads a model, infers shapes and folds constants, as the
// pipeline does before shift recognition.
func loadShiftModel(t *testing.T, dir string) *ir.Graph {
	t.Helper()
	g := irtest.Load(t, filepath.Join(dir, "model.onnx"))
	if err := FoldConstants(g); err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g
}

// shiftDataSet reads the inputs and expected outputs of test_data_set_k.
func shiftDataSet(t *testing.T, dir string, k int) (map[string]*ir.Tensor, map[string]*ir.Tensor) {
	t.Helper()
	ds, err := onnx.LoadDataSet(filepath.Join(dir, fmt.Sprintf("test_data_set_%d", k)))
	if err != nil {
		t.Fatal(err)
	}
	in, out := map[string]*ir.Tensor{}, map[string]*ir.Tensor{}
	for i, name := range ds.InputNames {
		in[name] = ds.Inputs[i]
	}
	for i, name := range ds.OutputNames {
		out[name] = ds.Outputs[i]
	}
	return in, out
}

// wantModelShift is the shift every TSM model of the README uses on an
// activation of c channels: offline [0, c/8) reads t+1 and [c/8, c/4)
// reads t-1 over T segments; online [0, c/8) reads the previous frame
// from the state.
func wantModelShift(c, segments int, online bool) ops.Shift {
	f := c / 8
	if online {
		return ops.Shift{Segments: 1, Ranges: []ops.ShiftRange{{Begin: 0, End: f, Offset: -1}}}
	}
	return ops.Shift{Segments: segments, Ranges: []ops.ShiftRange{{Begin: 0, End: f, Offset: 1}, {Begin: f, End: 2 * f, Offset: -1}}}
}

// checkModelShifts checks every TemporalShift node of g against the
// README's shift and returns their channel counts.
func checkModelShifts(t *testing.T, g *ir.Graph, segments int, online bool) []int {
	t.Helper()
	var channels []int
	for _, n := range shiftNodes(g) {
		x := n.Inputs[0]
		c := x.Shape[1]
		got, _, err := ops.ShiftOf(n)
		if err != nil {
			t.Fatal(err)
		}
		want := wantModelShift(c, segments, online)
		if got.String() != want.String() {
			t.Errorf("%s on %v%v: shift %v, want %v", n.Describe(), x, x.Shape, got, want)
		}
		if online {
			if len(n.Inputs) != 2 || !slices.Contains(g.Inputs, n.Inputs[1]) || n.Inputs[1].Shape[1] != want.StateChannels() {
				t.Errorf("%s: inputs %v, want the activation and a state graph input of %d channels", n.Describe(), n.Inputs, want.StateChannels())
			}
		} else if len(n.Inputs) != 1 {
			t.Errorf("%s: inputs %v, want the activation only", n.Describe(), n.Inputs)
		}
		channels = append(channels, c)
	}
	return channels
}

func TestRecognizeShiftTinyModels(t *testing.T) {
	tests := []struct {
		model    string
		channels []int // channels of each shifted activation, in order
	}{
		// BasicBlock ResNet of widths 8/16/16/32: each block's input.
		{"tsm_tiny_official", []int{8, 8, 16, 16}},
		// Mini MobileNetV2: the two expanding residual blocks, 16 and 32.
		{"tsm_tiny_mmaction", []int{16, 32}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			dir := shiftModelDir(t, tc.model)
			g := loadShiftModel(t, dir)
			var inputs, before []map[string]*ir.Tensor
			for k := 0; k < 2; k++ {
				in, _ := shiftDataSet(t, dir, k)
				out, err := interp.Run(g, in)
				if err != nil {
					t.Fatal(err)
				}
				inputs, before = append(inputs, in), append(before, out)
			}
			recognizeShiftsChecked(t, g)
			if got := checkModelShifts(t, g, 4, false); !slices.Equal(got, tc.channels) {
				t.Errorf("shifted activations have %v channels, want %v", got, tc.channels)
			}
			for k, in := range inputs {
				after, err := interp.Run(g, in)
				if err != nil {
					t.Fatal(err)
				}
				if e := shiftOutputsRelErr(t, after, before[k]); e > 1e-5 {
					t.Errorf("data set %d: recognition changed the outputs: relative error %g", k, e)
				}
				_, want := shiftDataSet(t, dir, k)
				if e := shiftOutputsRelErr(t, after, want); e > 1e-4 {
					t.Errorf("data set %d: outputs after recognition differ from the expected ones: relative error %g", k, e)
				}
			}
		})
	}
}

func TestRecognizeShiftSharedModels(t *testing.T) {
	tests := []struct {
		model  string
		shifts int
		online bool
		large  bool // skipped under -short
		// run says when to check the interpreter's outputs after
		// recognition against the data sets: "always", "long" (not
		// under -short) or "never" (too slow for the interpreter).
		run string
	}{
		{"tsm_mobilenetv2_k400_8f_official", 10, false, false, "long"},
		{"tsm_mobilenetv2_k400_8f_mmaction", 10, false, false, "long"},
		{"tsm_mobilenetv2_jester_online", 10, true, false, "always"},
		{"tsm_resnet50_k400_8f_mmaction", 16, false, true, "never"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			if tc.large && testing.Short() {
				t.Skip("ResNet50 skipped in -short mode")
			}
			dir := shiftModelDir(t, tc.model)
			g := loadShiftModel(t, dir)
			recognizeShiftsChecked(t, g)
			if err := EliminateDeadCode(g); err != nil {
				t.Fatal(err)
			}
			channels := checkModelShifts(t, g, 8, tc.online)
			if len(channels) != tc.shifts {
				t.Errorf("recognised %d shifts, want %d", len(channels), tc.shifts)
			}
			t.Logf("%d shifts on activations of %v channels", len(channels), channels)
			for _, n := range g.Nodes {
				switch n.Op {
				case "ScatterND", "Concat", "Sub", "Where", "Expand", "ConstantOfShape":
					t.Errorf("%s left after recognition", n.Describe())
				case "Slice":
					if !tc.online || !g.IsOutput(n.Outputs[0]) {
						t.Errorf("%s left after recognition and does not write a state output", n.Describe())
					}
				}
			}
			if tc.run == "never" || tc.run == "long" && testing.Short() {
				return
			}
			// For the online model, data set 1 is the second frame fed
			// the state data set 0 returned: it checks the state input.
			for k := 0; k < 2; k++ {
				in, want := shiftDataSet(t, dir, k)
				got, err := interp.Run(g, in)
				if err != nil {
					t.Fatal(err)
				}
				if e := shiftOutputsRelErr(t, got, want); e > 1e-4 {
					t.Errorf("data set %d: outputs after recognition differ from the expected ones: relative error %g", k, e)
				}
			}
		})
	}
}
