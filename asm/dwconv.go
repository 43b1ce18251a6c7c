package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dwPlaneKernel is a 3x3 depthwise plane kernel implementing
// runtime.DWConv for one stride: whole output planes of several channels
// per call, the padding read as zeros without a padded copy (rows outside
// the plane read the Zero row; columns outside it are masked out of the
// loads of the edge blocks). A call sets up its edge-block masks once;
// each row then runs its interior blocks unmasked, two at a time.
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

func (k dwPlaneKernel) Name() string {
	return fmt.Sprintf("f32_dwconv_minmax_3x3s%dp__%s", k.stride, k.isa.name)
}

func (k dwPlaneKernel) GoName() string {
	return fmt.Sprintf("dwconvPlaneF32Minmax3x3s%d%s", k.stride, k.isa.suffix())
}

// Stride is the stride, for the registry template.
func (k dwPlaneKernel) Stride() int { return k.stride }

// loadOffsets lists the masked loads of an edge block: the input offset
// (in floats, from the block's first window column) and the lane count
// of each. The loads of a whole block cover inputs up to reach().
func (k dwPlaneKernel) loadOffsets() [][2]int {
	l := k.isa.lanes
	switch {
	case k.pairs():
		return [][2]int{{0, l}, {l, 2}} // 16 inputs and the 2 after them
	case k.stride == 1:
		return [][2]int{{0, l}, {1, l}, {2, l}} // one load per tap column
	case k.isa == avx512:
		return [][2]int{{0, l}, {l, l}, {2 * l, 1}} // two vectors and the element after them
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

// maskSlot is the size in bytes of an edge block's masks: the output
// mask first, then one per load. AVX-512 opmasks are stored as 16-bit
// words, AVX2 lane masks as vectors.
func (k dwPlaneKernel) maskSlot() int {
	n := 1 + len(k.loadOffsets())
	if k.isa == avx512 {
		return 2 * n
	}
	return n * k.isa.bytes()
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
	pfBiasV   = 104 // AVX2: the bias, Lo and Hi broadcast (32 bytes each)
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
	var lines []string
	if k.isa == avx512 {
		lines = append(lines,
			fmt.Sprintf("Registers: %s..%s the nine taps, %s the bias, %s/%s Lo/Hi,",
				k.w(0).Asm(), k.w(8).Asm(), k.bias().Asm(), k.lo().Asm(), k.hi().Asm()),
			fmt.Sprintf("%s.. per block three partial sums and the loaded inputs, K1 the valid", k.work(0).Asm()))
		if k.stride == 2 {
			lines = append(lines, "outputs of an edge block, K2..K4 its valid inputs, Z12/Z13 the even/odd",
				"permutations;")
		} else {
			lines = append(lines, "outputs of an edge block, K2..K4 the valid inputs of its tap columns;")
		}
	} else {
		lines = append(lines,
			fmt.Sprintf("Registers: %s..%s the nine taps (the bias and Lo/Hi are in the frame),", k.w(0).Asm(), k.w(8).Asm()),
			"Y9..Y15 per block three partial sums, loaded inputs and lane masks (Y15:",
			"X15 is scratch in ABI0 and the caller re-zeroes it);")
	}
	return append(lines,
		"DI *DWConv, SI/R8/R9 the block's window in the three input rows, R12/R13 its",
		"outputs/residual, R10 blocks left, R11 the edge block's masks, AX BX CX DX scratch;",
		"the frame holds the loop state and the edge blocks' masks.")
}

// Vector registers: the nine taps; on AVX-512 the bias and the clamp
// bounds (AVX2 keeps them in the frame, for registers).
func (k dwPlaneKernel) w(i int) reg.VecPhysical { return k.isa.regs[i] }
func (k dwPlaneKernel) bias() reg.VecPhysical   { return k.isa.regs[9] }
func (k dwPlaneKernel) lo() reg.VecPhysical     { return k.isa.regs[10] }
func (k dwPlaneKernel) hi() reg.VecPhysical     { return k.isa.regs[11] }

// work returns work register i: Y9..Y15 on AVX2, Z12..Z31 on the AVX-512
// stride-1 kernel, Z16..Z31 on the stride-2 one (Z12/Z13 hold its
// permutations).
func (k dwPlaneKernel) work(i int) reg.VecPhysical {
	switch {
	case k.pairs():
		return k.isa.regs[12+i]
	case k.isa == avx512:
		return k.isa.regs[16+i]
	}
	return k.isa.regs[9+i]
}

func (k dwPlaneKernel) idxEven() reg.VecPhysical { return k.isa.regs[12] }
func (k dwPlaneKernel) idxOdd() reg.VecPhysical  { return k.isa.regs[13] }

// unroll is the number of interior blocks per iteration: independent
// FMA chains where the registers allow.
func (k dwPlaneKernel) unroll() int {
	switch {
	case k.isa == avx2 && k.stride == 2:
		return 1
	case k.pairs():
		return 2
	}
	return 2
}

func local(off int) operand.Mem { return at(reg.RSP, off) }

func (k dwPlaneKernel) emit(g *gen) {
	doc := []string{
		fmt.Sprintf("%s is %s: the DWConv contract at Stride %d,", k.GoName(), k.Name(), k.stride),
		fmt.Sprintf("%d outputs per vector; the taps summed in row-major order with fused", k.isa.lanes),
		"multiply-adds (the first a product), padding read as zeros.",
	}
	g.framedFunction(k.GoName(), dwConvStruct, k.frameSize(), append(doc, k.registerDoc()...)...) // the AVX2 masks
	g.Comment(k.registerDoc()...)
	a := dwConvStruct
	g.Load(g.Param("t"), pT)

	g.VBROADCASTSS(a.field(pT, "Lo", 0), k.lo())
	g.VBROADCASTSS(a.field(pT, "Hi", 0), k.hi())
	if k.isa == avx2 {
		g.VMOVUPS(k.lo(), local(pfLoV))
		g.VMOVUPS(k.hi(), local(pfHiV))
	}
	if k.isa == avx512 && k.stride == 2 {
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 0), k.idxEven())
		g.VMOVUPS(operand.NewDataAddr(dwPermIdx, 64), k.idxOdd())
	}
	k.blockPlan(g)
	k.masks(g)

	// Channel loop state.
	g.MOVQ(a.field(pT, "C", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfC))
	g.MOVQ(a.field(pT, "In", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfInHdr))
	g.MOVQ(a.field(pT, "W", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfW))
	g.MOVQ(a.field(pT, "Bias", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfBias))
	g.MOVQ(a.field(pT, "O", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfOutBase))
	g.MOVQ(a.field(pT, "Res", 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfResBase))
	done := g.label("done")
	g.CMPQ(local(pfC), operand.Imm(0))
	g.JLE(operand.LabelRef(done))

	chanLoop := g.label("channel")
	g.Label(chanLoop)
	g.MOVQ(local(pfW), reg.RAX)
	for i := range 9 {
		g.VBROADCASTSS(at(reg.RAX, 4*i), k.w(i))
	}
	g.MOVQ(local(pfBias), reg.RAX)
	g.VBROADCASTSS(at(reg.RAX, 0), k.bias())
	if k.isa == avx2 {
		g.VMOVUPS(k.bias(), local(pfBiasV))
	}
	g.MOVQ(local(pfInHdr), reg.RAX)
	g.MOVQ(at(reg.RAX, 0), reg.RAX)
	g.MOVQ(reg.RAX, local(pfPlane))
	g.MOVQ(local(pfOutBase), reg.RAX)
	g.MOVQ(reg.RAX, local(pfOut))
	g.MOVQ(local(pfResBase), reg.RAX)
	g.MOVQ(reg.RAX, local(pfRes))
	g.MOVQ(operand.U32(0), local(pfRow))

	rowLoop, rowNext := g.label("row"), g.label("rownext")
	g.Label(rowLoop)
	if k.pairs() {
		single := g.label("single")
		g.MOVQ(a.field(pT, "OH", 0), reg.RAX)
		g.SUBQ(local(pfRow), reg.RAX)
		g.CMPQ(reg.RAX, operand.Imm(2))
		g.JL(operand.LabelRef(single))
		k.rowPass(g, 2)
		g.JMP(operand.LabelRef(rowNext))
		g.Label(single)
	}
	k.rowPass(g, 1)
	g.Label(rowNext)
	g.MOVQ(local(pfRow), reg.RAX)
	g.CMPQ(reg.RAX, a.field(pT, "OH", 0))
	g.JL(operand.LabelRef(rowLoop))

	// next channel
	g.ADDQ(operand.U32(sliceHeader), local(pfInHdr))
	g.ADDQ(operand.U32(36), local(pfW))
	g.ADDQ(operand.U32(4), local(pfBias))
	g.MOVQ(a.field(pT, "OStride", 0), reg.RAX)
	g.SHLQ(operand.U8(2), reg.RAX)
	g.ADDQ(reg.RAX, local(pfOutBase))
	resOK2 := g.label("resok")
	g.CMPQ(local(pfResBase), operand.Imm(0))
	g.JEQ(operand.LabelRef(resOK2))
	g.ADDQ(reg.RAX, local(pfResBase))
	g.Label(resOK2)
	g.DECQ(local(pfC))
	g.JNZ(operand.LabelRef(chanLoop))
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// blockPlan computes the row's block plan into the frame: head = 1 when
// PadLeft > 0 (block 0 starts left of the row); full = the interior
// blocks after it, whose outputs are all valid and whose loads stay
// inside [0, IW); tail = the edge blocks left. Block i's window starts at
// b_i = i*L*S - PadLeft; it is interior when (i+1)*L <= OW and
// b_i + reach < IW, i.e. i <= (IW-1+PadLeft-reach) / (L*S) (floor).
func (k dwPlaneKernel) blockPlan(g *gen) {
	a := dwConvStruct
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
	a := dwConvStruct
	l := k.isa.lanes
	blk, s, lo, hi, zr, tmp := reg.RBX, reg.RSI, reg.R8, reg.R9, reg.R12, reg.R13
	g.XORQ(zr, zr)
	if k.isa == avx2 {
		g.LEAQ(operand.NewDataAddr(dwMaskTable, 4*maskTableOnes), pSlot)
	}
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
	if k.isa == avx512 {
		all := reg.RAX
		g.MOVL(operand.U32(0xffff), all.As32())
		g.BZHIL(lo.As32(), all.As32(), lo.As32())
		g.BZHIL(hi.As32(), all.As32(), hi.As32())
		g.ANDNL(hi.As32(), lo.As32(), hi.As32()) // hi &^ lo
		g.MOVW(hi.As16(), dst)
		return
	}
	// AVX2: first(n) is the 8 lanes at pSlot - 4n of the mask table.
	x := k.work(0)
	g.NEGQ(lo)
	g.NEGQ(hi)
	g.VMOVUPS(mem(pSlot, 0, lo, 4), x)
	g.VANDNPS(mem(pSlot, 0, hi, 4), x, x) // first(hi) &^ first(lo)
	g.VMOVUPS(x, dst)
}

// pairs reports that the kernel computes two output rows per pass: the
// AVX-512 stride-1 kernel, which loads each input row once for both (four
// input rows for two output rows instead of six) and makes the shifted
// taps with VALIGND instead of two more unaligned loads. The load ports,
// not the FMAs, bound the one-row form: nine unaligned 64-byte loads per
// nine FMAs.
func (k dwPlaneKernel) pairs() bool { return k.isa == avx512 && k.stride == 1 }

// pRowB is the third GP register of a pass over two rows: the offset in
// bytes of the second output row (OW*4). BX is the fourth input row.
var (
	pIn3   = reg.RBX
	pRowB  = reg.RDX
	pInAll = []reg.GPPhysical{reg.RSI, reg.R8, reg.R9, reg.RBX}
)

// rowPass emits a pass over rows output rows (1, or 2 for pairs()) from
// the current one: row pointers, the blocks, then the frame advanced to
// the next pass.
func (k dwPlaneKernel) rowPass(g *gen, rows int) {
	a := dwConvStruct
	k.rowPointers(g, (rows-1)*k.stride+3)
	g.MOVQ(local(pfOut), dOutCol)
	g.MOVQ(local(pfRes), dResCol)
	if rows > 1 {
		g.MOVQ(a.field(pT, "OW", 0), pRowB)
		g.SHLQ(operand.U8(2), pRowB)
	}
	g.ifNotNil(dResCol, func(res bool) { k.row(g, res, rows) })
	g.MOVQ(a.field(pT, "OW", 0), reg.RAX)
	g.SHLQ(operand.U8(2+log2(rows)), reg.RAX)
	g.ADDQ(reg.RAX, local(pfOut))
	resOK := g.label("resok")
	g.CMPQ(local(pfRes), operand.Imm(0))
	g.JEQ(operand.LabelRef(resOK))
	g.ADDQ(reg.RAX, local(pfRes))
	g.Label(resOK)
	g.ADDQ(operand.U32(rows), local(pfRow))
}

// rowPointers points n registers of pInAll at the window of block 0 in
// the input rows of the current output row: input row iy = row*S -
// PadTop + i of the plane, or the Zero row outside [0, IH); minus PadLeft
// floats.
func (k dwPlaneKernel) rowPointers(g *gen, n int) {
	a := dwConvStruct
	ax, cx, dx := reg.RAX, reg.RCX, reg.RDX
	g.MOVQ(local(pfRow), ax)
	if k.stride == 2 {
		g.SHLQ(operand.U8(1), ax)
	}
	g.SUBQ(a.field(pT, "PadTop", 0), ax)
	for i, r := range pInAll[:n] {
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
func (k dwPlaneKernel) row(g *gen, res bool, rows int) {
	l, s := k.isa.lanes, k.stride
	inRegs := pInAll[:(rows-1)*s+3]
	advance := func(blocks int) {
		for _, r := range inRegs {
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
	k.block(g, res, true, 1, rows)
	advance(1)
	g.Label(noHead)

	g.MOVQ(local(pfFull), pCount)
	u := k.unroll()
	if u > 1 {
		loop, next := g.label("pairs"), g.label("single")
		g.CMPQ(pCount, operand.Imm(uint64(u)))
		g.JL(operand.LabelRef(next))
		g.Label(loop)
		k.block(g, res, false, u, rows)
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
	k.block(g, res, false, 1, rows)
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
	k.block(g, res, true, 1, rows)
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
func (k dwPlaneKernel) block(g *gen, res, masked bool, slots, rows int) {
	if k.pairs() {
		k.blockShuffled(g, res, masked, slots, rows)
		return
	}
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
	kOut := reg.K1
	kIn := []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4}
	if masked && k.isa == avx512 {
		g.KMOVW(k.maskAt(0), kOut)
		for i := range k.loadOffsets() {
			g.KMOVW(k.maskAt(1+i), kIn[i])
		}
	}
	switch {
	case stride == 1:
		x, m := work(0, 3), work(0, 4) // edge blocks only
		for kx := range 3 {
			for ky := range 3 {
				for s := range slots {
					src := in(s, ky, kx)
					switch {
					case !masked:
						tap(s, ky, kx, src)
					case k.isa == avx512:
						g.VMOVUPS_Z(src, kIn[kx], x)
						tap(s, ky, kx, x)
					default:
						g.VMOVUPS(k.maskAt(1+kx), m)
						g.VMASKMOVPS(src, m, x)
						tap(s, ky, kx, x)
					}
				}
			}
		}
	case k.isa == avx512: // stride 2
		for ky := range 3 {
			for s := range slots {
				l0, l1, e0, e1 := work(s, 3), work(s, 4), work(s, 5), work(s, 6)
				if masked {
					g.VMOVUPS_Z(in(s, ky, 0), kIn[0], l0)
					g.VMOVUPS_Z(in(s, ky, l), kIn[1], l1)
					g.VMOVSS_Z(in(s, ky, 2*l), kIn[2], e1.AsX())
				} else {
					g.VMOVUPS(in(s, ky, 0), l0)
					g.VMOVUPS(in(s, ky, l), l1)
					g.VBROADCASTSS(in(s, ky, 2*l), e1) // the element after the last pair
				}
				g.VMOVAPS(l0, e0)
				g.VPERMT2PS(l1, k.idxEven(), e0)     // inputs 0, 2, .., 30
				g.VPERMT2PS(l1, k.idxOdd(), l0)      // inputs 1, 3, .., 31
				g.VALIGND(operand.U8(1), e0, e1, e1) // inputs 2, 4, .., 32
				tap(s, ky, 0, e0)
				tap(s, ky, 1, l0)
				tap(s, ky, 2, e1)
			}
		}
	default: // AVX2 stride 2, in the lane order of VSHUFPS, undone below
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
		if k.isa == avx2 && stride == 2 {
			g.VPERMPD(operand.U8(0xd8), part(s, 0), part(s, 0)) // lanes 0 1 4 5 2 3 6 7 back in order
		}
	}
	for s := range slots {
		k.epilogue(g, res, masked, part(s, 0), work(s, 1), work(s, 2), 4*s*l)
	}
}

// blockShuffled emits slots whole blocks, or one edge block, of rows
// output rows for the pairs() kernel: each input row is loaded once per
// block (16 floats and the 2 after them), its taps x = 1, 2 made with
// VALIGND, and used by every output row whose window holds it.
func (k dwPlaneKernel) blockShuffled(g *gen, res, masked bool, slots, rows int) {
	l := k.isa.lanes
	// registers: 3 partial sums per (slot, row), then 4 temporaries per slot
	part := func(s, row, ky int) reg.VecPhysical { return k.work(s*3*rows + row*3 + ky) }
	tmp := func(s, i int) reg.VecPhysical { return k.work(slots*3*rows + s*4 + i) }
	kOut, kCur, kNext := reg.K1, reg.K2, reg.K3
	if masked {
		g.KMOVW(k.maskAt(0), kOut)
		g.KMOVW(k.maskAt(1), kCur)
		g.KMOVW(k.maskAt(2), kNext)
	}
	for i := range rows + 2 { // input rows
		for s := range slots {
			cur, next, s1, s2 := tmp(s, 0), tmp(s, 1), tmp(s, 2), tmp(s, 3)
			src := at(pInAll[i], 4*s*l)
			if masked {
				g.VMOVUPS_Z(src, kCur, cur)
				g.VMOVUPS_Z(at(pInAll[i], 4*l), kNext, next.AsX())
			} else {
				g.VMOVUPS(src, cur)
				g.VMOVSD(at(pInAll[i], 4*(s+1)*l), next.AsX())
			}
			g.VALIGND(operand.U8(1), cur, next, s1) // inputs 1..16
			g.VALIGND(operand.U8(2), cur, next, s2) // inputs 2..17
			for row := range rows {
				ky := i - row
				if ky < 0 || ky > 2 {
					continue
				}
				p := part(s, row, ky)
				g.VMULPS(cur, k.w(3*ky), p)
				g.VFMADD231PS(s1, k.w(3*ky+1), p)
				g.VFMADD231PS(s2, k.w(3*ky+2), p)
			}
		}
	}
	for s := range slots {
		for row := range rows {
			g.VADDPS(part(s, row, 1), part(s, row, 0), part(s, row, 0))
			g.VADDPS(part(s, row, 2), part(s, row, 0), part(s, row, 0))
		}
	}
	for s := range slots {
		for row := range rows {
			k.epilogueAt(g, res, masked, part(s, row, 0), part(s, row, 1), part(s, row, 2), 4*s*l, row > 0)
		}
	}
}

// slotRegs is the number of work registers one block uses: three partial
// sums, then the loaded inputs (and an AVX2 lane mask).
func (k dwPlaneKernel) slotRegs() int {
	switch {
	case k.stride == 1:
		return 3 // inputs are memory operands but in edge blocks (x, m: 2 more)
	case k.isa == avx512:
		return 7 // two loads, even and shifted-even inputs
	}
	return 6 // two loads and the shuffled inputs
}

// epilogue adds the bias and the residual, clamps and stores a block;
// t1 and t2 are free work registers.
func (k dwPlaneKernel) epilogue(g *gen, res, masked bool, acc, t1, t2 reg.VecPhysical, disp int) {
	k.epilogueAt(g, res, masked, acc, t1, t2, disp, false)
}

// epilogueAt is epilogue for the first output row of the pass, or with
// rowB the second (pRowB bytes further in the output and residual).
func (k dwPlaneKernel) epilogueAt(g *gen, res, masked bool, acc, t1, t2 reg.VecPhysical, disp int, rowB bool) {
	outAt := func(base reg.Register, disp int) operand.Mem {
		if rowB {
			return mem(base, disp, pRowB, 1)
		}
		return at(base, disp)
	}
	var m reg.VecPhysical
	if masked && k.isa == avx2 {
		m = t1
		g.VMOVUPS(k.maskAt(0), m)
	}
	if k.isa == avx512 {
		g.VADDPS(k.bias(), acc, acc)
	} else {
		g.VADDPS(local(pfBiasV), acc, acc)
	}
	if res {
		switch {
		case !masked:
			g.VADDPS(outAt(dResCol, disp), acc, acc)
		case k.isa == avx512:
			g.VADDPS(outAt(dResCol, 0), acc, reg.K1, acc)
		default:
			g.VMASKMOVPS(at(dResCol, 0), m, t2)
			g.VADDPS(t2, acc, acc)
		}
	}
	lo, hi := k.lo(), k.hi()
	if k.isa == avx2 {
		// the bounds are loaded into registers: with a memory operand the
		// NaN behaviour of VMAXPS/VMINPS would not match the Go clamp
		lo = t2
		g.VMOVUPS(local(pfLoV), lo)
	}
	g.VMAXPS(acc, lo, acc)
	if k.isa == avx2 {
		hi = t2
		g.VMOVUPS(local(pfHiV), hi)
	}
	g.VMINPS(acc, hi, acc)
	switch {
	case !masked:
		g.VMOVUPS(acc, outAt(dOutCol, disp))
	case k.isa == avx512:
		g.VMOVUPS(acc, reg.K1, outAt(dOutCol, 0))
	default:
		g.VMASKMOVPS(acc, m, at(dOutCol, 0))
	}
}
