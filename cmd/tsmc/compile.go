package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
)

// dirFlags collects a repeatable folder flag.
type dirFlags []string

func (d *dirFlags) String() string { return fmt.Sprint(*d) }

func (d *dirFlags) Set(v string) error {
	*d = append(*d, v)
	return nil
}

func runCompile(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compile", stderr)
	out := fs.String("o", "", "output `DIR` (default: a folder named after the model, in the current directory)")
	pkgName := fs.String("pkg", "", "Go package `NAME` (default: derived from the output folder's name)")
	var dataSets dirFlags
	fs.Var(&dataSets, "testdata", "ONNX test data set `DIR` (input_N.pb, output_N.pb) for the generated golden test (repeatable)")
	shapes := addShapeFlag(fs)
	tuned := addTuningFlag(fs)
	if err := parse(fs, args, 1, "MODEL.onnx"); err != nil {
		return err
	}
	planner, err := tuned()
	if err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Sprintf("one model at a time, got %d arguments", fs.NArg())}
	}
	path := fs.Arg(0)
	dir := *out
	if dir == "" {
		dir = tsmc.ModelName(path)
	}
	name := *pkgName
	if name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		name = codegen.PackageName(filepath.Base(abs))
	}
	pkg, err := tsmc.Compile(path, tsmc.CompileOptions{Shapes: shapes, Package: name, DataSets: dataSets, Tuning: planner})
	if err != nil {
		return err
	}
	if err := pkg.Write(dir); err != nil {
		return err
	}
	m := pkg.Memory
	fmt.Fprintf(stdout, "package %s in %s: %d kernel calls, weights %s, arena %s for %s of activations (%d tensors)\n",
		pkg.Name, dir, pkg.Steps, byteSize(pkg.WeightBytes), byteSize(m.ArenaBytes), byteSize(m.ActivationBytes), m.Buffers)
	return nil
}
