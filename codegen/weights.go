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
	// raw, for entries of int8 or int32 values, makes their bytes
	// (little-endian), at most 4*Len
	raw func() ([]byte, error)
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

// addBytes returns the entry of v in the given layout, n bytes made by
// raw, adding it when new.
func (t *weightTable) addBytes(v *ir.Value, layout string, n int, raw func() ([]byte, error)) *weightEntry {
	e := t.add(v, layout, (n+3)/4, nil)
	if e.data == nil && e.raw == nil {
		e.raw = func() ([]byte, error) {
			b, err := raw()
			if err == nil && len(b) != n {
				err = fmt.Errorf("%d bytes, planned %d", len(b), n)
			}
			return b, err
		}
	}
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
	var raws []*weightEntry
	for _, e := range t.entries {
		if e.raw != nil {
			raws = append(raws, e)
			continue
		}
		d, err := e.data()
		if err != nil {
			return nil, err
		}
		if len(d) != e.Len {
			return nil, fmt.Errorf("weights at %d: %d floats, planned %d", e.Offset, len(d), e.Len)
		}
		copy(all[e.Offset:], d)
	}
	out := runtime.EncodeFloats(make([]byte, 0, 4*len(all)), all)
	for _, e := range raws {
		b, err := e.raw()
		if err != nil {
			return nil, fmt.Errorf("weights at %d: %w", e.Offset, err)
		}
		copy(out[4*e.Offset:], b)
	}
	return out, nil
}
