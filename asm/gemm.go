package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// gemmKernel describes one GEMM micro-kernel implementing runtime.Tile.
type gemmKernel struct {
	isa    *vecISA
	mr, nr int
	kc     int // K block the kernel is tuned for (GemmKernel.KC)
	unroll int // K steps per loop iteration
	// bcastRegs is the number of registers A broadcasts rotate through;
	// 0 uses AVX-512 embedded broadcasts (a memory operand per FMA).
	bcastRegs int
	// prefetchRows prefetches, under TileRowsB, the next tile's B columns
	// of each k row (the driver's next tile reads BOff+NR onwards).
	prefetchRows bool
	// short marks a kernel with fewer rows than its level's main kernel
	// of the same NR: drivers run it on the last, partial row panel of a
	// weight matrix (GemmKernel.Short) instead of computing padding rows.
	short bool
	// transC: C and R are stored transposed and Bias is per column; the
	// kernel ignores TileAccumulate and TileRowsB and always runs the
	// epilogue (see emitTC)
	transC bool
	// prefetchA is how many k steps ahead each step prefetches the A
	// row it will read, 0 for not at all: in the transposed kernels the
	// input, read in place a row per k; in the others the packed weights,
	// under packed B only (TileRowsB takes its register, R11, for BOff)
	prefetchA int
	// prefetchB is how far ahead (bytes) each k step prefetches the
	// packed B panel, 0 for not at all
	prefetchB int
	// segsC: the kernel implements TileSegs, C and R in column runs
	// (masked loads and stores; AVX-512 only)
	segsC bool
}

// gemmKernels is the table every GEMM kernel, its registration and its
// documentation are generated from, best first within a level. The
// 12x32 AVX-512 kernel rotates its A broadcasts through registers rather
// than using embedded broadcasts, whose 26 loads per 24 FMAs (instead of
// 14) saturate the load ports; prefetching the next tile's rows under
// TileRowsB serves the pointwise convolutions, whose B rows are 256
// strided streams.
//
// Under packed B each k step also prefetches the weights
// weightPrefetchSteps ahead: a layer's weights are one sequential stream that a run of the
// model reads from memory, and the hardware prefetcher alone kept it to
// about 9 GB/s (ResNet18's 256-channel Winograd layers at 1 thread).
//
// The short kernels cover the row counts the last panel of the models'
// channel counts leaves (64 = 5*12+4, 32 = 2*12+8; with 6-row AVX2
// panels, 16 = 2*6+4, 32 = 5*6+2), which would otherwise be computed as
// padding rows (MobileNetV2's projections to 16, 32 and 64 channels).
//
// The AVX-512 kernels also take C and R in column runs (TileSegs, with
// masked loads and stores): a pixel panel that crosses frames on a small
// map, or the short last panel of one, then needs no scratch tile.
var gemmKernels = []gemmKernel{
	{isa: avx512, mr: 12, nr: 32, kc: 256, unroll: 4, bcastRegs: 6, prefetchRows: true, segsC: true, prefetchA: weightPrefetchSteps},
	{isa: avx512, mr: 8, nr: 32, kc: 256, unroll: 4, bcastRegs: 6, prefetchRows: true, short: true, segsC: true, prefetchA: weightPrefetchSteps},
	{isa: avx512, mr: 4, nr: 32, kc: 256, unroll: 4, bcastRegs: 4, prefetchRows: true, short: true, segsC: true, prefetchA: weightPrefetchSteps},
	{isa: avx2, mr: 6, nr: 16, kc: 256, unroll: 4, bcastRegs: 1, prefetchRows: true, prefetchA: weightPrefetchSteps},
	{isa: avx2, mr: 4, nr: 16, kc: 256, unroll: 4, bcastRegs: 1, prefetchRows: true, short: true, prefetchA: weightPrefetchSteps},
	{isa: avx2, mr: 2, nr: 16, kc: 256, unroll: 4, bcastRegs: 1, prefetchRows: true, short: true, prefetchA: weightPrefetchSteps},
}

// tcPrefetchRows is how many k steps ahead the transposed kernels
// prefetch their A rows; weightPrefetchSteps how many the others
// prefetch their packed weights (64 steps of a 12-row panel: 3 KB).
const (
	tcPrefetchRows      = 16
	weightPrefetchSteps = 64
)

// gemmTCKernels are the transposed-C kernels (runtime.GemmKernel.TransC):
// the same K loop as gemmKernels, with the tile's rows the output's
// pixels and its vectorised columns the output channels, transposed in
// registers and stored an output channel at a time. Drivers use them where
// a convolution has few pixels per frame (MobileNetV2's 7x7 to 28x28 maps
// one frame at a time), whose pixel panels of 32 would be up to a quarter
// padding. They are AVX-512 only (the masked 12-lane stores and the
// 32-register budget of the networks); the AVX2 level keeps the
// pixel-major kernels.
//
// The 13-row kernel uses every register (26 accumulators, 2 B vectors, 4
// broadcasts; in the store, Lo, Hi and 4 temporaries): with the 12-row
// one it splits 5x5, 7x7, 10x10 and 14x14 maps into whole tiles, where
// 12-row tiles alone leave a partial one computing up to 12% more rows.
//
// Their B panels are the weights, [k][NR] per panel of output channels,
// which a single frame reads once from L3 (the online MobileNetV2's 7x7
// layers hold 0.4-1.6 MB each): each k step prefetches the panel 2 KB
// ahead, the best of the distances tried (1, 2 and 4 KB).
var gemmTCKernels = []gemmKernel{
	{isa: avx512, mr: 13, nr: 32, unroll: 4, bcastRegs: 4, transC: true, prefetchA: tcPrefetchRows, prefetchB: 2048},
	{isa: avx512, mr: 12, nr: 32, unroll: 4, bcastRegs: 6, transC: true, prefetchA: tcPrefetchRows, short: true, prefetchB: 2048},
	{isa: avx512, mr: 8, nr: 32, unroll: 4, bcastRegs: 6, transC: true, prefetchA: tcPrefetchRows, short: true, prefetchB: 2048},
	{isa: avx512, mr: 4, nr: 32, unroll: 4, bcastRegs: 4, transC: true, prefetchA: tcPrefetchRows, short: true, prefetchB: 2048},
}

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k gemmKernel) names() naming.Kernel {
	n := naming.Kernel{Op: "gemm", MinMax: true, Shape: fmt.Sprintf("%dx%d", k.mr, k.nr), ISA: k.isa.name}
	if k.transC {
		n.Variant = "TC"
	}
	return n
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k gemmKernel) Name() string   { return k.names().Name() }
func (k gemmKernel) GoName() string { return k.names().GoName() }

func (k gemmKernel) vecs() int { return k.nr / k.isa.lanes } // vectors per row

func (k gemmKernel) acc(i, v int) reg.VecPhysical { return k.isa.regs[i*k.vecs()+v] }

func (k gemmKernel) bvec(v int) reg.VecPhysical { return k.isa.regs[k.mr*k.vecs()+v] }

func (k gemmKernel) bcast(i int) reg.VecPhysical {
	return k.isa.regs[k.mr*k.vecs()+k.vecs()+i%k.bcastRegs]
}

// General-purpose registers of the GEMM kernels.
var (
	gT     = reg.RDI // *Tile
	gA     = reg.RSI // A, advancing by LDA per k
	gB     = reg.RBX // B (advancing by LDB per k) or the BRows headers (24 bytes per k)
	gK     = reg.RCX // k steps left
	gLDA   = reg.R8  // LDA in bytes
	gLDB   = reg.R9  // LDB in bytes
	gLDA3  = reg.R12 // 3*LDA bytes
	gLDB3  = reg.R13 // 3*LDB bytes
	gFlags = reg.R10
	gPFA   = reg.R11 // the A row prefetchA k steps ahead (packed B)
	gBOff  = reg.R11 // BOff in bytes (TileRowsB)
	gTmp   = []reg.GPPhysical{reg.RAX, reg.RDX}
)

func (k gemmKernel) registerDoc() []string {
	nv, nregs := k.vecs(), k.mr*k.vecs()
	lines := []string{
		fmt.Sprintf("Registers: %s..%s accumulate the %dx%d tile (row i in %d registers from %s+%d*i),",
			k.acc(0, 0).Asm(), k.acc(k.mr-1, nv-1).Asm(), k.mr, k.nr, nv, k.acc(0, 0).Asm(), nv),
		fmt.Sprintf("%s..%s hold the B row of a k step (then Lo and Hi in the epilogue),",
			k.bvec(0).Asm(), k.bvec(nv-1).Asm()),
	}
	if k.bcastRegs == 0 {
		lines = append(lines, "A values are embedded broadcasts (memory operands of the FMAs);")
	} else if k.bcastRegs == 1 {
		lines = append(lines, fmt.Sprintf("%s takes the A broadcasts;", k.bcast(0).Asm()))
	} else {
		lines = append(lines, fmt.Sprintf("%s..%s take the A broadcasts in rotation;",
			k.bcast(0).Asm(), k.bcast(k.bcastRegs-1).Asm()))
	}
	used := nregs + nv + k.bcastRegs
	if k.isa == avx2 && used <= 15 {
		lines = append(lines, "Y15 (X15, Go's zero register) is not touched.")
	} else if used > 15 {
		lines = append(lines, "X15 is clobbered: it is scratch in ABI0 and the caller re-zeroes it.")
	}
	return append(lines,
		"DI *Tile, SI A, BX B (or the BRows headers), CX k steps left, R8/R12 LDA/3*LDA bytes,",
		"R9/R13 LDB/3*LDB bytes, R10 Flags, R11 BOff bytes (TileRowsB) or the A row prefetchA",
		"steps ahead (packed B), AX and DX scratch.")
}

// buildGemm emits every GEMM kernel of the tables.
func buildGemm(g *gen) {
	for _, k := range gemmKernels {
		k.emit(g)
	}
	for _, k := range gemmTCKernels {
		k.emitTC(g)
	}
}

// emitTC emits a transposed-C kernel. For i < MR, j < NR:
//
//	acc = sum over k in increasing order of A[k*LDA+i] * B[k*LDB+j]
//	acc += Bias[j]; if R != nil { acc += R[j*LDR+i] }
//	C[j*LDC+i] = min(max(acc, Lo), Hi)
//
// The bias is added along the rows, then each 16-column half of the tile
// is transposed (transposeStore) and stored, MR pixels of one output
// channel per masked store, with the residual added the same way.
func (k gemmKernel) emitTC(g *gen) {
	nv, vb := k.vecs(), k.isa.bytes()
	doc := []string{
		fmt.Sprintf("%s is %s: the Tile contract with C and R transposed", k.GoName(), k.Name()),
		fmt.Sprintf("(element (i, j) of the %dx%d tile at C[j*LDC+i]) and Bias indexed by", k.mr, k.nr),
		"column; TileAccumulate and TileRowsB are ignored and the epilogue always runs.",
		fmt.Sprintf("Fused multiply-adds over k in increasing order, K unrolled by %d.", k.unroll),
	}
	regs := append(k.registerDoc()[:3:3],
		fmt.Sprintf("In the epilogue %s..%s hold the bias, then Lo and Hi; the rest",
			k.bvec(0).Asm(), k.isa.regs[k.mr*k.vecs()+1].Asm()),
		"and the freed accumulators are the transposition's temporaries; K1 masks MR lanes.",
		"DI *Tile, SI A (then R), BX B (then C), CX k steps left, R8/R12 LDA/3*LDA bytes",
		"(then LDR), R9/R13 LDB/3*LDB bytes (then LDC), R11 the A row prefetchA steps",
		"ahead, AX/DX column offsets and scratch.")
	g.function(k.GoName(), tileBlock, append(doc, regs...)...)
	g.Comment(regs...)
	tile := tileBlock

	loadTileA(g)
	k.startPrefetchA(g)
	for i := range k.mr {
		for v := range nv {
			g.zero(k.acc(i, v))
		}
	}
	loadTileB(g)
	k.kloop(g, false)

	// Epilogue registers: everything past the accumulators.
	free := k.isa.regs[k.mr*nv:]
	if len(free) < 4 || nv > 2 {
		panic("transposed epilogue: too few free registers or too many column vectors")
	}
	g.MOVQ(tile.field(gT, "Bias", 0), gTmp[0])
	for v := range nv {
		g.VMOVUPS(at(gTmp[0], v*vb), free[v])
	}
	for i := range k.mr {
		for v := range nv {
			g.VADDPS(free[v], k.acc(i, v), k.acc(i, v))
		}
	}
	lo, hi := free[0], free[1]
	g.VBROADCASTSS(tile.field(gT, "Lo", 0), lo)
	g.VBROADCASTSS(tile.field(gT, "Hi", 0), hi)
	g.MOVL(operand.U32(1<<k.mr-1), gTmp[0].As32())
	g.KMOVW(gTmp[0].As32(), reg.K1)
	g.MOVQ(tile.field(gT, "C", 0), gB)
	g.MOVQ(tile.field(gT, "LDC", 0), gLDB)
	g.SHLQ(operand.U8(2), gLDB)
	g.MOVQ(tile.field(gT, "R", 0), gA)
	g.MOVQ(tile.field(gT, "LDR", 0), gLDA)
	g.SHLQ(operand.U8(2), gLDA)
	g.ifNotNil(gA, func(res bool) {
		for v := range nv {
			k.transposeStore(g, v, res, lo, hi, free[2:])
		}
	})
	g.VZEROUPPER()
	g.RET()
}

func (k gemmKernel) emit(g *gen) {
	doc := []string{
		fmt.Sprintf("%s is %s: the Tile contract for a %dx%d tile,", k.GoName(), k.Name(), k.mr, k.nr),
		fmt.Sprintf("fused multiply-adds over k in increasing order, K unrolled by %d.", k.unroll),
	}
	g.function(k.GoName(), tileBlock, append(doc, k.registerDoc()...)...)
	g.Comment(k.registerDoc()...)
	tile := tileBlock
	nv, vb := k.vecs(), k.isa.bytes()

	g.Load(g.Param("t"), gT)
	g.MOVQ(tile.field(gT, "Flags", 0), gFlags)

	// Accumulators: C (TileAccumulate) or zero.
	zero, kstart := g.label("zero"), g.label("kstart")
	if k.segsC {
		// C in column runs: zero, then the runs' columns from C (before A
		// is loaded: the runs take its registers)
		plain := g.label("plainc")
		g.TESTQ(operand.U32(tileSegs), gFlags)
		g.JZ(operand.LabelRef(plain))
		for i := range k.mr {
			for v := range nv {
				g.zero(k.acc(i, v))
			}
		}
		g.TESTQ(operand.U32(tileAccumulate), gFlags)
		g.JZ(operand.LabelRef(kstart))
		k.forSegs(g, "C", func(i int, row reg.Register, masks []reg.OpmaskPhysical) {
			for v := range nv {
				g.VMOVUPS(at(row, v*vb), masks[v], k.acc(i, v))
			}
		})
		g.JMP(operand.LabelRef(kstart))
		g.Label(plain)
	}
	g.TESTQ(operand.U32(tileAccumulate), gFlags)
	g.JZ(operand.LabelRef(zero))
	k.forRows(g, "C", "LDC", func(i int, row reg.Register) {
		for v := range nv {
			g.VMOVUPS(at(row, v*vb), k.acc(i, v))
		}
	})
	g.JMP(operand.LabelRef(kstart))
	g.Label(zero)
	// The tile's C lines are written only after the K loop: touching them
	// now overlaps their misses with it (outputs larger than the caches
	// otherwise stall the stores, most in the 27-deep stem convolutions).
	k.forRows(g, "C", "LDC", func(i int, row reg.Register) {
		for off := 0; off < nv*vb; off += 64 {
			g.PREFETCHT0(at(row, off))
		}
	})
	for i := range k.mr {
		for v := range nv {
			g.zero(k.acc(i, v))
		}
	}
	g.Label(kstart)
	loadTileA(g)
	// Likewise the residual rows the epilogue will read, which a pointwise
	// convolution with a small K (ResNet50's 64 -> 256 expansions) would
	// otherwise wait for.
	noRes := g.label("nores")
	g.TESTQ(operand.U32(tileEpilogue), gFlags)
	g.JZ(operand.LabelRef(noRes))
	if k.segsC {
		g.TESTQ(operand.U32(tileSegs), gFlags) // runs: no rows to prefetch
		g.JNZ(operand.LabelRef(noRes))
	}
	g.MOVQ(tile.field(gT, "R", 0), gTmp[0])
	g.TESTQ(gTmp[0], gTmp[0])
	g.JZ(operand.LabelRef(noRes))
	k.forRows(g, "R", "LDR", func(i int, row reg.Register) {
		for off := 0; off < nv*vb; off += 64 {
			g.PREFETCHT0(at(row, off))
		}
	})
	g.Label(noRes)

	rows, epilogue := g.label("rowsb"), g.label("epilogue")
	g.TESTQ(operand.U32(tileRowsB), gFlags)
	g.JNZ(operand.LabelRef(rows))
	g.Comment("B from a packed panel")
	loadTileB(g)
	k.startPrefetchA(g)
	k.kloop(g, false)
	g.JMP(operand.LabelRef(epilogue))
	g.Label(rows)
	g.Comment("TileRowsB: B[k][j] = BRows[k][BOff+j]")
	g.MOVQ(tile.field(gT, "BRows", 0), gB)
	g.MOVQ(tile.field(gT, "BOff", 0), gBOff)
	g.SHLQ(operand.U8(2), gBOff)
	k.kloop(g, true)

	g.Label(epilogue)
	store := g.label("store")
	g.TESTQ(operand.U32(tileEpilogue), gFlags)
	g.JZ(operand.LabelRef(store))
	k.epilogue(g)
	g.Label(store)
	k.onSegs(g, "C", func(i int, row reg.Register, masks []reg.OpmaskPhysical) {
		for v := range nv {
			g.VMOVUPS(k.acc(i, v), masks[v], at(row, v*vb))
		}
	}, func() {
		g.VZEROUPPER()
		g.RET()
	})
	k.forRows(g, "C", "LDC", func(i int, row reg.Register) {
		for v := range nv {
			g.VMOVUPS(k.acc(i, v), at(row, v*vb))
		}
	})
	g.VZEROUPPER()
	g.RET()
}

// tcValue is a register of the transposed store's network, or one of the
// rows past MR of the 16 the network transposes (past: no register).
type tcValue struct {
	r    reg.VecPhysical
	past bool
}

// transposeStore transposes column vector v of the tile (MR rows of 16
// columns, in the accumulators) with a 16x16 network of unpacks and
// 128-bit lane shuffles, and stores each column j as the MR contiguous
// outputs C[(16v+j)*LDC : +MR] (masked by K1), adding R likewise when
// res, then clamping to [lo, hi]. Registers in pool are the network's
// temporaries; each step frees one of its inputs, so one is enough.
// Uses BX/R9 (C, LDC bytes), SI/R8 (R, LDR bytes), AX and DX.
func (k gemmKernel) transposeStore(g *gen, v int, res bool, lo, hi reg.VecPhysical, pool []reg.VecPhysical) {
	free := append([]reg.VecPhysical(nil), pool...)
	alloc := func() reg.VecPhysical {
		r := free[len(free)-1]
		free = free[:len(free)-1]
		return r
	}
	// pair computes (first(a, b), second(a, b)) into a temporary and into
	// b's (or a's) register, freeing the other input.
	pair := func(a, b tcValue, first, second func(b, a, dst reg.VecPhysical)) (tcValue, tcValue) {
		if a.past && b.past {
			return a, b
		}
		// a row past MR reaches only the lanes the masked stores skip:
		// its partner stands in for it
		ra, rb := a.r, b.r
		if a.past {
			ra = rb
		}
		if b.past {
			rb = ra
		}
		t := alloc()
		first(rb, ra, t)
		switch {
		case !b.past:
			second(rb, ra, rb)
			if !a.past {
				free = append(free, ra)
			}
			return tcValue{r: t}, tcValue{r: rb}
		default:
			second(rb, ra, ra)
			return tcValue{r: t}, tcValue{r: ra}
		}
	}
	shuf := func(imm uint8) func(b, a, dst reg.VecPhysical) {
		return func(b, a, dst reg.VecPhysical) { g.VSHUFF32X4(operand.U8(imm), b, a, dst) }
	}
	unpack := func(f func(...operand.Op)) func(b, a, dst reg.VecPhysical) {
		return func(b, a, dst reg.VecPhysical) { f(b, a, dst) }
	}
	var r [16]tcValue
	for i := range r {
		r[i] = tcValue{past: true}
		if i < k.mr {
			r[i] = tcValue{r: k.acc(i, v)}
		}
	}
	// 32-bit, then 64-bit interleaves: t[4q+m] holds, in 128-bit lane L,
	// column 4L+m of rows 4q..4q+3
	var t, u [16]tcValue
	for p := range 8 {
		t[2*p], t[2*p+1] = pair(r[2*p], r[2*p+1], unpack(g.VUNPCKLPS), unpack(g.VUNPCKHPS))
	}
	for q := range 4 {
		for m := range 2 {
			u[4*q+2*m], u[4*q+2*m+1] = pair(t[4*q+m], t[4*q+m+2], unpack(g.VUNPCKLPD), unpack(g.VUNPCKHPD))
		}
	}
	store := func(j int, c tcValue) {
		col := 16*v + j
		g.IMUL3Q(operand.U32(col), gLDB, reg.RAX)
		if res {
			g.IMUL3Q(operand.U32(col), gLDA, reg.RDX)
			g.VADDPS(mem(gA, 0, reg.RDX, 1), c.r, reg.K1, c.r)
		}
		g.VMAXPS(c.r, lo, c.r)
		g.VMINPS(c.r, hi, c.r)
		g.VMOVUPS(c.r, reg.K1, mem(gB, 0, reg.RAX, 1))
		free = append(free, c.r)
	}
	// lanes: column 4L+m gathers lane L of u[m], u[4+m], u[8+m], u[12+m]
	for m := range 4 {
		v0, v1 := pair(u[m], u[4+m], shuf(0x44), shuf(0xee))
		w0, w1 := pair(u[8+m], u[12+m], shuf(0x44), shuf(0xee))
		c0, c1 := pair(v0, w0, shuf(0x88), shuf(0xdd))
		store(m, c0)
		store(4+m, c1)
		c2, c3 := pair(v1, w1, shuf(0x88), shuf(0xdd))
		store(8+m, c2)
		store(12+m, c3)
	}
}

// loadTileA loads the *Tile argument into DI, then A, K and LDA (and
// 3*LDA) in bytes from it.
func loadTileA(g *gen) {
	g.Load(g.Param("t"), gT)
	g.MOVQ(tileBlock.field(gT, "A", 0), gA)
	g.MOVQ(tileBlock.field(gT, "K", 0), gK)
	g.MOVQ(tileBlock.field(gT, "LDA", 0), gLDA)
	g.SHLQ(operand.U8(2), gLDA)
	g.LEAQ(mem(gLDA, 0, gLDA, 2), gLDA3)
}

// loadTileB loads the packed B panel and LDB (and 3*LDB) in bytes.
func loadTileB(g *gen) {
	g.MOVQ(tileBlock.field(gT, "B", 0), gB)
	g.MOVQ(tileBlock.field(gT, "LDB", 0), gLDB)
	g.SHLQ(operand.U8(2), gLDB)
	g.LEAQ(mem(gLDB, 0, gLDB, 2), gLDB3)
}

// forRows runs body for each tile row i with row pointing at row i of the
// matrix field (C or R) whose leading dimension is the field ld (floats).
func (k gemmKernel) forRows(g *gen, matrix, ld string, body func(i int, row reg.Register)) {
	row, step := gTmp[1], gTmp[0]
	g.MOVQ(tileBlock.field(gT, matrix, 0), row)
	g.MOVQ(tileBlock.field(gT, ld, 0), step)
	g.SHLQ(operand.U8(2), step)
	for i := range k.mr {
		body(i, row)
		if i < k.mr-1 {
			g.ADDQ(step, row)
		}
	}
}

// Registers of the column-run loop (forSegs): free before A is loaded
// and after the K loop.
var (
	sSeg   = reg.RSI // the current run
	sLeft  = reg.RCX // runs left
	sRow   = reg.RBX // the run's row i
	sLD    = reg.R9  // the leading dimension in bytes
	sMask  = reg.RDX
	sMask2 = reg.R13
	sJ     = reg.RAX
)

// onSegs emits, in a kernel with column runs, a branch taken under
// TileSegs: forSegs(matrix, body), then end (which leaves the branch);
// the code emitted next is the row path. Other kernels get nothing.
func (k gemmKernel) onSegs(g *gen, matrix string, body func(i int, row reg.Register, masks []reg.OpmaskPhysical), end func()) {
	if !k.segsC {
		return
	}
	rows := g.label("rows")
	g.TESTQ(operand.U32(tileSegs), gFlags)
	g.JZ(operand.LabelRef(rows))
	k.forSegs(g, matrix, body)
	end()
	g.Label(rows)
}

// segFields are, per matrix a column run addresses, its leading
// dimension's field in Tile and the run's offset field in colSeg.
var segFields = map[string][2]string{"C": {"LDC", "c"}, "R": {"LDR", "r"}}

// forSegs runs body for each row i of each column run of Segs (TileSegs)
// with row pointing where column 0 of row i would be in the matrix field
// (C or R) from the run's offset (colSeg c or r), and masks holding the
// run's lanes of each column vector (K2, K3).
func (k gemmKernel) forSegs(g *gen, matrix string, body func(i int, row reg.Register, masks []reg.OpmaskPhysical)) {
	if k.isa != avx512 || k.vecs() > 2 {
		panic("column runs need AVX-512 masks for at most two vectors per row")
	}
	ld, off := segFields[matrix][0], colSegBlock.offsets[segFields[matrix][1]]
	masks := []reg.OpmaskPhysical{reg.K2, reg.K3}
	loop, done := g.label("seg"), g.label("segdone")
	g.MOVQ(tileBlock.field(gT, "Segs", 0), sSeg)
	g.MOVQ(tileBlock.field(gT, "Segs", 8), sLeft)
	g.TESTQ(sLeft, sLeft)
	g.JLE(operand.LabelRef(done))
	g.MOVQ(tileBlock.field(gT, ld, 0), sLD)
	g.SHLQ(operand.U8(2), sLD)
	g.Label(loop)
	// lanes [j, j+n): the low j+n bits without the low j
	g.MOVQ(at(sSeg, colSegBlock.offsets["j"]), sJ)
	g.MOVQ(at(sSeg, colSegBlock.offsets["n"]), sMask)
	g.ADDQ(sJ, sMask)
	g.MOVQ(operand.I32(-1), sMask2)
	g.BZHIQ(sMask, sMask2, sMask)
	g.BZHIQ(sJ, sMask2, sMask2)
	g.XORQ(sMask2, sMask)
	for v := range k.vecs() {
		g.KMOVW(sMask.As32(), masks[v])
		g.SHRQ(operand.U8(k.isa.lanes), sMask)
	}
	// row 0 of the run, less j columns
	g.MOVQ(at(sSeg, off), sRow)
	g.SUBQ(sJ, sRow)
	g.SHLQ(operand.U8(2), sRow)
	g.ADDQ(tileBlock.field(gT, matrix, 0), sRow)
	for i := range k.mr {
		body(i, sRow, masks[:k.vecs()])
		if i < k.mr-1 {
			g.ADDQ(sLD, sRow)
		}
	}
	g.ADDQ(operand.U32(32), sSeg)
	g.DECQ(sLeft)
	g.JNZ(operand.LabelRef(loop))
	g.Label(done)
}

// prefetchesA reports whether a K loop prefetches A rows: not under
// TileRowsB, whose BOff takes the pointer's register (R11).
func (k gemmKernel) prefetchesA(rowsB bool) bool { return k.prefetchA > 0 && !rowsB }

// startPrefetchA points R11 prefetchA k steps past A, before a K loop
// over packed B that prefetches (prefetchesA).
func (k gemmKernel) startPrefetchA(g *gen) {
	if k.prefetchesA(false) {
		g.IMUL3Q(operand.U32(k.prefetchA), gLDA, gPFA)
		g.ADDQ(gA, gPFA)
	}
}

// kloop emits the K loop: unrolled steps while at least k.unroll remain,
// then single steps.
func (k gemmKernel) kloop(g *gen, rowsB bool) {
	body, tail, tail1, done := g.label("kbody"), g.label("ktail"), g.label("ktail1_"), g.label("kdone")
	g.CMPQ(gK, operand.Imm(uint64(k.unroll)))
	g.JL(operand.LabelRef(tail))
	g.Label(body)
	for u := range k.unroll {
		k.step(g, rowsB, u)
	}
	g.LEAQ(mem(gA, 0, gLDA, uint8(k.unroll)), gA)
	if k.prefetchesA(rowsB) {
		g.LEAQ(mem(gPFA, 0, gLDA, uint8(k.unroll)), gPFA)
	}
	if rowsB {
		g.ADDQ(operand.U32(sliceHeader*k.unroll), gB)
	} else {
		g.LEAQ(mem(gB, 0, gLDB, uint8(k.unroll)), gB)
	}
	g.SUBQ(operand.U32(k.unroll), gK)
	g.CMPQ(gK, operand.Imm(uint64(k.unroll)))
	g.JGE(operand.LabelRef(body))
	g.Label(tail)
	g.TESTQ(gK, gK)
	g.JLE(operand.LabelRef(done))
	g.Label(tail1)
	k.step(g, rowsB, 0)
	g.ADDQ(gLDA, gA)
	if k.prefetchesA(rowsB) {
		g.ADDQ(gLDA, gPFA)
	}
	if rowsB {
		g.ADDQ(operand.U32(sliceHeader), gB)
	} else {
		g.ADDQ(gLDB, gB)
	}
	g.DECQ(gK)
	g.JNZ(operand.LabelRef(tail1))
	g.Label(done)
}

// stepMem returns the address of step u of an operand advancing by ld
// (ld3 = 3*ld) bytes per k from base.
func stepMem(base, ld, ld3 reg.Register, u, disp int) operand.Mem {
	switch u {
	case 0:
		return at(base, disp)
	case 1:
		return mem(base, disp, ld, 1)
	case 2:
		return mem(base, disp, ld, 2)
	case 3:
		return mem(base, disp, ld3, 1)
	}
	panic("unroll beyond 4")
}

// step emits k step u of an unrolled body: load the B row, then per tile
// row broadcast A[k][i] and multiply-add it into the row's accumulators.
func (k gemmKernel) step(g *gen, rowsB bool, u int) {
	nv, vb := k.vecs(), k.isa.bytes()
	for v := range nv {
		var src operand.Mem
		if rowsB {
			p := gTmp[u%2]
			if v == 0 {
				g.MOVQ(at(gB, sliceHeader*u), p)
				if k.prefetchRows {
					for off := 0; off < nv*vb; off += 64 {
						g.PREFETCHT0(mem(p, nv*vb+off, gBOff, 1))
					}
				}
			}
			src = mem(p, v*vb, gBOff, 1)
		} else {
			src = stepMem(gB, gLDB, gLDB3, u, v*vb)
			if k.prefetchB > 0 && v == 0 {
				for off := 0; off < nv*vb; off += 64 {
					g.PREFETCHT0(stepMem(gB, gLDB, gLDB3, u, k.prefetchB+off))
				}
			}
		}
		g.VMOVUPS(src, k.bvec(v))
	}
	if k.prefetchesA(rowsB) { // the row's first and last floats: one or two lines
		g.PREFETCHT0(stepMem(gPFA, gLDA, gLDA3, u, 0))
		g.PREFETCHT0(stepMem(gPFA, gLDA, gLDA3, u, 4*k.mr-4))
	}
	for i := range k.mr {
		a := stepMem(gA, gLDA, gLDA3, u, 4*i)
		if k.bcastRegs == 0 {
			for v := range nv {
				g.VFMADD231PS_BCST(a, k.bvec(v), k.acc(i, v))
			}
			continue
		}
		b := k.bcast(u*k.mr + i)
		g.VBROADCASTSS(a, b)
		for v := range nv {
			g.VFMADD231PS(k.bvec(v), b, k.acc(i, v))
		}
	}
}

// epilogue adds Bias[i] and R (when not nil), then clamps to [Lo, Hi]
// with max(Lo, x) and min(Hi, x) ordered so that they match the Go clamp
// (a NaN sum stays NaN).
func (k gemmKernel) epilogue(g *gen) {
	nv, vb := k.vecs(), k.isa.bytes()
	tile := tileBlock
	bias := gTmp[0]
	g.MOVQ(tile.field(gT, "Bias", 0), bias)
	for i := range k.mr {
		if k.isa == avx512 {
			for v := range nv {
				g.VADDPS_BCST(at(bias, 4*i), k.acc(i, v), k.acc(i, v))
			}
			continue
		}
		g.VBROADCASTSS(at(bias, 4*i), k.bvec(0))
		for v := range nv {
			g.VADDPS(k.bvec(0), k.acc(i, v), k.acc(i, v))
		}
	}
	clamp := g.label("clamp")
	g.MOVQ(tile.field(gT, "R", 0), gTmp[0])
	g.TESTQ(gTmp[0], gTmp[0])
	g.JZ(operand.LabelRef(clamp))
	k.onSegs(g, "R", func(i int, row reg.Register, masks []reg.OpmaskPhysical) {
		for v := range nv {
			g.VADDPS(at(row, v*vb), k.acc(i, v), masks[v], k.acc(i, v))
		}
	}, func() { g.JMP(operand.LabelRef(clamp)) })
	k.forRows(g, "R", "LDR", func(i int, row reg.Register) {
		for v := range nv {
			g.VADDPS(at(row, v*vb), k.acc(i, v), k.acc(i, v))
		}
	})
	g.Label(clamp)
	lo, hi := k.bvec(0), k.bvec(1%nv)
	if nv < 2 {
		panic("clamp needs two B registers")
	}
	g.VBROADCASTSS(tile.field(gT, "Lo", 0), lo)
	g.VBROADCASTSS(tile.field(gT, "Hi", 0), hi)
	for i := range k.mr {
		for v := range nv {
			// Go operand order: VMAXPS src2, src1, dst is dst = src1 > src2 ? src1 : src2.
			g.VMAXPS(k.acc(i, v), lo, k.acc(i, v))
			g.VMINPS(k.acc(i, v), hi, k.acc(i, v))
		}
	}
}

// Shorts returns the short kernels of kernel k (same table, ISA and NR,
// fewer rows), in increasing MR, for the registry template.
func (k gemmKernel) Shorts() []gemmKernel {
	table := gemmKernels
	if k.transC {
		table = gemmTCKernels
	}
	var out []gemmKernel
	for i := len(table) - 1; i >= 0; i-- {
		if s := table[i]; s.short && s.isa == k.isa && s.nr == k.nr && s.mr < k.mr {
			out = append(out, s)
		}
	}
	return out
}

// Accessors for the registry template.
func (k gemmKernel) MR() int      { return k.mr }
func (k gemmKernel) NR() int      { return k.nr }
func (k gemmKernel) KC() int      { return k.kc }
func (k gemmKernel) TransC() bool { return k.transC }
func (k gemmKernel) SegsC() bool  { return k.segsC }
