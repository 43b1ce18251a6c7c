package neon

import (
	"errors"
	"fmt"
	"strings"
)

// Param is an argument of an assembly function: a name and its Go type,
// 8 bytes (a pointer or an int).
type Param struct {
	Name, Type string
}

// Func is an assembly function being built: ABI0, NOSPLIT, no frame of
// its own, its arguments read from the caller's frame (Func.Param).
type Func struct {
	name   string
	doc    []string
	params []Param
	lines  []line
	labels map[Label]bool // defined labels
	refs   []Label        // branch targets, checked when printed
	errs   []error
}

// line is one line of a function body.
type line struct {
	text    string   // an instruction in Go syntax, a label or a comment
	kind    lineKind //
	encoded Encoded  // kind == wordLine
}

type lineKind uint8

const (
	instLine lineKind = iota
	wordLine
	labelLine
	commentLine
)

// NewFunc starts the function name(params...) with the doc comment of its
// Go stub.
func NewFunc(name string, params []Param, doc ...string) *Func {
	return &Func{name: name, doc: doc, params: params, labels: map[Label]bool{}}
}

// Name returns the function's name.
func (f *Func) Name() string { return f.name }

// Param returns the memory operand of the argument name (name+off(FP)).
func (f *Func) Param(name string) Op {
	for i, p := range f.params {
		if p.Name == name {
			return param{name, 8 * i}
		}
	}
	f.errorf("no parameter %q", name)
	return param{name, 0}
}

// Comment adds comment lines to the body.
func (f *Func) Comment(lines ...string) {
	for _, l := range lines {
		f.lines = append(f.lines, line{kind: commentLine, text: l})
	}
}

// Label defines l at this point of the body.
func (f *Func) Label(l Label) {
	if f.labels[l] {
		f.errorf("label %s defined twice", l)
	}
	f.labels[l] = true
	f.lines = append(f.lines, line{kind: labelLine, text: string(l)})
}

// Encoded returns every instruction of the body printed as a WORD.
func (f *Func) Encoded() []Encoded {
	var es []Encoded
	for _, l := range f.lines {
		if l.kind == wordLine {
			es = append(es, l.encoded)
		}
	}
	return es
}

// Err returns the errors of the instructions built so far, and of branches
// to undefined labels.
func (f *Func) Err() error {
	errs := f.errs
	for _, l := range f.refs {
		if !f.labels[l] {
			errs = append(errs, fmt.Errorf("branch to undefined label %s", l))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	return nil
}

func (f *Func) errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Errorf("instruction %d: "+format, append([]any{len(f.lines)}, args...)...))
}

// native adds an instruction the Go assembler knows; a post-indexed memory
// operand adds the .P suffix.
func (f *Func) native(mnemonic string, ops ...Op) {
	s := make([]string, len(ops))
	for i, o := range ops {
		switch o := o.(type) {
		case GP:
			if o.reserved() {
				f.errorf("%s uses %s, reserved by Go", mnemonic, o.goAsm())
			}
		case Mem:
			if o.Base.reserved() || o.HasIndex && o.Index.reserved() {
				f.errorf("%s uses a register reserved by Go in %s", mnemonic, o.goAsm())
			}
			if o.Post {
				mnemonic += ".P"
			}
		case vlist:
			if err := o.check(); err != nil {
				f.errorf("%s: %v", mnemonic, err)
			}
		case Label:
			f.refs = append(f.refs, o)
		}
		s[i] = o.goAsm()
	}
	f.lines = append(f.lines, line{kind: instLine, text: mnemonic + "\t" + strings.Join(s, ", ")})
}

// word adds an encoded instruction, verified by decoding it.
func (f *Func) word(e Encoded, err error) {
	if err == nil {
		err = e.Verify()
	}
	if err != nil {
		f.errorf("%v", err)
		return
	}
	f.lines = append(f.lines, line{kind: wordLine, encoded: e})
}

// General-purpose and control instructions (Go syntax and operand order).

// MOVD moves 64 bits: register to register, memory to register (load) or
// register to memory (store).
func (f *Func) MOVD(src, dst Op) { f.native("MOVD", src, dst) }

// ADD sets dst = b + a (a a register or an immediate).
func (f *Func) ADD(a Op, b, dst GP) { f.native("ADD", a, b, dst) }

// SUB sets dst = b - a.
func (f *Func) SUB(a Op, b, dst GP) { f.native("SUB", a, b, dst) }

// SUBS sets dst = b - a and the flags.
func (f *Func) SUBS(a Op, b, dst GP) { f.native("SUBS", a, b, dst) }

// LSL sets dst = src << n.
func (f *Func) LSL(n Imm, src, dst GP) { f.native("LSL", n, src, dst) }

// CMP sets the flags of b - a.
func (f *Func) CMP(a Op, b GP) { f.native("CMP", a, b) }

// B branches to l.
func (f *Func) B(l Label) { f.native("B", l) }

// BNE branches to l if the last flag-setting result was not zero.
func (f *Func) BNE(l Label) { f.native("BNE", l) }

// BLT branches to l if the last comparison was signed less-than.
func (f *Func) BLT(l Label) { f.native("BLT", l) }

// BGE branches to l if the last comparison was signed greater or equal.
func (f *Func) BGE(l Label) { f.native("BGE", l) }

// BEQ branches to l if the last flag-setting result was zero.
func (f *Func) BEQ(l Label) { f.native("BEQ", l) }

// CBZ branches to l if r is zero.
func (f *Func) CBZ(r GP, l Label) { f.native("CBZ", r, l) }

// CBNZ branches to l if r is not zero.
func (f *Func) CBNZ(r GP, l Label) { f.native("CBNZ", r, l) }

// TBZ branches to l if bit b of r is zero.
func (f *Func) TBZ(b Imm, r GP, l Label) { f.native("TBZ", b, r, l) }

// TBNZ branches to l if bit b of r is set.
func (f *Func) TBNZ(b Imm, r GP, l Label) { f.native("TBNZ", b, r, l) }

// RET returns.
func (f *Func) RET() { f.native("RET") }

// Loads and stores of SIMD registers (Go syntax).

// FMOVS loads 32 bits into lane 0 of a register, zeroing the others
// (memory to F), or stores lane 0 (F to memory).
func (f *Func) FMOVS(src, dst Op) { f.native("FMOVS", src, dst) }

// FMOVQ loads or stores a whole 128-bit register (any alignment).
func (f *Func) FMOVQ(src, dst Op) { f.native("FMOVQ", src, dst) }

// VLD1 loads consecutive registers from consecutive memory (LD1).
func (f *Func) VLD1(m Mem, regs ...Vec) { f.native("VLD1", m, vlist(regs)) }

// VLD1R loads one element and replicates it to every lane (LD1R).
func (f *Func) VLD1R(m Mem, regs ...Vec) { f.native("VLD1R", m, vlist(regs)) }

// VLD2 loads pairs of elements, de-interleaving them: the even elements
// into the first register, the odd ones into the second (LD2).
func (f *Func) VLD2(m Mem, regs ...Vec) {
	if len(regs) != 2 {
		f.errorf("VLD2 takes 2 registers, got %d", len(regs))
	}
	f.native("VLD2", m, vlist(regs))
}

// VST1 stores consecutive registers to consecutive memory (ST1).
func (f *Func) VST1(m Mem, regs ...Vec) { f.native("VST1", vlist(regs), m) }

// SIMD data processing the Go assembler knows.

// VEOR sets d = n ^ m.
func (f *Func) VEOR(m, n, d Vec) { f.native("VEOR", m, n, d) }

// VEXT sets d to bytes i..i+15 of n followed by m (EXT d, n, m, #i;
// B16 operands): with i = 4, lanes 1..3 of n and lane 0 of m.
func (f *Func) VEXT(i Imm, m, n, d Vec) { f.native("VEXT", i, m, n, d) }

// VDUP sets every lane of d to the element e.
func (f *Func) VDUP(e Elem, d Vec) { f.native("VDUP", e, d) }

// VMOVI sets every byte of d to the immediate (MOVI; B8 or B16 only).
func (f *Func) VMOVI(i Imm, d Vec) { f.native("VMOVI", i, d) }

// Floating-point SIMD arithmetic, encoded as WORD where the Go assembler
// lacks it.

// VFADD sets d = n + m lane-wise.
func (f *Func) VFADD(m, n, d Vec) { f.word(EncodeFADD(m, n, d)) }

// VFADDP sets d to the pairwise sums of the concatenation n:m.
func (f *Func) VFADDP(m, n, d Vec) { f.word(EncodeFADDP(m, n, d)) }

// VFMAX sets d = max(n, m) lane-wise (NaN if either is NaN).
func (f *Func) VFMAX(m, n, d Vec) { f.word(EncodeFMAX(m, n, d)) }

// VFMIN sets d = min(n, m) lane-wise (NaN if either is NaN).
func (f *Func) VFMIN(m, n, d Vec) { f.word(EncodeFMIN(m, n, d)) }

// VFMUL sets d = n * m, m a vector or an element (by element).
func (f *Func) VFMUL(m Op, n, d Vec) {
	switch m := m.(type) {
	case Vec:
		f.word(EncodeFMUL(m, n, d))
	case Elem:
		f.word(EncodeFMULElem(m, n, d))
	default:
		f.errorf("VFMUL: operand %s is not a vector or an element", m.goAsm())
	}
}

// VFMLA sets d += n * m with one rounding, m a vector (the Go assembler's
// VFMLA) or an element (by element, encoded).
func (f *Func) VFMLA(m Op, n, d Vec) {
	switch m := m.(type) {
	case Vec:
		f.native("VFMLA", m, n, d)
	case Elem:
		f.word(EncodeFMLAElem(m, n, d))
	default:
		f.errorf("VFMLA: operand %s is not a vector or an element", m.goAsm())
	}
}

// Integer SIMD the Go assembler knows.

// VADD sets d = n + m lane-wise (integer).
func (f *Func) VADD(m, n, d Vec) { f.native("VADD", m, n, d) }

// VSUB sets d = n - m lane-wise (integer).
func (f *Func) VSUB(m, n, d Vec) { f.native("VSUB", m, n, d) }

// VAND sets d = n & m (B8 or B16 operands).
func (f *Func) VAND(m, n, d Vec) { f.native("VAND", m, n, d) }

// VTBL sets each byte of d to the byte of the table (1 to 4 consecutive
// 16B registers) its index byte in idx names, or 0 past the table (TBL).
func (f *Func) VTBL(idx Vec, table []Vec, d Vec) { f.native("VTBL", idx, vlist(table), d) }

// VMOV copies register n to d (a vector move; 16B operands).
func (f *Func) VMOV(n, d Vec) { f.native("VMOV", n, d) }

// VUZP1 sets d to the even-numbered elements of the concatenation n:m
// (UZP1).
func (f *Func) VUZP1(m, n, d Vec) { f.native("VUZP1", m, n, d) }

// VADDP sets d to the pairwise sums of the concatenation n:m (integer
// ADDP).
func (f *Func) VADDP(m, n, d Vec) { f.native("VADDP", m, n, d) }

// VUXTL zero-extends the low half of n to lanes of twice the width
// (UXTL: 8B to 8H, 4H to 4S).
func (f *Func) VUXTL(n, d Vec) { f.native("VUXTL", n, d) }

// VUXTL2 zero-extends the high half of n (UXTL2: 16B to 8H, 8H to 4S).
func (f *Func) VUXTL2(n, d Vec) { f.native("VUXTL2", n, d) }

// VST4 stores 4 registers interleaved: element i of each register in
// turn (ST4; the registers consecutive).
func (f *Func) VST4(m Mem, regs ...Vec) {
	if len(regs) != 4 {
		f.errorf("VST4 takes 4 registers, got %d", len(regs))
	}
	f.native("VST4", vlist(regs), m)
}

// FMOVD loads 64 bits into lane 0 of a register, zeroing the rest
// (memory to F), or stores lane 0 (F to memory).
func (f *Func) FMOVD(src, dst Op) { f.native("FMOVD", src, dst) }

// Integer, conversion and dot-product SIMD, encoded.

// VSDOT sets d.4S += the signed dot products of the byte quads of n and
// m, m a vector or a lane of four bytes (by element).
func (f *Func) VSDOT(m Op, n, d Vec) { f.dot("VSDOT", EncodeSDOT, EncodeSDOTElem, m, n, d) }

// VUDOT is VSDOT for unsigned bytes.
func (f *Func) VUDOT(m Op, n, d Vec) { f.dot("VUDOT", EncodeUDOT, EncodeUDOTElem, m, n, d) }

func (f *Func) dot(name string, vec func(m, n, d Vec) (Encoded, error), elem func(m ElemB4, n, d Vec) (Encoded, error), m Op, n, d Vec) {
	switch m := m.(type) {
	case Vec:
		f.word(vec(m, n, d))
	case ElemB4:
		f.word(elem(m, n, d))
	default:
		f.errorf("%s: operand %s is not a vector or a byte-quad element", name, m.goAsm())
	}
}

// VSMULL sets d.8H to the signed products of the low halves of n and m
// (8B), or of their high halves when n and m are 16B (SMULL2).
func (f *Func) VSMULL(m, n, d Vec) { f.word(EncodeSMULL(m, n, d)) }

// VSADALP adds the sums of adjacent pairs of n.8H to d.4S.
func (f *Func) VSADALP(n, d Vec) { f.word(EncodeSADALP(n, d)) }

// VSCVTF converts n.4S from int32 to float32.
func (f *Func) VSCVTF(n, d Vec) { f.word(EncodeSCVTF(n, d)) }

// VFCVTNS converts n.4S from float32 to int32, rounding half to even.
func (f *Func) VFCVTNS(n, d Vec) { f.word(EncodeFCVTNS(n, d)) }

// VFRINTN rounds n.4S to integral float32 values, half to even.
func (f *Func) VFRINTN(n, d Vec) { f.word(EncodeFRINTN(n, d)) }

// VXTN narrows n's lanes to half their width into d (XTN 4H <- 4S, XTN2
// 8H <- 4S into the high half, XTN 8B <- 8H).
func (f *Func) VXTN(n, d Vec) { f.word(EncodeXTN(n, d)) }

// VFDIV sets d = n / m lane-wise (4S).
func (f *Func) VFDIV(m, n, d Vec) { f.word(EncodeFDIV(m, n, d)) }
