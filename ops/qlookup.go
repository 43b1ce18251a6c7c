package ops

import (
	"fmt"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// OpQLookup is an elementwise function of one quantised tensor as a
// table (fuse-qlookup): input X (u8 or i8), output Y of the same shape
// with Y[i] = table[X[i] - min of X's type]. Attributes: table (256 ints,
// values of Y's type), output_type ("u8" or "i8").
const OpQLookup = "QLookup"

func qlookupDefs() []*Def {
	return []*Def{{Domain: Domain, Op: OpQLookup, Infer: inferQLookup, Quantized: true, Int8: true, Lower: lowerQLookup}}
}

func init() { interp.Register(Domain, OpQLookup, qlookupKernel) }

// QLookupTable reads and checks a tsmc.QLookup's table and output type.
func QLookupTable(n *ir.Node) ([]int64, ir.DType, error) {
	var dt ir.DType
	switch t := n.AttrString("output_type", ""); t {
	case "u8":
		dt = ir.Uint8
	case "i8":
		dt = ir.Int8
	default:
		return nil, dt, n.Errorf("output_type %q is not u8 or i8", t)
	}
	table, ok := n.AttrInts("table")
	if !ok || len(table) != 256 {
		return nil, dt, n.Errorf("table must hold 256 values, has %d", len(table))
	}
	lo, hi, _ := interp.QuantRange(dt)
	for i, v := range table {
		if v < lo || v > hi {
			return nil, dt, n.Errorf("table[%d] = %d is outside %v", i, v, dt)
		}
	}
	return table, dt, nil
}

func inferQLookup(_ *ir.InferContext, n *ir.Node) error {
	if err := arity(n, 1, 1, 1, 1); err != nil {
		return err
	}
	if err := quantized(n, 0); err != nil {
		return err
	}
	_, dt, err := QLookupTable(n)
	if err != nil {
		return err
	}
	setOutput(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

func qlookupKernel(n *ir.Node, _ int64, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, fmt.Errorf("needs input X")
	}
	table, dt, err := QLookupTable(n)
	if err != nil {
		return nil, err
	}
	x := in[0]
	lo, _, ok := interp.QuantRange(x.DType)
	if !ok {
		return nil, fmt.Errorf("X is %v, not u8 or i8", x.DType)
	}
	out := make([]int64, x.Len())
	for i, v := range x.I64 {
		out[i] = table[v-lo]
	}
	return []*ir.Tensor{{DType: dt, Shape: x.Shape.Clone(), I64: out}}, nil
}

// lowerQLookup runs a runtime.QLookup: the table by runtime bytes (an
// int8 value v is the byte v+128 in and out).
func lowerQLookup(l Lowering, n *ir.Node) error {
	table, dt, err := QLookupTable(n)
	if err != nil {
		return err
	}
	q := runtime.QLookup{Table: make([]uint8, 256)}
	for i, v := range table {
		q.Table[i] = u8Param(dt, v)
	}
	ins, out, err := operands(l, 0)
	if err != nil {
		return err
	}
	o := l.Global("qlookup", "the table of an elementwise function of a quantised tensor", q)
	l.Run(Method(o, "Run", Pool, ins[0], out))
	return nil
}
