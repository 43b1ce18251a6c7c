package main

import (
	"fmt"
	"go/types"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// The int8 GEMM micro-kernels (runtime.QTile): uint8 activations times
// int8 weights, both packed in quads of k, int32 accumulators, and the
// float32 requantisation epilogue.

// qISA is an instruction-set level of the int8 kernels.
type qISA struct {
	name  string  // kernel name suffix and runtime level: "avx512vnni"
	Level string  // the runtime's level constant
	vec   *vecISA // the vector registers
	dot   string  // how a quad step multiplies: "vnni" (VPDPBUSD) or "madd" (VPMADDUBSW + VPMADDWD)
	// evex: VPDPBUSD on YMM EVEX-encoded (AVX512_VNNI and AVX512VL), the
	// AVX-VNNI kernels' test twins
	evex bool
}

// Name returns the level's name, for the registry template.
func (q *qISA) Name() string { return q.name }

// Suffix returns the level as it ends Go function names.
func (q *qISA) Suffix() string { return naming.ISASuffix(q.name) }

var (
	// avx512vnni: VPDPBUSD on ZMM (AVX512_VNNI), EVEX-encoded.
	avx512vnni = &qISA{name: "avx512vnni", Level: "ISAAVX512VNNI", vec: avx512, dot: "vnni"}
	// avxvnni: VPDPBUSD on YMM, VEX-encoded (AVX-VNNI).
	avxvnni = &qISA{name: "avxvnni", Level: "ISAAVXVNNI", vec: avx2, dot: "vnni"}
	// avxvnniEVEX: the avxvnni kernels with VPDPBUSD EVEX-encoded, not a
	// level: tests run them where the CPU has AVX-512 VNNI but no
	// AVX-VNNI, the code being the same but for the encoding
	avxvnniEVEX = &qISA{name: "avxvnnievex", vec: avx2, dot: "vnni", evex: true}
	// qavx2: VPMADDUBSW (u8 x s8 pairs summed into int16, saturating)
	// then VPMADDWD by ones (pairs of int16 into int32).
	qavx2 = &qISA{name: "avx2", Level: "ISAAVX2", vec: avx2, dot: "madd"}
)

// qgemmKernel describes an int8 GEMM micro-kernel implementing
// runtime.QTile.
type qgemmKernel struct {
	isa    *qISA
	mr, nr int
	unroll int  // quads per loop iteration
	short  bool // a kernel for the last, partial row panel (QGemmKernel.Short)
	// AVX2 only. VPMADDUBSW sums two u8 x s8 products into an int16 with
	// saturation: 255*127*2 overflows. MLAS runs it so anyway (the
	// weights' range is the quantiser's business: reduce_range); tsmc
	// never saturates. w7: the kernel is exact for weights in [-64, 64]
	// (|255*64*2| < 2^15) and drivers pick it only for those; split: each
	// weight w is split into wa = clamp(w, -64, 64) and wb = w - wa, both
	// in 7 bits, and both halves multiplied: exact for all weights at
	// twice the multiplies.
	w7, split bool
	// fout: the kernel implements runtime.QFTile (a float32 result and
	// per-column offsets) instead of QTile's requantisation
	fout bool
	// rowsB: the kernel reads B from QTile.BRows when it is set
	// (QGemmKernel.RowsB)
	rowsB bool
}

// qfgemmKernels are the int8 GEMM kernels with a float32 result
// (runtime.QFTile), one per level: the same quad loops, another epilogue.
// Their A operand is not weights but queries in the full int8 range, so
// AVX2 takes the split kernel, exact for every value.
var qfgemmKernels = []qgemmKernel{
	{isa: avx512vnni, mr: 12, nr: 32, unroll: 4, fout: true},
	{isa: avxvnni, mr: 6, nr: 16, unroll: 4, fout: true},
	{isa: qavx2, mr: 4, nr: 16, unroll: 2, split: true, fout: true},
}

// qgemmKernels is the table every int8 GEMM kernel and its registration
// are generated from, best first within a level.
//
// AVX-512 VNNI 12x32: 24 ZMM accumulators, 2 activation vectors and 6
// registers the weight broadcasts rotate through (VPBROADCASTD from
// memory is a load, no shuffle); a quad step is 24 VPDPBUSD (1536
// multiply-adds) for 14 loads. AVX-VNNI 6x16 is the same on 16 YMM
// registers (12 accumulators, 2 activation vectors, 1 broadcast). AVX2
// needs a temporary and a vector of int16 ones per step (and, split, two
// more halves and two clamp constants), so it takes 4 rows.
//
// The AVX-512 VNNI kernels also read B in place from rows (QTile.BRows):
// a quad's activations of 32 pixels are 128 contiguous bytes of an input
// interleaved by channel quads, which spares a 3x3 convolution its
// im2col packing (qconv_inplace.go).
var qgemmKernels = []qgemmKernel{
	{isa: avx512vnni, mr: 12, nr: 32, unroll: 4, rowsB: true},
	{isa: avx512vnni, mr: 8, nr: 32, unroll: 4, short: true, rowsB: true},
	{isa: avx512vnni, mr: 4, nr: 32, unroll: 4, short: true, rowsB: true},
	{isa: avxvnni, mr: 6, nr: 16, unroll: 4},
	{isa: avxvnni, mr: 4, nr: 16, unroll: 4, short: true},
	{isa: avxvnni, mr: 2, nr: 16, unroll: 4, short: true},
	{isa: qavx2, mr: 4, nr: 16, unroll: 4, w7: true},
	{isa: qavx2, mr: 4, nr: 16, unroll: 2, split: true},
}

// names returns the descriptor the kernel's contract and Go names come
// from.
func (k qgemmKernel) names() naming.Kernel {
	n := naming.Kernel{Type: "qu8_qc8w", Op: "gemm", MinMax: true, Requant: "fp32",
		Shape: fmt.Sprintf("%dx%dc4", k.mr, k.nr), ISA: k.isa.name}
	if k.fout {
		// int8 rows times uint8 columns into float32
		n.Type, n.MinMax, n.Requant = "qs8_qu8_f32", false, ""
	}
	if k.w7 {
		n.Variant = "W7"
	}
	return n
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k qgemmKernel) Name() string   { return k.names().Name() }
func (k qgemmKernel) GoName() string { return k.names().GoName() }

// Accessors for the registry template.
func (k qgemmKernel) MR() int           { return k.mr }
func (k qgemmKernel) NR() int           { return k.nr }
func (k qgemmKernel) Weights7Bit() bool { return k.w7 }
func (k qgemmKernel) RowsB() bool       { return k.rowsB }
func (k qgemmKernel) ISA() *qISA        { return k.isa }
func (k qgemmKernel) Shorts() []qgemmKernel {
	var out []qgemmKernel
	for i := len(qgemmKernels) - 1; i >= 0; i-- {
		if s := qgemmKernels[i]; s.short && s.isa == k.isa && s.nr == k.nr && s.mr < k.mr {
			out = append(out, s)
		}
	}
	return out
}

var (
	i8Slice  = types.NewSlice(types.Typ[types.Int8])
	u8Slice  = types.NewSlice(types.Typ[types.Uint8])
	i32Slice = types.NewSlice(types.Typ[types.Int32])
	i32      = types.Typ[types.Int32]
)

// qftileBlock mirrors runtime.QFTile, the contract of the int8 GEMM
// micro-kernels with a float32 result.
var qftileBlock = newArgBlock("QFTile",
	field("A", i8Slice), field("B", u8Slice), field("C", f32Slice),
	field("Offset", i32Slice), field("Col", i32Slice), field("Max", f32Slice),
	field("K4", intT), field("LDA", intT), field("LDC", intT),
	field("Scale", f32),
)

// block is the argument block of the kernel's contract.
func (k qgemmKernel) block() *argBlock {
	if k.fout {
		return qftileBlock
	}
	return qtileBlock
}

// qtileBlock mirrors runtime.QTile, the int8 GEMM micro-kernel contract.
var qtileBlock = newArgBlock("QTile",
	field("A", i8Slice), field("B", u8Slice), field("C", u8Slice), field("R", u8Slice),
	field("Offset", i32Slice), field("Scale", f32Slice),
	field("K4", intT), field("LDA", intT), field("LDC", intT), field("LDR", intT),
	field("Zero", i32), field("Lo", f32), field("Hi", f32),
	field("ZeroC", i32), field("Lo1", f32), field("Hi1", f32),
	field("S1", f32), field("SR", f32), field("F", f32), field("Swap", i32),
	field("BRows", types.NewSlice(u8Slice)), field("BOff", intT),
)

func (k qgemmKernel) vecs() int   { return k.nr / k.isa.vec.lanes }
func (k qgemmKernel) vbytes() int { return k.isa.vec.bytes() }

// Registers: the accumulators first, row by row, then the activation
// vectors, then the weight broadcasts (and AVX2's temporaries).
func (k qgemmKernel) acc(i, v int) reg.VecPhysical { return k.isa.vec.regs[i*k.vecs()+v] }
func (k qgemmKernel) bvec(v int) reg.VecPhysical   { return k.isa.vec.regs[k.mr*k.vecs()+v] }
func (k qgemmKernel) extra(i int) reg.VecPhysical  { return k.isa.vec.regs[k.mr*k.vecs()+k.vecs()+i] }

// bcastRegs is the number of registers the weight broadcasts rotate
// through: all the rest on AVX-512, one on the YMM levels.
func (k qgemmKernel) bcastRegs() int {
	if k.isa.vec == avx512 {
		return len(k.isa.vec.regs) - k.mr*k.vecs() - k.vecs()
	}
	return 1
}

// AVX2 registers after the broadcast: a temporary, int16 ones, and for
// split the second half and the clamp constants +64 and -64.
func (k qgemmKernel) tmp() reg.VecPhysical  { return k.extra(1) }
func (k qgemmKernel) ones() reg.VecPhysical { return k.extra(2) }
func (k qgemmKernel) wa() reg.VecPhysical   { return k.extra(3) }
func (k qgemmKernel) p64() reg.VecPhysical  { return k.extra(4) }
func (k qgemmKernel) m64() reg.VecPhysical  { return k.extra(5) }

// used is the number of vector registers the K loop takes.
func (k qgemmKernel) used() int {
	n := k.mr*k.vecs() + k.vecs() + k.bcastRegs()
	switch {
	case k.split:
		n += 5
	case k.isa.dot == "madd":
		n += 2
	}
	return n
}

// General-purpose registers of the int8 GEMM kernels.
var (
	qT     = reg.RDI // *QTile
	qA     = reg.RSI // A, advancing by LDA per quad
	qB     = reg.RBX // B, advancing by 4*NR per quad
	qK     = reg.RCX // quads left
	qLDA   = reg.R8  // LDA bytes
	qLDA3  = reg.R9  // 3*LDA bytes
	qC     = reg.R10 // the C row of the epilogue
	qLDC   = reg.R11
	qR     = reg.R12 // the R row
	qLDR   = reg.R13
	qScale = reg.RDX // Scale (Offset at the start)
	qTmp   = reg.RAX
	// B from rows (QTile.BRows): BOff, and the rows of two quads in
	// turn; the epilogue's registers, free in the quad loop
	qBOff = reg.R11
	qRow  = []reg.GPPhysical{reg.R10, reg.R12}
)

func (k qgemmKernel) registerDoc() []string {
	nv := k.vecs()
	lines := []string{
		fmt.Sprintf("Registers: %s..%s accumulate the %dx%d tile (row i in %d registers from %s+%d*i),",
			k.acc(0, 0).Asm(), k.acc(k.mr-1, nv-1).Asm(), k.mr, k.nr, nv, k.acc(0, 0).Asm(), nv),
		fmt.Sprintf("%s..%s hold the activations of a quad, %s..%s the weight broadcasts;",
			k.bvec(0).Asm(), k.bvec(nv-1).Asm(), k.extra(0).Asm(), k.extra(k.bcastRegs()-1).Asm()),
	}
	switch {
	case k.split:
		lines = append(lines, fmt.Sprintf("%s a product, %s int16 ones, %s the first weight half (the broadcast becomes the second), %s/%s +64/-64;",
			k.tmp().Asm(), k.ones().Asm(), k.wa().Asm(), k.p64().Asm(), k.m64().Asm()))
	case k.isa.dot == "madd":
		lines = append(lines, fmt.Sprintf("%s a product, %s int16 ones;", k.tmp().Asm(), k.ones().Asm()))
	}
	if k.isa.vec == avx2 {
		lines = append(lines, "the epilogue uses the registers after the accumulators; Y15 (X15) is clobbered:",
			"it is scratch in ABI0 and the caller re-zeroes it.")
	}
	if k.fout {
		return append(lines,
			"DI *QFTile, SI A, BX B, CX quads left, R8/R9 LDA/3*LDA bytes, DX Offset,",
			"R10/R11 the C row and LDC bytes, R12 Col, R13 Max.")
	}
	return append(lines,
		"DI *QTile, SI A, BX B, CX quads left, R8/R9 LDA/3*LDA bytes, DX Offset then Scale,",
		"R10/R11 the C row and LDC, R12/R13 the R row and LDR, AX scratch.")
}

// qgemmTwin pairs an AVX-VNNI kernel with its EVEX-encoded twin.
type qgemmTwin struct{ Orig, Twin qgemmKernel }

// qgemmTwins returns the twins (avxvnniEVEX) of the AVX-VNNI kernels of
// table.
func qgemmTwins(table []qgemmKernel) []qgemmTwin {
	var ts []qgemmTwin
	for _, k := range table {
		if k.isa == avxvnni {
			twin := k
			twin.isa = avxvnniEVEX
			ts = append(ts, qgemmTwin{k, twin})
		}
	}
	return ts
}

// buildQGemm emits every int8 GEMM kernel of the table and the AVX-VNNI
// kernels' twins.
func buildQGemm(g *gen) {
	for _, k := range qgemmKernels {
		k.emit(g)
	}
	for _, tw := range qgemmTwins(qgemmKernels) {
		tw.Twin.emit(g)
	}
	for _, k := range qfgemmKernels {
		k.emit(g)
	}
	for _, tw := range qgemmTwins(qfgemmKernels) {
		tw.Twin.emit(g)
	}
}

func (k qgemmKernel) doc() []string {
	var how string
	switch {
	case k.isa.dot == "vnni" && k.isa.evex:
		how = "VPDPBUSD (encoded, EVEX: the twin of the AVX-VNNI kernel for tests)"
	case k.isa.dot == "vnni":
		how = "VPDPBUSD (encoded)"
	case k.split:
		how = "each weight split into two 7-bit halves, VPMADDUBSW + VPMADDWD on each: exact for all weights"
	default:
		how = "VPMADDUBSW + VPMADDWD: exact for weights in [-64, 64] only (Weights7Bit)"
	}
	return []string{
		fmt.Sprintf("%s is %s: the %s contract for a %dx%d tile,", k.GoName(), k.Name(), k.block().name, k.mr, k.nr),
		fmt.Sprintf("quads multiplied by %s, %d quads per iteration.", how, k.unroll),
	}
}

func (k qgemmKernel) emit(g *gen) {
	if k.used() > len(k.isa.vec.regs) || k.isa.vec == avx2 && k.nr != 16 {
		panic(fmt.Sprintf("%s: %d registers, NR %d", k.Name(), k.used(), k.nr))
	}
	g.function(k.GoName(), k.block(), append(k.doc(), k.registerDoc()...)...)
	g.Comment(k.registerDoc()...)
	t := k.block()
	nv := k.vecs()
	g.Load(g.Param("t"), qT)
	g.MOVQ(t.field(qT, "A", 0), qA)
	g.MOVQ(t.field(qT, "B", 0), qB)
	g.MOVQ(t.field(qT, "K4", 0), qK)
	g.MOVQ(t.field(qT, "LDA", 0), qLDA)
	g.LEAQ(mem(qLDA, 0, qLDA, 2), qLDA3)

	g.Comment("Accumulators start at Offset[i].")
	g.MOVQ(t.field(qT, "Offset", 0), qScale)
	for i := range k.mr {
		g.VPBROADCASTD(at(qScale, 4*i), k.acc(i, 0))
		for v := 1; v < nv; v++ {
			k.move(g, k.acc(i, 0), k.acc(i, v))
		}
	}
	if k.isa.dot == "madd" {
		g.Comment("int16 ones for VPMADDWD")
		g.VPCMPEQW(k.ones(), k.ones(), k.ones())
		g.VPSRLW(operand.U8(15), k.ones(), k.ones())
	}
	if k.split {
		g.Comment("the clamp bounds +64 and -64 as bytes")
		g.VPCMPEQB(k.p64(), k.p64(), k.p64())
		g.VPABSB(k.p64(), k.p64())
		g.VPSLLW(operand.U8(6), k.p64(), k.p64())
		g.VPXOR(k.m64(), k.m64(), k.m64())
		g.VPSUBB(k.p64(), k.m64(), k.m64())
	}
	if k.rowsB {
		rows, done := g.label("qrowsb"), g.label("qkend")
		g.MOVQ(t.field(qT, "BRows", 0), qTmp)
		g.TESTQ(qTmp, qTmp)
		g.JNZ(operand.LabelRef(rows))
		k.kloop(g, false)
		g.JMP(operand.LabelRef(done))
		g.Label(rows)
		g.Comment("B from rows: quad q's activations at BRows[q][BOff:]")
		g.MOVQ(qTmp, qB)
		g.MOVQ(t.field(qT, "BOff", 0), qBOff)
		k.kloop(g, true)
		g.Label(done)
	} else {
		k.kloop(g, false)
	}
	if k.fout {
		k.epilogueF(g)
	} else {
		k.epilogue(g)
	}
	g.VZEROUPPER()
	g.RET()
}

// move copies vector register src to dst.
func (k qgemmKernel) move(g *gen, src, dst reg.VecPhysical) {
	if k.isa.vec == avx512 {
		g.VMOVDQA32(src, dst)
	} else {
		g.VMOVDQA(src, dst)
	}
}

// kloop emits the quad loop: unrolled steps while at least k.unroll quads
// remain, then single steps.
func (k qgemmKernel) kloop(g *gen, rows bool) {
	body, tail, tail1, done := g.label("qbody"), g.label("qtail"), g.label("qtail1_"), g.label("qdone")
	quad := 4 * k.nr // B bytes per quad
	if rows {
		quad = sliceHeader // B walks the row headers
	}
	g.CMPQ(qK, operand.Imm(uint64(k.unroll)))
	g.JL(operand.LabelRef(tail))
	g.Label(body)
	for u := range k.unroll {
		k.step(g, rows, u)
	}
	g.LEAQ(mem(qA, 0, qLDA, uint8(k.unroll)), qA)
	g.ADDQ(operand.U32(quad*k.unroll), qB)
	g.SUBQ(operand.U32(k.unroll), qK)
	g.CMPQ(qK, operand.Imm(uint64(k.unroll)))
	g.JGE(operand.LabelRef(body))
	g.Label(tail)
	g.TESTQ(qK, qK)
	g.JLE(operand.LabelRef(done))
	g.Label(tail1)
	k.step(g, rows, 0)
	g.ADDQ(qLDA, qA)
	g.ADDQ(operand.U32(quad), qB)
	g.DECQ(qK)
	g.JNZ(operand.LabelRef(tail1))
	g.Label(done)
}

// step emits quad u of an unrolled body: load the activations, then per
// row broadcast the row's 4 weights and multiply-add them into the row's
// accumulators.
func (k qgemmKernel) step(g *gen, rows bool, u int) {
	nv, vb := k.vecs(), k.vbytes()
	src := func(v int) operand.Mem { return at(qB, u*4*k.nr+v*vb) }
	if rows {
		row := qRow[u%2]
		g.MOVQ(at(qB, sliceHeader*u), row)
		src = func(v int) operand.Mem { return mem(row, v*vb, qBOff, 1) }
	}
	for v := range nv {
		if k.isa.vec == avx512 {
			g.VMOVDQU32(src(v), k.bvec(v))
		} else {
			g.VMOVDQU(src(v), k.bvec(v))
		}
	}
	for i := range k.mr {
		w := k.extra((u*k.mr + i) % k.bcastRegs())
		g.VPBROADCASTD(stepMem(qA, qLDA, qLDA3, u, 4*i), w)
		if k.split {
			// wa = clamp(w, -64, 64), then w -= wa
			g.VPMAXSB(k.m64(), w, k.wa())
			g.VPMINSB(k.p64(), k.wa(), k.wa())
			g.VPSUBB(k.wa(), w, w)
		}
		for v := range nv {
			switch {
			case k.isa.dot == "vnni" && k.isa.evex:
				g.encode(vpdpbusdEVEX(w, k.bvec(v), k.acc(i, v)))
			case k.isa.dot == "vnni":
				g.encode(vpdpbusd(w, k.bvec(v), k.acc(i, v)))
			case k.split:
				k.madd(g, k.wa(), k.bvec(v), k.acc(i, v))
				k.madd(g, w, k.bvec(v), k.acc(i, v))
			default:
				k.madd(g, w, k.bvec(v), k.acc(i, v))
			}
		}
	}
}

// madd adds to acc the quad dot products of unsigned b and signed w
// through int16 pairs (VPMADDUBSW, Go operand order: signed, unsigned,
// destination).
func (k qgemmKernel) madd(g *gen, w, b, acc reg.VecPhysical) {
	g.VPMADDUBSW(w, b, k.tmp())
	g.VPMADDWD(k.ones(), k.tmp(), k.tmp())
	g.VPADDD(k.tmp(), acc, acc)
}

// epilogue requantises the accumulators row by row and stores the bytes
// (QTile): a residual (R != nil) and a plain version.
func (k qgemmKernel) epilogue(g *gen) {
	t := qtileBlock
	free := k.isa.vec.regs[k.mr*k.vecs():]
	g.MOVQ(t.field(qT, "Scale", 0), qScale)
	g.MOVQ(t.field(qT, "C", 0), qC)
	g.MOVQ(t.field(qT, "LDC", 0), qLDC)
	g.MOVQ(t.field(qT, "R", 0), qR)
	g.MOVQ(t.field(qT, "LDR", 0), qLDR)
	lo, hi := free[0], free[1]
	g.VBROADCASTSS(t.field(qT, "Lo", 0), lo)
	g.VBROADCASTSS(t.field(qT, "Hi", 0), hi)
	g.ifNotNil(qR, func(res bool) {
		if k.isa.vec == avx512 {
			k.epilogueZ(g, res, lo, hi, free[2:])
		} else {
			k.epilogueY(g, res, lo, hi, free[2:])
		}
	})
}

// bySwap emits body once per operand order of the residual add, the
// version run chosen by QTile.Swap, so that the sum needs no exchange of
// its operands at run time.
func bySwap(g *gen, body func(swap bool)) {
	g.MOVL(qtileBlock.field(qT, "Swap", 0), qTmp.As32())
	g.TESTL(qTmp.As32(), qTmp.As32())
	g.bothWays(body)
}

// epilogueZ is the ZMM epilogue: the row scales, S1 and F are memory
// broadcasts; Lo1, Hi1, SR, ZeroC (as a float) and Zero stay in registers
// (a residual tile has its zero point in F, not in Zero). A residual
// tile has a version per operand order (bySwap).
func (k qgemmKernel) epilogueZ(g *gen, res bool, lo, hi reg.VecPhysical, free []reg.VecPhysical) {
	t := qtileBlock
	zp, lo1, hi1, r, sr, zc := free[0], free[1], free[2], free[3], free[4], free[5]
	if !res {
		g.VPBROADCASTD(t.field(qT, "Zero", 0), zp)
		k.epilogueRowsZ(g, lo, hi, zp, nil)
		return
	}
	g.VBROADCASTSS(t.field(qT, "Lo1", 0), lo1)
	g.VBROADCASTSS(t.field(qT, "Hi1", 0), hi1)
	g.VBROADCASTSS(t.field(qT, "SR", 0), sr)
	g.VPBROADCASTD(t.field(qT, "ZeroC", 0), zc)
	g.VCVTDQ2PS(zc, zc)
	bySwap(g, func(swap bool) {
		// y = round(clamp(v, Lo1, Hi1)) + ZeroC, the convolution's own
		// output; with y the first operand, v = fma(y, S1, fma(R, SR,
		// F)), else fma(R, S1, fma(y, SR, F))
		k.epilogueRowsZ(g, lo, hi, zp, func(v int, a reg.VecPhysical) reg.VecPhysical {
			g.VMAXPS(lo1, a, a)
			g.VMINPS(hi1, a, a)
			g.VRNDSCALEPS(operand.U8(0), a, a) // to nearest, ties to even
			g.VADDPS(zc, a, a)
			g.VPMOVZXBD(at(qR, v*16), r)
			g.VCVTDQ2PS(r, r)
			if swap {
				g.VFMADD213PS_BCST(t.field(qT, "F", 0), sr, a)
				g.VFMADD132PS_BCST(t.field(qT, "S1", 0), a, r)
				return r
			}
			g.VFMADD213PS_BCST(t.field(qT, "F", 0), sr, r)
			g.VFMADD132PS_BCST(t.field(qT, "S1", 0), r, a)
			return a
		})
	})
}

// epilogueRowsZ stores the tile's rows: each vector converted and
// scaled, then through sum (a residual tile's sum: it returns the
// register holding the result, the output zero point included) or, when
// sum is nil, plus the output zero point zp after rounding; clamped,
// rounded and packed to bytes.
func (k qgemmKernel) epilogueRowsZ(g *gen, lo, hi, zp reg.VecPhysical, sum func(v int, a reg.VecPhysical) reg.VecPhysical) {
	for i := range k.mr {
		for v := range k.vecs() {
			a := k.acc(i, v)
			g.VCVTDQ2PS(a, a)
			g.VMULPS_BCST(at(qScale, 4*i), a, a)
			o := a
			if sum != nil {
				o = sum(v, a)
			}
			g.VMAXPS(lo, o, o)
			g.VMINPS(hi, o, o)
			g.VCVTPS2DQ(o, o)
			if sum == nil {
				g.VPADDD(zp, o, o)
			}
			g.VPMOVDB(o, at(qC, v*16))
		}
		if i < k.mr-1 {
			g.ADDQ(qLDC, qC)
			if sum != nil {
				g.ADDQ(qLDR, qR)
			}
		}
	}
}

// epilogueY is the YMM epilogue (NR 16: a row is two vectors, packed to
// 16 bytes together); with two free registers besides Lo and Hi, the
// other constants are broadcast when needed. A residual tile has a
// version per operand order (bySwap).
func (k qgemmKernel) epilogueY(g *gen, res bool, lo, hi reg.VecPhysical, free []reg.VecPhysical) {
	if !res {
		k.epilogueRowsY(g, false, false, lo, hi, free)
		return
	}
	bySwap(g, func(swap bool) { k.epilogueRowsY(g, true, swap, lo, hi, free) })
}

// epilogueRowsY stores the tile's rows for epilogueY: with a residual
// in the operand order swap says.
func (k qgemmKernel) epilogueRowsY(g *gen, res, swap bool, lo, hi reg.VecPhysical, free []reg.VecPhysical) {
	t := qtileBlock
	t0, t1 := free[0], free[1]
	bcastMem := func(m operand.Mem) reg.VecPhysical {
		g.VBROADCASTSS(m, t0)
		return t0
	}
	bcast := func(field string) reg.VecPhysical { return bcastMem(t.field(qT, field, 0)) }
	for i := range k.mr {
		for v := range 2 {
			a := k.acc(i, v)
			g.VCVTDQ2PS(a, a)
			g.VMULPS(bcastMem(at(qScale, 4*i)), a, a)
			if res {
				// y = round(clamp(v, Lo1, Hi1)) + ZeroC and R as floats,
				// then as epilogueZ; Hi borrowed for F and loaded again
				// for the clamp
				g.VMAXPS(bcast("Lo1"), a, a)
				g.VMINPS(bcast("Hi1"), a, a)
				g.VCVTPS2DQ(a, a)
				g.VPADDD(bcast("ZeroC"), a, a)
				g.VCVTDQ2PS(a, a)
				g.VPMOVZXBD(at(qR, v*8), t1)
				g.VCVTDQ2PS(t1, t1)
				g.VBROADCASTSS(t.field(qT, "F", 0), hi)
				if swap {
					g.VFMADD213PS(hi, bcast("SR"), a) // a = y*SR + F
					g.VFMADD231PS(bcast("S1"), t1, a) // a = R*S1 + a
				} else {
					g.VFMADD213PS(hi, bcast("SR"), t1) // t1 = R*SR + F
					g.VFMADD213PS(t1, bcast("S1"), a)  // a = y*S1 + t1
				}
				g.VBROADCASTSS(t.field(qT, "Hi", 0), hi)
			}
			g.VMAXPS(lo, a, a)
			g.VMINPS(hi, a, a)
			g.VCVTPS2DQ(a, a)
			if !res {
				g.VPADDD(bcast("Zero"), a, a)
			}
		}
		// int32 lanes (all within 0..255) to bytes: a0 a1 packed to words
		// lane by lane, the 64-bit quarters put in order, the halves to bytes
		a0, a1 := k.acc(i, 0), k.acc(i, 1)
		g.VPACKSSDW(a1, a0, a0)
		g.VPERMQ(operand.U8(0xd8), a0, a0)
		g.VEXTRACTI128(operand.U8(1), a0, a1.AsX())
		g.VPACKUSWB(a1.AsX(), a0.AsX(), a0.AsX())
		g.VMOVDQU(a0.AsX(), at(qC, 0))
		if i < k.mr-1 {
			g.ADDQ(qLDC, qC)
			if res {
				g.ADDQ(qLDR, qR)
			}
		}
	}
}

// epilogueF is QFTile's epilogue: per row, the column offsets added, the
// sums converted and times Scale, the floats stored, and with Max the
// row's maximum folded into Max[i]: a version with and one without.
func (k qgemmKernel) epilogueF(g *gen) {
	t := qftileBlock
	free := k.isa.vec.regs[k.mr*k.vecs():]
	scale, m, h := free[0], free[1], free[2]
	g.VBROADCASTSS(t.field(qT, "Scale", 0), scale)
	g.MOVQ(t.field(qT, "C", 0), qC)
	g.MOVQ(t.field(qT, "LDC", 0), qLDC)
	g.SHLQ(operand.U8(2), qLDC)
	g.MOVQ(t.field(qT, "Col", 0), qR)
	g.MOVQ(t.field(qT, "Max", 0), qLDR)
	vb := k.vbytes()
	g.ifNotNil(qLDR, func(withMax bool) {
		for i := range k.mr {
			for v := range k.vecs() {
				a := k.acc(i, v)
				g.VPADDD(at(qR, v*vb), a, a)
				g.VCVTDQ2PS(a, a)
				g.VMULPS(scale, a, a)
				g.VMOVUPS(a, at(qC, v*vb))
				if withMax {
					if v == 0 {
						k.move(g, a, m)
					} else {
						g.VMAXPS(a, m, m)
					}
				}
			}
			if withMax {
				k.foldMax(g, m, h, at(qLDR, 4*i))
			}
			if i < k.mr-1 {
				g.ADDQ(qLDC, qC)
			}
		}
	})
}

// foldMax reduces the lanes of m to their maximum (h a temporary) and
// stores the larger of it and the float at dst there.
func (k qgemmKernel) foldMax(g *gen, m, h reg.VecPhysical, dst operand.Mem) {
	if k.isa.vec == avx512 {
		// EVEX: the registers past X15
		g.VEXTRACTF32X8(operand.U8(1), m, h.AsY())
		g.VMAXPS(h.AsY(), m.AsY(), m.AsY())
		g.VEXTRACTF32X4(operand.U8(1), m.AsY(), h.AsX())
	} else {
		g.VEXTRACTF128(operand.U8(1), m.AsY(), h.AsX())
	}
	g.VMAXPS(h.AsX(), m.AsX(), m.AsX())
	g.VPERMILPS(operand.U8(0x4e), m.AsX(), h.AsX()) // swap the 64-bit halves
	g.VMAXPS(h.AsX(), m.AsX(), m.AsX())
	g.VPERMILPS(operand.U8(0xb1), m.AsX(), h.AsX()) // swap the floats of each half
	g.VMAXPS(h.AsX(), m.AsX(), m.AsX())
	g.VMAXSS(dst, m.AsX(), m.AsX())
	g.VMOVSS(m.AsX(), dst)
}
