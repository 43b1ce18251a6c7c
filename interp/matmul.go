package interp

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/tsmc-go/tsmc/ir"
)

// workers is the number of goroutines a kernel may use.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallelFor splits [0, n) into one contiguous chunk per worker and runs
// fn on each chunk concurrently. A panic in a chunk is re-raised in the
// caller, where Eval turns it into an error.
func parallelFor(n int, fn func(lo, hi int)) {
	w := min(workers(), n)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	var once sync.Once
	var panicked any
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					once.Do(func() { panicked = r })
				}
			}()
			fn(lo, hi)
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}

// Block sizes of matmulAdd: a colBlock-wide row segment of c stays in L1
// while a depthBlock x colBlock panel of b stays in L2.
const (
	colBlock   = 512
	depthBlock = 128
	// Products smaller than this many multiply-adds run on one goroutine.
	parallelWork = 1 << 16
)

// number is an element type the matrix product runs on: float32, or int32
// for the integer products of quantised ops (wrapping on overflow as
// onnxruntime's int32 accumulators do).
type number interface{ float32 | int32 }

// matmulAdd computes c += a × b for row-major a (m×k), b (k×n) and c (m×n).
// With parallel set, rows of c are split among goroutines.
func matmulAdd[T number](m, n, k int, a, b, c []T, parallel bool) {
	if parallel && m > 1 && m*n*k >= parallelWork {
		parallelFor(m, func(lo, hi int) { matmulRows(lo, hi, n, k, a, b, c) })
		return
	}
	matmulRows(0, m, n, k, a, b, c)
}

// matmulRows computes rows [lo, hi) of c += a × b: for each row of c it
// adds a[i][p] times row p of b, four rows of b per pass (axpy4), blocked
// so the rows of b being read stay in cache.
func matmulRows[T number](lo, hi, n, k int, a, b, c []T) {
	for j0 := 0; j0 < n; j0 += colBlock {
		j1 := min(j0+colBlock, n)
		for p0 := 0; p0 < k; p0 += depthBlock {
			p1 := min(p0+depthBlock, k)
			for i := lo; i < hi; i++ {
				ci := c[i*n+j0 : i*n+j1]
				ai := a[i*k : (i+1)*k]
				bRow := func(p int) []T { return b[p*n+j0 : p*n+j1] }
				p := p0
				for ; p+4 <= p1; p += 4 {
					axpy4(ci, ai[p], ai[p+1], ai[p+2], ai[p+3], bRow(p), bRow(p+1), bRow(p+2), bRow(p+3))
				}
				for ; p < p1; p++ {
					axpy(ci, ai[p], bRow(p))
				}
			}
		}
	}
}

// axpy4 computes c += a0*b0 + a1*b1 + a2*b2 + a3*b3 elementwise.
func axpy4[T number](c []T, a0, a1, a2, a3 T, b0, b1, b2, b3 []T) {
	b0, b1, b2, b3 = b0[:len(c)], b1[:len(c)], b2[:len(c)], b3[:len(c)]
	for j := range c {
		c[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
	}
}

// axpy computes c += a*b elementwise.
func axpy[T number](c []T, a T, b []T) {
	b = b[:len(c)]
	for j := range c {
		c[j] += a * b[j]
	}
}

// gemmKernel: Y = alpha * A' × B' + beta * C, where A' and B' are A and B
// transposed when transA/transB are set and C broadcasts to Y.
func gemmKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "A", "B"); err != nil {
		return nil, err
	}
	a, b, c := inputs[0], inputs[1], optional(inputs, 2)
	for _, t := range []struct {
		x    *ir.Tensor
		name string
	}{{a, "A"}, {b, "B"}} {
		if err := requireFloat32(t.x, t.name); err != nil {
			return nil, err
		}
		if err := requireRank(t.x, 2, t.name); err != nil {
			return nil, err
		}
	}
	var err error
	if n.AttrInt("transA", 0) != 0 {
		if a, err = transpose(a, []int{1, 0}); err != nil {
			return nil, err
		}
	}
	if n.AttrInt("transB", 0) != 0 {
		if b, err = transpose(b, []int{1, 0}); err != nil {
			return nil, err
		}
	}
	m, k, n2 := a.Shape[0], a.Shape[1], b.Shape[1]
	if b.Shape[0] != k {
		return nil, fmt.Errorf("A' is %v and B' is %v: inner dimensions differ", a.Shape, b.Shape)
	}
	y, err := alloc(ir.Float32, ir.Shape{m, n2})
	if err != nil {
		return nil, err
	}
	matmulAdd(m, n2, k, a.F32, b.F32, y.F32, true)
	alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
	if alpha != 1 {
		for i := range y.F32 {
			y.F32[i] *= alpha
		}
	}
	if c != nil && beta != 0 {
		if err := requireFloat32(c, "C"); err != nil {
			return nil, err
		}
		if shape, err := broadcastShape(c.Shape, y.Shape); err != nil || !shape.Equal(y.Shape) {
			return nil, fmt.Errorf("C of shape %v does not broadcast to %v", c.Shape, y.Shape)
		}
		strides := [][]int{broadcastStrides(c.Shape, y.Shape)}
		forEachBroadcast(y.Shape, strides, func(i int, o []int) {
			y.F32[i] += beta * c.F32[o[0]]
		})
	}
	return []*ir.Tensor{y}, nil
}

// matmulKernel is numpy matmul: batched over broadcast leading axes; a 1-D
// A is a row vector and a 1-D B a column vector, their axis dropped from
// the result.
func matmulKernel(n *ir.Node, opset int64, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := required(inputs, "A", "B"); err != nil {
		return nil, err
	}
	a, b := inputs[0], inputs[1]
	if err := requireFloat32(a, "A"); err != nil {
		return nil, err
	}
	if err := requireFloat32(b, "B"); err != nil {
		return nil, err
	}
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, errors.New("MatMul operands must have rank >= 1")
	}
	aShape, bShape := a.Shape, b.Shape
	if len(aShape) == 1 {
		aShape = ir.Shape{1, aShape[0]}
	}
	if len(bShape) == 1 {
		bShape = ir.Shape{bShape[0], 1}
	}
	m, k := aShape[len(aShape)-2], aShape[len(aShape)-1]
	k2, cols := bShape[len(bShape)-2], bShape[len(bShape)-1]
	if k != k2 {
		return nil, fmt.Errorf("A %v and B %v: inner dimensions differ", a.Shape, b.Shape)
	}
	aBatch, bBatch := aShape[:len(aShape)-2], bShape[:len(bShape)-2]
	batch, err := broadcastShape(aBatch, bBatch)
	if err != nil {
		return nil, err
	}
	out, err := alloc(ir.Float32, append(batch.Clone(), m, cols))
	if err != nil {
		return nil, err
	}
	strides := [][]int{broadcastStrides(aBatch, batch), broadcastStrides(bBatch, batch)}
	forEachBroadcast(batch, strides, func(i int, o []int) {
		matmulAdd(m, cols, k,
			a.F32[o[0]*m*k:(o[0]+1)*m*k],
			b.F32[o[1]*k*cols:(o[1]+1)*k*cols],
			out.F32[i*m*cols:(i+1)*m*cols], true)
	})
	shape := batch.Clone()
	if len(a.Shape) > 1 {
		shape = append(shape, m)
	}
	if len(b.Shape) > 1 {
		shape = append(shape, cols)
	}
	return []*ir.Tensor{reshaped(out, shape)}, nil
}
