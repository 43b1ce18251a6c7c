package main

import (
	"math/bits"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// maxPoolRowBlock mirrors runtime.MaxPoolRow, the 3x3 stride-2 max-pool
// row contract.
var maxPoolRowBlock = newArgBlock("MaxPoolRow",
	field("O", f32Slice), field("R0", f32Slice), field("R1", f32Slice), field("R2", f32Slice),
	field("N", intT), field("LD", intT), field("LDO", intT),
)

var maxPoolPermIdx = operand.NewStaticSymbol("maxPoolPermIdx")

// maxPoolKernel is the descriptor the row kernel's contract and Go names
// come from.
var maxPoolKernel = naming.Kernel{Op: "maxpool", Shape: "S2P1", ISA: avx512.name}

// qmaxPoolRowBlock mirrors runtime.QMaxPoolRow, its uint8 twin.
var qmaxPoolRowBlock = newArgBlock("QMaxPoolRow",
	field("O", u8Slice), field("R0", u8Slice), field("R1", u8Slice), field("R2", u8Slice),
	field("N", intT), field("LD", intT), field("LDO", intT),
)

var qmaxPoolPrevIdx = operand.NewStaticSymbol("qmaxPoolPrevIdx")

var qmaxPoolKernel = naming.Kernel{Type: "u8", Op: "maxpool", Shape: "S2P1", ISA: avx512.name}

// buildMaxPool emits the max-pool row kernels: one output row of a 3x3
// max pool of stride 2 with one column of padding on the left, of
// float32 and of uint8 values.
func buildMaxPool(g *gen) {
	g.StaticGlobal(maxPoolPermIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 32 { // even indices 0..30, then odd 1..31
		g.AppendDatum(operand.U32(2*(i%16) + i/16))
	}
	g.StaticGlobal(qmaxPoolPrevIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for j := range 32 { // word j-1 of the second table, the first's last word for j = 0
		g.AppendDatum(operand.U16(31 + j))
	}
	emitMaxPoolRow(g)
	emitQMaxPoolRow(g)
}

// maxPoolRowRegs are a max-pool row kernel's arguments: the three rows,
// O, the outputs left (len(O)), the inputs left (len(R0)) and a scratch
// register.
type maxPoolRowRegs struct {
	rows                      []reg.GPPhysical
	t, out, left, inLeft, tmp reg.GPPhysical
	// the output rows left and the steps of the rows and O from a row's
	// end to the next row's start (rowSteps)
	rowsLeft, stepIn, stepOut reg.GPPhysical
}

// beginMaxPoolRow declares the row kernel k of the runtime contract
// (block, the MaxPoolRow layout), documented by regs, and loads its
// arguments.
func beginMaxPoolRow(g *gen, k naming.Kernel, block *argBlock, contract string, regs []string) maxPoolRowRegs {
	name := k.GoName()
	g.function(name, block, append([]string{
		name + " is " + k.Name() + ": the runtime." + contract + " contract (3x3 window).",
	}, regs...)...)
	g.Comment(regs...)
	t := reg.RDI
	g.Load(g.Param("t"), t)
	r := maxPoolRowRegs{rows: []reg.GPPhysical{reg.RSI, reg.R8, reg.R9}, t: t, out: reg.R10, left: reg.RCX, inLeft: reg.RDX, tmp: reg.RAX,
		rowsLeft: reg.R11, stepIn: reg.R12, stepOut: reg.R13}
	for i, f := range []string{"R0", "R1", "R2"} {
		g.MOVQ(block.field(t, f, 0), r.rows[i])
	}
	g.MOVQ(block.field(t, "R0", 8), r.inLeft)
	g.MOVQ(block.field(t, "O", 8), r.left)
	g.MOVQ(block.field(t, "O", 0), r.out)
	return r
}

// nextBlock ends a block of the row loop: the rows advance inBytes and
// the output outBytes, outputs and inputs left drop by outs and ins, and
// the loop starts again; done follows.
func (r maxPoolRowRegs) nextBlock(g *gen, inBytes, outBytes, outs, ins uint32, loop, done string) {
	for _, row := range r.rows {
		g.ADDQ(operand.U32(inBytes), row)
	}
	g.ADDQ(operand.U32(outBytes), r.out)
	g.SUBQ(operand.U32(outs), r.left)
	g.SUBQ(operand.U32(ins), r.inLeft)
	g.JMP(operand.LabelRef(loop))
	g.Label(done)
}

// rowSteps loads the output rows left (N) and the steps from a row's end
// to the next row: a row takes B = ceil(len(O)/outs) blocks (outs a power
// of two), each stepping the rows 2*outs elements of 1<<es bytes and O
// outs, so the next row is 2*LD - 2*outs*B and LDO - outs*B elements on.
func (r maxPoolRowRegs) rowSteps(g *gen, block *argBlock, outs int, es uint8) {
	lg := uint8(bits.Len(uint(outs)) - 1)
	g.MOVQ(block.field(r.t, "N", 0), r.rowsLeft)
	g.LEAQ(mem(r.left, outs-1, nil, 0), r.tmp)
	g.SHRQ(operand.U8(lg), r.tmp) // B
	g.MOVQ(block.field(r.t, "LD", 0), r.stepIn)
	g.SHLQ(operand.U8(1+es), r.stepIn)
	g.MOVQ(r.tmp, reg.RBX)
	g.SHLQ(operand.U8(lg+1+es), reg.RBX)
	g.SUBQ(reg.RBX, r.stepIn)
	g.MOVQ(block.field(r.t, "LDO", 0), r.stepOut)
	if es > 0 {
		g.SHLQ(operand.U8(es), r.stepOut)
	}
	g.SHLQ(operand.U8(lg+es), r.tmp)
	g.SUBQ(r.tmp, r.stepOut)
}

// beginRow starts an output row: to end when none is left, else the
// outputs and inputs left reloaded from len(O) and len(R0). It returns
// the row's label and end's.
func (r maxPoolRowRegs) beginRow(g *gen, block *argBlock) (row, end string) {
	row, end = g.label("row"), g.label("end")
	g.Label(row)
	g.TESTQ(r.rowsLeft, r.rowsLeft)
	g.JLE(operand.LabelRef(end))
	g.MOVQ(block.field(r.t, "O", 8), r.left)
	g.MOVQ(block.field(r.t, "R0", 8), r.inLeft)
	return row, end
}

// endRow ends an output row: the rows and O step to the next one and the
// loop starts again; end follows, and the kernel returns.
func (r maxPoolRowRegs) endRow(g *gen, row, end string) {
	for _, in := range r.rows {
		g.ADDQ(r.stepIn, in)
	}
	g.ADDQ(r.stepOut, r.out)
	g.DECQ(r.rowsLeft)
	g.JMP(operand.LabelRef(row))
	g.Label(end)
	g.VZEROUPPER()
	g.RET()
}

// emitQMaxPoolRow: the MaxPoolRow contract on bytes. Per block of 32
// outputs it takes the row-wise max of the 64 input columns 2x0..2x0+63
// (zero past the row's end: no byte is below it), views them as 32 words
// whose low bytes are the even columns and high bytes the odd ones, and
// takes column 2x-1 from the odd columns one word up, the previous
// block's last carried in (zero at the row's start: column -1 is
// padding); the words' maxima pack back to bytes. After a row's blocks
// the rows and O step on to the next output row.
func emitQMaxPoolRow(g *gen) {
	r := beginMaxPoolRow(g, qmaxPoolKernel, qmaxPoolRowBlock, "QMaxPoolRow", []string{
		"Registers: Z0 the permutation index of column 2x-1, Z1 the words' low-byte mask,",
		"Z2 the carried odd columns, Z3 the rows' maximum, Z4..Z7 work; K1 the valid",
		"inputs, K2 the valid outputs. SI/R8/R9 the three rows, R10 O, CX outputs left,",
		"DX inputs left, R11 output rows left, R12/R13 the step of the rows and O from",
		"a row's end to the next row, AX/BX scratch.",
	})
	rows, out, left, inLeft, tmp := r.rows, r.out, r.left, r.inLeft, r.tmp
	idx, low, carry, v, w, even, odd := reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6
	g.VMOVDQU64(operand.NewDataAddr(qmaxPoolPrevIdx, 0), idx)
	g.MOVL(operand.U32(0x00ff00ff), tmp.As32())
	g.VPBROADCASTD(tmp.As32(), low)
	r.rowSteps(g, qmaxPoolRowBlock, 32, 0)
	row, end := r.beginRow(g, qmaxPoolRowBlock)
	g.VPXORD(carry, carry, carry)
	loop, done := g.label("block"), g.label("done")
	g.Label(loop)
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))
	// K1: input lanes min(max(inLeft, 0), 64); K2: output lanes min(left, 32)
	g.MOVQ(inLeft, reg.RBX)
	g.XORL(tmp.As32(), tmp.As32())
	g.maxQ(reg.RBX, tmp)
	g.MOVQ(operand.I32(-1), tmp)
	g.BZHIQ(reg.RBX, tmp, tmp)
	g.KMOVQ(tmp, reg.K1)
	g.MOVL(operand.U32(0xffffffff), tmp.As32())
	g.BZHIL(left.As32(), tmp.As32(), tmp.As32())
	g.KMOVD(tmp.As32(), reg.K2)
	g.VMOVDQU8_Z(at(rows[0], 0), reg.K1, v)
	for _, r := range rows[1:] {
		g.VMOVDQU8_Z(at(r, 0), reg.K1, w)
		g.VPMAXUB(w, v, v)
	}
	g.VPANDD(low, v, even)
	g.VPSRLW(operand.U8(8), v, odd)
	g.VPMAXUW(odd, even, even)
	// column 2x-1: the odd columns one word up, the carried one in word 0
	g.VMOVDQA64(carry, w)
	g.VPERMT2W(odd, idx, w)
	g.VMOVDQA64(odd, carry)
	g.VPMAXUW(w, even, even)
	g.VPMOVWB(even, reg.K2, at(out, 0))
	r.nextBlock(g, 64, 32, 32, 64, loop, done)
	r.endRow(g, row, end)
}

// emitMaxPoolRow: for y < N and x < len(O), O[y*LDO + x] = max over rows
// r of R_r[2y*LD + 2x-1], R_r[2y*LD + 2x], R_r[2y*LD + 2x+1], where column
// -1 and columns from len(R0) on are -Inf. Per block of 16 outputs it
// takes the row-wise max of the 32 input columns 2x0..2x0+31 (masked at
// the right edge), splits them into even and odd columns with two
// permutes, and takes column 2x-1 from the odd columns shifted by one
// lane, the previous block's last odd column carried in. Max is VMAXPS
// (with a NaN the second operand wins). After a row's blocks the rows
// and O step on to the next output row.
func emitMaxPoolRow(g *gen) {
	r := beginMaxPoolRow(g, maxPoolKernel, maxPoolRowBlock, "MaxPoolRow", []string{
		"Registers: Z0/Z1 the even and odd permutation indices, Z2 -Inf, Z3 the carried",
		"odd columns, Z4/Z5 the row maxima of the block's two input vectors, Z6..Z9",
		"work; K1/K2 the valid inputs of the two vectors, K3 the valid outputs.",
		"SI/R8/R9 the three rows, R10 O, CX outputs left, DX inputs left, R11 output",
		"rows left, R12/R13 the step of the rows and O from a row's end to the next",
		"row, AX/BX scratch.",
	})
	rows, out, left, inLeft, tmp := r.rows, r.out, r.left, r.inLeft, r.tmp
	idxEven, idxOdd, negInf, carry := reg.Z0, reg.Z1, reg.Z2, reg.Z3
	v0, v1, w0, w1, even, odd := reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8, reg.Z9
	g.VMOVUPS(operand.NewDataAddr(maxPoolPermIdx, 0), idxEven)
	g.VMOVUPS(operand.NewDataAddr(maxPoolPermIdx, 64), idxOdd)
	g.MOVL(operand.U32(0xff800000), tmp.As32()) // -Inf
	g.VPBROADCASTD(tmp.As32(), negInf)
	r.rowSteps(g, maxPoolRowBlock, 16, 2)
	row, end := r.beginRow(g, maxPoolRowBlock)
	g.VMOVAPS(negInf, carry)
	loop, done := g.label("block"), g.label("done")
	g.Label(loop)
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))
	// K1, K2: the valid lanes of the block's 32 inputs; K3 of its outputs
	// (all of them inside a row: no masks to compute)
	masked, load := g.label("masked"), g.label("load")
	g.CMPQ(inLeft, operand.U32(32))
	g.JLT(operand.LabelRef(masked))
	g.CMPQ(left, operand.U32(16))
	g.JLT(operand.LabelRef(masked))
	for _, k := range []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3} {
		g.KXNORW(k, k, k)
	}
	g.JMP(operand.LabelRef(load))
	g.Label(masked)
	maskOf := func(n reg.GPPhysical, k reg.OpmaskPhysical) {
		// k = lanes min(max(n, 0), 16): (1 << n) - 1 via BZHI of all ones
		if n != reg.RBX {
			g.MOVQ(n, reg.RBX)
		}
		g.MOVL(operand.U32(16), tmp.As32())
		g.minQ(reg.RBX, tmp)
		g.XORL(tmp.As32(), tmp.As32())
		g.maxQ(reg.RBX, tmp)
		g.MOVL(operand.U32(0xffff), tmp.As32())
		g.BZHIL(reg.EBX, tmp.As32(), tmp.As32())
		g.KMOVW(tmp.As32(), k)
	}
	maskOf(inLeft, reg.K1)
	g.LEAQ(mem(inLeft, -16, nil, 0), reg.RBX)
	maskOf(reg.RBX, reg.K2)
	maskOf(left, reg.K3)
	g.Label(load)
	for v, dst := range []reg.VecPhysical{v0, v1} {
		k := []reg.OpmaskPhysical{reg.K1, reg.K2}[v]
		g.VMOVAPS(negInf, dst)
		g.VMOVUPS(at(rows[0], 64*v), k, dst)
		for _, r := range rows[1:] {
			g.VMOVAPS(negInf, w1)
			g.VMOVUPS(at(r, 64*v), k, w1)
			g.VMAXPS(w1, dst, dst)
		}
	}
	g.VMOVAPS(v0, even)
	g.VPERMT2PS(v1, idxEven, even)
	g.VMOVAPS(v0, odd)
	g.VPERMT2PS(v1, idxOdd, odd)
	// column 2x-1: the odd columns one lane up, the carried one in lane 0
	g.VALIGND(operand.U8(15), carry, odd, w0)
	g.VMOVAPS(odd, carry)
	g.VMAXPS(odd, even, even)
	g.VMAXPS(w0, even, even)
	g.VMOVUPS(even, reg.K3, at(out, 0))
	r.nextBlock(g, 128, 64, 16, 32, loop, done)
	r.endRow(g, row, end)
}
