package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// Small-plane 3x3 depthwise kernels: runtime.DWConv for the 7x7 and 14x14
// planes of MobileNetV2's late layers, where the row-by-row plane kernels
// (dwplane.go) spend most of a vector on padding lanes and most of their
// time on per-row work.
//
// The flat kernels (stride 1, OW == IW) treat a channel's output plane as
// one vector of OH*OW floats: output p = r*OW + j reads tap (y, x) at
// input p + (y-PadTop)*IW + (x-PadLeft), a constant offset per tap, so a
// plane is ceil(OH*OW/lanes) vectors of nine masked loads and FMAs each.
// A tap's mask drops the lanes whose input column wraps into the next or
// previous row and those whose input row is outside the plane (the
// masked loads suppress faults there, so no padded copy is made). On
// AVX-512 the interior vectors, whose taps all read inside the plane,
// load each tap row once and shift it (VALIGND) for the other columns,
// masking the columns only. Larger planes are left to the plane kernels:
// at 24x24 and 28x28 (MobileNetV2's 192 channels run 4 per call) the
// masks of a call's 36..49 vectors cost more than the full-width rows
// save.
//
// The two-row kernel (stride 2, OW <= 7) packs output rows 2v and 2v+1
// into the low 2*OW lanes of vector v: it loads the five input rows of
// the pair once (masked to the row's columns), and makes each tap's
// inputs with one two-table permutation of rows y and y+2.
//
// Both sum each output exactly as the plane kernels do (the DWConv
// contract): per kernel row a partial sum, the tap x = 0 a product and
// x = 1, 2 fused multiply-adds, added as (p0 + p1) + p2, padding taps as
// products with zero. Their results are bit-identical to the plane
// kernels', for any split of the channels or rows between calls.
type dwSmallKernel struct {
	isa    *vecISA
	stride int // 1: flat, 2: two rows per vector
}

// dwSmallKernels is the table the small-plane kernels and their
// registration are generated from. AVX2 has no two-row kernel: 8 lanes
// hold two rows of at most 3 outputs.
var dwSmallKernels = []dwSmallKernel{
	{avx512, 1}, {avx512, 2},
	{avx2, 1},
}

// Shape limits of the small-plane kernels (their frames hold per-vector
// masks for at most this many vectors; past 20x20 the flat kernels lose
// to the plane kernels).
const (
	dwFlatMaxOut = 256 // flat: the most outputs per plane, OH*OW
	dw2RowMaxOW  = 7   // two-row: 2*OW+1 input columns fit 16 lanes
	dw2RowMaxOH  = 32  // two-row: 16 row pairs
)

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k dwSmallKernel) names() naming.Kernel {
	variant := "Flat"
	if k.stride == 2 {
		variant = "2Row"
	}
	return naming.Kernel{Op: "dwconv", Variant: variant, MinMax: true, Shape: fmt.Sprintf("3x3s%d", k.stride), ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k dwSmallKernel) Name() string   { return k.names().Name() }
func (k dwSmallKernel) GoName() string { return k.names().GoName() }

// Fits returns the Go condition on a *DWConv named a under which the
// kernel runs it, for the registry.
func (k dwSmallKernel) Fits() string {
	if k.stride == 1 {
		return fmt.Sprintf("a.Stride == 1 && a.OW == a.IW && a.IH > 0 && a.OH*a.OW <= %d", dwFlatMaxOut)
	}
	return fmt.Sprintf("a.Stride == 2 && a.IH > 0 && a.OW <= %d && a.OH <= %d", dw2RowMaxOW, dw2RowMaxOH)
}

// maxVectors is the most vectors of a plane (flat) or row pairs
// (two-row).
func (k dwSmallKernel) maxVectors() int {
	if k.stride == 1 {
		return dwFlatMaxOut / k.isa.lanes
	}
	return dw2RowMaxOH / 2
}

// Stack frame of the small-plane kernels (offsets in bytes): loop state,
// on AVX2 the broadcast constants of the mask computation, then one mask
// slot per vector.
const (
	sfC        = 0  // channels left
	sfOStr     = 8  // OStride*4
	sfEnd      = 16 // the vector loop's end: slots (AVX-512) or data offset (AVX2)
	sfOff      = 24 // flat: the byte offsets of tap rows y = 0, 1, 2; two-row: of input row 0
	sfStep     = 48 // two-row: output bytes per vector
	sfInner    = 48 // flat AVX-512: the interior vectors' start and end (slot offsets)
	sfInnerEnd = 56
	sfConst    = 64 // AVX2: 32-byte broadcast constants, dsConsts of them
)

// AVX2 broadcast constants of the flat mask computation (index into the
// sfConst area).
const (
	dcN     = iota // OH*OW
	dcIWf          // float32(IW)
	dcIW           // IW
	dcIHm1         // IH-1
	dcIWm1         // IW-1
	dcHalf         // 0.5
	dcPTy          // PadTop - y, y = 0, 1, 2
	dcPLx   = dcPTy + 3
	dcStep  = dcPLx + 3 // lanes
	dsConst = dcStep + 1
)

// slotSize is the size of a vector's mask slot. AVX-512 masks are
// 16-bit words packed four to a quadword, which one KMOVQ loads and
// KSHIFTRQ unpacks (faster than a KMOVW from memory per mask): two-row,
// [out, row 0, row 1, row 2] [row 3, row 4]; flat, padded to a vector so
// that the vector's data offset indexes it,
// [out, col 0, col 1, col 2] for interior vectors, then for the others
// [out, tap (0,0), (1,0), (2,0)] [(0,1), (1,1), (2,1)] [(0,2), (1,2),
// (2,2)], the taps of a column together. AVX2 masks are vectors: out,
// then the nine taps (y, x) at 1+3y+x.
func (k dwSmallKernel) slotSize() int {
	switch {
	case k.stride == 2:
		return 16
	case k.isa == avx512:
		return 64
	}
	return 10 * k.isa.bytes()
}

func (k dwSmallKernel) masksAt() int {
	if k.isa == avx2 {
		return sfConst + dsConst*k.isa.bytes()
	}
	return sfConst
}

func (k dwSmallKernel) frameSize() int {
	return k.masksAt() + k.maxVectors()*k.slotSize()
}

// General-purpose registers of the main loops.
var (
	sT    = reg.RDI // *DWConv
	sIn   = reg.RSI // the current channel's In slice header
	sW    = reg.R11 // the current channel's taps
	sBias = reg.RBX // the current channel's bias
	sOut  = reg.R12 // the current channel's output plane
	sRes  = reg.R13 // the current channel's residual plane, 0 without one
	sOff  = reg.RCX // the vector's data offset (flat) or output offset (two-row)
	sEnd  = reg.RDX // flat: the loop's end; two-row: the slot offset
	// flat: the three tap rows' inputs (R8 R9 R10); two-row: input row
	// 0 of the pair (R8), 4*IW (R9), row 2 (R10)
	sRows = []reg.GPPhysical{reg.R8, reg.R9, reg.R10}
)

// Vector registers of the main loops: taps Z0..Z8/Y0..Y8, then per ISA.
func (k dwSmallKernel) w(i int) reg.VecPhysical { return k.isa.regs[i] }

// AVX-512: Z9 the bias, Z10/Z11 Lo/Hi; AVX2: Y9/Y10 Lo/Hi (the bias is
// broadcast in the epilogue).
func (k dwSmallKernel) bias() reg.VecPhysical { return k.isa.regs[9] }
func (k dwSmallKernel) lo() reg.VecPhysical {
	if k.isa == avx2 {
		return k.isa.regs[9]
	}
	return k.isa.regs[10]
}
func (k dwSmallKernel) hi() reg.VecPhysical {
	if k.isa == avx2 {
		return k.isa.regs[10]
	}
	return k.isa.regs[11]
}

// part returns the partial sum of kernel row y: Z20..Z22 (two-row),
// Z12..Z14 (flat AVX-512), Y11..Y13 (AVX2).
func (k dwSmallKernel) part(y int) reg.VecPhysical {
	switch {
	case k.stride == 2:
		return k.isa.regs[20+y]
	case k.isa == avx512:
		return k.isa.regs[12+y]
	}
	return k.isa.regs[11+y]
}

// in returns the register tap (y, x)'s inputs are loaded into: Z15..Z23
// (flat AVX-512), Z23..Z31 (two-row), Y14 (AVX2).
func (k dwSmallKernel) in(y, x int) reg.VecPhysical {
	switch {
	case k.stride == 2:
		return k.isa.regs[23+3*y+x]
	case k.isa == avx512:
		return k.isa.regs[15+3*y+x]
	}
	return k.isa.regs[14]
}

// Two-row: the permutation indices of tap columns x = 0, 1, 2 (Z12..Z14)
// and the five loaded input rows (Z15..Z19).
func (k dwSmallKernel) idx(x int) reg.VecPhysical   { return k.isa.regs[12+x] }
func (k dwSmallKernel) inRow(y int) reg.VecPhysical { return k.isa.regs[15+y] }
func (k dwSmallKernel) avx2Mask() reg.VecPhysical   { return k.isa.regs[15] }

func (k dwSmallKernel) registerDoc() []string {
	switch {
	case k.stride == 2:
		return []string{
			"Registers: Z0..Z8 the nine taps, Z9 the bias, Z10/Z11 Lo/Hi, Z12..Z14 the",
			"permutations of tap columns 0..2, Z15..Z19 the pair's five input rows,",
			"Z20..Z22 the partial sums, Z23..Z31 the permuted inputs; K1 the valid",
			"outputs, K2..K6 the valid inputs of the rows; DI *DWConv, SI the In row",
			"table, R11 the taps, BX the bias, R12/R13 the output/residual plane, CX",
			"the pair's output offset, DX its mask slot, R8 its first input row, R9",
			"4*IW, R10 its third row, AX scratch; the frame holds the loop state and",
			"the per-pair masks.",
		}
	case k.isa == avx512:
		return []string{
			"Registers: Z0..Z8 the nine taps, Z9 the bias, Z10/Z11 Lo/Hi, Z12..Z14 the",
			"partial sums of kernel rows 0..2, Z15..Z23 the taps' inputs, Z24..Z26 an",
			"interior vector's tap rows and Z27..Z29 the two inputs after them; K1",
			"the valid outputs (low word), K2..K7 the taps' valid inputs; DI *DWConv,",
			"SI the In row table, R11 the taps, BX the bias, R12/R13 the",
			"output/residual plane, R8 R9 R10 the inputs of tap rows 0..2 (offset by",
			"the tap's row and padding), CX the vector's offset in the data and the",
			"mask slots, DX the loop's end, AX scratch; the frame holds the loop",
			"state and the per-vector masks.",
		}
	}
	return []string{
		"Registers: Y0..Y8 the nine taps, Y9/Y10 Lo/Hi, Y11..Y13 the partial sums",
		"of kernel rows 0..2, Y14 the loaded inputs and the bias, Y15 lane masks",
		"(X15 is scratch in ABI0 and the caller re-zeroes it); DI *DWConv, SI the",
		"In row table, R11 the taps, BX the bias, R12/R13 the output/residual",
		"plane, R8 R9 R10 the inputs of tap rows 0..2, CX the vector's data",
		"offset, DX the loop's end, AX the vector's mask slot; the frame holds",
		"the loop state, the mask computation's constants and the per-vector",
		"masks.",
	}
}

var dwSmallIota = operand.NewStaticSymbol("dwSmallIota") // int32 0..15

func buildDWSmall(g *gen) {
	g.StaticGlobal(dwSmallIota.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 16 {
		g.AppendDatum(operand.U32(i))
	}
	for _, k := range dwSmallKernels {
		k.emit(g)
	}
}

func (k dwSmallKernel) emit(g *gen) {
	var doc []string
	if k.stride == 1 {
		doc = []string{
			fmt.Sprintf("%s is %s: the DWConv contract at Stride 1", k.GoName(), k.Name()),
			fmt.Sprintf("for OW == IW and OH*OW <= %d, each plane a flat vector of OH*OW", dwFlatMaxOut),
			fmt.Sprintf("outputs, %d per register, tap (y, x) a masked load at a constant offset;", k.isa.lanes),
		}
	} else {
		doc = []string{
			fmt.Sprintf("%s is %s: the DWConv contract at Stride 2", k.GoName(), k.Name()),
			fmt.Sprintf("for OW <= %d and OH <= %d, output rows 2v and 2v+1 in the low 2*OW lanes", dw2RowMaxOW, dw2RowMaxOH),
			"of a register, each tap a two-table permutation of two loaded input rows;",
		}
	}
	doc = append(doc, "per kernel row a partial sum (a product, then fused multiply-adds), added",
		"as (p0+p1)+p2, padding read as zeros.")
	g.framedFunction(k.GoName(), dwConvBlock, k.frameSize(), append(doc, k.registerDoc()...)...) // the mask slots
	g.Comment(k.registerDoc()...)
	g.Load(g.Param("t"), sT)
	done := g.label("done")
	g.CMPQ(dwConvBlock.field(sT, "C", 0), operand.Imm(0))
	g.JLE(operand.LabelRef(done))
	switch {
	case k.stride == 2:
		k.pairMasks(g)
	case k.isa == avx512:
		k.flatMasks512(g)
	default:
		k.flatMasks2(g)
	}
	k.channels(g)
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// bcast broadcasts the low 32 bits of GP register r to every lane of v.
func (k dwSmallKernel) bcast(g *gen, r reg.GPPhysical, v reg.VecPhysical) {
	if k.isa == avx512 {
		g.VPBROADCASTD(r.As32(), v)
		return
	}
	g.VMOVD(r.As32(), v.AsX())
	g.VPBROADCASTD(v.AsX(), v)
}

// flatMasks512 fills the AVX-512 flat mask slots: for vector v, lanes
// p = 16v+i, r = p / OW and col = p % OW (OW == IW; the quotient through
// float32, exact for p < 2^12), the output mask p < OH*OW, the column
// masks 0 <= col-PadLeft+x < IW and the mask of tap (y, x): the output
// mask, 0 <= r-PadTop+y < IH and column x's (unsigned compares).
func (k dwSmallKernel) flatMasks512(g *gen) {
	a := dwConvBlock
	ax, cx := reg.RAX, reg.RCX
	z := k.isa.regs
	n, iwf, iw, ih, half, step, p := z[13], z[14], z[15], z[16], z[17], z[24], z[25]
	r, col, iy := z[26], z[27], z[31]
	ptY := func(y int) reg.VecPhysical { return z[18+y] }
	plX := func(x int) reg.VecPhysical { return z[21+x] }
	ix := func(x int) reg.VecPhysical { return z[28+x] }

	g.MOVQ(a.field(sT, "OH", 0), ax)
	g.IMULQ(a.field(sT, "OW", 0), ax)
	k.bcast(g, ax, n)
	g.ADDQ(operand.U32(15), ax)
	g.SHRQ(operand.U8(4), ax)
	g.SHLQ(operand.U8(6), ax) // vectors * 64: the slots' end
	g.MOVQ(ax, local(sfEnd))
	g.MOVQ(a.field(sT, "IW", 0), ax)
	k.bcast(g, ax, iw)
	g.VCVTDQ2PS(iw, iwf)
	g.MOVQ(a.field(sT, "IH", 0), ax)
	k.bcast(g, ax, ih)
	g.MOVL(operand.U32(0x3f000000), ax.As32()) // 0.5
	k.bcast(g, ax, half)
	for y := range 3 {
		g.MOVQ(a.field(sT, "PadTop", 0), ax)
		if y > 0 {
			g.SUBQ(operand.U32(y), ax)
		}
		k.bcast(g, ax, ptY(y))
	}
	for x := range 3 {
		g.MOVQ(a.field(sT, "PadLeft", 0), ax)
		if x > 0 {
			g.SUBQ(operand.U32(x), ax)
		}
		k.bcast(g, ax, plX(x))
	}
	g.MOVL(operand.U32(16), ax.As32())
	k.bcast(g, ax, step)
	g.VMOVDQU32(operand.NewDataAddr(dwSmallIota, 0), p)
	k.flatRowOffsets(g)
	g.XORQ(cx, cx)
	loop := g.label("masks")
	g.Label(loop)
	g.VCVTDQ2PS(p, r)
	g.VADDPS(half, r, r)
	g.VDIVPS(iwf, r, r)
	g.VCVTTPS2DQ(r, r) // row: floor((p+0.5)/IW)
	g.VPMULLD(iw, r, col)
	g.VPSUBD(col, p, col)
	for x := range 3 {
		g.VPSUBD(plX(x), col, ix(x)) // input column col-PadLeft+x
	}
	word := func(i int) operand.Mem { return mem(reg.RSP, k.masksAt()+2*i, cx, 1) }
	g.VPCMPD(operand.U8(1), n, p, reg.K1) // p < OH*OW
	g.KMOVW(reg.K1, word(0))
	g.KMOVW(reg.K1, word(4))
	for x := range 3 {
		g.VPCMPUD(operand.U8(1), iw, ix(x), reg.K3) // inside [0, IW)
		g.KMOVW(reg.K3, word(1+x))
	}
	for y := range 3 {
		g.VPSUBD(ptY(y), r, iy)                          // input row r-PadTop+y
		g.VPCMPUD(operand.U8(1), ih, iy, reg.K1, reg.K2) // inside [0, IH)
		for x := range 3 {
			g.VPCMPUD(operand.U8(1), iw, ix(x), reg.K2, reg.K3)
			g.KMOVW(reg.K3, word(k.flatTapWord(y, x)))
		}
	}
	g.VPADDD(step, p, p)
	g.ADDQ(operand.U32(64), cx)
	g.CMPQ(cx, local(sfEnd))
	g.JL(operand.LabelRef(loop))
	k.flatInterior(g)
}

// flatTapWord is the word of tap (y, x)'s mask in a flat AVX-512 slot.
func (k dwSmallKernel) flatTapWord(y, x int) int {
	if x == 0 {
		return 5 + y
	}
	return 4 + 4*x + y
}

// flatInterior stores the slot offsets [v0, v1)*64 of the interior
// vectors: those whose every tap reads all 16 lanes inside the plane,
// 0 <= 16v - PadTop*IW - PadLeft and 16v + 15 + (2-PadTop)*IW + 2 -
// PadLeft < IH*IW, so that only the columns need masks (an input inside
// the plane whose column is inside the row is inside its row too).
func (k dwSmallKernel) flatInterior(g *gen) {
	a := dwConvBlock
	ax, bx, cx := reg.RAX, reg.RBX, reg.RCX
	// v0 = ceil((PadTop*IW + PadLeft) / 16), at most the vectors
	g.MOVQ(a.field(sT, "PadTop", 0), ax)
	g.IMULQ(a.field(sT, "IW", 0), ax)
	g.ADDQ(a.field(sT, "PadLeft", 0), ax)
	g.ADDQ(operand.U32(15), ax)
	g.SHRQ(operand.U8(4), ax)
	g.SHLQ(operand.U8(6), ax)
	g.MOVQ(local(sfEnd), cx)
	g.minQ(ax, cx)
	g.MOVQ(ax, local(sfInner))
	// v1 = floor((IH*IW - 18 - (2-PadTop)*IW + PadLeft) / 16) + 1, in
	// [v0, vectors]
	g.MOVQ(a.field(sT, "IH", 0), bx)
	g.ADDQ(a.field(sT, "PadTop", 0), bx)
	g.SUBQ(operand.U32(2), bx)
	g.IMULQ(a.field(sT, "IW", 0), bx)
	g.ADDQ(a.field(sT, "PadLeft", 0), bx)
	g.SUBQ(operand.U32(18), bx)
	g.SARQ(operand.U8(4), bx)
	g.INCQ(bx)
	g.SHLQ(operand.U8(6), bx)
	g.minQ(bx, cx)
	g.maxQ(bx, ax)
	g.MOVQ(bx, local(sfInnerEnd))
}

// flatRowOffsets stores the byte offsets of tap rows y = 0, 1, 2 from an
// output's own position: 4*((y-PadTop)*IW - PadLeft).
func (k dwSmallKernel) flatRowOffsets(g *gen) {
	a := dwConvBlock
	ax := reg.RAX
	for y := range 3 {
		g.MOVQ(operand.U32(y), ax)
		g.SUBQ(a.field(sT, "PadTop", 0), ax)
		g.IMULQ(a.field(sT, "IW", 0), ax)
		g.SUBQ(a.field(sT, "PadLeft", 0), ax)
		g.SHLQ(operand.U8(2), ax)
		g.MOVQ(ax, local(sfOff+8*y))
	}
}

// flatMasks2 fills the AVX2 flat mask slots as flatMasks512 does, with
// lane masks: unsigned u < n as minu(u, n-1) == u, the constants
// broadcast into the frame.
func (k dwSmallKernel) flatMasks2(g *gen) {
	a := dwConvBlock
	ax, cx := reg.RAX, reg.RCX
	y := k.isa.regs
	c := func(i int) operand.Mem { return local(sfConst + 32*i) }
	tmp := y[15]
	put := func(i int) {
		k.bcast(g, ax, tmp)
		g.VMOVDQU(tmp, c(i))
	}
	g.MOVQ(a.field(sT, "OH", 0), ax)
	g.IMULQ(a.field(sT, "OW", 0), ax)
	put(dcN)
	g.ADDQ(operand.U32(7), ax)
	g.SHRQ(operand.U8(3), ax)
	g.SHLQ(operand.U8(5), ax) // vectors * 32: the data end
	g.MOVQ(ax, local(sfEnd))
	g.MOVQ(a.field(sT, "IW", 0), ax)
	put(dcIW)
	g.VCVTDQ2PS(tmp, tmp)
	g.VMOVUPS(tmp, c(dcIWf))
	g.DECQ(ax)
	put(dcIWm1)
	g.MOVQ(a.field(sT, "IH", 0), ax)
	g.DECQ(ax)
	put(dcIHm1)
	g.MOVL(operand.U32(0x3f000000), ax.As32())
	put(dcHalf)
	for i := range 3 {
		g.MOVQ(a.field(sT, "PadTop", 0), ax)
		if i > 0 {
			g.SUBQ(operand.U32(i), ax)
		}
		put(dcPTy + i)
		g.MOVQ(a.field(sT, "PadLeft", 0), ax)
		if i > 0 {
			g.SUBQ(operand.U32(i), ax)
		}
		put(dcPLx + i)
	}
	g.MOVL(operand.U32(8), ax.As32())
	put(dcStep)

	p, r, col, out := y[0], y[1], y[2], y[3]
	ix := func(x int) reg.VecPhysical { return y[4+x] }
	iy, t := y[8], y[9]
	g.VMOVDQU(operand.NewDataAddr(dwSmallIota, 0), p)
	g.XORQ(cx, cx)
	g.LEAQ(local(k.masksAt()), ax)
	loop := g.label("masks")
	g.Label(loop)
	g.VCVTDQ2PS(p, r)
	g.VADDPS(c(dcHalf), r, r)
	g.VDIVPS(c(dcIWf), r, r)
	g.VCVTTPS2DQ(r, r)
	g.VPMULLD(c(dcIW), r, col)
	g.VPSUBD(col, p, col)
	g.VMOVDQU(c(dcN), out)
	g.VPCMPGTD(p, out, out) // OH*OW > p
	g.VMOVDQU(out, at(ax, 0))
	for x := range 3 {
		g.VPSUBD(c(dcPLx+x), col, ix(x))
		g.VPMINUD(c(dcIWm1), ix(x), t)
		g.VPCMPEQD(t, ix(x), ix(x))
	}
	for yy := range 3 {
		g.VPSUBD(c(dcPTy+yy), r, iy)
		g.VPMINUD(c(dcIHm1), iy, t)
		g.VPCMPEQD(t, iy, iy)
		g.VPAND(out, iy, iy)
		for x := range 3 {
			g.VPAND(ix(x), iy, t)
			g.VMOVDQU(t, at(ax, 32*(1+3*yy+x)))
		}
	}
	g.VPADDD(c(dcStep), p, p)
	g.ADDQ(operand.U32(k.slotSize()), ax)
	g.ADDQ(operand.U32(32), cx)
	g.CMPQ(cx, local(sfEnd))
	g.JL(operand.LabelRef(loop))
	k.flatRowOffsets(g)
}

// pairMasks fills the two-row kernel's slots and permutations. Pair v
// (output rows 2v, 2v+1) stores min(2*OW, (OH-2v)*OW) valid outputs and
// reads input rows 4v-PadTop+y, y < 5, each as the 16 floats from column
// -PadLeft masked to the columns [0, IW) (all masked outside the plane).
// The permutation of tap column x takes lane l < OW from input 2l+x of
// the first register and lane OW+l from input 2l+x of the second.
func (k dwSmallKernel) pairMasks(g *gen) {
	a := dwConvBlock
	ax, bx, cx, dx, si, cols, all := reg.RAX, reg.RBX, reg.RCX, reg.RDX, reg.RSI, reg.R10, reg.R11
	g.MOVL(operand.U32(0xffff), all.As32())
	// columns [PadLeft, min(IW+PadLeft, 16))
	g.MOVQ(a.field(sT, "IW", 0), cols)
	g.ADDQ(a.field(sT, "PadLeft", 0), cols)
	g.MOVQ(operand.U32(16), ax)
	g.minQ(cols, ax)
	g.BZHIL(cols.As32(), all.As32(), cols.As32())
	g.MOVQ(a.field(sT, "PadLeft", 0), ax)
	g.BZHIL(ax.As32(), all.As32(), ax.As32())
	g.ANDNL(cols.As32(), ax.As32(), cols.As32()) // cols &^ first(PadLeft)
	// the slots' end: ceil(OH/2) * 16
	g.MOVQ(a.field(sT, "OH", 0), ax)
	g.INCQ(ax)
	g.SHRQ(operand.U8(1), ax)
	g.SHLQ(operand.U8(4), ax)
	g.MOVQ(ax, local(sfEnd))
	g.XORQ(dx, dx) // slot offset
	g.XORQ(bx, bx) // 2v
	loop := g.label("masks")
	g.Label(loop)
	g.MOVQ(a.field(sT, "OH", 0), ax)
	g.SUBQ(bx, ax)
	g.IMULQ(a.field(sT, "OW", 0), ax)
	g.MOVQ(a.field(sT, "OW", 0), cx)
	g.SHLQ(operand.U8(1), cx)
	g.minQ(ax, cx)
	g.BZHIL(ax.As32(), all.As32(), ax.As32())
	g.MOVW(ax.As16(), mem(reg.RSP, k.masksAt(), dx, 1))
	g.MOVQ(bx, si)
	g.SHLQ(operand.U8(1), si) // 4v
	g.SUBQ(a.field(sT, "PadTop", 0), si)
	for y := range 5 {
		g.LEAQ(at(si, y), ax)
		g.XORQ(cx, cx)
		g.CMPQ(ax, a.field(sT, "IH", 0))
		g.CMOVQCS(cols, cx) // unsigned iy < IH: inside the plane
		g.MOVW(cx.As16(), mem(reg.RSP, k.masksAt()+2+2*y, dx, 1))
	}
	g.ADDQ(operand.U32(2), bx)
	g.ADDQ(operand.U32(16), dx)
	g.CMPQ(dx, local(sfEnd))
	g.JL(operand.LabelRef(loop))

	// the first input row's offset: -4*(PadTop*IW + PadLeft); pairs
	// advance 4 rows, the outputs 2*OW floats
	g.MOVQ(a.field(sT, "PadTop", 0), ax)
	g.IMULQ(a.field(sT, "IW", 0), ax)
	g.ADDQ(a.field(sT, "PadLeft", 0), ax)
	g.SHLQ(operand.U8(2), ax)
	g.NEGQ(ax)
	g.MOVQ(ax, local(sfOff))
	g.MOVQ(a.field(sT, "OW", 0), ax)
	g.SHLQ(operand.U8(3), ax)
	g.MOVQ(ax, local(sfStep))

	// permutations: lane l < OW: 2l + x; lane l >= OW: 16 + 2(l-OW) + x
	iota, t := k.idx(0), k.inRow(0)
	g.VMOVDQU32(operand.NewDataAddr(dwSmallIota, 0), iota)
	g.MOVQ(a.field(sT, "OW", 0), ax)
	k.bcast(g, ax, t)
	g.VPCMPD(operand.U8(5), t, iota, reg.K1) // l >= OW
	g.VPADDD(iota, iota, iota)
	g.SHLQ(operand.U8(1), ax)
	g.NEGQ(ax)
	g.ADDQ(operand.U32(16), ax)
	k.bcast(g, ax, t)
	g.VPADDD(t, iota, reg.K1, iota)
	g.MOVL(operand.U32(1), ax.As32())
	k.bcast(g, ax, t)
	g.VPADDD(t, k.idx(0), k.idx(1))
	g.VPADDD(t, k.idx(1), k.idx(2))
}

// channels emits the loop over the channels: each channel's taps and
// bias, its input pointers, and its vectors (with and without a
// residual).
func (k dwSmallKernel) channels(g *gen) {
	a := dwConvBlock
	ax := reg.RAX
	g.VBROADCASTSS(a.field(sT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(sT, "Hi", 0), k.hi())
	g.MOVQ(a.field(sT, "C", 0), ax)
	g.MOVQ(ax, local(sfC))
	g.MOVQ(a.field(sT, "OStride", 0), ax)
	g.SHLQ(operand.U8(2), ax)
	g.MOVQ(ax, local(sfOStr))
	g.MOVQ(a.field(sT, "In", 0), sIn)
	g.MOVQ(a.field(sT, "W", 0), sW)
	g.MOVQ(a.field(sT, "Bias", 0), sBias)
	g.MOVQ(a.field(sT, "O", 0), sOut)
	g.MOVQ(a.field(sT, "Res", 0), sRes)
	if k.stride == 2 {
		g.MOVQ(a.field(sT, "IW", 0), sRows[1])
		g.SHLQ(operand.U8(2), sRows[1])
	}

	chanLoop := g.label("channel")
	g.Label(chanLoop)
	for i := range 9 {
		g.VBROADCASTSS(at(sW, 4*i), k.w(i))
	}
	if k.isa == avx512 {
		g.VBROADCASTSS(at(sBias, 0), k.bias())
	}
	g.MOVQ(at(sIn, 0), ax) // the channel's plane
	if k.stride == 1 {
		for y, r := range sRows {
			g.MOVQ(local(sfOff+8*y), r)
			g.ADDQ(ax, r)
		}
		g.MOVQ(local(sfEnd), sEnd)
		if k.isa == avx2 {
			g.LEAQ(local(k.masksAt()), ax)
		}
	} else {
		g.MOVQ(local(sfOff), sRows[0])
		g.ADDQ(ax, sRows[0])
		g.XORQ(sEnd, sEnd)
	}
	g.XORQ(sOff, sOff)
	g.ifNotNil(sRes, func(res bool) { k.vectors(g, res) })

	g.ADDQ(operand.U32(sliceHeader), sIn)
	g.ADDQ(operand.U32(36), sW)
	g.ADDQ(operand.U32(4), sBias)
	g.MOVQ(local(sfOStr), ax)
	g.ADDQ(ax, sOut)
	resOK := g.label("resok")
	g.TESTQ(sRes, sRes)
	g.JZ(operand.LabelRef(resOK))
	g.ADDQ(ax, sRes)
	g.Label(resOK)
	g.DECQ(local(sfC))
	g.JNZ(operand.LabelRef(chanLoop))
}

// vectors emits the loop over a channel's vectors.
func (k dwSmallKernel) vectors(g *gen, res bool) {
	if k.isa == avx512 && k.stride == 1 {
		// boundary vectors, interior ones, boundary ones
		for i, end := range []operand.Op{local(sfInner), local(sfInnerEnd), sEnd} {
			loop, next := g.label("vectors"), g.label("segment")
			g.CMPQ(sOff, end)
			g.JGE(operand.LabelRef(next))
			g.Label(loop)
			k.flat512(g, res, i == 1)
			g.ADDQ(operand.U32(64), sOff)
			g.CMPQ(sOff, end)
			g.JL(operand.LabelRef(loop))
			g.Label(next)
		}
		return
	}
	loop := g.label("vectors")
	g.Label(loop)
	switch {
	case k.stride == 2:
		k.pair(g, res)
		g.ADDQ(local(sfStep), sOff)
		g.LEAQ(mem(sRows[0], 0, sRows[1], 4), sRows[0])
		g.ADDQ(operand.U32(k.slotSize()), sEnd)
		g.CMPQ(sEnd, local(sfEnd))
	default:
		k.flat2(g, res)
		g.ADDQ(operand.U32(k.slotSize()), reg.RAX)
		g.ADDQ(operand.U32(32), sOff)
		g.CMPQ(sOff, sEnd)
	}
	g.JL(operand.LabelRef(loop))
}

// tap accumulates tap (y, x) of the inputs v into kernel row y's partial
// sum: a product for x = 0, else a fused multiply-add.
func (k dwSmallKernel) tap(g *gen, y, x int, v reg.VecPhysical) {
	if x == 0 {
		g.VMULPS(v, k.w(3*y), k.part(y))
		return
	}
	g.VFMADD231PS(v, k.w(3*y+x), k.part(y))
}

// flat512 emits one AVX-512 flat vector. In an interior vector each tap
// row's 16 inputs are loaded once with the 2 after them (all inside the
// plane), tap x = 0 is their copy and x = 1, 2 their shifts (VALIGND),
// under the column masks with zeroing: three loads instead of nine. A
// boundary vector loads each tap under its own mask (rows and columns),
// so that nothing outside the plane is read (masking the rows' loads
// instead, a KMOVD per row, is slower). The taps go column by
// column, the three partial sums' chains interleaved, then the epilogue.
// K1 gets the slot's first or second quadword, the output mask in its
// low word.
func (k dwSmallKernel) flat512(g *gen, res, interior bool) {
	quad := func(i int) operand.Mem { return mem(reg.RSP, k.masksAt()+8*i, sOff, 1) }
	row := func(y int) reg.VecPhysical { return k.isa.regs[24+y] }  // Z24..Z26
	next := func(y int) reg.VecPhysical { return k.isa.regs[27+y] } // Z27..Z29
	var masks [3][3]reg.OpmaskPhysical
	if interior {
		g.KMOVQ(quad(0), reg.K1)
		for x, m := range []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4} {
			g.KSHIFTRQ(operand.U8(16*(1+x)), reg.K1, m)
			masks[x] = [3]reg.OpmaskPhysical{m, m, m}
		}
	}
	for y := range 3 {
		if interior {
			g.VMOVUPS(mem(sRows[y], 0, sOff, 1), row(y))
			g.VMOVSD(mem(sRows[y], 64, sOff, 1), next(y).AsX())
		}
	}
	// boundary vectors: column x's quadword, K1 (the output mask, then
	// column 0), K5 (column 1), K2 (column 2), unpacked into K2..K7
	unpack := func(x int) {
		if interior {
			return
		}
		q := []reg.OpmaskPhysical{reg.K1, reg.K5, reg.K2}[x]
		dst := [][]reg.OpmaskPhysical{{reg.K2, reg.K3, reg.K4}, {reg.K5, reg.K6, reg.K7}, {reg.K2, reg.K3, reg.K4}}[x]
		g.KMOVQ(quad(1+x), q)
		for y := range 3 {
			if sh := k.flatTapWord(y, x) - 4*(1+x); sh > 0 {
				g.KSHIFTRQ(operand.U8(16*sh), q, dst[y])
			}
			masks[x][y] = dst[y]
		}
	}
	for x := range 3 {
		unpack(x)
		for y := range 3 {
			v := k.in(y, x)
			switch {
			case !interior:
				g.VMOVUPS_Z(mem(sRows[y], 4*x, sOff, 1), masks[x][y], v)
			case x == 0:
				g.VMOVAPS_Z(row(y), masks[x][y], v)
			default:
				g.VALIGND_Z(operand.U8(x), row(y), next(y), masks[x][y], v)
			}
			k.tap(g, y, x, v)
		}
	}
	k.epilogue512(g, res, mem(sOut, 0, sOff, 1), mem(sRes, 0, sOff, 1))
}

// flat2 emits one AVX2 flat vector (the slot at AX).
func (k dwSmallKernel) flat2(g *gen, res bool) {
	m, v := k.avx2Mask(), k.in(0, 0)
	for x := range 3 {
		for y := range 3 {
			g.VMOVUPS(at(reg.RAX, 32*(1+3*y+x)), m)
			g.VMASKMOVPS(mem(sRows[y], 4*x, sOff, 1), m, v)
			k.tap(g, y, x, v)
		}
	}
	acc := k.part(0)
	g.VADDPS(k.part(1), acc, acc)
	g.VADDPS(k.part(2), acc, acc)
	g.VBROADCASTSS(at(sBias, 0), v)
	g.VADDPS(v, acc, acc)
	g.VMOVUPS(at(reg.RAX, 0), m)
	if res {
		g.VMASKMOVPS(mem(sRes, 0, sOff, 1), m, v)
		g.VADDPS(v, acc, acc)
	}
	g.VMAXPS(acc, k.lo(), acc)
	g.VMINPS(acc, k.hi(), acc)
	g.VMASKMOVPS(acc, m, mem(sOut, 0, sOff, 1))
}

// pair emits one two-row vector: the five input rows, the nine permuted
// taps, the epilogue.
func (k dwSmallKernel) pair(g *gen, res bool) {
	quad := func(i int) operand.Mem { return mem(reg.RSP, k.masksAt()+8*i, sEnd, 1) }
	row0, iw4, row2 := sRows[0], sRows[1], sRows[2]
	g.LEAQ(mem(row0, 0, iw4, 2), row2)
	rows := []operand.Mem{at(row0, 0), mem(row0, 0, iw4, 1), mem(row0, 0, iw4, 2), mem(row2, 0, iw4, 1), mem(row0, 0, iw4, 4)}
	// K1: [out, row 0, row 1, row 2]; K5: [row 3, row 4]
	g.KMOVQ(quad(0), reg.K1)
	g.KMOVQ(quad(1), reg.K5)
	masks := []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5, reg.K6}
	for y := range 3 {
		g.KSHIFTRQ(operand.U8(16*(1+y)), reg.K1, masks[y])
	}
	g.KSHIFTRQ(operand.U8(16), reg.K5, masks[4])
	for y, src := range rows {
		g.VMOVUPS_Z(src, masks[y], k.inRow(y))
	}
	for x := range 3 {
		for y := range 3 {
			v := k.in(y, x)
			g.VMOVAPS(k.idx(x), v)
			g.VPERMI2PS(k.inRow(y+2), k.inRow(y), v) // row 2v from input row y, row 2v+1 from y+2
			k.tap(g, y, x, v)
		}
	}
	k.epilogue512(g, res, mem(sOut, 0, sOff, 1), mem(sRes, 0, sOff, 1))
}

// epilogue512 adds the partial sums as (p0+p1)+p2, the bias and the
// residual, clamps and stores the valid outputs (K1).
func (k dwSmallKernel) epilogue512(g *gen, res bool, out, resAt operand.Mem) {
	acc := k.part(0)
	g.VADDPS(k.part(1), acc, acc)
	g.VADDPS(k.part(2), acc, acc)
	g.VADDPS(k.bias(), acc, acc)
	if res {
		g.VADDPS(resAt, acc, reg.K1, acc)
	}
	g.VMAXPS(acc, k.lo(), acc)
	g.VMINPS(acc, k.hi(), acc)
	g.VMOVUPS(acc, reg.K1, out)
}
