package codegen

import (
	"fmt"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/runtime"
)

// weightEntry is one array of weights.bin: Len floats at Offset (a
// multiple of runtime.AlignFloats), produced on demand by data.
type weightEntry struct {
	Offset, Len int
	data        func() ([]float32, error)
}

// weightKey identifies an entry: a constant in one layout.
type weightKey struct {
	v      *ir.Value
	layout string
}

// weightTable lays out weights.bin. Entries are placed in the order they
// are added (node order), each at an aligned offset; the data is computed
// only when the file is written, so memory planning alone packs nothing.
type weightTable struct {
	entries []*weightEntry
	byKey   map[weightKey]*weightEntry
	size    int // floats
}

func newWeightTable() *weightTable {
	return &weightTable{byKey: map[weightKey]*weightEntry{}}
}

// add returns the entry of v in the given layout, adding it when new.
// n is the entry's length; data computes it.
func (t *weightTable) add(v *ir.Value, layout string, n int, data func() ([]float32, error)) *weightEntry {
	k := weightKey{v, layout}
	if e, ok := t.byKey[k]; ok {
		return e
	}
	e := &weightEntry{Offset: t.size, Len: n, data: data}
	t.size = runtime.AlignUp(t.size + n)
	t.entries = append(t.entries, e)
	t.byKey[k] = e
	return e
}

// raw adds the float32 constant v as it is, or the bool constant v as 0s
// and 1s.
func (t *weightTable) raw(v *ir.Value) *weightEntry {
	return t.add(v, "raw", v.Const.Len(), func() ([]float32, error) {
		if v.DType == ir.Bool {
			f := make([]float32, v.Const.Len())
			for k := range f {
				if v.Const.Float(k) != 0 {
					f[k] = 1
				}
			}
			return f, nil
		}
		return v.Const.F32, nil
	})
}

// bytes renders weights.bin: every entry at its offset, little-endian
// float32, zeros in the alignment gaps.
func (t *weightTable) bytes() ([]byte, error) {
	all := make([]float32, t.size)
	for _, e := range t.entries {
		d, err := e.data()
		if err != nil {
			return nil, err
		}
		if len(d) != e.Len {
			return nil, fmt.Errorf("weights at %d: %d floats, planned %d", e.Offset, len(d), e.Len)
		}
		copy(all[e.Offset:], d)
	}
	return runtime.EncodeFloats(make([]byte, 0, 4*len(all)), all), nil
}
