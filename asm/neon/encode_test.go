package neon

import "testing"

// checkEncoded decodes e.Word and compares the disassembly with e.Text.
func checkEncoded(t *testing.T, e Encoded) {
	t.Helper()
	if err := e.Verify(); err != nil {
		t.Error(err)
	}
}

// TestEncodingsByHand pins encodings to instructions written out in ARM
// syntax (independent of the emitter's own printing), the register fields
// at their extremes.
func TestEncodingsByHand(t *testing.T) {
	must := func(e Encoded, err error) Encoded {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		e    Encoded
		want string
	}{
		{must(EncodeFADD(V3.S4(), V8.S4(), V8.S4())), "FADD V8.4S, V8.4S, V3.4S"},
		{must(EncodeFADD(V31.S2(), V0.S2(), V17.S2())), "FADD V17.2S, V0.2S, V31.2S"},
		{must(EncodeFADDP(V2.S4(), V1.S4(), V0.S4())), "FADDP V0.4S, V1.4S, V2.4S"},
		{must(EncodeFMAX(V6.S4(), V31.S4(), V31.S4())), "FMAX V31.4S, V31.4S, V6.4S"},
		{must(EncodeFMIN(V7.S4(), V9.S4(), V10.S4())), "FMIN V10.4S, V9.4S, V7.4S"},
		{must(EncodeFMUL(V1.S4(), V2.S4(), V3.S4())), "FMUL V3.4S, V2.4S, V1.4S"},
		{must(EncodeFMLAElem(V0.S(3), V3.S4(), V8.S4())), "FMLA V8.4S, V3.4S, V0.S[3]"},
		{must(EncodeFMLAElem(V31.S(2), V16.S4(), V1.S4())), "FMLA V1.4S, V16.4S, V31.S[2]"},
		{must(EncodeFMLAElem(V17.S(1), V4.S2(), V29.S2())), "FMLA V29.2S, V4.2S, V17.S[1]"},
		{must(EncodeFMULElem(V0.S(0), V3.S4(), V1.S4())), "FMUL V1.4S, V3.4S, V0.S[0]"},
		{must(EncodeFMULElem(V30.S(3), V31.S4(), V0.S4())), "FMUL V0.4S, V31.4S, V30.S[3]"},
	} {
		if c.e.Text != c.want {
			t.Errorf("emitted as %q, want %q", c.e.Text, c.want)
		}
		checkEncoded(t, c.e)
	}
}

// TestEncodingsExhaustive decodes every register combination (and every
// lane) of every encoded instruction.
func TestEncodingsExhaustive(t *testing.T) {
	type enc3 func(m, n, d Vec) (Encoded, error)
	type encElem func(m Elem, n, d Vec) (Encoded, error)
	n := 0
	for _, arr := range []Arrangement{S4, S2} {
		for d := V0; d <= V31; d++ {
			for r := V0; r <= V31; r++ {
				for _, enc := range []enc3{EncodeFADD, EncodeFADDP, EncodeFMAX, EncodeFMIN, EncodeFMUL} {
					// distinct n and m, each register in each field
					e, err := enc(Vec{r, arr}, Vec{(r + 7) % 32, arr}, Vec{d, arr})
					if err != nil {
						t.Fatal(err)
					}
					checkEncoded(t, e)
					n++
				}
				for _, enc := range []encElem{EncodeFMLAElem, EncodeFMULElem} {
					for lane := range 4 {
						e, err := enc(r.S(lane), Vec{(r + 11) % 32, arr}, Vec{d, arr})
						if err != nil {
							t.Fatal(err)
						}
						checkEncoded(t, e)
						n++
					}
				}
			}
		}
	}
	t.Logf("%d encodings decoded", n)
}

func TestVerifyCatchesWrongWords(t *testing.T) {
	e, err := EncodeFADD(V1.S4(), V2.S4(), V3.S4())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Encoded{
		{e.Word ^ 1, e.Text},                 // another destination
		{e.Word, "FADD V3.4S, V1.4S, V2.4S"}, // operands swapped
		{0, "FADD V3.4S, V2.4S, V1.4S"},      // not an instruction
	} {
		if bad.Verify() == nil {
			t.Errorf("%08x verified as %q", bad.Word, bad.Text)
		}
	}
}

func TestEncodingErrors(t *testing.T) {
	for name, err := range map[string]error{
		"mixed arrangements": func() error { _, err := EncodeFADD(V1.S4(), V2.S2(), V3.S4()); return err }(),
		"byte arrangement":   func() error { _, err := EncodeFMAX(V1.B16(), V2.B16(), V3.B16()); return err }(),
		"lane 4":             func() error { _, err := EncodeFMLAElem(V1.S(4), V2.S4(), V3.S4()); return err }(),
		"lane -1":            func() error { _, err := EncodeFMULElem(V1.S(-1), V2.S4(), V3.S4()); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
