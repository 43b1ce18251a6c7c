package main

import (
	"go/types"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// qpackBlock mirrors runtime.QPack, the int8 packing contract.
var qpackBlock = newArgBlock("QPack",
	field("Dst", u8Slice), field("Rows", types.NewSlice(u8Slice)),
	field("Off", intT), field("Q", intT),
	field("J0", intT), field("N", intT), field("NR", intT), field("LDD", intT),
	field("Flip", types.Typ[types.Uint32]),
)

// qpackKernel is the descriptor of the packing kernel's names. It uses
// AVX (VEX-encoded 128-bit) instructions only, so every int8 level of
// amd64 runs it.
var qpackKernel = naming.Kernel{Type: "qu8", Op: "pack", Shape: "x4c4", ISA: "avx2"}

// buildQPack emits the packing kernel: per quad and 16 pixels, four
// 16-byte row loads, two rounds of unpacks (the bytes of rows 0/1 and
// 2/3, then their words) giving the 16 pixels' quads in order, the flip,
// four stores.
func buildQPack(g *gen) {
	name := qpackKernel.GoName()
	regs := []string{
		"Registers: X0..X3 the rows' 16 bytes, then the quads; X4..X7 the byte pairs;",
		"X8 the flip. R11 *QPack, SI/R8/R9/R10 the quad's rows, DI the destination,",
		"CX pixels left, DX the column in the panel, R13 the Rows headers, AX the",
		"quad's first destination, BX quads left.",
	}
	g.function(name, qpackBlock, append([]string{
		name + " is " + qpackKernel.Name() + ": the runtime.QPack contract.",
	}, regs...)...)
	g.Comment(regs...)
	a := qpackBlock
	t := reg.R11
	g.Load(g.Param("t"), t)
	rows := []reg.GPPhysical{reg.RSI, reg.R8, reg.R9, reg.R10}
	dst, left, col, hdr, base, quads := reg.RDI, reg.RCX, reg.RDX, reg.R13, reg.RAX, reg.RBX
	g.MOVQ(a.field(t, "Q", 0), quads)
	g.TESTQ(quads, quads)
	done := g.label("done")
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "N", 0), left)
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "Rows", 0), hdr)
	g.MOVQ(a.field(t, "J0", 0), col)
	g.MOVQ(a.field(t, "Dst", 0), base)
	g.LEAQ(mem(base, 0, col, 4), base)
	g.VPBROADCASTD(a.field(t, "Flip", 0), reg.X8)

	quad, chunk, next := g.label("quad"), g.label("chunk"), g.label("next")
	g.Label(quad)
	for i, r := range rows {
		g.MOVQ(at(hdr, sliceHeader*i), r)
		g.ADDQ(a.field(t, "Off", 0), r)
	}
	g.MOVQ(base, dst)
	g.MOVQ(a.field(t, "J0", 0), col)
	g.MOVQ(a.field(t, "N", 0), left)
	g.Label(chunk)
	x := []reg.VecPhysical{reg.X0, reg.X1, reg.X2, reg.X3}
	for i, r := range rows {
		g.VMOVDQU(at(r, 0), x[i])
	}
	// Go operand order: VPUNPCKLBW b, a, dst interleaves a's and b's low
	// bytes, a's first.
	g.VPUNPCKLBW(reg.X1, reg.X0, reg.X4) // pixels 0..7: r0 r1
	g.VPUNPCKHBW(reg.X1, reg.X0, reg.X5) // pixels 8..15
	g.VPUNPCKLBW(reg.X3, reg.X2, reg.X6) // r2 r3
	g.VPUNPCKHBW(reg.X3, reg.X2, reg.X7)
	g.VPUNPCKLWD(reg.X6, reg.X4, reg.X0) // quads of pixels 0..3
	g.VPUNPCKHWD(reg.X6, reg.X4, reg.X1) // 4..7
	g.VPUNPCKLWD(reg.X7, reg.X5, reg.X2) // 8..11
	g.VPUNPCKHWD(reg.X7, reg.X5, reg.X3) // 12..15
	for i, r := range x {
		g.VPXOR(reg.X8, r, r)
		g.VMOVDQU(r, at(dst, 16*i))
	}
	for _, r := range rows {
		g.ADDQ(operand.U32(16), r)
	}
	g.ADDQ(operand.U32(64), dst)
	g.ADDQ(operand.U32(16), col)
	g.CMPQ(col, a.field(t, "NR", 0))
	g.JNE(operand.LabelRef(next))
	g.Comment("next panel: dst += LDD - 4*NR")
	g.ADDQ(a.field(t, "LDD", 0), dst)
	g.SHLQ(operand.U8(2), col)
	g.SUBQ(col, dst)
	g.XORQ(col, col)
	g.Label(next)
	g.SUBQ(operand.U32(16), left)
	g.JG(operand.LabelRef(chunk))
	g.Comment("next quad: 4*NR bytes further in the panel, four rows further")
	g.MOVQ(a.field(t, "NR", 0), dst)
	g.LEAQ(mem(base, 0, dst, 4), base)
	g.ADDQ(operand.U32(4*sliceHeader), hdr)
	g.DECQ(quads)
	g.JNZ(operand.LabelRef(quad))
	g.Label(done)
	g.RET()
}
