package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// The Winograd F(2x2, 3x3) transforms of runtime.WinoIn and WinoOut: a
// vector holds one value of each of the tiles along a tile row, 16 on
// AVX-512 and 8 on AVX2. A tile's 4x4 input window starts every second
// column, so a row of windows is the even and odd lanes of consecutive
// floats, and the output's two columns per tile are interleaved back the
// same way. AVX-512 loads 2*16+2 floats per window row and takes the
// lanes with two permutations (and VALIGND for the columns two further);
// AVX2 loads the row's 2*8 floats from its first column and from the
// third, and takes the even and odd lanes of each pair of vectors with
// VSHUFPS and VPERMPD.

// winoKernels are the two transforms of one level.
type winoKernels struct {
	isa *vecISA
}

// winoLevels is the table the transforms are generated from.
var winoLevels = []winoKernels{{avx512}, {avx2}}

// In and Out return the transforms' descriptors, which their contract
// and Go names come from (and the registry template reads).
func (k winoKernels) In() naming.Kernel {
	return naming.Kernel{Op: "wino", Variant: "In", Shape: "F2", ISA: k.isa.name}
}

func (k winoKernels) Out() naming.Kernel {
	return naming.Kernel{Op: "wino", Variant: "Out", Shape: "F2", ISA: k.isa.name}
}

// Tiles is the most tiles a call transforms (WinoIn.N, WinoOut.N).
func (k winoKernels) Tiles() int { return k.isa.lanes }

var (
	winoEvenOdd   = operand.NewStaticSymbol("winoEvenOdd")   // even lanes 0..30, then odd 1..31, of two registers
	winoZip       = operand.NewStaticSymbol("winoZip")       // interleave lanes 0..7 of two registers, then 8..15
	winoLaneMasks = operand.NewStaticSymbol("winoLaneMasks") // AVX2 masks (emitLaneMasks)
)

func buildWinograd(g *gen) {
	g.StaticGlobal(winoEvenOdd.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 32 {
		g.AppendDatum(operand.U32(2*(i%16) + i/16))
	}
	g.StaticGlobal(winoZip.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 32 { // i/16: lo or hi half; lane l: tile (i%16)/2 (+8), register (i%2)
		half, l := i/16, i%16
		g.AppendDatum(operand.U32(8*half + l/2 + 16*(l%2)))
	}
	emitLaneMasks(g, winoLaneMasks)
	for _, k := range winoLevels {
		k.winoIn(g)
		k.winoOut(g)
	}
}

// mask stores at dst the mask of lanes l < n with 0 <= x+l < w, x and n
// in registers (destroyed), w a memory operand or register; lo/hi are
// scratch, and so are R12, R13 and, on AVX2, the first two vector
// registers.
func (k winoKernels) mask(g *gen, x, n reg.GPPhysical, w operand.Op, lo, hi reg.GPPhysical, dst operand.Mem) {
	zr, lim := reg.R12, reg.R13
	g.XORQ(zr, zr)
	clamp := func(r reg.GPPhysical) { g.clampQ(r, zr, n) } // to [0, n], n clamped to [0, lanes] first
	g.MOVQ(operand.U32(k.isa.lanes), lim)
	g.clampQ(n, zr, lim)
	g.MOVQ(x, lo)
	g.NEGQ(lo)
	clamp(lo)
	g.MOVQ(w, hi)
	g.SUBQ(x, hi)
	clamp(hi)
	k.isa.maskBase(g, winoLaneMasks, lim)
	k.isa.laneRange(g, lo, hi, lim, k.isa.regs[0], k.isa.regs[1], dst)
}

// Frame of the input transform: per window row r, its load masks (from
// 4r masks in), its offset in bytes from the plane, then the tile mask.
func (k winoKernels) inMask(r, l int) int { return k.isa.maskBytes() * (4*r + l) }
func (k winoKernels) inRowOff(r int) int  { return k.inMask(4, 0) + 8*r }
func (k winoKernels) inTileMask() int     { return k.inRowOff(4) }
func (k winoKernels) inFrame() int        { return k.inTileMask() + max(8, k.isa.maskBytes()) }

// inLoads returns the first column (from the window's, IX+2i) and the
// most lanes of each load of a window row: the 2N+2 columns of N
// windows.
func (k winoKernels) inLoads() (cols, lanes []int) {
	if k.isa == avx512 {
		return []int{0, 16, 32}, []int{16, 16, 2}
	}
	return []int{0, 8, 2, 10}, []int{8, 8, 8, 8}
}

// winoStep is a step of the input transform: the T of a window row, or a
// row of V.
type winoStep struct {
	window bool
	row    int
}

// inSchedule is the order of the input transform's steps. AVX-512 holds
// the T of all four window rows; AVX2 the T of two, and stores each V
// row as soon as the T rows it reads are there, so that window rows 1
// and 3 take the registers of rows 0 and 2.
func (k winoKernels) inSchedule() []winoStep {
	w := func(r int) winoStep { return winoStep{true, r} }
	v := func(r int) winoStep { return winoStep{false, r} }
	if k.isa == avx512 {
		return []winoStep{w(0), w(1), w(2), w(3), v(0), v(1), v(2), v(3)}
	}
	return []winoStep{w(0), w(2), v(0), w(1), v(1), v(2), w(3), v(3)}
}

// inT returns the register of column b of window row r's T.
func (k winoKernels) inT(r, b int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[4*r+b]
	}
	return k.isa.regs[4*(r/2)+b]
}

func (k winoKernels) inDoc() []string {
	n := k.In()
	head := n.GoName() + " is " + n.Name() + ": the WinoIn contract of F(2x2, 3x3),"
	if k.isa == avx512 {
		return []string{head,
			"16 tiles per vector. Registers: Z0..Z15 the row-transformed window rows",
			"(row r, column b in Z(4r+b)), Z16..Z22 loads and columns, Z30/Z31 the",
			"even/odd permutations, K1..K3 a row's load masks, K4 the tile mask; DI",
			"*WinoIn, SI the channel's plane header, DX the plane, R8 V, CX channels",
			"left, R9 the ξ stride in bytes, AX BX R10..R13 scratch; the frame holds the",
			"masks and row offsets."}
	}
	return []string{head,
		"8 tiles per vector. Registers: Y0..Y7 the row-transformed window rows, two",
		"at a time (row r, column b in Y(4*(r/2)+b)), Y8..Y12 loads, masks and",
		"columns, Y13 the tile mask (Y14 and Y15 untouched); DI *WinoIn, SI the",
		"channel's plane header, DX the plane, R8 V, R10 the V entry, CX channels",
		"left, R9 the ξ stride in bytes, AX BX R11..R13 scratch; the frame holds the",
		"masks and row offsets."}
}

func (k winoKernels) winoIn(g *gen) {
	a := winoInBlock
	g.localFunction(k.In().GoName(), a, k.inFrame(), k.inDoc()...)
	t := reg.RDI
	g.Load(g.Param("t"), t)
	if k.isa == avx512 {
		g.VMOVUPS(operand.NewDataAddr(winoEvenOdd, 0), reg.Z30)
		g.VMOVUPS(operand.NewDataAddr(winoEvenOdd, 64), reg.Z31)
	}

	// masks and row offsets
	x, n, lo, hi := reg.RAX, reg.RBX, reg.R10, reg.R11
	cols, most := k.inLoads()
	for r := range 4 {
		for l, off := range cols {
			g.MOVQ(a.field(t, "IX", 0), x)
			if off > 0 {
				g.ADDQ(operand.U32(off), x)
			}
			// columns needed: 2N+2 from IX; lanes of this load: 2N+2-off, at most most[l]
			g.MOVQ(a.field(t, "N", 0), n)
			g.LEAQ(mem(n, 2-off, n, 1), n)
			if most[l] < k.isa.lanes {
				g.MOVQ(operand.U32(most[l]), lo)
				g.minQ(n, lo)
			}
			// rows outside the plane load nothing
			g.MOVQ(a.field(t, "IY", 0), lo)
			g.ADDQ(operand.U32(r), lo)
			g.CMPQ(lo, a.field(t, "H", 0))
			g.MOVQ(operand.U32(0), hi)
			g.CMOVQCC(hi, n) // unsigned: row < 0 or row >= H
			k.mask(g, x, n, a.field(t, "W", 0), lo, hi, local(k.inMask(r, l)))
		}
		// row offset: ((IY+r)*W + IX)*4, or 0 outside (nothing is loaded)
		g.MOVQ(a.field(t, "IY", 0), x)
		g.ADDQ(operand.U32(r), x)
		g.MOVQ(x, n)
		g.IMULQ(a.field(t, "W", 0), x)
		g.ADDQ(a.field(t, "IX", 0), x)
		g.SHLQ(operand.U8(2), x)
		g.XORQ(lo, lo)
		g.CMPQ(n, a.field(t, "H", 0))
		g.CMOVQCC(lo, x)
		g.MOVQ(x, local(k.inRowOff(r)))
	}
	// the tile mask: lanes [0, N)
	g.MOVQ(a.field(t, "N", 0), n)
	g.XORQ(x, x)
	g.MOVQ(operand.U32(k.isa.lanes), reg.RCX)
	k.mask(g, x, n, reg.RCX, lo, hi, local(k.inTileMask()))

	plane, hdr, v, left, sxi := reg.RDX, reg.RSI, reg.R8, reg.RCX, reg.R9
	g.MOVQ(a.field(t, "Rows", 0), hdr)
	g.MOVQ(a.field(t, "V", 0), v)
	g.MOVQ(a.field(t, "C", 0), left)
	g.MOVQ(a.field(t, "SXi", 0), sxi)
	g.SHLQ(operand.U8(2), sxi)
	tileMask, out := reg.Register(reg.K4), reg.Z23
	p := reg.RAX // after the last window row's loads
	if k.isa == avx2 {
		tileMask, out, p = reg.Y13, reg.Y8, reg.R10
	}
	k.isa.loadMask(g, local(k.inTileMask()), tileMask)
	done := g.label("done")
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))
	loop := g.label("channel")
	g.Label(loop)
	g.MOVQ(at(hdr, 0), plane)
	T := k.inT
	for _, step := range k.inSchedule() {
		if step.window {
			c0, c1, c2, c3 := k.windowRow(g, step.row, plane)
			// d·B: t0 = c0-c2, t1 = c1+c2, t2 = c2-c1, t3 = c1-c3
			r := step.row
			g.VSUBPS(c2, c0, T(r, 0))
			g.VADDPS(c2, c1, T(r, 1))
			g.VSUBPS(c1, c2, T(r, 2))
			g.VSUBPS(c3, c1, T(r, 3))
			continue
		}
		// Bᵀ·: V[0][b] = T0b-T2b, V[1][b] = T1b+T2b, V[2][b] = T2b-T1b, V[3][b] = T1b-T3b
		ar := step.row
		if ar == 0 {
			g.MOVQ(v, p)
		}
		for b := range 4 {
			switch ar {
			case 0:
				g.VSUBPS(T(2, b), T(0, b), out)
			case 1:
				g.VADDPS(T(2, b), T(1, b), out)
			case 2:
				g.VSUBPS(T(1, b), T(2, b), out)
			case 3:
				g.VSUBPS(T(3, b), T(1, b), out)
			}
			k.isa.maskedStore(g, out, tileMask, at(p, 0))
			if ar*4+b < 15 {
				g.ADDQ(sxi, p)
			}
		}
	}
	g.ADDQ(operand.U32(sliceHeader), hdr)
	g.MOVQ(a.field(t, "SC", 0), reg.RAX)
	g.LEAQ(mem(v, 0, reg.RAX, 4), v)
	g.DECQ(left)
	g.JNZ(operand.LabelRef(loop))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// windowRow loads window row r of the tile row (masked) and returns the
// registers holding its columns d0..d3 of every window: columns IX+2i,
// IX+2i+1, IX+2i+2 and IX+2i+3 in lane i.
func (k winoKernels) windowRow(g *gen, r int, plane reg.GPPhysical) (c0, c1, c2, c3 reg.VecPhysical) {
	base := reg.RAX
	g.MOVQ(local(k.inRowOff(r)), base)
	g.ADDQ(plane, base)
	if k.isa == avx512 {
		l0, l1, e, eo, c0, c2, c3 := reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22
		g.KMOVW(local(k.inMask(r, 0)), reg.K1)
		g.KMOVW(local(k.inMask(r, 1)), reg.K2)
		g.KMOVW(local(k.inMask(r, 2)), reg.K3)
		g.VMOVUPS_Z(at(base, 0), reg.K1, l0)
		g.VMOVUPS_Z(at(base, 64), reg.K2, l1)
		g.VMOVUPS_Z(at(base, 128), reg.K3, e.AsX()) // columns IX+32, IX+33
		g.VMOVAPS(l0, c0)
		g.VPERMT2PS(l1, reg.Z30, c0)         // columns IX+2i
		g.VPERMT2PS(l1, reg.Z31, l0)         // columns IX+2i+1
		g.VALIGND(operand.U8(1), e, e, eo)   // column IX+33 in lane 0
		g.VALIGND(operand.U8(1), c0, e, c2)  // columns IX+2i+2
		g.VALIGND(operand.U8(1), l0, eo, c3) // columns IX+2i+3
		return c0, l0, c2, c3
	}
	// AVX2: the even and odd lanes of columns IX..IX+15 and IX+2..IX+17;
	// VSHUFPS takes them from each 128-bit half of a pair (tiles 0, 1, 4,
	// 5 | 2, 3, 6, 7), VPERMPD puts the tiles in order.
	m, l0, l1, e, o := reg.Y12, reg.Y8, reg.Y9, reg.Y10, reg.Y11
	cols, _ := k.inLoads()
	load := func(l int, dst reg.VecPhysical) {
		k.isa.loadMask(g, local(k.inMask(r, l)), m)
		k.isa.maskedLoad(g, at(base, 4*cols[l]), m, dst)
	}
	load(0, l0)
	load(1, l1)
	g.VSHUFPS(operand.U8(0x88), l1, l0, e)  // columns IX+2i
	g.VSHUFPS(operand.U8(0xdd), l1, l0, l0) // columns IX+2i+1
	load(2, l1)
	load(3, o)
	g.VSHUFPS(operand.U8(0x88), o, l1, m) // columns IX+2i+2
	g.VSHUFPS(operand.U8(0xdd), o, l1, o) // columns IX+2i+3
	for _, x := range []reg.VecPhysical{e, l0, m, o} {
		g.VPERMPD(operand.U8(0xd8), x, x)
	}
	return e, l0, m, o
}

// Frame of the output transform: the tile mask (the M loads), then the
// store masks of the two vectors of each output row (row 1's empty when
// it is outside the plane).
func (k winoKernels) outTileMask() int          { return 0 }
func (k winoKernels) outStoreMask(a, h int) int { return k.isa.maskBytes() * (1 + 2*a + h) }
func (k winoKernels) outFrame() int             { return (k.outStoreMask(2, 0) + 7) &^ 7 }

// Vector registers of the output transform: m(a, b), the column sums
// r(a, b) and the outputs y(a, b), then the two vectors of each output
// row, the bias, Lo, Hi and scratch. AVX-512 loads all of m at once;
// AVX2 a column b at a time, and its y and output rows take the
// registers of the column sums.
func (k winoKernels) outM(a, b int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[4*a+b]
	}
	return k.isa.regs[8+a]
}

func (k winoKernels) outR(a, b int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[16+4*a+b]
	}
	return k.isa.regs[4*a+b]
}

func (k winoKernels) outY(a, b int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[24+2*a+b]
	}
	return k.outR(a, b)
}

func (k winoKernels) outRow(a, h int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[18+2*a+h] // free after the column sums
	}
	return k.outR(a, h)
}

// outRegs returns the bias, Lo, Hi, scratch, tile mask and store mask
// registers.
func (k winoKernels) outRegs() (bias, lo, hi, tmp reg.VecPhysical, tileMask, storeMask reg.Register) {
	if k.isa == avx512 {
		return reg.Z28, reg.Z29, reg.Z30, reg.Z31, reg.K1, reg.K2
	}
	return reg.Y10, reg.Y13, reg.Y14, reg.Y11, reg.Y12, reg.Y9
}

func (k winoKernels) outDoc() []string {
	n := k.Out()
	head := n.GoName() + " is " + n.Name() + ": the WinoOut contract of F(2x2, 3x3),"
	if k.isa == avx512 {
		return []string{head,
			"16 tiles per vector. Registers: Z0..Z15 the 16 products m(ξ), Z16..Z23 the",
			"column sums, Z24..Z27 outputs, Z28 the bias, Z29/Z30 Lo/Hi, Z31 scratch,",
			"K1 the tile mask, K2/K3 the store masks of a row; DI *WinoOut, SI M, DX O,",
			"BX Res, R8 Bias, CX channels left, R9 the ξ stride in bytes, R10 W bytes,",
			"AX R11..R13 scratch; the frame holds the masks."}
	}
	return []string{head,
		"8 tiles per vector. Registers: Y0..Y7 the column sums, then the outputs and",
		"output rows, Y8..Y11 a column of products m(ξ), then scratch (Y9 the store",
		"mask, Y10 the bias), Y12 the tile mask, Y13/Y14 Lo/Hi (Y15 untouched); DI",
		"*WinoOut, SI M, DX O, BX Res, R8 Bias, CX channels left, R9 the ξ stride in",
		"bytes, R10 W bytes, R11/R12 4 and 12 ξ strides, AX R13 scratch; the frame",
		"holds the masks."}
}

func (k winoKernels) winoOut(g *gen) {
	a := winoOutBlock
	lanes := k.isa.lanes
	g.localFunction(k.Out().GoName(), a, k.outFrame(), k.outDoc()...)
	t := reg.RDI
	g.Load(g.Param("t"), t)
	x, n, lo, hi := reg.RAX, reg.RBX, reg.R10, reg.R11
	g.MOVQ(a.field(t, "N", 0), n)
	g.XORQ(x, x)
	g.MOVQ(operand.U32(lanes), reg.RCX)
	k.mask(g, x, n, reg.RCX, lo, hi, local(k.outTileMask()))
	for row := range 2 {
		for h := range 2 {
			g.MOVQ(a.field(t, "OX", 0), x)
			if h > 0 {
				g.ADDQ(operand.U32(lanes), x)
			}
			g.MOVQ(a.field(t, "N", 0), n)
			g.SHLQ(operand.U8(1), n)
			if h > 0 {
				g.SUBQ(operand.U32(lanes), n)
			}
			if row == 1 { // nothing when OY+1 is outside the plane
				g.MOVQ(a.field(t, "OY", 0), lo)
				g.INCQ(lo)
				g.CMPQ(lo, a.field(t, "H", 0))
				g.MOVQ(operand.U32(0), hi)
				g.CMOVQGE(hi, n)
			}
			k.mask(g, x, n, a.field(t, "W", 0), lo, hi, local(k.outStoreMask(row, h)))
		}
	}
	bias, loV, hiV, _, tileMask, _ := k.outRegs()
	g.VBROADCASTSS(a.field(t, "Lo", 0), loV)
	g.VBROADCASTSS(a.field(t, "Hi", 0), hiV)
	k.isa.loadMask(g, local(k.outTileMask()), tileMask)

	m, o, res, biasP, left, sxi, wb := reg.RSI, reg.RDX, reg.RBX, reg.R8, reg.RCX, reg.R9, reg.R10
	g.MOVQ(a.field(t, "M", 0), m)
	g.MOVQ(a.field(t, "Bias", 0), biasP)
	g.MOVQ(a.field(t, "C", 0), left)
	g.MOVQ(a.field(t, "SXi", 0), sxi)
	g.SHLQ(operand.U8(2), sxi)
	g.MOVQ(a.field(t, "W", 0), wb)
	g.SHLQ(operand.U8(2), wb)
	s4, s12 := reg.R11, reg.R12 // AVX2: the m(a, b) of a column are 4 ξ strides apart
	if k.isa == avx2 {
		g.MOVQ(sxi, s4)
		g.SHLQ(operand.U8(2), s4)
		g.LEAQ(mem(s4, 0, s4, 2), s12)
	}
	// O and Res at the first output: (OY*W + OX)*4 bytes into the plane
	g.MOVQ(a.field(t, "OY", 0), reg.RAX)
	g.IMULQ(a.field(t, "W", 0), reg.RAX)
	g.ADDQ(a.field(t, "OX", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.MOVQ(a.field(t, "O", 0), o)
	g.ADDQ(reg.RAX, o)
	g.MOVQ(a.field(t, "Res", 0), res)
	noRes := g.label("nores")
	g.TESTQ(res, res)
	g.JZ(operand.LabelRef(noRes))
	g.ADDQ(reg.RAX, res)
	g.Label(noRes)
	done := g.label("done")
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))

	loop := g.label("channel")
	g.Label(loop)
	M, R, Y := k.outM, k.outR, k.outY
	p := reg.RAX
	g.MOVQ(m, p)
	if k.isa == avx512 {
		for xi := range 16 {
			k.isa.maskedLoad(g, at(p, 0), tileMask, M(xi/4, xi%4))
			if xi < 15 {
				g.ADDQ(sxi, p)
			}
		}
	}
	// Aᵀ·: r0[b] = (m0b+m1b)+m2b, r1[b] = (m1b-m2b)-m3b
	for b := range 4 {
		if k.isa == avx2 {
			for ar, src := range []operand.Mem{at(p, 0), mem(p, 0, s4, 1), mem(p, 0, s4, 2), mem(p, 0, s12, 1)} {
				k.isa.maskedLoad(g, src, tileMask, M(ar, b))
			}
			if b < 3 {
				g.ADDQ(sxi, p)
			}
		}
		g.VADDPS(M(1, b), M(0, b), R(0, b))
		g.VADDPS(M(2, b), R(0, b), R(0, b))
		g.VSUBPS(M(2, b), M(1, b), R(1, b))
		g.VSUBPS(M(3, b), R(1, b), R(1, b))
	}
	// ·A: y(a,0) = (ra0+ra1)+ra2, y(a,1) = (ra1-ra2)-ra3
	for ar := range 2 {
		g.VADDPS(R(ar, 1), R(ar, 0), Y(ar, 0))
		g.VADDPS(R(ar, 2), Y(ar, 0), Y(ar, 0))
		g.VSUBPS(R(ar, 2), R(ar, 1), Y(ar, 1))
		g.VSUBPS(R(ar, 3), Y(ar, 1), Y(ar, 1))
	}
	g.VBROADCASTSS(at(biasP, 0), bias)
	k.zip(g)
	hasRes := g.label("hasres")
	next := g.label("next")
	g.TESTQ(res, res)
	g.JNZ(operand.LabelRef(hasRes))
	k.storeRows(g, o, res, wb, false)
	g.JMP(operand.LabelRef(next))
	g.Label(hasRes)
	k.storeRows(g, o, res, wb, true)
	g.Label(next)

	g.MOVQ(a.field(t, "SC", 0), reg.RAX)
	g.LEAQ(mem(m, 0, reg.RAX, 4), m)
	g.ADDQ(operand.U32(4), biasP)
	g.MOVQ(a.field(t, "OStride", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.ADDQ(reg.RAX, o)
	noRes2 := g.label("nores")
	g.TESTQ(res, res)
	g.JZ(operand.LabelRef(noRes2))
	g.ADDQ(reg.RAX, res)
	g.Label(noRes2)
	g.DECQ(left)
	g.JNZ(operand.LabelRef(loop))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// zip interleaves each output row's y(a, 0) and y(a, 1) into its two
// vectors of outputs: columns 2i and 2i+1 of tile i.
func (k winoKernels) zip(g *gen) {
	Y := k.outY
	if k.isa == avx512 {
		g.VMOVUPS(operand.NewDataAddr(winoZip, 0), reg.Z16)
		g.VMOVUPS(operand.NewDataAddr(winoZip, 64), reg.Z17)
		for ar := range 2 {
			for h := range 2 {
				out := k.outRow(ar, h)
				g.VMOVAPS(Y(ar, 0), out)
				g.VPERMT2PS(Y(ar, 1), avx512.regs[16+h], out)
			}
		}
		return
	}
	// AVX2: VUNPCKLPS/VUNPCKHPS interleave within 128-bit halves (tiles
	// 0, 1 | 4, 5 and 2, 3 | 6, 7), VPERM2F128 joins the halves
	lo, hi := reg.Y8, reg.Y9
	for ar := range 2 {
		g.VUNPCKLPS(Y(ar, 1), Y(ar, 0), lo)
		g.VUNPCKHPS(Y(ar, 1), Y(ar, 0), hi)
		g.VPERM2F128(operand.U8(0x20), hi, lo, k.outRow(ar, 0)) // tiles 0..3
		g.VPERM2F128(operand.U8(0x31), hi, lo, k.outRow(ar, 1)) // tiles 4..7
	}
}

// storeRows adds the bias (and the residual), clamps and stores the two
// output rows (outRow).
func (k winoKernels) storeRows(g *gen, o, res, wb reg.GPPhysical, withRes bool) {
	bias, lo, hi, tmp, _, storeMask := k.outRegs()
	vb := k.isa.bytes()
	for ar := range 2 {
		for h := range 2 {
			v := k.outRow(ar, h)
			k.isa.loadMask(g, local(k.outStoreMask(ar, h)), storeMask)
			addr := func(base reg.GPPhysical) operand.Mem {
				if ar == 0 {
					return at(base, vb*h)
				}
				return mem(base, vb*h, wb, 1)
			}
			g.VADDPS(bias, v, v)
			if withRes {
				k.isa.maskedLoad(g, addr(res), storeMask, tmp)
				g.VADDPS(tmp, v, v)
			}
			g.VMAXPS(v, lo, v)
			g.VMINPS(v, hi, v)
			k.isa.maskedStore(g, v, storeMask, addr(o))
		}
	}
}
