package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Column-streaming form of the AVX-512 plane kernels (dwPlaneKernel with
// isa avx512). A channel's output plane is cut into columns of 16
// outputs; each column is computed top to bottom, every input row of its
// window loaded once and used for each output row whose window holds it
// (three at stride 1, one or two at stride 2). The column's masks (its
// valid outputs, the valid inputs of each load) are set once per column,
// so the row loop is loads, shuffles, fused multiply-adds and the
// epilogue: no per-row pointer arithmetic beyond one add and a select of
// the Zero row outside the plane. Narrow planes gain most: they have
// little else to amortise a row-by-row kernel's per-row set-up and edge
// blocks over.
//
// The sums are the contract's: per kernel row y a partial sum (the tap
// x = 0 a product, x = 1, 2 fused multiply-adds), then (p0 + p1) + p2;
// padding rows are read from the Zero row and padding columns are masked
// to zero, so they enter as products with zero.

// Stack frame of the column kernels (bytes).
const (
	cfC     = 0  // channels left
	cfInHdr = 8  // the current channel's In slice header
	cfW     = 16 // the current channel's taps
	cfBias  = 24 // the current channel's bias
	cfOut   = 32 // the current channel's output plane
	cfRes   = 40 // the current channel's residual plane (0 without one)
	cfCol   = 48 // the current column's first output (floats)
	cfFrame = 56
)

// General-purpose registers of the row loop.
var (
	cRow   = reg.RSI // the current input row's window, inside or outside the plane
	cIY    = reg.RBX // the current input row's index (may be negative)
	cIH    = reg.R8  // IH
	cIWB   = reg.R9  // IW*4
	cZero  = reg.R10 // the Zero row's window
	cLeft  = reg.R11 // loop iterations left
	cOut   = reg.R12 // the output row to store next
	cRes   = reg.R13 // its residual row (0 without one)
	cOWB   = reg.RDX // OW*4
	cInPtr = reg.RAX // the window loads read from
)

// emitColumns emits the column-streaming kernel.
func (k dwPlaneKernel) emitColumns(g *gen) {
	regs := []string{
		"Registers: Z0..Z8 the nine taps, Z9 the bias, Z10/Z11 Lo/Hi, Z12/Z13 the even/odd",
		"permutations (stride 2), Z14..Z16 the current input row's tap columns and Z17 its",
		"next elements, Z18.. the partial sums; K1 the column's valid outputs, K2..K4 the",
		"valid lanes of its loads; DI *DWConv, SI the input row's window, BX its index,",
		"R8 IH, R9 IW*4, R10 the Zero row's window, R11 rows left, R12/R13 the output and",
		"residual rows, DX OW*4, AX the window the loads read (inside the plane or the Zero",
		"row), CX scratch; the frame holds the channel loop state.",
	}
	g.framedFunction(k.GoName(), dwConvBlock, cfFrame, append([]string{
		k.GoName() + " is " + k.Name() + ": the DWConv contract,",
		"16 outputs per vector, each plane computed in columns of 16 outputs",
		"top to bottom; the taps summed in row-major order with fused",
		"multiply-adds (the first a product), padding read as zeros."}, regs...)...)
	g.Comment(regs...)
	a := dwConvBlock
	g.Load(g.Param("t"), pT)
	g.VBROADCASTSS(a.field(pT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(pT, "Hi", 0), k.hi())
	if k.stride == 2 {
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 0), k.colIdxEven())
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 64), k.colIdxOdd())
	}
	g.MOVQ(a.field(pT, "IH", 0), cIH)
	g.MOVQ(a.field(pT, "IW", 0), cIWB)
	g.SHLQ(operand.U8(2), cIWB)
	chans := channelLoop{c: cfC, inHdr: cfInHdr, w: cfW, bias: cfBias, out: cfOut, res: cfRes}
	done := g.label("done")
	chanLoop := chans.begin(g, k, done)
	g.MOVQ(operand.U32(0), local(cfCol))

	colLoop := g.label("column")
	g.Label(colLoop)
	k.columnSetup(g)
	g.ifNotNil(cRes, func(res bool) { k.columnRows(g, res) })
	g.MOVQ(local(cfCol), reg.RAX)
	g.ADDQ(operand.U32(16), reg.RAX)
	g.MOVQ(reg.RAX, local(cfCol))
	g.CMPQ(reg.RAX, a.field(pT, "OW", 0))
	g.JL(operand.LabelRef(colLoop))

	chans.end(g, chanLoop, done)
}

// Vector registers of the column kernels besides the taps, bias and
// bounds (Z0..Z11): stride 2 keeps its permutation indices in Z12/Z13.
func (k dwPlaneKernel) colIdxEven() reg.VecPhysical { return k.isa.regs[12] }
func (k dwPlaneKernel) colIdxOdd() reg.VecPhysical  { return k.isa.regs[13] }

// colReg returns work register i: Z14.. .
func (k dwPlaneKernel) colReg(i int) reg.VecPhysical { return k.isa.regs[14+i] }

// columnSetup points the row loop's registers at the column starting at
// output cfCol of the current channel and sets its masks: K1 the valid
// outputs, K2.. the valid lanes of each load (k.loadOffsets()).
func (k dwPlaneKernel) columnSetup(g *gen) {
	a := dwConvBlock
	ax, cx := reg.RAX, reg.RCX
	// window column bx = col*S - PadLeft, in cx
	g.MOVQ(local(cfCol), cx)
	if k.stride == 2 {
		g.SHLQ(operand.U8(1), cx)
	}
	g.SUBQ(a.field(pT, "PadLeft", 0), cx)
	// output mask: lanes [0, OW - col)
	g.MOVQ(a.field(pT, "OW", 0), ax)
	g.SUBQ(local(cfCol), ax)
	k.colMask(g, nil, ax, 16, reg.K1)
	// load masks: lanes j < n with 0 <= bx+o+j < IW: [-(bx+o), IW-(bx+o))
	for i, o := range k.loadOffsets() {
		lo, hi := reg.R11, ax
		g.MOVQ(cx, lo)
		if o[0] != 0 {
			g.ADDQ(operand.U32(o[0]), lo)
		}
		g.NEGQ(lo)
		g.MOVQ(a.field(pT, "IW", 0), hi)
		g.ADDQ(lo, hi)
		k.colMask(g, lo, hi, o[1], []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4}[i])
	}
	g.MOVQ(a.field(pT, "OW", 0), cOWB) // colMask used DX
	g.SHLQ(operand.U8(2), cOWB)
	// windows: the first input row is -PadTop
	g.SHLQ(operand.U8(2), cx)
	g.MOVQ(a.field(pT, "Zero", 0), cZero)
	g.ADDQ(cx, cZero)
	g.MOVQ(a.field(pT, "PadTop", 0), cIY)
	g.NEGQ(cIY)
	g.MOVQ(local(cfInHdr), cRow)
	g.MOVQ(at(cRow, 0), cRow)
	g.ADDQ(cx, cRow)
	g.MOVQ(cIY, ax)
	g.IMULQ(cIWB, ax)
	g.ADDQ(ax, cRow)
	// outputs
	g.MOVQ(local(cfCol), ax)
	g.SHLQ(operand.U8(2), ax)
	g.MOVQ(local(cfOut), cOut)
	g.ADDQ(ax, cOut)
	g.MOVQ(local(cfRes), cRes)
	resOK := g.label("resok")
	g.TESTQ(cRes, cRes)
	g.JZ(operand.LabelRef(resOK))
	g.ADDQ(ax, cRes)
	g.Label(resOK)
}

// colMask sets mask register m to the lanes [lo, hi) clamped to [0, n)
// (lo nil for 0). lo and hi are destroyed, and the scratch registers
// DX, BX and R12.
func (k dwPlaneKernel) colMask(g *gen, lo, hi reg.GPPhysical, n int, m reg.OpmaskPhysical) {
	nr, zr, all := reg.RDX, reg.RBX, reg.R12
	g.MOVQ(operand.U32(n), nr)
	g.XORQ(zr, zr)
	g.MOVL(operand.U32(0xffff), all.As32())
	g.clampQ(hi, zr, nr)
	g.BZHIL(hi.As32(), all.As32(), hi.As32())
	if lo != nil {
		g.clampQ(lo, zr, nr)
		g.BZHIL(lo.As32(), all.As32(), lo.As32())
		g.ANDNL(hi.As32(), lo.As32(), hi.As32()) // hi &^ lo
	}
	g.KMOVW(hi.As32(), m)
}

// columnRows emits the row loop of a column (res: with a residual).
func (k dwPlaneKernel) columnRows(g *gen, res bool) {
	if k.stride == 1 {
		// prologue: input rows 0 and 1 of the window
		p0, acc := k.colReg(4), k.colReg(5)
		k.colLoadRow(g)
		k.colPartial(g, 0, p0)
		k.colNextRow(g)
		k.colLoadRow(g)
		k.colPartial(g, 1, acc)
		g.VADDPS(acc, p0, acc) // p0 + p1 of output row 0
		k.colPartial(g, 0, p0) // p0 of output row 1
		k.colNextRow(g)
		// each further input row i ends output row i-2, adds p1 to row
		// i-1 and starts row i
		q2, q1, sum := k.colReg(6), k.colReg(7), k.colReg(8)
		k.colRowLoop(g, res, sum, func() {
			k.colLoadRow(g)
			k.colPartial(g, 2, q2)
			g.VADDPS(q2, acc, sum)
			k.colPartial(g, 1, q1)
			g.VADDPS(q1, p0, acc)
			k.colPartial(g, 0, p0)
			k.colNextRow(g)
		})
		return
	}
	// stride 2: input row 2r of the window starts output row r (ky = 0),
	// 2r+1 continues it, 2r+2 ends it and starts row r+1
	p0, acc, q, sum := k.colReg(4), k.colReg(5), k.colReg(6), k.colReg(7)
	k.colLoadRow(g)
	k.colPartial(g, 0, p0)
	k.colNextRow(g)
	k.colRowLoop(g, res, sum, func() {
		k.colLoadRow(g)
		k.colPartial(g, 1, q)
		g.VADDPS(q, p0, acc)
		k.colNextRow(g)
		k.colLoadRow(g)
		k.colPartial(g, 2, q)
		g.VADDPS(q, acc, sum)
		k.colPartial(g, 0, p0)
		k.colNextRow(g)
	})
}

// colRowLoop emits the loop over a column's OH output rows: body reads the
// input rows that complete one output row into sum, which is then stored.
func (k dwPlaneKernel) colRowLoop(g *gen, res bool, sum reg.VecPhysical, body func()) {
	g.MOVQ(dwConvBlock.field(pT, "OH", 0), cLeft)
	loop := g.label("rows")
	g.Label(loop)
	body()
	k.colStore(g, res, sum)
	g.DECQ(cLeft)
	g.JNZ(operand.LabelRef(loop))
}

// Registers of the current input row's taps x = 0, 1, 2 (and the loads).
func (k dwPlaneKernel) colTaps() (x0, x1, x2, t reg.VecPhysical) {
	return k.colReg(0), k.colReg(1), k.colReg(2), k.colReg(3)
}

// colLoadRow loads the current input row's window (the Zero row's
// outside the plane) and makes the column's inputs of the taps x = 0, 1,
// 2 in colTaps.
func (k dwPlaneKernel) colLoadRow(g *gen) {
	g.MOVQ(cRow, cInPtr)
	g.CMPQ(cIY, cIH)
	g.CMOVQCC(cZero, cInPtr) // unsigned iy >= IH: outside the plane
	x0, x1, x2, t := k.colTaps()
	if k.stride == 1 {
		g.VMOVUPS_Z(at(cInPtr, 0), reg.K2, x0)
		g.VMOVUPS_Z(at(cInPtr, 64), reg.K3, t.AsX())
		g.VALIGND(operand.U8(1), x0, t, x1) // inputs 1..16
		g.VALIGND(operand.U8(2), x0, t, x2) // inputs 2..17
		return
	}
	// x1 holds the first 16 inputs, t the next 16, x2 the 33rd
	g.VMOVUPS_Z(at(cInPtr, 0), reg.K2, x1)
	g.VMOVUPS_Z(at(cInPtr, 64), reg.K3, t)
	g.VMOVSS_Z(at(cInPtr, 128), reg.K4, x2.AsX())
	g.VMOVAPS(x1, x0)
	g.VPERMT2PS(t, k.colIdxEven(), x0)   // inputs 0, 2, .., 30
	g.VPERMT2PS(t, k.colIdxOdd(), x1)    // inputs 1, 3, .., 31
	g.VALIGND(operand.U8(1), x0, x2, x2) // inputs 2, 4, .., 32
}

// colPartial computes the partial sum of kernel row ky over the current
// input row into p.
func (k dwPlaneKernel) colPartial(g *gen, ky int, p reg.VecPhysical) {
	x0, x1, x2, _ := k.colTaps()
	g.VMULPS(x0, k.w(3*ky), p)
	g.VFMADD231PS(x1, k.w(3*ky+1), p)
	g.VFMADD231PS(x2, k.w(3*ky+2), p)
}

// colNextRow advances to the next input row.
func (k dwPlaneKernel) colNextRow(g *gen) {
	g.ADDQ(cIWB, cRow)
	g.INCQ(cIY)
}

// colStore adds the bias and residual to sum, clamps it and stores it to
// the output row, then advances to the next output row.
func (k dwPlaneKernel) colStore(g *gen, res bool, sum reg.VecPhysical) {
	g.VADDPS(k.bias(), sum, sum)
	if res {
		g.VADDPS(at(cRes, 0), sum, reg.K1, sum)
		g.ADDQ(cOWB, cRes)
	}
	g.VMAXPS(sum, k.lo(), sum)
	g.VMINPS(sum, k.hi(), sum)
	g.VMOVUPS(sum, reg.K1, at(cOut, 0))
	g.ADDQ(cOWB, cOut)
}
