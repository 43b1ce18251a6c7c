package ops

import (
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// LowerFunc turns one node into run-time code through l: it asks for its
// operands' memory, plans runtime objects and lists the calls every run
// makes. It must check everything the runtime will rely on, so that a
// graph it accepts compiles into code that runs.
type LowerFunc func(l Lowering, n *ir.Node) error

// Lowering is what code generation offers an op's lowering: memory for its
// operands, weights in weights.bin, runtime objects planned once when the
// Model is made, and the calls of a run. Code generation renders the calls
// as Go; the arguments of a call are Bufs (a tensor's floats), []Buf,
// Objs, Pool, Ident, Named, or Go values (ints, float32s, bools, strings,
// slices and the runtime package's structs, rendered as literals).
type Lowering interface {
	// Opset is the version of the node's domain.
	Opset() int64
	// In is the memory of input i, nil when the input is absent. Constant
	// inputs are stored in weights.bin as they are.
	In(i int) (Buf, error)
	// Out gives output i a fresh buffer. Outputs that are read but not
	// asked for are an error of the lowering.
	Out(i int) (Buf, error)
	// Alias makes output 0 share the memory of input 0: a view, no code.
	Alias() error
	// Temp is a buffer of the given size that lives through this node.
	Temp(floats int) Buf
	// Weights stores the float32 constant v (an input or a tensor derived
	// at compile time) in weights.bin as it is.
	Weights(v *ir.Value) (Buf, error)
	// Packed stores v in weights.bin in a layout the runtime computes:
	// floats long, made by pack when the file is written.
	Packed(v *ir.Value, layout string, floats int, pack func() ([]float32, error)) Buf
	// Object plans a runtime object once in New, as a Model field named
	// after hint: ctor (a function of the runtime package returning
	// (*typ, error)) called with args.
	Object(hint, typ, ctor string, args ...any) Obj
	// Global declares a package-level variable holding value, a runtime
	// struct; doc says what it is.
	Global(hint, doc string, value any) Obj
	// Int8s and Int32s store int8 or int32 values in weights.bin: n
	// of them, made by data when the file is written.
	Int8s(v *ir.Value, layout string, n int, data func() ([]int8, error)) Buf
	Int32s(v *ir.Value, layout string, n int, data func() ([]int32, error)) Buf
	// Rows is the row table of x, frames x channels rows of hw floats,
	// read through shift (a runtime.TemporalShift variable, nil for none)
	// with its optional state. It is filled once in New when x and state
	// never change address, else before every run. For a quantised x
	// (uint8 bytes) it is a runtime.QRows whose vacated rows read fill.
	Rows(x Buf, frames, channels, hw int, shift *Obj, state Buf, fill uint8) Obj
	// Tuned declares, when tuning records name the planned layer w, a
	// package-level variable holding its tuned plans
	// (runtime.TunedPlans): the layer's constructor then takes
	// PlanFor{tuned}. Code generation lists every layer it is asked
	// about: the layers tsmc tune measures.
	Tuned(w tunerun.Workload) (tuned Obj, ok bool)
	// Run appends a call to every run, in order.
	Run(c Call)
}

// Buf is a tensor's memory: an arena buffer, a graph input or a
// weights.bin entry, of float32 values or (quantised tensors and their
// weights) of uint8, int8 or int32 ones.
type Buf interface {
	// Floats is its length in floats: of a tensor of bytes, the whole
	// floats it takes.
	Floats() int
	// Len is its length in elements.
	Len() int
}

// Obj names a value the generated code holds: a Model field or, when
// Global, a package-level variable.
type Obj struct {
	Name   string
	Global bool
}

// Ident is a name the generated package declares (packMR, packNR).
type Ident string

// Named is a constant or variable of the runtime package
// (runtime.UnaryHardSwish).
type Named string

// PlanFor is the argument that passes a layer's tuned plan (Lowering.Tuned)
// for the kernels' ISA level and the Model's thread count:
// Tuned.For(threads), a runtime.Plan.
type PlanFor struct{ Tuned Obj }

// Pool is the argument that passes the Model's worker pool.
var Pool = poolArg{}

type poolArg struct{}

// Call is one call of a run: Func of the runtime package, or the method
// Func of Recv; with Err, the call returns an error that fails the run.
type Call struct {
	Recv *Obj
	Func string
	Args []any
	Err  bool
}

// Fn is a call of the runtime package's function fn.
func Fn(fn string, args ...any) Call { return Call{Func: fn, Args: args} }

// Method is a call of o's method fn.
func Method(o Obj, fn string, args ...any) Call { return Call{Recv: &o, Func: fn, Args: args} }

// Checked is c returning an error.
func (c Call) Checked() Call { c.Err = true; return c }

// operands is the memory of the given inputs and of output 0.
func operands(l Lowering, inputs ...int) ([]Buf, Buf, error) {
	ins := make([]Buf, len(inputs))
	for k, i := range inputs {
		b, err := l.In(i)
		if err != nil {
			return nil, nil, err
		}
		ins[k] = b
	}
	out, err := l.Out(0)
	return ins, out, err
}
