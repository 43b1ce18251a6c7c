package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/tsmc-go/tsmc/asm/neon"
)

const runtimeDir = "../../../runtime"

// TestGenerate checks the generated files: deterministic, every WORD's
// comment the disassembly of its word (checked again here on the printed
// text), and the same as the files committed in package runtime.
func TestGenerate(t *testing.T) {
	files, err := generate(runtimeDir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := generate(runtimeDir)
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`WORD +\$0x([0-9a-f]{8}) // (.*)`)
	words := 0
	for name, b := range files {
		if !bytes.Equal(b, again[name]) {
			t.Errorf("%s differs between two runs", name)
		}
		for _, m := range word.FindAllSubmatch(b, -1) {
			w, _ := strconv.ParseUint(string(m[1]), 16, 32)
			if err := (neon.Encoded{Word: uint32(w), Text: string(m[2])}).Verify(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			words++
		}
		committed, err := os.ReadFile(filepath.Join(runtimeDir, name))
		if err != nil || !bytes.Equal(committed, b) {
			t.Errorf("runtime/%s is not what the generator writes (go generate ./runtime/)", name)
		}
	}
	if words < 100 {
		t.Errorf("only %d WORDs in the kernels", words)
	}
	reg := string(files["kernels_arm64.go"])
	for _, want := range []string{`"f32_gemm_minmax_12x8__neon"`, `dwconvF32Minmax3x3s1NEON\(a\)`, `dwconvF32Minmax3x3s2NEON\(a\)`, `"BOff": +200,`, `"Hi": +144,`,
		`"qu8_qc8w_gemm_minmax_fp32_12x8c4__neondot"`, `"qu8_qc8w_gemm_minmax_fp32_4x8c4__neon"`, `packQU8x4c4NEON\b`, `"F": +208,`} {
		if !regexp.MustCompile(want).MatchString(reg) {
			t.Errorf("kernels_arm64.go lacks %s", want)
		}
	}
}

// TestGemmKernelFits rejects tiles the register file cannot hold.
func TestGemmKernelFits(t *testing.T) {
	blocks, err := readArgBlocks(runtimeDir, "Tile")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []gemmKernel{{mr: 8, nr: 8}, {mr: 4, nr: 16}, {mr: 12, nr: 8}} {
		if _, err := k.emit(blocks["Tile"]); err != nil {
			t.Errorf("%s: %v", k.Name(), err)
		}
	}
	for _, k := range []gemmKernel{{mr: 16, nr: 8}, {mr: 12, nr: 12}, {mr: 6, nr: 8}, {mr: 4, nr: 20}} {
		if _, err := k.emit(blocks["Tile"]); err == nil {
			t.Errorf("%s emitted", k.Name())
		}
	}
}
