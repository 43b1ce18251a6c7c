package main

import (
	"encoding/binary"
	"fmt"

	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
	"golang.org/x/arch/x86/x86asm"
)

// Instructions avo lacks are emitted as their machine code (LONG, WORD
// and BYTE directives), after a comment "// encoded: <instruction>" in
// Go syntax. Every encoding is checked when emitted by decoding it with
// golang.org/x/arch/x86/x86asm, and the tests decode every one in the
// generated files again (as asm/neon does for arm64).

// encodedPrefix starts the comment before an encoded instruction.
const encodedPrefix = "encoded: "

// encodingClass is the prefix an encoding starts with.
type encodingClass byte

const (
	classVEX3 encodingClass = 0xc4 // three-byte VEX
	classEVEX encodingClass = 0x62
)

// encoded is an instruction as machine code, with its text in Go syntax
// as x86asm.GoSyntax prints it ("VPDPBUSD Z2, Z1, Z0").
type encoded struct {
	code  []byte
	text  string
	class encodingClass
}

// verify decodes the code and reports an error unless it is one
// instruction of the expected encoding class whose Go syntax is e.text.
func (e encoded) verify() error {
	in, err := x86asm.Decode(e.code, 64)
	if err != nil {
		return fmt.Errorf("% x (%s) does not decode: %v", e.code, e.text, err)
	}
	if in.Len != len(e.code) {
		return fmt.Errorf("% x (%s) decodes as %d bytes", e.code, e.text, in.Len)
	}
	if got := x86asm.GoSyntax(in, 0, nil); got != e.text {
		return fmt.Errorf("% x disassembles to %q, emitted as %q", e.code, got, e.text)
	}
	if encodingClass(e.code[0]) != e.class {
		return fmt.Errorf("% x (%s) is not %s-encoded", e.code, e.text, e.class)
	}
	return nil
}

func (c encodingClass) String() string {
	if c == classEVEX {
		return "EVEX"
	}
	return "VEX"
}

// goName returns a vector register's name in Go syntax (Z3, Y12).
func goName(r reg.VecPhysical) string { return r.Asm() }

// vpdpbusd encodes VPDPBUSD s, u, dst in Go operand order: each int32
// lane of dst += the sum of the 4 products of the lane's unsigned bytes
// of u and signed bytes of s. ZMM registers are encoded with EVEX
// (AVX512_VNNI, no masking), YMM registers with VEX (AVX-VNNI).
func vpdpbusd(s, u, dst reg.VecPhysical) (encoded, error) { return encodeVPDPBUSD(s, u, dst, false) }

// vpdpbusdEVEX encodes VPDPBUSD as vpdpbusd, YMM registers with EVEX too
// (AVX512_VNNI and AVX512VL): the same operation, which CPUs with
// AVX-512 VNNI but no AVX-VNNI run.
func vpdpbusdEVEX(s, u, dst reg.VecPhysical) (encoded, error) { return encodeVPDPBUSD(s, u, dst, true) }

func encodeVPDPBUSD(s, u, dst reg.VecPhysical, evexYMM bool) (encoded, error) {
	size := dst.Size()
	if u.Size() != size || s.Size() != size {
		return encoded{}, fmt.Errorf("VPDPBUSD %s, %s, %s: registers of different sizes", goName(s), goName(u), goName(dst))
	}
	d, v, m := byte(dst.PhysicalIndex()), byte(u.PhysicalIndex()), byte(s.PhysicalIndex())
	text := fmt.Sprintf("VPDPBUSD %s, %s, %s", goName(s), goName(u), goName(dst))
	modrm := 0xc0 | (d&7)<<3 | m&7
	const opcode = 0x50                                        // 0F38 50 /r, pp = 66
	inv := func(x byte, bit uint) byte { return 1 - x>>bit&1 } // an inverted bit of x
	switch {
	case size == 64 || size == 32 && evexYMM:
		// EVEX: P0 = R X B R' 0 0 m m (R, X, B, R' inverted; X extends
		// a register operand's rm to 32 registers; map 0F38), P1 = W vvvv
		// 1 pp (vvvv inverted), P2 = z L'L b V' aaa (V' inverted; L'L 2
		// for ZMM, 1 for YMM)
		p0 := inv(d, 3)<<7 | inv(m, 4)<<6 | inv(m, 3)<<5 | inv(d, 4)<<4 | 0x02
		p1 := (^v&0xf)<<3 | 0x04 | 0x01
		p2 := byte(size/32)<<5 | inv(v, 4)<<3
		return encoded{[]byte{0x62, p0, p1, p2, opcode, modrm}, text, classEVEX}, nil
	case size == 32:
		if d > 15 || v > 15 || m > 15 {
			return encoded{}, fmt.Errorf("%s: VEX reaches Y0..Y15 only", text)
		}
		// VEX3: R X B mmmmm (R, X, B inverted; map 0F38), W vvvv L pp
		b1 := inv(d, 3)<<7 | 1<<6 | inv(m, 3)<<5 | 0x02
		b2 := (^v&0xf)<<3 | 0x04 | 0x01
		return encoded{[]byte{0xc4, b1, b2, opcode, modrm}, text, classVEX3}, nil
	}
	return encoded{}, fmt.Errorf("%s: not ZMM or YMM registers", text)
}

// encode emits e, verified, as data directives after its comment; an
// encoding error is a generator bug.
func (g *gen) encode(e encoded, err error) {
	if err == nil {
		err = e.verify()
	}
	if err != nil {
		panic(err)
	}
	g.Comment(encodedPrefix + e.text)
	b := e.code
	for len(b) >= 4 {
		g.data("LONG", operand.U32(binary.LittleEndian.Uint32(b)))
		b = b[4:]
	}
	if len(b) >= 2 {
		g.data("WORD", operand.U16(binary.LittleEndian.Uint16(b)))
		b = b[2:]
	}
	if len(b) == 1 {
		g.data("BYTE", operand.U8(b[0]))
	}
}

// data emits a data directive inside a function's body.
func (g *gen) data(directive string, v operand.Constant) {
	g.Instruction(&ir.Instruction{Opcode: directive, Operands: []operand.Op{v}})
}
