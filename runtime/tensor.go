package runtime

import "fmt"

// TensorSpec names a model input or output and its static shape; the data
// is float32, row-major. Generated models list their inputs and outputs as
// TensorSpecs and check caller data with Check.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Len returns the number of elements.
func (t TensorSpec) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Check returns an error unless data has exactly Len elements.
func (t TensorSpec) Check(data []float32) error {
	if len(data) != t.Len() {
		return fmt.Errorf("%s: got %d values, want %d for shape %v", t.Name, len(data), t.Len(), t.Shape)
	}
	return nil
}

func (t TensorSpec) String() string { return fmt.Sprintf("%s%v", t.Name, t.Shape) }

// frame returns frame f of x, frames of n values each, or nil for a nil x
// (an absent residual).
func frame[T any](x []T, f, n int) []T {
	if x == nil {
		return nil
	}
	return x[f*n : (f+1)*n]
}
