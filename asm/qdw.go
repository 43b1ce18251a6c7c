package main

import (
	"go/types"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// qdwConvBlock mirrors runtime.QDWConv, the int8 depthwise contract.
var qdwConvBlock = newArgBlock("QDWConv",
	field("O", u8Slice), field("In", types.NewSlice(u8Slice)), field("W", i8Slice),
	field("Offset", i32Slice), field("Scale", f32Slice),
	field("C", intT), field("IH", intT), field("IW", intT), field("OH", intT), field("OW", intT), field("Stride", intT),
	field("PadTop", intT), field("PadLeft", intT),
	field("InZero", i32), field("Zero", i32), field("Lo", f32), field("Hi", f32),
	field("Scratch", u8Slice),
)

// qdwConvKernel is the descriptor of the depthwise kernel's names: 3
// kernel rows of up to 4 taps, strides 1 and 2.
var qdwConvKernel = naming.Kernel{Type: "qu8_qc8w", Op: "dwconv", MinMax: true, Requant: "fp32",
	Shape: "3x4", ISA: avx512vnni.name}

// qdwPermIdx holds the VPERMB indices that build, from 64 input bytes,
// the tap quads of 16 outputs (output p, tap t: byte p*stride + t), for
// stride 1 then stride 2.
var qdwPermIdx = operand.NewStaticSymbol("qdwPermIdx")

// buildQDW emits the int8 depthwise kernel.
func buildQDW(g *gen) {
	g.StaticGlobal(qdwPermIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for stride := 1; stride <= 2; stride++ {
		for i := range 64 {
			g.AppendDatum(operand.U8(i/4*stride + i%4))
		}
	}
	emitQDWConv(g)
}

// emitQDWConv: per channel, the outputs run in strips of 16 columns,
// each strip top to bottom with a sliding window of the 3 input rows it
// reads: an input row is loaded once per strip (masked to the plane: bytes
// outside it keep the input zero point, rows outside it are all zero
// point), VPERMB builds its 16 outputs' tap quads, and each output row
// takes 3 VPDPBUSD against the kernel rows' taps, the QTile
// requantisation and a 16-byte store. The last strip, the only partial
// one, runs first: its stores spill into the next row's first strip,
// which is stored later; only a store past the end of O is masked (AMD's
// masked byte stores are slow).
func emitQDWConv(g *gen) {
	name := qdwConvKernel.GoName()
	regs := []string{
		"Registers: Z0..Z2 the kernel rows' taps (4 bytes, broadcast), Z3 the permutation,",
		"Z4 the channel's Offset, Z5 its Scale, Z6/Z7 Lo/Hi, Z8 Zero, Z10 InZero in every",
		"byte, Z13..Z15 the window's quads (rows y, y+1, y+2), Z12 the accumulators;",
		"K1 the strip's outputs, K2 its input bytes inside the plane. DI *QDWConv, SI the",
		"channel's input, R8 IW, R9 the strip's first input column, R10 y, DX the output,",
		"BX the strip, CX output rows left, R11 the channel, R12 the last output 16",
		"bytes fit at, AX/R13 scratch.",
	}
	g.function(name, qdwConvBlock, append([]string{
		name + " is " + qdwConvKernel.Name() + ": the runtime.QDWConv contract",
		"(Stride 1 or 2; AVX512_VBMI's VPERMB, AVX512_VNNI's VPDPBUSD, encoded).",
	}, regs...)...)
	g.Comment(regs...)
	a := qdwConvBlock
	t := reg.RDI
	in, iw, col, y, out, strip, rows, c, outEnd := reg.RSI, reg.R8, reg.R9, reg.R10, reg.RDX, reg.RBX, reg.RCX, reg.R11, reg.R12
	tmp, tmp2 := reg.RAX, reg.R13
	w := []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2}
	perm, offset, scale, lo, hi, zp, acc, inZero := reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8, reg.Z12, reg.Z10
	win := []reg.VecPhysical{reg.Z13, reg.Z14, reg.Z15}

	g.Load(g.Param("t"), t)
	g.MOVQ(a.field(t, "Stride", 0), tmp)
	g.DECQ(tmp)
	g.SHLQ(operand.U8(6), tmp) // (Stride-1)*64: the stride's table
	g.LEAQ(operand.NewDataAddr(qdwPermIdx, 0), tmp2)
	g.VMOVDQU32(mem(tmp2, 0, tmp, 1), perm)
	g.VBROADCASTSS(a.field(t, "Lo", 0), lo)
	g.VBROADCASTSS(a.field(t, "Hi", 0), hi)
	g.VPBROADCASTD(a.field(t, "Zero", 0), zp)
	g.VPBROADCASTB(a.field(t, "InZero", 0), inZero)
	g.MOVQ(a.field(t, "IW", 0), iw)
	g.MOVQ(a.field(t, "O", 0), outEnd)
	g.ADDQ(a.field(t, "O", 8), outEnd)
	g.SUBQ(operand.U32(16), outEnd) // the last place 16 bytes fit
	g.XORQ(c, c)

	// loadRow sets r to the tap quads of input row y+dy (the zero point
	// outside the plane).
	loadRow := func(r reg.VecPhysical, dy int) {
		outside := g.label("outside")
		g.VMOVDQA32(inZero, r)
		g.LEAQ(at(y, dy), tmp)
		g.CMPQ(tmp, operand.Imm(0))
		g.JL(operand.LabelRef(outside))
		g.CMPQ(tmp, a.field(t, "IH", 0))
		g.JGE(operand.LabelRef(outside))
		g.IMULQ(iw, tmp)
		g.ADDQ(in, tmp)
		g.VMOVDQU8(mem(tmp, 0, col, 1), reg.K2, r)
		g.VPERMB(r, perm, r)
		g.Label(outside)
	}

	chanLoop, stripLoop, nextStrip, done := g.label("chan"), g.label("strip"), g.label("nextstrip"), g.label("done")
	g.Label(chanLoop)
	g.CMPQ(c, a.field(t, "C", 0))
	g.JGE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "W", 0), tmp)
	g.LEAQ(mem(c, 0, c, 2), tmp2) // 3c: the taps at 12c = 4*(3c)
	for r := range 3 {
		g.VPBROADCASTD(mem(tmp, 4*r, tmp2, 4), w[r])
	}
	g.MOVQ(a.field(t, "Offset", 0), tmp)
	g.VPBROADCASTD(mem(tmp, 0, c, 4), offset)
	g.MOVQ(a.field(t, "Scale", 0), tmp)
	g.VBROADCASTSS(mem(tmp, 0, c, 4), scale)
	g.MOVQ(a.field(t, "In", 0), tmp)
	g.MOVQ(mem(tmp, 0, tmp2, 8), in) // In[c]: header at 24c = 8*(3c)
	// the last strip first: strip = (OW-1)/16, then 0, 1, ...
	g.MOVQ(a.field(t, "OW", 0), strip)
	g.DECQ(strip)
	g.SHRQ(operand.U8(4), strip)

	g.Label(stripLoop)
	// K1: the strip's min(OW - 16*strip, 16) outputs
	g.MOVQ(strip, tmp2)
	g.SHLQ(operand.U8(4), tmp2)
	g.MOVQ(a.field(t, "OW", 0), tmp)
	g.SUBQ(tmp2, tmp)
	g.MOVL(operand.U32(0xffff), reg.R9.As32())
	g.BZHIQ(tmp, reg.R9, reg.R9)
	g.KMOVW(reg.R9.As32(), reg.K1)
	// the output: O + (c*OH*OW) + 16*strip
	g.MOVQ(a.field(t, "OH", 0), out)
	g.IMULQ(a.field(t, "OW", 0), out)
	g.IMULQ(c, out)
	g.ADDQ(a.field(t, "O", 0), out)
	g.ADDQ(tmp2, out)
	// col = 16*strip*Stride - PadLeft
	g.MOVQ(tmp2, col)
	g.IMULQ(a.field(t, "Stride", 0), col)
	g.SUBQ(a.field(t, "PadLeft", 0), col)
	// K2: the bytes col+j inside the plane, 0 <= col+j < IW, j < 64: the
	// low clamp(IW-col, 0, 64) bits, less the low max(-col, 0)
	g.MOVQ(iw, tmp)
	g.SUBQ(col, tmp)
	g.XORQ(tmp2, tmp2)
	g.CMPQ(tmp, tmp2)
	g.CMOVQLT(tmp2, tmp)
	g.MOVQ(operand.I32(-1), tmp2)
	g.BZHIQ(tmp, tmp2, tmp)
	noLow := g.label("nolow")
	g.MOVQ(col, tmp2)
	g.NEGQ(tmp2)
	g.JLE(operand.LabelRef(noLow))
	g.SHRXQ(tmp2, tmp, tmp)
	g.SHLXQ(tmp2, tmp, tmp)
	g.Label(noLow)
	g.KMOVQ(tmp, reg.K2)
	// the window at the first output row
	g.MOVQ(a.field(t, "PadTop", 0), y)
	g.NEGQ(y)
	for r := range 3 {
		loadRow(win[r], r)
	}
	g.MOVQ(a.field(t, "OH", 0), rows)
	s1, s2 := g.label("s1_"), g.label("s2_")
	g.CMPQ(a.field(t, "Stride", 0), operand.Imm(1))
	g.JNE(operand.LabelRef(s2))
	for _, stride := range []int{1, 2} {
		if stride == 1 {
			g.Label(s1)
		} else {
			g.Label(s2)
		}
		rowLoop, next := g.label("row"), g.label("stripdone")
		g.Label(rowLoop)
		g.VMOVDQA32(offset, acc)
		for r := range 3 {
			g.encode(vpdpbusd(w[r], win[r], acc))
		}
		g.VCVTDQ2PS(acc, acc)
		g.VMULPS(scale, acc, acc)
		g.VMAXPS(lo, acc, acc)
		g.VMINPS(hi, acc, acc)
		g.VCVTPS2DQ(acc, acc)
		g.VPADDD(zp, acc, acc)
		g.VPMOVDB(acc, acc.AsX())
		masked, stored := g.label("masked"), g.label("stored")
		g.CMPQ(out, outEnd)
		g.JA(operand.LabelRef(masked))
		g.VMOVDQU(acc.AsX(), at(out, 0))
		g.JMP(operand.LabelRef(stored))
		g.Label(masked)
		g.VMOVDQU8(acc.AsX(), reg.K1, at(out, 0))
		g.Label(stored)
		g.ADDQ(a.field(t, "OW", 0), out)
		g.DECQ(rows)
		g.JZ(operand.LabelRef(next))
		// slide the window down by the stride
		if stride == 1 {
			g.VMOVDQA32(win[1], win[0])
			g.VMOVDQA32(win[2], win[1])
			loadRow(win[2], 3)
			g.INCQ(y)
		} else {
			g.VMOVDQA32(win[2], win[0])
			loadRow(win[1], 3)
			loadRow(win[2], 4)
			g.ADDQ(operand.U32(2), y)
		}
		g.JMP(operand.LabelRef(rowLoop))
		g.Label(next)
		g.JMP(operand.LabelRef(nextStrip))
	}
	// after the last strip (run first) comes strip 0; the channel is done
	// at the last strip again
	notLast, chanDone := g.label("notlast"), g.label("chandone")
	g.Label(nextStrip)
	g.MOVQ(a.field(t, "OW", 0), tmp)
	g.DECQ(tmp)
	g.SHRQ(operand.U8(4), tmp)
	g.CMPQ(strip, tmp)
	g.JNE(operand.LabelRef(notLast))
	g.XORQ(strip, strip)
	g.TESTQ(tmp, tmp)
	g.JZ(operand.LabelRef(chanDone))
	g.JMP(operand.LabelRef(stripLoop))
	g.Label(notLast)
	g.INCQ(strip)
	g.CMPQ(strip, tmp)
	g.JNE(operand.LabelRef(stripLoop))
	g.Label(chanDone)
	g.INCQ(c)
	g.JMP(operand.LabelRef(chanLoop))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}
