// Package graphviz draws a graph of the compiler's IR, usually the
// optimised one, as a Graphviz DOT picture: one box per node with its op,
// output shape, multiply-accumulates and weights (and its share of a run
// when given a `tsmc bench -profile` profile), temporal shifts fused into a
// convolution as dashed red edges from the input they shift, fused
// epilogues in the node, and every tsmc.InvertedResidual as a cluster of
// its three stages. It reads the IR and the operator table only.
package graphviz

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
)

// Options adjust the picture.
type Options struct {
	// Title heads the picture (a model path, say); "" uses the graph's
	// name.
	Title string
	// Profile, when it lists kernels, gives every node its time and share
	// of a run, and colours the nodes by it.
	Profile Profile
}

// Colours of the picture. Without a profile nodes are filled by what
// they do; with one, by their share of the run.
const (
	colourShift    = "#c0392b" // shift edges and state inputs
	colourResidual = "#1f5fa8" // residual edges
	colourPort     = "#fff2cc" // graph inputs and outputs
	colourConv     = "#dbe9f6"
	colourBlock    = "#f4f8ec" // the cluster of a fused block
	colourHead     = "#eadcf2" // classifier head and consensus
	colourMove     = "#eeeeee" // data movement (reshape, slice, pool, ...)
	colourShiftOp  = "#fde0c5" // a shift that is not fused
)

// Write writes g as a Graphviz digraph. Node IDs are stable: n<i> for the
// i-th node of g (the number generated code comments carry), n<i>_<stage>
// for a block's stages, in<i> and out<i> for the graph's inputs and
// outputs; everything is written in graph order.
func Write(w io.Writer, g *ir.Graph, opts Options) error {
	d := &drawing{g: g, clip: clipOf(g), ids: map[*ir.Value]string{}}
	if len(opts.Profile.Kernels) > 0 {
		times, unclaimed, err := opts.Profile.attribute(g)
		if err != nil {
			return err
		}
		d.times, d.runMs, d.unclaimed = times, opts.Profile.RunMs, unclaimed
		for _, t := range times {
			d.maxPercent = max(d.maxPercent, t.Percent)
		}
	}
	title := opts.Title
	if title == "" {
		title = g.Name
	}
	b := bufio.NewWriter(w)
	d.b = b
	fmt.Fprintf(b, "digraph %s {\n", quote(g.Name))
	fmt.Fprintf(b, "  graph [label=%s, labelloc=t, fontname=\"Helvetica\", fontsize=12, nodesep=0.3, ranksep=0.35];\n", quote(d.heading(title)))
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fillcolor=\"#ffffff\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\", arrowsize=0.7];\n")
	for i, in := range g.Inputs {
		id := "in" + strconv.Itoa(i)
		d.ids[in] = id
		fmt.Fprintf(b, "  %s [shape=ellipse, fillcolor=%q, label=%s];\n", id, colourPort, quote(fmt.Sprintf("input %q\n%s", in.Name, d.clip.shape(in.Shape))))
	}
	var edges []string
	for i, n := range g.Nodes {
		e, err := d.node(i, n)
		if err != nil {
			return err
		}
		edges = append(edges, e...)
	}
	for i, out := range g.Outputs {
		id := "out" + strconv.Itoa(i)
		label := fmt.Sprintf("output %q\n%s", out.Name, d.clip.shape(out.Shape))
		if out.IsConst() {
			label += "\nconstant"
		}
		fmt.Fprintf(b, "  %s [shape=ellipse, fillcolor=%q, label=%s];\n", id, colourPort, quote(label))
		if from, ok := d.ids[out]; ok {
			edges = append(edges, fmt.Sprintf("%s -> %s", from, id))
		}
	}
	for _, e := range edges {
		fmt.Fprintf(b, "  %s;\n", e)
	}
	b.WriteString("}\n")
	return b.Flush()
}

// drawing is the state of one Write.
type drawing struct {
	g    *ir.Graph
	b    *bufio.Writer
	clip clip
	// ids names the DOT node that produces each value drawn so far.
	ids        map[*ir.Value]string
	times      map[*ir.Node]NodeTime
	runMs      float64
	unclaimed  float64 // percent of the run in kernels of no node
	maxPercent float64
}

// heading is the picture's title and its key.
func (d *drawing) heading(title string) string {
	st := d.g.ComputeStats()
	lines := []string{title, fmt.Sprintf("%d nodes, %s MACs, %s of weights", st.Nodes, count(st.MACs), byteSize(st.ParamBytes))}
	switch {
	case d.clip.stream:
		lines = append(lines, fmt.Sprintf("a run: %s of a stream; red dashed edges: temporal shifts, fused into the node they enter", plural(d.clip.frames, "frame")),
			"([c0,c1) ← t-1 (state): channels c0 to c1-1 come from the previous frame, through a state input)")
	case d.clip.frames > 0:
		lines = append(lines, fmt.Sprintf("a run: %s of T=%d frames; red dashed edges: temporal shifts, fused into the node they enter", plural(d.clip.frames/d.clip.segments, "clip"), d.clip.segments),
			"([c0,c1) ← t+1: channels c0 to c1-1 of frame t are read from frame t+1, zeros past the clip's end)")
	}
	if st.Ops[ops.Domain+"."+ops.OpInvertedResidual] > 0 {
		lines = append(lines, "green clusters: fused inverted-residual blocks, whose three convolutions run band by band (the expanded tensor stays in cache)")
	}
	if d.times != nil {
		line := fmt.Sprintf("profile: %.3f ms per run (median); fill: share of the run; ≈: a kernel the profile does not tell apart by node, split evenly", d.runMs)
		if d.unclaimed > 0 {
			line += fmt.Sprintf("; %.1f%% in kernels of no node", d.unclaimed)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// node writes the DOT node (or cluster) of the i-th node n and returns its
// incoming edges.
func (d *drawing) node(i int, n *ir.Node) ([]string, error) {
	id := "n" + strconv.Itoa(i)
	t, timed := d.times[n]
	if n.Domain == ops.Domain && n.Op == ops.OpInvertedResidual {
		return d.block(i, n, t, timed)
	}
	lines, err := d.describe(fmt.Sprintf("#%d %s", i, n.OpName()), n)
	if err != nil {
		return nil, err
	}
	fill := d.classColour(n)
	if timed {
		lines = append(lines, t.String())
		fill = d.heat(t.Percent)
	} else if d.times != nil {
		fill = "#ffffff"
	}
	fmt.Fprintf(d.b, "  %s [fillcolor=%q, tooltip=%s, label=%s];\n", id, fill, quote(n.Name), quote(strings.Join(lines, "\n")))
	edges := d.edges(id, n)
	for _, out := range n.Outputs {
		if out != nil {
			d.ids[out] = id
		}
	}
	return edges, nil
}

// block writes a tsmc.InvertedResidual as a cluster of its stages (two
// without a projection).
func (d *drawing) block(i int, n *ir.Node, t NodeTime, timed bool) ([]string, error) {
	stages, err := ops.BlockStages(n)
	if err != nil {
		return nil, err
	}
	id := "n" + strconv.Itoa(i)
	head := []string{fmt.Sprintf("#%d %s", i, n.OpName()),
		fmt.Sprintf("→ %s, %s MACs", d.clip.shape(n.Outputs[0].Shape), count(n.MACs()))}
	fill := colourBlock
	if timed {
		head = append(head, t.String())
		fill = d.heat(t.Percent)
	}
	fmt.Fprintf(d.b, "  subgraph cluster_%s {\n    label=%s; style=\"rounded,filled\"; fillcolor=%q; color=\"#7a9a50\"; tooltip=%s;\n",
		id, quote(strings.Join(head, "\n")), fill, quote(n.Name))
	var edges []string
	stageNames := [3]string{"expand", "depthwise", "project"}
	for k, st := range stages {
		if st == nil {
			continue
		}
		sid := id + "_" + stageNames[k]
		lines, err := d.describe(stageNames[k], st)
		if err != nil {
			return nil, err
		}
		lines[0] = strings.TrimSuffix(lines[0], " depthwise") // the stage's name says it
		fmt.Fprintf(d.b, "    %s [fillcolor=%q, label=%s];\n", sid, colourConv, quote(strings.Join(lines, "\n")))
		edges = append(edges, d.edges(sid, st)...)
		d.ids[st.Outputs[0]] = sid
	}
	d.b.WriteString("  }\n")
	d.ids[n.Outputs[0]] = d.ids[ops.BlockOutput(stages).Outputs[0]]
	return edges, nil
}

// describe returns the label lines of n: the title with the op's
// geometry, the fused epilogue, the output shape, the MACs and the
// constant inputs.
func (d *drawing) describe(title string, n *ir.Node) ([]string, error) {
	lines := []string{title + geometry(n)}
	if n.Domain == ops.Domain && n.Op == ops.OpConv {
		act, err := ops.Activation(n)
		if err != nil {
			return nil, err
		}
		if n.Input(ops.ConvScale) != nil {
			lines = append(lines, "input × channel scale")
		}
		var epi []string
		if n.Input(ops.ConvResidual) != nil {
			epi = append(epi, "+ residual")
		}
		if act.Kind != runtime.ActNone {
			epi = append(epi, act.String())
		}
		if p, ok, err := ops.PoolOf(n); err != nil {
			return nil, err
		} else if ok {
			epi = append(epi, fmt.Sprintf("max pool %d×%d stride %d", p.Kernel[0], p.Kernel[1], p.Strides[0]))
		}
		if len(epi) > 0 {
			lines = append(lines, "epilogue: "+strings.Join(epi, ", "))
		}
	}
	for _, out := range n.Outputs {
		if out != nil {
			lines = append(lines, "→ "+d.clip.shape(out.Shape))
		}
	}
	if m := n.MACs(); m > 0 {
		lines = append(lines, count(m)+" MACs")
	}
	if c := constants(n); c != "" {
		lines = append(lines, c)
	}
	return lines, nil
}

// edges returns the edges into the DOT node id from the producers of n's
// run-time inputs: the shifted input as a dashed red edge labelled with
// the shift, a residual, a shift state and a channel scale labelled as
// such.
func (d *drawing) edges(id string, n *ir.Node) []string {
	shifted, state := ops.ShiftState(n)
	shift, hasShift, err := ops.ShiftOf(n)
	hasShift = hasShift && err == nil // the verifier has checked the shift
	var residual, scale *ir.Value
	if n.Domain == ops.Domain && n.Op == ops.OpConv {
		residual, scale = n.Input(ops.ConvResidual), n.Input(ops.ConvScale)
	}
	var edges []string
	for _, in := range n.Inputs {
		from, ok := d.ids[in]
		if in == nil || in.IsConst() || !ok {
			continue
		}
		attrs := ""
		switch {
		case in == shifted && hasShift:
			attrs = fmt.Sprintf(" [style=dashed, color=%q, fontcolor=%q, penwidth=1.5, label=%s]", colourShift, colourShift, quote(shiftLabel(shift, state != nil)))
		case in == state:
			attrs = fmt.Sprintf(" [style=dashed, color=%q, fontcolor=%q, label=%s]", colourShift, colourShift, quote("state: frame t-1"))
			if x, ok := d.ids[shifted]; ok { // rank the state beside the node, not among the graph's first inputs
				edges = append(edges, x+" -> "+from+" [style=invis]")
			}
		case in == residual:
			attrs = fmt.Sprintf(" [color=%q, fontcolor=%q, label=%s]", colourResidual, colourResidual, quote("+ residual"))
		case in == scale:
			attrs = fmt.Sprintf(" [label=%s]", quote("× channel scale"))
		}
		edges = append(edges, from+" -> "+id+attrs)
	}
	return edges
}

// shiftLabel spells a shift one channel range a line.
func shiftLabel(s ops.Shift, state bool) string {
	lines := []string{fmt.Sprintf("shift T=%d", s.Segments)}
	for _, r := range s.Ranges {
		from := fmt.Sprintf("t%+d", r.Offset)
		if state && r.Offset == -1 {
			from += " (state)"
		}
		lines = append(lines, fmt.Sprintf("[%d,%d) ← %s", r.Begin, r.End, from))
	}
	return strings.Join(lines, "\n")
}

// geometry spells the window of a convolution or pooling node: kernel,
// stride (when not 1), depthwise or grouped.
func geometry(n *ir.Node) string {
	kernel, ok := n.AttrInts("kernel_shape")
	if !ok {
		return ""
	}
	s := " " + dims(kernel)
	if strides, ok := n.AttrInts("strides"); ok && slices.ContainsFunc(strides, func(s int64) bool { return s != 1 }) {
		if slices.Min(strides) == slices.Max(strides) {
			strides = strides[:1]
		}
		s += " stride " + dims(strides)
	}
	if group := n.AttrInt("group", 1); group > 1 {
		if x := n.Input(0); x != nil && len(x.Shape) > 1 && int64(x.Shape[1]) == group {
			s += " depthwise"
		} else {
			s += fmt.Sprintf(" group %d", group)
		}
	}
	return s
}

// dims spells sizes as "3×3".
func dims[T int | int64](v []T) string {
	parts := make([]string, len(v))
	for i, x := range v {
		if x < 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.FormatInt(int64(x), 10)
		}
	}
	return strings.Join(parts, "×")
}

// constants summarises the constant inputs of n (its weights, or small
// shape arithmetic): their shapes and size, the values of small integer
// ones.
func constants(n *ir.Node) string {
	var parts []string
	var size int64
	for _, in := range n.Inputs {
		if !in.IsConst() {
			continue
		}
		size += in.Const.Bytes()
		if in.DType.IsInt() && in.Const.Len() <= 8 {
			parts = append(parts, "{"+strings.Trim(strings.Join(strings.Fields(fmt.Sprint(in.Const.Ints())), ","), "[]")+"}")
		} else {
			parts = append(parts, dims(in.Shape))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	what := "const"
	if d := ops.Lookup(n); d != nil && d.Params {
		what = "weights"
	}
	return fmt.Sprintf("%s %s (%s)", what, strings.Join(parts, " + "), byteSize(size))
}

// classColour is the fill of a node by what it does.
func (d *drawing) classColour(n *ir.Node) string {
	switch {
	case n.Op == "Conv" || n.Op == ops.OpInvertedResidual:
		return colourConv
	case n.Domain == ops.Domain && (n.Op == ops.OpDense || n.Op == ops.OpSegmentMean), n.Op == "Gemm", n.Op == "MatMul", n.Op == "Softmax":
		return colourHead
	case n.Domain == ops.Domain && n.Op == ops.OpTemporalShift:
		return colourShiftOp
	case n.MACs() == 0:
		return colourMove
	}
	return "#ffffff"
}

// heat is a fill from white to red by a node's share of the run against
// the largest share.
func (d *drawing) heat(percent float64) string {
	s := 0.0
	if d.maxPercent > 0 {
		s = 0.75 * math.Sqrt(max(percent, 0)/d.maxPercent)
	}
	return fmt.Sprintf("0.000 %.3f 1.000", s)
}

// clip is the time axis of the graph's activations: frames is the leading
// dimension of the tensors the shifts read (N clips of T frames each),
// segments T; zeros when the graph has no shift. stream marks an online
// model, whose shifts read the previous frame from state inputs.
type clip struct {
	frames, segments int
	stream           bool
}

func clipOf(g *ir.Graph) clip {
	for _, n := range g.Nodes {
		x, state := ops.ShiftState(n)
		s, ok, err := ops.ShiftOf(n)
		if ok && err == nil && x != nil && len(x.Shape) > 0 && x.Shape[0] > 0 {
			return clip{frames: x.Shape[0], segments: s.Segments, stream: state != nil}
		}
	}
	return clip{}
}

// shape spells a tensor shape with its time axis named: [8,64,56,56] of
// a clip of 8 frames as "8 frames × 64×56×56", [1,400] as
// "1 clip × 400".
func (c clip) shape(s ir.Shape) string {
	if len(s) == 0 {
		return "scalar"
	}
	rest := ""
	if len(s) > 1 {
		rest = " × " + dims(s[1:])
	}
	switch {
	case c.frames > 0 && s[0] == c.frames:
		return plural(s[0], "frame") + rest
	case c.frames > 0 && s[0]*c.segments == c.frames:
		return plural(s[0], "clip") + rest
	}
	return dims(s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// count spells a count with a decimal unit: 1.23 M.
func count(n int64) string {
	return scaled(float64(n), 1000, []string{"", " k", " M", " G", " T"})
}

// byteSize spells a byte count with a binary unit: 4.5 KiB.
func byteSize(n int64) string {
	return scaled(float64(n), 1024, []string{" B", " KiB", " MiB", " GiB", " TiB"})
}

func scaled(v, base float64, units []string) string {
	i := 0
	for v >= base && i < len(units)-1 {
		v /= base
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', -1, 64) + units[0]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i]
}

// quote makes s a DOT string: quotes and backslashes escaped, lines
// joined with \n (centred).
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
