package main

import (
	"fmt"
	"go/token"
	"go/types"

	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The argument blocks the kernels read, mirrored from package runtime as
// go/types structs: field offsets come from the gc layout rules for amd64
// instead of being typed in by hand, and the generated registry file
// records them so a runtime test can compare them with unsafe.Offsetof.

// runtimePkg stands in for package runtime in the kernels' signatures.
var runtimePkg = types.NewPackage("github.com/tsmc-go/tsmc/runtime", "runtime")

var sizes = types.SizesFor("gc", "amd64")

// argBlock is a mirrored argument block.
type argBlock struct {
	name    string // Go type name in package runtime
	typ     *types.Named
	offsets map[string]int
	order   []string
}

func newArgBlock(name string, fields ...*types.Var) *argBlock {
	st := types.NewStruct(fields, nil)
	tn := types.NewTypeName(token.NoPos, runtimePkg, name, nil)
	named := types.NewNamed(tn, st, nil)
	runtimePkg.Scope().Insert(tn)
	a := &argBlock{name: name, typ: named, offsets: map[string]int{}}
	offs := sizes.Offsetsof(fields)
	for i, f := range fields {
		a.offsets[f.Name()] = int(offs[i])
		a.order = append(a.order, f.Name())
	}
	return a
}

// field returns the memory operand of field name (plus extra bytes) of the
// block base points to.
func (a *argBlock) field(base reg.Register, name string, extra int) operand.Mem {
	off, ok := a.offsets[name]
	if !ok {
		panic(fmt.Sprintf("%s has no field %s", a.name, name))
	}
	return operand.Mem{Base: base, Disp: off + extra}
}

// signature returns the signature func(t *<name>).
func (a *argBlock) signature() *gotypes.Signature {
	param := types.NewVar(token.NoPos, runtimePkg, "t", types.NewPointer(a.typ))
	return gotypes.NewSignature(runtimePkg, types.NewSignatureType(nil, nil, nil, types.NewTuple(param), nil, false))
}

func field(name string, t types.Type) *types.Var {
	return types.NewField(token.NoPos, runtimePkg, name, t, false)
}

var (
	f32Slice = types.NewSlice(types.Typ[types.Float32])
	intT     = types.Typ[types.Int]
	f32      = types.Typ[types.Float32]
)

// tileBlock mirrors runtime.Tile, the GEMM micro-kernel contract.
var tileBlock = newArgBlock("Tile",
	field("A", f32Slice), field("B", f32Slice), field("C", f32Slice), field("Bias", f32Slice), field("R", f32Slice),
	field("K", intT), field("LDA", intT), field("LDB", intT), field("LDC", intT), field("LDR", intT),
	field("Lo", f32), field("Hi", f32),
	field("Flags", intT),
	field("BRows", types.NewSlice(f32Slice)),
	field("BOff", intT),
	field("Segs", types.NewSlice(colSegBlock.typ)),
)

// colSegBlock mirrors runtime.colSeg, a run of tile columns (TileSegs).
var colSegBlock = newArgBlock("colSeg", field("j", intT), field("n", intT), field("c", intT), field("r", intT))

// Tile flags (runtime/kernel.go).
const (
	tileAccumulate = 1
	tileEpilogue   = 2
	tileRowsB      = 4
	tileSegs       = 8
)

// sliceHeader is the size of a slice header (pointer, len, cap).
const sliceHeader = 24

// dwRowBlock mirrors runtime.DWRow, the 3x3 depthwise row contract.
var dwRowBlock = newArgBlock("DWRow",
	field("O", f32Slice), field("R0", f32Slice), field("R1", f32Slice), field("R2", f32Slice), field("Res", f32Slice),
	field("W", types.NewPointer(types.NewArray(f32, 9))),
	field("Stride", intT),
	field("Bias", f32), field("Lo", f32), field("Hi", f32),
)

// dwConvBlock mirrors runtime.DWConv, the 3x3 depthwise plane contract.
var dwConvBlock = newArgBlock("DWConv",
	field("O", f32Slice), field("Res", f32Slice), field("In", types.NewSlice(f32Slice)), field("Zero", f32Slice),
	field("W", f32Slice), field("Bias", f32Slice),
	field("C", intT), field("IH", intT), field("IW", intT), field("OH", intT), field("OW", intT), field("OStride", intT),
	field("Stride", intT), field("PadTop", intT), field("PadLeft", intT),
	field("Lo", f32), field("Hi", f32),
)

// packRunBlock mirrors runtime.PackRun, the im2col packing contract.
var packRunBlock = newArgBlock("PackRun",
	field("Dst", f32Slice), field("Rows", types.NewSlice(f32Slice)),
	field("K0", intT), field("KN", intT), field("N", intT), field("LDD", intT),
	field("IY", intT), field("IX", intT),
	field("KH", intT), field("KW", intT), field("DH", intT), field("DW", intT),
	field("H", intT), field("W", intT), field("SW", intT),
)

// winoInBlock mirrors runtime.WinoIn, the Winograd input transform.
var winoInBlock = newArgBlock("WinoIn",
	field("V", f32Slice), field("Rows", types.NewSlice(f32Slice)),
	field("C", intT), field("H", intT), field("W", intT), field("N", intT),
	field("IY", intT), field("IX", intT), field("SXi", intT), field("SC", intT),
)

// winoOutBlock mirrors runtime.WinoOut, the Winograd output transform.
var winoOutBlock = newArgBlock("WinoOut",
	field("O", f32Slice), field("Res", f32Slice), field("M", f32Slice), field("Bias", f32Slice),
	field("C", intT), field("H", intT), field("W", intT), field("N", intT),
	field("OY", intT), field("OX", intT), field("OStride", intT), field("SXi", intT), field("SC", intT),
	field("Lo", f32), field("Hi", f32),
)
