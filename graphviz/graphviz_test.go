package graphviz

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/irtest"
	"github.com/tsmc-go/tsmc/internal/testmodels"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
)

// optimised reads a model and runs the pipeline on it.
func optimised(t *testing.T, path string) *ir.Graph {
	t.Helper()
	g := irtest.Load(t, path)
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	return g
}

// draw writes g and checks that writing is deterministic.
func draw(t *testing.T, g *ir.Graph, opts Options) string {
	t.Helper()
	var a, b bytes.Buffer
	if err := Write(&a, g, opts); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, g, opts); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two writes of the same graph differ")
	}
	return a.String()
}

// statement returns the DOT statement that defines the node id.
func statement(t *testing.T, dot, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(id) + ` \[.*\];$`).FindString(dot)
	if m == "" {
		t.Fatalf("no DOT node %s in\n%s", id, dot)
	}
	return m
}

// checkPicture checks what every picture of an optimised graph shows: a
// DOT node per IR node (a cluster of stages per block) labelled with its
// op, output shape and MACs, constants as annotations rather than nodes,
// a dashed shift edge per fused shift, a residual edge per fused
// residual, a scale edge per channel scale, the graph's inputs and outputs; then that dot renders it (or
// it skips the rest of the test).
func checkPicture(t *testing.T, g *ir.Graph, dot string) {
	t.Helper()
	clip := clipOf(g)
	nodes, shifts, residuals, scales := len(g.Inputs)+len(g.Outputs), 0, 0, 0
	for i, n := range g.Nodes {
		id := fmt.Sprintf("n%d", i)
		if _, ok, _ := ops.ShiftOf(n); ok {
			shifts++
		}
		if n.OpName() == ops.Domain+"."+ops.OpInvertedResidual {
			if !strings.Contains(dot, "subgraph cluster_"+id+" {") {
				t.Errorf("block %s is not drawn as a cluster", n.Describe())
			}
			st, err := ops.BlockStages(n)
			if err != nil {
				t.Fatal(err)
			}
			for k, s := range st {
				if s == nil {
					continue
				}
				nodes++
				stage := statement(t, dot, id+"_"+[]string{"expand", "depthwise", "project"}[k])
				if !strings.Contains(stage, count(s.MACs())+" MACs") || !strings.Contains(stage, "weights "+dims(s.Inputs[ops.ConvW].Shape)) {
					t.Errorf("stage %d of %s: label lacks MACs or weights: %s", k, n.Describe(), stage)
				}
				if s.Input(ops.ConvResidual) != nil {
					residuals++
				}
			}
			continue
		}
		nodes++
		s := statement(t, dot, id)
		want := []string{fmt.Sprintf(`#%d %s`, i, n.OpName()), "→ " + clip.shape(n.Outputs[0].Shape)}
		if m := n.MACs(); m > 0 {
			want = append(want, count(m)+" MACs")
		}
		if d := ops.Lookup(n); d != nil && d.Params {
			want = append(want, "weights "+dims(n.Inputs[1].Shape))
		}
		if n.OpName() == ops.Domain+"."+ops.OpConv && n.Input(ops.ConvResidual) != nil {
			want = append(want, "+ residual")
			residuals++
		}
		if n.OpName() == ops.Domain+"."+ops.OpConv && n.Input(ops.ConvScale) != nil {
			want = append(want, "input × channel scale")
			scales++
		}
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("node %d (%s): label lacks %q: %s", i, n.Describe(), w, s)
			}
		}
	}
	for i, in := range g.Inputs {
		if s := statement(t, dot, fmt.Sprintf("in%d", i)); !strings.Contains(s, `input \"`+in.Name+`\"`) {
			t.Errorf("input %d: %s", i, s)
		}
	}
	for i, out := range g.Outputs {
		if s := statement(t, dot, fmt.Sprintf("out%d", i)); !strings.Contains(s, `output \"`+out.Name+`\"`) {
			t.Errorf("output %d: %s", i, s)
		}
	}
	if got := len(regexp.MustCompile(`(?m)^\s*\w+ \[`).FindAllString(dot, -1)) - 3; got != nodes { // less the graph, node and edge defaults
		t.Errorf("%d DOT nodes, want %d (nodes, stages, inputs and outputs: constants are annotations)", got, nodes)
	}
	if got := strings.Count(dot, `style=dashed, color="#c0392b", fontcolor="#c0392b", penwidth=1.5, label="shift T=`); got != shifts {
		t.Errorf("%d shift edges, want %d", got, shifts)
	}
	if got := strings.Count(dot, `label="+ residual"]`); got != residuals {
		t.Errorf("%d residual edges, want %d", got, residuals)
	}
	if got := strings.Count(dot, `label="× channel scale"]`); got != scales {
		t.Errorf("%d channel scale edges, want %d", got, scales)
	}
	render(t, dot)
}

// render checks that Graphviz's dot renders the picture as SVG without a
// warning; it skips the rest of the test when dot is not installed.
func render(t *testing.T, dot string) {
	t.Helper()
	if _, err := exec.LookPath(DotCommand); err != nil {
		t.Skipf("the picture is not rendered: Graphviz's %s is not installed (Debian: apt-get install graphviz): %v", DotCommand, err)
	}
	path := filepath.Join(t.TempDir(), "g.svg")
	warnings, err := WriteSVG(path, []byte(dot))
	if err != nil {
		t.Fatal(err)
	}
	if warnings != "" {
		t.Errorf("dot warned: %s", warnings)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("</svg>")) {
		t.Errorf("dot wrote no SVG: %.200s", svg)
	}
}

// TestTinyModels draws the bundled models and checks their pictures.
func TestTinyModels(t *testing.T) {
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction", "tsm_tiny_online", "tsm_tiny_efficientnet"} {
		t.Run(name, func(t *testing.T) {
			g := optimised(t, filepath.Join("..", "testdata", name, "model.onnx"))
			dot := draw(t, g, Options{Title: name})
			checkPicture(t, g, dot)
		})
	}
}

// TestTinyOfficialPicture pins what the README's picture shows of the
// tiny model: the time axis, the first shift and its residual.
func TestTinyOfficialPicture(t *testing.T) {
	g := optimised(t, filepath.Join("..", "testdata", "tsm_tiny_official", "model.onnx"))
	dot := draw(t, g, Options{Title: "tsm_tiny_official"})
	for _, want := range []string{
		`in0 [shape=ellipse, fillcolor="#fff2cc", label="input \"input\"\n1 clip × 12×32×32"];`,
		`n1 [fillcolor="#dbe9f6", tooltip="/base/conv1/Conv", label="#1 tsmc.Conv 7×7 stride 2\nepilogue: relu, max pool 3×3 stride 2\n→ 4 frames × 8×8×8\n1.2 M MACs\nweights 8×3×7×7 + 8 (4.6 KiB)"];`,
		`n1 -> n2 [style=dashed, color="#c0392b", fontcolor="#c0392b", penwidth=1.5, label="shift T=4\n[0,1) ← t+1\n[1,2) ← t-1"];`,
		`n1 -> n3 [color="#1f5fa8", fontcolor="#1f5fa8", label="+ residual"];`,
		`n14 [fillcolor="#eadcf2", tooltip="/ReduceMean", label="#14 tsmc.SegmentMean\n→ 1 clip × 10"];`,
		`n14 -> out0;`,
		`a run: 1 clip of T=4 frames`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("the picture lacks\n\t%s\nin\n%s", want, dot)
		}
	}
}

// TestOnlinePicture checks how an online model's shifts are drawn: the
// shifted input and the state input enter the convolution as dashed
// edges, the state ranked beside it rather than among the first inputs.
func TestOnlinePicture(t *testing.T) {
	g := optimised(t, filepath.Join("..", "testdata", "tsm_tiny_online", "model.onnx"))
	dot := draw(t, g, Options{})
	for _, want := range []string{
		`a run: 1 frame of a stream`,
		`n2 -> n4 [style=dashed, color="#c0392b", fontcolor="#c0392b", penwidth=1.5, label="shift T=1\n[0,1) ← t-1 (state)"];`,
		`in1 -> n4 [style=dashed, color="#c0392b", fontcolor="#c0392b", label="state: frame t-1"];`,
		`n2 -> in1 [style=invis];`,
		`n3 -> out1;`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("the picture lacks\n\t%s\nin\n%s", want, dot)
		}
	}
}

// blockGraph is a MobileNetV2 chain large enough for the pipeline to fuse
// into a tsmc.InvertedResidual: an expansion read through a temporal
// shift of 8 frames, a 3x3 depthwise convolution and a projection with a
// residual.
func blockGraph(t *testing.T) *ir.Graph {
	rng := rand.New(rand.NewPCG(1, 2))
	b := irtest.New(map[string]int64{"": 13, ops.Domain: 1})
	random := func(name string, shape ...int) *ir.Value {
		v := make([]float32, ir.Shape(shape).Size())
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return ir.NewConst(name, ir.Float32s(shape, v))
	}
	conv := func(group, k int, act string) map[string]ir.Attr {
		p := int64(k / 2)
		a := []any{"strides", []int64{1, 1}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p},
			"group", group, "kernel_shape", []int64{int64(k), int64(k)}}
		if act != "" {
			a = append(a, "activation", act, "clip_min", float32(0), "clip_max", float32(6))
		}
		return irtest.Attrs(a...)
	}
	x := b.Input("x", 8, 16, 32, 32)
	shift := conv(1, 1, ops.ActClip)
	ops.Shift{Segments: 8, Ranges: []ops.ShiftRange{{Begin: 0, End: 2, Offset: 1}, {Begin: 2, End: 4, Offset: -1}}}.Attrs(&ir.Node{Attrs: shift})
	e := b.Node("expand", ops.Domain, ops.OpConv, shift, x, random("we", 64, 16, 1, 1), random("be", 64))
	d := b.Node("dw", ops.Domain, ops.OpConv, conv(64, 3, ops.ActClip), e, random("wd", 64, 1, 3, 3), random("bd", 64))
	p := b.Node("project", ops.Domain, ops.OpConv, conv(1, 1, ""), d, random("wp", 16, 64, 1, 1), random("bp", 16), x)
	b.Output(p)
	g := b.Graph(t)
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 || g.Nodes[0].OpName() != ops.Domain+"."+ops.OpInvertedResidual {
		t.Fatalf("the pipeline made no single block of the chain:\n%s", g.Print())
	}
	return g
}

// TestBlockCluster checks that a fused block is a cluster of its three
// stages, the shift entering the expansion and the residual the
// projection.
func TestBlockCluster(t *testing.T) {
	g := blockGraph(t)
	dot := draw(t, g, Options{})
	checkPicture(t, g, dot)
	for _, want := range []string{
		"subgraph cluster_n0 {",
		`in0 -> n0_expand [style=dashed, color="#c0392b", fontcolor="#c0392b", penwidth=1.5, label="shift T=8\n[0,2) ← t+1\n[2,4) ← t-1"];`,
		"n0_expand -> n0_depthwise;",
		"n0_depthwise -> n0_project;",
		`in0 -> n0_project [color="#1f5fa8", fontcolor="#1f5fa8", label="+ residual"];`,
		"n0_project -> out0;",
		`n0_depthwise [fillcolor="#dbe9f6", label="depthwise 3×3\nepilogue: clip(0,6)\n→ 8 frames × 64×32×32`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("the picture lacks\n\t%s\nin\n%s", want, dot)
		}
	}
}

// TestBlockWithoutProjection: an expansion and depthwise convolution
// fused before a squeeze-and-excitation block are a cluster of two
// stages, the depthwise one feeding the pool and the projection, which
// takes the pool's channel scale.
func TestBlockWithoutProjection(t *testing.T) {
	b := irtest.New(map[string]int64{"": 13})
	rng := rand.New(rand.NewPCG(4, 4))
	random := func(name string, shape ...int) *ir.Value {
		v := make([]float32, ir.Shape(shape).Size())
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return ir.NewConst(name, ir.Float32s(shape, v))
	}
	conv := func(group, k int, act ...any) map[string]ir.Attr {
		p := int64(k / 2)
		return irtest.Attrs(append([]any{"strides", []int64{1, 1}, "dilations", []int64{1, 1}, "pads", []int64{p, p, p, p},
			"group", group, "kernel_shape", []int64{int64(k), int64(k)}}, act...)...)
	}
	x := b.Input("x", 8, 16, 32, 40)
	e := b.Node("expand", ops.Domain, ops.OpConv, conv(1, 1, "activation", "silu"), x, random("we", 64, 16, 1, 1), random("be", 64))
	d := b.Node("dw", ops.Domain, ops.OpConv, conv(64, 3, "activation", "silu"), e, random("wd", 64, 1, 3, 3), random("bd", 64))
	pool := b.Node("pool", "", "GlobalAveragePool", nil, d)
	scaled := b.Node("scale", "", "Mul", nil, d, pool)
	b.Output(b.Node("project", ops.Domain, ops.OpConv, conv(1, 1), scaled, random("wp", 16, 64, 1, 1), random("bp", 16)))
	g := b.Graph(t)
	if err := passes.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].OpName() != ops.Domain+"."+ops.OpInvertedResidual {
		t.Fatalf("the pipeline fused no block:\n%s", g.Print())
	}
	dot := draw(t, g, Options{})
	checkPicture(t, g, dot)
	for _, want := range []string{"subgraph cluster_n0 {", "n0_expand -> n0_depthwise;", "n0_depthwise -> n1;", "epilogue: silu",
		"n0_depthwise -> n2;", `n1 -> n2 [label="× channel scale"];`, "input × channel scale"} {
		if !strings.Contains(dot, want) {
			t.Errorf("the picture lacks\n\t%s\nin\n%s", want, dot)
		}
	}
	if strings.Contains(dot, "n0_project") {
		t.Errorf("the picture draws a projection the block has not:\n%s", dot)
	}
}

// TestSharedModels draws every shared model (when present) and renders it.
func TestSharedModels(t *testing.T) {
	for name, dir := range testmodels.All(t) {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.Contains(name, "resnet50") {
				t.Skip("-short skips ResNet50")
			}
			g := optimised(t, filepath.Join(dir, "model.onnx"))
			checkPicture(t, g, draw(t, g, Options{Title: name}))
		})
	}
}
