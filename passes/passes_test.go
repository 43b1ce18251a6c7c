package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// passCase is one before/after test: build a graph, run passes, compare
// the printed IR with want, and check the interpreter computes the same
// outputs before and after.
type passCase struct {
	name  string
	opset int64
	run   []func(*ir.Graph) error
	build func(b *builder)
	want  string
	// exact: the outputs after the passes must equal those before bit
	// for bit (else within 1e-6)
	exact bool
}

func runPassCases(t *testing.T, cases []passCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opset := c.opset
			if opset == 0 {
				opset = 13
			}
			b := newBuilder(opset)
			c.build(b)
			g := b.Graph(t)
			feeds := randomFeeds(g, rand.New(rand.NewPCG(1, 2)))
			before, err := interp.Run(g, feeds)
			if err != nil {
				t.Fatalf("before the passes: %v", err)
			}
			names := outputNames(g)
			for _, run := range c.run {
				if err := run(g); err != nil {
					t.Fatal(err)
				}
				if err := ir.InferShapes(g, interp.Eval); err != nil {
					t.Fatalf("after the pass: %v\n%s", err, g.Print())
				}
				if err := g.Verify(); err != nil {
					t.Fatalf("after the pass: %v\n%s", err, g.Print())
				}
			}
			want := strings.TrimLeft(c.want, "\n")
			if got := g.Print(); got != want {
				t.Errorf("after the pass:\n%s\nwant:\n%s", got, want)
			}
			after, err := interp.Run(g, feeds)
			if err != nil {
				t.Fatalf("after the passes: %v", err)
			}
			tol := 1e-6
			if c.exact {
				tol = 0
			}
			sameOutputs(t, g, before, after, names, tol)
		})
	}
}

func passes(fs ...func(*ir.Graph) error) []func(*ir.Graph) error { return fs }

func TestFoldConstants(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "shape arithmetic of a static shape",
		run:  passes(FoldConstants),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 4)
			s := b.op("Shape", nil, x)
			four := b.op("Gather", attrs("axis", 0), s, b.scalar("two", 2))
			r := b.op("Range", nil, b.scalar("zero", 0), four, b.scalar("one", 1))
			f := b.op("Cast", attrs("to", 1), r)
			u := b.op("Unsqueeze", nil, f, b.i64("axes", 0))
			e := b.op("Expand", nil, u, s)
			y := b.op("Add", nil, x, e)
			half := b.op("ConstantOfShape", attrs("value", ir.Float32s(ir.Shape{1}, []float32{0.5})), s)
			k := b.op("Constant", attrs("value_float", float32(0.25)))
			w := b.op("Mul", nil, y, half)
			b.Output(b.op("Sub", nil, w, k))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,4]
  const %expand: f32[1,2,4] = {0,1,2,3,0,1,2,3}
  const %constantofshape: f32[1,2,4] = splat(0.5)
  const %constant: f32[] = {0.25}
  %add: f32[1,2,4] = Add(%x, %expand)
  %mul: f32[1,2,4] = Mul(%add, %constantofshape)
  %sub: f32[1,2,4] = Sub(%mul, %constant)
  output %sub
`,
	}, {
		name: "large splats fold, large non-splats stay",
		run:  passes(FoldConstants),
		build: func(b *builder) {
			x := b.Input("x", 4, 64, 64, 32)
			zeros := b.op("ConstantOfShape", nil, b.op("Shape", nil, x))
			b.Output(b.op("Add", nil, x, zeros))
			b.Output(b.op("Range", nil, b.scalar("zero", 0), b.scalar("limit", 1<<17), b.scalar("one", 1)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[4,64,64,32]
  const %constantofshape: f32[4,64,64,32] = splat(0)
  const %zero: i64[] = {0}
  const %limit: i64[] = {131072}
  const %one: i64[] = {1}
  %add: f32[4,64,64,32] = Add(%x, %constantofshape)
  %range: i64[131072] = Range(%zero, %limit, %one)
  output %add
  output %range
`,
	}})
}

func TestRemoveIdentity(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "no-ops go, real reshapes stay, output names kept",
		run:  passes(RemoveIdentity),
		build: func(b *builder) {
			x := b.Input("x", 2, 3)
			a := b.op("Identity", nil, x)
			d := b.op("Dropout", nil, a)
			r := b.op("Reshape", nil, d, b.i64("shape23", 2, 3))
			e := b.op("Expand", nil, r, b.i64("expand23", 2, 3))
			y := b.op("Relu", nil, e)
			q := b.op("Reshape", nil, y, b.i64("shape32", 3, 2))
			b.Output(b.op("Identity", nil, q))
			b.Output(b.op("Identity", nil, x))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[2,3]
  const %shape32: i64[2] = {3,2}
  %relu: f32[2,3] = Relu(%x)
  %identity2: f32[3,2] = Reshape(%relu, %shape32)
  %identity3: f32[2,3] = Identity(%x)
  output %identity2
  output %identity3
`,
	}})
}

func TestEliminateDeadCode(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "unread chains and their constants vanish",
		run:  passes(EliminateDeadCode),
		build: func(b *builder) {
			x := b.Input("x", 2)
			y := b.op("Relu", nil, x)
			dead := b.op("Mul", nil, x, b.f32("two", ir.Shape{2}, 2, 2))
			b.op("Neg", nil, dead)
			b.Output(y)
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[2]
  %relu: f32[2] = Relu(%x)
  output %relu
`,
	}})
}

// bnParams adds BatchNormalization constants with s = scale/sqrt(var) =
// {2, 1} (epsilon 0).
func bnParams(b *builder) []*ir.Value {
	return []*ir.Value{
		b.f32("bn.scale", ir.Shape{2}, 1, 2),
		b.f32("bn.beta", ir.Shape{2}, 0.5, -1),
		b.f32("bn.mean", ir.Shape{2}, 1, 0),
		b.f32("bn.var", ir.Shape{2}, 0.25, 4),
	}
}

func TestFoldBatchNorm(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "conv without bias",
		run:  passes(FoldBatchNorm),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 2, 2)
			c := b.op("Conv", nil, x, b.f32("conv.weight", ir.Shape{2, 2, 1, 1}, 1, 2, 3, 4))
			b.Output(b.op("BatchNormalization", attrs("epsilon", float32(0)), append([]*ir.Value{c}, bnParams(b)...)...))
		},
		// W' = W*s, B' = (0-mean)*s + beta.
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,2,2]
  const %conv.weight_bn: f32[2,2,1,1] = {2,4,3,4}
  const %conv.bias_bn: f32[2] = {-1.5,-1}
  %batchnormalization: f32[1,2,2,2] = Conv(%x, %conv.weight_bn, %conv.bias_bn)
  output %batchnormalization
`,
	}, {
		name: "conv with bias",
		run:  passes(FoldBatchNorm),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 2, 2)
			c := b.op("Conv", nil, x, b.f32("conv.weight", ir.Shape{2, 2, 1, 1}, 1, 2, 3, 4), b.f32("conv.bias", ir.Shape{2}, 1, 2))
			b.Output(b.op("BatchNormalization", attrs("epsilon", float32(0)), append([]*ir.Value{c}, bnParams(b)...)...))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,2,2]
  const %conv.weight_bn: f32[2,2,1,1] = {2,4,3,4}
  const %conv.bias_bn: f32[2] = {0.5,1}
  %batchnormalization: f32[1,2,2,2] = Conv(%x, %conv.weight_bn, %conv.bias_bn)
  output %batchnormalization
`,
	}, {
		name: "conv output read elsewhere too",
		run:  passes(FoldBatchNorm),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 1, 1)
			c := b.op("Conv", nil, x, b.f32("w", ir.Shape{2, 2, 1, 1}, 1, 2, 3, 4))
			b.Output(b.op("BatchNormalization", attrs("epsilon", float32(0)), append([]*ir.Value{c}, bnParams(b)...)...))
			b.Output(b.op("Relu", nil, c))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,1,1]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %bn.scale: f32[2] = {1,2}
  const %bn.beta: f32[2] = {0.5,-1}
  const %bn.mean: f32[2] = {1,0}
  const %bn.var: f32[2] = {0.25,4}
  %conv: f32[1,2,1,1] = Conv(%x, %w)
  %batchnormalization: f32[1,2,1,1] = BatchNormalization(%conv, %bn.scale, %bn.beta, %bn.mean, %bn.var) {epsilon=0}
  %relu: f32[1,2,1,1] = Relu(%conv)
  output %batchnormalization
  output %relu
`,
	}})
}

func TestFuseActivation(t *testing.T) {
	// conv adds a 2x2 Conv sharing one weight and bias per graph.
	params := map[*builder][]*ir.Value{}
	conv := func(b *builder, x *ir.Value, a map[string]ir.Attr) *ir.Value {
		if params[b] == nil {
			params[b] = []*ir.Value{b.f32("conv.weight", ir.Shape{1, 1, 2, 2}, 1, -1, -1, 1), b.f32("conv.bias", ir.Shape{1}, 0.5)}
		}
		return b.op("Conv", a, append([]*ir.Value{x}, params[b]...)...)
	}
	runPassCases(t, []passCase{{
		name: "relu, auto_pad resolved, zero bias added",
		run:  passes(FuseActivation),
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 4, 4)
			c := b.op("Conv", attrs("auto_pad", "SAME_UPPER"), x, b.f32("conv.weight", ir.Shape{1, 1, 2, 2}, 1, -1, -1, 1))
			b.Output(b.op("Relu", nil, c))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,4,4]
  const %conv.weight: f32[1,1,2,2] = {1,-1,-1,1}
  const %conv.bias: f32[1] = {0}
  %relu: f32[1,1,4,4] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="relu", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,1,1], strides=[1,1]}
  output %relu
`,
	}, {
		name: "clip with bound inputs (opset 13), one bound omitted",
		run:  passes(FuseActivation),
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 3, 3)
			six := b.f32("six", ir.Shape{}, 6)
			c1 := conv(b, x, attrs("strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}))
			b.Output(b.op("Clip", nil, c1, b.f32("zero", ir.Shape{}, 0), six))
			c2 := conv(b, x, nil)
			b.Output(b.op("Clip", nil, c2, nil, six))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,3,3]
  const %conv.weight: f32[1,1,2,2] = {1,-1,-1,1}
  const %conv.bias: f32[1] = {0.5}
  %clip: f32[1,1,2,2] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="clip", clip_max=6, clip_min=0, dilations=[1,1], group=1, kernel_shape=[2,2], pads=[1,1,1,1], strides=[2,2]}
  %clip2: f32[1,1,2,2] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="clip", clip_max=6, clip_min=-Inf, dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  output %clip
  output %clip2
`,
	}, {
		name:  "clip with bound attributes (opset 10), default max",
		opset: 10,
		run:   passes(FuseActivation),
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 2, 2)
			b.Output(b.op("Clip", attrs("min", float32(0), "max", float32(6)), conv(b, x, nil)))
			b.Output(b.op("Clip", attrs("min", float32(-1)), conv(b, x, nil)))
		},
		want: `
graph t opset(ai.onnx=10)
  input %x: f32[1,1,2,2]
  const %conv.weight: f32[1,1,2,2] = {1,-1,-1,1}
  const %conv.bias: f32[1] = {0.5}
  %clip: f32[1,1,1,1] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="clip", clip_max=6, clip_min=0, dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %clip2: f32[1,1,1,1] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="clip", clip_max=3.4028235e+38, clip_min=-1, dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  output %clip
  output %clip2
`,
	}, {
		name: "conv output also a graph output: no fusion",
		run:  passes(FuseActivation),
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 2, 2)
			c := conv(b, x, nil)
			b.Output(c, b.op("Relu", nil, c))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,2,2]
  const %conv.weight: f32[1,1,2,2] = {1,-1,-1,1}
  const %conv.bias: f32[1] = {0.5}
  %conv: f32[1,1,1,1] = tsmc.Conv(%x, %conv.weight, %conv.bias) {dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %relu: f32[1,1,1,1] = Relu(%conv)
  output %conv
  output %relu
`,
	}})
}

// conv1x1 adds a 1x1 Conv from 2 to 2 channels.
func conv1x1(b *builder, x *ir.Value, name string, w ...float32) *ir.Value {
	return b.op("Conv", nil, x, b.f32(name, ir.Shape{2, 2, 1, 1}, w...))
}

func TestFuseResidualAdd(t *testing.T) {
	const attrsText = "dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]"
	runPassCases(t, []passCase{{
		name: "ResNet: relu(conv + identity)",
		run:  passes(FuseActivation, FuseResidualAdd),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 2, 2)
			c := conv1x1(b, x, "w", 1, 2, 3, 4)
			b.Output(b.op("Relu", nil, b.op("Add", nil, x, c)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,2,2]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %relu: f32[1,2,2,2] = tsmc.Conv(%x, %w, %w_bias, %x) {activation="relu", ` + attrsText + `}
  output %relu
`,
	}, {
		name: "downsample: the later conv takes the earlier as residual",
		run:  passes(FuseActivation, FuseResidualAdd),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 2, 2)
			main := conv1x1(b, x, "w", 1, 2, 3, 4)
			down := conv1x1(b, x, "down", 1, 0, 0, 1)
			b.Output(b.op("Add", nil, main, down))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,2,2]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  const %down: f32[2,2,1,1] = {1,0,0,1}
  const %down_bias: f32[2] = splat(0)
  %conv: f32[1,2,2,2] = tsmc.Conv(%x, %w, %w_bias) {` + attrsText + `}
  %add: f32[1,2,2,2] = tsmc.Conv(%x, %down, %down_bias, %conv) {` + attrsText + `}
  output %add
`,
	}, {
		name: "residual computed after the conv: nodes re-sorted",
		run:  passes(FuseActivation, FuseResidualAdd),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 2, 2)
			c := conv1x1(b, x, "w", 1, 2, 3, 4)
			r := b.op("Sigmoid", nil, x)
			b.Output(b.op("Add", nil, c, r))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,2,2]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %sigmoid: f32[1,2,2,2] = Sigmoid(%x)
  %add: f32[1,2,2,2] = tsmc.Conv(%x, %w, %w_bias, %sigmoid) {` + attrsText + `}
  output %add
`,
	}, {
		name: "broadcast add and activated conv stay",
		run:  passes(FuseActivation, FuseResidualAdd),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 1, 1)
			c := conv1x1(b, x, "w", 1, 2, 3, 4)
			b.Output(b.op("Add", nil, c, b.f32("per_channel", ir.Shape{2, 1, 1}, 1, 2)))
			r := b.op("Relu", nil, conv1x1(b, x, "w2", 1, 0, 0, 1))
			b.Output(b.op("Add", nil, r, x))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,1,1]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  const %per_channel: f32[2,1,1] = {1,2}
  const %w2: f32[2,2,1,1] = {1,0,0,1}
  const %w2_bias: f32[2] = splat(0)
  %conv: f32[1,2,1,1] = tsmc.Conv(%x, %w, %w_bias) {` + attrsText + `}
  %add: f32[1,2,1,1] = Add(%conv, %per_channel)
  %relu: f32[1,2,1,1] = tsmc.Conv(%x, %w2, %w2_bias) {activation="relu", ` + attrsText + `}
  %add2: f32[1,2,1,1] = Add(%relu, %x)
  output %add
  output %add2
`,
	}})
}

// shiftAttrs are a TemporalShift's attributes for segments and triples.
func shiftAttrs(segments int, triples ...int64) map[string]ir.Attr {
	return attrs("segments", segments, "shift", triples)
}

func TestFuseShift(t *testing.T) {
	// Attributes print sorted: the shift's sit between pads and strides.
	const convText = "dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0]"
	runPassCases(t, []passCase{{
		name: "shift read only by a conv",
		run:  passes(FuseActivation, FuseShift),
		build: func(b *builder) {
			x := b.Input("x", 4, 2, 1, 1) // 2 clips of 2 frames
			s := b.opIn(ops.Domain, ops.OpTemporalShift, shiftAttrs(2, 0, 1, 1, 1, 2, -1), x)
			b.Output(conv1x1(b, s, "w", 1, 2, 3, 4))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[4,2,1,1]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %conv: f32[4,2,1,1] = tsmc.Conv(%x, %w, %w_bias) {` + convText + `, segments=2, shift=[0,1,1,1,2,-1], strides=[1,1]}
  output %conv
`,
	}, {
		name: "block placement: the identity path keeps the shift",
		run:  passes(FuseActivation, FuseResidualAdd, FuseShift),
		build: func(b *builder) {
			x := b.Input("x", 4, 2, 1, 1)
			s := b.opIn(ops.Domain, ops.OpTemporalShift, shiftAttrs(2, 0, 1, -1), x)
			c1 := b.op("Relu", nil, conv1x1(b, s, "w1", 1, 2, 3, 4))
			c2 := conv1x1(b, c1, "w2", 1, 0, 0, 1)
			b.Output(b.op("Add", nil, c2, s))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[4,2,1,1]
  const %w1: f32[2,2,1,1] = {1,2,3,4}
  const %w1_bias: f32[2] = splat(0)
  const %w2: f32[2,2,1,1] = {1,0,0,1}
  const %w2_bias: f32[2] = splat(0)
  %temporalshift: f32[4,2,1,1] = tsmc.TemporalShift(%x) {segments=2, shift=[0,1,-1]}
  %relu: f32[4,2,1,1] = tsmc.Conv(%x, %w1, %w1_bias) {activation="relu", ` + convText + `, segments=2, shift=[0,1,-1], strides=[1,1]}
  %add: f32[4,2,1,1] = tsmc.Conv(%relu, %w2, %w2_bias, %temporalshift) {` + convText + `, strides=[1,1]}
  output %add
`,
	}, {
		name: "online shift with state",
		run:  passes(FuseActivation, FuseShift),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 1, 1)
			state := b.Input("state", 1, 1, 1, 1)
			s := b.opIn(ops.Domain, ops.OpTemporalShift, shiftAttrs(1, 0, 1, -1), x, state)
			b.Output(conv1x1(b, s, "w", 1, 2, 3, 4))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,1,1]
  input %state: f32[1,1,1,1]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %conv: f32[1,2,1,1] = tsmc.Conv(%x, %w, %w_bias, _, %state) {` + convText + `, segments=1, shift=[0,1,-1], strides=[1,1]}
  output %conv
`,
	}})
}

func TestSimplifyHead(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "MobileNetV2: mean(3).mean(2), Linear, TSN consensus",
		run:  passes(MergeReduceMeans, PoolReduceMeans, FuseDense, FuseSegmentMean),
		build: func(b *builder) {
			x := b.Input("x", 2, 3, 2, 2)
			m := b.op("ReduceMean", attrs("axes", []int64{3}, "keepdims", 0), x)
			m = b.op("ReduceMean", attrs("axes", []int64{2}, "keepdims", 0), m)
			fc := b.op("Gemm", attrs("transB", 1), m, b.f32("fc.weight", ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6), b.f32("fc.bias", ir.Shape{2}, 1, -1))
			v := b.op("Reshape", nil, fc, b.i64("clips", 1, 2, 2))
			b.Output(b.op("ReduceMean", attrs("axes", []int64{1}, "keepdims", 0), v))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[2,3,2,2]
  const %fc.weight: f32[2,3] = {1,2,3,4,5,6}
  const %fc.bias: f32[2] = {1,-1}
  %gemm: f32[2,2] = tsmc.Dense(%x, %fc.weight, %fc.bias)
  %reducemean3: f32[1,2] = tsmc.SegmentMean(%gemm) {segments=2}
  output %reducemean3
`,
	}, {
		name: "ResNet: GlobalAveragePool, Flatten, Gemm with alpha, beta, transB=0",
		run:  passes(MergeReduceMeans, PoolReduceMeans, FuseDense, FuseSegmentMean),
		build: func(b *builder) {
			x := b.Input("x", 1, 3, 2, 2)
			p := b.op("Flatten", attrs("axis", 1), b.op("GlobalAveragePool", nil, x))
			b.Output(b.op("Gemm", attrs("alpha", float32(2), "beta", float32(0.5)), p,
				b.f32("b", ir.Shape{3, 2}, 1, 2, 3, 4, 5, 6), b.f32("c", ir.Shape{1, 2}, 1, -1)))
		},
		// W = alpha * B^T, bias = beta * C.
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,3,2,2]
  const %gemm_weight: f32[2,3] = {2,6,10,4,8,12}
  const %gemm_bias: f32[2] = {0.5,-0.5}
  %gemm: f32[1,2] = tsmc.Dense(%x, %gemm_weight, %gemm_bias)
  output %gemm
`,
	}, {
		name: "spatial mean with keepdims becomes GlobalAveragePool",
		run:  passes(MergeReduceMeans, PoolReduceMeans, FuseDense, FuseSegmentMean),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 3, 3)
			b.Output(b.op("ReduceMean", attrs("axes", []int64{-1, 2}), x))
			b.Output(b.op("ReduceMean", attrs("axes", []int64{1, 2}), x)) // not spatial
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,3,3]
  %reducemean: f32[1,2,1,1] = GlobalAveragePool(%x)
  %reducemean2: f32[1,1,1,3] = ReduceMean(%x) {axes=[1,2]}
  output %reducemean
  output %reducemean2
`,
	}, {
		name:  "opset 18 axes inputs, no classifier",
		opset: 18,
		run:   passes(MergeReduceMeans, PoolReduceMeans, FuseDense, FuseSegmentMean),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 3, 3)
			m := b.op("ReduceMean", attrs("keepdims", 0), x, b.i64("last", -1))
			b.Output(b.op("ReduceMean", attrs("keepdims", 0), m, b.i64("last2", -1)))
		},
		want: `
graph t opset(ai.onnx=18)
  input %x: f32[1,2,3,3]
  %reducemean2_pooled: f32[1,2,1,1] = GlobalAveragePool(%x)
  %reducemean2: f32[1,2] = Flatten(%reducemean2_pooled) {axis=1}
  output %reducemean2
`,
	}})
}

func TestRunStopsAfterAPassAndCallsTheHook(t *testing.T) {
	b := newBuilder(13)
	x := b.Input("x", 1, 2, 2, 2)
	b.Output(b.op("Relu", nil, conv1x1(b, x, "w", 1, 2, 3, 4)))
	g := b.Graph(t)
	var seen []string
	err := Run(g, Options{StopAfter: "fuse-activation", AfterPass: func(p Pass, g *ir.Graph) error {
		seen = append(seen, p.Name)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	var want []string // the pipeline's passes up to fuse-activation
	for _, p := range Pipeline {
		want = append(want, p.Name)
		if p.Name == "fuse-activation" {
			break
		}
	}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("hook saw %v, want %v", seen, want)
	}
	if st := g.ComputeStats(); st.Ops["tsmc.Conv"] != 1 || st.Nodes != 1 {
		t.Errorf("after fuse-activation: ops %v, want one tsmc.Conv with the Relu fused", st.Ops)
	}
	if err := Run(g, Options{StopAfter: "no-such-pass"}); err == nil || !strings.Contains(err.Error(), "fold-constants") {
		t.Errorf("unknown pass name: error %v, want one listing the passes", err)
	}
}

func TestRunNamesTheBrokenPass(t *testing.T) {
	saved := Pipeline
	defer func() { Pipeline = saved }()
	Pipeline = []Pass{{Name: "drop-producer", Doc: "removes the node an output needs", Run: func(g *ir.Graph) error {
		g.Nodes = g.Nodes[1:]
		return nil
	}}}
	b := newBuilder(13)
	x := b.Input("x", 2)
	b.Output(b.op("Neg", nil, b.op("Relu", nil, x)))
	err := Run(b.Graph(t), Options{})
	if err == nil || !strings.Contains(err.Error(), "pass drop-producer") {
		t.Errorf("error %v, want one naming pass drop-producer", err)
	}
}

func TestFusedOpShapeRulesRejectBadOperands(t *testing.T) {
	conv := attrs("kernel_shape", []int64{1, 1}, "strides", []int64{1, 1}, "dilations", []int64{1, 1}, "pads", []int64{0, 0, 0, 0}, "group", 1)
	// with returns conv's attributes plus (or overriding) extra.
	with := func(extra map[string]ir.Attr) map[string]ir.Attr {
		out := map[string]ir.Attr{}
		for _, m := range []map[string]ir.Attr{conv, extra} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	cases := []struct {
		name  string
		build func(b *builder, x *ir.Value, w, bias *ir.Value)
		want  string
	}{
		{"residual of the wrong shape", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, conv, x, w, bias, b.Input("r", 2, 2, 3, 3))
		}, "residual"},
		{"channel scale of the wrong shape", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, conv, x, w, bias, nil, nil, b.Input("g", 2, 2, 2, 1))
		}, "channel scale"},
		{"channel scale with a shift", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, with(shiftAttrs(2, 0, 1, 1)), x, w, bias, nil, nil, b.Input("g", 2, 2, 1, 1))
		}, "do not combine"},
		{"kernel_shape disagrees with the weights", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, with(attrs("kernel_shape", []int64{3, 3})), x, w, bias)
		}, "kernel_shape"},
		{"shift state of the wrong shape", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, with(shiftAttrs(2, 0, 1, -1)), x, w, bias, nil, b.Input("s", 1, 2, 2, 2))
		}, "state"},
		{"batch not a multiple of the segments", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpConv, with(shiftAttrs(3, 0, 1, 1)), x, w, bias)
		}, "segments"},
		{"dense weights of the wrong width", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpDense, nil, x, b.f32("fc", ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6), bias)
		}, "W [K, C]"},
		{"segment mean of an uneven batch", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpSegmentMean, attrs("segments", 3), x)
		}, "segments of 3"},
		{"attention keys of other channels than the queries", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpAttention, nil, b.Input("qt", 2, 4, 5), b.Input("k", 2, 3, 7), b.Input("vt", 2, 6, 7))
		}, "[..., D, M], [..., D, N], [..., E, N]"},
		{"attention of other leading dims", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpAttention, nil, b.Input("qt", 2, 4, 5), b.Input("k", 3, 4, 7), b.Input("vt", 2, 6, 7))
		}, "leading dims differ"},
		{"attention scale not finite", func(b *builder, x, w, bias *ir.Value) {
			b.opIn(ops.Domain, ops.OpAttention, attrs("scale", float32(math.Inf(1))), b.Input("qt", 4, 5), b.Input("k", 4, 7), b.Input("vt", 6, 7))
		}, "scale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(13)
			x := b.Input("x", 2, 2, 2, 2)
			w, bias := b.f32("w", ir.Shape{2, 2, 1, 1}, 1, 2, 3, 4), b.f32("bias", ir.Shape{2}, 0, 0)
			c.build(b, x, w, bias)
			b.Output(b.G.Nodes[len(b.G.Nodes)-1].Outputs[0])
			err := ir.InferShapes(b.G, interp.Eval)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "domain tsmc") {
				t.Errorf("error %v, want one naming the node and mentioning %q", err, c.want)
			}
		})
	}
}

func TestFoldPad(t *testing.T) {
	runPassCases(t, []passCase{{
		name: "zero pad into an average pool that counts it",
		run:  passes(FoldPad),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 4, 4)
			p := b.op("Pad", nil, x, b.i64("pads", 0, 0, 1, 1, 0, 0, 1, 1))
			b.Output(b.op("AveragePool", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}), p))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,4,4]
  %averagepool: f32[1,2,2,2] = AveragePool(%x) {count_include_pad=1, kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  output %averagepool
`,
	}, {
		name: "asymmetric zero pad into a conv's pads",
		run:  passes(FoldPad),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 3, 3)
			p := b.op("Pad", nil, x, b.i64("pads", 0, 0, 0, 1, 0, 0, 1, 0))
			b.Output(b.op("Conv", attrs("pads", []int64{1, 0, 1, 0}), p, b.f32("w", ir.Shape{1, 2, 1, 1}, 1, 2)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,3,3]
  const %w: f32[1,2,1,1] = {1,2}
  %conv: f32[1,1,6,4] = Conv(%x, %w) {pads=[1,1,2,0]}
  output %conv
`,
	}, {
		name: "a reflect pad and a pad of the channels stay",
		run:  passes(FoldPad),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 3, 3)
			p := b.op("Pad", attrs("mode", "reflect"), x, b.i64("pads", 0, 0, 1, 1, 0, 0, 1, 1))
			q := b.op("Pad", nil, x, b.i64("pads2", 0, 1, 0, 0, 0, 0, 0, 0))
			b.Output(b.op("AveragePool", attrs("kernel_shape", []int64{2, 2}), p), b.op("AveragePool", attrs("kernel_shape", []int64{2, 2}), q))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,3,3]
  const %pads: i64[8] = {0,0,1,1,0,0,1,1}
  const %pads2: i64[8] = {0,1,0,0,0,0,0,0}
  %pad: f32[1,2,5,5] = Pad(%x, %pads) {mode="reflect"}
  %pad2: f32[1,3,3,3] = Pad(%x, %pads2)
  %averagepool: f32[1,2,4,4] = AveragePool(%pad) {kernel_shape=[2,2]}
  %averagepool2: f32[1,3,2,2] = AveragePool(%pad2) {kernel_shape=[2,2]}
  output %averagepool
  output %averagepool2
`,
	}})
}
