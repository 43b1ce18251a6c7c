package codegen

import (
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/tensorcmp"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
)

// qlinearGraph is a model in onnxruntime's operator form, float32 in and
// out: QuantizeLinear, QLinearConv with per-channel int8 weights and a
// bias, QLinearConv with uint8 weights of zero point 128 (older
// quantisers' form), QLinearAdd, Flatten, QLinearMatMul with per-column
// scales, QGemm with transposed weights and a bias, DequantizeLinear.
func qlinearGraph(t *testing.T) *ir.Graph {
	b := &builder{Builder: irtest.New(map[string]int64{"": 13, ops.Domain: 1, interp.MSDomain: 1}), rng: rand.New(rand.NewPCG(3, 8))}
	rng := rand.New(rand.NewPCG(5, 2))
	tensor := func(name string, dt ir.DType, shape []int, lo, hi int64) *ir.Value {
		return irtest.RandomInts(rng, name, dt, shape, lo, hi)
	}
	scalar8 := func(name string, dt ir.DType, v int64) *ir.Value { return irtest.Zero(name, dt, v) }
	scales := func(name string, n int) *ir.Value { return irtest.Scale(name, irtest.RandomScales(rng, 0.004, n)...) }
	conv := attrs("kernel_shape", []int64{3, 3}, "pads", []int64{1, 1, 1, 1})
	x := b.Input("x", 2, 4, 6, 6)
	xq := b.op("xq", "QuantizeLinear", nil, x, b.scalar("xs", 0.02), scalar8("xz", ir.Uint8, 128))
	c1 := b.op("c1", "QLinearConv", conv, xq, b.scalar("xs1", 0.02), scalar8("xz1", ir.Uint8, 128),
		tensor("w1", ir.Int8, []int{8, 4, 3, 3}, -127, 127), scales("ws1", 8), tensor("wz1", ir.Int8, []int{8}, 0, 0),
		b.scalar("ys1", 0.05), scalar8("yz1", ir.Uint8, 30), tensor("b1", ir.Int32, []int{8}, -2000, 2000))
	c2 := b.op("c2", "QLinearConv", conv, c1, b.scalar("xs2", 0.05), scalar8("xz2", ir.Uint8, 30),
		tensor("w2", ir.Uint8, []int{8, 8, 3, 3}, 0, 255), b.scalar("ws2", 0.003), scalar8("wz2", ir.Uint8, 128),
		b.scalar("ys2", 0.06), scalar8("yz2", ir.Uint8, 120))
	sum := b.Node("sum", interp.MSDomain, "QLinearAdd", nil, c2, b.scalar("as", 0.06), scalar8("az", ir.Uint8, 120),
		c1, b.scalar("bs", 0.05), scalar8("bz", ir.Uint8, 30), b.scalar("cs", 0.07), scalar8("cz", ir.Uint8, 100))
	flat := b.op("flat", "Flatten", attrs("axis", 1), sum)
	mm := b.op("mm", "QLinearMatMul", nil, flat, b.scalar("ms", 0.07), scalar8("mz", ir.Uint8, 100),
		tensor("wm", ir.Int8, []int{288, 10}, -127, 127), scales("wms", 10), tensor("wmz", ir.Int8, []int{10}, 0, 0),
		b.scalar("mys", 0.3), scalar8("myz", ir.Int8, -3))
	gemm := b.Node("gemm", interp.MSDomain, "QGemm", attrs("transB", 1), flat, b.scalar("gs", 0.07), scalar8("gz", ir.Uint8, 100),
		tensor("wg", ir.Int8, []int{5, 288}, -127, 127), b.scalar("wgs", 0.002), scalar8("wgz", ir.Int8, 0),
		tensor("bg", ir.Int32, []int{5}, -3000, 3000), b.scalar("gys", 0.4), scalar8("gyz", ir.Uint8, 128))
	b.Output(
		b.op("mm_f", "DequantizeLinear", nil, mm, b.scalar("mfs", 0.3), scalar8("mfz", ir.Int8, -3)),
		b.op("gemm_f", "DequantizeLinear", nil, gemm, b.scalar("gfs", 0.4), scalar8("gfz", ir.Uint8, 128)),
		b.op("sum_f", "DequantizeLinear", nil, sum, b.scalar("sfs", 0.07), scalar8("sfz", ir.Uint8, 100)))
	return b.Graph(t)
}

// TestOperatorFormCompiles runs the pipeline on the operator-form model:
// every quantised op becomes a tsmc one with centred int8 weights and the
// interpreter computes the same bytes before and after; then the
// generated package matches the interpreter's data sets.
func TestOperatorFormCompiles(t *testing.T) {
	g := qlinearGraph(t)
	rng := rand.New(rand.NewPCG(9, 9))
	sets := interpDataSets(t, g, rng, "set_a", "set_b")
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range g.Nodes {
		count[n.OpName()]++
		if w := n.Input(1); (n.Op == ops.OpQConv || n.Op == ops.OpQDense) && n.Domain == ops.Domain && w.DType != ir.Int8 {
			t.Errorf("%s: weights %v are %v, want centred int8", n.Describe(), w, w.DType)
		}
	}
	want := map[string]int{"QuantizeLinear": 1, "tsmc.QConv": 2, "tsmc.QDense": 2, "Flatten": 1, "DequantizeLinear": 3}
	for op, n := range count {
		if want[op] != n && op != "tsmc.QAdd" {
			t.Errorf("after the passes: %d %s, want %d (ops %v)", n, op, want[op], count)
		}
	}
	checkGenerated(t, g, sets, "qlinear")
}

// TestQuantizedMovementCompiles: data movement between a DequantizeLinear
// and a QuantizeLinear of the same parameters runs on the quantised bytes
// after quantize-movement (a transpose, as in a non-local block, a
// gather, a one-axis slice, an expand and a strided slice), and a zero
// Pad stays in float32; the generated package matches the
// interpreter's data sets.
func TestQuantizedMovementCompiles(t *testing.T) {
	b := newBuilder(13)
	s, z := b.scalar("s", 0.03), irtest.Zero("z", ir.Uint8, 100)
	x := b.Input("x", 2, 3, 4, 5)
	dq := b.op("dq", "DequantizeLinear", nil, b.op("xq", "QuantizeLinear", nil, x, s, z), s, z)
	tr := b.op("tr", "Transpose", attrs("perm", []int64{0, 2, 3, 1}), dq)                                  // [2,4,5,3]
	ga := b.op("ga", "Gather", attrs("axis", 2), tr, b.ints("gi", 4, 0, 2))                                // [2,4,3,3]
	one := b.op("one", "Slice", nil, ga, b.ints("os", 1), b.ints("oe", 2), b.ints("oa", 1))                // [2,1,3,3]
	ex := b.op("ex", "Expand", nil, one, b.ints("es", 2, 4, 3, 3))                                         // [2,4,3,3]
	st := b.op("st", "Slice", nil, ex, b.ints("ss", 0), b.ints("se", 3), b.ints("sa", 3), b.ints("sp", 2)) // [2,4,3,2]
	moved := b.op("moved_q", "QuantizeLinear", nil, st, s, z)
	pd := b.op("pd", "Pad", nil, b.op("moved_dq", "DequantizeLinear", nil, moved, s, z), b.ints("pads", 0, 0, 1, 1, 0, 0, 1, 1))
	padded := b.op("padded_q", "QuantizeLinear", nil, pd, s, z)
	b.Output(b.op("moved", "DequantizeLinear", nil, moved, s, z), b.op("padded", "DequantizeLinear", nil, padded, s, z))
	g := b.Graph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(4, 4)), "set_a", "set_b")
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		want := ir.Uint8
		switch n.Op {
		case "Transpose", "Gather", "Slice", "Expand":
		case "Pad":
			want = ir.Float32
		default:
			continue
		}
		if dt := n.Inputs[0].DType; dt != want {
			t.Errorf("after the passes %s runs on %v, want %v", n.Describe(), dt, want)
		}
	}
	checkGenerated(t, g, sets, "qmove")
}

// TestQLookupCompiles: elementwise functions of one quantised tensor
// become tables (fuse-qlookup): x·Sigmoid(x) to uint8, HardSwish times a
// scalar to int8; a per-channel product and a function of two quantised
// tensors stay in float32. The interpreter gives the same bytes after the
// passes, and the generated package matches it.
func TestQLookupCompiles(t *testing.T) {
	b := newBuilder(14)
	s, z := b.scalar("s", 0.05), irtest.Zero("z", ir.Uint8, 120)
	x := b.Input("x", 2, 4, 5, 6)
	dq := b.op("dq", "DequantizeLinear", nil, b.op("xq", "QuantizeLinear", nil, x, s, z), s, z)
	silu := b.op("silu", "Mul", nil, dq, b.op("sig", "Sigmoid", nil, dq))
	hs := b.op("hs3", "Mul", nil, b.op("hs", "HardSwish", nil, dq), b.scalar("three", 3))
	perChannel := b.op("pc", "Mul", nil, dq, b.random("gain", 1, 4, 1, 1))
	dq2 := b.op("dq2", "DequantizeLinear", nil, b.op("x2q", "QuantizeLinear", nil, b.op("neg", "Neg", nil, x), s, z), s, z)
	two := b.op("two", "Add", nil, b.op("tanh", "Tanh", nil, dq), dq2)
	q := func(name string, v *ir.Value, scale float32, zero *ir.Value) *ir.Value {
		sc := b.scalar(name+"_s", scale)
		return b.op(name, "DequantizeLinear", nil, b.op(name+"_q", "QuantizeLinear", nil, v, sc, zero), sc, zero)
	}
	b.Output(q("silu_out", silu, 0.03, irtest.Zero("z1", ir.Uint8, 10)), q("hs_out", hs, 0.07, irtest.Zero("z2", ir.Int8, -5)),
		q("pc_out", perChannel, 0.04, irtest.Zero("z3", ir.Uint8, 128)), q("two_out", two, 0.05, irtest.Zero("z4", ir.Uint8, 128)))
	g := b.Graph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(6, 1)), "set_a", "set_b")
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	tables := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Op == ops.OpQLookup {
			tables[n.Name] = true
		}
	}
	if !tables["silu_out_q"] || !tables["hs_out_q"] || tables["pc_out_q"] || tables["two_out_q"] || len(tables) != 2 {
		t.Errorf("tables made for %v, want silu_out_q and hs_out_q", tables)
	}
	checkGenerated(t, g, sets, "qlookup")
}

// checkGenerated checks a graph the passes have run on against the data
// sets the interpreter made before them (checkInterpAgain), then, unless
// -short, generates package pkg with them and runs its tests.
func checkGenerated(t *testing.T, g *ir.Graph, sets []DataSet, pkg string) {
	t.Helper()
	checkInterpAgain(t, g, sets)
	if testing.Short() {
		return
	}
	p, err := Generate(g, Options{Package: pkg, DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	goTestPackage(t, p)
}

// TestQuantizedAttentionCompiles: a non-local attention between
// dequantised queries (uint8, through a reshape and a transpose) and keys
// (int8, through a max pool over frames' planes, kernel [1, 2, 2], and a
// reshape), values dequantised through the same pool, scores scaled, becomes one
// tsmc.Attention on the quantised tensors (quantize-attention) whose
// scores are the exact integer product. That changes only the rounding of
// the scores: the interpreter's outputs after the passes stay within
// 1e-5 of those before. The generated package matches the interpreter
// on the graph after the passes.
func TestQuantizedAttentionCompiles(t *testing.T) {
	b := newBuilder(13)
	q := b.Input("q", 1, 6, 10, 4)
	k := b.Input("k", 1, 6, 2, 10, 4)
	v := b.Input("v", 1, 5, 2, 10, 4)
	vs, vz := b.scalar("vs", 0.013), irtest.Zero("vz", ir.Uint8, 120)
	vd := b.op("vd", "DequantizeLinear", nil, b.op("vq", "QuantizeLinear", nil, v, vs, vz), vs, vz)
	qs, qz := b.scalar("qs", 0.011), irtest.Zero("qz", ir.Uint8, 131)
	ks, kz := b.scalar("ks", 0.009), irtest.Zero("kz", ir.Int8, -3)
	qd := b.op("qd", "DequantizeLinear", nil, b.op("qq", "QuantizeLinear", nil, q, qs, qz), qs, qz)
	kd := b.op("kd", "DequantizeLinear", nil, b.op("kq", "QuantizeLinear", nil, k, ks, kz), ks, kz)
	theta := b.op("theta_t", "Transpose", attrs("perm", []int64{0, 2, 1}), b.op("theta", "Reshape", nil, qd, b.ints("qshape", 1, 6, 40)))
	pool := attrs("kernel_shape", []int64{1, 2, 2}, "strides", []int64{1, 2, 2})
	phi := b.op("phi", "Reshape", nil, b.op("pool", "MaxPool", pool, kd), b.ints("kshape", 1, 6, 20))
	gv := b.op("gv", "Reshape", nil, b.op("vpool", "MaxPool", pool, vd), b.ints("vshape", 1, 5, 20))
	scores := b.op("scaled", "Mul", nil, b.op("scores", "MatMul", nil, theta, phi), b.scalar("half", 0.5))
	probs := b.op("probs", "Softmax", attrs("axis", -1), scores)
	y := b.op("y", "MatMul", nil, probs, b.op("g", "Transpose", attrs("perm", []int64{0, 2, 1}), gv))
	b.Output(y)
	g := b.Graph(t)
	before := interpDataSets(t, g, rand.New(rand.NewPCG(8, 3)), "set_a", "set_b")
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	var att []*ir.Node
	for _, n := range g.Nodes {
		if n.Op == ops.OpAttention && n.Domain == ops.Domain {
			att = append(att, n)
		}
	}
	if len(att) != 1 {
		t.Fatalf("after the passes %d tsmc.Attention, want 1", len(att))
	}
	producers := g.Producers()
	if dq := producers[att[0].Inputs[2]]; dq == nil || dq.Op != "DequantizeLinear" || producers[dq.Inputs[0]] == nil || producers[dq.Inputs[0]].Op != "Reshape" {
		t.Errorf("%s: the values are not dequantised after their pool and reshape", att[0].Describe())
	}
	aq, quantised, err := ops.AttentionQuantOf(att[0])
	want := ops.AttentionQuant{QType: ir.Uint8, KType: ir.Int8, Q: ops.QParams{Scale: 0.011, Zero: 131}, K: ops.QParams{Scale: 0.009, Zero: -3}}
	if err != nil || !quantised || aq != want {
		t.Fatalf("%s: quantisation %+v (quantised %v, %v), want %+v", att[0].Describe(), aq, quantised, err, want)
	}
	for _, ds := range before {
		got := interpOn(t, g, ds)
		if e := tensorcmp.RelErr(got[g.Outputs[0].Name], ds.Outputs[0]); !(e <= 1e-5) {
			t.Errorf("%s: the integer scores moved the output by %g relative, want at most 1e-5", ds.Name, e)
		}
	}
	if testing.Short() {
		return
	}
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(8, 4)), "set_a", "set_b")
	p, err := Generate(g, Options{Package: "qattention", DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	goTestPackage(t, p)
}
