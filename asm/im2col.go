package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// im2colKernel packs the B rows of one run of output pixels for the
// convolution GEMM (runtime.PackRun) with masked loads: per k, for each
// vector of pixels, one masked load (stride 1) or two and a shuffle of
// their even lanes (stride 2), and a masked store. The padding is the
// masked lanes and the rows outside the plane; the masks of each tap
// column are computed once per call. A run spans up to im2colChunks
// vectors: 32 pixels on AVX-512 (its 32-wide GEMM panels), 16 on AVX2
// (the 16-wide panels of its 6x16 kernel).
type im2colKernel struct {
	isa    *vecISA
	stride int // horizontal stride, 1 or 2
}

// im2colKernels is the table the packing kernels are generated from.
var im2colKernels = []im2colKernel{{avx512, 1}, {avx512, 2}, {avx2, 1}, {avx2, 2}}

// Limits of the contract the masks are precomputed for: the kernel width
// and the vectors of pixels per run.
const (
	im2colMaxKW  = 8
	im2colChunks = 2
)

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k im2colKernel) names() naming.Kernel {
	return naming.Kernel{Op: "im2col", Shape: fmt.Sprintf("S%d", k.stride), ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k im2colKernel) Name() string   { return k.names().Name() }
func (k im2colKernel) GoName() string { return k.names().GoName() }

// Stride is the stride, for the registry template.
func (k im2colKernel) Stride() int { return k.stride }

// MaxN is the most pixels per run (PackRun.N), for the registry template.
func (k im2colKernel) MaxN() int { return im2colChunks * k.isa.lanes }

// loads is the number of vector loads per chunk of a vector of pixels.
func (k im2colKernel) loads() int { return k.stride }

// Stack frame: per tap column kw and chunk c, the load masks, then the
// store mask of each chunk.
func (k im2colKernel) maskOff(kw, c, load int) int {
	return k.isa.maskBytes() * ((kw*im2colChunks+c)*k.loads() + load)
}

// kwBytes is the size of a tap column's masks.
func (k im2colKernel) kwBytes() int { return k.maskOff(1, 0, 0) }

func (k im2colKernel) outMaskOff(c int) int {
	return k.maskOff(im2colMaxKW, 0, 0) + k.isa.maskBytes()*c
}

func (k im2colKernel) frameSize() int { return (k.outMaskOff(im2colChunks) + 7) &^ 7 }

// Vector registers: the loaded inputs, the masks of a chunk's loads and
// its store; AVX-512 keeps the even-lane permutation in Z2.
func (k im2colKernel) in(l int) reg.VecPhysical { return k.isa.regs[l] }

func (k im2colKernel) loadMask(l int) reg.Register {
	if k.isa == avx512 {
		return []reg.OpmaskPhysical{reg.K1, reg.K2}[l]
	}
	return k.isa.regs[2+l]
}

func (k im2colKernel) storeMask() reg.Register {
	if k.isa == avx512 {
		return reg.K3
	}
	return k.isa.regs[4]
}

// registerDoc returns the end of the documentation's second line and its
// third line, which name the vector registers.
func (k im2colKernel) registerDoc() (string, string) {
	if k.isa == avx512 {
		return " Registers: Z0/Z1 loaded inputs, Z2 the even-lane",
			"permutation, K1/K2 load masks, K3 the store mask; DI *PackRun, SI the B row,"
	}
	return " Registers: Y0/Y1 loaded inputs, Y2/Y3 load masks, Y4",
		"the store mask (Y15 untouched); DI *PackRun, SI the B row,"
}

// evenLanes sets the first input register to the even lanes of the two
// loaded ones (the pixels of a stride-2 chunk).
func (k im2colKernel) evenLanes(g *gen) {
	if k.isa == avx512 {
		g.VPERMT2PS(k.in(1), reg.Z2, k.in(0))
		return
	}
	g.VSHUFPS(operand.U8(0x88), k.in(1), k.in(0), k.in(0)) // lanes 0, 2 of each 128-bit half of both
	g.VPERMPD(operand.U8(0xd8), k.in(0), k.in(0))          // the halves' pairs in order
}

var (
	im2colPermIdx   = operand.NewStaticSymbol("im2colEvenIdx")
	im2colLaneMasks = operand.NewStaticSymbol("im2colLaneMasks")
)

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
	emitLaneMasks(g, im2colLaneMasks)
	for _, k := range im2colKernels {
		k.emit(g)
	}
}

func (k im2colKernel) emit(g *gen) {
	a := packRunBlock
	regs2, regs3 := k.registerDoc()
	doc := []string{
		fmt.Sprintf("%s is %s: the PackRun contract at SW = %d, for", k.GoName(), k.Name(), k.stride),
		fmt.Sprintf("KW <= %d and N <= %d.", im2colMaxKW, k.MaxN()) + regs2,
		regs3,
		"R8 the channel's row header, R9 the input row (0 outside the plane), CX rows left,",
		"R10/R11 kw/kh, R12 the tap column in bytes, AX BX DX R13 scratch; the frame holds",
		"the masks of every tap column and chunk.",
	}
	g.localFunction(k.GoName(), a, k.frameSize(), doc...)
	g.Load(g.Param("t"), iT)
	if k.isa == avx512 && k.stride == 2 {
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

// packRow writes one B row: the N pixels of tap (row iRow, column iX), a
// vector at a time.
func (k im2colKernel) packRow(g *gen) {
	vb := k.isa.bytes()
	zeroRow, next := g.label("zerorow"), g.label("rowdone")
	g.TESTQ(iRow, iRow)
	g.JZ(operand.LabelRef(zeroRow))
	for c := range im2colChunks {
		skip := g.label("chunk")
		if c > 0 {
			g.CMPQ(packRunBlock.field(iT, "N", 0), operand.Imm(uint64(c*k.isa.lanes)))
			g.JLE(operand.LabelRef(skip))
		}
		// the masks of (kw, c): the frame at kw*stride of the per-kw block
		g.MOVQ(iKW, reg.RAX)
		g.SHLQ(operand.U8(log2(k.kwBytes())), reg.RAX)
		for l := range k.loads() {
			k.isa.loadMask(g, mem(reg.RSP, k.maskOff(0, c, l), reg.RAX, 1), k.loadMask(l))
		}
		k.isa.loadMask(g, local(k.outMaskOff(c)), k.storeMask())
		for l := range k.loads() {
			k.isa.maskedLoad(g, mem(iRow, vb*(c*k.stride+l), iX, 1), k.loadMask(l), k.in(l))
		}
		if k.stride == 2 {
			k.evenLanes(g)
		}
		k.isa.maskedStore(g, k.in(0), k.storeMask(), at(iDst, vb*c))
		g.Label(skip)
	}
	g.JMP(operand.LabelRef(next))
	g.Label(zeroRow)
	g.zero(k.in(0))
	for c := range im2colChunks {
		k.isa.loadMask(g, local(k.outMaskOff(c)), k.storeMask())
		k.isa.maskedStore(g, k.in(0), k.storeMask(), at(iDst, vb*c))
	}
	g.Label(next)
}

// masks stores, for every tap column kw < KW and chunk c, the masks of
// the chunk's loads: the input lanes l with 0 <= x+l < W (x the load's
// first column) that feed pixels below N; and each chunk's store mask.
func (k im2colKernel) masks(g *gen) {
	a := packRunBlock
	lanes := k.isa.lanes
	x, lo, hi, n, zr, base := reg.RBX, reg.R8, reg.R9, reg.R13, reg.R12, reg.RAX
	t0, t1 := k.in(0), k.in(1) // AVX2 scratch, before the loads
	g.XORQ(zr, zr)
	k.isa.maskBase(g, im2colLaneMasks, base)
	clampTo := func(r reg.GPPhysical, limit operand.Op) {
		g.maxQ(r, zr)
		g.MOVQ(limit, reg.RDX)
		g.minQ(r, reg.RDX)
	}
	for c := range im2colChunks {
		// pixels of the chunk: clamp(N - lanes*c, 0, lanes)
		g.MOVQ(a.field(iT, "N", 0), hi)
		g.SUBQ(operand.U32(lanes*c), hi)
		clampTo(hi, operand.U32(lanes))
		k.isa.firstLanes(g, hi, base, t0, local(k.outMaskOff(c)))
	}
	// A run of MaxN pixels whose loads all stay inside the row (the
	// interior of a wide map, most runs) has full masks: 0 <= IX and
	// IX + (MaxN*stride - 1) + (KW-1)*DW < W, the loads of the last tap
	// column reaching furthest.
	done, general := g.label("masksdone"), g.label("masksgeneral")
	g.CMPQ(a.field(iT, "N", 0), operand.Imm(uint64(k.MaxN())))
	g.JNE(operand.LabelRef(general))
	g.MOVQ(a.field(iT, "IX", 0), x)
	g.TESTQ(x, x)
	g.JS(operand.LabelRef(general))
	g.MOVQ(a.field(iT, "KW", 0), lo)
	g.DECQ(lo)
	g.IMULQ(a.field(iT, "DW", 0), lo)
	g.LEAQ(mem(x, k.MaxN()*k.loads()-1, lo, 1), x)
	g.CMPQ(x, a.field(iT, "W", 0))
	g.JGE(operand.LabelRef(general))
	for kw := range im2colMaxKW {
		for c := range im2colChunks {
			for l := range k.loads() {
				k.isa.allLanes(g, base, t0, local(k.maskOff(kw, c, l)))
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
		for c := range im2colChunks {
			for l := range k.loads() {
				// first input column of the load
				g.MOVQ(operand.U32(kw), x)
				g.IMULQ(a.field(iT, "DW", 0), x)
				g.ADDQ(a.field(iT, "IX", 0), x)
				if off := lanes * (c*k.stride + l); off > 0 {
					g.ADDQ(operand.U32(off), x)
				}
				// lanes feeding pixels: stride*(N-lanes*c) - lanes*l, clamped to [0, lanes]
				g.MOVQ(a.field(iT, "N", 0), n)
				g.SUBQ(operand.U32(lanes*c), n)
				if k.stride == 2 {
					g.SHLQ(operand.U8(1), n)
				}
				if l > 0 {
					g.SUBQ(operand.U32(lanes*l), n)
				}
				clampTo(n, operand.U32(lanes))
				// valid lanes [-x, W-x), within [0, n)
				g.MOVQ(x, lo)
				g.NEGQ(lo)
				clampTo(lo, n)
				g.MOVQ(a.field(iT, "W", 0), hi)
				g.SUBQ(x, hi)
				clampTo(hi, n)
				k.isa.laneRange(g, lo, hi, base, t0, t1, local(k.maskOff(kw, c, l)))
			}
		}
	}
	g.Label(done)
}
