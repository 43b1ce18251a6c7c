package passes

import (
	"fmt"
	"slices"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// This file recognises the temporal shift by abstract interpretation rather
// than by matching one exporter's op sequence. A subgraph made only of
// data-movement ops computes an index map: every element of its result is
// an element of its input or zero. Running the subgraph on a tensor that
// holds each element's own index reveals that map, which is then tested
// against the definition of a temporal shift.

// maxShiftCone bounds the elements of any tensor a shift candidate is
// evaluated on: index encodings in float32 are exact up to 2^24.
const maxShiftCone = 1 << 24

// RecognizeTemporalShift replaces every data-movement subgraph that computes
// a temporal shift with one tsmc.TemporalShift node.
//
// It assumes shapes are inferred and constants folded (index tensors,
// reshape targets and slice bounds are constant values). For every value Y
// read by a compute op or listed as a graph output (then for those of rank
// 3 or more that more data movement reads, as a channel split after the
// shift) it collects the cone of
// data-movement ops (Reshape, Slice, Concat, ScatterND, Pad, Transpose,
// Expand, ...) that produces Y, evaluates it twice on index encodings of its
// one activation input X (and, for online models, one graph input S, the
// state) and accepts it when, for Y and X of shape [N*T, C, ...], element
// (n*T+t, c, ...) of Y is element (n*T+t+d(c), c, ...) of X when
// 0 <= t+d(c) < T and zero otherwise, with at least one d(c) != 0. With a
// state input every nonzero d(c) must be -1 and frame t = 0 reads S, whose
// channels are the shifted ones in order. T is the largest divisor of N*T
// for which the map holds. Cones that do not fit, that read non-zero
// constants, or whose tensors exceed 2^24 elements are left alone.
//
// The new node takes Y's place; the cone's nodes and the zero producers
// feeding it are removed once nothing else reads them.
func RecognizeTemporalShift(g *ir.Graph) error {
	tried := map[*ir.Value]bool{}
	// First the values compute ops read; then, for a shift whose output
	// more data movement reads (ShuffleNet's channel split after it), the
	// values of frames' shape inside longer movement chains.
	for _, inside := range []bool{false, true} {
		producers := g.Producers()
		for _, y := range shiftCandidates(g, inside) {
			if tried[y] || producers[y] == nil {
				continue
			}
			tried[y] = true
			if cone, shift, _ := analyzeShift(g, producers, y); cone != nil {
				replaceWithShift(g, cone, shift)
				producers = g.Producers()
			}
		}
	}
	return g.Verify()
}

// shiftCandidates lists, in node order, the values produced by a
// data-movement op and read by a compute op (arithmetic Subs included) or
// listed as graph outputs; with inside, also those read by another
// data-movement op, when of rank 3 or more (frames of channels).
func shiftCandidates(g *ir.Graph, inside bool) []*ir.Value {
	wanted := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		wanted[o] = true
	}
	for _, n := range g.Nodes {
		m, ok := classifyMovement(n)
		if ok && !(isOp(n, "Sub") && m.kind == moveData) {
			if !inside || m.kind != moveData {
				continue
			}
			for _, i := range m.data {
				if in := n.Input(i); in != nil && len(in.Shape) >= 3 {
					wanted[in] = true
				}
			}
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				wanted[in] = true
			}
		}
	}
	var out []*ir.Value
	for _, n := range g.Nodes {
		if _, ok := classifyMovement(n); !ok {
			continue
		}
		for _, o := range n.Outputs {
			if o != nil && wanted[o] {
				out = append(out, o)
			}
		}
	}
	return out
}

// movementKind says how a data-movement op takes part in a cone.
type movementKind uint8

const (
	// moveData: the op rearranges its data inputs (listed) and reads its
	// other inputs as constant parameters.
	moveData movementKind = iota + 1
	// moveZeros: the op's output is all zeros whatever its inputs (x - x,
	// x * 0, ConstantOfShape of 0); its inputs are not part of the cone.
	moveZeros
)

// movement describes one node of a cone.
type movement struct {
	kind movementKind
	data []int // data inputs, for moveData
}

// trivialMovement are the ops that only relabel elements; a cone of these
// alone cannot be a shift.
var trivialMovement = map[string]bool{
	"Reshape": true, "Identity": true, "Squeeze": true, "Unsqueeze": true, "Flatten": true,
}

// classifyMovement reports whether n is a data-movement op that a shift
// cone may contain, and how. Ops whose parameter inputs are not constant,
// Pads that are not constant padding with zero and ScatterNDs that reduce
// are not data movement.
func classifyMovement(n *ir.Node) (movement, bool) {
	if n == nil || n.Domain != "" && n.Domain != "ai.onnx" {
		return movement{}, false
	}
	var m movement
	switch n.Op {
	case "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
		"Expand", "Slice", "Split", "Gather":
		m = movement{kind: moveData, data: []int{0}}
	case "Concat":
		m = movement{kind: moveData}
		for i := range n.Inputs {
			m.data = append(m.data, i)
		}
	case "Pad":
		if n.AttrString("mode", "constant") != "constant" || n.AttrFloat("value", 0) != 0 {
			return movement{}, false
		}
		m = movement{kind: moveData, data: []int{0, 2}}
	case "ScatterND":
		if n.AttrString("reduction", "none") != "none" {
			return movement{}, false
		}
		m = movement{kind: moveData, data: []int{0, 2}}
	case "Sub":
		a, b := n.Input(0), n.Input(1)
		if a == nil || b == nil {
			return movement{}, false
		}
		if a == b && !a.IsConst() {
			return movement{kind: moveZeros}, true
		}
		// A difference of two different data tensors is arithmetic; the
		// two index encodings catch it unless it is zero.
		m = movement{kind: moveData, data: []int{0, 1}}
	case "Mul":
		if isZeroConst(n.Input(0)) || isZeroConst(n.Input(1)) {
			return movement{kind: moveZeros}, true
		}
		return movement{}, false
	case "ConstantOfShape":
		if !n.Input(0).IsConst() {
			return movement{}, false
		}
		if t := n.AttrTensor("value"); t != nil {
			if v, ok := t.IsSplat(); !ok || v != 0 {
				return movement{}, false
			}
		}
		return movement{kind: moveZeros}, true
	default:
		return movement{}, false
	}
	for i, in := range n.Inputs {
		if in != nil && !slices.Contains(m.data, i) && !in.IsConst() {
			return movement{}, false
		}
	}
	return m, true
}

// isZeroConst reports whether v is a constant of all zeros.
func isZeroConst(v *ir.Value) bool {
	if !v.IsConst() {
		return false
	}
	z, ok := v.Const.IsSplat()
	return ok && z == 0
}

// shiftCone is a data-movement subgraph from X (and S) to Y.
type shiftCone struct {
	y     *ir.Value
	x, s  *ir.Value // s is nil for offline shifts
	nodes []*ir.Node
	moves map[*ir.Node]movement
	// fill is what the zeros of a quantised (uint8 or int8) cone hold:
	// the one value of its constants and zero producers.
	fill int64
}

// analyzeShift tests whether the cone producing y is a temporal shift. It
// returns the cone and the shift when it is; otherwise a nil cone and the
// reason, for tests and debugging. A cone the interpreter fails on is
// rejected too: the pass only ever leaves such graphs alone.
func analyzeShift(g *ir.Graph, producers map[*ir.Value]*ir.Node, y *ir.Value) (*shiftCone, ops.Shift, string) {
	cone, shift, why := analyzeShiftCone(g, producers, y, false)
	if cone == nil {
		// The activation may itself come out of layout ops (a 5-D block
		// viewed back as frames): the shift starts at the nearest value
		// of y's shape.
		if c, s, w := analyzeShiftCone(g, producers, y, true); c != nil {
			return c, s, ""
		} else if w != why {
			why += "; from the nearest value of its shape: " + w
		}
	}
	return cone, shift, why
}

// analyzeShiftCone is analyzeShift on the cone collectShiftCone walks.
func analyzeShiftCone(g *ir.Graph, producers map[*ir.Value]*ir.Node, y *ir.Value, stopAtShape bool) (*shiftCone, ops.Shift, string) {
	cone, why := collectShiftCone(g, producers, y, stopAtShape)
	if cone == nil {
		return nil, ops.Shift{}, why
	}
	src, why := cone.sourceMap(g)
	if src == nil {
		return nil, ops.Shift{}, why
	}
	var sShape ir.Shape
	if cone.s != nil {
		sShape = cone.s.Shape
	}
	shift, why := decodeShift(src, cone.x.Shape, sShape)
	if why != "" {
		return nil, ops.Shift{}, why
	}
	return cone, shift, ""
}

// collectShiftCone walks back from y through data-movement ops and checks
// the cone's shape before any evaluation: one activation leaf X of y's
// shape, optionally one graph input S, zero constants on the data path,
// tensors small enough to encode. With stopAtShape, a run-time value of y's
// type ends the walk as a leaf too.
func collectShiftCone(g *ir.Graph, producers map[*ir.Value]*ir.Node, y *ir.Value, stopAtShape bool) (*shiftCone, string) {
	first := producers[y]
	if first == nil {
		return nil, "not produced by a node"
	}
	if _, ok := classifyMovement(first); !ok {
		return nil, "not produced by a data-movement op"
	}
	moves := map[*ir.Node]movement{}
	var leaves []*ir.Value
	seen := map[*ir.Value]bool{}
	stack := []*ir.Value{y}
	quantized := y.DType == ir.Uint8 || y.DType == ir.Int8
	fills := map[int64]bool{}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v] {
			continue
		}
		seen[v] = true
		if v.IsConst() {
			f, splat := v.Const.IsSplat()
			switch {
			case quantized && splat && v.DType == y.DType:
				fills[int64(f)] = true
			case quantized:
				return nil, fmt.Sprintf("constant %v on the data path of a %v cone is not one %v value", v, y.DType, y.DType)
			case !isZeroConst(v):
				return nil, fmt.Sprintf("constant %v on the data path is not all zeros", v)
			}
			continue
		}
		p := producers[v]
		m, ok := movement{}, false
		if p != nil {
			m, ok = classifyMovement(p)
		}
		if !ok || stopAtShape && v != y && v.DType == y.DType && v.Shape.Equal(y.Shape) {
			leaves = append(leaves, v)
			continue
		}
		if _, done := moves[p]; done {
			continue
		}
		moves[p] = m
		if m.kind == moveZeros {
			fills[0] = true
		}
		if m.kind == moveData {
			for _, i := range m.data {
				if in := p.Input(i); in != nil {
					stack = append(stack, in)
				}
			}
		}
	}
	trivial := true
	for n := range moves {
		trivial = trivial && trivialMovement[n.Op]
	}
	if trivial {
		return nil, "only reshapes"
	}
	x, s, why := pickShiftSources(g, y, leaves)
	if x == nil {
		return nil, why
	}
	if len(fills) > 1 {
		return nil, fmt.Sprintf("the zeros of the %v cone hold %d different values", y.DType, len(fills))
	}
	cone := &shiftCone{y: y, x: x, s: s, moves: moves}
	for f := range fills {
		cone.fill = f
	}
	for _, n := range g.Nodes {
		if _, ok := moves[n]; ok {
			cone.nodes = append(cone.nodes, n)
			for _, o := range n.Outputs {
				if o != nil && (!o.Shape.Known() || o.Shape.Size() > maxShiftCone) {
					return nil, fmt.Sprintf("%v has shape %v: unknown or more than %d elements", o, o.Shape, maxShiftCone)
				}
			}
		}
	}
	return cone, ""
}

// pickShiftSources names the cone's leaves: X, an activation of y's shape
// and dtype (float32, or quantised: uint8 or int8), and optionally S, a
// graph input (the online state) or, in a quantised cone, the
// QuantizeLinear of one.
func pickShiftSources(g *ir.Graph, y *ir.Value, leaves []*ir.Value) (x, s *ir.Value, why string) {
	producers := g.Producers()
	isInput := func(v *ir.Value) bool {
		if q := producers[v]; isQ(q) && v.DType != ir.Float32 {
			v = q.Inputs[0]
		}
		return slices.Contains(g.Inputs, v)
	}
	fitsX := func(v *ir.Value) bool {
		return (v.DType == ir.Float32 || v.DType == ir.Uint8 || v.DType == ir.Int8) && v.DType == y.DType && len(v.Shape) >= 2 && v.Shape.Equal(y.Shape)
	}
	switch len(leaves) {
	case 1:
		x = leaves[0]
	case 2:
		a, b := leaves[0], leaves[1]
		switch {
		case isInput(a) && isInput(b):
			if fitsX(a) == fitsX(b) {
				return nil, nil, fmt.Sprintf("cannot tell activation from state among graph inputs %v and %v", a, b)
			}
			if fitsX(b) {
				a, b = b, a
			}
		case isInput(a):
			a, b = b, a
		case !isInput(b):
			return nil, nil, fmt.Sprintf("reads two activations %v and %v", a, b)
		}
		x, s = a, b
	default:
		return nil, nil, fmt.Sprintf("reads %d run-time values, want one activation and at most one state input", len(leaves))
	}
	if !fitsX(x) {
		return nil, nil, fmt.Sprintf("source %v is %v%v, result %v is %v%v: want the same shape of rank >= 2 and type (float32, uint8 or int8)",
			x, x.DType, x.Shape, y, y.DType, y.Shape)
	}
	if s != nil {
		if s.DType != x.DType || len(s.Shape) != len(x.Shape) || !s.Shape[2:].Equal(x.Shape[2:]) {
			return nil, nil, fmt.Sprintf("state %v is %v%v, does not fit activation %v%v", s, s.DType, s.Shape, x.DType, x.Shape)
		}
	}
	total := x.Shape.Size()
	if s != nil {
		if !s.Shape.Known() {
			return nil, nil, fmt.Sprintf("state %v has unknown shape %v", s, s.Shape)
		}
		total += s.Shape.Size()
	}
	if total > maxShiftCone {
		return nil, nil, fmt.Sprintf("sources have %d elements, more than %d", total, maxShiftCone)
	}
	return x, s, ""
}

// sourceMap evaluates the cone on two index encodings of its sources and
// returns, for every element of Y, the flat index of the element it copies
// (X's elements first, then S's), or -1 where it is zero. The encodings
// (k+1, and M-k for M sources) disagree on any arithmetic combination of
// different elements, so only pure copies and zeros decode consistently.
func (c *shiftCone) sourceMap(g *ir.Graph) ([]int32, string) {
	nx := c.x.Shape.Size()
	total := nx
	if c.s != nil {
		total += c.s.Shape.Size()
	}
	encode := func(k int) float32 { return float32(k + 1) }
	reversed := func(k int) float32 { return float32(total - k) }
	first, err := c.evaluate(g, encode)
	if err != nil {
		return nil, err.Error()
	}
	src := make([]int32, len(first))
	for i, v := range first {
		k := int(v) - 1
		switch {
		case v == 0:
			src[i] = -1
		case float32(k+1) != v || k < 0 || k >= total:
			return nil, fmt.Sprintf("element %d of %v is %g, not a copy of a source element", i, c.y, v)
		default:
			src[i] = int32(k)
		}
	}
	second, err := c.evaluate(g, reversed)
	if err != nil {
		return nil, err.Error()
	}
	for i, v := range second {
		want := float32(0)
		if src[i] >= 0 {
			want = reversed(int(src[i]))
		}
		if v != want {
			return nil, fmt.Sprintf("element %d of %v is not a plain copy (the two index encodings disagree)", i, c.y)
		}
	}
	return src, ""
}

// evaluate runs the cone with X's element k set to enc(k) and S's element j
// to enc(|X|+j), returning Y's data.
func (c *shiftCone) evaluate(g *ir.Graph, enc func(int) float32) ([]float32, error) {
	env := map[*ir.Value]*ir.Tensor{}
	offset := 0
	for _, v := range []*ir.Value{c.x, c.s} {
		if v == nil {
			continue
		}
		data := make([]float32, v.Shape.Size())
		for i := range data {
			data[i] = enc(offset + i)
		}
		offset += len(data)
		env[v] = ir.Float32s(v.Shape, data)
	}
	quantized := c.y.DType != ir.Float32
	for _, n := range c.nodes {
		var outs []*ir.Tensor
		if c.moves[n].kind == moveZeros {
			outs = make([]*ir.Tensor, len(n.Outputs))
			for i, o := range n.Outputs {
				if o == nil {
					continue
				}
				dt := o.DType
				if quantized {
					dt = ir.Float32 // the encodings are float32
				}
				var err error
				if outs[i], err = ir.NewTensor(dt, o.Shape); err != nil {
					return nil, n.Errorf("%v", err)
				}
			}
		} else {
			var err error
			if outs, err = c.evalNode(g, n, env, quantized); err != nil {
				return nil, err
			}
		}
		for i, o := range n.Outputs {
			if o != nil && i < len(outs) {
				env[o] = outs[i]
			}
		}
	}
	y := env[c.y]
	if y == nil || y.DType != ir.Float32 || !y.Shape.Equal(c.x.Shape) {
		return nil, fmt.Errorf("evaluating the cone of %v gave no float32 tensor of shape %v", c.y, c.x.Shape)
	}
	return y.F32, nil
}

// evalNode runs one cone node on the encodings in env. In a quantised
// cone the constants on the data path (its zeros, whatever value holds
// them) are float32 zeros, like the encodings.
func (c *shiftCone) evalNode(g *ir.Graph, n *ir.Node, env map[*ir.Value]*ir.Tensor, quantized bool) ([]*ir.Tensor, error) {
	if !quantized {
		return interp.EvalWith(n, g.Opset(n), env)
	}
	args := make([]*ir.Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		switch {
		case v == nil:
		case v.IsConst() && slices.Contains(c.moves[n].data, i):
			z, err := ir.NewTensor(ir.Float32, v.Shape)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			args[i] = z
		case v.IsConst():
			args[i] = v.Const
		default:
			if args[i] = env[v]; args[i] == nil {
				return nil, n.Errorf("input %v is not evaluated", v)
			}
		}
	}
	return interp.Eval(n, g.Opset(n), args)
}

// shiftRow is what one row (frame, channel) of Y holds.
type shiftRow struct {
	kind  uint8 // rowZero, rowFromX or rowFromS
	frame int   // X's frame, or S's batch index
	ch    int   // S's channel
}

const (
	rowZero uint8 = iota
	rowFromX
	rowFromS
)

// decodeShift reads a temporal shift off the source map of a cone whose
// activation has shape xShape ([N*T, C, ...]) and whose state, if any, has
// shape sShape ([N, Cs, ...]). It returns a reason when the map is no
// temporal shift.
func decodeShift(src []int32, xShape, sShape ir.Shape) (ops.Shift, string) {
	frames, channels := xShape[0], xShape[1]
	inner := xShape[2:].Size()
	rows, why := classifyShiftRows(src, frames, channels, inner, sShape)
	if rows == nil {
		return ops.Shift{}, why
	}
	delta := make([]int, channels)
	hasState := sShape != nil
	for c := 0; c < channels; c++ {
		known, fromState := false, false
		for f := 0; f < frames; f++ {
			r := rows[f*channels+c]
			switch r.kind {
			case rowFromX:
				d := r.frame - f
				if known && d != delta[c] {
					return ops.Shift{}, fmt.Sprintf("channel %d reads frames at offsets %d and %d", c, delta[c], d)
				}
				delta[c], known = d, true
			case rowFromS:
				fromState = true
			}
		}
		if fromState {
			if known && delta[c] != -1 {
				return ops.Shift{}, fmt.Sprintf("channel %d reads the state and frame offset %d", c, delta[c])
			}
			delta[c], known = -1, true
		}
		if !known {
			return ops.Shift{}, fmt.Sprintf("channel %d is zero in every frame", c)
		}
		if hasState && delta[c] != 0 && delta[c] != -1 {
			return ops.Shift{}, fmt.Sprintf("channel %d of a shift with state has offset %d, want -1", c, delta[c])
		}
	}
	shift := ops.Shift{Ranges: shiftRanges(delta)}
	if len(shift.Ranges) == 0 {
		return ops.Shift{}, "no channel is shifted"
	}
	if hasState && sShape[1] != shift.StateChannels() {
		return ops.Shift{}, fmt.Sprintf("state has %d channels, the shift moves %d", sShape[1], shift.StateChannels())
	}
	// Prefer the largest segment count: with T = N*T every clip boundary
	// that the zeros reveal is one, and smaller T only add boundaries.
	for segments := frames; segments >= 1; segments-- {
		if frames%segments != 0 || hasState && sShape[0] != frames/segments {
			continue
		}
		if shiftRowsMatch(rows, delta, segments, hasState) {
			shift.Segments = segments
			return shift, ""
		}
	}
	return ops.Shift{}, "no segment count makes the zeros fall on clip boundaries (a roll or a mix of frames)"
}

// classifyShiftRows checks that each row of Y is all zero or a contiguous
// copy of the same channel row of one X frame, or of one S row, and
// returns the rows' sources in (frame, channel) order.
func classifyShiftRows(src []int32, frames, channels, inner int, sShape ir.Shape) ([]shiftRow, string) {
	nx := frames * channels * inner
	stateChannels := 0
	if sShape != nil {
		stateChannels = sShape[1]
	}
	rows := make([]shiftRow, frames*channels)
	for i := range rows {
		base := i * inner
		first := int(src[base])
		var r shiftRow
		switch {
		case first < 0:
			r.kind = rowZero
		case first < nx:
			r = shiftRow{kind: rowFromX, frame: first / (channels * inner)}
			if first/inner%channels != i%channels {
				return nil, fmt.Sprintf("frame %d channel %d reads channel %d (not the same channel)", i/channels, i%channels, first/inner%channels)
			}
		default:
			j := first - nx
			r = shiftRow{kind: rowFromS, frame: j / (stateChannels * inner), ch: j / inner % stateChannels}
		}
		if r.kind != rowZero && first%inner != 0 {
			return nil, fmt.Sprintf("frame %d channel %d moves within the row (not a pure frame shift)", i/channels, i%channels)
		}
		for p := 1; p < inner; p++ {
			want := int32(-1)
			if r.kind != rowZero {
				want = int32(first + p)
			}
			if src[base+p] != want {
				return nil, fmt.Sprintf("frame %d channel %d moves within the row (not a pure frame shift)", i/channels, i%channels)
			}
		}
		rows[i] = r
	}
	return rows, ""
}

// shiftRanges groups consecutive channels of equal nonzero offset.
func shiftRanges(delta []int) []ops.ShiftRange {
	var ranges []ops.ShiftRange
	for c, d := range delta {
		if d == 0 {
			continue
		}
		if n := len(ranges); n > 0 && ranges[n-1].End == c && ranges[n-1].Offset == d {
			ranges[n-1].End++
			continue
		}
		ranges = append(ranges, ops.ShiftRange{Begin: c, End: c + 1, Offset: d})
	}
	return ranges
}

// shiftRowsMatch reports whether rows are exactly the temporal shift with
// the given offsets and segment count: in range frames copy frame t+d, the
// others are zero, or, with state, the state's row of the same clip.
func shiftRowsMatch(rows []shiftRow, delta []int, segments int, hasState bool) bool {
	channels := len(delta)
	stateIndex := make([]int, channels)
	next := 0
	for c, d := range delta {
		stateIndex[c] = next
		if d != 0 {
			next++
		}
	}
	for i, r := range rows {
		f, c := i/channels, i%channels
		t, d := f%segments, delta[c]
		var want shiftRow
		switch {
		case t+d >= 0 && t+d < segments:
			want = shiftRow{kind: rowFromX, frame: f + d}
		case hasState:
			want = shiftRow{kind: rowFromS, frame: f / segments, ch: stateIndex[c]}
		default:
			want = shiftRow{kind: rowZero}
		}
		if r != want {
			return false
		}
	}
	return true
}

// replaceWithShift puts a TemporalShift node where Y's producer was and
// removes the cone nodes and zero producers nothing reads any more.
func replaceWithShift(g *ir.Graph, c *shiftCone, s ops.Shift) {
	node := &ir.Node{
		Name:    "TemporalShift_" + c.y.Name,
		Op:      ops.OpTemporalShift,
		Domain:  ops.Domain,
		Inputs:  []*ir.Value{c.x},
		Outputs: []*ir.Value{c.y},
	}
	if c.s != nil {
		node.Inputs = append(node.Inputs, c.s)
	}
	s.Attrs(node)
	if c.x.DType != ir.Float32 {
		node.SetAttr("fill", newIntAttr(c.fill))
	}
	at := 0
	for i, n := range g.Nodes {
		for j, o := range n.Outputs {
			if o == c.y {
				n.Outputs[j] = nil
				at = i
			}
		}
	}
	g.Nodes = slices.Insert(g.Nodes, at, node)
	c.y.DType, c.y.Shape = c.x.DType, c.x.Shape.Clone()
	removeDeadMovement(g, c.nodes)
}

// removeDeadMovement removes the given nodes once none of their outputs is
// read, and then, transitively, the data-movement nodes that fed only them.
func removeDeadMovement(g *ir.Graph, candidates []*ir.Node) {
	reads := map[*ir.Value]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				reads[in]++
			}
		}
	}
	for _, o := range g.Outputs {
		reads[o]++
	}
	producers := g.Producers()
	dead := map[*ir.Node]bool{}
	work := slices.Clone(candidates)
	for len(work) > 0 {
		n := work[len(work)-1]
		work = work[:len(work)-1]
		if dead[n] || slices.ContainsFunc(n.Outputs, func(o *ir.Value) bool { return o != nil && reads[o] > 0 }) {
			continue
		}
		dead[n] = true
		for _, in := range n.Inputs {
			if in == nil {
				continue
			}
			reads[in]--
			if p := producers[in]; p != nil && !dead[p] {
				if _, ok := classifyMovement(p); ok {
					work = append(work, p)
				}
			}
		}
	}
	removeNodes(g, dead)
}
