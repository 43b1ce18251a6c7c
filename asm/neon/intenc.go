package neon

import "fmt"

// Base words (all registers 0) of the integer, conversion and dot-product
// instructions, from the Arm Architecture Reference Manual (A64 Advanced
// SIMD three-different, two-register misc, three-same and by-element
// groups, and the dot-product extension of Armv8.2).
const (
	wordSDOT     = 0x4e809400 // 0 1 U 01110 10 0 Rm 1001 0 1 Rn Rd (U = 0; 4S, 16B, 16B)
	wordUDOT     = 0x6e809400 // U = 1
	wordSDOTElem = 0x4f80e000 // 0 1 U 01111 10 L M Rm 1110 H 0 Rn Rd (4S, 16B, 4B[H:L])
	wordUDOTElem = 0x6f80e000
	wordSMULL    = 0x0e20c000 // 0 Q 0 01110 00 1 Rm 1100 00 Rn Rd (8H = 8B x 8B; Q: SMULL2, the high halves)
	wordSADALP   = 0x4e606800 // 0 1 0 01110 01 10000 00110 10 Rn Rd (4S += pairs of 8H)
	wordSCVTF    = 0x4e21d800 // 0 1 0 01110 0 0 10000 11101 10 Rn Rd (4S)
	wordFCVTNS   = 0x4e21a800 // 0 1 0 01110 0 0 10000 11010 10 Rn Rd (4S, to nearest, ties to even)
	wordFRINTN   = 0x4e218800 // 0 1 0 01110 0 0 10000 11000 10 Rn Rd (4S, to nearest, ties to even)
	wordXTN      = 0x0e212800 // 0 Q 0 01110 size 10000 10010 10 Rn Rd (size 00: 8B <- 8H; Q: XTN2)
	wordFDIV     = 0x6e20fc00 // 0 1 1 01110 0 0 1 Rm 111111 Rn Rd (4S)
	bitSize01    = 1 << 22    // size = 01 (4H <- 4S for XTN)
	bitM4        = 1 << 20    // the fifth bit of Rm in the 4B by-element form
)

// arr reports an error unless every operand has its expected
// arrangement (pairs of operand, arrangement).
func arr(mnemonic string, pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		v, want := pairs[i].(Vec), pairs[i+1].(Arrangement)
		if v.Arr != want {
			return fmt.Errorf("%s: operand %s is not %s", mnemonic, v, arrangementNames[want].arm)
		}
	}
	return nil
}

func rm(m V) uint32 { return uint32(m) << shiftRm }
func rn(n V) uint32 { return uint32(n) << shiftRn }
func rd(d V) uint32 { return uint32(d) }

// EncodeSDOT encodes SDOT d.4S, n.16B, m.16B: each int32 lane of d += the
// four products of the lane's signed bytes of n and m.
func EncodeSDOT(m, n, d Vec) (Encoded, error) { return dot("SDOT", wordSDOT, m, n, d) }

// EncodeUDOT encodes UDOT d.4S, n.16B, m.16B (unsigned bytes).
func EncodeUDOT(m, n, d Vec) (Encoded, error) { return dot("UDOT", wordUDOT, m, n, d) }

func dot(mnemonic string, base uint32, m, n, d Vec) (Encoded, error) {
	if err := arr(mnemonic, d, S4, n, B16, m, B16); err != nil {
		return Encoded{}, err
	}
	return Encoded{base | rm(m.Reg) | rn(n.Reg) | rd(d.Reg), fmt.Sprintf("%s %s, %s, %s", mnemonic, d, n, m)}, nil
}

// EncodeSDOTElem encodes SDOT d.4S, n.16B, m.4B[i]: the four bytes of
// lane i of m against each lane's four bytes of n (any of V0..V31).
func EncodeSDOTElem(m ElemB4, n, d Vec) (Encoded, error) {
	return dotElem("SDOT", wordSDOTElem, m, n, d)
}

// EncodeUDOTElem encodes UDOT d.4S, n.16B, m.4B[i] (unsigned bytes).
func EncodeUDOTElem(m ElemB4, n, d Vec) (Encoded, error) {
	return dotElem("UDOT", wordUDOTElem, m, n, d)
}

func dotElem(mnemonic string, base uint32, m ElemB4, n, d Vec) (Encoded, error) {
	if err := arr(mnemonic, d, S4, n, B16); err != nil {
		return Encoded{}, err
	}
	if m.Lane < 0 || m.Lane > 3 || m.Reg > V31 {
		return Encoded{}, fmt.Errorf("%s: element %s out of range", mnemonic, m)
	}
	w := base | uint32(m.Reg&rmLowBitsMask)<<shiftRm | rn(n.Reg) | rd(d.Reg)
	if m.Reg > rmLowBitsMask {
		w |= bitM4
	}
	if m.Lane&1 != 0 {
		w |= bitL
	}
	if m.Lane&2 != 0 {
		w |= bitH
	}
	return Encoded{w, fmt.Sprintf("%s %s, %s, %s", mnemonic, d, n, m)}, nil
}

// EncodeSMULL encodes SMULL d.8H, n.8B, m.8B (the signed products of the
// low halves, widened to 16 bits) or, with 16B sources, SMULL2 (the high
// halves).
func EncodeSMULL(m, n, d Vec) (Encoded, error) {
	mnemonic, w, src := "SMULL", uint32(wordSMULL), B8
	if n.Arr == B16 {
		mnemonic, w, src = "SMULL2", w|bitQ, B16
	}
	if err := arr(mnemonic, d, H8, n, src, m, src); err != nil {
		return Encoded{}, err
	}
	return Encoded{w | rm(m.Reg) | rn(n.Reg) | rd(d.Reg), fmt.Sprintf("%s %s, %s, %s", mnemonic, d, n, m)}, nil
}

// EncodeSADALP encodes SADALP d.4S, n.8H: each int32 lane of d += the sum
// of a pair of adjacent int16 lanes of n.
func EncodeSADALP(n, d Vec) (Encoded, error) { return misc("SADALP", wordSADALP, S4, H8, n, d) }

// EncodeSCVTF encodes SCVTF d.4S, n.4S (int32 to float32, rounded to
// nearest even).
func EncodeSCVTF(n, d Vec) (Encoded, error) { return misc("SCVTF", wordSCVTF, S4, S4, n, d) }

// EncodeFCVTNS encodes FCVTNS d.4S, n.4S (float32 to int32, rounded to
// nearest, ties to even, saturating).
func EncodeFCVTNS(n, d Vec) (Encoded, error) { return misc("FCVTNS", wordFCVTNS, S4, S4, n, d) }

// EncodeFRINTN encodes FRINTN d.4S, n.4S (float32 rounded to an integral
// value, to nearest, ties to even).
func EncodeFRINTN(n, d Vec) (Encoded, error) { return misc("FRINTN", wordFRINTN, S4, S4, n, d) }

// EncodeXTN encodes XTN d.4H, n.4S, XTN2 d.8H, n.4S (into the high half
// of d, keeping the low one) or XTN d.8B, n.8H: each lane truncated to
// half its width.
func EncodeXTN(n, d Vec) (Encoded, error) {
	switch {
	case d.Arr == H4 && n.Arr == S4:
		return misc("XTN", wordXTN|bitSize01, H4, S4, n, d)
	case d.Arr == H8 && n.Arr == S4:
		return misc("XTN2", wordXTN|bitSize01|bitQ, H8, S4, n, d)
	}
	return misc("XTN", wordXTN, B8, H8, n, d)
}

func misc(mnemonic string, base uint32, dArr, nArr Arrangement, n, d Vec) (Encoded, error) {
	if err := arr(mnemonic, d, dArr, n, nArr); err != nil {
		return Encoded{}, err
	}
	return Encoded{base | rn(n.Reg) | rd(d.Reg), fmt.Sprintf("%s %s, %s", mnemonic, d, n)}, nil
}

// EncodeFDIV encodes FDIV d.4S, n.4S, m.4S (lane-wise n / m, correctly
// rounded).
func EncodeFDIV(m, n, d Vec) (Encoded, error) {
	if err := arr("FDIV", d, S4, n, S4, m, S4); err != nil {
		return Encoded{}, err
	}
	return Encoded{wordFDIV | rm(m.Reg) | rn(n.Reg) | rd(d.Reg), fmt.Sprintf("FDIV %s, %s, %s", d, n, m)}, nil
}

// decodeDot disassembles the dot-product instructions, which
// golang.org/x/arch/arm64/arm64asm predates: SDOT and UDOT, vector and by
// element, read field by field from the word as the Arm ARM lays them
// out.
func decodeDot(w uint32) (string, bool) {
	q, u := w>>30&1, w>>29&1
	mnemonic := [2]string{"SDOT", "UDOT"}[u]
	dArr, nArr := [2]string{"2S", "4S"}[q], [2]string{"8B", "16B"}[q]
	d, n := w&31, w>>5&31
	switch {
	case w&0x9fe0fc00 == 0x0e809400: // 0 Q U 01110 10 0 Rm 100101 Rn Rd
		m := w >> 16 & 31
		return fmt.Sprintf("%s V%d.%s, V%d.%s, V%d.%s", mnemonic, d, dArr, n, nArr, m, nArr), true
	case w&0x9fc0f400 == 0x0f80e000: // 0 Q U 01111 10 L M Rm 1110 H 0 Rn Rd
		m := w >> 16 & 31 // M:Rm
		lane := w>>11&1<<1 | w>>21&1
		return fmt.Sprintf("%s V%d.%s, V%d.%s, V%d.4B[%d]", mnemonic, d, dArr, n, nArr, m, lane), true
	}
	return "", false
}
