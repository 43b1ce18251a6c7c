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

// qdwStrips is the most strips of 16 output columns the depthwise kernel
// computes side by side: a group of strips shares each output row's
// bookkeeping (the window's row bounds, the loop, the store check). A
// power of two (lastGroup rounds down with a mask), at most 4 (the
// window's 3*qdwStrips registers from Z16).
const qdwStrips = 4

// emitQDWConv: per channel, the outputs run in groups of up to qdwStrips
// strips of 16 columns, each group top to bottom with a sliding window
// of the 3 input rows it reads: an input row is loaded once per strip
// (masked to the plane: bytes outside it keep the input zero point, rows
// outside it are all zero point), VPERMB builds its 16 outputs' tap
// quads, and each output row takes 3 VPDPBUSD per strip against the
// kernel rows' taps, the QTile requantisation and a 16-byte store. The
// last group, which holds the only partial strip, runs first: that
// strip's stores spill into the next row's first strip, which is stored
// later; only a store past the end of O is masked (AMD's masked byte
// stores are slow).
func emitQDWConv(g *gen) {
	name := qdwConvKernel.GoName()
	regs := []string{
		"Registers: Z0..Z2 the kernel rows' taps (4 bytes, broadcast), Z3 the permutation,",
		"Z4 the channel's Offset, Z5 its Scale, Z6/Z7 Lo/Hi, Z8 Zero, Z10 InZero in every",
		"byte, Z9 Z11 Z12 Z13 the strips' accumulators, Z16..Z27 the window's quads (row",
		"r of the window, strip j in Z16+4r+j); K1 the last strip's outputs, K2..K5 the",
		"strips' input bytes inside the plane. DI *QDWConv, SI the channel's input, R8 IW,",
		"R9 the group's first input column, R10 y, DX the output, BX the group's first",
		"strip, CX output rows left, R11 the channel, R12 the last output 16 bytes fit at,",
		"AX/R13 scratch.",
	}
	g.function(name, qdwConvBlock, append([]string{
		name + " is " + qdwConvKernel.Name() + ": the runtime.QDWConv contract",
		"(Stride 1 or 2; AVX512_VBMI's VPERMB, AVX512_VNNI's VPDPBUSD, encoded).",
	}, regs...)...)
	g.Comment(regs...)
	e := qdwEmitter{g: g}
	a, t, tmp, tmp2 := qdwConvBlock, qdwT, qdwTmp, qdwTmp2

	g.Load(g.Param("t"), t)
	g.MOVQ(a.field(t, "Stride", 0), tmp)
	g.DECQ(tmp)
	g.SHLQ(operand.U8(6), tmp) // (Stride-1)*64: the stride's table
	g.LEAQ(operand.NewDataAddr(qdwPermIdx, 0), tmp2)
	g.VMOVDQU32(mem(tmp2, 0, tmp, 1), qdwPerm)
	g.VBROADCASTSS(a.field(t, "Lo", 0), qdwLo)
	g.VBROADCASTSS(a.field(t, "Hi", 0), qdwHi)
	g.VPBROADCASTD(a.field(t, "Zero", 0), qdwZero)
	g.VPBROADCASTB(a.field(t, "InZero", 0), qdwInZero)
	g.MOVQ(a.field(t, "IW", 0), qdwIW)
	g.MOVQ(a.field(t, "O", 0), qdwOutEnd)
	g.ADDQ(a.field(t, "O", 8), qdwOutEnd)
	g.SUBQ(operand.U32(16), qdwOutEnd) // the last place 16 bytes fit
	// K1: the last strip's OW - 16*((OW-1)/16) outputs
	g.MOVQ(a.field(t, "OW", 0), tmp)
	g.DECQ(tmp)
	g.ANDQ(operand.U32(15), tmp)
	g.INCQ(tmp)
	g.MOVL(operand.U32(0xffff), tmp2.As32())
	g.BZHIQ(tmp, tmp2, tmp2)
	g.KMOVW(tmp2.As32(), reg.K1)
	g.XORQ(qdwC, qdwC)

	c, group := qdwC, qdwGroup
	chanLoop, groupLoop, nextGroup, done := g.label("chan"), g.label("group"), g.label("nextgroup"), g.label("done")
	g.Label(chanLoop)
	g.CMPQ(c, a.field(t, "C", 0))
	g.JGE(operand.LabelRef(done))
	g.MOVQ(a.field(t, "W", 0), tmp)
	g.LEAQ(mem(c, 0, c, 2), tmp2) // 3c: the taps at 12c = 4*(3c)
	for r, w := range qdwTaps {
		g.VPBROADCASTD(mem(tmp, 4*r, tmp2, 4), w)
	}
	g.MOVQ(a.field(t, "Offset", 0), tmp)
	g.VPBROADCASTD(mem(tmp, 0, c, 4), qdwOffset)
	g.MOVQ(a.field(t, "Scale", 0), tmp)
	g.VBROADCASTSS(mem(tmp, 0, c, 4), qdwScale)
	g.MOVQ(a.field(t, "In", 0), tmp)
	g.MOVQ(mem(tmp, 0, tmp2, 8), qdwIn) // In[c]: header at 24c = 8*(3c)
	e.lastGroup(group)                  // the last group first, then 0, qdwStrips, ...

	// the group's strips: min(qdwStrips, (OW-1)/16 + 1 - group)
	g.Label(groupLoop)
	g.MOVQ(a.field(t, "OW", 0), tmp)
	g.DECQ(tmp)
	g.SHRQ(operand.U8(4), tmp)
	g.INCQ(tmp)
	g.SUBQ(group, tmp)
	groups := make([]string, qdwStrips+1)
	for n := 1; n <= qdwStrips; n++ {
		groups[n] = g.label("strips")
		if n < qdwStrips {
			g.CMPQ(tmp, operand.Imm(uint64(n)))
			g.JE(operand.LabelRef(groups[n]))
		} else {
			g.JMP(operand.LabelRef(groups[n]))
		}
	}
	for n := 1; n <= qdwStrips; n++ {
		g.Label(groups[n])
		e.group(n)
		g.JMP(operand.LabelRef(nextGroup))
	}
	// after the last group (run first) comes group 0; the channel is done
	// at the last group again
	notLast, chanDone := g.label("notlast"), g.label("chandone")
	g.Label(nextGroup)
	e.lastGroup(tmp)
	g.CMPQ(group, tmp)
	g.JNE(operand.LabelRef(notLast))
	g.XORQ(group, group)
	g.TESTQ(tmp, tmp)
	g.JZ(operand.LabelRef(chanDone))
	g.JMP(operand.LabelRef(groupLoop))
	g.Label(notLast)
	g.ADDQ(operand.U32(qdwStrips), group)
	g.CMPQ(group, tmp)
	g.JNE(operand.LabelRef(groupLoop))
	g.Label(chanDone)
	g.INCQ(c)
	g.JMP(operand.LabelRef(chanLoop))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// Registers of the depthwise kernel (see its documentation).
var (
	qdwT, qdwIn, qdwIW, qdwCol, qdwY, qdwOut            = reg.RDI, reg.RSI, reg.R8, reg.R9, reg.R10, reg.RDX
	qdwGroup, qdwRows, qdwC, qdwOutEnd, qdwTmp, qdwTmp2 = reg.RBX, reg.RCX, reg.R11, reg.R12, reg.RAX, reg.R13

	qdwTaps                                             = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2}
	qdwPerm, qdwOffset, qdwScale, qdwLo, qdwHi, qdwZero = reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8
	qdwInZero                                           = reg.Z10
	qdwAcc                                              = []reg.VecPhysical{reg.Z9, reg.Z11, reg.Z12, reg.Z13}
	qdwInMask                                           = []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5}
)

// qdwEmitter emits the parts of the depthwise kernel.
type qdwEmitter struct{ g *gen }

// win is row r of the window of strip j.
func (qdwEmitter) win(r, j int) reg.VecPhysical { return avx512.regs[16+qdwStrips*r+j] }

// lastGroup sets r to the first strip of the last group.
func (e qdwEmitter) lastGroup(r reg.GPPhysical) {
	g, a := e.g, qdwConvBlock
	g.MOVQ(a.field(qdwT, "OW", 0), r)
	g.DECQ(r)
	g.SHRQ(operand.U8(4), r)
	g.ANDQ(operand.I32(-qdwStrips), r)
}

// loadRow sets window row r of strips j < n to the tap quads of input row
// y+dy (the zero point outside the plane).
func (e qdwEmitter) loadRow(r, dy, n, stride int) {
	g, a, tmp := e.g, qdwConvBlock, qdwTmp
	outside := g.label("outside")
	for j := range n {
		g.VMOVDQA32(qdwInZero, e.win(r, j))
	}
	g.LEAQ(at(qdwY, dy), tmp)
	g.CMPQ(tmp, operand.Imm(0))
	g.JL(operand.LabelRef(outside))
	g.CMPQ(tmp, a.field(qdwT, "IH", 0))
	g.JGE(operand.LabelRef(outside))
	g.IMULQ(qdwIW, tmp)
	g.ADDQ(qdwIn, tmp)
	for j := range n {
		g.VMOVDQU8(mem(tmp, 16*stride*j, qdwCol, 1), qdwInMask[j], e.win(r, j))
		g.VPERMB(e.win(r, j), qdwPerm, e.win(r, j))
	}
	g.Label(outside)
}

// group emits a group of n strips from strip qdwGroup: its input masks
// and first output, then its rows at stride 1 or 2.
func (e qdwEmitter) group(n int) {
	g, a, t, tmp, tmp2 := e.g, qdwConvBlock, qdwT, qdwTmp, qdwTmp2
	out, col, x := qdwOut, qdwCol, qdwY
	// the output: O + (c*OH*OW) + 16*group
	g.MOVQ(qdwGroup, tmp2)
	g.SHLQ(operand.U8(4), tmp2)
	g.MOVQ(a.field(t, "OH", 0), out)
	g.IMULQ(a.field(t, "OW", 0), out)
	g.IMULQ(qdwC, out)
	g.ADDQ(a.field(t, "O", 0), out)
	g.ADDQ(tmp2, out)
	// col = 16*group*Stride - PadLeft
	g.MOVQ(tmp2, col)
	g.IMULQ(a.field(t, "Stride", 0), col)
	g.SUBQ(a.field(t, "PadLeft", 0), col)
	// strip j's mask: the bytes x+b inside the plane, 0 <= x+b < IW, b <
	// 64, x = col + 16*j*Stride: the low clamp(IW-x, 0, 64) bits, less
	// the low max(-x, 0)
	g.MOVQ(col, x)
	for j := range n {
		if j > 0 {
			g.MOVQ(a.field(t, "Stride", 0), tmp)
			g.SHLQ(operand.U8(4), tmp)
			g.ADDQ(tmp, x)
		}
		g.MOVQ(qdwIW, tmp)
		g.SUBQ(x, tmp)
		g.XORQ(tmp2, tmp2)
		g.CMPQ(tmp, tmp2)
		g.CMOVQLT(tmp2, tmp)
		g.MOVQ(operand.I32(-1), tmp2)
		g.BZHIQ(tmp, tmp2, tmp)
		noLow := g.label("nolow")
		g.MOVQ(x, tmp2)
		g.NEGQ(tmp2)
		g.JLE(operand.LabelRef(noLow))
		g.SHRXQ(tmp2, tmp, tmp)
		g.SHLXQ(tmp2, tmp, tmp)
		g.Label(noLow)
		g.KMOVQ(tmp, qdwInMask[j])
	}
	// the window at the first output row
	g.MOVQ(a.field(t, "PadTop", 0), qdwY)
	g.NEGQ(qdwY)
	g.MOVQ(a.field(t, "OH", 0), qdwRows)
	s1, s2, end := g.label("s1_"), g.label("s2_"), g.label("groupdone")
	g.CMPQ(a.field(t, "Stride", 0), operand.Imm(1))
	g.JNE(operand.LabelRef(s2))
	for _, stride := range []int{1, 2} {
		g.Label(map[int]string{1: s1, 2: s2}[stride])
		for r := range 3 {
			e.loadRow(r, r, n, stride)
		}
		rowLoop := g.label("row")
		g.Label(rowLoop)
		e.row(n)
		g.ADDQ(a.field(t, "OW", 0), out)
		g.DECQ(qdwRows)
		g.JZ(operand.LabelRef(end))
		// slide the window down by the stride
		if stride == 1 {
			for j := range n {
				g.VMOVDQA32(e.win(1, j), e.win(0, j))
				g.VMOVDQA32(e.win(2, j), e.win(1, j))
			}
			e.loadRow(2, 3, n, stride)
			g.INCQ(qdwY)
		} else {
			for j := range n {
				g.VMOVDQA32(e.win(2, j), e.win(0, j))
			}
			e.loadRow(1, 3, n, stride)
			e.loadRow(2, 4, n, stride)
			g.ADDQ(operand.U32(2), qdwY)
		}
		g.JMP(operand.LabelRef(rowLoop))
	}
	g.Label(end)
}

// row emits one output row of n strips: the window's quads against the
// taps, the requantisation of every strip, their stores.
func (e qdwEmitter) row(n int) {
	g, out, acc := e.g, qdwOut, qdwAcc[:n]
	for _, v := range acc {
		g.VMOVDQA32(qdwOffset, v)
	}
	for r, w := range qdwTaps {
		for j, v := range acc {
			g.encode(vpdpbusd(w, e.win(r, j), v))
		}
	}
	for _, op := range []func(v reg.VecPhysical){
		func(v reg.VecPhysical) { g.VCVTDQ2PS(v, v) },
		func(v reg.VecPhysical) { g.VMULPS(qdwScale, v, v) },
		func(v reg.VecPhysical) { g.VMAXPS(qdwLo, v, v) },
		func(v reg.VecPhysical) { g.VMINPS(qdwHi, v, v) },
		func(v reg.VecPhysical) { g.VCVTPS2DQ(v, v) },
		func(v reg.VecPhysical) { g.VPADDD(qdwZero, v, v) },
		func(v reg.VecPhysical) { g.VPMOVDB(v, v.AsX()) },
	} {
		for _, v := range acc {
			op(v)
		}
	}
	for j, v := range acc[:n-1] {
		g.VMOVDQU(v.AsX(), at(out, 16*j))
	}
	// the last strip: masked only past the end of O
	last := acc[n-1].AsX()
	masked, stored := g.label("masked"), g.label("stored")
	g.LEAQ(at(out, 16*(n-1)), qdwTmp)
	g.CMPQ(qdwTmp, qdwOutEnd)
	g.JA(operand.LabelRef(masked))
	g.VMOVDQU(last, at(qdwTmp, 0))
	g.JMP(operand.LabelRef(stored))
	g.Label(masked)
	g.VMOVDQU8(last, reg.K1, at(qdwTmp, 0))
	g.Label(stored)
}
