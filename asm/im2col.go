package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// im2colKernel packs the B rows of one run of output pixels for the
// convolution GEMM (runtime.PackRun) with AVX-512 masked loads: per k one
// or two masked 16-lane loads (stride 2: two, and a permutation of their
// even lanes) and a masked store per 16 pixels. The padding is the masked
// lanes and the rows outside the plane; the masks of each tap column are
// computed once per call.
type im2colKernel struct {
	stride int // horizontal stride, 1 or 2
}

// im2colKernels is the table the packing kernels are generated from.
var im2colKernels = []im2colKernel{{1}, {2}}

// Limits of the contract the masks are precomputed for.
const (
	im2colMaxKW = 8  // kernel width
	im2colMaxN  = 32 // pixels per run: two 16-lane chunks
)

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k im2colKernel) names() naming.Kernel {
	return naming.Kernel{Op: "im2col", Shape: fmt.Sprintf("S%d", k.stride), ISA: avx512.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k im2colKernel) Name() string   { return k.names().Name() }
func (k im2colKernel) GoName() string { return k.names().GoName() }

// Stride is the stride, for the registry template.
func (k im2colKernel) Stride() int { return k.stride }

// loads is the number of 16-lane loads per chunk of 16 pixels.
func (k im2colKernel) loads() int { return k.stride }

// Stack frame: per tap column kw and chunk c, the load masks (16-bit
// words), then the store mask of each chunk.
func (k im2colKernel) maskOff(kw, c, load int) int {
	return 2 * ((kw*2+c)*k.loads() + load)
}

func (k im2colKernel) outMaskOff(c int) int { return k.maskOff(im2colMaxKW, 0, 0) + 2*c }

func (k im2colKernel) frameSize() int { return (k.outMaskOff(2) + 7) &^ 7 }

var im2colPermIdx = operand.NewStaticSymbol("im2colEvenIdx")

// General-purpose registers of the packing kernels.
var (
	iT    = reg.RDI // *PackRun
	iDst  = reg.RSI // the current B row
	iRows = reg.R8  // the current channel's row header
	iRow  = reg.R9  // the current input row, or 0 outside the plane
	iLeft = reg.RCX // k rows left
	iKW   = reg.R10 // current kw
	iKH   = reg.R11 // current kh
	iX    = reg.R12 // current IX + kw*DW, in bytes
)

func buildPack(g *gen) {
	g.StaticGlobal(im2colPermIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 16 { // even elements 0..30 of two registers
		g.AppendDatum(operand.U32(2 * i))
	}
	for _, k := range im2colKernels {
		k.emit(g)
	}
}

func (k im2colKernel) emit(g *gen) {
	a := packRunBlock
	g.function(k.GoName(), a,
		fmt.Sprintf("%s is %s: the PackRun contract at SW = %d, for", k.GoName(), k.Name(), k.stride),
		fmt.Sprintf("KW <= %d and N <= %d. Registers: Z0/Z1 loaded inputs, Z2 the even-lane", im2colMaxKW, im2colMaxN),
		"permutation, K1/K2 load masks, K3 the store mask; DI *PackRun, SI the B row,",
		"R8 the channel's row header, R9 the input row (0 outside the plane), CX rows left,",
		"R10/R11 kw/kh, R12 the tap column in bytes, AX BX DX R13 scratch; the frame holds",
		"the masks of every tap column and chunk.")
	g.AllocLocal(k.frameSize())
	g.Load(g.Param("t"), iT)
	if k.stride == 2 {
		g.VMOVUPS(operand.NewDataAddr(im2colPermIdx, 0), reg.Z2)
	}
	k.masks(g)

	// k = K0 as (ci, kh, kw)
	g.MOVQ(a.field(iT, "KH", 0), reg.RBX)
	g.IMULQ(a.field(iT, "KW", 0), reg.RBX) // KH*KW
	g.MOVQ(a.field(iT, "K0", 0), reg.RAX)
	g.XORQ(reg.RDX, reg.RDX)
	g.DIVQ(reg.RBX) // AX = ci, DX = kh*KW+kw
	g.IMUL3Q(operand.U32(sliceHeader), reg.RAX, reg.RAX)
	g.ADDQ(a.field(iT, "Rows", 0), reg.RAX)
	g.MOVQ(reg.RAX, iRows)
	g.MOVQ(reg.RDX, reg.RAX)
	g.XORQ(reg.RDX, reg.RDX)
	g.DIVQ(a.field(iT, "KW", 0)) // AX = kh, DX = kw
	g.MOVQ(reg.RAX, iKH)
	g.MOVQ(reg.RDX, iKW)
	g.MOVQ(a.field(iT, "Dst", 0), iDst)
	g.MOVQ(a.field(iT, "KN", 0), iLeft)
	done := g.label("done")
	g.TESTQ(iLeft, iLeft)
	g.JLE(operand.LabelRef(done))

	rowStart, kLoop := g.label("row"), g.label("k")
	g.Label(rowStart)
	// the input row of (ci, kh): IY + kh*DH, or 0 outside [0, H)
	g.MOVQ(iKH, reg.RAX)
	g.IMULQ(a.field(iT, "DH", 0), reg.RAX)
	g.ADDQ(a.field(iT, "IY", 0), reg.RAX)
	g.XORQ(iRow, iRow)
	outside := g.label("outside")
	g.CMPQ(reg.RAX, a.field(iT, "H", 0))
	g.JCC(operand.LabelRef(outside)) // unsigned: iy < 0 or iy >= H
	g.IMULQ(a.field(iT, "W", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.ADDQ(at(iRows, 0), reg.RAX)
	g.MOVQ(reg.RAX, iRow)
	g.Label(outside)
	// the tap column of kw: IX + kw*DW, in bytes
	g.MOVQ(iKW, iX)
	g.IMULQ(a.field(iT, "DW", 0), iX)
	g.ADDQ(a.field(iT, "IX", 0), iX)
	g.SHLQ(operand.U8(2), iX)

	g.Label(kLoop)
	k.packRow(g)
	// next k
	g.MOVQ(a.field(iT, "LDD", 0), reg.RAX)
	g.LEAQ(mem(iDst, 0, reg.RAX, 4), iDst)
	g.DECQ(iLeft)
	g.JZ(operand.LabelRef(done))
	g.INCQ(iKW)
	g.CMPQ(iKW, a.field(iT, "KW", 0))
	sameRow := g.label("samerow")
	g.JL(operand.LabelRef(sameRow))
	g.XORQ(iKW, iKW)
	g.INCQ(iKH)
	g.CMPQ(iKH, a.field(iT, "KH", 0))
	g.JL(operand.LabelRef(rowStart))
	g.XORQ(iKH, iKH)
	g.ADDQ(operand.U32(sliceHeader), iRows)
	g.JMP(operand.LabelRef(rowStart))
	g.Label(sameRow)
	g.MOVQ(a.field(iT, "DW", 0), reg.RAX)
	g.LEAQ(mem(iX, 0, reg.RAX, 4), iX)
	g.JMP(operand.LabelRef(kLoop))

	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// packRow writes one B row: the N pixels of tap (row iRow, column iX), in
// chunks of 16.
func (k im2colKernel) packRow(g *gen) {
	zeroRow, next := g.label("zerorow"), g.label("rowdone")
	g.TESTQ(iRow, iRow)
	g.JZ(operand.LabelRef(zeroRow))
	for c := range 2 {
		skip := g.label("chunk")
		if c == 1 {
			g.CMPQ(packRunBlock.field(iT, "N", 0), operand.Imm(16))
			g.JLE(operand.LabelRef(skip))
		}
		// the masks of (kw, c): the frame at kw*stride of the per-kw block
		g.MOVQ(iKW, reg.RAX)
		g.SHLQ(operand.U8(log2(2*2*k.loads())), reg.RAX) // bytes per kw
		for l := range k.loads() {
			g.KMOVW(mem(reg.RSP, k.maskOff(0, c, l), reg.RAX, 1), []reg.OpmaskPhysical{reg.K1, reg.K2}[l])
		}
		g.KMOVW(local(k.outMaskOff(c)), reg.K3)
		src := func(l int) operand.Mem { return mem(iRow, 64*(c*k.stride+l), iX, 1) }
		if k.stride == 1 {
			g.VMOVUPS_Z(src(0), reg.K1, reg.Z0)
		} else {
			g.VMOVUPS_Z(src(0), reg.K1, reg.Z0)
			g.VMOVUPS_Z(src(1), reg.K2, reg.Z1)
			g.VPERMT2PS(reg.Z1, reg.Z2, reg.Z0) // the even lanes of Z1:Z0
		}
		g.VMOVUPS(reg.Z0, reg.K3, at(iDst, 64*c))
		g.Label(skip)
	}
	g.JMP(operand.LabelRef(next))
	g.Label(zeroRow)
	g.VPXORD(reg.Z0, reg.Z0, reg.Z0)
	for c := range 2 {
		g.KMOVW(local(k.outMaskOff(c)), reg.K3)
		g.VMOVUPS(reg.Z0, reg.K3, at(iDst, 64*c))
	}
	g.Label(next)
}

// masks stores, for every tap column kw < KW and chunk c, the masks of
// the chunk's loads: the input lanes l with 0 <= x+l < W (x the load's
// first column) that feed pixels below N; and each chunk's store mask.
func (k im2colKernel) masks(g *gen) {
	a := packRunBlock
	x, lo, hi, n, zr, all := reg.RBX, reg.R8, reg.R9, reg.R13, reg.R12, reg.RAX
	g.XORQ(zr, zr)
	g.MOVL(operand.U32(0xffff), all.As32())
	clampTo := func(r reg.GPPhysical, limit operand.Op) {
		g.maxQ(r, zr)
		g.MOVQ(limit, reg.RDX)
		g.minQ(r, reg.RDX)
	}
	for c := range 2 {
		// pixels of the chunk: clamp(N - 16c, 0, 16)
		g.MOVQ(a.field(iT, "N", 0), hi)
		g.SUBQ(operand.U32(16*c), hi)
		clampTo(hi, operand.U32(16))
		g.BZHIL(hi.As32(), all.As32(), hi.As32())
		g.MOVW(hi.As16(), local(k.outMaskOff(c)))
	}
	// A run of im2colMaxN pixels whose loads all stay inside the row
	// (the interior of a wide map, most runs) has full masks:
	// 0 <= IX and IX + (2*16*loads - 1) + (KW-1)*DW < W, the loads of
	// the last tap column reaching furthest.
	done, general := g.label("masksdone"), g.label("masksgeneral")
	g.CMPQ(a.field(iT, "N", 0), operand.Imm(im2colMaxN))
	g.JNE(operand.LabelRef(general))
	g.MOVQ(a.field(iT, "IX", 0), x)
	g.TESTQ(x, x)
	g.JS(operand.LabelRef(general))
	g.MOVQ(a.field(iT, "KW", 0), lo)
	g.DECQ(lo)
	g.IMULQ(a.field(iT, "DW", 0), lo)
	g.LEAQ(mem(x, 2*16*k.loads()-1, lo, 1), x)
	g.CMPQ(x, a.field(iT, "W", 0))
	g.JGE(operand.LabelRef(general))
	for kw := range im2colMaxKW {
		for c := range 2 {
			for l := range k.loads() {
				g.MOVW(all.As16(), local(k.maskOff(kw, c, l)))
			}
		}
	}
	g.JMP(operand.LabelRef(done))
	g.Label(general)
	for kw := range im2colMaxKW {
		if kw > 0 { // the rest are never read
			g.CMPQ(a.field(iT, "KW", 0), operand.Imm(uint64(kw)))
			g.JLE(operand.LabelRef(done))
		}
		for c := range 2 {
			for l := range k.loads() {
				// first input column of the load
				g.MOVQ(operand.U32(kw), x)
				g.IMULQ(a.field(iT, "DW", 0), x)
				g.ADDQ(a.field(iT, "IX", 0), x)
				if off := 16 * (c*k.stride + l); off > 0 {
					g.ADDQ(operand.U32(off), x)
				}
				// lanes feeding pixels: k.stride*(N-16c) - 16l, clamped to [0, 16]
				g.MOVQ(a.field(iT, "N", 0), n)
				g.SUBQ(operand.U32(16*c), n)
				if k.stride == 2 {
					g.SHLQ(operand.U8(1), n)
				}
				if l > 0 {
					g.SUBQ(operand.U32(16*l), n)
				}
				clampTo(n, operand.U32(16))
				// valid lanes [-x, W-x), within [0, n)
				g.MOVQ(x, lo)
				g.NEGQ(lo)
				clampTo(lo, n)
				g.MOVQ(a.field(iT, "W", 0), hi)
				g.SUBQ(x, hi)
				clampTo(hi, n)
				g.BZHIL(lo.As32(), all.As32(), lo.As32())
				g.BZHIL(hi.As32(), all.As32(), hi.As32())
				g.ANDNL(hi.As32(), lo.As32(), hi.As32())
				g.MOVW(hi.As16(), local(k.maskOff(kw, c, l)))
			}
		}
	}
	g.Label(done)
}
