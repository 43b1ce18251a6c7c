// Package tsmc is the compiler's Go API: load an ONNX model into the IR with
// its shapes bound and inferred, and check an engine's outputs against the
// ONNX test data sets beside a model. The tsmc command (cmd/tsmc) is a thin
// layer over it.
package tsmc
