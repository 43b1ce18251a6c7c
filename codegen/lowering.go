package codegen

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// nodeLowering is the ops.Lowering of node i: it gives the op's operands
// memory and collects the step's Model fields, declarations, New code and
// run code in the order the lowering asks for them.
type nodeLowering struct {
	p       *program
	n       *ir.Node
	i       int
	st      *step
	setup   []func(e *emitter) []jen.Code
	run     []func(e *emitter) []jen.Code
	defined map[int]bool // outputs given memory
	names   map[string]bool
}

var _ ops.Lowering = (*nodeLowering)(nil)

// lowerNode lowers node i through its op's table entry.
func (p *program) lowerNode(n *ir.Node, i int) (*step, error) {
	if len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return nil, n.Errorf("node has no output")
	}
	d := ops.Lookup(n)
	if d == nil || d.Lower == nil {
		return nil, ops.Unsupported(n)
	}
	if !d.Int8 {
		for _, v := range slices.Concat(n.Inputs, n.Outputs) {
			if v != nil && !v.IsConst() && (v.DType == ir.Uint8 || v.DType == ir.Int8) {
				return nil, n.Errorf("code generation runs %s on float32 tensors only, %v is %v", n.OpName(), v, v.DType)
			}
		}
	}
	l := &nodeLowering{p: p, n: n, i: i, st: &step{}, defined: map[int]bool{}, names: map[string]bool{}}
	if err := d.Lower(l, n); err != nil {
		return nil, err
	}
	for k, o := range n.Outputs {
		if o != nil && !l.defined[k] && p.read(o) {
			return nil, n.Errorf("output %v is read; generated code computes only %s", o, l.computed())
		}
	}
	st := l.st
	if len(st.fields) == 0 && len(st.decls) == 0 && len(l.setup) == 0 && len(l.run) == 0 {
		return nil, nil // a view
	}
	if len(l.setup) > 0 {
		st.setup = func(e *emitter) []jen.Code { return concat(e, l.setup) }
	}
	st.run = func(e *emitter) []jen.Code { return concat(e, l.run) }
	return st, nil
}

func concat(e *emitter, parts []func(e *emitter) []jen.Code) []jen.Code {
	var code []jen.Code
	for _, f := range parts {
		code = append(code, f(e)...)
	}
	return code
}

// computed lists the outputs the lowering defined, for errors.
func (l *nodeLowering) computed() string {
	var names []string
	for k, o := range l.n.Outputs {
		if l.defined[k] {
			names = append(names, o.String())
		}
	}
	if len(names) == 0 {
		return "no output"
	}
	return fmt.Sprint(names)
}

func (l *nodeLowering) Opset() int64 { return l.p.g.Opset(l.n) }

func (l *nodeLowering) In(i int) (ops.Buf, error) {
	v := l.n.Input(i)
	if v == nil {
		return nil, nil
	}
	s, err := l.p.operand(v, l.i)
	if err != nil {
		return nil, l.n.Errorf("%v", err)
	}
	return s, nil
}

func (l *nodeLowering) Out(i int) (ops.Buf, error) {
	if i >= len(l.n.Outputs) || l.n.Outputs[i] == nil {
		return nil, l.n.Errorf("has no output %d", i)
	}
	s, err := l.p.define(l.n.Outputs[i], l.i)
	if err != nil {
		return nil, l.n.Errorf("%v", err)
	}
	l.defined[i] = true
	return s, nil
}

func (l *nodeLowering) Alias() error {
	in, out := l.n.Input(0), l.n.Outputs[0]
	s, err := l.p.operand(in, l.i)
	if err != nil {
		return l.n.Errorf("%v", err)
	}
	if out.Shape.Size() != s.n {
		return l.n.Errorf("output %v%v does not have the %d elements of its input", out, out.Shape, s.n)
	}
	l.p.store[out] = s
	l.defined[0] = true
	return nil
}

func (l *nodeLowering) Temp(floats int) ops.Buf { return l.p.temp(floats, l.i, nil) }

func (l *nodeLowering) Weights(v *ir.Value) (ops.Buf, error) {
	if !floatConst(v) {
		return nil, l.n.Errorf("%v must be a float32 constant", v)
	}
	if s, ok := l.p.store[v]; ok {
		return s, nil
	}
	s, err := l.p.operand(v, l.i)
	if err != nil {
		return nil, l.n.Errorf("%v", err)
	}
	return s, nil
}

func (l *nodeLowering) Packed(v *ir.Value, layout string, floats int, pack func() ([]float32, error)) ops.Buf {
	return &storage{kind: inWeights, n: floats, size: floats, weight: l.p.weights.add(v, layout, floats, pack)}
}

func (l *nodeLowering) Int8s(v *ir.Value, layout string, n int, data func() ([]int8, error)) ops.Buf {
	w := l.p.weights.addBytes(v, layout, n, func() ([]byte, error) {
		d, err := data()
		if err != nil {
			return nil, err
		}
		b := make([]byte, len(d))
		for k, x := range d {
			b[k] = byte(x)
		}
		return b, nil
	})
	return &storage{kind: inWeights, elem: elemI8, n: n, size: floatsFor(elemI8, n), weight: w}
}

func (l *nodeLowering) Int32s(v *ir.Value, layout string, n int, data func() ([]int32, error)) ops.Buf {
	w := l.p.weights.addBytes(v, layout, 4*n, func() ([]byte, error) {
		d, err := data()
		if err != nil {
			return nil, err
		}
		b := make([]byte, 0, 4*len(d))
		for _, x := range d {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
		return b, nil
	})
	return &storage{kind: inWeights, elem: elemI32, n: n, size: n, weight: w}
}

// name makes a Model field or variable name unique within the step:
// hint and the node index, then a letter.
func (l *nodeLowering) name(hint string) string {
	base := fmt.Sprintf("%s%d", hint, l.i)
	name := base
	for k := 0; l.names[name]; k++ {
		name = fmt.Sprintf("%s%c", base, 'a'+k)
	}
	l.names[name] = true
	return name
}

func (l *nodeLowering) Object(hint, typ, ctor string, args ...any) ops.Obj {
	o := ops.Obj{Name: l.name(hint)}
	l.st.fields = append(l.st.fields, jen.Id(o.Name).Op("*").Qual(rt, typ))
	n := l.n
	l.setup = append(l.setup, func(e *emitter) []jen.Code {
		return []jen.Code{
			jen.List(mfield(o.Name), jen.Err()).Op("=").Qual(rt, ctor).Call(e.args(args)...),
			errCheck(n),
		}
	})
	return o
}

func (l *nodeLowering) Global(hint, doc string, value any) ops.Obj {
	o := ops.Obj{Name: l.name(hint), Global: true}
	l.st.decls = append(l.st.decls,
		jen.Commentf("%s is %s of node %d.", o.Name, doc, l.i),
		jen.Var().Id(o.Name).Op("=").Add(literal(reflect.ValueOf(value))),
		jen.Line())
	return o
}

func (l *nodeLowering) Tuned(w tunerun.Workload) (ops.Obj, bool) {
	l.p.layers = append(l.p.layers, Layer{Node: l.n.Name, Index: l.i, Workload: w})
	if l.p.planner == nil {
		return ops.Obj{}, false
	}
	plans := l.p.planner.Plans(w)
	if len(plans) == 0 {
		return ops.Obj{}, false
	}
	l.p.tuned = append(l.p.tuned, tunedLayer{index: l.i, node: l.n, workload: w, plans: plans})
	return l.Global("tuned", "the plans tsmc tune measured fastest for the layer "+w.String()+",", plans), true
}

func (l *nodeLowering) Rows(x ops.Buf, frames, channels, hw int, shift *ops.Obj, state ops.Buf, fill uint8) ops.Obj {
	r := newRowTable(l.st, l.n, l.name("rows"), x.(*storage), frames, channels, hw, shift, storageOrNil(state), fill)
	l.setup = append(l.setup, func(e *emitter) []jen.Code { return r.setup(e, frames, channels) })
	l.run = append(l.run, r.run)
	return ops.Obj{Name: r.name}
}

func storageOrNil(b ops.Buf) *storage {
	if b == nil {
		return nil
	}
	return b.(*storage)
}

func (l *nodeLowering) Run(c ops.Call) {
	n := l.n
	l.run = append(l.run, func(e *emitter) []jen.Code {
		var call *jen.Statement
		if c.Recv != nil {
			call = e.arg(*c.Recv).(*jen.Statement).Dot(c.Func).Call(e.args(c.Args)...)
		} else {
			call = jen.Qual(rt, c.Func).Call(e.args(c.Args)...)
		}
		if !c.Err {
			return []jen.Code{call}
		}
		return []jen.Code{jen.If(jen.Err().Op("=").Add(call), jen.Err().Op("!=").Nil()).Block(returnErr(n))}
	})
}

// args renders call arguments.
func (e *emitter) args(as []any) []jen.Code {
	out := make([]jen.Code, len(as))
	for k, a := range as {
		out[k] = e.arg(a)
	}
	return out
}

// arg renders one argument of a runtime call: a tensor's floats, a
// planned object, the pool, a name of the generated package, or a Go
// value as a literal.
func (e *emitter) arg(a any) jen.Code {
	switch v := a.(type) {
	case nil:
		return jen.Nil()
	case *storage:
		if v == nil {
			return jen.Nil()
		}
		return e.slice(v)
	case ops.Obj:
		if v.Global {
			return jen.Id(v.Name)
		}
		return mfield(v.Name)
	case ops.Ident:
		return jen.Id(string(v))
	case ops.Named:
		return jen.Qual(rt, string(v))
	case []ops.Buf:
		elems := make([]jen.Code, len(v))
		for k, b := range v {
			elems[k] = e.arg(b)
		}
		return jen.Index().Index().Float32().Values(elems...)
	case runtime.Act:
		return actCode(v)
	case ops.PlanFor:
		return e.arg(v.Tuned).(*jen.Statement).Dot("For").Call(e.pool().(*jen.Statement).Dot("Threads").Call())
	}
	if a == ops.Pool {
		return e.pool()
	}
	return literal(reflect.ValueOf(a))
}

// actCode renders a runtime.Act.
func actCode(a runtime.Act) jen.Code {
	switch a.Kind {
	case runtime.ActRelu:
		return jen.Qual(rt, "Relu")
	case runtime.ActClip:
		return jen.Qual(rt, "Clip").Call(float32Lit(a.Min), float32Lit(a.Max))
	case runtime.ActSigmoid:
		return jen.Qual(rt, "Sigmoid")
	case runtime.ActSiLU:
		return jen.Qual(rt, "SiLU")
	case runtime.ActHardSigmoid:
		return jen.Qual(rt, "HardSigmoid").Call(float32Lit(a.Alpha), float32Lit(a.Beta))
	case runtime.ActHardSwish:
		return jen.Qual(rt, "HardSwish").Call(float32Lit(a.Alpha), float32Lit(a.Beta))
	}
	return jen.Qual(rt, "Act").Values()
}

// literal renders a Go value: numbers, bools, strings, slices and structs
// of the runtime package (every field, in order).
func literal(v reflect.Value) jen.Code {
	t := v.Type()
	if act, ok := v.Interface().(runtime.Act); ok {
		return actCode(act)
	}
	if _, ok := v.Interface().(runtime.Plan); ok {
		return typeCode(t).Values(setFields(v)...)
	}
	switch t.Kind() {
	case reflect.Bool:
		return jen.Lit(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t.PkgPath() == "" {
			return jen.Lit(int(v.Int()))
		}
		return jen.Qual(rt, t.Name()).Call(jen.Lit(int(v.Int())))
	case reflect.Uint8:
		return jen.Lit(int(v.Uint())) // an untyped constant: fields and parameters give the type
	case reflect.Pointer:
		if v.IsNil() {
			return jen.Nil()
		}
		return jen.Op("&").Add(literal(v.Elem()))
	case reflect.Float32:
		return float32Lit(float32(v.Float()))
	case reflect.String:
		return jen.Lit(v.String())
	case reflect.Slice:
		if v.IsNil() {
			return jen.Nil()
		}
		elems := make([]jen.Code, v.Len())
		for k := range elems {
			elems[k] = elided(v.Index(k))
		}
		return typeCode(t).Values(elems...)
	case reflect.Struct:
		return typeCode(t).Values(fields(v)...)
	}
	panic(fmt.Sprintf("codegen: cannot render a %v as a literal", t))
}

// elided renders a slice element, its type elided when it is a struct.
func elided(v reflect.Value) jen.Code {
	if v.Kind() == reflect.Struct {
		return jen.Values(fields(v)...)
	}
	return literal(v)
}

// setFields renders the exported fields of a struct that are not zero
// (a plan's: the zero ones are the default rules').
func setFields(v reflect.Value) []jen.Code {
	var out []jen.Code
	for k := range v.NumField() {
		if f := v.Type().Field(k); f.IsExported() && !v.Field(k).IsZero() {
			out = append(out, jen.Id(f.Name).Op(":").Add(literal(v.Field(k))))
		}
	}
	return out
}

func fields(v reflect.Value) []jen.Code {
	var out []jen.Code
	for k := range v.NumField() {
		if f := v.Type().Field(k); f.IsExported() {
			out = append(out, jen.Id(f.Name).Op(":").Add(literal(v.Field(k))))
		}
	}
	return out
}

// typeCode names a type of the runtime package, a predeclared one or a
// slice of them.
func typeCode(t reflect.Type) *jen.Statement {
	if t.Kind() == reflect.Slice && t.Name() == "" {
		return jen.Index().Add(typeCode(t.Elem()))
	}
	if t.PkgPath() == "" {
		return jen.Id(t.Name())
	}
	if t.PkgPath() != rt {
		panic(fmt.Sprintf("codegen: %v is not a type of the runtime package", t))
	}
	return jen.Qual(rt, t.Name())
}
