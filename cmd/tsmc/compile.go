package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
)

func compileFlags(fs *flag.FlagSet) verb {
	out := fs.String("o", "", "output `DIR` (default: a folder named after the model, in the working directory)")
	pkgName := fs.String("pkg", "", "Go package `NAME` (default: derived from the output folder's name)")
	force := fs.Bool("force", false, "overwrite, and remove when stale, files of the output folder that tsmc did not write or that changed since")
	var dataSets dirFlags
	fs.Var(&dataSets, "testdata", "ONNX test data set `DIR` (input_N.pb, output_N.pb) for the generated golden test (repeatable)")
	shapes := addShapeFlag(fs)
	tuned := addTuningFlag(fs)
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		path := args[0]
		planner, err := tuned()
		if err != nil {
			return err
		}
		dir := *out
		if dir == "" {
			name := tsmc.ModelName(path)
			if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
				return usageError{fmt.Sprintf("cannot name a package folder after the model file %s: give one with -o", path)}
			}
			dir = name
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		name := *pkgName
		if name == "" {
			name = codegen.PackageName(filepath.Base(abs))
		}
		warn := func(msg string) { fmt.Fprintf(stderr, "tsmc compile: warning: %s\n", msg) }
		pkg, err := tsmc.CompileContext(ctx, path, tsmc.CompileOptions{Shapes: shapes, Package: name, DataSets: dataSets, Warn: warn, Tuning: planner})
		if err != nil {
			return err
		}
		if err := inputsInTheWay(abs, pkg, path, dataSets); err != nil {
			return err
		}
		if err := pkg.WriteContext(ctx, abs, codegen.WriteOptions{Force: *force}); err != nil {
			return err
		}
		m := pkg.Memory
		fmt.Fprintf(stdout, "package %s in %s: %d kernel calls, weights %s, arena %s for %s of activations (%d tensors)\n",
			pkg.Name, dir, pkg.Steps, byteSize(pkg.WeightBytes), byteSize(m.ArenaBytes), byteSize(m.ActivationBytes), m.Buffers)
		return nil
	}
}

// inputsInTheWay refuses, -force or not, a write that would replace the
// model file or a file of a data set it reads.
func inputsInTheWay(dir string, pkg *codegen.Package, model string, dataSets []string) error {
	inputs := []string{model}
	for _, ds := range dataSets {
		entries, err := os.ReadDir(ds)
		if err != nil {
			return err
		}
		for _, e := range entries {
			inputs = append(inputs, filepath.Join(ds, e.Name()))
		}
	}
	var infos []os.FileInfo
	for _, in := range inputs {
		if info, err := os.Stat(in); err == nil {
			infos = append(infos, info)
		}
	}
	names := []string{codegen.ManifestName}
	for name := range pkg.Files {
		names = append(names, name)
	}
	for _, name := range names {
		target := filepath.Join(dir, filepath.FromSlash(name))
		info, err := os.Stat(target)
		if err != nil {
			continue
		}
		for i, in := range infos {
			if os.SameFile(info, in) {
				return fmt.Errorf("writing the package into %s would replace %s, which it is compiled from: choose another -o", dir, inputs[i])
			}
		}
	}
	return nil
}
