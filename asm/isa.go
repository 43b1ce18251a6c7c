package main

import (
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
