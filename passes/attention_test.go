package passes

import (
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/ir"
)

func TestFuseAttention(t *testing.T) {
	swap := attrs("perm", []int64{0, 2, 1})
	runPassCases(t, []passCase{{
		name: "non-local block: the transposes absorbed, the scale a Div",
		run:  passes(FuseAttention, EliminateDeadCode),
		build: func(b *builder) {
			qt, k, vt := b.Input("qt", 2, 4, 5), b.Input("k", 2, 4, 3), b.Input("vt", 2, 6, 3)
			s := b.op("MatMul", nil, b.op("Transpose", swap, qt), k)
			p := b.op("Softmax", attrs("axis", -1), b.op("Div", nil, s, b.f32("two", ir.Shape{}, 2)))
			y := b.op("MatMul", nil, p, b.op("Transpose", swap, vt))
			b.Output(b.op("Transpose", swap, y))
		},
		want: `
graph t opset(ai.onnx=13)
  input %qt: f32[2,4,5]
  input %k: f32[2,4,3]
  input %vt: f32[2,6,3]
  %transpose3: f32[2,6,5] = tsmc.Attention(%qt, %k, %vt) {scale=0.5}
  output %transpose3
`,
	}, {
		name:  "QDQ non-local block: the QuantizeLinear before the byte transpose quantises the attention's output",
		run:   passes(FuseAttention, EliminateDeadCode),
		exact: true,
		build: func(b *builder) {
			qt, k, vt := b.Input("qt", 2, 4, 5), b.Input("k", 2, 4, 3), b.Input("vt", 2, 6, 3)
			s := b.op("MatMul", nil, b.op("Transpose", swap, qt), k)
			y := b.op("MatMul", nil, b.op("Softmax", attrs("axis", -1), s), b.op("Transpose", swap, vt))
			q := b.op("QuantizeLinear", nil, y, b.f32("ys", ir.Shape{}, 0.01), irtest.Zero("yz", ir.Uint8, 7))
			b.Output(b.op("Transpose", swap, q))
		},
		want: `
graph t opset(ai.onnx=13)
  input %qt: f32[2,4,5]
  input %k: f32[2,4,3]
  input %vt: f32[2,6,3]
  const %ys: f32[] = {0.01}
  const %yz: u8[] = {7}
  %matmul2_t: f32[2,6,5] = tsmc.Attention(%qt, %k, %vt)
  %transpose3: u8[2,6,5] = QuantizeLinear(%matmul2_t, %ys, %yz)
  output %transpose3
`,
	}, {
		name: "plain matrices: transposes added, a Mul by a leading scalar",
		run:  passes(FuseAttention),
		build: func(b *builder) {
			a, k, c := b.Input("a", 5, 4), b.Input("k", 4, 3), b.Input("c", 3, 6)
			s := b.op("Mul", nil, b.f32("eighth", ir.Shape{1}, 0.125), b.op("MatMul", nil, a, k))
			b.Output(b.op("MatMul", nil, b.op("Softmax", nil, s), c))
		},
		want: `
graph t opset(ai.onnx=13)
  input %a: f32[5,4]
  input %k: f32[4,3]
  input %c: f32[3,6]
  %a_t: f32[4,5] = Transpose(%a) {perm=[1,0]}
  %c_t: f32[6,3] = Transpose(%c) {perm=[1,0]}
  %matmul2_t: f32[6,5] = tsmc.Attention(%a_t, %k, %c_t) {scale=0.125}
  %matmul2: f32[5,6] = Transpose(%matmul2_t) {perm=[1,0]}
  output %matmul2
`,
	}, {
		name: "left alone: softmax over another axis, scores read twice, broadcast batch",
		run:  passes(FuseAttention),
		build: func(b *builder) {
			a, k, c := b.Input("a", 2, 5, 4), b.Input("k", 2, 4, 5), b.Input("c", 2, 5, 6)
			s := b.op("MatMul", nil, a, k)
			b.Output(b.op("MatMul", nil, b.op("Softmax", attrs("axis", 1), s), c))
			s2 := b.op("MatMul", nil, a, k)
			p2 := b.op("Softmax", nil, s2)
			b.Output(b.op("MatMul", nil, p2, c))
			b.Output(s2)
			s3 := b.op("MatMul", nil, a, b.Input("k1", 4, 5))
			b.Output(b.op("MatMul", nil, b.op("Softmax", nil, s3), c))
		},
		want: `
graph t opset(ai.onnx=13)
  input %a: f32[2,5,4]
  input %k: f32[2,4,5]
  input %c: f32[2,5,6]
  input %k1: f32[4,5]
  %matmul: f32[2,5,5] = MatMul(%a, %k)
  %softmax: f32[2,5,5] = Softmax(%matmul) {axis=1}
  %matmul2: f32[2,5,6] = MatMul(%softmax, %c)
  %matmul3: f32[2,5,5] = MatMul(%a, %k)
  %softmax2: f32[2,5,5] = Softmax(%matmul3)
  %matmul4: f32[2,5,6] = MatMul(%softmax2, %c)
  %matmul5: f32[2,5,5] = MatMul(%a, %k1)
  %softmax3: f32[2,5,5] = Softmax(%matmul5)
  %matmul6: f32[2,5,6] = MatMul(%softmax3, %c)
  output %matmul2
  output %matmul4
  output %matmul3
  output %matmul6
`,
	}})
}
