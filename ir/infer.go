package ir

// Evaluator computes a node's outputs from its input tensors. Shape
// inference uses it to follow shape arithmetic (Shape, Gather, Concat,
// Range, ...) on small constant tensors; the reference interpreter provides
// one (interp.Eval). opset is the version of the node's domain.
type Evaluator func(n *Node, opset int64, inputs []*Tensor) ([]*Tensor, error)
