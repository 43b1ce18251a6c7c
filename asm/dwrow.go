package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// dwRowKernel is a 3x3 depthwise row kernel implementing runtime.DWRow for
// one horizontal stride: one output row from three padded input rows,
// with the bias, residual and clamp fused.
type dwRowKernel struct {
	isa    *vecISA
	stride int // 1 or 2
}

// dwRowKernels is the table the row kernels and their registration are
// generated from.
var dwRowKernels = []dwRowKernel{
	{avx512, 1}, {avx512, 2},
	{avx2, 1}, {avx2, 2},
}

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k dwRowKernel) names() naming.Kernel {
	return naming.Kernel{Op: "dwconv", MinMax: true, Shape: fmt.Sprintf("3x3s%d", k.stride), ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k dwRowKernel) Name() string   { return k.names().Name() }
func (k dwRowKernel) GoName() string { return k.names().GoName() }

// General-purpose registers of the depthwise kernels.
var (
	dT      = reg.RDI                                   // *DWRow
	dIn     = []reg.GPPhysical{reg.RSI, reg.R8, reg.R9} // the block's inputs in R0, R1, R2
	dOutCol = reg.R12                                   // the block's outputs
	dResCol = reg.R13                                   // the block's residual
	dLeft   = reg.RCX                                   // outputs left
	dMask   = reg.R11                                   // mask bits or mask-table pointer of the tail
)

// Vector registers: the nine taps, the bias, the clamp bounds.
func (k dwRowKernel) w(i int) reg.VecPhysical { return k.isa.regs[i] }
func (k dwRowKernel) bias() reg.VecPhysical   { return k.isa.regs[9] }
func (k dwRowKernel) lo() reg.VecPhysical     { return k.isa.regs[10] }
func (k dwRowKernel) hi() reg.VecPhysical     { return k.isa.regs[11] }

// work returns work register i: Y12..Y15 on AVX2 (Y15 is scratch in
// ABI0, see avx2), Z16.. on AVX-512.
func (k dwRowKernel) work(i int) reg.VecPhysical {
	if k.isa == avx512 {
		return k.isa.regs[16+i]
	}
	return k.isa.regs[12+i]
}

// AVX-512 stride 2: permutation indices of the even and odd elements of
// two registers (Z12, Z13).
func (k dwRowKernel) idxEven() reg.VecPhysical { return k.isa.regs[12] }
func (k dwRowKernel) idxOdd() reg.VecPhysical  { return k.isa.regs[13] }

// Masks: AVX-512 opmasks; AVX2 loads a lane mask from the table.
var (
	kOut = reg.K1 // valid outputs of a tail block
	kLo  = reg.K2 // valid inputs in the first register of a stride-2 tail
	kHi  = reg.K3 // and in the second
)

func (k dwRowKernel) registerDoc() []string {
	lines := []string{
		fmt.Sprintf("Registers: %s..%s the nine taps, %s the bias, %s/%s Lo/Hi,",
			k.w(0).Asm(), k.w(8).Asm(), k.bias().Asm(), k.lo().Asm(), k.hi().Asm()),
	}
	if k.isa == avx512 {
		lines = append(lines,
			fmt.Sprintf("%s.. the accumulator and loaded inputs, K1 the valid outputs of a tail", k.work(0).Asm()))
		if k.stride == 2 {
			lines = append(lines, "block, K2/K3 its valid inputs, Z12/Z13 the even/odd permutations;")
		} else {
			lines = append(lines, "block;")
		}
	} else {
		lines = append(lines, "Y12 the accumulator, Y13..Y15 inputs and tail masks (Y15: X15 is",
			"scratch in ABI0 and the caller re-zeroes it);")
	}
	return append(lines,
		"DI *DWRow, SI/R8/R9 the block's inputs in R0/R1/R2, R12/R13 its outputs/residual,",
		"CX outputs left, R11 the tail's masks, AX scratch.")
}

func (k dwRowKernel) emit(g *gen) {
	doc := []string{
		fmt.Sprintf("%s is %s: the DWRow contract at Stride %d,", k.GoName(), k.Name(), k.stride),
		fmt.Sprintf("%d outputs per vector; the taps summed in row-major order with fused", k.isa.lanes),
		"multiply-adds (the first a product); tails masked, never reading outside the rows.",
	}
	g.function(k.GoName(), dwRowBlock, append(doc, k.registerDoc()...)...)
	g.Comment(k.registerDoc()...)
	a := dwRowBlock
	g.Load(g.Param("t"), dT)
	g.MOVQ(a.field(dT, "W", 0), reg.RAX)
	for i := range 9 {
		g.VBROADCASTSS(at(reg.RAX, 4*i), k.w(i))
	}
	g.VBROADCASTSS(a.field(dT, "Bias", 0), k.bias())
	g.VBROADCASTSS(a.field(dT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(dT, "Hi", 0), k.hi())
	if k.isa == avx512 && k.stride == 2 {
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 0), k.idxEven())
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 64), k.idxOdd())
	}
	for i, r := range []string{"R0", "R1", "R2"} {
		g.MOVQ(a.field(dT, r, 0), dIn[i])
	}
	g.MOVQ(a.field(dT, "O", 0), dOutCol)
	g.MOVQ(a.field(dT, "O", 8), dLeft) // len(O)
	g.MOVQ(a.field(dT, "Res", 0), dResCol)
	g.ifNotNil(dResCol, func(res bool) { k.row(g, res) })
	g.VZEROUPPER()
	g.RET()
}

// fullMin is the fewest outputs left for which a whole unmasked block
// stays inside the rows: an AVX2 stride-2 block reads two floats past its
// last output's window.
func (k dwRowKernel) fullMin() int {
	if k.isa == avx2 && k.stride == 2 {
		return k.isa.lanes + 1
	}
	return k.isa.lanes
}

// row emits the loop over the row's blocks, with or without a residual:
// k.unroll() whole blocks at a time, then single ones, then the tail.
func (k dwRowKernel) row(g *gen, res bool) {
	lanes := k.isa.lanes
	end := g.label("end")
	for _, slots := range []int{k.unroll(), 1} {
		if slots == 1 && k.unroll() == 1 && k.unroll() != slots {
			continue
		}
		loop, next := g.label("blocks"), g.label("next")
		least := k.fullMin() + (slots-1)*lanes
		g.CMPQ(dLeft, operand.Imm(uint64(least)))
		g.JL(operand.LabelRef(next))
		g.Label(loop)
		k.block(g, res, false, slots)
		for _, r := range dIn {
			g.ADDQ(operand.U32(4*slots*lanes*k.stride), r)
		}
		g.ADDQ(operand.U32(4*slots*lanes), dOutCol)
		if res {
			g.ADDQ(operand.U32(4*slots*lanes), dResCol)
		}
		g.SUBQ(operand.U32(slots*lanes), dLeft)
		g.CMPQ(dLeft, operand.Imm(uint64(least)))
		g.JGE(operand.LabelRef(loop))
		g.Label(next)
		if k.unroll() == 1 {
			break
		}
	}
	g.TESTQ(dLeft, dLeft)
	g.JLE(operand.LabelRef(end))
	k.block(g, res, true, 1)
	g.Label(end)
}

// inRow returns the address of the block's input in row ky, plus disp
// bytes.
func inRow(ky, disp int) operand.Mem { return at(dIn[ky], disp) }

// block emits one block of outputs: a whole vector, or (tail) the dLeft
// outputs left, fewer than fullMin.
func (k dwRowKernel) block(g *gen, res, tail bool, slots int) {
	if tail {
		k.tailMasks(g)
	}
	per := k.slotRegs()
	work := func(s, i int) reg.VecPhysical { return k.work(s*per + i) }
	in := func(s, ky, disp int) operand.Mem { return inRow(ky, disp+4*s*k.isa.lanes*k.stride) }
	// tap multiplies inputs x by tap i into slot s's accumulator: the
	// first tap starts the sum, the others are fused multiply-adds in
	// order.
	tap := func(s, i int, x operand.Op, masked bool) {
		acc := work(s, 0)
		switch {
		case i == 0 && masked:
			g.VMULPS_Z(x, k.w(0), kOut, acc)
		case i == 0:
			g.VMULPS(x, k.w(0), acc)
		case masked:
			g.VFMADD231PS(x, k.w(i), kOut, acc)
		default:
			g.VFMADD231PS(x, k.w(i), acc)
		}
	}
	switch {
	case k.stride == 1 && k.isa == avx512:
		for i := range 9 {
			for s := range slots {
				tap(s, i, in(s, i/3, 4*(i%3)), tail)
			}
		}
	case k.stride == 1: // AVX2
		x, m := k.work(1), k.work(2)
		if tail {
			g.VMOVUPS(at(dMask, 0), m)
		}
		for i := range 9 {
			for s := range slots {
				src := in(s, i/3, 4*(i%3))
				if tail {
					g.VMASKMOVPS(src, m, x)
					tap(s, i, x, false)
				} else {
					tap(s, i, src, false)
				}
			}
		}
	case k.isa == avx512: // stride 2
		for ky := range 3 {
			for s := range slots {
				l0, l1, e0, e1 := work(s, 1), work(s, 2), work(s, 3), work(s, 4)
				if tail {
					g.VMOVUPS_Z(in(s, ky, 0), kLo, l0)
					g.VMOVUPS_Z(in(s, ky, 64), kHi, l1)
				} else {
					g.VMOVUPS(in(s, ky, 0), l0)
					g.VMOVUPS(in(s, ky, 64), l1)
					g.VBROADCASTSS(in(s, ky, 128), e1) // the element after the last pair
				}
				g.VMOVAPS(l0, e0)
				g.VPERMT2PS(l1, k.idxEven(), e0) // inputs 0, 2, .., 30
				g.VPERMT2PS(l1, k.idxOdd(), l0)  // inputs 1, 3, .., 31
				if tail {
					g.VALIGND(operand.U8(1), e0, e0, e1) // inputs 2, 4, .. (last lane unused)
				} else {
					g.VALIGND(operand.U8(1), e0, e1, e1) // inputs 2, 4, .., 32
				}
			}
			for s := range slots {
				tap(s, 3*ky, work(s, 3), false)
				tap(s, 3*ky+1, work(s, 1), false)
				tap(s, 3*ky+2, work(s, 4), false)
			}
		}
	default: // AVX2 stride 2, in the lane order of VSHUFPS, undone below
		if slots != 1 {
			panic("AVX2 stride 2 has registers for one block")
		}
		acc, l0, l1, x := k.work(0), k.work(1), k.work(2), k.work(3)
		load := func(ky, disp int, dst reg.VecPhysical) {
			if !tail {
				g.VMOVUPS(inRow(ky, disp), dst)
				return
			}
			// the mask of the inputs left from disp: the pointer to the
			// mask of 2*left+1 inputs, plus disp
			g.VMOVUPS(at(dMask, disp), x)
			g.VMASKMOVPS(inRow(ky, disp), x, dst)
		}
		for ky := range 3 {
			for kx, disp := range []int{0, 4, 8} {
				if kx != 1 {
					load(ky, disp, l0)
					load(ky, disp+32, l1)
				}
				imm := uint8(0x88) // even lanes of each pair of 128-bit halves
				if kx == 1 {
					imm = 0xdd // odd lanes
				}
				g.VSHUFPS(operand.U8(imm), l1, l0, x)
				tap(0, 3*ky+kx, x, false)
			}
		}
		g.VPERMPD(operand.U8(0xd8), acc, acc) // lanes 0 1 4 5 2 3 6 7 back in order
	}
	for s := range slots {
		k.epilogueDW(g, res, tail, work(s, 0), 4*s*k.isa.lanes)
	}
}

// slotRegs is the number of work registers one block uses.
func (k dwRowKernel) slotRegs() int {
	switch {
	case k.stride == 1:
		return 1 // the accumulator; inputs are memory operands
	case k.isa == avx512:
		return 5 // accumulator, two loads, even and shifted-even inputs
	}
	return 4
}

// unroll is the number of whole blocks per iteration of the row loop:
// two independent 9-deep FMA chains where the registers allow.
func (k dwRowKernel) unroll() int {
	if k.isa == avx2 && k.stride == 2 {
		return 1
	}
	return 2
}

// tailMasks sets the tail block's masks from dLeft (destroying it).
func (k dwRowKernel) tailMasks(g *gen) {
	if k.isa == avx512 {
		g.MOVL(operand.U32(1), dMask.As32())
		g.SHLL(reg.CL, dMask.As32())
		g.DECL(dMask.As32())
		g.KMOVW(dMask.As32(), kOut)
		if k.stride == 2 {
			g.LEAL(mem(dLeft.As32(), 1, dLeft.As32(), 1), dLeft.As32()) // 2*left+1 inputs
			g.MOVL(operand.U32(1), dMask.As32())
			g.SHLL(reg.CL, dMask.As32())
			g.DECL(dMask.As32())
			g.KMOVW(dMask.As32(), kLo)
			g.SHRL(operand.U8(16), dMask.As32())
			g.KMOVW(dMask.As32(), kHi)
		}
		return
	}
	// AVX2: dMask points at the mask of the first n lanes, n = left
	// (stride 1) or 2*left+1 (stride 2).
	g.LEAQ(operand.NewDataAddr(dwMaskTable, 4*maskTableOnes), dMask)
	if k.stride == 1 {
		g.SHLQ(operand.U8(2), dLeft)
		g.SUBQ(dLeft, dMask)
		return
	}
	g.SHLQ(operand.U8(3), dLeft)
	g.SUBQ(dLeft, dMask)
	g.SUBQ(operand.U8(4), dMask)
}

// epilogueDW adds the bias and the residual, clamps and stores the block.
func (k dwRowKernel) epilogueDW(g *gen, res, tail bool, acc reg.VecPhysical, disp int) {
	g.VADDPS(k.bias(), acc, acc)
	var m reg.VecPhysical
	if tail && k.isa == avx2 {
		m = k.work(1)
		if k.stride == 2 { // mask of left outputs: from 2*left+1 back to left
			g.SHRQ(operand.U8(1), dLeft)
			g.LEAQ(mem(dMask, 4, dLeft, 1), dMask)
		}
		g.VMOVUPS(at(dMask, 0), m)
	}
	if res {
		switch {
		case !tail:
			g.VADDPS(at(dResCol, disp), acc, acc)
		case k.isa == avx512:
			g.VADDPS(at(dResCol, 0), acc, kOut, acc)
		default:
			x := k.work(2)
			g.VMASKMOVPS(at(dResCol, 0), m, x)
			g.VADDPS(x, acc, acc)
		}
	}
	g.VMAXPS(acc, k.lo(), acc)
	g.VMINPS(acc, k.hi(), acc)
	switch {
	case !tail:
		g.VMOVUPS(acc, at(dOutCol, disp))
	case k.isa == avx512:
		g.VMOVUPS(acc, kOut, at(dOutCol, 0))
	default:
		g.VMASKMOVPS(acc, m, at(dOutCol, 0))
	}
}

// Stride is the horizontal stride, for the registry template.
func (k dwRowKernel) Stride() int { return k.stride }
