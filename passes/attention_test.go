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

func TestQuantizeAttention(t *testing.T) {
	swap := attrs("perm", []int64{0, 2, 1})
	qdq := func(b *builder, name string, x *ir.Value, scale float32, zero *ir.Value) *ir.Value {
		s := b.f32(name+"_s", ir.Shape{}, scale)
		return b.op("DequantizeLinear", nil, b.op("QuantizeLinear", nil, x, s, zero), s, zero)
	}
	runPassCases(t, []passCase{{
		name: "dequantised queries through a reshape, keys through a pool over frames, values too",
		run:  passes(FuseAttention, QuantizeAttention, EliminateDeadCode),
		build: func(b *builder) {
			q := qdq(b, "q", b.Input("q", 1, 3, 2, 2, 4), 0.02, irtest.Zero("qz", ir.Uint8, 130))
			k := qdq(b, "k", b.Input("k", 1, 3, 2, 4, 4), 0.03, irtest.Zero("kz", ir.Int8, -2))
			v := qdq(b, "v", b.Input("v", 1, 5, 2, 4, 4), 0.04, irtest.Zero("vz", ir.Uint8, 128))
			pool := attrs("kernel_shape", []int64{1, 2, 2}, "strides", []int64{1, 2, 2})
			theta := b.op("Reshape", nil, q, b.i64("qs", 1, 3, 16))
			phi := b.op("Reshape", nil, b.op("MaxPool", pool, k), b.i64("ks", 1, 3, 8))
			g := b.op("Reshape", nil, b.op("MaxPool", pool, v), b.i64("vs", 1, 5, 8))
			s := b.op("MatMul", nil, b.op("Transpose", swap, theta), phi)
			y := b.op("MatMul", nil, b.op("Softmax", attrs("axis", -1), s), b.op("Transpose", swap, g))
			b.Output(b.op("Transpose", swap, y))
		},
		want: `
graph t opset(ai.onnx=13)
  input %q: f32[1,3,2,2,4]
  input %k: f32[1,3,2,4,4]
  input %v: f32[1,5,2,4,4]
  const %q_s: f32[] = {0.02}
  const %qz: u8[] = {130}
  const %k_s: f32[] = {0.03}
  const %kz: i8[] = {-2}
  const %v_s: f32[] = {0.04}
  const %vz: u8[] = {128}
  const %qs: i64[3] = {1,3,16}
  const %ks: i64[3] = {1,3,8}
  const %vs: i64[3] = {1,5,8}
  const %reshape3_dequantized_scale: f32[] = {0.04}
  const %reshape3_dequantized_zero_point: u8[] = {128}
  %quantizelinear: u8[1,3,2,2,4] = QuantizeLinear(%q, %q_s, %qz)
  %quantizelinear2: i8[1,3,2,4,4] = QuantizeLinear(%k, %k_s, %kz)
  %quantizelinear3: u8[1,5,2,4,4] = QuantizeLinear(%v, %v_s, %vz)
  %reshape_q: u8[1,3,16] = Reshape(%quantizelinear, %qs)
  %maxpool_q: i8[1,3,2,2,2] = MaxPool(%quantizelinear2) {kernel_shape=[1,2,2], strides=[1,2,2]}
  %reshape2_q: i8[1,3,8] = Reshape(%maxpool_q, %ks)
  %maxpool2_q: u8[1,5,2,2,2] = MaxPool(%quantizelinear3) {kernel_shape=[1,2,2], strides=[1,2,2]}
  %reshape3_q: u8[1,5,8] = Reshape(%maxpool2_q, %vs)
  %reshape3_dequantized: f32[1,5,8] = DequantizeLinear(%reshape3_q, %reshape3_dequantized_scale, %reshape3_dequantized_zero_point)
  %transpose3: f32[1,5,16] = tsmc.Attention(%reshape_q, %reshape2_q, %reshape3_dequantized) {k_scale=0.03, k_zero_point=-2, q_scale=0.02, q_zero_point=130}
  output %transpose3
`,
	}, {
		name: "left alone: keys not dequantised, queries of two parameter sets",
		run:  passes(FuseAttention, QuantizeAttention, EliminateDeadCode),
		build: func(b *builder) {
			z := irtest.Zero("z", ir.Uint8, 128)
			q := qdq(b, "q", b.Input("q", 1, 3, 4), 0.02, z)
			s := b.op("MatMul", nil, b.op("Transpose", swap, q), b.Input("k", 1, 3, 5))
			y := b.op("MatMul", nil, b.op("Softmax", attrs("axis", -1), s), b.Input("v", 1, 5, 2))
			b.Output(y)
			q2 := b.op("Concat", attrs("axis", 1), qdq(b, "qa", b.Input("qa", 1, 2, 4), 0.02, z), qdq(b, "qb", b.Input("qb", 1, 1, 4), 0.05, z))
			s2 := b.op("MatMul", nil, b.op("Transpose", swap, q2), qdq(b, "k2", b.Input("k2", 1, 3, 5), 0.02, z))
			b.Output(b.op("MatMul", nil, b.op("Softmax", attrs("axis", -1), s2), b.Input("v2", 1, 5, 2)))
		},
		exact: true,
		want: `
graph t opset(ai.onnx=13)
  input %q: f32[1,3,4]
  input %k: f32[1,3,5]
  input %v: f32[1,5,2]
  input %qa: f32[1,2,4]
  input %qb: f32[1,1,4]
  input %k2: f32[1,3,5]
  input %v2: f32[1,5,2]
  const %q_s: f32[] = {0.02}
  const %z: u8[] = {128}
  const %qa_s: f32[] = {0.02}
  const %qb_s: f32[] = {0.05}
  const %k2_s: f32[] = {0.02}
  %quantizelinear: u8[1,3,4] = QuantizeLinear(%q, %q_s, %z)
  %dequantizelinear: f32[1,3,4] = DequantizeLinear(%quantizelinear, %q_s, %z)
  %v_t: f32[1,2,5] = Transpose(%v) {perm=[0,2,1]}
  %matmul2_t: f32[1,2,4] = tsmc.Attention(%dequantizelinear, %k, %v_t)
  %matmul2: f32[1,4,2] = Transpose(%matmul2_t) {perm=[0,2,1]}
  %quantizelinear2: u8[1,2,4] = QuantizeLinear(%qa, %qa_s, %z)
  %dequantizelinear2: f32[1,2,4] = DequantizeLinear(%quantizelinear2, %qa_s, %z)
  %quantizelinear3: u8[1,1,4] = QuantizeLinear(%qb, %qb_s, %z)
  %dequantizelinear3: f32[1,1,4] = DequantizeLinear(%quantizelinear3, %qb_s, %z)
  %concat: f32[1,3,4] = Concat(%dequantizelinear2, %dequantizelinear3) {axis=1}
  %quantizelinear4: u8[1,3,5] = QuantizeLinear(%k2, %k2_s, %z)
  %dequantizelinear4: f32[1,3,5] = DequantizeLinear(%quantizelinear4, %k2_s, %z)
  %v2_t: f32[1,2,5] = Transpose(%v2) {perm=[0,2,1]}
  %matmul4_t: f32[1,2,4] = tsmc.Attention(%concat, %dequantizelinear4, %v2_t)
  %matmul4: f32[1,4,2] = Transpose(%matmul4_t) {perm=[0,2,1]}
  output %matmul2
  output %matmul4
`,
	}})
}
