// Package neon emits Go (Plan 9) arm64 assembly in the spirit of avo:
// a kernel is a Go function calling one method per instruction on a
// *Func, with named registers (X0..X30, V0..V31 with arrangements) and
// operands; a File prints the assembly and the Go stubs declaring its
// functions.
//
// Instructions take their operands in the Go assembler's order, sources
// first and the destination last. Those the Go assembler knows are
// printed in its syntax. Those it lacks (vector FADD, FMUL, FMAX, FMIN,
// FMLA and FMUL by element, FADDP, ...) are encoded here and printed as
// WORD $0x... with the instruction in ARM syntax in a comment; the tests
// decode every encoding with golang.org/x/arch/arm64/arm64asm.
package neon

import "fmt"

// GP is a 64-bit general-purpose register, X0..X30 in ARM syntax, R0..R30
// in Go's. Go reserves R18 (platform), R26 (closure context), R27 (the
// assembler's temporary), R28 (g), R29 (frame pointer) and R30 (link
// register); kernels use R0..R17 and R19..R25.
type GP uint8

// The general-purpose registers.
const (
	X0 GP = iota
	X1
	X2
	X3
	X4
	X5
	X6
	X7
	X8
	X9
	X10
	X11
	X12
	X13
	X14
	X15
	X16
	X17
	X18
	X19
	X20
	X21
	X22
	X23
	X24
	X25
	X26
	X27
	X28
	X29
	X30
)

func (r GP) goAsm() string { return fmt.Sprintf("R%d", uint8(r)) }

// String returns the register in ARM syntax.
func (r GP) String() string { return fmt.Sprintf("X%d", uint8(r)) }

// reserved reports whether Go reserves r (see GP).
func (r GP) reserved() bool { return r == X18 || r >= X26 }

// V is a 128-bit SIMD and floating-point register, V0..V31. Go's ABI0
// saves none of them across calls: an assembly function may clobber all.
type V uint8

// The SIMD registers.
const (
	V0 V = iota
	V1
	V2
	V3
	V4
	V5
	V6
	V7
	V8
	V9
	V10
	V11
	V12
	V13
	V14
	V15
	V16
	V17
	V18
	V19
	V20
	V21
	V22
	V23
	V24
	V25
	V26
	V27
	V28
	V29
	V30
	V31
)

// Arrangement is the lane layout of a vector operand.
type Arrangement uint8

// The arrangements the emitter knows.
const (
	S4  Arrangement = iota // four float32 lanes (ARM 4S, Go S4)
	S2                     // two float32 lanes in the low half (ARM 2S, Go S2)
	B16                    // sixteen bytes (ARM 16B, Go B16)
	D2                     // two 64-bit lanes (ARM 2D, Go D2)
	B8                     // eight bytes in the low half (ARM 8B, Go B8)
	H8                     // eight 16-bit lanes (ARM 8H, Go H8)
	H4                     // four 16-bit lanes in the low half (ARM 4H, Go H4)
)

var arrangementNames = [...]struct{ arm, goAsm string }{
	S4:  {"4S", "S4"},
	S2:  {"2S", "S2"},
	B16: {"16B", "B16"},
	D2:  {"2D", "D2"},
	B8:  {"8B", "B8"},
	H8:  {"8H", "H8"},
	H4:  {"4H", "H4"},
}

// Vec is a register with an arrangement: V3.S4 in Go syntax, V3.4S in ARM.
type Vec struct {
	Reg V
	Arr Arrangement
}

// S4 returns v as four float32 lanes.
func (v V) S4() Vec { return Vec{v, S4} }

// S2 returns the low half of v as two float32 lanes.
func (v V) S2() Vec { return Vec{v, S2} }

// B16 returns v as sixteen bytes.
func (v V) B16() Vec { return Vec{v, B16} }

// D2 returns v as two 64-bit lanes.
func (v V) D2() Vec { return Vec{v, D2} }

// B8 returns the low half of v as eight bytes.
func (v V) B8() Vec { return Vec{v, B8} }

// H8 returns v as eight 16-bit lanes.
func (v V) H8() Vec { return Vec{v, H8} }

// H4 returns the low half of v as four 16-bit lanes.
func (v V) H4() Vec { return Vec{v, H4} }

// B4 returns 32-bit lane i of v seen as four bytes, the element operand
// of SDOT and UDOT by element (SDOT V4.4S, V5.16B, V2.4B[1]).
func (v V) B4(i int) ElemB4 { return ElemB4{v, i} }

// S returns float32 lane i of v, the element operand of the by-element
// instructions (FMLA V8.4S, V3.4S, V0.S[1]).
func (v V) S(i int) Elem { return Elem{v, i} }

// F returns v as a scalar floating-point register (Go F3; ARM S3 or Q3
// depending on the instruction), the operand of FMOVS and FMOVQ.
func (v V) F() F { return F(v) }

func (v Vec) goAsm() string { return fmt.Sprintf("V%d.%s", v.Reg, arrangementNames[v.Arr].goAsm) }

// String returns the operand in ARM syntax.
func (v Vec) String() string { return fmt.Sprintf("V%d.%s", v.Reg, arrangementNames[v.Arr].arm) }

// lanes returns the number of float32 lanes of a float arrangement, or 0.
func (v Vec) lanes() int {
	switch v.Arr {
	case S4:
		return 4
	case S2:
		return 2
	}
	return 0
}

// Elem is a float32 lane of a register: V0.S[1] in both syntaxes.
type Elem struct {
	Reg  V
	Lane int
}

func (e Elem) goAsm() string { return e.String() }

// String returns the operand in ARM syntax.
func (e Elem) String() string { return fmt.Sprintf("V%d.S[%d]", e.Reg, e.Lane) }

// ElemB4 is a 32-bit lane of a register seen as four bytes: V2.4B[1].
// The Go assembler has no such operand (only encoded instructions take
// it).
type ElemB4 struct {
	Reg  V
	Lane int
}

func (e ElemB4) goAsm() string { return e.String() }

// String returns the operand in ARM syntax.
func (e ElemB4) String() string { return fmt.Sprintf("V%d.4B[%d]", e.Reg, e.Lane) }

// F is the scalar view of a SIMD register in Go syntax (F0..F31).
type F V

func (f F) goAsm() string { return fmt.Sprintf("F%d", uint8(f)) }
