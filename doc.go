// Package tsmc is the compiler's Go API. It compiles an ONNX export of a
// TSM video network into a standalone Go package, through stages that are
// packages of their own:
//
//   - reader and IR: package onnx decodes the model file into the IR
//     (package ir), a graph of nodes and typed values. Load reads a model
//     and Prepare binds its input shapes (symbolic dimensions must all be
//     bound), infers every shape, the reference interpreter (package
//     interp) following shape arithmetic, and verifies the graph.
//   - passes: Optimize reads and prepares a model and runs passes.Pipeline,
//     a list of passes (folding constants, recognising the temporal shifts
//     and fusing them into the convolutions, and so on) after each of which
//     shapes are inferred again and the graph verified.
//   - codegen: Compile optimises a model, and package codegen lowers the
//     graph to calls of the runtime's kernels with a static memory plan
//     and generates the package in memory (model.go, the packed weights
//     and, given data sets, a golden test); Package.Write puts it on disk,
//     into a folder it owns through a manifest of what it wrote there.
//   - runtime: the generated package imports tsmc's runtime (kernels,
//     arena, worker pool) and the standard library only.
//
// Verify is the check: it runs the ONNX test data sets beside a model
// through an Engine and compares every output with the expected one by
// relative error, max|got-want| / max|want|. InterpEngine is the reference
// interpreter; package program builds the generated code and runs it
// (program.Builder.Engine), as tsmc verify does.
//
// CompileContext, OptimizeContext and VerifyContext stop when their
// context is done (program.Builder.BuildContext stops the go command and
// the generated program alike), which is how tsmc handles Ctrl-C.
//
// The tsmc command (cmd/tsmc) is a thin layer over this package and
// package program.
package tsmc
