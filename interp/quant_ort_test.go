package interp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

// The quantised kernels against onnxruntime: small models of every
// quantised op over random shapes, zero points, scales and types, each
// case an output of one model so that onnxruntime starts once per model.
// Inputs are float32, quantised inside the model; outputs are dequantised
// (or, for int32 results, cast) to float32, which is exact, so equal
// floats mean equal integers.

// ortCase is one output of a comparison model.
type ortCase struct {
	name string
	out  *ir.Value
	// step is the output's quantisation step where onnxruntime may differ
	// by one; 0 demands equality.
	step float32
}

// ortModel builds one comparison model.
type ortModel struct {
	b      *irtest.Builder
	rng    *rand.Rand
	feeds  map[string]*ir.Tensor
	cases  []ortCase
	consts int
}

func newORTModel(opset int64, seed uint64) *ortModel {
	return &ortModel{
		b:     irtest.New(map[string]int64{"": opset, interp.MSDomain: 1}),
		rng:   rand.New(rand.NewPCG(seed, 17)),
		feeds: map[string]*ir.Tensor{},
	}
}

func (m *ortModel) name(prefix string) string {
	m.consts++
	return fmt.Sprintf("%s%d", prefix, m.consts)
}

// input adds a float input of shape with values uniform in ±amp.
func (m *ortModel) input(shape ir.Shape, amp float32) *ir.Value {
	v := m.b.Input(m.name("x"), shape...)
	t, _ := ir.NewTensor(ir.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = amp * (2*m.rng.Float32() - 1)
	}
	m.feeds[v.Name] = t
	return v
}

// quantized adds a float input quantised to dt with a random zero point;
// it returns the quantised value and its scale and zero point.
func (m *ortModel) quantized(shape ir.Shape, dt ir.DType) (q *ir.Value, scale float32, zero int64) {
	scale = 0.02 * float32(0.5+m.rng.Float64())
	lo, hi, _ := interp.QuantRange(dt)
	zero = lo + 64 + m.rng.Int64N(hi-lo-127)
	// The input spans the quantised range and a little beyond, so some
	// values saturate.
	x := m.input(shape, 140*scale)
	q = m.b.Node(m.name("q"), "", "QuantizeLinear", nil, x, irtest.Scale(m.name("s"), scale), irtest.Zero(m.name("z"), dt, zero))
	return q, scale, zero
}

// dequantized adds y as an output through DequantizeLinear.
func (m *ortModel) dequantized(name string, y *ir.Value, scale float32, zero int64, dt ir.DType, step float32) {
	out := m.b.Node(m.name("y"), "", "DequantizeLinear", nil, y, irtest.Scale(m.name("s"), scale), irtest.Zero(m.name("z"), dt, zero))
	m.b.Output(out)
	m.cases = append(m.cases, ortCase{name: name, out: out, step: step})
}

// cast adds an int32 y as a float output.
func (m *ortModel) cast(name string, y *ir.Value) {
	out := m.b.Node(m.name("y"), "", "Cast", irtest.Attrs("to", 1), y)
	m.b.Output(out)
	m.cases = append(m.cases, ortCase{name: name, out: out})
}

// outScale is an output scale that puts one standard deviation of a sum
// of k products of centred operands (uniform in about ±140 and ±127, so
// deviations 80 and 73) at 50 steps.
func outScale(scaleProduct float32, k int) float32 {
	return scaleProduct * 80 * 73 * float32(math.Sqrt(float64(k))) / 50
}

// run writes the model, runs it through onnxruntime and the interpreter
// and compares every case.
func (m *ortModel) run(t *testing.T) {
	t.Helper()
	g := m.b.Graph(t)
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ort.Run(ort.Request{Model: path, Inputs: m.feeds, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := interp.Run(g, m.feeds)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.cases {
		want := res.Outputs[c.out.Name]
		mine := got[c.out.Name].F32
		if len(want) != len(mine) {
			t.Errorf("%s: onnxruntime gave %d values, the interpreter %d", c.name, len(want), len(mine))
			continue
		}
		off := 0
		for i := range want {
			d := math.Abs(float64(mine[i] - want[i]))
			switch {
			case d == 0:
			case c.step > 0 && d <= float64(c.step)*1.0001:
				off++
			default:
				t.Errorf("%s: element %d is %v, onnxruntime %v", c.name, i, mine[i], want[i])
				return
			}
		}
		if off > 0 {
			t.Logf("%s: %d of %d elements one step from onnxruntime's", c.name, off, len(want))
		}
		distinct := map[float32]bool{}
		for _, v := range want {
			distinct[v] = true
		}
		if len(want) > 8 && len(distinct) < 3 {
			t.Errorf("%s: onnxruntime's output holds only %d distinct values of %d: the case tests little", c.name, len(distinct), len(want))
		}
	}
	t.Logf("%d cases compared with onnxruntime", len(m.cases))
}

func requireORT(t *testing.T) {
	if err := ort.Available(); err != nil {
		t.Skipf("onnxruntime not available: %v", err)
	}
}

// addConvs adds QLinearConv and ConvInteger cases: plain, strided,
// padded, grouped and depthwise, uint8 and int8 activations, per-channel
// int8 and per-tensor uint8 weights, with and without bias.
func (m *ortModel) addConvs(count int) {
	for i := 0; i < count; i++ {
		r := m.rng
		c := 1 + r.IntN(6)
		group := 1
		switch r.IntN(3) {
		case 1:
			group = c // depthwise
		case 2:
			c, group = 2*c, 2
		}
		maps := group * (1 + r.IntN(4))
		k := []int{1, 3, 3, 5}[r.IntN(4)]
		stride := 1 + r.IntN(2)
		pad := int64(r.IntN(k/2 + 1))
		h, w := k+2+r.IntN(6), k+2+r.IntN(6)
		xdt := []ir.DType{ir.Uint8, ir.Int8}[r.IntN(2)]
		x, sx, zx := m.quantized(ir.Shape{1 + r.IntN(2), c, h, w}, xdt)
		attrs := irtest.Attrs("group", group, "pads", []int64{pad, pad, pad, pad}, "strides", []int64{int64(stride), int64(stride)}, "kernel_shape", []int64{int64(k), int64(k)})
		wshape := ir.Shape{maps, c / group, k, k}
		perChannel := xdt == ir.Int8 || r.IntN(3) > 0 // onnxruntime takes uint8 weights with uint8 x only
		var wt *ir.Value
		var ws []float32
		var wz []int64
		wdt := ir.Int8
		if perChannel {
			wt = irtest.RandomInts(r, m.name("w"), ir.Int8, wshape, -127, 127)
			ws = irtest.RandomScales(r, 0.01, maps)
			wz = make([]int64, maps)
		} else {
			wdt = ir.Uint8
			wt = irtest.RandomInts(r, m.name("w"), ir.Uint8, wshape, 0, 255)
			ws = irtest.RandomScales(r, 0.01, 1)
			wz = []int64{100 + r.Int64N(56)}
		}
		depth := c / group * k * k
		mean := 0.0
		for _, s := range ws {
			mean += math.Log(float64(s)) / float64(len(ws))
		}
		ys := outScale(sx*float32(math.Exp(mean)), depth)
		ydt := xdt
		yz := int64(0)
		if ydt == ir.Uint8 {
			yz = 100 + r.Int64N(56)
		}
		inputs := []*ir.Value{x, irtest.Scale(m.name("s"), sx), irtest.Zero(m.name("z"), xdt, zx), wt, irtest.Scale(m.name("s"), ws...), irtest.Zero(m.name("z"), wdt, wz...), irtest.Scale(m.name("s"), ys), irtest.Zero(m.name("z"), ydt, yz)}
		if r.IntN(3) > 0 {
			inputs = append(inputs, irtest.RandomInts(r, m.name("b"), ir.Int32, ir.Shape{maps}, -20000, 20000))
		}
		name := fmt.Sprintf("QLinearConv %d (%v x, %v w, %d->%d ch, group %d, k%d s%d p%d)", i, xdt, wdt, c, maps, group, k, stride, pad)
		m.dequantized(name, m.b.Node(m.name("conv"), "", "QLinearConv", attrs, inputs...), ys, yz, ydt, 0)
		if xdt == ir.Uint8 && wdt == ir.Uint8 {
			acc := m.b.Node(m.name("convint"), "", "ConvInteger", attrs, x, wt, irtest.Zero(m.name("z"), xdt, zx), irtest.Zero(m.name("z"), wdt, wz...))
			m.cast(fmt.Sprintf("ConvInteger %d", i), acc)
		}
	}
}

// addMatMuls adds QLinearMatMul, MatMulInteger and QGemm cases.
func (m *ortModel) addMatMuls(count int) {
	for i := 0; i < count; i++ {
		r := m.rng
		rows, k, cols := 1+r.IntN(5), 1+r.IntN(40), 1+r.IntN(9)
		a, sa, za := m.quantized(ir.Shape{rows, k}, ir.Uint8)
		b := irtest.RandomInts(r, m.name("w"), ir.Int8, ir.Shape{k, cols}, -127, 127)
		sb := irtest.RandomScales(r, 0.01, 1)[0]
		ys := outScale(sa*sb, k)
		yz := 100 + r.Int64N(56)
		y := m.b.Node(m.name("mm"), "", "QLinearMatMul", nil, a, irtest.Scale(m.name("s"), sa), irtest.Zero(m.name("z"), ir.Uint8, za),
			b, irtest.Scale(m.name("s"), sb), irtest.Zero(m.name("z"), ir.Int8, 0), irtest.Scale(m.name("s"), ys), irtest.Zero(m.name("z"), ir.Uint8, yz))
		m.dequantized(fmt.Sprintf("QLinearMatMul %d (%dx%dx%d)", i, rows, k, cols), y, ys, yz, ir.Uint8, 0)
		acc := m.b.Node(m.name("mmint"), "", "MatMulInteger", nil, a, b, irtest.Zero(m.name("z"), ir.Uint8, za), irtest.Zero(m.name("z"), ir.Int8, 0))
		m.cast(fmt.Sprintf("MatMulInteger %d", i), acc)

		// QGemm with transposed per-column weights and an int32 bias,
		// requantised and (every other case) float32.
		bt := irtest.RandomInts(r, m.name("w"), ir.Int8, ir.Shape{cols, k}, -127, 127)
		sbs := irtest.RandomScales(r, 0.01, cols)
		gin := []*ir.Value{a, irtest.Scale(m.name("s"), sa), irtest.Zero(m.name("z"), ir.Uint8, za),
			bt, irtest.Scale(m.name("s"), sbs...), irtest.Zero(m.name("z"), ir.Int8, make([]int64, cols)...),
			irtest.RandomInts(r, m.name("c"), ir.Int32, ir.Shape{cols}, -3000, 3000)}
		at := irtest.Attrs("transB", 1, "alpha", float32(1))
		if i%2 == 0 {
			ys := outScale(sa*sbs[0], k)
			y := m.b.Node(m.name("qgemm"), interp.MSDomain, "QGemm", at, append(gin, irtest.Scale(m.name("s"), ys), irtest.Zero(m.name("z"), ir.Uint8, yz))...)
			m.dequantized(fmt.Sprintf("QGemm %d (%dx%dx%d)", i, rows, k, cols), y, ys, yz, ir.Uint8, 0)
		} else {
			y := m.b.Node(m.name("qgemm"), interp.MSDomain, "QGemm", at, gin...)
			m.b.Output(y)
			m.cases = append(m.cases, ortCase{name: fmt.Sprintf("QGemm float %d", i), out: y})
		}
	}
}

// addAdds adds QLinearAdd cases, broadcast ones included.
func (m *ortModel) addAdds(count int) {
	for i := 0; i < count; i++ {
		r := m.rng
		shape := ir.Shape{1 + r.IntN(3), 1 + r.IntN(40)}
		bshape := shape
		if i%3 == 2 {
			bshape = ir.Shape{1, shape[1]}
		}
		dt := []ir.DType{ir.Uint8, ir.Int8}[r.IntN(2)]
		a, sa, za := m.quantized(shape, dt)
		b, sb, zb := m.quantized(bshape, dt)
		sc := (sa + sb) * float32(0.6+0.8*r.Float64())
		lo, hi, _ := interp.QuantRange(dt)
		zc := lo + 64 + r.Int64N(hi-lo-127)
		y := m.b.Node(m.name("add"), interp.MSDomain, "QLinearAdd", nil, a, irtest.Scale(m.name("s"), sa), irtest.Zero(m.name("z"), dt, za),
			b, irtest.Scale(m.name("s"), sb), irtest.Zero(m.name("z"), dt, zb), irtest.Scale(m.name("s"), sc), irtest.Zero(m.name("z"), dt, zc))
		m.dequantized(fmt.Sprintf("QLinearAdd %d (%v %v+%v)", i, dt, shape, bshape), y, sc, zc, dt, 0)
	}
}

// addAllPairsAdd adds a QLinearAdd of every pair of uint8 values with
// scales whose sums fall on exact ties (rA = 1, rB = 0.5) and an odd zero
// point: onnxruntime rounds after adding the zero point.
func (m *ortModel) addAllPairsAdd() {
	const n = 256 * 256
	feeds := [2]*ir.Tensor{}
	vals := [2]*ir.Value{}
	params := [2]struct {
		s float32
		z int64
	}{{0.5, 10}, {0.25, 3}}
	for k := range feeds {
		v := m.b.Input(m.name("x"), n)
		t, _ := ir.NewTensor(ir.Float32, ir.Shape{n})
		for i := range t.F32 {
			q := int64(i / 256)
			if k == 1 {
				q = int64(i % 256)
			}
			t.F32[i] = interp.Dequantize(q, params[k].z, params[k].s)
		}
		m.feeds[v.Name] = t
		vals[k] = m.b.Node(m.name("q"), "", "QuantizeLinear", nil, v, irtest.Scale(m.name("s"), params[k].s), irtest.Zero(m.name("z"), ir.Uint8, params[k].z))
	}
	y := m.b.Node(m.name("add"), interp.MSDomain, "QLinearAdd", nil, vals[0], irtest.Scale(m.name("s"), 0.5), irtest.Zero(m.name("z"), ir.Uint8, 10),
		vals[1], irtest.Scale(m.name("s"), 0.25), irtest.Zero(m.name("z"), ir.Uint8, 3), irtest.Scale(m.name("s"), 0.5), irtest.Zero(m.name("z"), ir.Uint8, 5))
	m.dequantized("QLinearAdd of every pair at exact ties", y, 0.5, 5, ir.Uint8, 0)
}

// addQDQ adds QuantizeLinear and DequantizeLinear round trips: per
// tensor, per axis (opset 13 and later), per block (opset 21).
func (m *ortModel) addQDQ(opset int64) {
	for _, dt := range []ir.DType{ir.Uint8, ir.Int8} {
		q, s, z := m.quantized(ir.Shape{3, 17}, dt)
		m.dequantized(fmt.Sprintf("QuantizeLinear %v opset %d", dt, opset), q, s, z, dt, 0)
		if opset < 13 {
			continue
		}
		scales := irtest.RandomScales(m.rng, 0.02, 4)
		zeros := []int64{-3, 0, 5, 100}
		x := m.input(ir.Shape{2, 4, 5}, 3)
		at := irtest.Attrs("axis", 1)
		pq := m.b.Node(m.name("q"), "", "QuantizeLinear", at, x, irtest.Scale(m.name("s"), scales...), irtest.Zero(m.name("z"), ir.Int8, zeros...))
		out := m.b.Node(m.name("y"), "", "DequantizeLinear", at, pq, irtest.Scale(m.name("s"), scales...), irtest.Zero(m.name("z"), ir.Int8, zeros...))
		m.b.Output(out)
		m.cases = append(m.cases, ortCase{name: fmt.Sprintf("per-axis QuantizeLinear %v opset %d", dt, opset), out: out})
		if opset < 21 {
			continue
		}
		bs := irtest.Floats(m.name("s"), ir.Shape{2, 2, 5}, irtest.RandomScales(m.rng, 0.02, 20)...)
		bz := irtest.RandomInts(m.rng, m.name("z"), ir.Int8, ir.Shape{2, 2, 5}, -20, 20)
		ba := irtest.Attrs("axis", 1, "block_size", 3)
		bq := m.b.Node(m.name("q"), "", "QuantizeLinear", ba, x, bs, bz)
		bout := m.b.Node(m.name("y"), "", "DequantizeLinear", ba, bq, bs, bz)
		m.b.Output(bout)
		m.cases = append(m.cases, ortCase{name: fmt.Sprintf("blocked QuantizeLinear opset %d", opset), out: bout})
	}
}

func TestQuantizedOpsAgainstORT(t *testing.T) {
	requireORT(t)
	for _, opset := range []int64{10, 13, 21} {
		t.Run(fmt.Sprintf("opset%d", opset), func(t *testing.T) {
			m := newORTModel(opset, uint64(opset))
			m.addQDQ(opset)
			m.addConvs(24)
			m.addMatMuls(8)
			m.addAdds(8)
			m.addAllPairsAdd()
			m.run(t)
		})
	}
}

// TestSigmoidAgainstORT checks that the float32 Sigmoid is onnxruntime's
// bit for bit (fma.Sigmoid), on its own over the clamp range and beyond,
// in a length that leaves its kernel a masked tail, and as the gate of a
// quantised product (squeeze-and-excitation), where one rounding apart
// would be a step apart.
func TestSigmoidAgainstORT(t *testing.T) {
	requireORT(t)
	m := newORTModel(13, 5)
	for i, n := range []int{1 << 16, 1003} {
		x := m.input(ir.Shape{n}, 24)
		y := m.b.Node(m.name("y"), "", "Sigmoid", nil, x)
		m.b.Output(y)
		m.cases = append(m.cases, ortCase{name: fmt.Sprintf("Sigmoid %d", i), out: y})
	}
	q, scale, zero := m.quantized(ir.Shape{2, 64, 49}, ir.Uint8)
	x := m.b.Node(m.name("dq"), "", "DequantizeLinear", nil, q, irtest.Scale(m.name("s"), scale), irtest.Zero(m.name("z"), ir.Uint8, zero))
	gate := m.b.Node(m.name("g"), "", "Sigmoid", nil, m.input(ir.Shape{2, 64, 1}, 6))
	prod := m.b.Node(m.name("p"), "", "Mul", nil, x, gate)
	pq := m.b.Node(m.name("q"), "", "QuantizeLinear", nil, prod, irtest.Scale(m.name("s"), scale/2), irtest.Zero(m.name("z"), ir.Uint8, 0))
	m.dequantized("gated product", pq, scale/2, 0, ir.Uint8, 0)
	m.run(t)
}
