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
	field("Off", intT), field("Q", intT), field("SW", intT),
	field("N", intT), field("NR", intT),
	field("Flip", types.Typ[types.Uint32]),
)

// qpackKernel is the descriptor of the packing kernel's names. It uses
// AVX (VEX-encoded 128-bit) instructions only, so every int8 level of
// amd64 runs it.
var qpackKernel = naming.Kernel{Type: "qu8", Op: "pack", Shape: "x4c4", ISA: "avx2"}

// buildQPack emits the packing kernel: per quad and 16 pixels, four
// 16-byte row loads (SW 2: the even bytes of 32), two rounds of unpacks
// (the bytes of rows 0/1 and 2/3, then their words) giving the 16 pixels'
// quads in order, the flip, four stores; the last step starts 16 pixels
// before the end. Runs of 8 to 15 pixels take steps of 8 the same way
// (8-byte loads, the low unpacks, two stores).
func buildQPack(g *gen) {
	name := qpackKernel.GoName()
	regs := []string{
		"Registers: X0..X3 the rows' 16 (or 8) bytes (SW 2: the even ones of twice",
		"as many), then the quads; X4..X7 the byte pairs; X8 the flip, Y9 0x00ff",
		"words. R11 *QPack, SI/R8/R9/R10 the quad's rows at the step, DI the step's",
		"destination, CX the step's first pixel, DX its last possible one (N-16 or",
		"N-8), R13 the Rows headers, AX the quad's destination, BX quads left, R12",
		"scratch.",
	}
	g.function(name, qpackBlock, append([]string{
		name + " is " + qpackKernel.Name() + ": the runtime.QPack contract.",
	}, regs...)...)
	g.Comment(regs...)
	a := qpackBlock
	t := reg.R11
	g.Load(g.Param("t"), t)
	done, short := g.label("done"), g.label("short")
	g.MOVQ(a.field(t, "Q", 0), reg.RBX)
	g.TESTQ(reg.RBX, reg.RBX)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "Rows", 0), reg.R13)
	g.MOVQ(a.field(t, "Dst", 0), reg.RAX)
	g.VPBROADCASTD(a.field(t, "Flip", 0), reg.X8)
	g.VPCMPEQW(reg.Y9, reg.Y9, reg.Y9)
	g.VPSRLW(operand.U8(8), reg.Y9, reg.Y9) // 0x00ff in every word: the even bytes
	g.MOVQ(a.field(t, "N", 0), reg.RDX)
	g.SUBQ(operand.U32(16), reg.RDX)
	g.JL(operand.LabelRef(short))
	qpackSteps(g, 16, done)
	g.Label(short)
	g.ADDQ(operand.U32(8), reg.RDX)
	g.JL(operand.LabelRef(done))
	qpackSteps(g, 8, done)
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// qpackPrefetch is how far ahead of a 16-pixel step (SW 1; twice as far
// for SW 2) the packer prefetches each row into L2. A panel visits every
// row of K for 32 pixels, too many streams for the hardware prefetcher.
const qpackPrefetch = 128

// qpackSteps emits the loops over quads and steps of step pixels (16 or
// 8), for SW 1 and 2; DX holds the last step's first pixel.
func qpackSteps(g *gen, step int, done string) {
	a := qpackBlock
	t := reg.R11
	rows := []reg.GPPhysical{reg.RSI, reg.R8, reg.R9, reg.R10}
	dst, x0, last, hdr, base, quads, tmp := reg.RDI, reg.RCX, reg.RDX, reg.R13, reg.RAX, reg.RBX, reg.R12
	x := []reg.VecPhysical{reg.X0, reg.X1, reg.X2, reg.X3}
	s2 := g.label("sw2_")
	g.CMPQ(a.field(t, "SW", 0), operand.Imm(2))
	g.JE(operand.LabelRef(s2))
	for _, sw := range []int{1, 2} {
		if sw == 2 {
			g.Label(s2)
		}
		quad, chunk, next := g.label("quad"), g.label("chunk"), g.label("next")
		g.Label(quad)
		g.XORQ(x0, x0)
		g.Label(chunk)
		// the step's rows: Rows[4q+i] + Off + x0*SW, its destination base + 4*x0
		for i, r := range rows {
			g.MOVQ(at(hdr, sliceHeader*i), r)
			g.ADDQ(a.field(t, "Off", 0), r)
			g.LEAQ(mem(r, 0, x0, uint8(sw)), r)
		}
		g.LEAQ(mem(base, 0, x0, 4), dst)
		for i, r := range rows {
			switch {
			case sw == 1 && step == 16:
				g.PREFETCHT1(at(r, qpackPrefetch))
				g.VMOVDQU(at(r, 0), x[i])
			case sw == 1:
				g.VMOVQ(at(r, 0), x[i])
			case step == 16:
				// 32 bytes, the even ones kept: their words masked to the
				// low byte, packed within the 128-bit lanes, the lanes'
				// low halves joined
				y := x[i].AsY()
				g.PREFETCHT1(at(r, 2*qpackPrefetch))
				g.VPAND(at(r, 0), reg.Y9, y)
				g.VPACKUSWB(y, y, y)
				g.VPERMQ(operand.U8(0x08), y, y)
			default:
				// 16 bytes, the even ones kept in the low 8
				g.VPAND(at(r, 0), reg.X9, x[i])
				g.VPACKUSWB(x[i], x[i], x[i])
			}
		}
		// Go operand order: VPUNPCKLBW b, a, dst interleaves a's and b's
		// low bytes, a's first.
		g.VPUNPCKLBW(reg.X1, reg.X0, reg.X4) // pixels 0..7: r0 r1
		g.VPUNPCKLBW(reg.X3, reg.X2, reg.X6) // r2 r3
		if step == 16 {
			g.VPUNPCKHBW(reg.X1, reg.X0, reg.X5) // pixels 8..15
			g.VPUNPCKHBW(reg.X3, reg.X2, reg.X7)
		}
		g.VPUNPCKLWD(reg.X6, reg.X4, reg.X0) // quads of pixels 0..3
		g.VPUNPCKHWD(reg.X6, reg.X4, reg.X1) // 4..7
		if step == 16 {
			g.VPUNPCKLWD(reg.X7, reg.X5, reg.X2) // 8..11
			g.VPUNPCKHWD(reg.X7, reg.X5, reg.X3) // 12..15
		}
		for i, r := range x[:step/4] {
			g.VPXOR(reg.X8, r, r)
			g.VMOVDQU(r, at(dst, 16*i))
		}
		// the next step: step pixels further, the last one at N-step
		g.CMPQ(x0, last)
		g.JGE(operand.LabelRef(next))
		g.ADDQ(operand.U32(uint32(step)), x0)
		g.CMPQ(x0, last)
		g.CMOVQGT(last, x0)
		g.JMP(operand.LabelRef(chunk))
		g.Label(next)
		g.Comment("next quad: 4*NR bytes further, four rows further")
		g.MOVQ(a.field(t, "NR", 0), tmp)
		g.LEAQ(mem(base, 0, tmp, 4), base)
		g.ADDQ(operand.U32(4*sliceHeader), hdr)
		g.DECQ(quads)
		g.JNZ(operand.LabelRef(quad))
		g.JMP(operand.LabelRef(done))
	}
}
