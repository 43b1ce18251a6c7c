package codegen

import (
	"fmt"
	"math"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
)

// rt is the import path of the runtime generated code calls.
const rt = "github.com/tsmc-go/tsmc/runtime"

// Packing the generated code's weights.bin was written for; the generated
// package states them as constants so that a runtime with other panel
// sizes cannot silently misread them.
const (
	packMR      = runtime.PackMR
	packNR      = runtime.PackNR
	alignFloats = runtime.AlignFloats
)

// mfield is m.<name>, a field of the generated Model.
func mfield(name string) *jen.Statement { return jen.Id("m").Dot(name) }

// keyed renders a composite literal's fields in the given order: name,
// value, name, value...
func keyed(pairs ...any) []jen.Code {
	var out []jen.Code
	for k := 0; k < len(pairs); k += 2 {
		v := pairs[k+1]
		code, ok := v.(jen.Code)
		if !ok {
			code = jen.Lit(v)
		}
		out = append(out, jen.Id(pairs[k].(string)).Op(":").Add(code))
	}
	return out
}

// float32Lit renders a float32 constant, infinities through math.Inf.
func float32Lit(f float32) jen.Code {
	switch {
	case math.IsInf(float64(f), 1):
		return jen.Float32().Call(jen.Qual("math", "Inf").Call(jen.Lit(1)))
	case math.IsInf(float64(f), -1):
		return jen.Float32().Call(jen.Qual("math", "Inf").Call(jen.Lit(-1)))
	}
	return jen.Lit(f)
}

// activation is a fused or standalone Relu/Clip.
type activation struct {
	kind   string // ops.ActNone, ActRelu, ActClip
	lo, hi float32
}

// code renders the runtime.Act value.
func (a activation) code() jen.Code {
	switch a.kind {
	case ops.ActRelu:
		return jen.Qual(rt, "Relu")
	case ops.ActClip:
		return jen.Qual(rt, "Clip").Call(float32Lit(a.lo), float32Lit(a.hi))
	}
	return jen.Qual(rt, "Act").Values()
}

// clipActivation normalises clamp bounds: no bounds is no activation,
// [0, +Inf) is a ReLU.
func clipActivation(n *ir.Node, lo, hi float32) (activation, error) {
	if lo != lo || hi != hi || lo > hi {
		return activation{}, n.Errorf("clip bounds [%v, %v] are not an interval", lo, hi)
	}
	switch {
	case math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1):
		return activation{kind: ops.ActNone}, nil
	case lo == 0 && math.IsInf(float64(hi), 1):
		return activation{kind: ops.ActRelu}, nil
	}
	return activation{kind: ops.ActClip, lo: lo, hi: hi}, nil
}

// fusedActivation reads a tsmc.Conv's "activation" attributes.
func fusedActivation(n *ir.Node) (activation, error) {
	switch k := n.AttrString("activation", ops.ActNone); k {
	case ops.ActNone:
		return activation{kind: ops.ActNone}, nil
	case ops.ActRelu:
		return activation{kind: ops.ActRelu}, nil
	case ops.ActClip:
		return clipActivation(n, n.AttrFloat("clip_min", float32(math.Inf(-1))), n.AttrFloat("clip_max", float32(math.Inf(1))))
	default:
		return activation{}, n.Errorf("unknown fused activation %q", k)
	}
}

// standaloneActivation reads a Relu or a Clip (bounds as attributes before
// opset 11, as constant inputs from 11 on).
func (p *program) standaloneActivation(n *ir.Node) (activation, error) {
	if n.Op == "Relu" {
		return activation{kind: ops.ActRelu}, nil
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if p.g.Opset(n) < 11 {
		lo, hi = n.AttrFloat("min", -math.MaxFloat32), n.AttrFloat("max", math.MaxFloat32)
	} else {
		for k, bound := range []*float32{&lo, &hi} {
			v := n.Input(k + 1)
			if v == nil {
				continue
			}
			if !v.IsConst() || v.Const.Len() != 1 || v.DType != ir.Float32 {
				return activation{}, n.Errorf("clip bound %v must be a float32 scalar constant", v)
			}
			*bound = v.Const.F32[0]
		}
	}
	return clipActivation(n, lo, hi)
}

// errCheck is `if err != nil { return fmt.Errorf("<node>: %w", err) }`.
func errCheck(n *ir.Node) jen.Code {
	return jen.If(jen.Err().Op("!=").Nil()).Block(returnErr(n))
}

// product multiplies dims.
func product(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// ints reads an int-list attribute of the given length, with a default
// for every element.
func ints(n *ir.Node, name string, length, def int) ([]int, error) {
	raw, ok := n.AttrInts(name)
	out := make([]int, length)
	for k := range out {
		out[k] = def
	}
	if !ok {
		return out, nil
	}
	if len(raw) != length {
		return nil, n.Errorf("attribute %s %v has %d values, want %d", name, raw, len(raw), length)
	}
	for k, v := range raw {
		out[k] = int(v)
	}
	return out, nil
}

// floatConst reports whether v is a float32 constant.
func floatConst(v *ir.Value) bool {
	return v != nil && v.IsConst() && v.DType == ir.Float32
}

// checkShape compares a computed output shape with the graph's.
func checkShape(n *ir.Node, want ir.Shape) error {
	if got := n.Outputs[0].Shape; !got.Equal(want) {
		return n.Errorf("output shape %v, but the kernel computes %v", got, want)
	}
	return nil
}

// rowTable is the row table a convolution reads its input through. It is
// filled once in New when the input lives in the arena or the weights, and
// on every run when it is (or reads) a graph input.
type rowTable struct {
	name   string
	static bool
	fill   func(e *emitter) []jen.Code
}

// returnErr is `return fmt.Errorf("<node>: %w", err)`.
func returnErr(n *ir.Node) jen.Code {
	return jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(n.Describe()+": %w"), jen.Err()))
}

// declareShift checks a shift against its input (and state) and declares
// it as a package-level runtime.TemporalShift; it returns the var's name.
func declareShift(st *step, n *ir.Node, i int, shift ops.Shift, frames, channels, hw int, state *storage) (string, error) {
	ts := runtime.TemporalShift{Segments: shift.Segments}
	var ranges []jen.Code
	for _, rg := range shift.Ranges {
		ts.Ranges = append(ts.Ranges, runtime.ShiftRange{Begin: rg.Begin, End: rg.End, Offset: rg.Offset})
		ranges = append(ranges, jen.Values(keyed("Begin", rg.Begin, "End", rg.End, "Offset", rg.Offset)...))
	}
	if err := ts.Validate(frames, channels); err != nil {
		return "", n.Errorf("%v", err)
	}
	if state != nil {
		if want := frames / ts.Segments * ts.StateChannels() * hw; state.size != want {
			return "", n.Errorf("shift state has %d floats, want %d", state.size, want)
		}
	}
	name := fmt.Sprintf("shift%d", i)
	st.decls = append(st.decls,
		jen.Commentf("%s is the temporal shift of node %d: %s.", name, i, shift),
		jen.Var().Id(name).Op("=").Qual(rt, "TemporalShift").Values(keyed(
			"Segments", shift.Segments,
			"Ranges", jen.Index().Qual(rt, "ShiftRange").Values(ranges...),
		)...))
	return name, nil
}

// newRowTable adds the table of node i's input x (frames x channels rows of
// hw floats) to st: plain, or seen through shift with an optional state.
func (p *program) newRowTable(st *step, n *ir.Node, i int, x *storage, frames, channels, hw int, shift *ops.Shift, state *storage) (*rowTable, error) {
	r := &rowTable{name: fmt.Sprintf("rows%d", i), static: x.kind != inInput && (state == nil || state.kind != inInput)}
	st.fields = append(st.fields, jen.Id(r.name).Qual(rt, "Rows"))
	if shift == nil {
		r.fill = func(e *emitter) []jen.Code {
			return []jen.Code{mfield(r.name).Dot("SetPlain").Call(e.slice(x), jen.Lit(frames), jen.Lit(channels), jen.Lit(hw))}
		}
		return r, nil
	}
	shiftVar, err := declareShift(st, n, i, *shift, frames, channels, hw, state)
	if err != nil {
		return nil, err
	}
	r.fill = func(e *emitter) []jen.Code {
		return []jen.Code{
			jen.If(jen.Err().Op("=").Add(mfield(r.name)).Dot("SetShifted").Call(
				e.slice(x), jen.Lit(frames), jen.Lit(channels), jen.Lit(hw), jen.Id(shiftVar), e.sliceOrNil(state),
			), jen.Err().Op("!=").Nil()).Block(returnErr(n)),
		}
	}
	return r, nil
}

// setupRows allocates the table in New and fills it there when static.
func (r *rowTable) setup(e *emitter, frames, channels int) []jen.Code {
	code := []jen.Code{mfield(r.name).Op("=").Qual(rt, "NewRows").Call(jen.Lit(frames), jen.Lit(channels))}
	if r.static {
		code = append(code, r.fill(e)...)
	}
	return code
}

// runRows fills a dynamic table before each run.
func (r *rowTable) run(e *emitter) []jen.Code {
	if r.static {
		return nil
	}
	return r.fill(e)
}

// convSpec is a validated tsmc.Conv: its shape, fused activation and
// shift, and its weights registered in the weight table (packed for the
// GEMM, raw for the depthwise kernel).
type convSpec struct {
	cs        runtime.ConvShape
	act       activation
	depthwise bool
	weights   *weightEntry
	bias      *weightEntry
	shift     *ops.Shift // nil for none
}

// convShape reads the runtime.ConvShape of the tsmc.Conv n off its input,
// weights and attributes.
func convShape(n *ir.Node) (runtime.ConvShape, error) {
	x, wv := n.Input(0), n.Input(1)
	if x == nil || wv == nil {
		return runtime.ConvShape{}, n.Errorf("convolution needs inputs X and W")
	}
	if len(x.Shape) != 4 || len(wv.Shape) != 4 {
		return runtime.ConvShape{}, n.Errorf("only 2-D convolutions are supported: input %v, weights %v", x.Shape, wv.Shape)
	}
	if ap := n.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" {
		return runtime.ConvShape{}, n.Errorf("auto_pad %q: the passes leave explicit pads", ap)
	}
	strides, err := ints(n, "strides", 2, 1)
	if err != nil {
		return runtime.ConvShape{}, err
	}
	dil, err := ints(n, "dilations", 2, 1)
	if err != nil {
		return runtime.ConvShape{}, err
	}
	pads, err := ints(n, "pads", 4, 0)
	if err != nil {
		return runtime.ConvShape{}, err
	}
	return runtime.ConvShape{
		Frames: x.Shape[0], Cin: x.Shape[1], H: x.Shape[2], W: x.Shape[3],
		Cout: wv.Shape[0], Group: int(n.AttrInt("group", 1)), KH: wv.Shape[2], KW: wv.Shape[3],
		StrideH: strides[0], StrideW: strides[1], DilationH: dil[0], DilationW: dil[1],
		PadTop: pads[0], PadLeft: pads[1], PadBottom: pads[2], PadRight: pads[3],
	}, nil
}

// convSpec validates the tsmc.Conv n and registers its weights.
func (p *program) convSpec(n *ir.Node) (*convSpec, error) {
	cs, err := convShape(n)
	if err != nil {
		return nil, err
	}
	wv, bv := n.Input(1), n.Input(2)
	if !floatConst(wv) || (bv != nil && !floatConst(bv)) {
		return nil, n.Errorf("weights %v and bias %v must be float32 constants", wv, bv)
	}
	group := cs.Group
	if err := cs.Validate(); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if group <= 0 || wv.Shape[1]*group != cs.Cin {
		return nil, n.Errorf("weights %v do not fit %d input channels in %d groups", wv.Shape, cs.Cin, group)
	}
	if bv != nil && bv.Const.Len() != cs.Cout {
		return nil, n.Errorf("bias has %d values, want %d", bv.Const.Len(), cs.Cout)
	}
	if err := checkShape(n, ir.Shape{cs.Frames, cs.Cout, cs.OutH(), cs.OutW()}); err != nil {
		return nil, err
	}
	act, err := fusedActivation(n)
	if err != nil {
		return nil, err
	}
	shift, shifted, err := ops.ShiftOf(n)
	if err != nil {
		return nil, err
	}
	c := &convSpec{cs: cs, act: act, depthwise: group > 1 && group == cs.Cin && cs.Cout == cs.Cin}
	if shifted {
		c.shift = &shift
	}
	if c.depthwise {
		c.weights = p.weights.raw(wv)
	} else {
		cinG := cs.Cin / group
		c.weights = p.weights.add(wv, "conv", runtime.PackedConvWeightsLen(cs.Cout, cinG, cs.KH, cs.KW, group, packMR), func() ([]float32, error) {
			return runtime.PackConvWeights(wv.Const.F32, cs.Cout, cinG, cs.KH, cs.KW, group, packMR)
		})
	}
	if bv != nil {
		c.bias = p.weights.raw(bv)
	}
	return c, nil
}

// field is the Model field type of the planned convolution.
func (c *convSpec) field() jen.Code {
	if c.depthwise {
		return jen.Op("*").Qual(rt, "DepthwiseConv")
	}
	return jen.Op("*").Qual(rt, "Conv")
}

// newCall is the constructor call planning the convolution in New.
func (c *convSpec) newCall(e *emitter) jen.Code {
	cs := c.cs
	args := []jen.Code{jen.Qual(rt, "ConvShape").Values(keyed(
		"Frames", cs.Frames, "Cin", cs.Cin, "H", cs.H, "W", cs.W, "Cout", cs.Cout, "Group", cs.Group,
		"KH", cs.KH, "KW", cs.KW, "StrideH", cs.StrideH, "StrideW", cs.StrideW,
		"DilationH", cs.DilationH, "DilationW", cs.DilationW,
		"PadTop", cs.PadTop, "PadLeft", cs.PadLeft, "PadBottom", cs.PadBottom, "PadRight", cs.PadRight,
	)...), e.weight(c.weights)}
	ctor := "NewDepthwiseConv"
	if !c.depthwise {
		ctor = "NewConv"
		args = append(args, jen.Id("packMR"))
	}
	args = append(args, e.weightOrNil(c.bias), c.act.code())
	return jen.Qual(rt, ctor).Call(args...)
}

// lowerConv lowers tsmc.Conv: the GEMM convolution with packed weights, or
// the depthwise kernel, reading the input through a row table that carries
// a fused shift.
func (p *program) lowerConv(n *ir.Node, i int) (*step, error) {
	c, err := p.convSpec(n)
	if err != nil {
		return nil, err
	}
	cs := c.cs
	ins, out, err := p.operands(n, i, n.Input(0), n.Input(3), n.Input(4))
	if err != nil {
		return nil, err
	}
	xs, residual, state := ins[0], ins[1], ins[2]
	if residual != nil && residual.size != out.size {
		return nil, n.Errorf("residual has %d floats, the output %d", residual.size, out.size)
	}
	if state != nil && c.shift == nil {
		return nil, n.Errorf("has a shift state input but no shift")
	}
	st := &step{}
	rows, err := p.newRowTable(st, n, i, xs, cs.Frames, cs.Cin, cs.H*cs.W, c.shift, state)
	if err != nil {
		return nil, err
	}
	kern := fmt.Sprintf("conv%d", i)
	st.fields = append(st.fields, jen.Id(kern).Add(c.field()))
	st.setup = func(e *emitter) []jen.Code {
		code := []jen.Code{
			jen.List(mfield(kern), jen.Err()).Op("=").Add(c.newCall(e)),
			errCheck(n),
		}
		return append(code, rows.setup(e, cs.Frames, cs.Cin)...)
	}
	st.run = func(e *emitter) []jen.Code {
		return append(rows.run(e), mfield(kern).Dot("Run").Call(e.pool(), mfield(rows.name), e.slice(out), e.sliceOrNil(residual)))
	}
	return st, nil
}

// lowerShift materialises a TemporalShift that a consumer other than a
// convolution reads (runtime.TemporalShift.Apply).
func (p *program) lowerShift(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	if x == nil || len(x.Shape) < 2 {
		return nil, n.Errorf("shift input must be [frames, channels, ...]")
	}
	shift, ok, err := ops.ShiftOf(n)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, n.Errorf("temporal shift without a shift attribute")
	}
	if err := checkShape(n, x.Shape); err != nil {
		return nil, err
	}
	ins, out, err := p.operands(n, i, x, n.Input(1))
	if err != nil {
		return nil, err
	}
	frames, channels, hw := x.Shape[0], x.Shape[1], product(x.Shape[2:])
	st := &step{}
	shiftVar, err := declareShift(st, n, i, shift, frames, channels, hw, ins[1])
	if err != nil {
		return nil, err
	}
	st.run = func(e *emitter) []jen.Code {
		return []jen.Code{jen.If(jen.Err().Op("=").Id(shiftVar).Dot("Apply").Call(
			e.slice(out), e.slice(ins[0]), jen.Lit(frames), jen.Lit(channels), jen.Lit(hw), e.sliceOrNil(ins[1]),
		), jen.Err().Op("!=").Nil()).Block(returnErr(n))}
	}
	return st, nil
}

// poolPads resolves a pooling node's pads, auto_pad included.
func poolPads(n *ir.Node, in, kernel, strides, dil []int) ([]int, error) {
	switch mode := n.AttrString("auto_pad", "NOTSET"); mode {
	case "NOTSET", "":
		return ints(n, "pads", 4, 0)
	case "VALID":
		return make([]int, 4), nil
	case "SAME_UPPER", "SAME_LOWER":
		pads := make([]int, 4)
		for a := range 2 {
			out := (in[a] + strides[a] - 1) / strides[a]
			total := max(0, (out-1)*strides[a]+(kernel[a]-1)*dil[a]+1-in[a])
			small, large := total/2, total-total/2
			if mode == "SAME_UPPER" {
				pads[a], pads[a+2] = small, large
			} else {
				pads[a], pads[a+2] = large, small
			}
		}
		return pads, nil
	default:
		return nil, n.Errorf("unknown auto_pad %q", mode)
	}
}

// lowerMaxPool lowers a 2-D MaxPool over every (frame, channel) plane.
func (p *program) lowerMaxPool(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	if x == nil || len(x.Shape) != 4 {
		return nil, n.Errorf("only 2-D max pooling is supported, input shape %v", x.Shape)
	}
	kernel, err := ints(n, "kernel_shape", 2, 0)
	if err != nil {
		return nil, err
	}
	strides, err := ints(n, "strides", 2, 1)
	if err != nil {
		return nil, err
	}
	dil, err := ints(n, "dilations", 2, 1)
	if err != nil {
		return nil, err
	}
	pads, err := poolPads(n, x.Shape[2:], kernel, strides, dil)
	if err != nil {
		return nil, err
	}
	ps := runtime.PoolShape{
		Planes: x.Shape[0] * x.Shape[1], H: x.Shape[2], W: x.Shape[3], KH: kernel[0], KW: kernel[1],
		StrideH: strides[0], StrideW: strides[1], DilationH: dil[0], DilationW: dil[1],
		PadTop: pads[0], PadLeft: pads[1], PadBottom: pads[2], PadRight: pads[3],
		CeilMode: n.AttrInt("ceil_mode", 0) != 0,
	}
	if _, err := runtime.NewMaxPool(ps); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if err := checkShape(n, ir.Shape{x.Shape[0], x.Shape[1], ps.OutH(), ps.OutW()}); err != nil {
		return nil, err
	}
	ins, out, err := p.operands(n, i, x)
	if err != nil {
		return nil, err
	}
	kern := fmt.Sprintf("pool%d", i)
	st := &step{fields: []jen.Code{jen.Id(kern).Op("*").Qual(rt, "MaxPool")}}
	st.setup = func(e *emitter) []jen.Code {
		return []jen.Code{
			jen.List(mfield(kern), jen.Err()).Op("=").Qual(rt, "NewMaxPool").Call(jen.Qual(rt, "PoolShape").Values(keyed(
				"Planes", ps.Planes, "H", ps.H, "W", ps.W, "KH", ps.KH, "KW", ps.KW,
				"StrideH", ps.StrideH, "StrideW", ps.StrideW, "DilationH", ps.DilationH, "DilationW", ps.DilationW,
				"PadTop", ps.PadTop, "PadLeft", ps.PadLeft, "PadBottom", ps.PadBottom, "PadRight", ps.PadRight,
				"CeilMode", ps.CeilMode,
			)...)),
			errCheck(n),
		}
	}
	st.run = func(e *emitter) []jen.Code {
		return []jen.Code{mfield(kern).Dot("Run").Call(e.pool(), e.slice(ins[0]), e.slice(out))}
	}
	return st, nil
}

// globalAveragePool is the call that averages planes of hw floats.
func globalAveragePool(e *emitter, x, out *storage, planes, hw int) jen.Code {
	return jen.Qual(rt, "GlobalAveragePool").Call(e.pool(), e.slice(x), e.slice(out), jen.Lit(planes), jen.Lit(hw))
}

// lowerGlobalAveragePool lowers GlobalAveragePool over [N, C, spatial...].
func (p *program) lowerGlobalAveragePool(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	if x == nil || len(x.Shape) < 3 {
		return nil, n.Errorf("input must be [N, C, spatial...]")
	}
	ins, out, err := p.operands(n, i, x)
	if err != nil {
		return nil, err
	}
	planes, hw := x.Shape[0]*x.Shape[1], product(x.Shape[2:])
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{globalAveragePool(e, ins[0], out, planes, hw)}
	}}, nil
}

// lowerDense lowers tsmc.Dense: the spatial mean (when X has spatial
// positions) into a temporary, then the fully connected layer on
// compile-time packed weights.
func (p *program) lowerDense(n *ir.Node, i int) (*step, error) {
	x, wv, bv := n.Input(0), n.Input(1), n.Input(2)
	if x == nil || len(x.Shape) < 2 || !floatConst(wv) || len(wv.Shape) != 2 || (bv != nil && !floatConst(bv)) {
		return nil, n.Errorf("dense needs X [N, C, ...] and float32 constant W [K, C] and bias [K]")
	}
	batch, in, hw := x.Shape[0], x.Shape[1], product(x.Shape[2:])
	outF := wv.Shape[0]
	if wv.Shape[1] != in || (bv != nil && bv.Const.Len() != outF) {
		return nil, n.Errorf("weights %v or bias do not fit %d inputs", wv.Shape, in)
	}
	if err := checkShape(n, ir.Shape{batch, outF}); err != nil {
		return nil, err
	}
	ins, out, err := p.operands(n, i, x)
	if err != nil {
		return nil, err
	}
	rows := ins[0]
	var pooled *storage
	if hw != 1 {
		pooled = p.temp(batch*in, i, nil)
		rows = pooled
	}
	weights := p.weights.add(wv, "dense", runtime.PackedDenseWeightsLen(outF, in, packNR), func() ([]float32, error) {
		return runtime.PackDenseWeights(wv.Const.F32, outF, in, packNR)
	})
	var bias *weightEntry
	if bv != nil {
		bias = p.weights.raw(bv)
	}
	kern := fmt.Sprintf("dense%d", i)
	st := &step{fields: []jen.Code{jen.Id(kern).Op("*").Qual(rt, "Dense")}}
	st.setup = func(e *emitter) []jen.Code {
		return []jen.Code{
			jen.List(mfield(kern), jen.Err()).Op("=").Qual(rt, "NewDense").Call(
				jen.Lit(batch), jen.Lit(in), jen.Lit(outF), e.weight(weights), jen.Id("packNR"), e.weightOrNil(bias), jen.Qual(rt, "Act").Values()),
			errCheck(n),
		}
	}
	st.run = func(e *emitter) []jen.Code {
		var code []jen.Code
		if pooled != nil {
			code = append(code, globalAveragePool(e, ins[0], pooled, batch*in, hw))
		}
		return append(code, mfield(kern).Dot("Run").Call(e.pool(), e.slice(rows), e.slice(out)))
	}
	return st, nil
}

// meanOverMiddle is runtime.SegmentMean over x viewed as [outer][r][inner].
func (p *program) meanOverMiddle(n *ir.Node, i int, outer, r, inner int) (*step, error) {
	ins, out, err := p.operands(n, i, n.Input(0))
	if err != nil {
		return nil, err
	}
	if out.size != outer*inner {
		return nil, n.Errorf("output has %d floats, want %d", out.size, outer*inner)
	}
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{jen.Qual(rt, "SegmentMean").Call(e.slice(ins[0]), e.slice(out), jen.Lit(outer), jen.Lit(r), jen.Lit(inner))}
	}}, nil
}

// lowerSegmentMean lowers tsmc.SegmentMean: [N*T, rest...] -> [N, rest...].
func (p *program) lowerSegmentMean(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	t := int(n.AttrInt("segments", 0))
	if x == nil || len(x.Shape) < 1 || t <= 0 || x.Shape[0]%t != 0 {
		return nil, n.Errorf("segments %d do not divide the input's first dimension", t)
	}
	return p.meanOverMiddle(n, i, x.Shape[0]/t, t, product(x.Shape[1:]))
}

// lowerReduceMean lowers a ReduceMean over one run of consecutive axes as
// the mean over the middle of [outer][reduced][inner]; reducing nothing
// is an alias.
func (p *program) lowerReduceMean(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	rank := len(x.Shape)
	var raw []int64
	if v := n.Input(1); v != nil {
		if !v.IsConst() || !v.DType.IsInt() {
			return nil, n.Errorf("axes %v must be an integer constant", v)
		}
		raw = v.Const.I64
	} else {
		raw, _ = n.AttrInts("axes")
	}
	if len(raw) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return p.alias(n, i)
		}
		for a := range rank {
			raw = append(raw, int64(a))
		}
	}
	var axes []int
	for _, a := range raw {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) {
			return nil, n.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if !slices.Contains(axes, int(a)) {
			axes = append(axes, int(a))
		}
	}
	slices.Sort(axes)
	first, last := axes[0], axes[len(axes)-1]
	if last-first+1 != len(axes) {
		return nil, n.Errorf("reducing axes %v: only consecutive axes are supported", axes)
	}
	r := product(x.Shape[first : last+1])
	if r == 1 {
		return p.alias(n, i)
	}
	return p.meanOverMiddle(n, i, product(x.Shape[:first]), r, product(x.Shape[last+1:]))
}

// lowerAdd lowers an elementwise Add of two tensors of one shape.
func (p *program) lowerAdd(n *ir.Node, i int) (*step, error) {
	a, b := n.Input(0), n.Input(1)
	if a == nil || b == nil || !a.Shape.Equal(b.Shape) || !a.Shape.Equal(n.Outputs[0].Shape) {
		return nil, n.Errorf("operands %v%v and %v%v: only adds of equal shapes are supported, no broadcasting", a, a.Shape, b, b.Shape)
	}
	ins, out, err := p.operands(n, i, a, b)
	if err != nil {
		return nil, err
	}
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{jen.Qual(rt, "Add").Call(e.pool(), e.slice(ins[0]), e.slice(ins[1]), e.slice(out), jen.Qual(rt, "Act").Values())}
	}}, nil
}

// lowerActivation lowers a standalone Relu or Clip.
func (p *program) lowerActivation(n *ir.Node, i int) (*step, error) {
	act, err := p.standaloneActivation(n)
	if err != nil {
		return nil, err
	}
	ins, out, err := p.operands(n, i, n.Input(0))
	if err != nil {
		return nil, err
	}
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{jen.Qual(rt, "Activate").Call(e.pool(), e.slice(ins[0]), e.slice(out), act.code())}
	}}, nil
}

// lowerSoftmax lowers Softmax as rows of n values: before opset 13 the
// input is flattened at axis (default 1); from 13 on the axis (default -1)
// must be the last one of more than one element.
func (p *program) lowerSoftmax(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	rank := len(x.Shape)
	def := int64(-1)
	if p.g.Opset(n) < 13 {
		def = 1
	}
	axis := int(n.AttrInt("axis", def))
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= max(rank, 1) {
		return nil, n.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	rows, size := product(x.Shape[:axis]), product(x.Shape[axis:])
	if p.g.Opset(n) >= 13 && product(x.Shape[axis+1:]) != 1 {
		return nil, n.Errorf("softmax over axis %d of %v: only the last axis is supported", axis, x.Shape)
	}
	ins, out, err := p.operands(n, i, x)
	if err != nil {
		return nil, err
	}
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{jen.Qual(rt, "Softmax").Call(e.slice(ins[0]), e.slice(out), jen.Lit(rows), jen.Lit(size))}
	}}, nil
}

// channelCopy is runtime.CopyChannels: channels [srcBegin, srcBegin+count)
// of src [outer][srcCh][inner] to [dstBegin, ...) of dst [outer][dstCh][inner].
func channelCopy(e *emitter, dst *storage, dstCh, dstBegin int, src *storage, srcCh, srcBegin, count, outer, inner int) jen.Code {
	return jen.Qual(rt, "CopyChannels").Call(e.slice(dst), jen.Lit(dstCh), jen.Lit(dstBegin),
		e.slice(src), jen.Lit(srcCh), jen.Lit(srcBegin), jen.Lit(count), jen.Lit(outer), jen.Lit(inner))
}

// lowerSlice lowers a Slice that takes a contiguous range of one axis (the
// online models' state outputs) as a channel copy; a slice that keeps
// everything is an alias. The range is read off by running the node on an
// index tensor, so every opset's form and index rule is covered.
func (p *program) lowerSlice(n *ir.Node, i int) (*step, error) {
	x := n.Input(0)
	if x == nil || !x.Shape.Known() || len(x.Shape) == 0 {
		return nil, n.Errorf("slice input needs a static shape")
	}
	args := []*ir.Tensor{indexTensor(x.Shape)}
	for _, v := range n.Inputs[1:] {
		if v == nil {
			args = append(args, nil)
			continue
		}
		if !v.IsConst() {
			return nil, n.Errorf("slice parameter %v must be constant", v)
		}
		args = append(args, v.Const)
	}
	res, err := interp.Eval(n, p.g.Opset(n), args)
	if err != nil {
		return nil, err
	}
	idx := res[0].I64
	in, outShape := x.Shape, res[0].Shape
	if err := checkShape(n, outShape); err != nil {
		return nil, err
	}
	if len(idx) == x.Shape.Size() && slices.Equal(idx, args[0].I64) {
		return p.alias(n, i)
	}
	axis := 0
	for axis < len(in)-1 && in[axis] == outShape[axis] {
		axis++
	}
	outer, inner, count := product(in[:axis]), product(in[axis+1:]), outShape[axis]
	begin := 0
	if len(idx) > 0 {
		begin = int(idx[0]) / inner % in[axis]
	}
	if !blockCopy(idx, in[axis], outer, inner, count, begin) {
		return nil, n.Errorf("slice of %v to %v is not one contiguous range of one axis; not supported", in, outShape)
	}
	ins, out, err := p.operands(n, i, x)
	if err != nil {
		return nil, err
	}
	return &step{run: func(e *emitter) []jen.Code {
		return []jen.Code{channelCopy(e, out, count, 0, ins[0], in[axis], begin, count, outer, inner)}
	}}, nil
}

// indexTensor is an int64 tensor of the given shape whose elements are
// their own flat indices.
func indexTensor(s ir.Shape) *ir.Tensor {
	idx := make([]int64, s.Size())
	for k := range idx {
		idx[k] = int64(k)
	}
	return ir.Int64s(s, idx)
}

// blockCopy reports whether idx, read from [outer][dim][inner], is the
// range [begin, begin+count) of the middle axis.
func blockCopy(idx []int64, dim, outer, inner, count, begin int) bool {
	if len(idx) != outer*count*inner || begin+count > dim {
		return false
	}
	k := 0
	for f := range outer {
		for c := range count {
			for j := range inner {
				if idx[k] != int64((f*dim+begin+c)*inner+j) {
					return false
				}
				k++
			}
		}
	}
	return true
}

// lowerConcat lowers a Concat as one channel copy per input.
func (p *program) lowerConcat(n *ir.Node, i int) (*step, error) {
	outShape := n.Outputs[0].Shape
	rank := len(outShape)
	axis := int(n.AttrInt("axis", 0))
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return nil, n.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	var parts []*ir.Value
	for _, v := range n.Inputs {
		if v == nil || len(v.Shape) != rank {
			return nil, n.Errorf("input %v has shape %v, want rank %d", v, v.Shape, rank)
		}
		parts = append(parts, v)
	}
	ins, out, err := p.operands(n, i, parts...)
	if err != nil {
		return nil, err
	}
	outer, inner := product(outShape[:axis]), product(outShape[axis+1:])
	return &step{run: func(e *emitter) []jen.Code {
		var code []jen.Code
		begin := 0
		for k, v := range parts {
			if d := v.Shape[axis]; d > 0 && ins[k].size > 0 {
				code = append(code, channelCopy(e, out, outShape[axis], begin, ins[k], d, 0, d, outer, inner))
			}
			begin += v.Shape[axis]
		}
		return code
	}}, nil
}
