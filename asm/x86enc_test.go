package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mmcloughlin/avo/reg"
)

// TestVPDPBUSDByHand pins encodings to those llvm-mc prints for the same
// instructions (llvm-mc -triple=x86_64 -mattr=+avx512vnni,+avxvnni
// -show-encoding, Intel syntax "vpdpbusd dst, u, s"), independently of the
// decoder, register fields at their extremes.
func TestVPDPBUSDByHand(t *testing.T) {
	for _, c := range []struct {
		s, u, dst reg.VecPhysical
		code      []byte
	}{
		{reg.Z2, reg.Z1, reg.Z0, []byte{0x62, 0xf2, 0x75, 0x48, 0x50, 0xc2}},
		{reg.Z8, reg.Z16, reg.Z31, []byte{0x62, 0x42, 0x7d, 0x40, 0x50, 0xf8}},
		{reg.Z17, reg.Z31, reg.Z7, []byte{0x62, 0xb2, 0x05, 0x40, 0x50, 0xf9}},
		{reg.Z30, reg.Z9, reg.Z24, []byte{0x62, 0x02, 0x35, 0x48, 0x50, 0xc6}},
		{reg.Y9, reg.Y14, reg.Y3, []byte{0xc4, 0xc2, 0x0d, 0x50, 0xd9}},
		{reg.Y15, reg.Y0, reg.Y15, []byte{0xc4, 0x42, 0x7d, 0x50, 0xff}},
		{reg.Y1, reg.Y7, reg.Y8, []byte{0xc4, 0x62, 0x45, 0x50, 0xc1}},
	} {
		e, err := vpdpbusd(c.s, c.u, c.dst)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.code) != string(c.code) {
			t.Errorf("%s: % x, want % x", e.text, e.code, c.code)
		}
		if err := e.verify(); err != nil {
			t.Error(err)
		}
	}
}

// TestVPDPBUSDExhaustive decodes every register combination of both
// encodings.
func TestVPDPBUSDExhaustive(t *testing.T) {
	n := 0
	for _, regs := range [][]reg.VecPhysical{avx512.regs, avx2.regs} {
		for _, d := range regs {
			for _, u := range regs {
				for _, s := range regs {
					e, err := vpdpbusd(s, u, d)
					if err == nil {
						err = e.verify()
					}
					if err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d encodings decoded", n)
}

func TestEncodedCatchesWrongCode(t *testing.T) {
	e, err := vpdpbusd(reg.Z2, reg.Z1, reg.Z0)
	if err != nil {
		t.Fatal(err)
	}
	bad := []encoded{
		{append([]byte(nil), e.code...), "VPDPBUSD Z1, Z2, Z0", classEVEX}, // operands swapped
		{e.code[:5], e.text, classEVEX},                                    // truncated
		{e.code, e.text, classVEX3},                                        // wrong encoding
	}
	flipped := append([]byte(nil), e.code...)
	flipped[5] ^= 1 // another register
	bad = append(bad, encoded{flipped, e.text, classEVEX})
	for _, b := range bad {
		if b.verify() == nil {
			t.Errorf("% x verified as %q", b.code, b.text)
		}
	}
	if _, err := vpdpbusd(reg.Y1, reg.Y2, reg.Z3); err == nil {
		t.Error("mixed sizes encoded")
	}
	if _, err := vpdpbusd(reg.X1, reg.X2, reg.X3); err == nil {
		t.Error("XMM registers encoded")
	}
}

// TestEncodedInGeneratedFiles decodes every encoded instruction of the
// committed assembly (runtime/*_amd64.s): the bytes of the LONG, WORD and
// BYTE lines after each "// encoded:" comment must disassemble to it.
func TestEncodedInGeneratedFiles(t *testing.T) {
	files, err := filepath.Glob("../runtime/*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly in ../runtime: %v", err)
	}
	data := regexp.MustCompile(`^\s*(LONG|WORD|BYTE)\s+\$0x([0-9a-f]+)$`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			_, text, ok := strings.Cut(strings.TrimSpace(l), "// "+encodedPrefix)
			if !ok {
				continue
			}
			var code []byte
			for _, d := range lines[i+1:] {
				m := data.FindStringSubmatch(d)
				if m == nil {
					break
				}
				v, _ := strconv.ParseUint(m[2], 16, 32)
				size := map[string]int{"LONG": 4, "WORD": 2, "BYTE": 1}[m[1]]
				for j := range size {
					code = append(code, byte(v>>(8*j)))
				}
			}
			class := classVEX3
			if len(code) > 0 && code[0] == byte(classEVEX) {
				class = classEVEX
			}
			if len(code) == 0 {
				t.Errorf("%s:%d: %s has no code", f, i+1, text)
			} else if err := (encoded{code, text, class}).verify(); err != nil {
				t.Errorf("%s:%d: %v", f, i+1, err)
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d encoded instructions in the generated files", n)
	}
	t.Logf("%d encoded instructions decoded", n)
}
