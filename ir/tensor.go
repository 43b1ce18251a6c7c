// Package ir is tsmc's intermediate representation: a graph of typed values
// and operations with typed attributes, its verifier, a stable text printer
// and shape inference. It knows nothing of ONNX protobuf or of Go code
// generation.
package ir

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// DType is the element type of a value.
type DType uint8

// Element types. Integer types share int64 storage and float16 is widened to
// float32 when a model is read, so kernels see few storage kinds.
const (
	Undefined DType = iota
	Float32
	Float64
	Int64
	Int32
	Int16
	Int8
	Uint8
	Bool
)

var dtypeNames = [...]string{
	Undefined: "undef",
	Float32:   "f32",
	Float64:   "f64",
	Int64:     "i64",
	Int32:     "i32",
	Int16:     "i16",
	Int8:      "i8",
	Uint8:     "u8",
	Bool:      "bool",
}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// IsInt reports whether d is stored as int64.
func (d DType) IsInt() bool {
	switch d {
	case Int64, Int32, Int16, Int8, Uint8:
		return true
	}
	return false
}

// Size is the number of bytes an element takes in memory when run.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Int16:
		return 2
	case Int8, Uint8, Bool:
		return 1
	}
	return 0
}

// Shape lists dimension sizes. A dimension of -1 is not known yet.
type Shape []int

// MaxElements bounds the number of elements of any one tensor tsmc will
// materialise (4 Gi elements, 256 Mi where int has 32 bits); larger
// products are rejected as errors.
const MaxElements = 1 << (28 + 4*(bits.UintSize/64))

// Known reports whether every dimension is known.
func (s Shape) Known() bool {
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// Size is the number of elements, or -1 when a dimension is unknown or the
// product overflows MaxElements.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		if d != 0 && n > MaxElements/d {
			return -1
		}
		n *= d
	}
	return n
}

// Equal reports whether two shapes are the same.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

// Strides returns the row-major element strides of s.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = n
		n *= s[i]
	}
	return st
}

func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			b.WriteString(strconv.Itoa(d))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Tensor is a dense row-major array. Exactly one storage slice is used,
// chosen by DType: F32 for Float32, F64 for Float64, I64 for every integer
// type, B for Bool.
type Tensor struct {
	DType DType
	Shape Shape
	F32   []float32
	F64   []float64
	I64   []int64
	B     []bool
}

// NewTensor allocates a zeroed tensor. It returns an error when the shape is
// unknown or too large.
func NewTensor(dt DType, shape Shape) (*Tensor, error) {
	n := shape.Size()
	if n < 0 {
		return nil, fmt.Errorf("cannot allocate tensor of shape %v: unknown or more than %d elements", shape, MaxElements)
	}
	t := &Tensor{DType: dt, Shape: shape.Clone()}
	switch {
	case dt == Float32:
		t.F32 = make([]float32, n)
	case dt == Float64:
		t.F64 = make([]float64, n)
	case dt.IsInt():
		t.I64 = make([]int64, n)
	case dt == Bool:
		t.B = make([]bool, n)
	default:
		return nil, fmt.Errorf("cannot allocate tensor of dtype %v", dt)
	}
	return t, nil
}

// Float32s wraps data as a float32 tensor of the given shape.
func Float32s(shape Shape, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape.Clone(), F32: data}
}

// Int64s wraps data as an int64 tensor of the given shape.
func Int64s(shape Shape, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape.Clone(), I64: data}
}

// Scalar returns a rank-0 float32 tensor.
func Scalar(v float32) *Tensor { return Float32s(Shape{}, []float32{v}) }

// Len is the number of stored elements.
func (t *Tensor) Len() int {
	switch {
	case t.DType == Float32:
		return len(t.F32)
	case t.DType == Float64:
		return len(t.F64)
	case t.DType.IsInt():
		return len(t.I64)
	case t.DType == Bool:
		return len(t.B)
	}
	return 0
}

// Bytes is the in-memory size of the data when run.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.DType.Size()) }

// Check verifies that the storage matches DType and Shape.
func (t *Tensor) Check() error {
	n := t.Shape.Size()
	if n < 0 {
		return fmt.Errorf("tensor shape %v is unknown or too large", t.Shape)
	}
	if t.DType == Undefined || t.DType > Bool {
		return fmt.Errorf("tensor has invalid dtype %v", t.DType)
	}
	if got := t.Len(); got != n {
		return fmt.Errorf("tensor of shape %v holds %d elements, want %d", t.Shape, got, n)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone()}
	if t.F32 != nil {
		c.F32 = append([]float32(nil), t.F32...)
	}
	if t.F64 != nil {
		c.F64 = append([]float64(nil), t.F64...)
	}
	if t.I64 != nil {
		c.I64 = append([]int64(nil), t.I64...)
	}
	if t.B != nil {
		c.B = append([]bool(nil), t.B...)
	}
	return c
}

// Float returns element i converted to float64, whatever the dtype.
func (t *Tensor) Float(i int) float64 {
	switch {
	case t.DType == Float32:
		return float64(t.F32[i])
	case t.DType == Float64:
		return t.F64[i]
	case t.DType.IsInt():
		return float64(t.I64[i])
	case t.DType == Bool:
		if t.B[i] {
			return 1
		}
	}
	return 0
}

// Ints returns the elements as int64s (integer and float tensors alike);
// it is meant for the small index tensors of shape arithmetic.
func (t *Tensor) Ints() []int64 {
	if t.DType.IsInt() {
		return t.I64
	}
	out := make([]int64, t.Len())
	for i := range out {
		out[i] = int64(t.Float(i))
	}
	return out
}

// IsSplat reports whether every element equals the first, returning it.
func (t *Tensor) IsSplat() (float64, bool) {
	n := t.Len()
	if n == 0 {
		return 0, false
	}
	v := t.Float(0)
	for i := 1; i < n; i++ {
		if w := t.Float(i); w != v && !(math.IsNaN(w) && math.IsNaN(v)) {
			return 0, false
		}
	}
	return v, true
}
