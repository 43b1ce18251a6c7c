package neon

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
)

// Encoded is an instruction the Go assembler lacks: its machine word and
// its ARM syntax (the WORD's comment, and what a disassembler must print).
type Encoded struct {
	Word uint32
	Text string
}

// Verify decodes the word with golang.org/x/arch/arm64/arm64asm (the
// dot-product instructions, which it predates, with decodeDot) and
// reports an error unless the disassembly is e.Text.
func (e Encoded) Verify() error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], e.Word)
	if text, ok := decodeDot(e.Word); ok {
		if text != e.Text {
			return fmt.Errorf("%08x disassembles to %q, emitted as %q", e.Word, text, e.Text)
		}
		return nil
	}
	in, err := arm64asm.Decode(b[:])
	if err != nil {
		return fmt.Errorf("%08x (%s) does not decode: %v", e.Word, e.Text, err)
	}
	if got := in.String(); got != e.Text {
		return fmt.Errorf("%08x disassembles to %q, emitted as %q", e.Word, got, e.Text)
	}
	return nil
}

// Base words (Q = 0, single precision, all registers 0) of the encoded
// instructions, from the Arm Architecture Reference Manual (A64 Advanced
// SIMD "three same" and "vector x indexed element" groups).
const (
	wordFADD      = 0x0e20d400 // 0 Q 0 01110 0 0 1 Rm 110101 Rn Rd
	wordFADDP     = 0x2e20d400 // 0 Q 1 01110 0 0 1 Rm 110101 Rn Rd
	wordFMAX      = 0x0e20f400 // 0 Q 0 01110 0 0 1 Rm 111101 Rn Rd
	wordFMIN      = 0x0ea0f400 // 0 Q 0 01110 1 0 1 Rm 111101 Rn Rd
	wordFMUL      = 0x2e20dc00 // 0 Q 1 01110 0 0 1 Rm 110111 Rn Rd
	wordFMLAElem  = 0x0f801000 // 0 Q 0 01111 1 0 L M Rm 0001 H 0 Rn Rd
	wordFMULElem  = 0x0f809000 // 0 Q 0 01111 1 0 L M Rm 1001 H 0 Rn Rd
	bitQ          = 1 << 30
	shiftRm       = 16
	shiftRn       = 5
	bitL, bitH    = 1 << 21, 1 << 11
	bitM          = 1 << 20 // the fifth bit of Rm in the by-element group
	rmLowBitsMask = 0xf
)

// qBit returns the Q bit of a float arrangement, or an error.
func qBit(mnemonic string, vs ...Vec) (uint32, error) {
	for _, v := range vs {
		if v.Arr != vs[0].Arr {
			return 0, fmt.Errorf("%s: operands %s and %s differ in arrangement", mnemonic, vs[0], v)
		}
	}
	switch vs[0].Arr {
	case S4:
		return bitQ, nil
	case S2:
		return 0, nil
	}
	return 0, fmt.Errorf("%s: arrangement %s is not 4S or 2S", mnemonic, vs[0])
}

// threeSame encodes mnemonic d, n, m of the float three-same group.
func threeSame(mnemonic string, base uint32, m, n, d Vec) (Encoded, error) {
	q, err := qBit(mnemonic, d, n, m)
	if err != nil {
		return Encoded{}, err
	}
	w := base | q | uint32(m.Reg)<<shiftRm | uint32(n.Reg)<<shiftRn | uint32(d.Reg)
	return Encoded{w, fmt.Sprintf("%s %s, %s, %s", mnemonic, d, n, m)}, nil
}

// byElement encodes mnemonic d, n, m.S[lane] of the vector x indexed
// element group (single precision: any of V0..V31, lanes 0..3).
func byElement(mnemonic string, base uint32, m Elem, n, d Vec) (Encoded, error) {
	q, err := qBit(mnemonic, d, n)
	if err != nil {
		return Encoded{}, err
	}
	if m.Lane < 0 || m.Lane > 3 || m.Reg > V31 {
		return Encoded{}, fmt.Errorf("%s: element %s out of range", mnemonic, m)
	}
	w := base | q | uint32(m.Reg&rmLowBitsMask)<<shiftRm | uint32(n.Reg)<<shiftRn | uint32(d.Reg)
	if m.Reg > rmLowBitsMask {
		w |= bitM
	}
	if m.Lane&1 != 0 {
		w |= bitL
	}
	if m.Lane&2 != 0 {
		w |= bitH
	}
	return Encoded{w, fmt.Sprintf("%s %s, %s, %s", mnemonic, d, n, m)}, nil
}

// EncodeFADD encodes FADD d, n, m (lane-wise n + m).
func EncodeFADD(m, n, d Vec) (Encoded, error) { return threeSame("FADD", wordFADD, m, n, d) }

// EncodeFADDP encodes FADDP d, n, m (pairwise sums of the concatenation
// n:m).
func EncodeFADDP(m, n, d Vec) (Encoded, error) { return threeSame("FADDP", wordFADDP, m, n, d) }

// EncodeFMAX encodes FMAX d, n, m (lane-wise maximum; a NaN operand gives
// NaN).
func EncodeFMAX(m, n, d Vec) (Encoded, error) { return threeSame("FMAX", wordFMAX, m, n, d) }

// EncodeFMIN encodes FMIN d, n, m (lane-wise minimum; a NaN operand gives
// NaN).
func EncodeFMIN(m, n, d Vec) (Encoded, error) { return threeSame("FMIN", wordFMIN, m, n, d) }

// EncodeFMUL encodes FMUL d, n, m (lane-wise product).
func EncodeFMUL(m, n, d Vec) (Encoded, error) { return threeSame("FMUL", wordFMUL, m, n, d) }

// EncodeFMLAElem encodes FMLA d, n, m.S[i]: d += n * m.S[i], fused.
func EncodeFMLAElem(m Elem, n, d Vec) (Encoded, error) {
	return byElement("FMLA", wordFMLAElem, m, n, d)
}

// EncodeFMULElem encodes FMUL d, n, m.S[i]: d = n * m.S[i].
func EncodeFMULElem(m Elem, n, d Vec) (Encoded, error) {
	return byElement("FMUL", wordFMULElem, m, n, d)
}
