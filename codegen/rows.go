package codegen

import (
	"math"

	"github.com/dave/jennifer/jen"

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

// errCheck is `if err != nil { return fmt.Errorf("<node>: %w", err) }`.
func errCheck(n *ir.Node) jen.Code {
	return jen.If(jen.Err().Op("!=").Nil()).Block(returnErr(n))
}

// floatConst reports whether v is a float32 constant.
func floatConst(v *ir.Value) bool {
	return v != nil && v.IsConst() && v.DType == ir.Float32
}

// returnErr is `return fmt.Errorf("<node>: %w", err)`.
func returnErr(n *ir.Node) jen.Code {
	return jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(n.Describe()+": %w"), jen.Err()))
}

// rowTable is the row table a convolution reads its input through. It is
// filled once in New when the input lives in the arena or the weights, and
// on every run when it is (or reads) a graph input. The table of a
// quantised input is a runtime.QRows.
type rowTable struct {
	name   string
	static bool
	quant  bool
	fill   func(e *emitter) []jen.Code
}

// newRowTable adds the table of a node's input x (frames x channels rows
// of hw values) to st: plain, or seen through shift (a runtime.TemporalShift
// variable) with an optional state; the vacated rows of a quantised
// input's shift read fill.
func newRowTable(st *step, n *ir.Node, name string, x *storage, frames, channels, hw int, shift *ops.Obj, state *storage, fill uint8) *rowTable {
	r := &rowTable{name: name, static: x.kind != inInput && (state == nil || state.kind != inInput), quant: x.elem == elemU8}
	typ := "Rows"
	if r.quant {
		typ = "QRows"
	}
	st.fields = append(st.fields, jen.Id(r.name).Qual(rt, typ))
	if shift == nil {
		r.fill = func(e *emitter) []jen.Code {
			return []jen.Code{mfield(r.name).Dot("SetPlain").Call(e.slice(x), jen.Lit(frames), jen.Lit(channels), jen.Lit(hw))}
		}
		return r
	}
	r.fill = func(e *emitter) []jen.Code {
		args := []jen.Code{e.slice(x), jen.Lit(frames), jen.Lit(channels), jen.Lit(hw), e.arg(*shift), e.sliceOrNil(state)}
		if r.quant {
			args = append(args, jen.Lit(int(fill)))
		}
		return []jen.Code{
			jen.If(jen.Err().Op("=").Add(mfield(r.name)).Dot("SetShifted").Call(args...), jen.Err().Op("!=").Nil()).Block(returnErr(n)),
		}
	}
	return r
}

// setupRows allocates the table in New and fills it there when static.
func (r *rowTable) setup(e *emitter, frames, channels int) []jen.Code {
	ctor := "NewRows"
	if r.quant {
		ctor = "NewQRows"
	}
	code := []jen.Code{mfield(r.name).Op("=").Qual(rt, ctor).Call(jen.Lit(frames), jen.Lit(channels))}
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
