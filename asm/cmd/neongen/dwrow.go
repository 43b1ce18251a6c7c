package main

import (
	"fmt"

	"github.com/tsmc-go/tsmc/asm/internal/naming"
	. "github.com/tsmc-go/tsmc/asm/neon"
)

// dwRowKernel describes a NEON depthwise 3x3 row kernel implementing
// runtime.DWRow at one stride.
type dwRowKernel struct {
	stride int
}

// dwRowKernels is the table the depthwise kernels and their dispatch are
// generated from; other strides run the pure-Go row kernel.
var dwRowKernels = []dwRowKernel{{stride: 1}, {stride: 2}}

// names returns the descriptor the kernel's contract name and Go name
// come from.
func (k dwRowKernel) names() naming.Kernel {
	return naming.Kernel{Op: "dwconv", MinMax: true, Shape: fmt.Sprintf("3x3s%d", k.stride), ISA: isa}
}

// Name and GoName return the contract name and the Go name of the
// assembly function, for the registry template and the documentation.
func (k dwRowKernel) Name() string   { return k.names().Name() }
func (k dwRowKernel) GoName() string { return k.names().GoName() }

// Stride is the kernel's stride, for the registry template.
func (k dwRowKernel) Stride() int { return k.stride }

// dwStage is one loop of a row kernel: blocks of groups x lanes outputs,
// each group of lanes outputs one accumulator (one dependent chain of nine
// multiply-adds), the groups interleaved so that their chains overlap.
// lanes 1 is the scalar tail: the same instructions on lane 0 only.
type dwStage struct {
	groups, lanes int
}

// dwStages are the loops every row runs through in turn: 32 outputs while
// they last (eight chains in flight cover the FMA latency of two pipes),
// then 8, then 4, then one at a time.
var dwStages = []dwStage{{8, 4}, {2, 4}, {1, 4}, {1, 1}}

// Registers of the depthwise kernels.
const (
	dT      = X0 // *DWRow
	dO      = X1 // O, advancing
	dN      = X2 // outputs left
	dRes    = X6 // Res (nil: none), advancing
	dScr    = X7 // scratch address
	dBias   = V3 // Bias in every lane
	dLo     = V4
	dHi     = V5
	dAcc0   = V16 // first accumulator; temporaries follow the accumulators
	dTapsHi = V2  // W[8] in lane 0
)

// dRows are the three input rows R0, R1, R2, advancing.
var dRows = [3]GP{X3, X4, X5}

// tap returns the element holding W[t]: V0.S[0..3] W[0..3], V1 W[4..7],
// V2.S[0] W[8].
func tap(t int) Elem {
	if t == 8 {
		return dTapsHi.S(0)
	}
	return V(t / 4).S(t % 4)
}

func (k dwRowKernel) doc() []string {
	lines := []string{
		fmt.Sprintf("%s is %s: the DWRow contract at Stride %d,", k.GoName(), k.Name(), k.stride),
		"4 outputs per vector, up to 8 vectors interleaved; the taps summed in",
		"row-major order with fused multiply-adds (the first a product); the",
		"tail one output at a time, never reading outside the rows.",
		"Registers: V0.S[0..3], V1.S[0..3], V2.S[0] the nine taps, V3 the bias,",
		"V4/V5 Lo/Hi, V16.. the accumulators, then the loaded inputs;",
	}
	if k.stride == 2 {
		lines = append(lines, "stride 2 de-interleaves with LD2 (taps 0 and 1 of a row) and",
			"shifts the even inputs by one lane with EXT (tap 2);")
	}
	return append(lines,
		"R0 *DWRow, R1 O, R2 outputs left, R3/R4/R5 the rows R0/R1/R2,",
		"R6 Res, R7 scratch.")
}

// emit writes the kernel into a new function.
func (k dwRowKernel) emit(row *argBlock) (*Func, error) {
	f := NewFunc(k.GoName(), []Param{{Name: "t", Type: "*DWRow"}}, k.doc()...)
	f.Comment(k.doc()[4:]...)
	fld := func(name string, extra int) Mem { return At(dT, row.off(name, extra)) }
	broadcast := func(name string, v V) {
		f.ADD(Imm(row.off(name, 0)), dT, dScr)
		f.VLD1R(At(dScr, 0), v.S4())
	}

	f.MOVD(f.Param("t"), dT)
	f.MOVD(fld("O", 0), dO)
	f.MOVD(fld("O", 8), dN) // len(O)
	for y, r := range dRows {
		f.MOVD(fld(fmt.Sprintf("R%d", y), 0), r)
	}
	f.MOVD(fld("Res", 0), dRes)
	f.MOVD(fld("W", 0), dScr)
	f.VLD1(At(dScr, 0), V0.S4(), V1.S4())
	f.FMOVS(At(dScr, 32), dTapsHi.F())
	broadcast("Bias", dBias)
	broadcast("Lo", dLo)
	broadcast("Hi", dHi)

	for si, s := range dwStages {
		k.stage(f, s, si == len(dwStages)-1)
	}
	f.Label("done")
	f.RET()
	return f, f.Err()
}

// stage emits the loop of one stage.
func (k dwRowKernel) stage(f *Func, s dwStage, last bool) {
	name := fmt.Sprintf("%dx%d", s.groups, s.lanes)
	loop, next, clamp := Label("loop"+name), Label("next"+name), Label("clamp"+name)
	if last {
		next = "done"
	}
	outs := s.groups * s.lanes
	acc := func(g int) Vec { return (dAcc0 + V(g)).S4() }
	temps := int(V31-dAcc0) + 1 - s.groups
	tmp := func(i int) V { return dAcc0 + V(s.groups+i%temps) }
	// multiplyAdd adds tap t of input x to the chain of group g.
	multiplyAdd := func(t int, x V, g int) {
		if t == 0 {
			f.VFMUL(tap(0), x.S4(), acc(g))
		} else {
			f.VFMLA(tap(t), x.S4(), acc(g))
		}
	}

	f.Comment(fmt.Sprintf("Blocks of %d x %d outputs.", s.groups, s.lanes))
	f.Label(loop)
	f.CMP(Imm(outs), dN)
	f.BLT(next)
	if k.stride == 2 && s.lanes == 4 {
		// Per row and group: LD2 gives inputs 2j.. (tap 0) and 2j+1..
		// (tap 1), advancing the row by 8 inputs; tap 2's inputs 2j+2..
		// are the even ones shifted by a lane, the last being the
		// next block's first input (input 2j+8, inside the row: the
		// last output j+3 reads up to 2j+8).
		for y, r := range dRows {
			for g := range s.groups {
				even, odd, next8, shifted := tmp(4*g), tmp(4*g+1), tmp(4*g+2), tmp(4*g+3)
				f.VLD2(PostImm(r, 32), even.S4(), odd.S4())
				f.FMOVS(At(r, 0), next8.F())
				f.VEXT(4, next8.B16(), even.B16(), shifted.B16())
				multiplyAdd(3*y, even, g)
				multiplyAdd(3*y+1, odd, g)
				multiplyAdd(3*y+2, shifted, g)
			}
		}
	} else {
		// Input x of group g at offset (g*lanes*stride + x) floats.
		n := 0
		for y, r := range dRows {
			for x := range 3 {
				for g := range s.groups {
					in := tmp(n)
					n++
					at := At(r, 4*(g*s.lanes*k.stride+x))
					if s.lanes == 4 {
						f.FMOVQ(at, in.F())
					} else {
						f.FMOVS(at, in.F())
					}
					multiplyAdd(3*y+x, in, g)
				}
			}
		}
		for _, r := range dRows {
			f.ADD(Imm(4*outs*k.stride), r, r)
		}
	}
	for g := range s.groups {
		f.VFADD(dBias.S4(), acc(g), acc(g))
	}
	f.CBZ(dRes, clamp)
	for g := range s.groups {
		in := tmp(g)
		if s.lanes == 4 {
			f.FMOVQ(PostImm(dRes, 16), in.F())
		} else {
			f.FMOVS(PostImm(dRes, 4), in.F())
		}
		f.VFADD(in.S4(), acc(g), acc(g))
	}
	f.Label(clamp)
	for g := range s.groups {
		f.VFMAX(dLo.S4(), acc(g), acc(g))
		f.VFMIN(dHi.S4(), acc(g), acc(g))
	}
	for g := range s.groups {
		if s.lanes == 4 {
			f.FMOVQ(acc(g).Reg.F(), PostImm(dO, 16))
		} else {
			f.FMOVS(acc(g).Reg.F(), PostImm(dO, 4))
		}
	}
	f.SUB(Imm(outs), dN, dN)
	f.B(loop)
	if !last {
		f.Label(next)
	}
}
