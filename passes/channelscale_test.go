package passes

import (
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestFuseChannelScale(t *testing.T) {
	// Maps of 32x33 pixels are above the transposed plan's largest
	// (runtime.ScaleFoldPays), those of 4x4 below.
	// gate builds a squeeze-and-excitation gate of x [N, 2, H, W]:
	// Sigmoid(conv(GlobalAveragePool(x))), shaped [N, 2, 1, 1].
	gate := func(b *builder, x *ir.Value, name string) *ir.Value {
		return b.op("Sigmoid", nil, conv1x1(b, b.op("GlobalAveragePool", nil, x), name, 1, -2, 0.5, 3))
	}
	run := passes(FuseActivation, FuseChannelScale)
	runPassCases(t, []passCase{{
		name:  "the gate, either operand order, folds into a 1x1 and a strided 3x3 conv",
		run:   run,
		exact: true,
		build: func(b *builder) {
			x := b.Input("x", 2, 2, 32, 33)
			s := gate(b, x, "se")
			b.Output(conv1x1(b, b.op("Mul", nil, x, s), "p", 1, 2, 3, 4))
			w3 := b.f32("w3", ir.Shape{1, 2, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9)
			b.Output(b.op("Conv", attrs("pads", []int64{1, 1, 1, 1}, "strides", []int64{2, 2}), b.op("Mul", nil, s, x), w3))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[2,2,32,33]
  const %se: f32[2,2,1,1] = {1,-2,0.5,3}
  const %se_bias: f32[2] = splat(0)
  const %p: f32[2,2,1,1] = {1,2,3,4}
  const %p_bias: f32[2] = splat(0)
  const %w3: f32[1,2,3,3] = #b7fb104f94172431
  const %w3_bias: f32[1] = {0}
  %globalaveragepool: f32[2,2,1,1] = GlobalAveragePool(%x)
  %sigmoid: f32[2,2,1,1] = tsmc.Conv(%globalaveragepool, %se, %se_bias) {activation="sigmoid", dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %conv2: f32[2,2,32,33] = tsmc.Conv(%x, %p, %p_bias, _, _, %sigmoid) {dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %conv3: f32[2,1,16,17] = tsmc.Conv(%x, %w3, %w3_bias, _, _, %sigmoid) {dilations=[1,1], group=1, kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  output %conv2
  output %conv3
`,
	}, {
		name: "kept: a product read twice, a depthwise reader, a scale of the wrong batch, a Winograd shape, a small map",
		run:  run,
		build: func(b *builder) {
			x := b.Input("x", 2, 2, 32, 33)
			s := gate(b, x, "se")
			m := b.op("Mul", nil, x, s)
			b.Output(conv1x1(b, m, "p", 1, 2, 3, 4))
			b.Output(m)
			dw := b.f32("dw", ir.Shape{2, 1, 1, 1}, 2, 3)
			b.Output(b.op("Conv", attrs("group", 2), b.op("Mul", nil, x, s), dw))
			one := b.f32("one", ir.Shape{1, 2, 1, 1}, 0.5, 2)
			b.Output(conv1x1(b, b.op("Mul", nil, x, one), "q", 1, 2, 3, 4))
			w3 := b.f32("w3", ir.Shape{1, 2, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9)
			b.Output(b.op("Conv", attrs("pads", []int64{1, 1, 1, 1}), b.op("Mul", nil, x, s), w3))
			y := b.Input("y", 2, 2, 4, 4)
			b.Output(conv1x1(b, b.op("Mul", nil, y, gate(b, y, "se2")), "r", 1, 2, 3, 4))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[2,2,32,33]
  input %y: f32[2,2,4,4]
  const %se: f32[2,2,1,1] = {1,-2,0.5,3}
  const %se_bias: f32[2] = splat(0)
  const %p: f32[2,2,1,1] = {1,2,3,4}
  const %p_bias: f32[2] = splat(0)
  const %dw: f32[2,1,1,1] = {2,3}
  const %dw_bias: f32[2] = splat(0)
  const %one: f32[1,2,1,1] = {0.5,2}
  const %q: f32[2,2,1,1] = {1,2,3,4}
  const %q_bias: f32[2] = splat(0)
  const %w3: f32[1,2,3,3] = #b7fb104f94172431
  const %w3_bias: f32[1] = {0}
  const %se2: f32[2,2,1,1] = {1,-2,0.5,3}
  const %se2_bias: f32[2] = splat(0)
  const %r: f32[2,2,1,1] = {1,2,3,4}
  const %r_bias: f32[2] = splat(0)
  %globalaveragepool: f32[2,2,1,1] = GlobalAveragePool(%x)
  %sigmoid: f32[2,2,1,1] = tsmc.Conv(%globalaveragepool, %se, %se_bias) {activation="sigmoid", dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %mul: f32[2,2,32,33] = Mul(%x, %sigmoid)
  %conv2: f32[2,2,32,33] = tsmc.Conv(%mul, %p, %p_bias) {dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %mul2: f32[2,2,32,33] = Mul(%x, %sigmoid)
  %conv3: f32[2,2,32,33] = tsmc.Conv(%mul2, %dw, %dw_bias) {dilations=[1,1], group=2, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %mul3: f32[2,2,32,33] = Mul(%x, %one)
  %conv4: f32[2,2,32,33] = tsmc.Conv(%mul3, %q, %q_bias) {dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %mul4: f32[2,2,32,33] = Mul(%x, %sigmoid)
  %conv5: f32[2,1,32,33] = tsmc.Conv(%mul4, %w3, %w3_bias) {dilations=[1,1], group=1, kernel_shape=[3,3], pads=[1,1,1,1], strides=[1,1]}
  %globalaveragepool2: f32[2,2,1,1] = GlobalAveragePool(%y)
  %sigmoid2: f32[2,2,1,1] = tsmc.Conv(%globalaveragepool2, %se2, %se2_bias) {activation="sigmoid", dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  %mul5: f32[2,2,4,4] = Mul(%y, %sigmoid2)
  %conv7: f32[2,2,4,4] = tsmc.Conv(%mul5, %r, %r_bias) {dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]}
  output %conv2
  output %mul
  output %conv3
  output %conv4
  output %conv5
  output %conv7
`,
	}})
}
