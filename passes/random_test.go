package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// randomNet builds random small TSM-like networks: blocks of shift, conv,
// BatchNorm, activation and residual add, then a classifier head and the
// segment consensus, in random combinations.
type randomNet struct {
	rng *rand.Rand
	b   *builder
	n   int // constants made so far, for unique names
	// shifts counts the TemporalShifts added; blockShifts those whose
	// output the identity path reads too.
	shifts, blockShifts int
	clips, segments     int
}

func (r *randomNet) name(base string) string {
	r.n++
	return fmt.Sprintf("%s%d", base, r.n)
}

// tensor returns a constant of uniform values in [lo, hi).
func (r *randomNet) tensor(base string, shape ir.Shape, lo, hi float64) *ir.Value {
	data := make([]float32, shape.Size())
	for i := range data {
		data[i] = float32(lo + (hi-lo)*r.rng.Float64())
	}
	return r.b.f32(r.name(base), shape, data...)
}

func (r *randomNet) pick(options ...int) int { return options[r.rng.IntN(len(options))] }

// shift adds a TemporalShift of x (channels c) with random ranges and
// offsets, or the stateful form reading a new graph input.
func (r *randomNet) shift(x *ir.Value, c, h, w int) *ir.Value {
	r.shifts++
	fold := max(1, c/r.pick(4, 8))
	if r.rng.IntN(4) == 0 {
		state := r.b.Input(r.name("state"), r.clips, fold, h, w)
		return r.b.opIn(ops.Domain, ops.OpTemporalShift, shiftAttrs(r.segments, 0, int64(fold), -1), x, state)
	}
	d1, d2 := int64(r.pick(1, -1, 2)), int64(r.pick(-1, 1, -2))
	return r.b.opIn(ops.Domain, ops.OpTemporalShift, shiftAttrs(r.segments, 0, int64(fold), d1, int64(fold), int64(2*fold), d2), x)
}

// conv adds a random Conv (and maybe BatchNormalization) from c channels.
func (r *randomNet) conv(x *ir.Value, c, h int) (y *ir.Value, cout, hout int) {
	k := r.pick(1, 3)
	stride := r.pick(1, 1, 2)
	group := 1
	cout = r.pick(c, c, 8, 16)
	if k == 3 && r.rng.IntN(3) == 0 {
		group, cout = c, c // depthwise
	}
	a := attrs("strides", []int64{int64(stride), int64(stride)}, "group", group)
	switch pad := r.pick(0, 1, 2); {
	case k == 1:
	case pad == 0:
		a["pads"] = newIntsAttr(1, 1, 1, 1)
	case pad == 1:
		a["auto_pad"] = newStringAttr("SAME_UPPER")
	default:
		a["pads"] = newIntsAttr(1, 0, 1, 2) // asymmetric, same total
	}
	scale := 1 / math.Sqrt(float64(c/group*k*k))
	inputs := []*ir.Value{x, r.tensor("w", ir.Shape{cout, c / group, k, k}, -scale, scale)}
	if r.rng.IntN(2) == 0 {
		inputs = append(inputs, r.tensor("b", ir.Shape{cout}, -0.1, 0.1))
	}
	y = r.b.op("Conv", a, inputs...)
	if r.rng.IntN(2) == 0 {
		y = r.b.op("BatchNormalization", nil, y,
			r.tensor("scale", ir.Shape{cout}, 0.5, 1.5), r.tensor("beta", ir.Shape{cout}, -0.2, 0.2),
			r.tensor("mean", ir.Shape{cout}, -0.3, 0.3), r.tensor("var", ir.Shape{cout}, 0.5, 1.5))
	}
	return y, cout, (h-1)/stride + 1 // every padding choice pads k-1 in total
}

// activation applies a random activation, or none.
func (r *randomNet) activation(x *ir.Value) *ir.Value {
	opset := r.b.G.Opsets[""]
	switch r.rng.IntN(4) {
	case 0:
		return r.b.op("Relu", nil, x)
	case 1:
		if opset < 11 {
			return r.b.op("Clip", attrs("min", float32(0), "max", float32(6)), x)
		}
		return r.b.op("Clip", nil, x, r.b.f32(r.name("lo"), ir.Shape{}, 0), r.b.f32(r.name("hi"), ir.Shape{}, 6))
	case 2:
		if opset < 11 {
			return r.b.op("Clip", attrs("min", float32(-0.5)), x)
		}
		return r.b.op("Clip", nil, x, r.b.f32(r.name("lo"), ir.Shape{}, -0.5))
	}
	return x
}

// block adds shift?, conv, activation and residual in random variants.
func (r *randomNet) block(x *ir.Value, c, h int) (*ir.Value, int, int) {
	in, identity := x, x
	if r.rng.IntN(2) == 0 {
		in = r.shift(x, c, h, h)
		if r.rng.IntN(3) == 0 {
			identity = in // 'block' placement: the identity path is shifted too
		}
	}
	y, cout, hout := r.conv(in, c, h)
	residual := cout == c && hout == h && r.rng.IntN(2) == 0
	if identity != x && residual {
		r.blockShifts++
	}
	switch {
	case !residual:
		y = r.activation(y)
	case r.rng.IntN(2) == 0: // ResNet: act(conv + identity)
		if r.rng.IntN(2) == 0 {
			y = r.b.op("Add", nil, y, identity)
		} else {
			y = r.b.op("Add", nil, identity, y)
		}
		y = r.activation(y)
	default: // activation first, then the add: only the activation fuses
		y = r.b.op("Add", nil, r.activation(y), identity)
	}
	return y, cout, hout
}

// head adds a random classifier head and the consensus, or nothing.
func (r *randomNet) head(x *ir.Value, c int) *ir.Value {
	const classes = 5
	var flat *ir.Value
	switch r.rng.IntN(3) {
	case 0:
		return x
	case 1: // MobileNetV2: x.mean(3).mean(2)
		m := r.b.op("ReduceMean", attrs("axes", []int64{3}, "keepdims", 0), x)
		flat = r.b.op("ReduceMean", attrs("axes", []int64{2}, "keepdims", 0), m)
	default: // ResNet: flatten(avgpool(x))
		flat = r.b.op("Flatten", attrs("axis", 1), r.b.op("GlobalAveragePool", nil, x))
	}
	var logits *ir.Value
	if r.rng.IntN(2) == 0 {
		logits = r.b.op("Gemm", attrs("transB", 1), flat, r.tensor("fc", ir.Shape{classes, c}, -0.5, 0.5), r.tensor("fcb", ir.Shape{classes}, -0.5, 0.5))
	} else {
		logits = r.b.op("Gemm", attrs("alpha", float32(0.5)), flat, r.tensor("fc", ir.Shape{c, classes}, -0.5, 0.5))
	}
	v := r.b.op("Reshape", nil, logits, r.b.i64(r.name("clips"), int64(r.clips), int64(r.segments), classes))
	return r.b.op("ReduceMean", attrs("axes", []int64{1}, "keepdims", 0), v)
}

func newRandomNet(t *testing.T, seed uint64) (*randomNet, *ir.Graph) {
	rng := rand.New(rand.NewPCG(seed, 7))
	opset := int64(13)
	if rng.IntN(3) == 0 {
		opset = 10
	}
	r := &randomNet{rng: rng, b: newBuilder(opset), clips: 1 + rng.IntN(2), segments: 1 + rng.IntN(3)}
	c, h := r.pick(8, 16), 3+rng.IntN(4)
	x := r.b.Input("x", r.clips*r.segments, c, h, h)
	for range 2 + rng.IntN(3) {
		x, c, h = r.block(x, c, h)
	}
	r.b.Output(r.head(x, c))
	return r, r.b.Graph(t)
}

// TestPipelineOnRandomNets checks that the pipeline keeps the interpreter's
// outputs (relative 1e-5) on random networks, leaves no BatchNormalization
// or ONNX Conv, and fuses every shift into its conv (materialising only
// the shifts the identity path reads too).
func TestPipelineOnRandomNets(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r, g := newRandomNet(t, seed)
			feeds := randomFeeds(g, rand.New(rand.NewPCG(seed, 3)))
			before, err := interp.Run(g, feeds)
			if err != nil {
				t.Fatalf("before the pipeline: %v\n%s", err, g.Print())
			}
			names := outputNames(g)
			original := g.Print()
			if err := Run(g, Options{}); err != nil {
				t.Fatalf("%v\n%s", err, original)
			}
			after, err := interp.Run(g, feeds)
			if err != nil {
				t.Fatalf("after the pipeline: %v\n%s", err, g.Print())
			}
			sameOutputs(t, g, before, after, names, 1e-5)
			st := g.ComputeStats()
			materialized, fused := ShiftCounts(g)
			if st.Ops["BatchNormalization"] > 0 || st.Ops["Conv"] > 0 || fused != r.shifts || materialized > r.blockShifts {
				t.Errorf("ops %v, %d shifts fused, %d materialised; want no BatchNormalization or Conv, %d fused, at most %d materialised",
					st.Ops, fused, materialized, r.shifts, r.blockShifts)
			}
			if t.Failed() {
				t.Logf("before:\n%s\nafter:\n%s", original, g.Print())
			}
		})
	}
}
