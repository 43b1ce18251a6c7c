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

// buildDWTaps emits the tap kernels.
func buildDWTaps(g *gen) {
	g.StaticGlobal(dwTapsMaskTable.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 16 {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		g.AppendDatum(operand.U32(v))
	}
	for _, k := range dwTapsKernels {
		k.emit(g)
	}
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
		g.MOVL(operand.U32(0xffff), tSource.As32())
		g.BZHIL(tTap.As32(), tSource.As32(), tSource.As32())
		g.KMOVW(tSource.As32(), reg.K1)
	} else {
		g.LEAQ(operand.NewDataAddr(dwTapsMaskTable, 32), tSource)
		g.SHLQ(operand.U8(2), tTap)
		g.SUBQ(tTap, tSource)
		g.VMOVUPS(at(tSource, 0), k.mask())
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
