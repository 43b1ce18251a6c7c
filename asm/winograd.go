package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// The Winograd F(2x2, 3x3) transforms of runtime.WinoIn and WinoOut, on
// AVX-512: 16 tiles along a tile row per vector. A tile's 4x4 input
// window starts every second column, so a row of 16 windows is the even
// and odd lanes of 34 consecutive floats (two permutations, and VALIGND
// for the columns two further); the output's two columns per tile are
// interleaved back the same way.

// The transforms' descriptors, which their contract and Go names come
// from.
var (
	winoInKernel  = naming.Kernel{Op: "wino", Variant: "In", Shape: "F2", ISA: avx512.name}
	winoOutKernel = naming.Kernel{Op: "wino", Variant: "Out", Shape: "F2", ISA: avx512.name}
)

var (
	winoEvenOdd = operand.NewStaticSymbol("winoEvenOdd") // even lanes 0..30, then odd 1..31, of two registers
	winoZip     = operand.NewStaticSymbol("winoZip")     // interleave lanes 0..7 of two registers, then 8..15
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
	winoIn(g)
	winoOut(g)
}

// winoMaskWord stores at dst the 16-bit mask of lanes l < n with
// 0 <= x+l < w, x and n in registers (destroyed), w a memory operand;
// lo/hi/tmp are scratch.
func winoMaskWord(g *gen, x, n reg.GPPhysical, w operand.Op, lo, hi reg.GPPhysical, dst operand.Mem) {
	zr, lim := reg.R12, reg.R13
	g.XORQ(zr, zr)
	clamp := func(r reg.GPPhysical) { g.clampQ(r, zr, n) } // to [0, n], n clamped to [0, 16] first
	g.MOVQ(operand.U32(16), lim)
	g.clampQ(n, zr, lim)
	g.MOVQ(x, lo)
	g.NEGQ(lo)
	clamp(lo)
	g.MOVQ(w, hi)
	g.SUBQ(x, hi)
	clamp(hi)
	g.MOVL(operand.U32(0xffff), lim.As32())
	g.BZHIL(lo.As32(), lim.As32(), lo.As32())
	g.BZHIL(hi.As32(), lim.As32(), hi.As32())
	g.ANDNL(hi.As32(), lo.As32(), hi.As32())
	g.MOVW(hi.As16(), dst)
}

// Frame of the input transform: per window row r, its three load masks
// (words at 8r, 8r+2, 8r+4) and its offset in bytes from the plane (at
// 32+8r); the store mask at 64.
const (
	wiRowOff  = 32
	wiStoreK  = 64
	wiFrameSz = 72
)

func winoIn(g *gen) {
	a := winoInBlock
	g.function(winoInKernel.GoName(), a,
		winoInKernel.GoName()+" is "+winoInKernel.Name()+": the WinoIn contract of F(2x2, 3x3),",
		"16 tiles per vector. Registers: Z0..Z15 the row-transformed window rows",
		"(row r, column b in Z(4r+b)), Z16..Z22 loads and columns, Z30/Z31 the",
		"even/odd permutations, K1..K3 a row's load masks, K4 the tile mask; DI",
		"*WinoIn, SI the channel's plane header, DX the plane, R8 V, CX channels",
		"left, R9 the ξ stride in bytes, AX BX R10..R13 scratch; the frame holds the",
		"masks and row offsets.")
	g.AllocLocal(wiFrameSz)
	t := reg.RDI
	g.Load(g.Param("t"), t)
	g.VMOVUPS(operand.NewDataAddr(winoEvenOdd, 0), reg.Z30)
	g.VMOVUPS(operand.NewDataAddr(winoEvenOdd, 64), reg.Z31)

	// masks and row offsets
	x, n, lo, hi := reg.RAX, reg.RBX, reg.R10, reg.R11
	for r := range 4 {
		for l, off := range []int{0, 16, 32} {
			g.MOVQ(a.field(t, "IX", 0), x)
			if off > 0 {
				g.ADDQ(operand.U32(off), x)
			}
			// columns needed: 2N+2 from IX; lanes of this load: 2N+2-off (at most 2 for the last)
			g.MOVQ(a.field(t, "N", 0), n)
			g.LEAQ(mem(n, 2-off, n, 1), n)
			if l == 2 {
				g.MOVQ(operand.U32(2), lo)
				g.minQ(n, lo)
			}
			// rows outside the plane load nothing
			g.MOVQ(a.field(t, "IY", 0), lo)
			g.ADDQ(operand.U32(r), lo)
			g.CMPQ(lo, a.field(t, "H", 0))
			g.MOVQ(operand.U32(0), hi)
			g.CMOVQCC(hi, n) // unsigned: row < 0 or row >= H
			winoMaskWord(g, x, n, a.field(t, "W", 0), lo, hi, local(8*r+2*l))
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
		g.MOVQ(x, local(wiRowOff+8*r))
	}
	// the tile mask: lanes [0, N)
	g.MOVQ(a.field(t, "N", 0), n)
	g.XORQ(x, x)
	g.MOVQ(operand.U32(16), reg.RCX)
	winoMaskWord(g, x, n, reg.RCX, lo, hi, local(wiStoreK))

	plane, hdr, v, left, sxi := reg.RDX, reg.RSI, reg.R8, reg.RCX, reg.R9
	g.MOVQ(a.field(t, "Rows", 0), hdr)
	g.MOVQ(a.field(t, "V", 0), v)
	g.MOVQ(a.field(t, "C", 0), left)
	g.MOVQ(a.field(t, "SXi", 0), sxi)
	g.SHLQ(operand.U8(2), sxi)
	g.KMOVW(local(wiStoreK), reg.K4)
	done := g.label("done")
	g.TESTQ(left, left)
	g.JLE(operand.LabelRef(done))
	loop := g.label("channel")
	g.Label(loop)
	g.MOVQ(at(hdr, 0), plane)
	T := func(r, b int) reg.VecPhysical { return avx512.regs[4*r+b] }
	l0, l1, e, eo, c0, c2, c3 := reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22
	for r := range 4 {
		base := reg.RAX
		g.MOVQ(local(wiRowOff+8*r), base)
		g.ADDQ(plane, base)
		g.KMOVW(local(8*r), reg.K1)
		g.KMOVW(local(8*r+2), reg.K2)
		g.KMOVW(local(8*r+4), reg.K3)
		g.VMOVUPS_Z(at(base, 0), reg.K1, l0)
		g.VMOVUPS_Z(at(base, 64), reg.K2, l1)
		g.VMOVUPS_Z(at(base, 128), reg.K3, e.AsX()) // columns IX+32, IX+33
		g.VMOVAPS(l0, c0)
		g.VPERMT2PS(l1, reg.Z30, c0)         // columns IX+2i
		g.VPERMT2PS(l1, reg.Z31, l0)         // columns IX+2i+1
		g.VALIGND(operand.U8(1), e, e, eo)   // column IX+33 in lane 0
		g.VALIGND(operand.U8(1), c0, e, c2)  // columns IX+2i+2
		g.VALIGND(operand.U8(1), l0, eo, c3) // columns IX+2i+3
		// d·B: t0 = c0-c2, t1 = c1+c2, t2 = c2-c1, t3 = c1-c3
		g.VSUBPS(c2, c0, T(r, 0))
		g.VADDPS(c2, l0, T(r, 1))
		g.VSUBPS(l0, c2, T(r, 2))
		g.VSUBPS(c3, l0, T(r, 3))
	}
	// Bᵀ·: V[0][b] = T0b-T2b, V[1][b] = T1b+T2b, V[2][b] = T2b-T1b, V[3][b] = T1b-T3b
	p := reg.RAX
	g.MOVQ(v, p)
	for ar := range 4 {
		for b := range 4 {
			out := reg.Z23
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
			g.VMOVUPS(out, reg.K4, at(p, 0))
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

// Frame of the output transform: the M load mask, the store masks of the
// low and high halves of each output row (row 1's zero when it is
// outside the plane).
const (
	woLoadK   = 0
	woStoreK  = 2 // row a, half h at 2 + 4a + 2h
	woFrameSz = 16
)

func winoOut(g *gen) {
	a := winoOutBlock
	g.function(winoOutKernel.GoName(), a,
		winoOutKernel.GoName()+" is "+winoOutKernel.Name()+": the WinoOut contract of F(2x2, 3x3),",
		"16 tiles per vector. Registers: Z0..Z15 the 16 products m(ξ), Z16..Z23 the",
		"column sums, Z24..Z27 outputs, Z28 the bias, Z29/Z30 Lo/Hi, Z31 scratch,",
		"K1 the tile mask, K2/K3 the store masks of a row; DI *WinoOut, SI M, DX O,",
		"BX Res, R8 Bias, CX channels left, R9 the ξ stride in bytes, R10 W bytes,",
		"AX R11..R13 scratch; the frame holds the masks.")
	g.AllocLocal(woFrameSz)
	t := reg.RDI
	g.Load(g.Param("t"), t)
	x, n, lo, hi := reg.RAX, reg.RBX, reg.R10, reg.R11
	g.MOVQ(a.field(t, "N", 0), n)
	g.XORQ(x, x)
	g.MOVQ(operand.U32(16), reg.RCX)
	winoMaskWord(g, x, n, reg.RCX, lo, hi, local(woLoadK))
	for row := range 2 {
		for h := range 2 {
			g.MOVQ(a.field(t, "OX", 0), x)
			if h > 0 {
				g.ADDQ(operand.U32(16), x)
			}
			g.MOVQ(a.field(t, "N", 0), n)
			g.SHLQ(operand.U8(1), n)
			if h > 0 {
				g.SUBQ(operand.U32(16), n)
			}
			if row == 1 { // nothing when OY+1 is outside the plane
				g.MOVQ(a.field(t, "OY", 0), lo)
				g.INCQ(lo)
				g.CMPQ(lo, a.field(t, "H", 0))
				g.MOVQ(operand.U32(0), hi)
				g.CMOVQGE(hi, n)
			}
			winoMaskWord(g, x, n, a.field(t, "W", 0), lo, hi, local(woStoreK+4*row+2*h))
		}
	}
	g.VBROADCASTSS(a.field(t, "Lo", 0), reg.Z29)
	g.VBROADCASTSS(a.field(t, "Hi", 0), reg.Z30)
	g.KMOVW(local(woLoadK), reg.K1)

	m, o, res, bias, left, sxi, wb := reg.RSI, reg.RDX, reg.RBX, reg.R8, reg.RCX, reg.R9, reg.R10
	g.MOVQ(a.field(t, "M", 0), m)
	g.MOVQ(a.field(t, "Bias", 0), bias)
	g.MOVQ(a.field(t, "C", 0), left)
	g.MOVQ(a.field(t, "SXi", 0), sxi)
	g.SHLQ(operand.U8(2), sxi)
	g.MOVQ(a.field(t, "W", 0), wb)
	g.SHLQ(operand.U8(2), wb)
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
	M := func(ar, b int) reg.VecPhysical { return avx512.regs[4*ar+b] }
	p := reg.RAX
	g.MOVQ(m, p)
	for xi := range 16 {
		g.VMOVUPS_Z(at(p, 0), reg.K1, M(xi/4, xi%4))
		if xi < 15 {
			g.ADDQ(sxi, p)
		}
	}
	// Aᵀ·: r0[b] = (m0b+m1b)+m2b, r1[b] = (m1b-m2b)-m3b
	R := func(ar, b int) reg.VecPhysical { return avx512.regs[16+4*ar+b] }
	for b := range 4 {
		g.VADDPS(M(1, b), M(0, b), R(0, b))
		g.VADDPS(M(2, b), R(0, b), R(0, b))
		g.VSUBPS(M(2, b), M(1, b), R(1, b))
		g.VSUBPS(M(3, b), R(1, b), R(1, b))
	}
	// ·A: y(a,0) = (ra0+ra1)+ra2, y(a,1) = (ra1-ra2)-ra3
	Y := func(ar, b int) reg.VecPhysical { return avx512.regs[24+2*ar+b] }
	for ar := range 2 {
		g.VADDPS(R(ar, 1), R(ar, 0), Y(ar, 0))
		g.VADDPS(R(ar, 2), Y(ar, 0), Y(ar, 0))
		g.VSUBPS(R(ar, 2), R(ar, 1), Y(ar, 1))
		g.VSUBPS(R(ar, 3), Y(ar, 1), Y(ar, 1))
	}
	g.VBROADCASTSS(at(bias, 0), reg.Z28)
	g.VMOVUPS(operand.NewDataAddr(winoZip, 0), reg.Z16)
	g.VMOVUPS(operand.NewDataAddr(winoZip, 64), reg.Z17)
	for ar := range 2 {
		for h := range 2 {
			out := avx512.regs[18+2*ar+h] // Z18..Z21, free after the column sums
			g.VMOVAPS(Y(ar, 0), out)
			g.VPERMT2PS(Y(ar, 1), avx512.regs[16+h], out)
		}
	}
	hasRes := g.label("hasres")
	next := g.label("next")
	g.TESTQ(res, res)
	g.JNZ(operand.LabelRef(hasRes))
	winoStoreRows(g, o, res, wb, false)
	g.JMP(operand.LabelRef(next))
	g.Label(hasRes)
	winoStoreRows(g, o, res, wb, true)
	g.Label(next)

	g.MOVQ(a.field(t, "SC", 0), reg.RAX)
	g.LEAQ(mem(m, 0, reg.RAX, 4), m)
	g.ADDQ(operand.U32(4), bias)
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

// winoStoreRows adds the bias (and the residual), clamps and stores the two
// output rows held in Z18..Z21 (row a, half h in Z(18+2a+h)).
func winoStoreRows(g *gen, o, res, wb reg.GPPhysical, withRes bool) {
	for ar := range 2 {
		for h := range 2 {
			v := avx512.regs[18+2*ar+h]
			g.KMOVW(local(woStoreK+4*ar+2*h), reg.K2)
			addr := func(base reg.GPPhysical) operand.Mem {
				if ar == 0 {
					return at(base, 64*h)
				}
				return mem(base, 64*h, wb, 1)
			}
			g.VADDPS(reg.Z28, v, v)
			if withRes {
				g.VMOVUPS_Z(addr(res), reg.K2, reg.Z31)
				g.VADDPS(reg.Z31, v, v)
			}
			g.VMAXPS(v, reg.Z29, v)
			g.VMINPS(v, reg.Z30, v)
			g.VMOVUPS(v, reg.K2, addr(o))
		}
	}
}
