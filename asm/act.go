package main

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// actRowsBlock mirrors runtime.ActRows, the activation kernels' contract.
var actRowsBlock = newArgBlock("ActRows",
	field("X", f32Slice), field("Rows", intT), field("Cols", intT), field("LD", intT),
	field("Alpha", f32), field("Beta", f32), field("Sum", f32),
)

// actKernel is an activation kernel of the runtime.ActRows contract: one
// elementwise function applied in place to a block of rows, two vectors
// per step, then one, then the masked rest of the row.
type actKernel struct {
	isa  *vecISA
	kind string // "sigmoid", "silu", "hsigmoid", "hswish", "exp" (e^(x+beta), softmax's)
}

var actKernels = []actKernel{
	{avx512, "sigmoid"}, {avx512, "silu"}, {avx512, "hsigmoid"}, {avx512, "hswish"}, {avx512, "exp"},
	{avx2, "sigmoid"}, {avx2, "silu"}, {avx2, "hsigmoid"}, {avx2, "hswish"}, {avx2, "exp"},
}

func (k actKernel) names() naming.Kernel {
	return naming.Kernel{Op: "v" + k.kind, Shape: "Rows", ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template.
func (k actKernel) Name() string   { return k.names().Name() }
func (k actKernel) GoName() string { return k.names().GoName() }

// Kind returns the runtime's ActKind constant of the kernel, for the
// registry template.
func (k actKernel) Kind() string {
	return map[string]string{"sigmoid": "ActSigmoid", "silu": "ActSiLU", "hsigmoid": "ActHardSigmoid", "hswish": "ActHardSwish", "exp": "actExpShift"}[k.kind]
}

// ISAName is the kernel's level, for the registry template.
func (k actKernel) ISAName() string { return k.isa.name }

func (k actKernel) hard() bool { return k.kind == "hsigmoid" || k.kind == "hswish" }

// timesX reports whether the kernel multiplies the function by x.
func (k actKernel) timesX() bool { return k.kind == "silu" || k.kind == "hswish" }

// The constants of the sigmoid, each replicated over 16 lanes in
// actConsts, in this order (runtime/act.go: actExpMin and the others).
var actConstValues = []struct {
	name string
	bits uint32
}{
	{"sign", 0x80000000},
	{"expMin", math.Float32bits(-87.33654)},
	{"log2e", math.Float32bits(1.442695040888963)},
	{"round", math.Float32bits(12582912)},
	{"ln2hi", math.Float32bits(0.693359375)},
	{"ln2lo", math.Float32bits(-2.12194440e-4)},
	{"c0", math.Float32bits(1.0 / 5040)},
	{"c1", math.Float32bits(1.0 / 720)},
	{"c2", math.Float32bits(1.0 / 120)},
	{"c3", math.Float32bits(1.0 / 24)},
	{"c4", math.Float32bits(1.0 / 6)},
	{"c5", math.Float32bits(1.0 / 2)},
	{"one", math.Float32bits(1)},
	{"i127", 127},
}

// AVX2 mask table: 8 lanes of -1, then 8 of 0; the 8 lanes at 8-n are the
// mask of the first n lanes.
var (
	actConsts    = operand.NewStaticSymbol("actConsts")
	actMaskTable = operand.NewStaticSymbol("actMaskTable")
)

// buildAct emits the constants, the activation kernels and the
// row-times-constant kernels (the channel scale of squeeze-and-excitation
// blocks).
func buildAct(g *gen) {
	g.StaticGlobal(actConsts.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for _, c := range actConstValues {
		for range 16 {
			g.AppendDatum(operand.U32(c.bits))
		}
	}
	g.maskTable(actMaskTable)
	for _, k := range actKernels {
		k.emit(g)
	}
	for _, k := range mulRowsKernels {
		k.emit(g)
	}
}

// actRegs holds the registers of one vector in flight: x the input
// (kept for the final product), v1..v5 work; on AVX-512 kKeep and kNeg
// the lanes whose e^y is not flushed and whose x is negative.
type actRegs struct {
	x, v1, v2, v3, v4, v5 reg.VecPhysical
	kKeep, kNeg           reg.OpmaskPhysical
}

// Registers of the kernels: DI the argument block, SI the current row,
// R8 rows left, R10 the row stride in bytes, AX the current vector, CX
// the columns left in the row, BX scratch.
var (
	aT, aRow, aRows, aLD = reg.RDI, reg.RSI, reg.R8, reg.R10
	aPtr, aLeft, aTmp    = reg.RAX, reg.RCX, reg.RBX
)

// constIndex returns the place of constant name in actConsts.
func constIndex(name string) int {
	for i, c := range actConstValues {
		if c.name == name {
			return i
		}
	}
	panic("no constant " + name)
}

// cst returns the operand of constant name: a register loaded at entry on
// AVX-512 (Z16 on), the replicated vector in memory on AVX2.
func (k actKernel) cst(name string) operand.Op {
	i := constIndex(name)
	if k.isa == avx512 {
		return k.isa.regs[16+i]
	}
	return operand.NewDataAddr(actConsts, 64*i)
}

// Registers holding the parameters: alpha, beta, zero and (AVX2) one.
func (k actKernel) alpha() reg.VecPhysical { return k.isa.regs[12] }
func (k actKernel) beta() reg.VecPhysical  { return k.isa.regs[13] }
func (k actKernel) zeroV() reg.VecPhysical { return k.isa.regs[14] }
func (k actKernel) oneV() reg.VecPhysical  { return k.isa.regs[15] }

// set returns the registers of vector slot i (0 or 1).
func (k actKernel) set(i int) actRegs {
	r := k.isa.regs[6*i : 6*i+6]
	s := actRegs{x: r[0], v1: r[1], v2: r[2], v3: r[3], v4: r[4], v5: r[5]}
	s.kKeep, s.kNeg = []reg.OpmaskPhysical{reg.K2, reg.K4}[i], []reg.OpmaskPhysical{reg.K3, reg.K5}[i]
	return s
}

func (k actKernel) emit(g *gen) {
	name := k.GoName()
	doc := []string{
		fmt.Sprintf("%s is %s: the runtime.ActRows contract, %s.", name, k.Name(), k.kind),
		"Registers: DI *ActRows, SI the row, R8 rows left, R10 the row stride in bytes,",
		"AX the current vector, CX columns left, BX scratch; per vector in flight six",
		"work registers from " + k.isa.regs[0].Asm() + "; alpha, beta, zero and one in the",
		"12th to 15th; on AVX-512 the constants from Z16, K1 the tail mask.",
	}
	g.function(name, actRowsBlock, doc...)
	g.Comment(doc[1:]...)
	a := actRowsBlock
	g.Load(g.Param("t"), aT)
	done := g.label("done")
	if k.kind == "exp" {
		g.zero(k.sum())
	}
	g.MOVQ(a.field(aT, "Rows", 0), aRows)
	g.TESTQ(aRows, aRows)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(aT, "X", 0), aRow)
	g.MOVQ(a.field(aT, "LD", 0), aLD)
	g.SHLQ(operand.U8(2), aLD)
	if k.isa == avx512 {
		for i := range actConstValues {
			g.VMOVUPS(operand.NewDataAddr(actConsts, 64*i), k.isa.regs[16+i])
		}
	}
	if k.hard() {
		g.VBROADCASTSS(a.field(aT, "Alpha", 0), k.alpha())
	}
	if k.hard() || k.kind == "exp" {
		g.VBROADCASTSS(a.field(aT, "Beta", 0), k.beta())
	}
	g.zero(k.zeroV())
	g.VMOVUPS(operand.NewDataAddr(actConsts, 64*constIndex("one")), k.oneV())

	lanes, vb := k.isa.lanes, k.isa.bytes()
	row, pair, single, tail, next := g.label("row"), g.label("pair"), g.label("single"), g.label("tail"), g.label("next")
	g.Label(row)
	g.MOVQ(aRow, aPtr)
	g.MOVQ(a.field(aT, "Cols", 0), aLeft)
	// two vectors per step
	g.Label(pair)
	g.CMPQ(aLeft, operand.Imm(uint64(2*lanes)))
	g.JL(operand.LabelRef(single))
	s0, s1 := k.set(0), k.set(1)
	g.VMOVUPS(at(aPtr, 0), s0.x)
	g.VMOVUPS(at(aPtr, vb), s1.x)
	k.compute(g, s0, s1)
	g.VMOVUPS(k.result(s0), at(aPtr, 0))
	g.VMOVUPS(k.result(s1), at(aPtr, vb))
	if k.kind == "exp" {
		g.VADDPS(k.result(s0), k.sum(), k.sum())
		g.VADDPS(k.result(s1), k.sum(), k.sum())
	}
	g.ADDQ(operand.U32(2*vb), aPtr)
	g.SUBQ(operand.U32(2*lanes), aLeft)
	g.JMP(operand.LabelRef(pair))
	// one vector
	g.Label(single)
	g.CMPQ(aLeft, operand.Imm(uint64(lanes)))
	g.JL(operand.LabelRef(tail))
	g.VMOVUPS(at(aPtr, 0), s0.x)
	k.compute(g, s0)
	g.VMOVUPS(k.result(s0), at(aPtr, 0))
	if k.kind == "exp" {
		g.VADDPS(k.result(s0), k.sum(), k.sum())
	}
	g.ADDQ(operand.U32(vb), aPtr)
	g.SUBQ(operand.U32(lanes), aLeft)
	// the rest of the row, masked
	g.Label(tail)
	g.TESTQ(aLeft, aLeft)
	g.JLE(operand.LabelRef(next))
	if k.isa == avx512 {
		g.firstLanes(aLeft, aTmp, reg.K1)
		g.VMOVUPS_Z(at(aPtr, 0), reg.K1, s0.x)
		k.compute(g, s0)
		g.VMOVUPS(k.result(s0), reg.K1, at(aPtr, 0))
		if k.kind == "exp" {
			g.VADDPS(k.result(s0), k.sum(), reg.K1, k.sum())
		}
	} else {
		m := s1.x
		g.firstLanesAVX2(actMaskTable, aLeft, aTmp, m)
		g.VMASKMOVPS(at(aPtr, 0), m, s0.x)
		k.compute(g, s0)
		g.VMASKMOVPS(k.result(s0), m, at(aPtr, 0))
		if k.kind == "exp" {
			g.VANDPS(m, k.result(s0), k.result(s0))
			g.VADDPS(k.result(s0), k.sum(), k.sum())
		}
	}
	g.Label(next)
	g.ADDQ(aLD, aRow)
	g.DECQ(aRows)
	g.JNZ(operand.LabelRef(row))
	g.Label(done)
	if k.kind == "exp" {
		g.sumLanes(k.sum(), k.isa.regs[0])
		g.VMOVSS(k.sum().AsX(), a.field(aT, "Sum", 0))
	}
	g.VZEROUPPER()
	g.RET()
}

// sumLanes adds the lanes of r into its first, halving: the upper 256
// bits (on ZMM), 128, 64, then 32; tmp is clobbered.
func (g *gen) sumLanes(r, tmp reg.VecPhysical) {
	if r.Size() == 64 {
		g.VEXTRACTF64X4(operand.U8(1), r, tmp.AsY())
		g.VADDPS(tmp.AsY(), r.AsY(), r.AsY())
	}
	g.VEXTRACTF128(operand.U8(1), r.AsY(), tmp.AsX())
	g.VADDPS(tmp.AsX(), r.AsX(), r.AsX())
	g.VMOVHLPS(r.AsX(), tmp.AsX(), tmp.AsX())
	g.VADDPS(tmp.AsX(), r.AsX(), r.AsX())
	g.VMOVSHDUP(r.AsX(), tmp.AsX())
	g.VADDSS(tmp.AsX(), r.AsX(), r.AsX())
}

// sum is the exp kernel's accumulator of its results (alpha's register,
// which the exp kind does not read).
func (k actKernel) sum() reg.VecPhysical { return k.isa.regs[12] }

// result is the register holding a vector's result after compute.
func (k actKernel) result(s actRegs) reg.VecPhysical {
	if k.hard() || k.kind == "exp" {
		return s.v1
	}
	return s.v3
}

// compute applies the function to each set's x, interleaving the sets
// step by step (independent chains for the pipelines).
func (k actKernel) compute(g *gen, sets ...actRegs) {
	each := func(f func(s actRegs)) {
		for _, s := range sets {
			f(s)
		}
	}
	if k.hard() {
		// v1 = min(max(alpha*x + beta, 0), 1) (NaN stays NaN: it is the
		// operand the comparisons return), times x for HardSwish
		each(func(s actRegs) { g.VMOVAPS(k.beta(), s.v1) })
		each(func(s actRegs) { g.VFMADD231PS(k.alpha(), s.x, s.v1) })
		each(func(s actRegs) { g.VMAXPS(s.v1, k.zeroV(), s.v1) })
		each(func(s actRegs) { g.VMINPS(s.v1, k.oneV(), s.v1) })
		if k.timesX() {
			each(func(s actRegs) { g.VMULPS(s.x, s.v1, s.v1) })
		}
		return
	}
	// y = -|x|, or x + beta for exp (v1); keep = !(y < expMin), NaN
	// kept (kKeep or v4)
	switch {
	case k.kind == "exp":
		each(func(s actRegs) { g.VADDPS(k.beta(), s.x, s.v1) })
	case k.isa == avx512:
		each(func(s actRegs) { g.VPORD(k.cst("sign"), s.x, s.v1) })
	default:
		each(func(s actRegs) { g.VORPS(k.cst("sign"), s.x, s.v1) })
	}
	if k.isa == avx512 {
		each(func(s actRegs) { g.VCMPPS(operand.U8(0x15), k.cst("expMin"), s.v1, s.kKeep) })
	} else {
		each(func(s actRegs) { g.VCMPPS(operand.U8(0x15), k.cst("expMin"), s.v1, s.v4) })
	}
	// n = round(y*log2e) (v2), to nearest even: VRNDSCALEPS on AVX-512,
	// else y*log2e + 1.5·2^23 - 1.5·2^23
	if k.isa == avx512 {
		each(func(s actRegs) { g.VMULPS(k.cst("log2e"), s.v1, s.v2) })
		each(func(s actRegs) { g.VRNDSCALEPS(operand.U8(0), s.v2, s.v2) })
	} else {
		each(func(s actRegs) { g.VMOVUPS(k.cst("round"), s.v2) })
		each(func(s actRegs) { g.VFMADD231PS(k.cst("log2e"), s.v1, s.v2) })
		each(func(s actRegs) { g.VSUBPS(k.cst("round"), s.v2, s.v2) })
	}
	// r = y - n*ln2hi - n*ln2lo (v3)
	each(func(s actRegs) { g.VMOVAPS(s.v1, s.v3) })
	each(func(s actRegs) { g.VFNMADD231PS(k.cst("ln2hi"), s.v2, s.v3) })
	each(func(s actRegs) { g.VFNMADD231PS(k.cst("ln2lo"), s.v2, s.v3) })
	// p = Taylor polynomial of e^r by Horner's rule (v1)
	each(func(s actRegs) { g.VMOVUPS(k.cst("c0"), s.v1) })
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5"} {
		each(func(s actRegs) { g.VFMADD213PS(k.cst(c), s.v3, s.v1) })
	}
	each(func(s actRegs) { g.VFMADD213PS(k.oneV(), s.v3, s.v1) })
	each(func(s actRegs) { g.VFMADD213PS(k.oneV(), s.v3, s.v1) })
	// z = p·2^n, 0 where flushed (v1): VSCALEFPS on AVX-512, else 2^n
	// made in the exponent bits
	if k.isa == avx512 {
		each(func(s actRegs) { g.VSCALEFPS_Z(s.v2, s.v1, s.kKeep, s.v1) })
	} else {
		each(func(s actRegs) { g.VCVTPS2DQ(s.v2, s.v2) })
		each(func(s actRegs) { g.VPADDD(k.cst("i127"), s.v2, s.v2) })
		each(func(s actRegs) { g.VPSLLD(operand.U8(23), s.v2, s.v2) })
		each(func(s actRegs) { g.VMULPS(s.v2, s.v1, s.v1) })
		each(func(s actRegs) { g.VANDPS(s.v4, s.v1, s.v1) })
	}
	if k.kind == "exp" {
		return
	}
	// s = 1/(1+z) (v3), times z where x < 0: on AVX-512 the 14-bit
	// reciprocal and a Newton step, r' = r + r(1 - dr) (relative error
	// below 2^-27 before rounding), a division on AVX2
	each(func(s actRegs) { g.VADDPS(k.oneV(), s.v1, s.v5) })
	if k.isa == avx512 {
		each(func(s actRegs) { g.VRCP14PS(s.v5, s.v3) })
		each(func(s actRegs) { g.VFNMADD213PS(k.oneV(), s.v3, s.v5) }) // v5 = 1 - d*r
		each(func(s actRegs) { g.VFMADD231PS(s.v5, s.v3, s.v3) })      // r += r*(1 - d*r)
	} else {
		each(func(s actRegs) { g.VDIVPS(s.v5, k.oneV(), s.v3) })
	}
	if k.isa == avx512 {
		each(func(s actRegs) { g.VCMPPS(operand.U8(0x11), k.zeroV(), s.x, s.kNeg) })
		each(func(s actRegs) { g.VMULPS(s.v1, s.v3, s.kNeg, s.v3) })
	} else {
		// the sign bit of x selects s·z (for -0 and 0 both are 1/2)
		each(func(s actRegs) { g.VMULPS(s.v1, s.v3, s.v5) })
		each(func(s actRegs) { g.VBLENDVPS(s.x, s.v5, s.v3, s.v3) })
	}
	if k.timesX() {
		each(func(s actRegs) { g.VMULPS(s.x, s.v3, s.v3) })
	}
}

// mulRowsBlock mirrors runtime.MulRows, the row-times-constant contract.
var mulRowsBlock = newArgBlock("MulRows",
	field("O", f32Slice), field("X", f32Slice), field("C", f32Slice),
	field("Rows", intT), field("Cols", intT), field("XRS", intT), field("CRS", intT), field("ORS", intT),
)

// mulRowsKernel is a kernel of the runtime.MulRows contract: each row of
// X times its constant, four vectors per step, then one, then the
// masked rest.
type mulRowsKernel struct{ isa *vecISA }

var mulRowsKernels = []mulRowsKernel{{avx512}, {avx2}}

func (k mulRowsKernel) names() naming.Kernel {
	return naming.Kernel{Op: "vmulc", Shape: "Rows", ISA: k.isa.name}
}

// Name, GoName and ISAName are for the registry template.
func (k mulRowsKernel) Name() string    { return k.names().Name() }
func (k mulRowsKernel) GoName() string  { return k.names().GoName() }
func (k mulRowsKernel) ISAName() string { return k.isa.name }

func (k mulRowsKernel) emit(g *gen) {
	name := k.GoName()
	doc := []string{
		fmt.Sprintf("%s is %s: the runtime.MulRows contract.", name, k.Name()),
		"Registers: DI *MulRows, SI the row of X, R9 the row of O, R11 the constant,",
		"R8 rows left, CX columns left, AX/BX scratch; the constant broadcast in the",
		"fifth vector register, the first four the products, the sixth the AVX2 tail mask.",
	}
	g.function(name, mulRowsBlock, doc...)
	g.Comment(doc[1:]...)
	a := mulRowsBlock
	t, x, o, c, rows, left := reg.RDI, reg.RSI, reg.R9, reg.R11, reg.R8, reg.RCX
	g.Load(g.Param("t"), t)
	done := g.label("done")
	g.MOVQ(a.field(t, "Rows", 0), rows)
	g.TESTQ(rows, rows)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "X", 0), x)
	g.MOVQ(a.field(t, "O", 0), o)
	g.MOVQ(a.field(t, "C", 0), c)
	v, lanes, vb := k.isa.regs, k.isa.lanes, k.isa.bytes()
	cv, mask := v[4], v[5]
	row, step, single, tail, next := g.label("row"), g.label("step"), g.label("single"), g.label("tail"), g.label("next")
	g.Label(row)
	g.VBROADCASTSS(at(c, 0), cv)
	g.MOVQ(a.field(t, "Cols", 0), left)
	// The two lines after the row's columns: what the next call reads of
	// this row when the rows are runs of a wider matrix (a convolution
	// packing its B panels), the next row's start when they are one.
	g.PREFETCHT0(mem(x, 0, left, 4))
	g.PREFETCHT0(mem(x, 64, left, 4))
	g.XORQ(reg.RAX, reg.RAX) // byte offset in the row
	g.Label(step)
	g.CMPQ(left, operand.Imm(uint64(4*lanes)))
	g.JL(operand.LabelRef(single))
	for i := range 4 {
		g.VMULPS(mem(x, i*vb, reg.RAX, 1), cv, v[i])
	}
	for i := range 4 {
		g.VMOVUPS(v[i], mem(o, i*vb, reg.RAX, 1))
	}
	g.ADDQ(operand.U32(4*vb), reg.RAX)
	g.SUBQ(operand.U32(4*lanes), left)
	g.JMP(operand.LabelRef(step))
	g.Label(single)
	g.CMPQ(left, operand.Imm(uint64(lanes)))
	g.JL(operand.LabelRef(tail))
	g.VMULPS(mem(x, 0, reg.RAX, 1), cv, v[0])
	g.VMOVUPS(v[0], mem(o, 0, reg.RAX, 1))
	g.ADDQ(operand.U32(vb), reg.RAX)
	g.SUBQ(operand.U32(lanes), left)
	g.JMP(operand.LabelRef(single))
	g.Label(tail)
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(next))
	if k.isa == avx512 {
		g.firstLanes(left, reg.RBX, reg.K1)
		g.VMOVUPS_Z(mem(x, 0, reg.RAX, 1), reg.K1, v[0])
		g.VMULPS(v[0], cv, v[0])
		g.VMOVUPS(v[0], reg.K1, mem(o, 0, reg.RAX, 1))
	} else {
		g.firstLanesAVX2(actMaskTable, left, reg.RBX, mask)
		g.VMASKMOVPS(mem(x, 0, reg.RAX, 1), mask, v[0])
		g.VMULPS(v[0], cv, v[0])
		g.VMASKMOVPS(v[0], mask, mem(o, 0, reg.RAX, 1))
	}
	g.Label(next)
	g.MOVQ(a.field(t, "XRS", 0), reg.RAX)
	g.LEAQ(mem(x, 0, reg.RAX, 4), x)
	g.MOVQ(a.field(t, "ORS", 0), reg.RAX)
	g.LEAQ(mem(o, 0, reg.RAX, 4), o)
	g.MOVQ(a.field(t, "CRS", 0), reg.RAX)
	g.LEAQ(mem(c, 0, reg.RAX, 4), c)
	g.DECQ(rows)
	g.JNZ(operand.LabelRef(row))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}
