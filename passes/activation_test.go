package passes

import (
	"math"
	"slices"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// The interpreter of this branch has no HardSigmoid or HardSwish kernel
// yet (another branch adds them); until it has, these tests give it the
// ONNX definitions, computed as its elementwise kernels compute (float64,
// rounded once), so that graphs using them run before the passes.
func init() {
	have := interp.Supported()
	unary := func(f func(x float64, n *ir.Node) float64) interp.Kernel {
		return func(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
			y, err := ir.NewTensor(ir.Float32, in[0].Shape)
			if err != nil {
				return nil, err
			}
			for i, v := range in[0].F32 {
				y.F32[i] = float32(f(float64(v), n))
			}
			return []*ir.Tensor{y}, nil
		}
	}
	if !slices.Contains(have, "HardSigmoid") {
		interp.Register("", "HardSigmoid", unary(func(x float64, n *ir.Node) float64 {
			return math.Max(0, math.Min(1, float64(n.AttrFloat("alpha", 0.2))*x+float64(n.AttrFloat("beta", 0.5))))
		}))
	}
	if !slices.Contains(have, "HardSwish") {
		interp.Register("", "HardSwish", unary(func(x float64, _ *ir.Node) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) }))
	}
}

func TestFuseGatedActivations(t *testing.T) {
	// conv adds a 2x2 Conv (weights and bias shared per graph) whose
	// outputs on [-1, 1) inputs reach both corners of HardSigmoid(x/6+1/2).
	params := map[*builder][]*ir.Value{}
	conv := func(b *builder, x *ir.Value) *ir.Value {
		if params[b] == nil {
			params[b] = []*ir.Value{b.f32("conv.weight", ir.Shape{1, 1, 2, 2}, 3, -3, -2, 2), b.f32("conv.bias", ir.Shape{1}, 0.5)}
		}
		return b.op("Conv", nil, append([]*ir.Value{x}, params[b]...)...)
	}
	sixth := attrs("alpha", float32(1.0/6))
	runPassCases(t, []passCase{{
		name:  "silu and hardswish as torch.onnx writes them, either operand order",
		run:   passes(FuseActivation),
		exact: true,
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 4, 4)
			c1 := conv(b, x)
			b.Output(b.op("Mul", nil, c1, b.op("Sigmoid", nil, c1)))
			c2 := conv(b, x)
			b.Output(b.op("Mul", nil, b.op("HardSigmoid", sixth, c2), c2))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,4,4]
  const %conv.weight: f32[1,1,2,2] = {3,-3,-2,2}
  const %conv.bias: f32[1] = {0.5}
  %mul: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="silu", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %mul2: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {act_alpha=0.16666667, act_beta=0.5, activation="hardswish", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  output %mul
  output %mul2
`,
	}, {
		name:  "single gates and the HardSwish op (opset 14)",
		opset: 14,
		run:   passes(FuseActivation),
		exact: true,
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 4, 4)
			b.Output(b.op("Sigmoid", nil, conv(b, x)))
			b.Output(b.op("HardSigmoid", nil, conv(b, x)))
			b.Output(b.op("HardSwish", nil, conv(b, x)))
		},
		want: `
graph t opset(ai.onnx=14)
  input %x: f32[1,1,4,4]
  const %conv.weight: f32[1,1,2,2] = {3,-3,-2,2}
  const %conv.bias: f32[1] = {0.5}
  %sigmoid: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="sigmoid", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %hardsigmoid: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {act_alpha=0.2, act_beta=0.5, activation="hardsigmoid", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %hardswish: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {activation="hardswish", dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  output %sigmoid
  output %hardsigmoid
  output %hardswish
`,
	}, {
		name:  "silu after a residual add fuses with it",
		run:   passes(FuseActivation, FuseResidualAdd, FuseGatedActivation),
		exact: true,
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 3, 3)
			r := b.Input("r", 1, 2, 3, 3)
			a := b.op("Add", nil, conv1x1(b, x, "w", 1, 2, 3, 4), r)
			b.Output(b.op("Mul", nil, a, b.op("Sigmoid", nil, a)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,3,3]
  input %r: f32[1,2,3,3]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %mul: f32[1,2,3,3] = tsmc.Conv(%x, %w, %w_bias, %r) {activation="silu", dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  output %mul
`,
	}, {
		name:  "standalone: a conv output read by a pool too, a graph input, after a Gemm",
		run:   passes(FuseActivation, FuseGatedActivation),
		exact: true,
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 4, 4)
			c := conv(b, x)
			b.Output(b.op("Mul", nil, c, b.op("HardSigmoid", sixth, c)), b.op("GlobalAveragePool", nil, c))
			b.Output(b.op("Mul", nil, b.op("Sigmoid", nil, x), x))
			v := b.Input("v", 2, 3)
			gemm := b.op("Gemm", attrs("transB", 1), v, b.f32("fc", ir.Shape{2, 3}, 1, 2, 3, -4, -5, -6))
			b.Output(b.op("Mul", nil, gemm, b.op("HardSigmoid", attrs("alpha", float32(0.25), "beta", float32(0.25)), gemm)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,4,4]
  input %v: f32[2,3]
  const %conv.weight: f32[1,1,2,2] = {3,-3,-2,2}
  const %conv.bias: f32[1] = {0.5}
  const %fc: f32[2,3] = {1,2,3,-4,-5,-6}
  %conv: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %mul: f32[1,1,3,3] = tsmc.Activation(%conv) {act_alpha=0.16666667, act_beta=0.5, activation="hardswish"}
  %globalaveragepool: f32[1,1,1,1] = GlobalAveragePool(%conv)
  %mul2: f32[1,1,4,4] = tsmc.Activation(%x) {activation="silu"}
  %gemm: f32[2,2] = Gemm(%v, %fc) {transB=1}
  %mul3: f32[2,2] = tsmc.Activation(%gemm) {act_alpha=0.25, act_beta=0.25, activation="hardswish"}
  output %mul
  output %globalaveragepool
  output %mul2
  output %mul3
`,
	}, {
		name: "not a gate: read elsewhere too, of another value, broadcast",
		run:  passes(FuseActivation, FuseGatedActivation),
		build: func(b *builder) {
			x := b.Input("x", 1, 1, 4, 4)
			c := conv(b, x)
			s := b.op("Sigmoid", nil, c)
			b.Output(b.op("Mul", nil, c, s), s)
			y := b.Input("y", 1, 1, 4, 4)
			b.Output(b.op("Mul", nil, x, b.op("Sigmoid", nil, y)))
			z := b.Input("z", 1, 1, 1, 1)
			b.Output(b.op("Mul", nil, x, b.op("HardSigmoid", nil, z)))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,1,4,4]
  input %y: f32[1,1,4,4]
  input %z: f32[1,1,1,1]
  const %conv.weight: f32[1,1,2,2] = {3,-3,-2,2}
  const %conv.bias: f32[1] = {0.5}
  %conv: f32[1,1,3,3] = tsmc.Conv(%x, %conv.weight, %conv.bias) {dilations=[1,1], group=1, kernel_shape=[2,2], pads=[0,0,0,0], strides=[1,1]}
  %sigmoid: f32[1,1,3,3] = Sigmoid(%conv)
  %mul: f32[1,1,3,3] = Mul(%conv, %sigmoid)
  %sigmoid2: f32[1,1,4,4] = Sigmoid(%y)
  %mul2: f32[1,1,4,4] = Mul(%x, %sigmoid2)
  %hardsigmoid: f32[1,1,1,1] = HardSigmoid(%z)
  %mul3: f32[1,1,4,4] = Mul(%x, %hardsigmoid)
  output %mul
  output %sigmoid
  output %mul2
  output %mul3
`,
	}})
}
