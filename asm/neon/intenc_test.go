package neon

import "testing"

// TestIntEncodingsByHand pins the integer, conversion and dot-product
// encodings to the words llvm-mc prints for the same instructions
// (llvm-mc -triple=aarch64 -mattr=+dotprod -show-encoding), registers
// and lanes at their extremes. For SDOT and UDOT, which arm64asm cannot
// decode, this is what keeps decodeDot and the encoder honest: each is
// checked against llvm's words, not against the other.
func TestIntEncodingsByHand(t *testing.T) {
	must := func(e Encoded, err error) Encoded {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		e    Encoded
		word uint32
		text string
	}{
		{must(EncodeSDOTElem(V2.B4(3), V1.B16(), V0.S4())), 0x4fa2e820, "SDOT V0.4S, V1.16B, V2.4B[3]"},
		{must(EncodeSDOTElem(V16.B4(1), V2.B16(), V1.S4())), 0x4fb0e041, "SDOT V1.4S, V2.16B, V16.4B[1]"},
		{must(EncodeSDOTElem(V31.B4(2), V5.B16(), V4.S4())), 0x4f9fe8a4, "SDOT V4.4S, V5.16B, V31.4B[2]"},
		{must(EncodeUDOTElem(V31.B4(0), V9.B16(), V8.S4())), 0x6f9fe128, "UDOT V8.4S, V9.16B, V31.4B[0]"},
		{must(EncodeSDOT(V29.B16(), V30.B16(), V31.S4())), 0x4e9d97df, "SDOT V31.4S, V30.16B, V29.16B"},
		{must(EncodeSDOT(V3.B16(), V2.B16(), V1.S4())), 0x4e839441, "SDOT V1.4S, V2.16B, V3.16B"},
		{must(EncodeUDOT(V3.B16(), V2.B16(), V1.S4())), 0x6e839441, "UDOT V1.4S, V2.16B, V3.16B"},
		{must(EncodeSMULL(V2.B8(), V1.B8(), V0.H8())), 0x0e22c020, "SMULL V0.8H, V1.8B, V2.8B"},
		{must(EncodeSMULL(V29.B16(), V30.B16(), V31.H8())), 0x4e3dc3df, "SMULL2 V31.8H, V30.16B, V29.16B"},
		{must(EncodeSADALP(V4.H8(), V3.S4())), 0x4e606883, "SADALP V3.4S, V4.8H"},
		{must(EncodeSCVTF(V6.S4(), V5.S4())), 0x4e21d8c5, "SCVTF V5.4S, V6.4S"},
		{must(EncodeFCVTNS(V8.S4(), V7.S4())), 0x4e21a907, "FCVTNS V7.4S, V8.4S"},
		{must(EncodeFRINTN(V10.S4(), V9.S4())), 0x4e218949, "FRINTN V9.4S, V10.4S"},
		{must(EncodeXTN(V12.S4(), V11.H4())), 0x0e61298b, "XTN V11.4H, V12.4S"},
		{must(EncodeXTN(V14.S4(), V13.H8())), 0x4e6129cd, "XTN2 V13.8H, V14.4S"},
		{must(EncodeXTN(V16.H8(), V15.B8())), 0x0e212a0f, "XTN V15.8B, V16.8H"},
		{must(EncodeFDIV(V19.S4(), V18.S4(), V17.S4())), 0x6e33fe51, "FDIV V17.4S, V18.4S, V19.4S"},
	} {
		if c.e.Word != c.word || c.e.Text != c.text {
			t.Errorf("emitted %08x %q, llvm-mc: %08x %q", c.e.Word, c.e.Text, c.word, c.text)
		}
		checkEncoded(t, c.e)
	}
	// decodeDot reads llvm's words on its own
	for w, text := range map[uint32]string{
		0x4fa2e820: "SDOT V0.4S, V1.16B, V2.4B[3]",
		0x6f9fe128: "UDOT V8.4S, V9.16B, V31.4B[0]",
		0x4e9d97df: "SDOT V31.4S, V30.16B, V29.16B",
	} {
		if got, ok := decodeDot(w); !ok || got != text {
			t.Errorf("decodeDot(%08x) = %q, %v; want %q", w, got, ok, text)
		}
	}
	for _, w := range []uint32{0x0e22c020, 0x4e606883, 0x4e21d8c5, 0} {
		if text, ok := decodeDot(w); ok {
			t.Errorf("decodeDot(%08x) = %q, not a dot product", w, text)
		}
	}
}

// TestIntEncodingsExhaustive decodes every register combination (and
// lane) of the new encodings.
func TestIntEncodingsExhaustive(t *testing.T) {
	n := 0
	check := func(e Encoded, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		checkEncoded(t, e)
		n++
	}
	for d := V0; d <= V31; d++ {
		for r := V0; r <= V31; r++ {
			o := (r + 13) % 32
			for lane := range 4 {
				check(EncodeSDOTElem(r.B4(lane), o.B16(), d.S4()))
				check(EncodeUDOTElem(r.B4(lane), o.B16(), d.S4()))
			}
			check(EncodeSDOT(r.B16(), o.B16(), d.S4()))
			check(EncodeUDOT(r.B16(), o.B16(), d.S4()))
			check(EncodeSMULL(r.B8(), o.B8(), d.H8()))
			check(EncodeSMULL(r.B16(), o.B16(), d.H8()))
			check(EncodeFDIV(r.S4(), o.S4(), d.S4()))
			check(EncodeSADALP(r.H8(), d.S4()))
			check(EncodeSCVTF(r.S4(), d.S4()))
			check(EncodeFCVTNS(r.S4(), d.S4()))
			check(EncodeFRINTN(r.S4(), d.S4()))
			check(EncodeXTN(r.S4(), d.H4()))
			check(EncodeXTN(r.S4(), d.H8()))
			check(EncodeXTN(r.H8(), d.B8()))
		}
	}
	t.Logf("%d encodings decoded", n)
}

func TestIntEncodingErrors(t *testing.T) {
	for name, err := range map[string]error{
		"SDOT of floats":   func() error { _, err := EncodeSDOT(V1.S4(), V2.S4(), V3.S4()); return err }(),
		"SDOT lane 4":      func() error { _, err := EncodeSDOTElem(V1.B4(4), V2.B16(), V3.S4()); return err }(),
		"SMULL mixed":      func() error { _, err := EncodeSMULL(V1.B16(), V2.B8(), V3.H8()); return err }(),
		"SADALP 16B":       func() error { _, err := EncodeSADALP(V1.B16(), V3.S4()); return err }(),
		"XTN 4S to 8B":     func() error { _, err := EncodeXTN(V1.S4(), V3.B8()); return err }(),
		"FDIV of 2S":       func() error { _, err := EncodeFDIV(V1.S2(), V2.S2(), V3.S2()); return err }(),
		"wrong SDOT lane":  (Encoded{0x4fa2e820, "SDOT V0.4S, V1.16B, V2.4B[2]"}).Verify(),
		"wrong SDOT kind":  (Encoded{0x4fa2e820, "UDOT V0.4S, V1.16B, V2.4B[3]"}).Verify(),
		"wrong SDOT width": (Encoded{0x0fa2e820, "SDOT V0.4S, V1.16B, V2.4B[3]"}).Verify(),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
