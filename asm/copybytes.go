package main

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// copyBytesBlock mirrors runtime.CopyBytes, the strided byte-row copy
// the int8 in-place convolution moves its band rows with.
var copyBytesBlock = newArgBlock("CopyBytes",
	field("Dst", u8Slice), field("Src", u8Slice),
	field("Rows", intT), field("Cols", intT), field("DLD", intT), field("SLD", intT),
	field("Planes", intT), field("DPS", intT), field("SPS", intT),
)

// copyBytesName is the AVX-512 byte-row copy's Go name: per row, 64-byte
// vectors, the last masked (AVX512BW byte masks, BZHI).
const copyBytesName = "copyBytesRowsAVX512"

// Registers of the byte-row copy.
var (
	cbT      = reg.RDI // *CopyBytes
	cbSrc    = reg.RSI // the row's source
	cbDst    = reg.R9  // the row's destination
	cbRows   = reg.R8  // rows left in the plane
	cbPlanes = reg.R13 // planes left
	cbLeft   = reg.RCX // whole vectors left in the row
	cbOff    = reg.RAX // the column offset
	cbSLD    = reg.R10
	cbDLD    = reg.R11
	cbFull   = reg.R12 // whole vectors per row
	cbSrc0   = reg.RDX // the plane's first source row
	cbDst0   = reg.RBX // the plane's first destination row
)

func buildCopyBytes(g *gen) {
	doc := []string{
		copyBytesName + " is the runtime.CopyBytes contract on AVX-512: per row, 64-byte vectors, the last",
		"masked. Registers: DI *CopyBytes, SI/R9 the row's source and destination, R8 rows left,",
		"R13 planes left, CX whole vectors left, AX the column offset, R10/R11 SLD/DLD, R12 whole",
		"vectors per row, DX/BX the plane's first rows, Z0 the data, K1 the tail's mask.",
	}
	g.function(copyBytesName, copyBytesBlock, doc...)
	g.Comment(doc[1:]...)
	a := copyBytesBlock
	done, plane, row, step, tail, next := g.label("done"), g.label("plane"), g.label("row"), g.label("step"), g.label("tail"), g.label("next")
	g.Load(g.Param("t"), cbT)
	g.MOVQ(a.field(cbT, "Rows", 0), cbRows)
	g.TESTQ(cbRows, cbRows)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(cbT, "Planes", 0), cbPlanes)
	g.TESTQ(cbPlanes, cbPlanes)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(cbT, "SLD", 0), cbSLD)
	g.MOVQ(a.field(cbT, "DLD", 0), cbDLD)
	// whole vectors per row, and the tail's mask of Cols mod 64 bytes
	g.MOVQ(a.field(cbT, "Cols", 0), cbFull)
	g.MOVQ(cbFull, cbOff)
	g.ANDQ(operand.U32(63), cbOff)
	g.SHRQ(operand.U8(6), cbFull)
	g.MOVQ(operand.Imm(^uint64(0)), cbLeft)
	g.BZHIQ(cbOff, cbLeft, cbLeft)
	g.KMOVQ(cbLeft, reg.K1)
	g.MOVQ(a.field(cbT, "Src", 0), cbSrc)
	g.MOVQ(a.field(cbT, "Dst", 0), cbDst)
	g.Label(plane)
	g.MOVQ(cbSrc, cbSrc0)
	g.MOVQ(cbDst, cbDst0)
	g.MOVQ(a.field(cbT, "Rows", 0), cbRows)
	g.Label(row)
	g.XORQ(cbOff, cbOff)
	g.MOVQ(cbFull, cbLeft)
	g.TESTQ(cbLeft, cbLeft)
	g.JZ(operand.LabelRef(tail))
	g.Label(step)
	g.VMOVDQU8(mem(cbSrc, 0, cbOff, 1), reg.Z0)
	g.VMOVDQU8(reg.Z0, mem(cbDst, 0, cbOff, 1))
	g.ADDQ(operand.U32(64), cbOff)
	g.DECQ(cbLeft)
	g.JNZ(operand.LabelRef(step))
	g.Label(tail)
	g.KORTESTQ(reg.K1, reg.K1)
	g.JZ(operand.LabelRef(next))
	g.VMOVDQU8_Z(mem(cbSrc, 0, cbOff, 1), reg.K1, reg.Z0)
	g.VMOVDQU8(reg.Z0, reg.K1, mem(cbDst, 0, cbOff, 1))
	g.Label(next)
	g.ADDQ(cbSLD, cbSrc)
	g.ADDQ(cbDLD, cbDst)
	g.DECQ(cbRows)
	g.JNZ(operand.LabelRef(row))
	g.DECQ(cbPlanes)
	g.JZ(operand.LabelRef(done))
	g.MOVQ(a.field(cbT, "SPS", 0), cbSrc)
	g.ADDQ(cbSrc0, cbSrc)
	g.MOVQ(a.field(cbT, "DPS", 0), cbDst)
	g.ADDQ(cbDst0, cbDst)
	g.JMP(operand.LabelRef(plane))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}
