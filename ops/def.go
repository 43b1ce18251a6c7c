package ops

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
)

// Def is everything the compiler knows about one operator. Its argument
// decoding lives in the functions its rules share (window, axesArg, ...),
// so the shape rule, the cost and the lowering read an op the same way at
// every opset.
type Def struct {
	// Domain is "" for ai.onnx and Domain ("tsmc") for tsmc's own ops.
	Domain, Op string
	// Infer sets the output dtypes and shapes (see ir.InferShapes).
	Infer ir.InferFunc
	// MACs counts multiply-accumulates of a node with known shapes; nil
	// counts none.
	MACs ir.CostFunc
	// Params marks ops whose constant inputs are weights.
	Params bool
	// Lower emits the node's run-time code.
	Lower LowerFunc
	// Folded marks ops whose values exist at compile time only (constants
	// and shape arithmetic), which the passes fold away: they have no
	// lowering.
	Folded bool
	// Quantized marks the ops of quantised models, ONNX's and tsmc's. Code
	// generation lowers QuantizeLinear, DequantizeLinear and tsmc's
	// quantised ops; the operator form (QLinearConv, ...) has no lowering
	// of its own.
	Quantized bool
	// Becomes names the tsmc op the passes make of this one when its
	// parameters are constants (fuse-qlinear: QLinearConv becomes
	// tsmc.QConv), which code generation then lowers.
	Becomes string
	// Int8 marks the ops whose lowering also takes uint8 and int8
	// tensors (quantised activations, bytes in the arena); the others
	// lower float32 and bool tensors only.
	Int8 bool
	// Elementwise marks the float ops whose every output element is a
	// function of the same element of each input (a scalar operand
	// broadcast), whatever the shape: fuse-qlookup may run them on the
	// 256 values of a byte.
	Elementwise bool
}

// Name is the op as messages and the README list it: "Op" in ai.onnx,
// "domain.Op" elsewhere.
func (d *Def) Name() string {
	if d.Domain == "" {
		return d.Op
	}
	return d.Domain + "." + d.Op
}

// table holds every operator, by Name.
var table = map[string]*Def{}

func init() {
	for _, d := range defs() {
		if _, dup := table[d.Name()]; dup {
			panic("ops: " + d.Name() + " is defined twice")
		}
		if d.Folded && d.Lower != nil {
			panic("ops: " + d.Name() + " is folded but has a lowering")
		}
		if d.Quantized && d.Folded {
			panic("ops: " + d.Name() + " is quantised but folded")
		}
		table[d.Name()] = d
		ir.RegisterOp(d.Domain, d.Op, ir.OpInfo{Infer: d.Infer, MACs: d.MACs, Params: d.Params})
	}
}

// defs is the operator table: every op tsmc reads, infers and compiles.
// Adding an op means one entry here, its rules and lowering beside its
// family's, its kernels, and their tests.
func defs() []*Def {
	var all []*Def
	add := func(d ...*Def) { all = append(all, d...) }
	add(elementwiseDefs()...)
	add(sourceDefs()...)
	add(layoutDefs()...)
	add(nnDefs()...)
	add(normDefs()...)
	add(convDefs()...)
	add(blockDefs()...)
	add(temporalPoolDefs()...)
	add(attentionDefs()...)
	add(tsmcDefs()...)
	add(activationDefs()...)
	add(quantDefs()...)
	add(qconvDefs()...)
	add(qlookupDefs()...)
	return all
}

// Lookup returns the definition of the node's op, or nil.
func Lookup(n *ir.Node) *Def {
	return table[n.OpName()]
}

// Names lists the ops of the table, sorted, ai.onnx ones first.
func Names() []string {
	var onnx, own []string
	for name, d := range table {
		if d.Domain == "" {
			onnx = append(onnx, name)
		} else {
			own = append(own, name)
		}
	}
	sort.Strings(onnx)
	sort.Strings(own)
	return append(onnx, own...)
}

// Compiled lists the ops code generation lowers, sorted as Names.
func Compiled() []string {
	return slices.DeleteFunc(Names(), func(name string) bool { return table[name].Lower == nil })
}

// Folded lists the ops that exist at compile time only: the passes fold
// them into constants, and a graph that still computes one at run time
// cannot be compiled.
func Folded() []string {
	return slices.DeleteFunc(Names(), func(name string) bool { return !table[name].Folded })
}

// Unsupported is the error for a node code generation cannot lower.
func Unsupported(n *ir.Node) error {
	d := Lookup(n)
	switch {
	case d != nil && d.Becomes != "":
		return n.Errorf("code generation does not lower %s: the pass fuse-qlinear makes a %s of it only when its scales, zero points, weights and bias are constants (per tensor for activations, per tensor or per output channel for weights) and its operands are 8-bit; the interpreter runs it (tsmc verify -engine interp)", n.OpName(), d.Becomes)
	case d != nil && d.Quantized && d.Lower == nil:
		return n.Errorf("code generation does not lower %s: it compiles QDQ models and the operator form, which the passes turn into tsmc.QConv, tsmc.QDense and tsmc.QAdd; the interpreter runs it (tsmc verify -engine interp)", n.OpName())
	case d == nil || !d.Folded && d.Lower == nil:
		return n.Errorf("code generation does not support op %s (supported: %s)", n.OpName(), strings.Join(Compiled(), ", "))
	case d.Lower == nil:
		var ins []string
		for _, v := range n.Inputs {
			if v != nil && !v.IsConst() {
				ins = append(ins, fmt.Sprintf("%v %s%v", v, v.DType, v.Shape))
			}
		}
		return n.Errorf("op %s is computed at compile time only, but its inputs %s are not known until run time", n.OpName(), strings.Join(ins, ", "))
	}
	return nil
}
