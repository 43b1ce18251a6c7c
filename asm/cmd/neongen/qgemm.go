package main

import (
	"fmt"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
	. "github.com/tsmc-go/tsmc/asm/neon"
)

// The int8 GEMM kernels (runtime.QTile) and the packing kernel
// (runtime.QPack) on NEON. Both GEMM kernels multiply signed by signed,
// so they take the activations XOR 0x80 (QGemmKernel.SignedB).

// qgemmKernel describes a NEON int8 GEMM micro-kernel: an mr x 8 tile,
// two int32 vectors of 4 pixels per row.
type qgemmKernel struct {
	mr int
	// sdot: SDOT by element (the dot-product extension, level neondot);
	// else SMULL/SMULL2 (8-bit products widened to 16 bits, exact for
	// any int8 operands) and SADALP (pairs summed into int32), level
	// neon: the fallback of cores without the extension
	sdot  bool
	short bool
}

const qnr = 8 // pixels per tile

// qgemmKernels is the table the NEON int8 kernels and their registration
// are generated from, best first. SDOT 12x8: 24 accumulators, 3 weight
// vectors used lane by lane (4 rows each), 2 activation vectors; a quad
// is 24 SDOTs (384 multiply-adds) for 5 vector loads. SMULL 4x8: per row
// and quad a DUP of the row's 4 weights, 4 SMULL(2) and 4 SADALP into
// pair accumulators (two int32 per pixel, added pairwise at the end), 16
// of them.
var qgemmKernels = []qgemmKernel{
	{mr: 12, sdot: true},
	{mr: 8, sdot: true, short: true},
	{mr: 4, sdot: true, short: true},
	{mr: 4},
}

func (k qgemmKernel) level() string {
	if k.sdot {
		return "neondot"
	}
	return "neon"
}

func (k qgemmKernel) names() naming.Kernel {
	return naming.Kernel{Type: "qu8_qc8w", Op: "gemm", MinMax: true, Requant: "fp32",
		Shape: fmt.Sprintf("%dx%dc4", k.mr, qnr), ISA: k.level()}
}

// Name and GoName return the contract name and the Go name of the
// assembly function; MR, NR and Level feed the registry template.
func (k qgemmKernel) Name() string   { return k.names().Name() }
func (k qgemmKernel) GoName() string { return k.names().GoName() }
func (k qgemmKernel) MR() int        { return k.mr }
func (k qgemmKernel) NR() int        { return qnr }
func (k qgemmKernel) Short() bool    { return k.short }
func (k qgemmKernel) Level() string  { return k.level() }

// Shorts returns the short kernels of k (same instructions, fewer rows),
// in increasing MR.
func (k qgemmKernel) Shorts() []qgemmKernel {
	var out []qgemmKernel
	for i := len(qgemmKernels) - 1; i >= 0; i-- {
		if s := qgemmKernels[i]; s.short && s.sdot == k.sdot && s.mr < k.mr {
			out = append(out, s)
		}
	}
	return out
}

// accs is the number of accumulator registers per row.
func (k qgemmKernel) accs() int {
	if k.sdot {
		return 2
	}
	return 4
}

// acc returns accumulator v of row i: the last registers, row by row.
func (k qgemmKernel) acc(i, v int) V { return V(32 - k.mr*k.accs() + i*k.accs() + v) }

// General-purpose registers of the int8 kernels.
const (
	qT     = X0  // *QTile
	qA     = X1  // A, advancing by LDA per quad
	qB     = X2  // B, advancing by 32 bytes per quad
	qK     = X3  // quads left
	qLDA   = X4  // LDA bytes
	qC     = X5  // the C row
	qLDC   = X6  // LDC bytes
	qR     = X7  // the R row
	qLDR   = X8  // LDR bytes
	qAddr  = X9  // an address
	qLo1   = X10 // &t.Lo1, &t.Hi1, &t.S1, &t.ZeroC, &t.SR, &t.F, &t.Swap
	qHi1   = X11
	qS1    = X12
	qZeroC = X13
	qSR    = X14
	qF     = X15
	qSwap  = X16
)

func (k qgemmKernel) doc() []string {
	lines := []string{fmt.Sprintf("%s is %s: the QTile contract for a %dx%d tile", k.GoName(), k.Name(), k.mr, qnr)}
	if k.sdot {
		lines = append(lines,
			"(SignedB), SDOT by element: weights V0.. (4 rows a vector, a row a lane),",
			fmt.Sprintf("activations V%d/V%d, accumulators V%d..V31 (row i in 2 from V%d+2*i).", k.mr/4, k.mr/4+1, k.acc(0, 0), k.acc(0, 0)))
	} else {
		lines = append(lines,
			"(SignedB), SMULL/SMULL2 + SADALP: weights V0 (a row a lane), activations",
			"V1/V2, the row's weights replicated V3, products V4/V5, pair accumulators",
			fmt.Sprintf("V%d..V31 (row i in 4 from V%d+4*i: two int32 per pixel, ADDP at the end).", k.acc(0, 0), k.acc(0, 0)))
	}
	return append(lines,
		"R0 *QTile, R1 A, R2 B, R3 quads left, R4 LDA bytes, R5/R6 the C row and LDC,",
		"R7/R8 the R row and LDR, R9 an address, R10..R15 the residual constants' addresses.")
}

// emit writes the kernel into a new function.
func (k qgemmKernel) emit(t *argBlock) (*Func, error) {
	if k.mr%4 != 0 || k.mr > 12 || !k.sdot && k.mr != 4 {
		return nil, fmt.Errorf("%s: unsupported tile", k.Name())
	}
	f := NewFunc(k.GoName(), []Param{{Name: "t", Type: "*QTile"}}, k.doc()...)
	f.Comment(k.doc()[1:]...)
	fld := func(name string) Mem { return At(qT, t.off(name, 0)) }
	f.MOVD(f.Param("t"), qT)
	f.MOVD(fld("A"), qA)
	f.MOVD(fld("B"), qB)
	f.MOVD(fld("K4"), qK)
	f.MOVD(fld("LDA"), qLDA)
	aVecs := k.mr / 4
	a := make([]Vec, aVecs)
	for v := range a {
		a[v] = V(v).B16()
	}

	if k.sdot {
		f.Comment("Accumulators start at Offset[i].")
		f.MOVD(fld("Offset"), qAddr)
		f.VLD1(At(qAddr, 0), s4(a)...)
		for i := range k.mr {
			for v := range 2 {
				f.VDUP(V(i/4).S(i%4), k.acc(i, v).S4())
			}
		}
		b0, b1 := V(aVecs), V(aVecs+1)
		f.Label("quad")
		f.CBZ(qK, "epilogue")
		f.VLD1(PostReg(qA, qLDA), a...)
		f.VLD1(PostImm(qB, 32), b0.B16(), b1.B16())
		for i := range k.mr {
			f.VSDOT(V(i/4).B4(i%4), b0.B16(), k.acc(i, 0).S4())
			f.VSDOT(V(i/4).B4(i%4), b1.B16(), k.acc(i, 1).S4())
		}
		f.SUBS(Imm(1), qK, qK)
		f.B("quad")
		f.Label("epilogue")
		rows := make([][2]V, k.mr)
		for i := range rows {
			rows[i] = [2]V{k.acc(i, 0), k.acc(i, 1)}
		}
		k.epilogue(f, t, rows, []V{V0, V1, V2, V3, V4, V5, V6, V7})
		f.RET()
		return f, f.Err()
	}

	for i := range k.mr {
		for v := range 4 {
			f.VMOVI(0, k.acc(i, v).B16())
		}
	}
	w, p0, p1 := V3, V4, V5
	f.Label("quad")
	f.CBZ(qK, "reduce")
	f.VLD1(PostReg(qA, qLDA), V0.B16())
	f.VLD1(PostImm(qB, 32), V1.B16(), V2.B16())
	for i := range k.mr {
		f.VDUP(V0.S(i), w.S4())
		f.VSMULL(w.B8(), V1.B8(), p0.H8())
		f.VSMULL(w.B16(), V1.B16(), p1.H8())
		f.VSADALP(p0.H8(), k.acc(i, 0).S4())
		f.VSADALP(p1.H8(), k.acc(i, 1).S4())
		f.VSMULL(w.B8(), V2.B8(), p0.H8())
		f.VSMULL(w.B16(), V2.B16(), p1.H8())
		f.VSADALP(p0.H8(), k.acc(i, 2).S4())
		f.VSADALP(p1.H8(), k.acc(i, 3).S4())
	}
	f.SUBS(Imm(1), qK, qK)
	f.B("quad")
	f.Label("reduce")
	f.Comment("Pairs to pixels (ADDP), plus Offset[i].")
	f.MOVD(fld("Offset"), qAddr)
	f.VLD1(At(qAddr, 0), V0.S4())
	rows := make([][2]V, k.mr)
	for i := range rows {
		f.VADDP(k.acc(i, 1).S4(), k.acc(i, 0).S4(), k.acc(i, 0).S4())
		f.VADDP(k.acc(i, 3).S4(), k.acc(i, 2).S4(), k.acc(i, 2).S4())
		f.VDUP(V0.S(i), w.S4())
		f.VADD(w.S4(), k.acc(i, 0).S4(), k.acc(i, 0).S4())
		f.VADD(w.S4(), k.acc(i, 2).S4(), k.acc(i, 2).S4())
		rows[i] = [2]V{k.acc(i, 0), k.acc(i, 2)}
	}
	k.epilogue(f, t, rows, []V{V0, V1, V2, V3, V4, V5, V6, V7})
	f.RET()
	return f, f.Err()
}

// s4 returns the registers of vs as 4S.
func s4(vs []Vec) []Vec {
	out := make([]Vec, len(vs))
	for i, v := range vs {
		out[i] = v.Reg.S4()
	}
	return out
}

// epilogue requantises rows (each row's two int32 vectors, pixels 0..3
// and 4..7) and stores 8 bytes per row (QTile), with a residual version
// and a plain one; free holds 8 registers: the scales (3), Lo, Hi, Zero
// and two temporaries.
func (k qgemmKernel) epilogue(f *Func, t *argBlock, rows [][2]V, free []V) {
	fld := func(name string) Mem { return At(qT, t.off(name, 0)) }
	addr := func(name string, r GP) { f.ADD(Imm(t.off(name, 0)), qT, r) }
	scales := make([]Vec, (len(rows)+3)/4)
	for i := range scales {
		scales[i] = free[i].S4()
	}
	lo, hi, zp, t0, t1 := free[3], free[4], free[5], free[6], free[7]
	f.MOVD(fld("Scale"), qAddr)
	f.VLD1(At(qAddr, 0), scales...)
	for _, c := range []struct {
		field string
		r     V
	}{{"Lo", lo}, {"Hi", hi}, {"Zero", zp}} {
		addr(c.field, qAddr)
		f.VLD1R(At(qAddr, 0), c.r.S4())
	}
	f.MOVD(fld("C"), qC)
	f.MOVD(fld("LDC"), qLDC)
	f.MOVD(fld("R"), qR)
	f.MOVD(fld("LDR"), qLDR)
	for i, c := range []string{"Lo1", "Hi1", "S1", "ZeroC", "SR", "F", "Swap"} {
		addr(c, []GP{qLo1, qHi1, qS1, qZeroC, qSR, qF, qSwap}[i])
	}
	bcast := func(r GP) Vec { // a residual constant in every lane of t0
		f.VLD1R(At(r, 0), t0.S4())
		return t0.S4()
	}
	for _, res := range []bool{true, false} {
		if res {
			f.CBZ(qR, "plain")
		} else {
			f.Label("plain")
		}
		for i, row := range rows {
			for v, r := range row {
				x := r.S4()
				f.VSCVTF(x, x)
				f.VFMUL(V(i/4).S(i%4), x, x)
				if res {
					// y = round(clamp(v, Lo1, Hi1)) + ZeroC; d = (R - y) & Swap;
					// v = fma(y + d, S1, fma(R - d, SR, F)), accumulated in zp
					// (a residual tile's Zero is 0: its zero point is in F)
					d := zp.S4()
					f.VFMAX(bcast(qLo1), x, x)
					f.VFMIN(bcast(qHi1), x, x)
					f.VFCVTNS(x, x)
					f.VADD(bcast(qZeroC), x, x)
					f.FMOVS(At(qR, 4*v), t1.F())
					f.VUXTL(t1.B8(), t1.H8())
					f.VUXTL(t1.H4(), t1.S4())
					f.VSUB(x, t1.S4(), d)
					bcast(qSwap)
					f.VAND(t0.B16(), zp.B16(), zp.B16())
					f.VADD(d, x, x)
					f.VSUB(d, t1.S4(), t1.S4())
					f.VSCVTF(x, x)
					f.VSCVTF(t1.S4(), t1.S4())
					f.VLD1R(At(qF, 0), d)
					f.VFMLA(bcast(qSR), t1.S4(), d)
					f.VFMLA(bcast(qS1), x, d)
					f.VMOV(zp.B16(), r.B16())
				}
				f.VFMAX(lo.S4(), x, x)
				f.VFMIN(hi.S4(), x, x)
				f.VFCVTNS(x, x)
				if !res {
					f.VADD(zp.S4(), x, x)
				}
			}
			// 8 int32 lanes within 0..255 to 8 bytes
			f.VXTN(row[0].S4(), row[0].H4())
			f.VXTN(row[1].S4(), row[0].H8())
			f.VXTN(row[0].H8(), row[0].B8())
			f.VST1(At(qC, 0), row[0].B8())
			f.ADD(qLDC, qC, qC)
			if res {
				f.ADD(qLDR, qR, qR)
			}
		}
		if res {
			f.RET()
		}
	}
}

// Registers of the packing kernel.
const (
	pT    = X0 // *QPack
	pDst  = X1 // the step's destination
	pX0   = X2 // the step's first pixel
	pLast = X3 // the last step's first pixel, N-8
	pHdr  = X6 // the Rows headers of the quad
	pBase = X7 // the quad's destination
	pQ    = X8 // quads left
	pTmp  = X12
)

// pRows are the four rows of a quad at the step.
var pRows = [4]GP{X13, X14, X15, X16}

var qpackKernel = naming.Kernel{Type: "qu8", Op: "pack", Shape: "x4c4", ISA: isa}

// emitQPack writes the packing kernel: per quad and 8 pixels, four row
// loads of 8 bytes (SW 2: 16, their even bytes kept by UZP1), the flip and
// one ST4, which interleaves them into the 8 pixels' quads; the last step
// starts 8 pixels before the end.
func emitQPack(t *argBlock) (*Func, error) {
	doc := []string{
		fmt.Sprintf("%s is %s: the QPack contract, 8 pixels a step.", qpackKernel.GoName(), qpackKernel.Name()),
		"Registers: V0..V3 a step's rows, V4 the flip, V5 a row's 16 bytes (SW 2);",
		"R13..R16 the rows, R1 the destination, R2 the step's first pixel, R3 the",
		"last one (N-8), R6 the Rows headers, R7 the quad's destination, R8 quads left.",
	}
	f := NewFunc(qpackKernel.GoName(), []Param{{Name: "t", Type: "*QPack"}}, doc...)
	f.Comment(doc[1:]...)
	fld := func(name string) Mem { return At(pT, t.off(name, 0)) }
	f.MOVD(f.Param("t"), pT)
	f.MOVD(fld("Q"), pQ)
	f.CBZ(pQ, "done")
	f.MOVD(fld("N"), pLast)
	f.SUB(Imm(8), pLast, pLast)
	f.CMP(Imm(0), pLast)
	f.BLT("done")
	f.MOVD(fld("Rows"), pHdr)
	f.MOVD(fld("Dst"), pBase)
	f.ADD(Imm(t.off("Flip", 0)), pT, pTmp)
	f.VLD1R(At(pTmp, 0), V4.S4())
	f.MOVD(fld("SW"), pTmp)
	f.CMP(Imm(2), pTmp)
	f.BEQ("sw2")
	for _, sw := range []int{1, 2} {
		l := func(name string) Label { return Label(fmt.Sprintf("%s%d", name, sw)) }
		if sw == 2 {
			f.Label("sw2")
		}
		f.Label(l("quad"))
		f.MOVD(Imm(0), pX0)
		f.Label(l("chunk"))
		for i, r := range pRows {
			f.MOVD(At(pHdr, 24*i), r)
			f.MOVD(fld("Off"), pTmp)
			f.ADD(pTmp, r, r)
			f.ADD(pX0, r, r)
			if sw == 2 {
				f.ADD(pX0, r, r)
			}
		}
		f.LSL(2, pX0, pTmp)
		f.ADD(pTmp, pBase, pDst)
		for i, r := range pRows {
			if sw == 1 {
				f.VLD1(At(r, 0), V(i).B8())
				continue
			}
			f.VLD1(At(r, 0), V5.B16())
			f.VUZP1(V5.B16(), V5.B16(), V(i).B16())
		}
		for i := range 4 {
			f.VEOR(V4.B16(), V(i).B16(), V(i).B16())
		}
		f.VST4(At(pDst, 0), V0.B8(), V1.B8(), V2.B8(), V3.B8())
		// the next step: 8 pixels further, the last one at N-8
		f.CMP(pLast, pX0)
		f.BGE(l("next"))
		f.ADD(Imm(8), pX0, pX0)
		f.CMP(pLast, pX0)
		f.BLT(l("chunk"))
		f.MOVD(pLast, pX0)
		f.B(l("chunk"))
		f.Label(l("next"))
		f.Comment("next quad: 4*NR bytes further, four rows further")
		f.MOVD(fld("NR"), pTmp)
		f.LSL(2, pTmp, pTmp)
		f.ADD(pTmp, pBase, pBase)
		f.ADD(Imm(4*24), pHdr, pHdr)
		f.SUBS(Imm(1), pQ, pQ)
		f.BNE(l("quad"))
		f.B("done")
	}
	f.Label("done")
	f.RET()
	return f, f.Err()
}

var qdwPlaneKernel = naming.Kernel{Type: "qu8_qc8w", Op: "dwconv", Variant: "Plane", MinMax: true, Requant: "fp32",
	Shape: "3x4", ISA: "neondot"}

// emitQDWPlane writes the depthwise plane kernel: per output row and 8
// outputs, for each of the 3 kernel rows a 16-byte (stride 2: 32-byte)
// load of the padded input row, TBL to the 8 outputs' tap quads (two
// vectors), the flip to int8 and two SDOTs by the row's taps; then the
// QTile requantisation of the 8 and an 8-byte store.
func emitQDWPlane(t *argBlock) (*Func, error) {
	doc := []string{
		fmt.Sprintf("%s is %s: the QDWPlane contract.", qdwPlaneKernel.GoName(), qdwPlaneKernel.Name()),
		"Registers: V0 the taps (3 lanes of 4 bytes), V1 0x80 bytes, V2/V3 the TBL indices,",
		"V4 Offset, V5 Scale, V6/V7 Lo/Hi, V8 Zero, V16/V17 the 8 accumulators, V20/V21",
		"a row's bytes, V22/V23 their quads. R1 the output row, R2 the input row, R3 rows",
		"left, R4 outputs left in the row, R5/R6 the step's input and output, R7 LDI,",
		"R9 a tap row, R10 scratch.",
	}
	f := NewFunc(qdwPlaneKernel.GoName(), []Param{{Name: "t", Type: "*QDWPlane"}}, doc...)
	f.Comment(doc[1:]...)
	const (
		dT, dO, dIn, dRows, dLeft, dStepIn, dStepOut, dLDI, dTap, dTmp = X0, X1, X2, X3, X4, X5, X6, X7, X9, X10
	)
	fld := func(name string) Mem { return At(dT, t.off(name, 0)) }
	addr := func(name string) { f.ADD(Imm(t.off(name, 0)), dT, dTmp) }
	f.MOVD(f.Param("t"), dT)
	addr("W")
	f.VLD1(At(dTmp, 0), V0.B16())
	addr("Idx")
	f.VLD1(At(dTmp, 0), V2.B16(), V3.B16())
	f.VMOVI(128, V1.B16())
	for _, c := range []struct {
		field string
		r     V
	}{{"Offset", V4}, {"Scale", V5}, {"Lo", V6}, {"Hi", V7}, {"Zero", V8}} {
		addr(c.field)
		f.VLD1R(At(dTmp, 0), c.r.S4())
	}
	f.MOVD(fld("O"), dO)
	f.MOVD(fld("In"), dIn)
	f.MOVD(fld("OH"), dRows)
	f.MOVD(fld("LDI"), dLDI)
	f.CBZ(dRows, "done")
	f.MOVD(fld("Stride"), dTmp)
	f.CMP(Imm(2), dTmp)
	f.BEQ("s2_row")
	for _, stride := range []int{1, 2} {
		l := func(name string) Label { return Label(fmt.Sprintf("s%d_%s", stride, name)) }
		f.Label(l("row"))
		f.MOVD(dIn, dStepIn)
		f.MOVD(dO, dStepOut)
		f.MOVD(fld("OW8"), dLeft)
		f.Label(l("step"))
		f.VMOV(V4.B16(), V16.B16())
		f.VMOV(V4.B16(), V17.B16())
		for r := range 3 {
			switch r {
			case 0:
				f.MOVD(dStepIn, dTap)
			default:
				f.ADD(dLDI, dTap, dTap)
			}
			table := []Vec{V20.B16()}
			if stride == 2 {
				table = append(table, V21.B16())
			}
			f.VLD1(At(dTap, 0), table...)
			f.VTBL(V2.B16(), table, V22.B16())
			f.VTBL(V3.B16(), table, V23.B16())
			f.VEOR(V1.B16(), V22.B16(), V22.B16())
			f.VEOR(V1.B16(), V23.B16(), V23.B16())
			f.VSDOT(V0.B4(r), V22.B16(), V16.S4())
			f.VSDOT(V0.B4(r), V23.B16(), V17.S4())
		}
		for _, a := range []V{V16, V17} {
			x := a.S4()
			f.VSCVTF(x, x)
			f.VFMUL(V5.S4(), x, x)
			f.VFMAX(V6.S4(), x, x)
			f.VFMIN(V7.S4(), x, x)
			f.VFCVTNS(x, x)
			f.VADD(V8.S4(), x, x)
		}
		f.VXTN(V16.S4(), V16.H4())
		f.VXTN(V17.S4(), V16.H8())
		f.VXTN(V16.H8(), V16.B8())
		f.VST1(PostImm(dStepOut, 8), V16.B8())
		f.ADD(Imm(8*stride), dStepIn, dStepIn)
		f.SUBS(Imm(8), dLeft, dLeft)
		f.BNE(l("step"))
		f.MOVD(fld("OW8"), dTmp)
		f.ADD(dTmp, dO, dO)
		f.ADD(dLDI, dIn, dIn)
		if stride == 2 {
			f.ADD(dLDI, dIn, dIn)
		}
		f.SUBS(Imm(1), dRows, dRows)
		f.BNE(l("row"))
		f.B("done")
	}
	f.Label("done")
	f.RET()
	return f, f.Err()
}
