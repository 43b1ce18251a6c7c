package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// dwPlaneKernel is a 3x3 depthwise plane kernel implementing
// runtime.DWConv for one stride: whole output planes of several channels
// per call, the padding read as zeros without a padded copy (rows outside
// the plane read the Zero row; columns outside it are masked out of the
// loads). On AVX-512 a plane is computed in columns of 16 outputs, top to
// bottom (dwcolumn.go). The AVX2 kernels, with 16 registers, go row by
// row: a call sets up its edge-block masks once; each row then runs its
// interior blocks unmasked, two at a time (stride 1), and its edge blocks
// masked.
type dwPlaneKernel struct {
	isa    *vecISA
	stride int // 1 or 2
}

// dwPlaneKernels is the table the plane kernels and their registration
// are generated from.
var dwPlaneKernels = []dwPlaneKernel{
	{avx512, 1}, {avx512, 2},
	{avx2, 1}, {avx2, 2},
}

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k dwPlaneKernel) names() naming.Kernel {
	return naming.Kernel{Op: "dwconv", Variant: "Plane", MinMax: true, Shape: fmt.Sprintf("3x3s%d", k.stride), ISA: k.isa.name}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k dwPlaneKernel) Name() string   { return k.names().Name() }
func (k dwPlaneKernel) GoName() string { return k.names().GoName() }

// Stride is the stride, for the registry template.
func (k dwPlaneKernel) Stride() int { return k.stride }

// loadOffsets lists the masked loads of a block (an AVX2 edge block, or
// an AVX-512 column): the input offset (in floats, from the block's first
// window column) and the lane count of each. The loads of a whole block
// cover inputs up to reach().
func (k dwPlaneKernel) loadOffsets() [][2]int {
	l := k.isa.lanes
	switch {
	case k.isa == avx512 && k.stride == 1:
		return [][2]int{{0, l}, {l, 2}} // 16 inputs and the 2 after them
	case k.isa == avx512:
		return [][2]int{{0, l}, {l, l}, {2 * l, 1}} // two vectors and the element after them
	case k.stride == 1:
		return [][2]int{{0, l}, {1, l}, {2, l}} // one load per tap column
	}
	return [][2]int{{0, l}, {l, l}, {2, l}, {l + 2, l}} // the kx = 0, 1 pair, then kx = 2's
}

// reach is the last input a whole block reads, from its first window
// column.
func (k dwPlaneKernel) reach() int {
	r := 0
	for _, o := range k.loadOffsets() {
		r = max(r, o[0]+o[1]-1)
	}
	return r
}

// maxTail is the most edge blocks a row can end with (runtime.DWConv's
// contract bounds the right padding to 2 columns).
const maxTail = 3

// maskSlot is the size in bytes of an edge block's lane masks (vectors):
// the output mask first, then one per load.
func (k dwPlaneKernel) maskSlot() int {
	return (1 + len(k.loadOffsets())) * k.isa.bytes()
}

// Stack frame of the plane kernels (offsets in bytes).
const (
	pfC       = 0   // channels left
	pfRow     = 8   // current output row
	pfPlane   = 16  // the current channel's input plane
	pfOut     = 24  // the current output row
	pfRes     = 32  // the current residual row (0 without one)
	pfHead    = 40  // 1 if the row starts with an edge block
	pfFull    = 48  // interior blocks per row
	pfTail    = 56  // edge blocks ending the row
	pfInHdr   = 64  // the current channel's In slice header
	pfW       = 72  // the current channel's taps
	pfBias    = 80  // the current channel's bias
	pfOutBase = 88  // the current channel's output plane
	pfResBase = 96  // the current channel's residual plane
	pfBiasV   = 104 // the bias, Lo and Hi broadcast (32 bytes each)
	pfLoV     = 136
	pfHiV     = 168
	pfMasks   = 200
)

// frameSize is the kernel's stack frame: the fields above, then one mask
// slot for the head block and maxTail for the tail.
func (k dwPlaneKernel) frameSize() int {
	return pfMasks + (1+maxTail)*k.maskSlot()
}

// General-purpose registers of the plane kernels besides dIn, dOutCol
// and dResCol.
var (
	pT     = reg.RDI // *DWConv
	pCount = reg.R10 // blocks left
	pSlot  = reg.R11 // the edge block's mask slot
)

func (k dwPlaneKernel) registerDoc() []string {
	return []string{
		fmt.Sprintf("Registers: %s..%s the nine taps (the bias and Lo/Hi are in the frame),", k.w(0).Asm(), k.w(8).Asm()),
		"Y9..Y15 per block three partial sums, loaded inputs and lane masks (Y15:",
		"X15 is scratch in ABI0 and the caller re-zeroes it);",
		"DI *DWConv, SI/R8/R9 the block's window in the three input rows, R12/R13 its",
		"outputs/residual, R10 blocks left, R11 the edge block's masks, AX BX CX DX scratch;",
		"the frame holds the loop state and the edge blocks' masks."}
}

// Vector registers: the nine taps; on AVX-512 the bias and the clamp
// bounds (AVX2 keeps them in the frame, for registers).
func (k dwPlaneKernel) w(i int) reg.VecPhysical { return k.isa.regs[i] }
func (k dwPlaneKernel) bias() reg.VecPhysical   { return k.isa.regs[9] }
func (k dwPlaneKernel) lo() reg.VecPhysical     { return k.isa.regs[10] }
func (k dwPlaneKernel) hi() reg.VecPhysical     { return k.isa.regs[11] }

// work returns work register i of the AVX2 row form: Y9..Y15.
func (k dwPlaneKernel) work(i int) reg.VecPhysical { return k.isa.regs[9+i] }

// unroll is the number of interior blocks per iteration of the row form:
// independent FMA chains where the registers allow.
func (k dwPlaneKernel) unroll() int {
	if k.stride == 2 {
		return 1
	}
	return 2
}

func local(off int) operand.Mem { return at(reg.RSP, off) }

// channelLoop is the channel loop both forms of the plane kernels run:
// the frame offsets of the current channel's state (channels left, its
// In slice header, taps, bias, output and residual planes).
type channelLoop struct{ c, inHdr, w, bias, out, res int }

// begin copies the loop state from the DWConv into the frame, jumps to
// done when there are no channels, and emits the loop head, which
// broadcasts the channel's taps and bias into their registers; it
// returns the head's label.
func (l channelLoop) begin(g *gen, k dwPlaneKernel, done string) string {
	a := dwConvBlock
	for _, f := range []struct {
		name string
		off  int
	}{{"C", l.c}, {"In", l.inHdr}, {"W", l.w}, {"Bias", l.bias}, {"O", l.out}, {"Res", l.res}} {
		g.MOVQ(a.field(pT, f.name, 0), reg.RAX)
		g.MOVQ(reg.RAX, local(f.off))
	}
	g.CMPQ(local(l.c), operand.Imm(0))
	g.JLE(operand.LabelRef(done))
	head := g.label("channel")
	g.Label(head)
	g.MOVQ(local(l.w), reg.RAX)
	for i := range 9 {
		g.VBROADCASTSS(at(reg.RAX, 4*i), k.w(i))
	}
	g.MOVQ(local(l.bias), reg.RAX)
	g.VBROADCASTSS(at(reg.RAX, 0), k.bias())
	return head
}

// next advances the frame to the next channel and jumps to head while
// channels are left.
func (l channelLoop) next(g *gen, head string) {
	g.ADDQ(operand.U32(sliceHeader), local(l.inHdr))
	g.ADDQ(operand.U32(36), local(l.w))
	g.ADDQ(operand.U32(4), local(l.bias))
	g.MOVQ(dwConvBlock.field(pT, "OStride", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.ADDQ(reg.RAX, local(l.out))
	noRes := g.label("resok")
	g.CMPQ(local(l.res), operand.Imm(0))
	g.JEQ(operand.LabelRef(noRes))
	g.ADDQ(reg.RAX, local(l.res))
	g.Label(noRes)
	g.DECQ(local(l.c))
	g.JNZ(operand.LabelRef(head))
}

// end closes the channel loop begun at head and the kernel: done, where
// begin jumps without channels, is the return.
func (l channelLoop) end(g *gen, head, done string) {
	l.next(g, head)
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

func (k dwPlaneKernel) emit(g *gen) {
	if k.isa == avx512 {
		k.emitColumns(g)
		return
	}
	doc := []string{
		fmt.Sprintf("%s is %s: the DWConv contract at Stride %d,", k.GoName(), k.Name(), k.stride),
		fmt.Sprintf("%d outputs per vector; the taps summed in row-major order with fused", k.isa.lanes),
		"multiply-adds (the first a product), padding read as zeros.",
	}
	g.framedFunction(k.GoName(), dwConvBlock, k.frameSize(), append(doc, k.registerDoc()...)...)
	g.Comment(k.registerDoc()...)
	a := dwConvBlock
	g.Load(g.Param("t"), pT)

	g.VBROADCASTSS(a.field(pT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(pT, "Hi", 0), k.hi())
	g.VMOVUPS(k.lo(), local(pfLoV))
	g.VMOVUPS(k.hi(), local(pfHiV))
	k.blockPlan(g)
	k.masks(g)

	chans := channelLoop{c: pfC, inHdr: pfInHdr, w: pfW, bias: pfBias, out: pfOutBase, res: pfResBase}
	done := g.label("done")
	chanLoop := chans.begin(g, k, done)
	g.VMOVUPS(k.bias(), local(pfBiasV))
	g.MOVQ(local(pfInHdr), reg.RAX)
	g.MOVQ(at(reg.RAX, 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfPlane))
	g.MOVQ(local(pfOutBase), reg.RAX)
	g.MOVQ(reg.RAX, local(pfOut))
	g.MOVQ(local(pfResBase), reg.RAX)
	g.MOVQ(reg.RAX, local(pfRes))
	g.MOVQ(operand.U32(0), local(pfRow))

	rowLoop := g.label("row")
	g.Label(rowLoop)
	k.rowPass(g)
	g.MOVQ(local(pfRow), reg.RAX)
	g.CMPQ(reg.RAX, a.field(pT, "OH", 0))
	g.JL(operand.LabelRef(rowLoop))

	chans.end(g, chanLoop, done)
}

// blockPlan computes the row's block plan into the frame: head = 1 when
// PadLeft > 0 (block 0 starts left of the row); full = the interior
// blocks after it, whose outputs are all valid and whose loads stay
// inside [0, IW); tail = the edge blocks left. Block i's window starts at
// b_i = i*L*S - PadLeft; it is interior when (i+1)*L <= OW and
// b_i + reach < IW, i.e. i <= (IW-1+PadLeft-reach) / (L*S) (floor).
func (k dwPlaneKernel) blockPlan(g *gen) {
	a := dwConvBlock
	l := k.isa.lanes
	logL, logLS := log2(l), log2(l*k.stride)
	ax, bx, cx, dx := reg.RAX, reg.RBX, reg.RCX, reg.RDX
	// head
	g.XORQ(cx, cx)
	g.MOVQ(operand.U32(1), dx)
	g.CMPQ(a.field(pT, "PadLeft", 0), operand.Imm(0))
	g.CMOVQGT(dx, cx)
	g.MOVQ(cx, local(pfHead))
	// iMax = min(OW/L - 1, floor((IW-1+PadLeft-reach)/(L*S)))
	g.MOVQ(a.field(pT, "OW", 0), ax)
	g.SHRQ(operand.U8(logL), ax)
	g.DECQ(ax)
	g.MOVQ(a.field(pT, "IW", 0), bx)
	g.ADDQ(a.field(pT, "PadLeft", 0), bx)
	g.SUBQ(operand.U32(1+k.reach()), bx)
	g.SARQ(operand.U8(logLS), bx)
	g.CMPQ(bx, ax)
	g.CMOVQLT(bx, ax)
	// full = max(0, iMax - head + 1)
	g.SUBQ(cx, ax)
	g.INCQ(ax)
	g.XORQ(dx, dx)
	g.TESTQ(ax, ax)
	g.CMOVQLT(dx, ax)
	g.MOVQ(ax, local(pfFull))
	// tail = ceil(OW/L) - head - full
	g.MOVQ(a.field(pT, "OW", 0), bx)
	g.ADDQ(operand.U32(l-1), bx)
	g.SHRQ(operand.U8(logL), bx)
	g.SUBQ(cx, bx)
	g.SUBQ(ax, bx)
	g.MOVQ(bx, local(pfTail))
}

func log2(n int) uint8 {
	for i := uint8(0); ; i++ {
		if 1<<i == n {
			return i
		}
		if 1<<i > n {
			panic(fmt.Sprintf("%d is not a power of two", n))
		}
	}
}

// masks fills the mask slots: slot 0 for block 0 (the head block when
// there is one), slots 1.. for the blocks head+full, head+full+1, ...
// (the tail). A slot's output mask has the lanes j with ox0+j < OW; the
// mask of a load at offset o of n lanes has the lanes j < n with
// 0 <= b+o+j < IW, b the block's first window column.
func (k dwPlaneKernel) masks(g *gen) {
	a := dwConvBlock
	l := k.isa.lanes
	blk, s, lo, hi, zr, tmp := reg.RBX, reg.RSI, reg.R8, reg.R9, reg.R12, reg.R13
	g.XORQ(zr, zr)
	g.LEAQ(operand.NewDataAddr(dwMaskTable, 4*maskTableOnes), pSlot)
	for slot := range 1 + maxTail {
		if slot == 0 {
			g.XORQ(blk, blk)
		} else {
			g.MOVQ(local(pfHead), blk)
			g.ADDQ(local(pfFull), blk)
			if slot > 1 {
				g.ADDQ(operand.U32(slot-1), blk)
			}
		}
		base := pfMasks + slot*k.maskSlot()
		// output mask: [0, OW - ox0)
		g.MOVQ(blk, tmp)
		g.SHLQ(operand.U8(log2(l)), tmp) // ox0
		g.MOVQ(a.field(pT, "OW", 0), hi)
		g.SUBQ(tmp, hi)
		g.XORQ(lo, lo)
		k.storeMask(g, lo, hi, l, zr, local(base))
		// b = ox0*S - PadLeft
		g.MOVQ(tmp, s)
		if k.stride == 2 {
			g.SHLQ(operand.U8(1), s)
		}
		g.SUBQ(a.field(pT, "PadLeft", 0), s)
		for i, o := range k.loadOffsets() {
			// lanes [-(b+o), IW-(b+o)) clamped to [0, n)
			g.MOVQ(operand.U32(0), lo)
			g.SUBQ(s, lo)
			if o[0] != 0 {
				g.SUBQ(operand.U32(o[0]), lo)
			}
			g.MOVQ(a.field(pT, "IW", 0), hi)
			g.ADDQ(lo, hi)
			off := base + (i+1)*(k.maskSlot()/(1+len(k.loadOffsets())))
			k.storeMask(g, lo, hi, o[1], zr, local(off))
		}
	}
}

// storeMask stores the mask of lanes [lo, hi) clamped to [0, n) (lo and
// hi are destroyed; zr holds 0).
func (k dwPlaneKernel) storeMask(g *gen, lo, hi reg.GPPhysical, n int, zr reg.GPPhysical, dst operand.Mem) {
	nr := reg.RDX
	g.MOVQ(operand.U32(n), nr)
	for _, r := range []reg.GPPhysical{lo, hi} {
		g.clampQ(r, zr, nr)
	}
	// first(n) is the 8 lanes at pSlot - 4n of the mask table

	x := k.work(0)
	g.NEGQ(lo)
	g.NEGQ(hi)
	g.VMOVUPS(mem(pSlot, 0, lo, 4), x)
	g.VANDNPS(mem(pSlot, 0, hi, 4), x, x) // first(hi) &^ first(lo)
	g.VMOVUPS(x, dst)
}

// rowPass emits a pass over the current output row: row pointers, the
// blocks, then the frame advanced to the next row.
func (k dwPlaneKernel) rowPass(g *gen) {
	a := dwConvBlock
	k.rowPointers(g)
	g.MOVQ(local(pfOut), dOutCol)
	g.MOVQ(local(pfRes), dResCol)
	g.ifNotNil(dResCol, func(res bool) { k.row(g, res) })
	g.MOVQ(a.field(pT, "OW", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.ADDQ(reg.RAX, local(pfOut))
	resOK := g.label("resok")
	g.CMPQ(local(pfRes), operand.Imm(0))
	g.JEQ(operand.LabelRef(resOK))
	g.ADDQ(reg.RAX, local(pfRes))
	g.Label(resOK)
	g.INCQ(local(pfRow))
}

// rowPointers points dIn at the window of block 0 in the three input
// rows of the current output row: input row iy = row*S -
// PadTop + i of the plane, or the Zero row outside [0, IH); minus PadLeft
// floats.
func (k dwPlaneKernel) rowPointers(g *gen) {
	a := dwConvBlock
	ax, cx, dx := reg.RAX, reg.RCX, reg.RDX
	g.MOVQ(local(pfRow), ax)
	if k.stride == 2 {
		g.SHLQ(operand.U8(1), ax)
	}
	g.SUBQ(a.field(pT, "PadTop", 0), ax)
	for i, r := range dIn {
		g.LEAQ(at(ax, i), dx)
		g.MOVQ(dx, cx)
		g.IMULQ(a.field(pT, "IW", 0), cx)
		g.SHLQ(operand.U8(2), cx)
		g.ADDQ(local(pfPlane), cx)
		g.CMPQ(dx, a.field(pT, "IH", 0))
		g.CMOVQCC(a.field(pT, "Zero", 0), cx) // unsigned iy >= IH: outside the plane
		g.MOVQ(a.field(pT, "PadLeft", 0), dx)
		g.SHLQ(operand.U8(2), dx)
		g.SUBQ(dx, cx)
		g.MOVQ(cx, r)
	}
}

// row emits one output row: the head block, the interior blocks, the
// tail blocks.
func (k dwPlaneKernel) row(g *gen, res bool) {
	l, s := k.isa.lanes, k.stride
	advance := func(blocks int) {
		for _, r := range dIn {
			g.ADDQ(operand.U32(4*blocks*l*s), r)
		}
		g.ADDQ(operand.U32(4*blocks*l), dOutCol)
		if res {
			g.ADDQ(operand.U32(4*blocks*l), dResCol)
		}
	}
	noHead := g.label("nohead")
	g.CMPQ(local(pfHead), operand.Imm(0))
	g.JEQ(operand.LabelRef(noHead))
	g.LEAQ(local(pfMasks), pSlot)
	k.block(g, res, true, 1)
	advance(1)
	g.Label(noHead)

	g.MOVQ(local(pfFull), pCount)
	u := k.unroll()
	if u > 1 {
		loop, next := g.label("pairs"), g.label("single")
		g.CMPQ(pCount, operand.Imm(uint64(u)))
		g.JL(operand.LabelRef(next))
		g.Label(loop)
		k.block(g, res, false, u)
		advance(u)
		g.SUBQ(operand.U32(u), pCount)
		g.CMPQ(pCount, operand.Imm(uint64(u)))
		g.JGE(operand.LabelRef(loop))
		g.Label(next)
	}
	loop1, done1 := g.label("blocks"), g.label("blocksdone")
	g.TESTQ(pCount, pCount)
	g.JLE(operand.LabelRef(done1))
	g.Label(loop1)
	k.block(g, res, false, 1)
	advance(1)
	g.DECQ(pCount)
	g.JNZ(operand.LabelRef(loop1))
	g.Label(done1)

	tailLoop, tailDone := g.label("tail"), g.label("taildone")
	g.MOVQ(local(pfTail), pCount)
	g.TESTQ(pCount, pCount)
	g.JLE(operand.LabelRef(tailDone))
	g.LEAQ(local(pfMasks+k.maskSlot()), pSlot)
	g.Label(tailLoop)
	k.block(g, res, true, 1)
	advance(1)
	g.ADDQ(operand.U32(k.maskSlot()), pSlot)
	g.DECQ(pCount)
	g.JNZ(operand.LabelRef(tailLoop))
	g.Label(tailDone)
}

// maskAt returns the memory operand of mask m of the slot pSlot points
// to: 0 the outputs, 1.. the loads.
func (k dwPlaneKernel) maskAt(m int) operand.Mem {
	return at(pSlot, m*(k.maskSlot()/(1+len(k.loadOffsets()))))
}

// block emits slots whole blocks, or one edge block (masked: the masks
// at pSlot). Each block sums its taps in three partial sums, one per
// kernel row (a product, then two fused multiply-adds along the row),
// added as (p0+p1)+p2: three short dependency chains instead of one of
// nine, which would leave the FMA pipes idle most of the time.
func (k dwPlaneKernel) block(g *gen, res, masked bool, slots int) {
	l, stride := k.isa.lanes, k.stride
	in := func(s, ky, off int) operand.Mem { return at(dIn[ky], 4*(off+s*l*stride)) }
	per := k.slotRegs()
	work := func(s, i int) reg.VecPhysical { return k.work(s*per + i) }
	part := func(s, ky int) reg.VecPhysical { return work(s, ky) }
	tap := func(s, ky, kx int, x operand.Op) {
		if kx == 0 {
			g.VMULPS(x, k.w(3*ky), part(s, ky))
		} else {
			g.VFMADD231PS(x, k.w(3*ky+kx), part(s, ky))
		}
	}
	if stride == 1 {
		x, m := work(0, 3), work(0, 4) // edge blocks only
		for kx := range 3 {
			for ky := range 3 {
				for s := range slots {
					src := in(s, ky, kx)
					if !masked {
						tap(s, ky, kx, src)
						continue
					}
					g.VMOVUPS(k.maskAt(1+kx), m)
					g.VMASKMOVPS(src, m, x)
					tap(s, ky, kx, x)
				}
			}
		}
	} else { // in the lane order of VSHUFPS, undone below
		if slots != 1 {
			panic("AVX2 stride 2 has registers for one block")
		}
		l0, l1, x := work(0, 3), work(0, 4), work(0, 5)
		load := func(ky, off, m int, dst reg.VecPhysical) {
			if !masked {
				g.VMOVUPS(in(0, ky, off), dst)
				return
			}
			g.VMOVUPS(k.maskAt(1+m), x)
			g.VMASKMOVPS(in(0, ky, off), x, dst)
		}
		for ky := range 3 {
			for kx := range 3 {
				switch kx {
				case 0:
					load(ky, 0, 0, l0)
					load(ky, l, 1, l1)
				case 2:
					load(ky, 2, 2, l0)
					load(ky, l+2, 3, l1)
				}
				imm := uint8(0x88) // even lanes of each pair of 128-bit halves
				if kx == 1 {
					imm = 0xdd // odd lanes
				}
				g.VSHUFPS(operand.U8(imm), l1, l0, x)
				tap(0, ky, kx, x)
			}
		}
	}
	for s := range slots {
		g.VADDPS(part(s, 1), part(s, 0), part(s, 0))
		g.VADDPS(part(s, 2), part(s, 0), part(s, 0))
		if stride == 2 {
			g.VPERMPD(operand.U8(0xd8), part(s, 0), part(s, 0)) // lanes 0 1 4 5 2 3 6 7 back in order
		}
	}
	for s := range slots {
		k.epilogue(g, res, masked, part(s, 0), work(s, 1), work(s, 2), 4*s*l)
	}
}

// slotRegs is the number of work registers one block uses: three partial
// sums, then the loaded inputs (and a lane mask).
func (k dwPlaneKernel) slotRegs() int {
	if k.stride == 1 {
		return 3 // inputs are memory operands but in edge blocks (x, m: 2 more)
	}
	return 6 // two loads and the shuffled inputs
}

// epilogue adds the bias and the residual, clamps and stores a block;
// t1 and t2 are free work registers.
func (k dwPlaneKernel) epilogue(g *gen, res, masked bool, acc, t1, t2 reg.VecPhysical, disp int) {
	var m reg.VecPhysical
	if masked {
		m = t1
		g.VMOVUPS(k.maskAt(0), m)
	}
	g.VADDPS(local(pfBiasV), acc, acc)
	if res {
		if masked {
			g.VMASKMOVPS(at(dResCol, 0), m, t2)
			g.VADDPS(t2, acc, acc)
		} else {
			g.VADDPS(at(dResCol, disp), acc, acc)
		}
	}
	// the bounds are loaded into registers: with a memory operand the
	// NaN behaviour of VMAXPS/VMINPS would not match the Go clamp
	g.VMOVUPS(local(pfLoV), t2)
	g.VMAXPS(acc, t2, acc)
	g.VMOVUPS(local(pfHiV), t2)
	g.VMINPS(acc, t2, acc)
	if masked {
		g.VMASKMOVPS(acc, m, at(dOutCol, 0))
	} else {
		g.VMOVUPS(acc, at(dOutCol, disp))
	}
}
