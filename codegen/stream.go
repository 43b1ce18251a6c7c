package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
)

// This file finds the streaming form of online models and emits their
// Stream type. An online TSM takes, beside its frame, one state per
// stateful shift (S_prev: the shifted channels of the previous frame) and
// returns the state for the next frame as a graph output. The pairing of
// state inputs with state outputs is read off the graph by data flow, never
// by names: a state input is a graph input that a shift reads as its
// S_prev; its state output is the graph output that copies exactly the
// channels that shift moves, of the last frame of each clip of the shift's
// activation X, in the state's layout. The copy is found by evaluating the
// output's data-movement cone on an index encoding of X.
//
// A Stream holds two state buffers and swaps them every Step: the shifted
// convolutions read the current one in place through their row tables,
// and the Slices that produce the state outputs write the next one
// directly, so a Step writes each state's channels once and copies no
// buffer.

// streamState pairs a state input with its state output.
type streamState struct {
	in, out int // indices into program.inputs and program.outputs
	offset  int // floats from the start of a stream state buffer
	size    int
}

// streamPlan is the streaming form of a program.
type streamPlan struct {
	states  []streamState
	frames  []int // the inputs Step takes (indices into program.inputs)
	results []int // the outputs Step returns (indices into program.outputs)
	// stateLen is the size of one state buffer: every state at an aligned
	// offset.
	stateLen int
}

// planStream finds the streaming form of p. It returns nil and an empty
// reason for a model without stateful shifts, and nil and the reason when
// a model has state inputs that cannot all be paired with state outputs.
func planStream(p *program) (*streamPlan, string) {
	readers, why := stateReaders(p)
	if why != "" || len(readers) == 0 {
		return nil, why
	}
	type cone struct {
		out int
		x   *ir.Value
	}
	sources := map[cone][]int32{} // source maps of outputs over activations, or nil
	plan := &streamPlan{}
	pairedOut := map[int]bool{}
	pairedIn := map[int]bool{}
	for k, pt := range p.inputs {
		rd, ok := readers[pt.v]
		if !ok {
			continue
		}
		want, why := expectedState(pt.v, rd)
		if why != "" {
			return nil, why
		}
		match := -1
		for o, out := range p.outputs {
			if pairedOut[o] || !out.v.Shape.Equal(pt.v.Shape) {
				continue
			}
			src, seen := sources[cone{o, rd.x}]
			if !seen {
				src = coneSources(p.g, out.v, rd.x)
				sources[cone{o, rd.x}] = src
			}
			if src != nil && slices.Equal(src, want) {
				match = o
				break
			}
		}
		if match < 0 {
			return nil, fmt.Sprintf("no graph output carries the next value of state input %q (channels %s of %q)", pt.v.Name, rd.shift, rd.x.Name)
		}
		out := p.outputs[match].v
		s := p.store[out]
		if s == nil || s.kind != inArena {
			return nil, fmt.Sprintf("state output %q is not computed in the arena", out.Name)
		}
		if readByNode(p, s) {
			return nil, fmt.Sprintf("state output %q is also read inside the graph", out.Name)
		}
		pairedOut[match], pairedIn[k] = true, true
		plan.states = append(plan.states, streamState{in: k, out: match, offset: plan.stateLen, size: pt.v.Shape.Size()})
		plan.stateLen += runtime.AlignUp(pt.v.Shape.Size())
	}
	for k := range p.inputs {
		if !pairedIn[k] {
			plan.frames = append(plan.frames, k)
		}
	}
	for o := range p.outputs {
		if !pairedOut[o] {
			plan.results = append(plan.results, o)
		}
	}
	if len(plan.frames) == 0 || len(plan.results) == 0 {
		return nil, "every input or every output is a state"
	}
	return plan, ""
}

// stateReader is how stateful shifts read one state input.
type stateReader struct {
	x     *ir.Value // the shifted activation
	shift ops.Shift
}

// stateReaders maps every value read as a shift state (ops.ShiftState)
// to the shift reading it; a quantised shift's state is the graph input
// its QuantizeLinear reads (a QDQ model's states are float32 at its
// boundary). A state that is not a graph input, or that two different
// shifts read, has no streaming form: the reason says so.
func stateReaders(p *program) (map[*ir.Value]stateReader, string) {
	readers := map[*ir.Value]stateReader{}
	producers := p.g.Producers()
	for _, n := range p.g.Nodes {
		x, state := ops.ShiftState(n)
		if state == nil {
			continue
		}
		if q := producers[state]; q != nil && q.Op == "QuantizeLinear" && slices.Contains(p.g.Inputs, q.Inputs[0]) {
			state = q.Inputs[0]
		}
		shift, ok, err := ops.ShiftOf(n)
		if err != nil || !ok {
			return nil, fmt.Sprintf("%s reads state %q without a valid shift", n.Describe(), state.Name)
		}
		if !slices.Contains(p.g.Inputs, state) {
			return nil, fmt.Sprintf("state %q of %s is not a graph input", state.Name, n.Describe())
		}
		rd := stateReader{x: x, shift: shift}
		if prev, seen := readers[state]; seen && (prev.x != rd.x || !sameShift(prev.shift, rd.shift)) {
			return nil, fmt.Sprintf("state %q is read by two different shifts", state.Name)
		}
		readers[state] = rd
	}
	return readers, ""
}

// sameShift reports whether two shifts are equal.
func sameShift(a, b ops.Shift) bool {
	return a.Segments == b.Segments && slices.Equal(a.Ranges, b.Ranges)
}

// expectedState returns, for every element of state s, the flat index of
// the element of the reader's activation X it must hold for the next call:
// the shifted channels, in range order, of the last frame of every clip.
func expectedState(s *ir.Value, rd stateReader) ([]int32, string) {
	x := rd.x
	if x == nil || len(x.Shape) < 2 || !x.Shape.Known() || x.Shape.Size() >= maxIndexEncoding {
		return nil, fmt.Sprintf("state %q: the shifted activation has no usable static shape", s.Name)
	}
	frames, channels, inner := x.Shape[0], x.Shape[1], x.Shape[2:].Size()
	T := rd.shift.Segments
	var chans []int
	for _, r := range rd.shift.Ranges {
		if r.Offset != -1 {
			return nil, fmt.Sprintf("state %q: a stateful shift moves channels by %d frames, want -1", s.Name, r.Offset)
		}
		for c := r.Begin; c < r.End; c++ {
			chans = append(chans, c)
		}
	}
	if T <= 0 || frames%T != 0 {
		return nil, fmt.Sprintf("state %q: the shift %s does not divide the %d frames of %q", s.Name, rd.shift, frames, x.Name)
	}
	clips := frames / T
	if len(s.Shape) != len(x.Shape) || s.Shape[0] != clips || s.Shape[1] != len(chans) || s.Shape[2:].Size() != inner {
		return nil, fmt.Sprintf("state %q%v does not fit the shift %s of %q%v", s.Name, s.Shape, rd.shift, x.Name, x.Shape)
	}
	want := make([]int32, 0, s.Shape.Size())
	for n := range clips {
		last := n*T + T - 1
		for _, c := range chans {
			for i := range inner {
				want = append(want, int32((last*channels+c)*inner+i))
			}
		}
	}
	return want, ""
}

// maxIndexEncoding bounds the tensors coneSources encodes: float32 holds
// every integer up to 2^24 exactly.
const maxIndexEncoding = 1 << 24

// movementOps are the ops a state output's cone may consist of: the data
// movement that code generation lowers, and the DequantizeLinear of a
// quantised state output, which maps each element to one.
var movementOps = map[string]bool{
	"Slice": true, "Concat": true,
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Identity": true, "Dropout": true,
	"DequantizeLinear": true,
}

// coneSources evaluates the data-movement cone that produces y from x and
// returns, for every element of y, the flat index of the element of x it
// copies. It returns nil when y is not a pure copy of elements of x: the
// cone reads another run-time value or a constant as data, or contains
// another op.
func coneSources(g *ir.Graph, y, x *ir.Value) []int32 {
	producers := g.Producers()
	cone := map[*ir.Node]bool{}
	stack := []*ir.Value{y}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == x {
			continue
		}
		n := producers[v]
		if n == nil || n.Domain != "" || !movementOps[n.Op] {
			return nil
		}
		if cone[n] {
			continue
		}
		cone[n] = true
		data := n.Inputs[:1]
		if n.Op == "Concat" {
			data = n.Inputs
		}
		for _, in := range data {
			if in == nil || in.IsConst() {
				return nil
			}
			stack = append(stack, in)
		}
		for _, in := range n.Inputs[len(data):] {
			if in != nil && !in.IsConst() {
				return nil
			}
		}
	}
	if !x.Shape.Known() || x.Shape.Size() >= maxIndexEncoding {
		return nil
	}
	enc := make([]float32, x.Shape.Size())
	for k := range enc {
		enc[k] = float32(k + 1)
	}
	env := map[*ir.Value]*ir.Tensor{x: ir.Float32s(x.Shape, enc)}
	for _, n := range g.Nodes {
		if !cone[n] {
			continue
		}
		if n.Op == "DequantizeLinear" { // one element to one: the encoding passes
			env[n.Outputs[0]] = env[n.Inputs[0]]
			continue
		}
		outs, err := interp.EvalWith(n, g.Opset(n), env)
		if err != nil || len(outs) == 0 {
			return nil
		}
		for i, o := range n.Outputs {
			if o != nil && i < len(outs) {
				env[o] = outs[i]
			}
		}
	}
	t := env[y]
	if t == nil || t.DType != ir.Float32 {
		return nil
	}
	src := make([]int32, len(t.F32))
	for i, v := range t.F32 {
		k := int(v) - 1
		if float32(k+1) != v || k < 0 || k >= len(enc) {
			return nil
		}
		src[i] = int32(k)
	}
	return src
}

// readByNode reports whether a node of the program reads storage s.
func readByNode(p *program, s *storage) bool {
	for _, n := range p.g.Nodes {
		for _, in := range n.Inputs {
			if in != nil && p.store[in] == s {
				return true
			}
		}
	}
	return false
}

// streamDoc is what the package documentation says about streaming.
func (p *program) streamDoc() string {
	if p.stream == nil {
		if p.streamWhy == "" {
			return ""
		}
		return fmt.Sprintf("The model has shift state inputs but no Stream (%s): pass the states to Run.\n\n", p.streamWhy)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The model is online: %d shift states carry the shifted channels from one\n", len(p.stream.states))
	b.WriteString("frame to the next (state input -> state output):\n\n")
	for _, st := range p.stream.states {
		fmt.Fprintf(&b, "\t%s -> %s\n", p.inputs[st.in].v.Name, p.outputs[st.out].v.Name)
	}
	step := "logits, err := s.Step(frame)"
	if len(p.stream.frames) > 1 || len(p.stream.results) > 1 {
		step = "out, err := s.Step(...)"
	}
	fmt.Fprintf(&b, "\nA Stream holds them, so a caller passes frames only:\n\n\ts := m.NewStream()\n"+
		"\tfor _, frame := range frames {\n\t\t%s\n\t\t...\n\t}\n\n", step)
	return b.String()
}

// streamOverrides redirects the state tensors to the stream's buffers: a
// state input reads the current buffer, a state output writes the next.
func (p *program) streamOverrides() map[*storage]func() jen.Code {
	over := map[*storage]func() jen.Code{}
	for _, st := range p.stream.states {
		in, out := p.store[p.inputs[st.in].v], p.store[p.outputs[st.out].v]
		over[in] = func() jen.Code { return bounds(jen.Id("cur"), st.offset, st.size) }
		over[out] = func() jen.Code { return bounds(jen.Id("next"), st.offset, st.size) }
	}
	return over
}

// emitStream writes Stream, NewStream, Step, Reset and step.
func emitStream(f *jen.File, p *program, pkg string) {
	sp := p.stream
	single := len(sp.results) == 1
	resultType := func() jen.Code {
		if single {
			return jen.Index().Float32()
		}
		return jen.Id("StreamOutputs")
	}
	zero := func() jen.Code {
		if single {
			return jen.Nil()
		}
		return jen.Id("StreamOutputs").Values()
	}

	f.Comment("streamStateLen is the size of one Stream state buffer: every shift")
	f.Comment("state at an aligned offset.")
	f.Const().Id("streamStateLen").Op("=").Lit(sp.stateLen)
	if !single {
		f.Comment("StreamOutputs holds the outputs of one Step (the model's outputs that")
		f.Comment("are not shift states), each a fresh slice the caller owns.")
		var fields []jen.Code
		for _, o := range sp.results {
			pt := p.outputs[o]
			fields = append(fields, jen.Id(pt.field).Index().Float32().Commentf("%q %v", pt.v.Name, pt.v.Shape))
		}
		f.Type().Id("StreamOutputs").Struct(fields...)
	}

	f.Comment("Stream runs the model on a sequence of frames, one Step per frame, and")
	f.Comment("keeps the shift states between Steps itself. It holds two state buffers")
	f.Comment("and swaps them after every Step: the shifted convolutions read the")
	f.Comment("previous frame's channels in place from one, while the current frame's")
	f.Comment("channels are written once into the other; no buffer is ever copied.")
	f.Comment("")
	f.Comment("Any number of Streams may run side by side on one Model, from any")
	f.Comment("goroutines: each has its own state, and Steps share the Model's arena and")
	f.Comment("threads, taking turns under its mutex as Run does. Steps of one Stream")
	f.Comment("must come in frame order, so one goroutine at a time should feed it.")
	f.Type().Id("Stream").Struct(
		jen.Id("m").Op("*").Id("Model"),
		jen.Id("state").Index(jen.Lit(2)).Index().Float32().Comment("state[cur] holds the previous frame's shifted channels"),
		jen.Id("cur").Int(),
	)

	f.Comment("NewStream returns a Stream at the start of a sequence: the first Step")
	f.Comment("sees zero state, like frame 0 of the model with zero state inputs.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("NewStream").Params().Op("*").Id("Stream").Block(
		jen.Return(jen.Op("&").Id("Stream").Values(keyed(
			"m", jen.Id("m"),
			"state", jen.Index(jen.Lit(2)).Index().Float32().Values(
				jen.Qual(rt, "AlignedFloats").Call(jen.Id("streamStateLen")),
				jen.Qual(rt, "AlignedFloats").Call(jen.Id("streamStateLen")),
			),
		)...)),
	)

	f.Comment("Reset puts the Stream back to the start of a sequence (zero state).")
	f.Func().Params(jen.Id("s").Op("*").Id("Stream")).Id("Reset").Params().Block(
		jen.Id("s").Dot("m").Dot("mu").Dot("Lock").Call(),
		jen.Defer().Id("s").Dot("m").Dot("mu").Dot("Unlock").Call(),
		jen.Id("clear").Call(jen.Id("s").Dot("state").Index(jen.Id("s").Dot("cur"))),
	)

	var params, args, checks, names []jen.Code
	frameName := func(k int) string {
		if len(sp.frames) == 1 {
			return "frame"
		}
		return p.inputs[k].param
	}
	for _, k := range sp.frames {
		name := frameName(k)
		params = append(params, jen.Id(name).Index().Float32())
		args = append(args, jen.Id(name))
		names = append(names, jen.Id(p.inputs[k].param).Index().Float32())
		checks = append(checks, jen.If(jen.Err().Op(":=").Id("InputSpecs").Index(jen.Lit(k)).Dot("Check").Call(jen.Id(name)), jen.Err().Op("!=").Nil()).Block(
			jen.Return(zero(), jen.Qual("fmt", "Errorf").Call(jen.Lit(pkg+": input %w"), jen.Err())),
		))
	}
	var frameDoc []string
	for _, k := range sp.frames {
		frameDoc = append(frameDoc, fmt.Sprintf("%s %v", p.inputs[k].v.Name, p.inputs[k].v.Shape))
	}
	var resultDoc []string
	for _, o := range sp.results {
		resultDoc = append(resultDoc, fmt.Sprintf("%s %v", p.outputs[o].v.Name, p.outputs[o].v.Shape))
	}
	f.Commentf("Step runs the model on the next frame (%s, flat row-major) and", strings.Join(frameDoc, ", "))
	f.Commentf("returns %s, a fresh slice the caller owns; the", strings.Join(resultDoc, ", "))
	f.Comment("shift states move on to this frame. A frame of the wrong length is an")
	f.Comment("error and leaves the Stream as it was.")
	f.Func().Params(jen.Id("s").Op("*").Id("Stream")).Id("Step").Params(params...).Params(resultType(), jen.Error()).Block(
		append(checks,
			jen.Id("s").Dot("m").Dot("mu").Dot("Lock").Call(),
			jen.Defer().Id("s").Dot("m").Dot("mu").Dot("Unlock").Call(),
			jen.Var().Id("out").Add(resultType()),
			jen.If(jen.Err().Op(":=").Id("s").Dot("m").Dot("step").Call(append([]jen.Code{
				jen.Op("&").Id("out"),
				jen.Id("s").Dot("state").Index(jen.Id("s").Dot("cur")),
				jen.Id("s").Dot("state").Index(jen.Lit(1).Op("-").Id("s").Dot("cur")),
			}, args...)...), jen.Err().Op("!=").Nil()).Block(jen.Return(zero(), jen.Err())),
			jen.Id("s").Dot("cur").Op("=").Lit(1).Op("-").Id("s").Dot("cur"),
			jen.Return(jen.Id("out"), jen.Nil()),
		)...,
	)

	e := newEmitter(p)
	e.override = p.streamOverrides()
	body := p.runBody(e)
	if single {
		body = append(body, jen.Op("*").Id("out").Op("=").Qual("slices", "Clone").Call(e.slice(p.store[p.outputs[sp.results[0]].v])))
	} else {
		for _, o := range sp.results {
			pt := p.outputs[o]
			body = append(body, jen.Id("out").Dot(pt.field).Op("=").Qual("slices", "Clone").Call(e.slice(p.store[pt.v])))
		}
	}
	body = append(body, jen.Return(jen.Nil()))
	f.Comment("step is run for a Stream: the state inputs are read from cur and the")
	f.Comment("state outputs written straight into next, both laid out by streamStateLen.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("step").Params(
		append([]jen.Code{jen.Id("out").Op("*").Add(resultType()), jen.List(jen.Id("cur"), jen.Id("next")).Index().Float32()}, names...)...,
	).Params(jen.Err().Error()).Block(append(e.locals(), body...)...)
}
