// Package ops is tsmc's operator table: every operator the compiler reads,
// ONNX's and tsmc's own fused ones, with one entry each (Def) holding its
// opset-aware argument decoding, its shape rule, its cost in
// multiply-accumulates and its lowering to runtime calls. The IR learns
// the shape rules and costs from here (ir.RegisterOp); code generation
// dispatches on the table, and its list of supported operators, like the
// README's, comes from it.
//
// The reference interpreter keeps its own kernels and shape arithmetic:
// it is the oracle the table's rules are tested against.
package ops
