package codegen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
)

// qblocksGraph has quantised MobileNetV2 chains whose expanded tensors
// reach runtime.QBlockMinFrameBytes per frame: an expansion read through a shift with a
// state input, at stride 1 with a residual add (the block input); an
// int8 one whose expansion is a 3x3 stride-2 stem, at stride 2; a
// depthwise convolution of a quantised graph input and its projection;
// and a chain too small to fuse.
func qblocksGraph(t *testing.T) *ir.Graph {
	b := qbuilder{newBuilder(13), rand.New(rand.NewPCG(3, 8))}
	q, conv := b.qattrs, qconvGeom
	pointwise := conv(1, 1, 0, 1)

	x := b.Input("x", 2, 32, 64, 64)
	state := b.Input("state", 2, 4, 64, 64)
	xq := b.op("xq", "QuantizeLinear", nil, x, b.scalar("xs", 0.02), b.u8("xz", 128))
	sq := b.op("sq", "QuantizeLinear", nil, state, b.scalar("ss", 0.02), b.u8("sz", 128))
	e1 := b.op("expand1", "tsmc.QConv", q(0.02, 128, 144, 0.05, 20, 20, 255, "u8", append(pointwise, "segments", 1, "shift", []int64{0, 4, -1})...),
		xq, b.weights("we1", 144, 32, 1, 1), b.bias("be1", 144), nil, sq)
	d1 := b.op("dw1", "tsmc.QConv", q(0.05, 20, 144, 0.04, 100, 100, 230, "u8", conv(144, 1, 1, 3)...), e1, b.weights("wd1", 144, 1, 3, 3), b.bias("bd1", 144))
	p1 := b.op("project1", "tsmc.QConv", q(0.04, 100, 32, 0.03, 120, 0, 255, "u8", append(pointwise, "r_scale", float32(0.02), "r_zero_point", 128,
		"out_scale", float32(0.05), "out_zero_point", 90, "out_min", 0, "out_max", 255, "residual_first", 0)...),
		d1, b.weights("wp1", 32, 144, 1, 1), b.bias("bp1", 32), xq)

	y := b.Input("y", 2, 3, 256, 256)
	y8 := b.op("y8", "QuantizeLinear", nil, y, b.scalar("ys", 0.03), b.i8("yz", -5))
	e2 := b.op("expand2", "tsmc.QConv", q(0.03, -5, 32, 0.05, 3, 3, 127, "i8", conv(1, 2, 1, 3)...), y8, b.weights("we2", 32, 3, 3, 3), b.bias("be2", 32))
	d2 := b.op("dw2", "tsmc.QConv", q(0.05, 3, 32, 0.04, -10, -128, 127, "i8", conv(32, 2, 1, 3)...), e2, b.weights("wd2", 32, 1, 3, 3), b.bias("bd2", 32))
	p2 := b.op("project2", "tsmc.QConv", q(0.04, -10, 16, 0.06, 0, -128, 127, "i8", pointwise...), d2, b.weights("wp2", 16, 32, 1, 1), b.bias("bp2", 16))

	z := b.Input("z", 2, 160, 60, 60)
	zq := b.op("zq", "QuantizeLinear", nil, z, b.scalar("zs", 0.02), b.u8("zz", 7))
	d3 := b.op("dw3", "tsmc.QConv", q(0.02, 7, 160, 0.03, 60, 0, 255, "u8", conv(160, 2, 1, 3)...), zq, b.weights("wd3", 160, 1, 3, 3), b.bias("bd3", 160))
	p3 := b.op("project3", "tsmc.QConv", q(0.03, 60, 24, 0.05, 128, 0, 255, "u8", pointwise...), d3, b.weights("wp3", 24, 160, 1, 1), b.bias("bp3", 24))

	e4 := b.op("expand4", "tsmc.QConv", q(0.06, 0, 48, 0.05, -100, -100, 127, "i8", pointwise...), p2, b.weights("we4", 48, 16, 1, 1), b.bias("be4", 48))
	d4 := b.op("dw4", "tsmc.QConv", q(0.05, -100, 48, 0.04, 0, -128, 127, "i8", conv(48, 1, 1, 3)...), e4, b.weights("wd4", 48, 1, 3, 3), b.bias("bd4", 48))
	p4 := b.op("project4", "tsmc.QConv", q(0.04, 0, 16, 0.05, 1, -128, 127, "i8", pointwise...), d4, b.weights("wp4", 16, 48, 1, 1), b.bias("bp4", 16))

	b.Output(
		b.op("out1", "DequantizeLinear", nil, p1, b.scalar("o1s", 0.05), b.u8("o1z", 90)),
		b.op("out2", "DequantizeLinear", nil, p2, b.scalar("o2s", 0.06), b.i8("o2z", 0)),
		b.op("out3", "DequantizeLinear", nil, p3, b.scalar("o3s", 0.05), b.u8("o3z", 128)),
		b.op("out4", "DequantizeLinear", nil, p4, b.scalar("o4s", 0.05), b.i8("o4z", 1)))
	return b.Graph(t)
}

// fusedQBlocks runs the fusion pass on g and describes the quantised
// blocks it made: projection name to "expansion depthwise" weight names
// ("-" for none).
func fusedQBlocks(t *testing.T, g *ir.Graph) map[string]string {
	t.Helper()
	if err := passes.FuseInvertedResidual(g); err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		t.Fatal(err)
	}
	for name := range blockNodes(g, ops.OpInvertedResidual) {
		t.Errorf("quantised convolutions fused into a float32 block %s", name)
	}
	return blockNodes(g, ops.OpQInvertedResidual)
}

func TestFuseQuantizedInvertedResidual(t *testing.T) {
	checkBlocks(t, fusedQBlocks(t, qblocksGraph(t)),
		map[string]string{"project1": "we1 wd1", "project2": "we2 wd2", "project3": "- wd3"})
}

// TestFusedQBlocksMatchInterpreter fuses qblocksGraph, generates it with
// data sets from the reference interpreter on the unfused graph and runs
// the generated package's tests: the int8 arithmetic is exact, so fused
// and unfused agree to the byte (the package's 1e-4 tolerance is far
// below a quantisation step).
func TestFusedQBlocksMatchInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	g := qblocksGraph(t)
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(9, 2)), "set_a", "set_b")
	// the fused graph's interpreter (the block's reference kernel) gives
	// the same outputs
	fused := qblocksGraph(t)
	if blocks := fusedQBlocks(t, fused); len(blocks) != 3 {
		t.Fatalf("fused %v, want 3 blocks", blocks)
	}
	checkInterpAgain(t, fused, sets)
	pkg, err := Generate(fused, Options{Package: "qblocks", DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	src := pkg.Files["model.go"]
	if n := strings.Count(string(src), "runtime.NewQInvertedResidual("); n != 3 {
		t.Errorf("generated code builds %d fused quantised blocks, want 3", n)
	}
	goTestPackage(t, pkg)
}
