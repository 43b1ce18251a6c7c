package main

import (
	"fmt"
	"go/types"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// dwTapsBlock mirrors runtime.DWTaps, the depthwise tap kernel contract.
var dwTapsBlock = newArgBlock("DWTaps",
	field("O", f32Slice), field("In", f32Slice), field("W", f32Slice), field("Off", types.NewSlice(intT)), field("Bias", f32Slice),
	field("C", intT), field("N", intT), field("T", intT), field("OStride", intT), field("IStride", intT),
	field("Lo", f32), field("Hi", f32),
)

// dwTapsKernel is a depthwise tap kernel of the runtime.DWTaps contract:
// per channel, blocks of unroll vectors of outputs (each tap's weight
// broadcast once for the block, its inputs the memory operands of the
// fused multiply-adds: unroll independent chains), then one block of the
// vectors left, the last one masked. A small plane (7x7: 73 flattened
// outputs) is one block: its 25 taps run over all of its vectors at once.
type dwTapsKernel struct {
	isa    *vecISA
	unroll int
}

var dwTapsKernels = []dwTapsKernel{{avx512, 8}, {avx2, 8}}

func (k dwTapsKernel) names() naming.Kernel {
	return naming.Kernel{Op: "dwconv", Variant: "Taps", MinMax: true, Shape: fmt.Sprintf("%dx%d", k.unroll, k.isa.lanes), ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template.
func (k dwTapsKernel) Name() string   { return k.names().Name() }
func (k dwTapsKernel) GoName() string { return k.names().GoName() }

// ISAName is the kernel's level, for the registry template.
func (k dwTapsKernel) ISAName() string { return k.isa.name }

// AVX2 mask table: 8 lanes of -1, then 8 of 0 (as actMaskTable).
var dwTapsMaskTable = operand.NewStaticSymbol("dwTapsMaskTable")

// buildDWTaps emits the tap kernels and the row copies that fill and
// empty their planes.
func buildDWTaps(g *gen) {
	g.maskTable(dwTapsMaskTable)
	g.StaticGlobal(copyEvenIdx.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 16 {
		g.AppendDatum(operand.U32(2 * i))
	}
	for _, k := range dwTapsKernels {
		k.emit(g)
	}
	for _, k := range copyRowsKernels {
		k.emit(g)
	}
	copyBytesKernel.emit(g)
}

// Registers of the tap kernels.
var (
	tT      = reg.RDI // *DWTaps
	tChans  = reg.R8  // channels left
	tIn     = reg.RSI // the channel's input
	tOut    = reg.RDX // the channel's output
	tW      = reg.R11 // the channel's weights
	tBias   = reg.R12 // the channel's bias
	tOffs   = reg.R9  // Off
	tTaps   = reg.R10 // T
	tQ      = reg.RAX // the current output, in bytes from the channel's first
	tLeft   = reg.RCX // outputs left in the channel
	tTap    = reg.RBX // the current tap
	tSource = reg.R13 // the current tap's inputs
)

// Vector registers: accumulators from 0, then the tap's weight, the
// bias, Lo and Hi, and on AVX2 a loaded input and the tail mask.
func (k dwTapsKernel) acc(i int) reg.VecPhysical { return k.isa.regs[i] }
func (k dwTapsKernel) wt() reg.VecPhysical       { return k.isa.regs[k.unroll] }
func (k dwTapsKernel) bias() reg.VecPhysical     { return k.isa.regs[k.unroll+1] }
func (k dwTapsKernel) lo() reg.VecPhysical       { return k.isa.regs[k.unroll+2] }
func (k dwTapsKernel) hi() reg.VecPhysical       { return k.isa.regs[k.unroll+3] }
func (k dwTapsKernel) tmp() reg.VecPhysical      { return k.isa.regs[k.unroll+4] }
func (k dwTapsKernel) mask() reg.VecPhysical     { return k.isa.regs[k.unroll+5] }

func (k dwTapsKernel) emit(g *gen) {
	name := k.GoName()
	doc := []string{
		fmt.Sprintf("%s is %s: the runtime.DWTaps contract, blocks of %d vectors of %d outputs,", name, k.Name(), k.unroll, k.isa.lanes),
		"then one block of the vectors left, the last masked; each tap's weight broadcast once per",
		"block, its inputs the memory operands of the fused multiply-adds.",
		fmt.Sprintf("Registers: %s.. the accumulators, then the weight, the bias, Lo, Hi (and on AVX2",
			k.acc(0).Asm()),
		"an input and the tail mask); DI *DWTaps, R8 channels left, SI/DX/R11/R12 the channel's",
		"input, output, weights and bias, R9 Off, R10 T, AX the output offset in bytes, CX",
		"outputs left, BX the tap, R13 its inputs; K1 the last vector's mask on AVX-512.",
	}
	g.function(name, dwTapsBlock, doc...)
	g.Comment(doc[3:]...)
	a := dwTapsBlock
	g.Load(g.Param("t"), tT)
	done := g.label("done")
	g.MOVQ(a.field(tT, "C", 0), tChans)
	g.TESTQ(tChans, tChans)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(tT, "In", 0), tIn)
	g.MOVQ(a.field(tT, "O", 0), tOut)
	g.MOVQ(a.field(tT, "W", 0), tW)
	g.MOVQ(a.field(tT, "Bias", 0), tBias)
	g.MOVQ(a.field(tT, "Off", 0), tOffs)
	g.MOVQ(a.field(tT, "T", 0), tTaps)
	g.VBROADCASTSS(a.field(tT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(tT, "Hi", 0), k.hi())

	lanes, vb, u := k.isa.lanes, k.isa.bytes(), k.unroll
	channel, nextChannel := g.label("channel"), g.label("nextchannel")
	g.Label(channel)
	g.VBROADCASTSS(at(tBias, 0), k.bias())
	g.XORQ(tQ, tQ)
	g.MOVQ(a.field(tT, "N", 0), tLeft)
	// whole blocks
	block, rest := g.label("block"), g.label("rest")
	g.Label(block)
	g.CMPQ(tLeft, operand.Imm(uint64(u*lanes)))
	g.JL(operand.LabelRef(rest))
	k.sums(g, u, false)
	for i := range u {
		k.clampStore(g, k.acc(i), i*vb, false)
	}
	g.ADDQ(operand.U32(u*vb), tQ)
	g.SUBQ(operand.U32(u*lanes), tLeft)
	g.JMP(operand.LabelRef(block))
	// the rest: r = ceil(left/lanes) vectors, the last one masked to
	// left - (r-1)*lanes lanes
	g.Label(rest)
	g.TESTQ(tLeft, tLeft)
	g.JLE(operand.LabelRef(nextChannel))
	g.MOVQ(tLeft, tTap)
	g.ANDQ(operand.U32(lanes-1), tTap) // lanes of the last vector, 0 for all
	g.MOVQ(operand.U32(lanes), tSource)
	g.TESTQ(tTap, tTap)
	g.CMOVQEQ(tSource, tTap)
	if k.isa == avx512 {
		g.firstLanes(tTap, tSource, reg.K1)
	} else {
		g.firstLanesAVX2(dwTapsMaskTable, tTap, tSource, k.mask())
	}
	// dispatch on the vector count, left in (0, u*lanes)
	labels := make([]string, u+1)
	for r := 1; r <= u; r++ {
		labels[r] = g.label(fmt.Sprintf("rest%d", r))
	}
	for r := 1; r < u; r++ {
		g.CMPQ(tLeft, operand.Imm(uint64(r*lanes)))
		g.JLE(operand.LabelRef(labels[r]))
	}
	for r := u; r >= 1; r-- {
		g.Label(labels[r])
		k.sums(g, r, true)
		for i := range r {
			k.clampStore(g, k.acc(i), i*vb, i == r-1)
		}
		g.JMP(operand.LabelRef(nextChannel))
	}
	// the next channel
	g.Label(nextChannel)
	g.MOVQ(a.field(tT, "IStride", 0), tSource)
	g.LEAQ(mem(tIn, 0, tSource, 4), tIn)
	g.MOVQ(a.field(tT, "OStride", 0), tSource)
	g.LEAQ(mem(tOut, 0, tSource, 4), tOut)
	g.LEAQ(mem(tW, 0, tTaps, 4), tW)
	g.ADDQ(operand.U32(4), tBias)
	g.DECQ(tChans)
	g.JNZ(operand.LabelRef(channel))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// sums sets accumulators 0..n-1 to the bias plus the taps' products for
// the n vectors of outputs from tQ (masked: the last vector's lanes past
// the mask not read).
func (k dwTapsKernel) sums(g *gen, n int, masked bool) {
	for i := range n {
		g.VMOVAPS(k.bias(), k.acc(i))
	}
	tap := g.label("tap")
	g.XORQ(tTap, tTap)
	g.Label(tap)
	g.MOVQ(mem(tOffs, 0, tTap, 8), tSource)
	g.LEAQ(mem(tIn, 0, tSource, 4), tSource)
	g.ADDQ(tQ, tSource)
	g.VBROADCASTSS(mem(tW, 0, tTap, 4), k.wt())
	vb := k.isa.bytes()
	for i := range n {
		switch {
		case !masked || i < n-1:
			g.VFMADD231PS(at(tSource, i*vb), k.wt(), k.acc(i))
		case k.isa == avx512:
			g.VFMADD231PS(at(tSource, i*vb), k.wt(), reg.K1, k.acc(i))
		default:
			g.VMASKMOVPS(at(tSource, i*vb), k.mask(), k.tmp())
			g.VFMADD231PS(k.tmp(), k.wt(), k.acc(i))
		}
	}
	g.INCQ(tTap)
	g.CMPQ(tTap, tTaps)
	g.JL(operand.LabelRef(tap))
}

// clampStore clamps acc to [Lo, Hi] and stores it at the output vector
// disp bytes past tQ (masked: the rest's lanes only).
func (k dwTapsKernel) clampStore(g *gen, acc reg.VecPhysical, disp int, masked bool) {
	g.VMAXPS(acc, k.lo(), acc)
	g.VMINPS(acc, k.hi(), acc)
	dst := mem(tOut, disp, tQ, 1)
	switch {
	case !masked:
		g.VMOVUPS(acc, dst)
	case k.isa == avx512:
		g.VMOVUPS(acc, reg.K1, dst)
	default:
		g.VMASKMOVPS(acc, k.mask(), dst)
	}
}

// copyRowsBlock mirrors runtime.CopyRows, the strided row copy the tap
// kernel's planes are filled and emptied with.
var copyRowsBlock = newArgBlock("CopyRows",
	field("Dst", f32Slice), field("Src", f32Slice),
	field("Rows", intT), field("Cols", intT), field("DLD", intT), field("SLD", intT), field("SS", intT),
	field("Planes", intT), field("DPS", intT), field("SPS", intT),
)

// copyBytesBlock mirrors runtime.CopyBytes, the same copy of bytes (the
// int8 in-place convolution's band rows).
var copyBytesBlock = newArgBlock("CopyBytes",
	field("Dst", u8Slice), field("Src", u8Slice),
	field("Rows", intT), field("Cols", intT), field("DLD", intT), field("SLD", intT),
	field("Planes", intT), field("DPS", intT), field("SPS", intT),
)

// copyRowsKernel is a kernel of the runtime.CopyRows contract for source
// column stride 1 and (AVX-512) 2, or with bytes of runtime.CopyBytes:
// per row, vectors of outputs, the last masked; at stride 2 two source
// vectors per output vector, their even lanes picked by a two-source
// permute. The masks and strides depend on the call only, so they are
// set once, and a row of a narrow map (a tap's run of output pixels)
// costs a few instructions.
type copyRowsKernel struct {
	isa   *vecISA
	bytes bool // CopyBytes: AVX-512 only (byte masks, AVX512BW)
}

var copyRowsKernels = []copyRowsKernel{{isa: avx512}, {isa: avx2}}

// copyBytesKernel is the byte-row copy (runtime.CopyBytes).
var copyBytesKernel = copyRowsKernel{isa: avx512, bytes: true}

func (k copyRowsKernel) names() naming.Kernel {
	n := naming.Kernel{Op: "copy", Shape: "Rows", ISA: k.isa.name}
	if k.bytes {
		n.Type = "u8"
	}
	return n
}

// Name, GoName, ISAName and Strided are for the registry template.
func (k copyRowsKernel) Name() string    { return k.names().Name() }
func (k copyRowsKernel) GoName() string  { return k.names().GoName() }
func (k copyRowsKernel) ISAName() string { return k.isa.name }
func (k copyRowsKernel) Strided() bool   { return k.isa == avx512 && !k.bytes }

// block is the kernel's argument block; elem the bytes of an element,
// lanes the elements of a vector.
func (k copyRowsKernel) block() *argBlock {
	if k.bytes {
		return copyBytesBlock
	}
	return copyRowsBlock
}

func (k copyRowsKernel) elem() int {
	if k.bytes {
		return 1
	}
	return 4
}

func (k copyRowsKernel) lanes() int { return k.isa.bytes() / k.elem() }

// move emits a vector move of the kernel's elements under mask (nil for
// none), zeroing the lanes it clears when loading.
func (k copyRowsKernel) move(g *gen, src, dst operand.Op, mask reg.OpmaskPhysical, load bool) {
	switch {
	case mask == nil && k.bytes:
		g.VMOVDQU8(src, dst)
	case mask == nil:
		g.VMOVUPS(src, dst)
	case load && k.bytes:
		g.VMOVDQU8_Z(src, mask, dst)
	case load:
		g.VMOVUPS_Z(src, mask, dst)
	case k.bytes:
		g.VMOVDQU8(src, mask, dst)
	default:
		g.VMOVUPS(src, mask, dst)
	}
}

// copyEvenIdx are VPERMT2PS indices picking lanes 0, 2, ..., 30 of two
// vectors.
var copyEvenIdx = operand.NewStaticSymbol("copyEvenIdx")

// Registers of the row copy.
var (
	crT      = reg.RDI // *CopyRows or *CopyBytes
	crSrc    = reg.RSI // the source row
	crDst    = reg.R9  // the destination row
	crRows   = reg.R8  // rows left in the plane
	crPlanes = reg.R13 // planes left
	crLeft   = reg.RCX // whole vectors left in the row
	crOff    = reg.RAX // the destination column offset in bytes
	crSLD    = reg.R10 // SLD in bytes
	crDLD    = reg.R11 // DLD in bytes
	crFull   = reg.R12 // whole vectors per row
	crSrc0   = reg.RDX // the plane's first source row
	crDst0   = reg.RBX // the plane's first destination row
)

func (k copyRowsKernel) emit(g *gen) {
	name := k.GoName()
	contract := "the runtime.CopyRows contract at source column stride 1"
	switch {
	case k.bytes:
		contract = "the runtime.CopyBytes contract"
	case k.Strided():
		contract += " and 2"
	}
	doc := []string{
		fmt.Sprintf("%s is %s: %s.", name, k.Name(), contract),
		"Registers: DI *CopyRows, SI the source row, R9 the destination row, R8 rows left,",
		"R13 planes left, CX whole vectors left, AX the column offset in bytes, R10/R11 SLD/DLD",
		"in bytes, R12 whole vectors per row, DX/BX the plane's first rows; the first vector",
	}
	if k.isa == avx512 {
		doc = append(doc, "registers the data, the fifth the even-lane indices; K1 the tail's store mask,",
			"K2/K3 its stride-2 load masks, K4/K5 a whole vector's.")
	} else {
		doc = append(doc, "registers the data, the sixth the tail mask.")
	}
	g.function(name, k.block(), doc...)
	g.Comment(doc[1:]...)
	a := k.block()
	done := g.label("done")
	g.Load(g.Param("t"), crT)
	g.MOVQ(a.field(crT, "Rows", 0), crRows)
	g.TESTQ(crRows, crRows)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(crT, "Planes", 0), crPlanes)
	g.TESTQ(crPlanes, crPlanes)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(a.field(crT, "SLD", 0), crSLD)
	g.MOVQ(a.field(crT, "DLD", 0), crDLD)
	if k.elem() == 4 {
		g.SHLQ(operand.U8(2), crSLD)
		g.SHLQ(operand.U8(2), crDLD)
	}
	if k.Strided() {
		strided := g.label("strided")
		g.CMPQ(a.field(crT, "SS", 0), operand.Imm(2))
		g.JEQ(operand.LabelRef(strided))
		k.masks(g, 1)
		k.rowLoop(g, 1, done)
		g.Label(strided)
		g.VMOVUPS(operand.NewDataAddr(copyEvenIdx, 0), k.isa.regs[4])
		k.masks(g, 2)
		k.rowLoop(g, 2, done)
	} else {
		k.masks(g, 1)
		k.rowLoop(g, 1, done)
	}
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// masks sets the whole vectors per row (crFull) and the masks of the
// row's tail of m = Cols mod lanes outputs at source column stride ss:
// its store mask, and at stride 2 the masks of its 2m-1 source columns
// and those of a whole vector's 31, so nothing past a row is read.
func (k copyRowsKernel) masks(g *gen, ss int) {
	a := k.block()
	lanes := k.lanes()
	m, t := crOff, crLeft // scratch until the rows
	g.MOVQ(a.field(crT, "Cols", 0), crFull)
	g.MOVQ(crFull, m)
	g.ANDQ(operand.U32(lanes-1), m)
	g.SHRQ(operand.U8(log2(lanes)), crFull)
	switch {
	case k.isa != avx512:
		g.firstLanesAVX2(dwTapsMaskTable, m, t, k.isa.regs[5])
		return
	case k.bytes:
		// 64 lanes: a quadword mask
		g.MOVQ(operand.Imm(^uint64(0)), t)
		g.BZHIQ(m, t, t)
		g.KMOVQ(t, reg.K1)
		return
	}
	g.firstLanes(m, t, reg.K1)
	if ss == 1 {
		return
	}
	// the tail's 2m-1 source columns (none when m is 0): the first
	// vector's min(2m-1, 16), the second's the rest
	sixteen, zero := crSrc0, crDst0
	g.MOVQ(operand.U32(16), sixteen)
	g.XORQ(zero, zero)
	g.LEAQ(mem(m, -1, m, 1), m)
	g.MOVQ(m, t)
	g.clampQ(t, zero, sixteen)
	g.firstLanes(t, crDst, reg.K2)
	g.SUBQ(sixteen, m)
	g.maxQ(m, zero)
	g.firstLanes(m, crDst, reg.K3)
	g.MOVL(operand.U32(0xffff), crDst0.As32())
	g.KMOVW(crDst0.As32(), reg.K4)
	g.MOVL(operand.U32(0x7fff), crDst0.As32())
	g.KMOVW(crDst0.As32(), reg.K5)
}

// rowLoop emits the loop over the planes and rows at source column
// stride ss, jumping to done at the end.
func (k copyRowsKernel) rowLoop(g *gen, ss int, done string) {
	a := k.block()
	v, vb := k.isa.regs, k.isa.bytes()
	idx, mask := v[4], v[5]
	plane, row, step, tail, next := g.label("plane"), g.label("row"), g.label("step"), g.label("tail"), g.label("next")
	g.MOVQ(a.field(crT, "Src", 0), crSrc)
	g.MOVQ(a.field(crT, "Dst", 0), crDst)
	g.Label(plane)
	g.MOVQ(crSrc, crSrc0)
	g.MOVQ(crDst, crDst0)
	g.MOVQ(a.field(crT, "Rows", 0), crRows)
	g.Label(row)
	g.XORQ(crOff, crOff)
	g.MOVQ(crFull, crLeft)
	g.TESTQ(crLeft, crLeft)
	g.JZ(operand.LabelRef(tail))
	g.Label(step)
	if ss == 1 {
		k.move(g, mem(crSrc, 0, crOff, 1), v[0], nil, true)
	} else {
		g.VMOVUPS_Z(mem(crSrc, 0, crOff, 2), reg.K4, v[0])
		g.VMOVUPS_Z(mem(crSrc, 64, crOff, 2), reg.K5, v[1])
		g.VPERMT2PS(v[1], idx, v[0])
	}
	k.move(g, v[0], mem(crDst, 0, crOff, 1), nil, false)
	g.ADDQ(operand.U32(vb), crOff)
	g.DECQ(crLeft)
	g.JNZ(operand.LabelRef(step))
	g.Label(tail)
	if k.isa == avx512 {
		if k.bytes {
			g.KORTESTQ(reg.K1, reg.K1)
		} else {
			g.KORTESTW(reg.K1, reg.K1)
		}
		g.JZ(operand.LabelRef(next))
		if ss == 1 {
			k.move(g, mem(crSrc, 0, crOff, 1), v[0], reg.K1, true)
		} else {
			g.VMOVUPS_Z(mem(crSrc, 0, crOff, 2), reg.K2, v[0])
			g.VMOVUPS_Z(mem(crSrc, 64, crOff, 2), reg.K3, v[1])
			g.VPERMT2PS(v[1], idx, v[0])
		}
		k.move(g, v[0], mem(crDst, 0, crOff, 1), reg.K1, false)
	} else {
		g.VMASKMOVPS(mem(crSrc, 0, crOff, 1), mask, v[0])
		g.VMASKMOVPS(v[0], mask, mem(crDst, 0, crOff, 1))
	}
	g.Label(next)
	g.ADDQ(crSLD, crSrc)
	g.ADDQ(crDLD, crDst)
	g.DECQ(crRows)
	g.JNZ(operand.LabelRef(row))
	// the next plane: SPS and DPS from the plane's first rows
	g.DECQ(crPlanes)
	g.JZ(operand.LabelRef(done))
	g.MOVQ(a.field(crT, "SPS", 0), crSrc)
	g.LEAQ(mem(crSrc0, 0, crSrc, uint8(k.elem())), crSrc)
	g.MOVQ(a.field(crT, "DPS", 0), crDst)
	g.LEAQ(mem(crDst0, 0, crDst, uint8(k.elem())), crDst)
	g.JMP(operand.LabelRef(plane))
}
