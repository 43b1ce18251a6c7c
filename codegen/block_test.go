package codegen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
	"github.com/tsmc-go/tsmc/runtime"
)

// blocksGraph has MobileNetV2 chains large enough to fuse (the expanded
// tensors of 512 KB or more): an expansion read through a shift with a
// state input (online), stride 1 with a residual; a chain without
// expansion at stride 2; and a chain whose expanded tensor is also a graph
// output, which must stay unfused (its stages with MobileNetV3's and
// EfficientNet's activations); and a squeeze-and-excitation block between
// a depthwise convolution and its projection (on a map large enough for
// the projection to take the channel scale, runtime.ScaleFoldPays).
func blocksGraph(t *testing.T) *ir.Graph {
	b := newBuilder(13)
	x := b.Input("x", 2, 32, 64, 64)
	state := b.Input("state", 2, 4, 64, 64)
	conv := func(group, stride, pad, k int, act ...any) map[string]ir.Attr {
		s, p := int64(stride), int64(pad)
		return attrs(append([]any{"strides", []int64{s, s}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p},
			"group", group, "kernel_shape", []int64{int64(k), int64(k)}}, act...)...)
	}
	relu6 := []any{"activation", "clip", "clip_min", float32(0), "clip_max", float32(6)}
	hswish := []any{"activation", "hardswish", "act_alpha", float32(1.0 / 6), "act_beta", float32(0.5)}
	e1 := b.op("expand1", "tsmc.Conv", conv(1, 1, 0, 1, append(relu6, "segments", 1, "shift", []int64{0, 4, -1})...),
		x, b.random("we1", 96, 32, 1, 1), b.random("be1", 96), nil, state)
	d1 := b.op("dw1", "tsmc.Conv", conv(96, 1, 1, 3, relu6...), e1, b.random("wd1", 96, 1, 3, 3), b.random("bd1", 96))
	p1 := b.op("project1", "tsmc.Conv", conv(1, 1, 0, 1), d1, b.random("wp1", 32, 96, 1, 1), b.random("bp1", 32), x)
	d2 := b.op("dw2", "tsmc.Conv", conv(32, 2, 1, 3, relu6...), p1, b.random("wd2", 32, 1, 3, 3), b.random("bd2", 32))
	p2 := b.op("project2", "tsmc.Conv", conv(1, 1, 0, 1), d2, b.random("wp2", 24, 32, 1, 1), b.random("bp2", 24))
	e3 := b.op("expand3", "tsmc.Conv", conv(1, 1, 0, 1, hswish...), p2, b.random("we3", 144, 24, 1, 1), b.random("be3", 144))
	d3 := b.op("dw3", "tsmc.Conv", conv(144, 1, 1, 3, "activation", "silu"), e3, b.random("wd3", 144, 1, 3, 3), b.random("bd3", 144))
	p3 := b.op("project3", "tsmc.Conv", conv(1, 1, 0, 1), d3, b.random("wp3", 8, 144, 1, 1), b.random("bp3", 8))
	// a squeeze-and-excitation block between the depthwise convolution and
	// the projection: the expansion and depthwise convolution fuse alone
	e4 := b.op("expand4", "tsmc.Conv", conv(1, 1, 0, 1, hswish...), p1, b.random("we4", 96, 32, 1, 1), b.random("be4", 96))
	d4 := b.op("dw4", "tsmc.Conv", conv(96, 1, 1, 3, "activation", "silu"), e4, b.random("wd4", 96, 1, 3, 3), b.random("bd4", 96))
	pool := b.op("se_pool", "GlobalAveragePool", nil, d4)
	gate := b.op("se_gate", "tsmc.Conv", conv(1, 1, 0, 1, "activation", "sigmoid"), pool, b.random("wg4", 96, 96, 1, 1), b.random("bg4", 96))
	scaled := b.op("se_scale", "Mul", nil, d4, gate)
	p4 := b.op("project4", "tsmc.Conv", conv(1, 1, 0, 1), scaled, b.random("wp4", 16, 96, 1, 1), b.random("bp4", 16))
	next := b.op("next_state", "Slice", nil, x, b.ints("s0", 0), b.ints("e0", 4), b.ints("a0", 1))
	b.Output(p3, e3, next, p4)
	return b.Graph(t)
}

// fusedBlocks runs the fusion pass on g and describes the blocks it made:
// projection name to "expansion depthwise" stage names ("-" for none).
func fusedBlocks(t *testing.T, g *ir.Graph) map[string]string {
	t.Helper()
	// blocksGraph's chains are sized for a fusion threshold of 512 KB,
	// whatever the fitted rules say
	r := runtime.DefaultRules()
	r.BlockMinBytes = 512 << 10
	defer runtime.SetDefaultRules(runtime.SetDefaultRules(r))
	if err := passes.FuseInvertedResidual(g); err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		t.Fatal(err)
	}
	return blockNodes(g, ops.OpInvertedResidual)
}

// blockNodes describes g's nodes of the block op: node name to
// "expansion depthwise" weight names ("-" for no expansion).
func blockNodes(g *ir.Graph, op string) map[string]string {
	got := map[string]string{}
	for _, n := range g.Nodes {
		if n.OpName() != ops.Domain+"."+op {
			continue
		}
		desc := "- "
		if n.Input(ops.BlockExpandW) != nil {
			desc = n.Input(ops.BlockExpandW).Name + " "
		}
		got[n.Name] = desc + n.Input(ops.BlockDepthwiseW).Name
	}
	return got
}

// checkBlocks compares the blocks a fusion made with want.
func checkBlocks(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("blocks %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("block at %s: %q, want %q", k, got[k], v)
		}
	}
}

func TestFuseInvertedResidual(t *testing.T) {
	checkBlocks(t, fusedBlocks(t, blocksGraph(t)),
		map[string]string{"project1": "we1 wd1", "project2": "- wd2", "project3": "- wd3", "dw4": "we4 wd4"})
}

// TestFuseInvertedResidualSmallFrames: chains whose frames have fewer
// output pixels than Rules.BlockMinPixels stay as their stages, however
// large their expanded tensors: with the threshold between blocksGraph's
// 32x32 and 64x64 outputs, only the chains on 64x64 fuse.
func TestFuseInvertedResidualSmallFrames(t *testing.T) {
	r := runtime.DefaultRules()
	r.BlockMinPixels = 64 * 64
	defer runtime.SetDefaultRules(runtime.SetDefaultRules(r))
	checkBlocks(t, fusedBlocks(t, blocksGraph(t)), map[string]string{"project1": "we1 wd1", "dw4": "we4 wd4"})
}

// TestFusedBlocksMatchInterpreter fuses blocksGraph (the blocks and the
// channel scale), generates it with two data sets from the reference
// interpreter on the unfused graph and runs the generated package's tests.
func TestFusedBlocksMatchInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a generated package")
	}
	g := blocksGraph(t)
	// The expected outputs are the unfused graph's.
	sets := interpDataSets(t, g, rand.New(rand.NewPCG(7, 5)), "set_a", "set_b")
	if err := passes.FuseChannelScale(g); err != nil {
		t.Fatal(err)
	}
	if blocks := fusedBlocks(t, g); len(blocks) != 4 {
		t.Fatalf("fused %v, want 4 blocks", blocks)
	}
	pkg, err := Generate(g, Options{Package: "blocks", DataSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	src := pkg.Files["model.go"]
	if n := strings.Count(string(src), "runtime.NewInvertedResidual("); n != 4 {
		t.Errorf("generated code builds %d fused blocks, want 4", n)
	}
	scaled := map[string]bool{} // the calls, once each (the run is written out more than once)
	for _, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, ".RunScaled(") {
			scaled[strings.TrimSpace(line)] = true
		}
	}
	if len(scaled) != 1 {
		t.Errorf("generated code runs %d convolutions on a channel scale, want 1", len(scaled))
	}
	goTestPackage(t, pkg)
}
