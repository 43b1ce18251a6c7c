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
// instructions (llvm-mc -triple=x86_64 -mattr=+avx512vnni,+avx512vl,+avxvnni
// -show-encoding, Intel syntax "vpdpbusd dst, u, s", "{evex} vpdpbusd" for
// the EVEX form of YMM), independently of the decoder, register fields at
// their extremes.
func TestVPDPBUSDByHand(t *testing.T) {
	for _, c := range []struct {
		s, u, dst reg.VecPhysical
		code      []byte
		evex      bool // vpdpbusdEVEX ("{evex} vpdpbusd" for YMM)
	}{
		{reg.Z2, reg.Z1, reg.Z0, []byte{0x62, 0xf2, 0x75, 0x48, 0x50, 0xc2}, false},
		{reg.Z8, reg.Z16, reg.Z31, []byte{0x62, 0x42, 0x7d, 0x40, 0x50, 0xf8}, false},
		{reg.Z17, reg.Z31, reg.Z7, []byte{0x62, 0xb2, 0x05, 0x40, 0x50, 0xf9}, false},
		{reg.Z30, reg.Z9, reg.Z24, []byte{0x62, 0x02, 0x35, 0x48, 0x50, 0xc6}, false},
		{reg.Y9, reg.Y14, reg.Y3, []byte{0xc4, 0xc2, 0x0d, 0x50, 0xd9}, false},
		{reg.Y15, reg.Y0, reg.Y15, []byte{0xc4, 0x42, 0x7d, 0x50, 0xff}, false},
		{reg.Y1, reg.Y7, reg.Y8, []byte{0xc4, 0x62, 0x45, 0x50, 0xc1}, false},
		{reg.Y9, reg.Y14, reg.Y3, []byte{0x62, 0xd2, 0x0d, 0x28, 0x50, 0xd9}, true},
		{reg.Y15, reg.Y0, reg.Y15, []byte{0x62, 0x52, 0x7d, 0x28, 0x50, 0xff}, true},
		{reg.Y1, reg.Y7, reg.Y8, []byte{0x62, 0x72, 0x45, 0x28, 0x50, 0xc1}, true},
		{reg.Z2, reg.Z1, reg.Z0, []byte{0x62, 0xf2, 0x75, 0x48, 0x50, 0xc2}, true},
	} {
		encode := vpdpbusd
		if c.evex {
			encode = vpdpbusdEVEX
		}
		e, err := encode(c.s, c.u, c.dst)
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

// TestVPDPBUSDExhaustive decodes every register combination of each
// encoding: EVEX on ZMM, VEX and EVEX on YMM.
func TestVPDPBUSDExhaustive(t *testing.T) {
	n := 0
	for _, c := range []struct {
		regs   []reg.VecPhysical
		encode func(s, u, dst reg.VecPhysical) (encoded, error)
	}{{avx512.regs, vpdpbusd}, {avx2.regs, vpdpbusd}, {avx2.regs, vpdpbusdEVEX}} {
		regs := c.regs
		for _, d := range regs {
			for _, u := range regs {
				for _, s := range regs {
					e, err := c.encode(s, u, d)
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

// TestEVEXTwinsMatchAVXVNNI checks that each AVX-VNNI kernel's twin in
// the committed assembly is the same code but for the bytes of its
// encoded instructions: what the twin's tests show of it holds for the
// AVX-VNNI kernel, whose VEX encodings the tests above pin.
func TestEVEXTwinsMatchAVXVNNI(t *testing.T) {
	b, err := os.ReadFile("../runtime/qgemm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	data := regexp.MustCompile(`^\s*(LONG|WORD|BYTE)\s+\$0x[0-9a-f]+$`)
	body := func(name string) string {
		_, rest, ok := strings.Cut(string(b), "TEXT ·"+name+"(SB)")
		if !ok {
			t.Fatalf("no %s in qgemm_amd64.s", name)
		}
		rest, _, _ = strings.Cut(rest, "\n// func ") // the next function's header
		var keep []string
		for _, l := range strings.Split(rest, "\n") {
			if !data.MatchString(l) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	twins := append(qgemmTwins(qgemmKernels), qgemmTwins(qfgemmKernels)...)
	if len(twins) == 0 {
		t.Fatal("no AVX-VNNI kernels")
	}
	for _, tw := range twins {
		if a, e := body(tw.Orig.GoName()), body(tw.Twin.GoName()); a != e {
			t.Errorf("%s and its twin %s differ beyond encodings", tw.Orig.GoName(), tw.Twin.GoName())
		}
	}
}
