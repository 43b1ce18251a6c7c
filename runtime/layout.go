package runtime

import (
	"fmt"
	"slices"
)

// Transpose permutes the axes of a tensor: output axis d is input axis
// perm[d] (ONNX Transpose). Axes that stay adjacent and in order are
// merged, size-1 axes dropped; when the innermost output axis is not
// contiguous in the input the copy runs in cache-line blocks.
//
//	NewTranspose(shape, perm []int) (*Transpose, error)
//	(*Transpose).Run(p *Pool, x, out []float32)
//	(*Transpose).RunBytes(p *Pool, x, out []uint8)
//
// perm must be a permutation of 0..len(shape)-1 (no default, no negative
// axes).
type Transpose struct {
	in, out []int
	v       *view
}

// NewTranspose plans the transpose of a tensor of the given shape.
func NewTranspose(shape, perm []int) (*Transpose, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("transpose: %w", err)
	}
	if len(perm) != len(shape) {
		return nil, fmt.Errorf("transpose %v: perm %v does not have rank %d", shape, perm, len(shape))
	}
	seen := make([]bool, len(perm))
	for _, a := range perm {
		if a < 0 || a >= len(perm) || seen[a] {
			return nil, fmt.Errorf("transpose %v: perm %v is not a permutation of 0..%d", shape, perm, len(perm)-1)
		}
		seen[a] = true
	}
	inStrides := stridesOf(shape)
	out, strides := make([]int, len(perm)), make([]int, len(perm))
	for d, a := range perm {
		out[d], strides[d] = shape[a], inStrides[a]
	}
	return &Transpose{in: slices.Clone(shape), out: out, v: newView(out, strides, 0)}, nil
}

// Shape returns the output shape.
func (t *Transpose) Shape() []int { return slices.Clone(t.out) }

func (t *Transpose) profileName() string   { return fmt.Sprintf("transpose %v -> %v", t.in, t.out) }
func (t *Transpose) profileFLOPs() float64 { return 0 }

// Run writes the transpose of x to out (which must not overlap x).
func (t *Transpose) Run(p *Pool, x, out []float32) { runView(p, t, "transpose", t.v.n, t.v, x, out) }

// RunBytes is Run on bytes (a quantised tensor).
func (t *Transpose) RunBytes(p *Pool, x, out []uint8) { runView(p, t, "transpose", t.v.n, t.v, x, out) }

// runView is the Run of the view ops: op (named name) copies the view v
// of x (inLen elements) to out.
func runView[E float32 | uint8](p *Pool, op any, name string, inLen int, v *view, x, out []E) {
	defer profileDone(op, profileStart())
	checkLen(name, "x", len(x), inLen)
	checkLen(name, "out", len(out), v.n)
	viewRun(v, p, x, out)
}

// Slice copies a strided window of a tensor (ONNX Slice with its
// arguments resolved): along axis d it takes counts[d] elements starting
// at starts[d], steps[d] apart (a negative step walks backwards).
//
//	NewSlice(shape, starts, counts, steps []int) (*Slice, error)
//	(*Slice).Run(p *Pool, x, out []float32)
//	(*Slice).RunBytes(p *Pool, x, out []uint8)
//
// Every list has one entry per axis; an axis that is not sliced has start
// 0, count shape[d] and step 1. Every index read must lie inside the axis:
// 0 <= starts[d] and starts[d]+(counts[d]-1)*steps[d] < shape[d] (no
// clamping here); an axis with count 0 may have any start and step.
type Slice struct {
	in, out []int
	v       *view
}

// NewSlice plans a slice of a tensor of the given shape.
func NewSlice(shape, starts, counts, steps []int) (*Slice, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("slice: %w", err)
	}
	r := len(shape)
	if len(starts) != r || len(counts) != r || len(steps) != r {
		return nil, fmt.Errorf("slice %v: starts %v, counts %v and steps %v must have one entry per axis", shape, starts, counts, steps)
	}
	if _, err := shapeSize(counts); err != nil {
		return nil, fmt.Errorf("slice %v: counts: %w", shape, err)
	}
	inStrides := stridesOf(shape)
	strides := make([]int, r)
	base := 0
	for d := range r {
		if counts[d] == 0 {
			continue
		}
		last := starts[d] + (counts[d]-1)*steps[d]
		if steps[d] == 0 || starts[d] < 0 || starts[d] >= shape[d] || last < 0 || last >= shape[d] {
			return nil, fmt.Errorf("slice %v: axis %d: %d elements from %d step %d do not fit in %d",
				shape, d, counts[d], starts[d], steps[d], shape[d])
		}
		base += starts[d] * inStrides[d]
		strides[d] = steps[d] * inStrides[d]
	}
	return &Slice{in: slices.Clone(shape), out: slices.Clone(counts), v: newView(counts, strides, base)}, nil
}

// Shape returns the output shape.
func (s *Slice) Shape() []int { return slices.Clone(s.out) }

func (s *Slice) profileName() string   { return fmt.Sprintf("slice %v -> %v", s.in, s.out) }
func (s *Slice) profileFLOPs() float64 { return 0 }

// Run writes the slice of x to out (which must not overlap x).
func (s *Slice) Run(p *Pool, x, out []float32) { runView(p, s, "slice", product(s.in), s.v, x, out) }

// RunBytes is Run on bytes (a quantised tensor).
func (s *Slice) RunBytes(p *Pool, x, out []uint8) { runView(p, s, "slice", product(s.in), s.v, x, out) }

// Expand broadcasts a tensor to a shape by the numpy rules (ONNX Expand):
// the output shape is the broadcast of the input shape and the target
// shape, so a target dim of 1 keeps the input's.
//
//	NewExpand(shape, target []int) (*Expand, error)
//	(*Expand).Run(p *Pool, x, out []float32)
//	(*Expand).RunBytes(p *Pool, x, out []uint8)
type Expand struct {
	in, out []int
	v       *view
}

// NewExpand plans the broadcast of a tensor of the given shape to target.
func NewExpand(shape, target []int) (*Expand, error) {
	out, err := broadcastShape(shape, target)
	if err != nil {
		return nil, fmt.Errorf("expand %v to %v: %w", shape, target, err)
	}
	return &Expand{in: slices.Clone(shape), out: out, v: newView(out, broadcastStrides(shape, out), 0)}, nil
}

// Shape returns the output shape.
func (e *Expand) Shape() []int { return slices.Clone(e.out) }

func (e *Expand) profileName() string   { return fmt.Sprintf("expand %v -> %v", e.in, e.out) }
func (e *Expand) profileFLOPs() float64 { return 0 }

// Run writes x broadcast to out (which must not overlap x).
func (e *Expand) Run(p *Pool, x, out []float32) { runView(p, e, "expand", product(e.in), e.v, x, out) }

// RunBytes is Run on bytes (a quantised tensor).
func (e *Expand) RunBytes(p *Pool, x, out []uint8) {
	runView(p, e, "expand", product(e.in), e.v, x, out)
}

// Repeat is ONNX Tile (the name Tile belongs to the GEMM micro-kernel's
// argument block): the tensor repeated repeats[d] times along axis d. It
// runs as a broadcast: axis d of size n becomes the pair of axes
// [repeats[d], n] of which the input fills the second.
//
//	NewRepeat(shape, repeats []int) (*Repeat, error)
//	(*Repeat).Run(p *Pool, x, out []float32)
//	(*Repeat).RunBytes(p *Pool, x, out []uint8)
type Repeat struct {
	in, out []int
	v       *view
}

// NewRepeat plans the tiling of a tensor of the given shape.
func NewRepeat(shape, repeats []int) (*Repeat, error) {
	if _, err := shapeSize(shape); err != nil {
		return nil, fmt.Errorf("tile: %w", err)
	}
	if len(repeats) != len(shape) {
		return nil, fmt.Errorf("tile %v: repeats %v must have one entry per axis", shape, repeats)
	}
	out := make([]int, len(shape))
	var pairs, strides []int
	inStrides := stridesOf(shape)
	for d, n := range shape {
		r := repeats[d]
		if r < 0 || n > 0 && r > maxElements/n {
			return nil, fmt.Errorf("tile %v: invalid repeats %v", shape, repeats)
		}
		out[d] = n * r
		pairs = append(pairs, r, n)
		strides = append(strides, 0, inStrides[d])
	}
	if _, err := shapeSize(out); err != nil {
		return nil, fmt.Errorf("tile %v by %v: %w", shape, repeats, err)
	}
	return &Repeat{in: slices.Clone(shape), out: out, v: newView(pairs, strides, 0)}, nil
}

// Shape returns the output shape.
func (r *Repeat) Shape() []int { return slices.Clone(r.out) }

func (r *Repeat) profileName() string   { return fmt.Sprintf("tile %v -> %v", r.in, r.out) }
func (r *Repeat) profileFLOPs() float64 { return 0 }

// Run writes x tiled to out (which must not overlap x).
func (r *Repeat) Run(p *Pool, x, out []float32) { runView(p, r, "tile", product(r.in), r.v, x, out) }

// RunBytes is Run on bytes (a quantised tensor).
func (r *Repeat) RunBytes(p *Pool, x, out []uint8) { runView(p, r, "tile", product(r.in), r.v, x, out) }
