package passes

import (
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestFuseMaxPool(t *testing.T) {
	const convAttrs = "dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], strides=[1,1]"
	const pooledAttrs = "dilations=[1,1], group=1, kernel_shape=[1,1], pads=[0,0,0,0], pool_kernel=[3,3], pool_pads=[1,1,1,1], pool_strides=[2,2], strides=[1,1]"
	pool := func(b *builder, x *ir.Value, extra ...any) *ir.Value {
		return b.op("MaxPool", attrs(append([]any{"kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}}, extra...)...), x)
	}
	runPassCases(t, []passCase{{
		name: "stem: relu(conv) then max pool",
		run:  passes(FuseActivation, FuseMaxPool),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 4, 4)
			b.Output(pool(b, b.op("Relu", nil, conv1x1(b, x, "w", 1, 2, 3, 4))))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,4,4]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  %maxpool: f32[1,2,2,2] = tsmc.Conv(%x, %w, %w_bias) {activation="relu", ` + pooledAttrs + `}
  output %maxpool
`,
	}, {
		name: "the conv's output read elsewhere, a residual, ceil mode, dilation: no fusion",
		run:  passes(FuseActivation, FuseResidualAdd, FuseMaxPool),
		build: func(b *builder) {
			x := b.Input("x", 1, 2, 4, 4)
			c := conv1x1(b, x, "w", 1, 2, 3, 4)
			b.Output(pool(b, c))
			b.Output(c)
			b.Output(pool(b, b.op("Add", nil, conv1x1(b, x, "r", 1, 0, 0, 1), x)))
			b.Output(pool(b, conv1x1(b, x, "v", 1, 1, 1, 1), "ceil_mode", 1))
			b.Output(pool(b, conv1x1(b, x, "d", 2, 1, 1, 2), "dilations", []int64{2, 2}))
		},
		want: `
graph t opset(ai.onnx=13)
  input %x: f32[1,2,4,4]
  const %w: f32[2,2,1,1] = {1,2,3,4}
  const %w_bias: f32[2] = splat(0)
  const %r: f32[2,2,1,1] = {1,0,0,1}
  const %r_bias: f32[2] = splat(0)
  const %v: f32[2,2,1,1] = splat(1)
  const %v_bias: f32[2] = splat(0)
  const %d: f32[2,2,1,1] = {2,1,1,2}
  const %d_bias: f32[2] = splat(0)
  %conv: f32[1,2,4,4] = tsmc.Conv(%x, %w, %w_bias) {` + convAttrs + `}
  %maxpool: f32[1,2,2,2] = MaxPool(%conv) {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  %add: f32[1,2,4,4] = tsmc.Conv(%x, %r, %r_bias, %x) {` + convAttrs + `}
  %maxpool2: f32[1,2,2,2] = MaxPool(%add) {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  %conv3: f32[1,2,4,4] = tsmc.Conv(%x, %v, %v_bias) {` + convAttrs + `}
  %maxpool3: f32[1,2,3,3] = MaxPool(%conv3) {ceil_mode=1, kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  %conv4: f32[1,2,4,4] = tsmc.Conv(%x, %d, %d_bias) {` + convAttrs + `}
  %maxpool4: f32[1,2,1,1] = MaxPool(%conv4) {dilations=[2,2], kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]}
  output %maxpool
  output %conv
  output %maxpool2
  output %maxpool3
  output %maxpool4
`,
	}})
}
