// Command neongen generates the arm64 NEON kernels of package runtime
// with the emitter of package neon: the GEMM micro-kernel (12x8), the 3x3
// depthwise row kernels (stride 1 and 2), the int8 GEMM kernels (SDOT
// 12x8 and its short ones, SMULL 4x8), packing kernel and depthwise plane
// kernel (SDOT), their Go stubs,
// and kernels_arm64.go, which registers them with the runtime's CPU
// dispatch. The argument blocks' field offsets are read from the
// runtime's own declarations of Tile, DWRow, QTile, QPack and QDWPlane.
//
// Run it through go generate (runtime/generate_neon.go), or
// scripts/regenerate.sh to recreate every generated file:
//
//	go generate ./runtime/
//
// Output is deterministic: CI deletes and regenerates every generated file
// and fails on any difference.
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"

	"github.com/tsmc-go/tsmc/asm/internal/genfile"
	"github.com/tsmc-go/tsmc/asm/neon"
)

// generatedBy names the command that regenerates every file, from the
// repository's root, in its "Code generated" header (go generate
// ./runtime/ runs it).
const generatedBy = "command: cd asm && go run ./cmd/neongen -out ../runtime"

// constraint excludes every generated file from the purego build.
const constraint = "arm64 && !purego"

// isa is the instruction set of every kernel, as their names end.
const isa = "neon"

func main() {
	log.SetFlags(0)
	log.SetPrefix("neongen: ")
	out := flag.String("out", "../runtime", "directory of package runtime to write into")
	flag.Parse()
	files, err := generate(*out)
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range sortedKeys(files) {
		if err := genfile.Write(filepath.Join(*out, name), files[name]); err != nil {
			log.Fatal(err)
		}
	}
}

// generate returns the generated files by name, reading the argument
// block layouts from package runtime in dir.
func generate(dir string) (map[string][]byte, error) {
	blocks, err := readArgBlocks(dir, "Tile", "DWRow", "QTile", "QPack", "QDWPlane")
	if err != nil {
		return nil, err
	}
	tile, dwRow, qtile, qpack := blocks["Tile"], blocks["DWRow"], blocks["QTile"], blocks["QPack"]
	gemm := &neon.File{Package: "runtime", Constraint: constraint, GeneratedBy: generatedBy,
		Generator: []string{genfile.Source(gemmKernel.emit)}}
	for _, k := range gemmKernels {
		f, err := k.emit(tile)
		if err != nil {
			return nil, err
		}
		gemm.Funcs = append(gemm.Funcs, f)
	}
	dw := &neon.File{Package: "runtime", Constraint: constraint, GeneratedBy: generatedBy,
		Generator: []string{genfile.Source(dwRowKernel.emit)}}
	for _, k := range dwRowKernels {
		f, err := k.emit(dwRow)
		if err != nil {
			return nil, err
		}
		dw.Funcs = append(dw.Funcs, f)
	}
	q := &neon.File{Package: "runtime", Constraint: constraint, GeneratedBy: generatedBy,
		Generator: []string{genfile.Source(qgemmKernel.emit)}}
	for _, k := range qgemmKernels {
		f, err := k.emit(qtile)
		if err != nil {
			return nil, err
		}
		q.Funcs = append(q.Funcs, f)
	}
	f, err := emitQPack(qpack)
	if err != nil {
		return nil, err
	}
	q.Funcs = append(q.Funcs, f)
	if f, err = emitQDWPlane(blocks["QDWPlane"]); err != nil {
		return nil, err
	}
	q.Funcs = append(q.Funcs, f)
	files := map[string][]byte{}
	for name, file := range map[string]*neon.File{"gemm": gemm, "depthwise": dw, "qgemm": q} {
		asm, err := file.Asm()
		if err != nil {
			return nil, err
		}
		stubs, err := file.Stubs()
		if err != nil {
			return nil, err
		}
		files[name+"_arm64.s"] = asm
		files[name+"_stubs_arm64.go"] = stubs
	}
	reg, err := registry(tile, dwRow, qtile, qpack, blocks["QDWPlane"])
	if err != nil {
		return nil, fmt.Errorf("registry: %v", err)
	}
	files["kernels_arm64.go"] = reg
	return files, nil
}
