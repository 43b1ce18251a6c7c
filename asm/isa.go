package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
)

// vecISA is a vector instruction-set level the kernels are written for.
type vecISA struct {
	name  string // kernel name suffix and runtime level: "avx2", "avx512"
	Level string // the runtime's level constant
	lanes int    // float32 lanes per vector register
	regs  []reg.VecPhysical
}

// bytes returns the size of a vector register.
func (v *vecISA) bytes() int { return 4 * v.lanes }

// Name returns the level's name, for the registry template.
func (v *vecISA) Name() string { return v.name }

// Suffix returns the level as it ends Go function names: "AVX512".
func (v *vecISA) Suffix() string { return naming.ISASuffix(v.name) }

var (
	// avx2 is AVX2 + FMA3: 16 YMM registers. X15 is the zero register of
	// Go's ABIInternal but scratch in ABI0 assembly: the compiler's call
	// sequence re-zeroes it after every call into ABI0 code
	// (cmd/compile/abi-internal.md; amd64/ssa.go, zeroX15 after
	// CALLstatic of an ABI0 function). Kernels may use Y15 and say so.
	avx2 = &vecISA{name: "avx2", Level: "ISAAVX2", lanes: 8, regs: []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
	}}
	// avx512 is AVX-512F: 32 ZMM registers and opmasks.
	avx512 = &vecISA{name: "avx512", Level: "ISAAVX512", lanes: 16, regs: []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
	}}
)

// mem returns the operand disp(base)(index*scale); index may be nil.
func mem(base reg.Register, disp int, index reg.Register, scale uint8) operand.Mem {
	m := operand.Mem{Base: base, Disp: disp}
	if index != nil {
		m.Index, m.Scale = index, scale
	}
	return m
}

// at returns (base) plus disp bytes.
func at(base reg.Register, disp int) operand.Mem { return operand.Mem{Base: base, Disp: disp} }

// Lane masks. AVX-512 kernels keep a mask as a 16-bit word and load it
// into an opmask register; AVX2 kernels, which have no opmasks, keep it
// as a vector of int32 lanes (all ones where selected) for VMASKMOVPS,
// built from a table of ones and zeros instead of with BMI2 (which the
// AVX2 level does not require).

// maskBytes returns the size of a stored lane mask.
func (v *vecISA) maskBytes() int {
	if v == avx512 {
		return 2
	}
	return v.bytes()
}

// emitLaneMasks emits the static table sym AVX2 masks are built from:
// eight lanes of ones, then eight of zeros; the eight lanes from byte
// 4*(8-n) are the mask of the first n lanes.
func emitLaneMasks(g *gen, sym operand.Symbol) {
	g.StaticGlobal(sym.Name)
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := range 2 * avx2.lanes {
		v := uint32(0)
		if i < avx2.lanes {
			v = 0xffffffff
		}
		g.AppendDatum(operand.U32(v))
	}
}

// maskBase sets base to what the masks are built from: the all-ones word
// (AVX-512) or the address of the table (AVX2).
func (v *vecISA) maskBase(g *gen, table operand.Symbol, base reg.GPPhysical) {
	if v == avx512 {
		g.MOVL(operand.U32(0xffff), base.As32())
		return
	}
	g.LEAQ(operand.NewDataAddr(table, 0), base)
}

// laneRange stores at dst the mask of lanes [lo, hi), lo and hi in
// registers (0 <= lo, hi <= lanes; both destroyed), from base
// (maskBase); AVX2 takes t0 and t1 as scratch.
func (v *vecISA) laneRange(g *gen, lo, hi, base reg.GPPhysical, t0, t1 reg.VecPhysical, dst operand.Mem) {
	if v == avx512 {
		g.BZHIL(lo.As32(), base.As32(), lo.As32())
		g.BZHIL(hi.As32(), base.As32(), hi.As32())
		g.ANDNL(hi.As32(), lo.As32(), hi.As32())
		g.MOVW(hi.As16(), dst)
		return
	}
	g.NEGQ(lo)
	g.VMOVUPS(mem(base, v.bytes(), lo, 4), t0)
	g.NEGQ(hi)
	g.VMOVUPS(mem(base, v.bytes(), hi, 4), t1)
	g.VANDNPS(t1, t0, t1) // the first hi lanes and not the first lo
	g.VMOVUPS(t1, dst)
}

// firstLanes stores at dst the mask of the first n lanes, n in a register
// (0 <= n <= lanes; destroyed), from base; AVX2 takes t as scratch.
func (v *vecISA) firstLanes(g *gen, n, base reg.GPPhysical, t reg.VecPhysical, dst operand.Mem) {
	if v == avx512 {
		g.BZHIL(n.As32(), base.As32(), n.As32())
		g.MOVW(n.As16(), dst)
		return
	}
	g.NEGQ(n)
	g.VMOVUPS(mem(base, v.bytes(), n, 4), t)
	g.VMOVUPS(t, dst)
}

// allLanes stores at dst the mask of every lane, from base; AVX2 takes t
// as scratch.
func (v *vecISA) allLanes(g *gen, base reg.GPPhysical, t reg.VecPhysical, dst operand.Mem) {
	if v == avx512 {
		g.MOVW(base.As16(), dst)
		return
	}
	g.VMOVUPS(at(base, 0), t)
	g.VMOVUPS(t, dst)
}

// loadMask loads the stored mask src into m: an opmask register
// (AVX-512) or a vector (AVX2).
func (v *vecISA) loadMask(g *gen, src operand.Mem, m reg.Register) {
	if v == avx512 {
		g.KMOVW(src, m)
		return
	}
	g.VMOVUPS(src, m)
}

// maskedLoad loads the lanes of src that m selects into dst and zeroes
// the others, which are not read (no fault on memory beyond them).
func (v *vecISA) maskedLoad(g *gen, src operand.Mem, m reg.Register, dst reg.VecPhysical) {
	if v == avx512 {
		g.VMOVUPS_Z(src, m, dst)
		return
	}
	g.VMASKMOVPS(src, m, dst)
}

// maskedStore stores the lanes of src that m selects to dst, leaving the
// others' memory untouched.
func (v *vecISA) maskedStore(g *gen, src reg.VecPhysical, m reg.Register, dst operand.Mem) {
	if v == avx512 {
		g.VMOVUPS(src, m, dst)
		return
	}
	g.VMASKMOVPS(src, m, dst)
}
