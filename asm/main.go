// Command asm generates the amd64 assembly kernels of package runtime with
// avo: the GEMM micro-kernels (AVX2+FMA 6x16, AVX-512 12x32, and the
// AVX-512 transposed-C ones), the 3x3 depthwise row and plane kernels
// (stride 1 and 2, both ISAs) and small-plane kernels (flat stride 1, both
// ISAs; two-row stride 2, AVX-512), the AVX-512 im2col packing kernels,
// Winograd F(2x2,3x3) transforms and 3x3 stride-2 max-pool row, the clock
// and FMA throughput probes the benchmarks use, and kernels_amd64.go, the
// table that registers them with the runtime's CPU dispatch.
//
// It is a module of its own so that avo stays out of the runtime's import
// graph. Run it through go generate (runtime/gen_amd64.go):
//
//	go generate ./runtime/
//
// Output is deterministic: CI regenerates and fails on any difference.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// generatedBy names the generator in the "Code generated" header of every
// file (a fixed string, so the output does not depend on how it was run).
const generatedBy = "tsmc/asm (go generate ./runtime/)"

// constraint excludes every generated file from the purego build.
const (
	constraint    = "amd64 && !purego"
	avoConstraint = "amd64,!purego" // the same in the +build syntax avo parses
)

// asmFile is one generated assembly file with its Go stubs.
type asmFile struct {
	name  string // base name: <name>_amd64.s and <name>_stubs_amd64.go
	build func(g *gen)
}

var asmFiles = []asmFile{
	{"gemm", buildGemm},
	{"depthwise", buildDepthwise},
	{"dwsmall", buildDWSmall},
	{"pack", buildPack},
	{"winograd", buildWinograd},
	{"clock", buildClock},
	{"maxpool", buildMaxPool},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("asm: ")
	// avo's build package registers its own flags on flag.CommandLine.
	fs := flag.NewFlagSet("asm", flag.ExitOnError)
	out := fs.String("out", "../runtime", "directory of package runtime to write into")
	fs.Parse(os.Args[1:])
	for _, f := range asmFiles {
		if err := generate(*out, f); err != nil {
			log.Fatalf("%s: %v", f.name, err)
		}
	}
	src, err := registry()
	if err != nil {
		log.Fatalf("registry: %v", err)
	}
	if err := write(filepath.Join(*out, "kernels_amd64.go"), src); err != nil {
		log.Fatal(err)
	}
}

// generate builds one file's functions and writes the assembly and stubs.
func generate(dir string, f asmFile) error {
	ctx := build.NewContext()
	ctx.ConstraintExpr(avoConstraint)
	f.build(&gen{Context: ctx})
	file, err := ctx.Result()
	if err != nil {
		return err
	}
	if err := pass.Compile.Execute(file); err != nil {
		return err
	}
	cfg := printer.Config{Name: generatedBy, Pkg: "runtime"}
	for _, p := range []struct {
		path string
		pr   printer.Printer
	}{
		{filepath.Join(dir, f.name+"_amd64.s"), printer.NewGoAsm(cfg)},
		{filepath.Join(dir, f.name+"_stubs_amd64.go"), printer.NewStubs(cfg)},
	} {
		b, err := p.pr.Print(file)
		if err != nil {
			return err
		}
		if err := write(p.path, b); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, b []byte) error {
	if filepath.Ext(path) == ".go" {
		var err error
		if b, err = format.Source(b); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil // unchanged: keep the file's timestamp
	}
	return os.WriteFile(path, b, 0o644)
}

// gen wraps an avo build context with the helpers the kernels share.
type gen struct {
	*build.Context
	labels int // labels made in the current function
}

// function starts a NOSPLIT assembly function taking one pointer to the
// argument block a, with doc lines for its Go stub.
func (g *gen) function(name string, a *argStruct, doc ...string) {
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.Pragma("noescape")
	g.Doc(doc...)
	g.Signature(a.signature())
	g.labels = 0
}

// framedFunction starts an assembly function with a local frame of
// frame bytes taking one pointer to a, with doc lines for its Go stub. It
// is not NOSPLIT: a frame beyond the nosplit limit makes the function
// check its stack like a Go function.
func (g *gen) framedFunction(name string, a *argStruct, frame int, doc ...string) {
	g.Function(name)
	g.Pragma("noescape")
	g.Doc(doc...)
	g.Signature(a.signature())
	g.labels = 0
	g.AllocLocal(frame)
}

// ifNotNil emits body twice, specialised: body(true) runs when the
// pointer in r is not nil, body(false) when it is (an optional operand
// such as a residual).
func (g *gen) ifNotNil(r reg.Register, body func(set bool)) {
	absent, done := g.label("nil"), g.label("nildone")
	g.TESTQ(r, r)
	g.JZ(operand.LabelRef(absent))
	body(true)
	g.JMP(operand.LabelRef(done))
	g.Label(absent)
	body(false)
	g.Label(done)
}

// zero clears vector register r (VXORPS on a ZMM register needs
// AVX512DQ, VPXORD only AVX512F).
func (g *gen) zero(r reg.VecPhysical) {
	if r.Size() == 64 {
		g.VPXORD(r, r, r)
		return
	}
	g.VXORPS(r, r, r)
}

// minQ sets r to min(r, limit), signed.
func (g *gen) minQ(r, limit operand.Op) {
	g.CMPQ(r, limit)
	g.CMOVQGT(limit, r)
}

// maxQ sets r to max(r, floor), signed.
func (g *gen) maxQ(r, floor operand.Op) {
	g.CMPQ(r, floor)
	g.CMOVQLT(floor, r)
}

// clampQ sets r to min(max(r, lo), hi).
func (g *gen) clampQ(r, lo, hi operand.Op) {
	g.maxQ(r, lo)
	g.minQ(r, hi)
}

// label returns a new label name unique in the current function.
func (g *gen) label(what string) string {
	g.labels++
	return fmt.Sprintf("%s%d", what, g.labels)
}
