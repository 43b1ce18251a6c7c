package main

import (
	"fmt"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
	. "github.com/tsmc-go/tsmc/asm/neon"
)

// gemmKernel describes a NEON GEMM micro-kernel implementing runtime.Tile:
// an mr x nr tile (both multiples of 4) of float32 accumulators, A read as
// mr/4 vectors used lane by lane (FMLA by element), B as nr/4 vectors.
type gemmKernel struct {
	mr, nr int
	kc     int // K block the kernel is tuned for (GemmKernel.KC)
}

// gemmKernels is the table the GEMM kernels and their registration are
// generated from, best first.
var gemmKernels = []gemmKernel{
	// 24 accumulators, 3 A and 2 B vectors: 29 of the 32 registers, 24
	// FMLAs per 5 vector loads. KC 256: 8 KiB of B and 12 KiB of A per
	// K block stay in a 32 KiB L1.
	{mr: 12, nr: 8, kc: 256},
}

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k gemmKernel) names() naming.Kernel {
	return naming.Kernel{Op: "gemm", MinMax: true, Shape: fmt.Sprintf("%dx%d", k.mr, k.nr), ISA: isa}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k gemmKernel) Name() string   { return k.names().Name() }
func (k gemmKernel) GoName() string { return k.names().GoName() }

// MR, NR and KC are the tile and K block, for the registry template.
func (k gemmKernel) MR() int { return k.mr }
func (k gemmKernel) NR() int { return k.nr }
func (k gemmKernel) KC() int { return k.kc }

func (k gemmKernel) aVecs() int { return k.mr / 4 }
func (k gemmKernel) bVecs() int { return k.nr / 4 }

// a returns the register holding rows 4v..4v+3 of A's column of a k step
// (the bias in the epilogue).
func (k gemmKernel) a(v int) V { return V(v) }

// b returns the register holding columns 4v..4v+3 of B's row of a k step
// (a residual row in the epilogue).
func (k gemmKernel) b(v int) V { return V(k.aVecs() + v) }

// Epilogue registers after A and B: the bias of a row, Lo, Hi.
func (k gemmKernel) biasRow() V { return V(k.aVecs() + k.bVecs()) }
func (k gemmKernel) lo() V      { return k.biasRow() + 1 }
func (k gemmKernel) hi() V      { return k.biasRow() + 2 }

// acc returns the accumulator of row i, columns 4v..4v+3: the last
// mr*nr/4 registers, row by row.
func (k gemmKernel) acc(i, v int) V { return V(32 - k.mr*k.bVecs() + i*k.bVecs() + v) }

// accRow returns the accumulators of row i.
func (k gemmKernel) accRow(i int) []Vec {
	r := make([]Vec, k.bVecs())
	for v := range r {
		r[v] = k.acc(i, v).S4()
	}
	return r
}

// check reports a tile the register file cannot hold.
func (k gemmKernel) check() error {
	if k.mr%4 != 0 || k.nr%4 != 0 || k.aVecs() > 4 || k.bVecs() > 4 {
		return fmt.Errorf("%s: tile sides must be multiples of 4, at most 16", k.Name())
	}
	if int(k.hi()) >= int(k.acc(0, 0)) {
		return fmt.Errorf("%s: %d accumulators leave no room for A, B, bias, Lo and Hi", k.Name(), k.mr*k.bVecs())
	}
	return nil
}

// General-purpose registers of the GEMM kernels.
const (
	gT     = X0  // *Tile
	gA     = X1  // A, advancing by LDA per k
	gB     = X2  // B (advancing by LDB per k) or the BRows headers (24 bytes per k)
	gK     = X3  // k steps left
	gLDA   = X4  // LDA in bytes
	gLDB   = X5  // LDB in bytes
	gFlags = X6  // Flags
	gC     = X7  // C, advancing by LDC per row
	gLDC   = X8  // LDC in bytes
	gBOff  = X9  // BOff in bytes (TileRowsB)
	gBRow  = X10 // the B row of a k step (TileRowsB)
	gAddr  = X11 // address of Lo and Hi
	gR     = X12 // R, advancing by LDR per row
	gLDR   = X13 // LDR in bytes (0: one row for all)
)

// Tile flags (runtime/kernel.go): bit numbers for TBZ and TBNZ.
const (
	bitAccumulate = 0
	bitEpilogue   = 1
	bitRowsB      = 2
)

func (k gemmKernel) doc() []string {
	return []string{
		fmt.Sprintf("%s is %s: the Tile contract for a %dx%d tile, fused", k.GoName(), k.Name(), k.mr, k.nr),
		"multiply-adds over k in increasing order, TileRowsB supported.",
		fmt.Sprintf("A k step loads %d vectors (%d of A, %d of B) and runs %d FMLAs (%d multiply-adds).",
			k.aVecs()+k.bVecs(), k.aVecs(), k.bVecs(), k.mr*k.bVecs(), k.mr*k.nr),
		fmt.Sprintf("Registers: V%d..V31 accumulate the tile (row i in V%d+%d*i..), V0..V%d hold",
			k.acc(0, 0), k.acc(0, 0), k.bVecs(), k.aVecs()-1),
		fmt.Sprintf("A's column of a k step (FMLA by element; the bias in the epilogue), V%d..V%d",
			k.b(0), k.b(k.bVecs()-1)),
		fmt.Sprintf("B's row (then residual rows), V%d the bias of a row, V%d/V%d Lo/Hi;", k.biasRow(), k.lo(), k.hi()),
		"R0 *Tile, R1 A, R2 B or the BRows headers, R3 k steps left, R4/R5 LDA/LDB bytes,",
		"R6 Flags, R7/R8 C and LDC bytes, R9 BOff bytes, R10 a B row, R11 scratch,",
		"R12/R13 R and LDR bytes.",
	}
}

// emit writes the kernel into a new function.
func (k gemmKernel) emit(tile *argBlock) (*Func, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	f := NewFunc(k.GoName(), []Param{{Name: "t", Type: "*Tile"}}, k.doc()...)
	f.Comment(k.doc()[3:]...)
	fld := func(name string) Mem { return At(gT, tile.off(name, 0)) }
	loadBytes := func(name string, r GP) { // r = field name * 4
		f.MOVD(fld(name), r)
		f.LSL(2, r, r)
	}

	f.MOVD(f.Param("t"), gT)
	f.MOVD(fld("A"), gA)
	f.MOVD(fld("K"), gK)
	loadBytes("LDA", gLDA)
	f.MOVD(fld("Flags"), gFlags)
	f.MOVD(fld("C"), gC)
	loadBytes("LDC", gLDC)

	// Accumulators: C (TileAccumulate) or zero.
	f.TBZ(bitAccumulate, gFlags, "zero")
	for i := range k.mr {
		f.VLD1(PostReg(gC, gLDC), k.accRow(i)...)
	}
	f.MOVD(fld("C"), gC)
	f.B("kloop")
	f.Label("zero")
	for i := range k.mr {
		for _, a := range k.accRow(i) {
			f.VMOVI(0, a.Reg.B16())
		}
	}

	f.Label("kloop")
	f.CBZ(gK, "epilogue")
	aRegs := make([]Vec, k.aVecs())
	for v := range aRegs {
		aRegs[v] = k.a(v).S4()
	}
	bRegs := make([]Vec, k.bVecs())
	for v := range bRegs {
		bRegs[v] = k.b(v).S4()
	}
	fmlas := func() {
		for i := range k.mr {
			for v := range k.bVecs() {
				f.VFMLA(k.a(i/4).S(i%4), bRegs[v], k.acc(i, v).S4())
			}
		}
		f.SUBS(Imm(1), gK, gK)
	}
	f.TBNZ(bitRowsB, gFlags, "rowsb")
	f.Comment("B packed: row k at B + k*LDB.")
	f.MOVD(fld("B"), gB)
	loadBytes("LDB", gLDB)
	f.Label("packed")
	f.VLD1(PostReg(gA, gLDA), aRegs...)
	f.VLD1(PostReg(gB, gLDB), bRegs...)
	fmlas()
	f.BNE("packed")
	f.B("epilogue")

	f.Label("rowsb")
	f.Comment("TileRowsB: row k at BRows[k] + BOff.")
	f.MOVD(fld("BRows"), gB)
	loadBytes("BOff", gBOff)
	f.Label("rows")
	f.MOVD(PostImm(gB, 24), gBRow) // the data pointer of BRows[k]
	f.VLD1(PostReg(gA, gLDA), aRegs...)
	f.ADD(gBOff, gBRow, gBRow)
	f.VLD1(At(gBRow, 0), bRegs...)
	fmlas()
	f.BNE("rows")

	f.Label("epilogue")
	f.TBZ(bitEpilogue, gFlags, "store")
	f.Comment("acc += Bias[i]; acc += R[i*LDR+j] if R != nil; clamp to [Lo, Hi].")
	f.MOVD(fld("Bias"), gAddr)
	f.VLD1(At(gAddr, 0), aRegs...)
	f.ADD(Imm(tile.off("Lo", 0)), gT, gAddr)
	f.VLD1R(At(gAddr, 0), k.lo().S4())
	f.ADD(Imm(tile.off("Hi", 0)), gT, gAddr)
	f.VLD1R(At(gAddr, 0), k.hi().S4())
	bias := k.biasRow().S4()
	for i := range k.mr {
		f.VDUP(k.a(i/4).S(i%4), bias)
		for _, a := range k.accRow(i) {
			f.VFADD(bias, a, a)
		}
	}
	f.MOVD(fld("R"), gR)
	f.CBZ(gR, "clamp")
	loadBytes("LDR", gLDR)
	for i := range k.mr {
		f.VLD1(PostReg(gR, gLDR), bRegs...)
		for v, a := range k.accRow(i) {
			f.VFADD(bRegs[v], a, a)
		}
	}
	f.Label("clamp")
	for i := range k.mr {
		for _, a := range k.accRow(i) {
			f.VFMAX(k.lo().S4(), a, a)
			f.VFMIN(k.hi().S4(), a, a)
		}
	}

	f.Label("store")
	for i := range k.mr {
		f.VST1(PostReg(gC, gLDC), k.accRow(i)...)
	}
	f.RET()
	return f, f.Err()
}
