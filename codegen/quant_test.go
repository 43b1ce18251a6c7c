package codegen

import (
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// allQuantOpsGraph uses every quantised op the generator lowers, on two
// clips of two frames: QuantizeLinear to uint8 and int8 (graph inputs and
// a shift state), tsmc.QConv as a GEMM with a fused shift and a ReLU
// clamp, as a depthwise convolution, with a fused residual add (the
// residual first), with a shift state and on int8 tensors; tsmc.QAdd,
// uint8 MaxPool, a channel Slice and a Concat of bytes, Flatten,
// tsmc.QDense to int8, the materialised uint8 shift and
// DequantizeLinear.
// qbuilder adds the constants and attributes of quantised ops to a
// builder.
type qbuilder struct {
	*builder
	rng *rand.Rand
}

func (b qbuilder) u8(name string, v int64) *ir.Value {
	return ir.NewConst(name, &ir.Tensor{DType: ir.Uint8, Shape: ir.Shape{}, I64: []int64{v}})
}

func (b qbuilder) i8(name string, v int64) *ir.Value {
	return ir.NewConst(name, &ir.Tensor{DType: ir.Int8, Shape: ir.Shape{}, I64: []int64{v}})
}

// weights are random symmetric int8 weights.
func (b qbuilder) weights(name string, shape ...int) *ir.Value {
	w := &ir.Tensor{DType: ir.Int8, Shape: ir.Shape(shape), I64: make([]int64, ir.Shape(shape).Size())}
	for i := range w.I64 {
		w.I64[i] = int64(b.rng.IntN(255) - 127)
	}
	return ir.NewConst(name, w)
}

func (b qbuilder) bias(name string, n int) *ir.Value {
	v := &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{n}, I64: make([]int64, n)}
	for i := range v.I64 {
		v.I64[i] = int64(b.rng.IntN(4001) - 2000)
	}
	return ir.NewConst(name, v)
}

func (b qbuilder) scales(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 0.004 * float32(0.5+b.rng.Float64())
	}
	return s
}

// qattrs are a quantised op's attributes: input (scale, zero), m
// weight scales, output (scale, zero, clamp, type), then any others.
func (b qbuilder) qattrs(xs float32, xz int64, m int, ys float32, yz, lo, hi int64, typ string, extra ...any) map[string]ir.Attr {
	return attrs(append([]any{"x_scale", xs, "x_zero_point", int(xz), "w_scales", b.scales(m), "w_zero_points", make([]int64, m),
		"y_scale", ys, "y_zero_point", int(yz), "y_min", int(lo), "y_max", int(hi), "output_type", typ}, extra...)...)
}

// qconvGeom is a square convolution's geometry attributes.
func qconvGeom(group, stride, pad, k int) []any {
	s, p, kk := int64(stride), int64(pad), int64(k)
	return []any{"strides", []int64{s, s}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p}, "group", group, "kernel_shape", []int64{kk, kk}}
}

func allQuantOpsGraph(t *testing.T) *ir.Graph {
	b := qbuilder{newBuilder(13), rand.New(rand.NewPCG(5, 9))}
	u8, i8, weights, bias, qattrs, conv := b.u8, b.i8, b.weights, b.bias, b.qattrs, qconvGeom

	x := b.Input("x", 4, 8, 6, 6)
	state := b.Input("state", 2, 2, 6, 6)
	xq := b.op("xq", "QuantizeLinear", nil, x, b.scalar("xs", 0.02), u8("xz", 128))
	sq := b.op("sq", "QuantizeLinear", nil, state, b.scalar("ss", 0.02), u8("sz", 128))
	c1 := b.op("conv_shift", "tsmc.QConv", qattrs(0.02, 128, 8, 0.05, 20, 20, 255, "u8",
		append(conv(1, 1, 1, 3), "segments", 2, "shift", []int64{0, 1, 1, 1, 2, -1})...), xq, weights("w1", 8, 8, 3, 3), bias("b1", 8))
	dw := b.op("depthwise", "tsmc.QConv", qattrs(0.05, 20, 8, 0.04, 100, 0, 255, "u8", conv(8, 2, 1, 3)...),
		c1, weights("wd", 8, 1, 3, 3), bias("bd", 8))
	res := b.op("residual", "tsmc.QConv", qattrs(0.04, 100, 8, 0.03, 120, 0, 255, "u8",
		append(conv(1, 1, 0, 1), "r_scale", float32(0.04), "r_zero_point", 100, "out_scale", float32(0.06), "out_zero_point", 90,
			"out_min", 90, "out_max", 255, "residual_first", 1)...), dw, weights("wr", 8, 8, 1, 1), bias("br", 8), dw)
	sum := b.op("sum", "tsmc.QAdd", attrs("a_scale", float32(0.06), "a_zero_point", 90, "b_scale", float32(0.04), "b_zero_point", 100,
		"y_scale", float32(0.07), "y_zero_point", 110, "y_min", 0, "y_max", 255, "output_type", "u8"), res, dw)
	mp := b.op("maxpool", "MaxPool", attrs("kernel_shape", []int64{2, 2}, "strides", []int64{1, 1}), sum)
	sl := b.op("slice", "Slice", nil, mp, b.ints("starts", 2), b.ints("ends", 5), b.ints("axes", 1))
	cc := b.op("concat", "Concat", attrs("axis", 1), sl, mp)
	fl := b.op("flatten", "Flatten", attrs("axis", 1), cc)
	qd := b.op("dense", "tsmc.QDense", qattrs(0.07, 110, 5, 0.2, -10, -128, 127, "i8"), fl, weights("wf", 5, 44), bias("bf", 5))
	logits := b.op("logits", "DequantizeLinear", nil, qd, b.scalar("ls", 0.2), i8("lz", -10))
	online := b.op("online", "tsmc.QConv", qattrs(0.02, 128, 4, 0.03, 128, 0, 255, "u8",
		append(conv(1, 1, 0, 1), "segments", 2, "shift", []int64{0, 2, -1})...), xq, weights("wo", 4, 8, 1, 1), bias("bo", 4), nil, sq)
	shifted := b.op("shifted", "tsmc.TemporalShift", attrs("segments", 2, "shift", []int64{0, 2, -1}, "fill", 128), xq, sq)
	x8 := b.op("x8", "QuantizeLinear", nil, x, b.scalar("x8s", 0.03), i8("x8z", -5))
	c8 := b.op("conv_i8", "tsmc.QConv", qattrs(0.03, -5, 6, 0.05, 3, -128, 127, "i8", conv(1, 2, 1, 3)...), x8, weights("w8", 6, 8, 3, 3), bias("b8", 6))
	b.Output(logits,
		b.op("online_f", "DequantizeLinear", nil, online, b.scalar("os", 0.03), u8("oz", 128)),
		b.op("shifted_f", "DequantizeLinear", nil, shifted, b.scalar("hs", 0.02), u8("hz", 128)),
		b.op("conv_i8_f", "DequantizeLinear", nil, c8, b.scalar("cs", 0.05), i8("cz", 3)),
		b.op("sum_f", "DequantizeLinear", nil, sum, b.scalar("ys", 0.07), u8("yz", 110)))
	return b.Graph(t)
}

// TestGeneratedQuantizedCodeMatchesInterpreter generates the quantised
// graph with data sets the interpreter computes and runs the generated
// package's tests. The int8 kernels compute the interpreter's integer
// sums and its float32 requantisation and residual rounding (fused
// multiply-adds included), so the outputs agree exactly: the package's
// 1e-4 tolerance is far below one quantisation step.
func TestGeneratedQuantizedCodeMatchesInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	g := allQuantOpsGraph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(4, 6)), "set_a", "set_b", "set_c")
	pkg, err := Generate(g, Options{Package: "allq", DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	target := WriteGenerated(t, pkg)
	src := pkg.Files["model.go"]
	for _, want := range []string{"runtime.NewQConv(", "runtime.NewQDepthwiseConv(", "runtime.NewQMaxPool(", "runtime.Quantize(", "runtime.Dequantize(", ".ApplyQ(", "runtime.QAddOp{", "ResidualFirst: true"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated code has no %s", want)
		}
	}
	for _, args := range [][]string{{"vet", target}, {"test", "-v", "-count=1", target}} {
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		t.Logf("go %v:\n%s", args, out)
	}
}
