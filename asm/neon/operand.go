package neon

import (
	"fmt"
	"strings"
)

// Op is an instruction operand: GP, Vec, Elem, F, Imm, Mem, Label or an
// argument of the function (Func.Param).
type Op interface {
	goAsm() string
}

// Imm is an immediate operand ($n).
type Imm int64

func (i Imm) goAsm() string { return fmt.Sprintf("$%d", int64(i)) }

// Mem is a memory operand: Disp(Base), or with post-indexing (the
// instruction gets the .P suffix) Base is advanced after the access by
// Disp bytes, or by the register Index.
type Mem struct {
	Base     GP
	Disp     int
	Index    GP
	HasIndex bool // Index is set (X0 is a valid index)
	Post     bool
}

// At returns the operand disp(base).
func At(base GP, disp int) Mem { return Mem{Base: base, Disp: disp} }

// PostImm returns the operand (base), base advancing by n bytes after the
// access.
func PostImm(base GP, n int) Mem { return Mem{Base: base, Disp: n, Post: true} }

// PostReg returns the operand (base), base advancing by the register
// index after the access.
func PostReg(base, index GP) Mem { return Mem{Base: base, Index: index, HasIndex: true, Post: true} }

func (m Mem) goAsm() string {
	switch {
	case m.HasIndex:
		return fmt.Sprintf("(%s)(%s)", m.Base.goAsm(), m.Index.goAsm())
	case m.Disp == 0:
		return fmt.Sprintf("(%s)", m.Base.goAsm())
	}
	return fmt.Sprintf("%d(%s)", m.Disp, m.Base.goAsm())
}

// Label is a branch target in the current function.
type Label string

func (l Label) goAsm() string { return string(l) }

// param is an argument of the function: name+offset(FP).
type param struct {
	name string
	off  int
}

func (p param) goAsm() string { return fmt.Sprintf("%s+%d(FP)", p.name, p.off) }

// vlist is the register list of VLD1, VST1, VLD1R and VLD2: [V0.S4, V1.S4].
type vlist []Vec

func (l vlist) goAsm() string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = v.goAsm()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// check reports why l is not a list of 1..4 consecutive registers
// (modulo 32) of one arrangement.
func (l vlist) check() error {
	if len(l) < 1 || len(l) > 4 {
		return fmt.Errorf("register list of %d registers (1..4)", len(l))
	}
	for i, v := range l[1:] {
		if v.Reg != (l[i].Reg+1)%32 || v.Arr != l[0].Arr {
			return fmt.Errorf("register list %s: not consecutive registers of one arrangement", l.goAsm())
		}
	}
	return nil
}
