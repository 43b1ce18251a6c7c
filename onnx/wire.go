package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field. Scalars (varint, fixed32, fixed64)
// are in u; length-delimited payloads are in b, which aliases the input.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

// is reports whether f is field number num with wire type typ. A known
// field number with an unexpected wire type is treated as unknown and
// skipped, as protobuf decoders do.
func (f field) is(num protowire.Number, typ protowire.Type) bool {
	return f.num == num && f.typ == typ
}

// isRepeatedScalar reports whether f is field num holding either one
// unpacked scalar of wire type typ or a packed run of them.
func (f field) isRepeatedScalar(num protowire.Number, typ protowire.Type) bool {
	return f.num == num && (f.typ == typ || f.typ == protowire.BytesType)
}

func (f field) str() string      { return string(f.b) }
func (f field) int64() int64     { return int64(f.u) }
func (f field) float32() float32 { return math.Float32frombits(uint32(f.u)) }

// walkFields calls fn for every field of the message encoded in b, in
// order. Groups (deprecated, never used by ONNX) are skipped whole.
func walkFields(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed protobuf field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.StartGroupType {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

var errBadPacked = errors.New("malformed packed repeated field")

// appendVarints appends the int64 values of a repeated varint field,
// packed or not.
func appendVarints(dst []int64, f field) ([]int64, error) {
	if f.typ == protowire.VarintType {
		return append(dst, int64(f.u)), nil
	}
	for b := f.b; len(b) > 0; {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return dst, errBadPacked
		}
		dst = append(dst, int64(v))
		b = b[n:]
	}
	return dst, nil
}

// appendFloats appends the values of a repeated float (fixed32) field,
// packed or not.
func appendFloats(dst []float32, f field) ([]float32, error) {
	if f.typ == protowire.Fixed32Type {
		return append(dst, f.float32()), nil
	}
	if len(f.b)%4 != 0 {
		return dst, errBadPacked
	}
	for b := f.b; len(b) > 0; b = b[4:] {
		v, _ := protowire.ConsumeFixed32(b)
		dst = append(dst, math.Float32frombits(v))
	}
	return dst, nil
}

// scalarChunks holds the occurrences of one repeated scalar field, kept
// undecoded so that its element count can be checked against a tensor's
// dims before anything is allocated.
type scalarChunks struct {
	typ    protowire.Type // wire type of one unpacked element
	chunks []field
}

func (c *scalarChunks) add(f field) { c.chunks = append(c.chunks, f) }

// count returns the number of elements held. For packed varints it counts
// terminating bytes, which equals the element count of well-formed data;
// malformed data is caught by each.
func (c *scalarChunks) count() (int, error) {
	n := 0
	for _, f := range c.chunks {
		if f.typ != protowire.BytesType {
			n++
			continue
		}
		switch c.typ {
		case protowire.VarintType:
			if len(f.b) > 0 && f.b[len(f.b)-1] >= 0x80 {
				return 0, errBadPacked
			}
			for _, x := range f.b {
				if x < 0x80 {
					n++
				}
			}
		case protowire.Fixed32Type:
			if len(f.b)%4 != 0 {
				return 0, errBadPacked
			}
			n += len(f.b) / 4
		case protowire.Fixed64Type:
			if len(f.b)%8 != 0 {
				return 0, errBadPacked
			}
			n += len(f.b) / 8
		}
	}
	return n, nil
}

// each calls fn with the raw bits of every element in order (the varint
// value, or the fixed32/fixed64 bits).
func (c *scalarChunks) each(fn func(v uint64)) error {
	for _, f := range c.chunks {
		if f.typ != protowire.BytesType {
			fn(f.u)
			continue
		}
		for b := f.b; len(b) > 0; {
			var v uint64
			var n int
			switch c.typ {
			case protowire.VarintType:
				v, n = protowire.ConsumeVarint(b)
			case protowire.Fixed32Type:
				var v32 uint32
				v32, n = protowire.ConsumeFixed32(b)
				v = uint64(v32)
			default:
				v, n = protowire.ConsumeFixed64(b)
			}
			if n < 0 {
				return errBadPacked
			}
			fn(v)
			b = b[n:]
		}
	}
	return nil
}
