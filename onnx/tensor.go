package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"github.com/tsmc-go/tsmc/ir"
)

// elemType describes how one ONNX TensorProto.DataType is read.
type elemType struct {
	name  string   // the ONNX enum name, for messages
	dtype ir.DType // ir.Undefined when tsmc does not support the type
	size  int      // bytes per element in raw_data
	// typed names the TensorProto field that holds the data when raw_data
	// is not used.
	typed string
	// lo, hi bound the values of integer types stored in int32_data.
	lo, hi int64
}

// TensorProto.DataType codes that tsmc reads (and STRING, for messages).
const (
	codeFloat    = 1
	codeUint8    = 2
	codeInt8     = 3
	codeInt16    = 5
	codeInt32    = 6
	codeInt64    = 7
	codeString   = 8
	codeBool     = 9
	codeFloat16  = 10
	codeDouble   = 11
	codeBFloat16 = 16
)

// elemTypes is indexed by the TensorProto.DataType code.
var elemTypes = [...]elemType{
	0:            {name: "UNDEFINED"},
	codeFloat:    {name: "FLOAT", dtype: ir.Float32, size: 4, typed: "float_data"},
	codeUint8:    {name: "UINT8", dtype: ir.Uint8, size: 1, typed: "int32_data", lo: 0, hi: math.MaxUint8},
	codeInt8:     {name: "INT8", dtype: ir.Int8, size: 1, typed: "int32_data", lo: math.MinInt8, hi: math.MaxInt8},
	4:            {name: "UINT16"},
	codeInt16:    {name: "INT16", dtype: ir.Int16, size: 2, typed: "int32_data", lo: math.MinInt16, hi: math.MaxInt16},
	codeInt32:    {name: "INT32", dtype: ir.Int32, size: 4, typed: "int32_data", lo: math.MinInt32, hi: math.MaxInt32},
	codeInt64:    {name: "INT64", dtype: ir.Int64, size: 8, typed: "int64_data"},
	codeString:   {name: "STRING"},
	codeBool:     {name: "BOOL", dtype: ir.Bool, size: 1, typed: "int32_data", lo: 0, hi: 1},
	codeFloat16:  {name: "FLOAT16", dtype: ir.Float32, size: 2, typed: "int32_data"},
	codeDouble:   {name: "DOUBLE", dtype: ir.Float64, size: 8, typed: "double_data"},
	12:           {name: "UINT32"},
	13:           {name: "UINT64"},
	14:           {name: "COMPLEX64"},
	15:           {name: "COMPLEX128"},
	codeBFloat16: {name: "BFLOAT16", dtype: ir.Float32, size: 2, typed: "int32_data"},
	17:           {name: "FLOAT8E4M3FN"},
	18:           {name: "FLOAT8E4M3FNUZ"},
	19:           {name: "FLOAT8E5M2"},
	20:           {name: "FLOAT8E5M2FNUZ"},
	21:           {name: "UINT4"},
	22:           {name: "INT4"},
	23:           {name: "FLOAT4E2M1"},
}

// lookupElemType returns the description of a supported data type code.
func lookupElemType(code int64) (elemType, error) {
	if code < 0 || code >= int64(len(elemTypes)) {
		return elemType{}, fmt.Errorf("unknown data type %d", code)
	}
	et := elemTypes[code]
	if et.dtype == ir.Undefined {
		if code == 0 {
			return et, errors.New("data type is UNDEFINED (0)")
		}
		return et, fmt.Errorf("data type %s (%d) is not supported", et.name, code)
	}
	return et, nil
}

// shapeOf converts TensorProto dims to a shape, rejecting negative dims and
// element counts beyond ir.MaxElements before anything is allocated.
func shapeOf(dims []int64) (ir.Shape, int, error) {
	shape := make(ir.Shape, len(dims))
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("dimension %d is negative (dims %v)", i, dims)
		}
		if d > ir.MaxElements {
			d = ir.MaxElements + 1 // still too large, and cannot overflow int
		}
		shape[i] = int(d)
	}
	n := shape.Size()
	if n < 0 {
		return nil, 0, fmt.Errorf("dims %v hold more than %d elements", dims, int64(ir.MaxElements))
	}
	return shape, n, nil
}

// tensorDecoder turns TensorProtos into ir.Tensors. It reads external data
// from files under dir and keeps them open until close.
type tensorDecoder struct {
	dir   string
	root  *os.Root
	files map[string]*os.File
}

func (d *tensorDecoder) close() {
	for _, f := range d.files {
		f.Close()
	}
	if d.root != nil {
		d.root.Close()
	}
}

// tensor converts tp. Float32, float64 and int64 raw data may alias the
// input buffer; everything else is copied once.
func (d *tensorDecoder) tensor(tp *tensorProto) (*ir.Tensor, error) {
	t, err := d.decodeTensor(tp)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", tp.name, err)
	}
	return t, nil
}

func (d *tensorDecoder) decodeTensor(tp *tensorProto) (*ir.Tensor, error) {
	et, err := lookupElemType(tp.dataType)
	if err != nil {
		return nil, err
	}
	if tp.hasSegment {
		return nil, errors.New("segmented tensors (TensorProto.segment) are not supported")
	}
	shape, n, err := shapeOf(tp.dims)
	if err != nil {
		return nil, err
	}
	typed := []struct {
		name string
		data *scalarChunks
	}{
		{"float_data", &tp.floatData},
		{"int32_data", &tp.int32Data},
		{"int64_data", &tp.int64Data},
		{"double_data", &tp.doubleData},
		{"uint64_data", &tp.uint64Data},
	}
	inline := ""
	if tp.hasRaw {
		inline = "raw_data"
	}
	var data *scalarChunks
	for _, f := range typed {
		if len(f.data.chunks) == 0 {
			continue
		}
		if f.name != et.typed {
			return nil, fmt.Errorf("holds %s, which %s tensors do not use (they use %s or raw_data)", f.name, et.name, et.typed)
		}
		if inline != "" {
			return nil, fmt.Errorf("holds both %s and %s", inline, f.name)
		}
		inline, data = f.name, f.data
	}
	if tp.stringData > 0 {
		return nil, fmt.Errorf("holds string_data, which %s tensors do not use", et.name)
	}
	t := &ir.Tensor{DType: et.dtype, Shape: shape}
	switch {
	case tp.location == locationExternal:
		if inline != "" {
			return nil, fmt.Errorf("is stored externally but also holds %s", inline)
		}
		raw, err := d.external(tp, n*et.size)
		if err != nil {
			return nil, err
		}
		return t, fillRaw(t, tp.dataType, raw)
	case tp.location != 0:
		return nil, fmt.Errorf("unknown data_location %d", tp.location)
	case inline == "raw_data":
		if want := n * et.size; len(tp.raw) != want {
			return nil, fmt.Errorf("raw_data holds %d bytes, want %d (%d elements of %s, dims %v)", len(tp.raw), want, n, et.name, tp.dims)
		}
		return t, fillRaw(t, tp.dataType, tp.raw)
	case inline == "":
		if n != 0 {
			return nil, fmt.Errorf("has no data, want %d elements (dims %v)", n, tp.dims)
		}
		return t, fillTyped(t, tp.dataType, et, &scalarChunks{})
	}
	count, err := data.count()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", inline, err)
	}
	if count != n {
		return nil, fmt.Errorf("%s holds %d elements, want %d (dims %v)", inline, count, n, tp.dims)
	}
	if err := fillTyped(t, tp.dataType, et, data); err != nil {
		return nil, fmt.Errorf("%s: %w", inline, err)
	}
	return t, nil
}

// fillRaw decodes little-endian raw data whose length has been checked.
func fillRaw(t *ir.Tensor, code int64, raw []byte) error {
	le := binary.LittleEndian
	switch code {
	case codeFloat:
		t.F32 = viewOrCopy(raw, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case codeDouble:
		t.F64 = viewOrCopy(raw, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	case codeInt64:
		t.I64 = viewOrCopy(raw, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case codeUint8:
		t.I64 = widen(raw, 1, func(b []byte) int64 { return int64(b[0]) })
	case codeInt8:
		t.I64 = widen(raw, 1, func(b []byte) int64 { return int64(int8(b[0])) })
	case codeInt16:
		t.I64 = widen(raw, 2, func(b []byte) int64 { return int64(int16(le.Uint16(b))) })
	case codeInt32:
		t.I64 = widen(raw, 4, func(b []byte) int64 { return int64(int32(le.Uint32(b))) })
	case codeBool:
		t.B = widen(raw, 1, func(b []byte) bool { return b[0] != 0 })
	case codeFloat16:
		t.F32 = widen(raw, 2, func(b []byte) float32 { return HalfToFloat32(le.Uint16(b)) })
	case codeBFloat16:
		t.F32 = widen(raw, 2, func(b []byte) float32 { return BFloat16ToFloat32(le.Uint16(b)) })
	default:
		return fmt.Errorf("raw data of type %d cannot be decoded", code)
	}
	return nil
}

// fillTyped decodes the typed data field c, whose element count has been
// checked against the shape.
func fillTyped(t *ir.Tensor, code int64, et elemType, c *scalarChunks) error {
	n, err := c.count()
	if err != nil {
		return err
	}
	i := 0
	var bad error
	var store func(v uint64)
	switch code {
	case codeFloat:
		t.F32 = make([]float32, n)
		store = func(v uint64) { t.F32[i] = math.Float32frombits(uint32(v)) }
	case codeDouble:
		t.F64 = make([]float64, n)
		store = func(v uint64) { t.F64[i] = math.Float64frombits(v) }
	case codeInt64:
		t.I64 = make([]int64, n)
		store = func(v uint64) { t.I64[i] = int64(v) }
	case codeUint8, codeInt8, codeInt16, codeInt32:
		t.I64 = make([]int64, n)
		store = func(v uint64) {
			x := int64(int32(v)) // int32_data holds protobuf int32s
			if (x < et.lo || x > et.hi) && bad == nil {
				bad = fmt.Errorf("element %d = %d is out of range for %s", i, x, et.name)
			}
			t.I64[i] = x
		}
	case codeBool:
		t.B = make([]bool, n)
		store = func(v uint64) { t.B[i] = int32(v) != 0 }
	case codeFloat16:
		t.F32 = make([]float32, n)
		store = func(v uint64) { t.F32[i] = HalfToFloat32(uint16(v)) }
	case codeBFloat16:
		t.F32 = make([]float32, n)
		store = func(v uint64) { t.F32[i] = BFloat16ToFloat32(uint16(v)) }
	default:
		return fmt.Errorf("typed data of type %d cannot be decoded", code)
	}
	err = c.each(func(v uint64) {
		if i < n {
			store(v)
		}
		i++
	})
	if err != nil {
		return err
	}
	if i != n {
		return fmt.Errorf("decoded %d elements, counted %d", i, n)
	}
	return bad
}

// littleEndian reports whether the host stores integers little-endian, as
// ONNX raw_data does; only then may raw data be used in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// viewOrCopy returns raw as a []T. On a little-endian host with raw aligned
// for T, the result aliases raw (no copy: large weights stay in the file
// buffer); otherwise each element is decoded into a new slice.
func viewOrCopy[T float32 | float64 | int64](raw []byte, decode func([]byte) T) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	n := len(raw) / size
	if n == 0 {
		return []T{}
	}
	if littleEndian && uintptr(unsafe.Pointer(&raw[0]))%unsafe.Alignof(zero) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&raw[0])), n)
	}
	return widen(raw, size, decode)
}

// widen decodes raw as consecutive size-byte elements.
func widen[T any](raw []byte, size int, decode func([]byte) T) []T {
	out := make([]T, len(raw)/size)
	for i := range out {
		out[i] = decode(raw[i*size : (i+1)*size])
	}
	return out
}

// HalfToFloat32 converts IEEE 754 half-precision bits to float32 exactly
// (subnormals, infinities and NaN payloads included).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		// Zero or subnormal: mant * 2^-24, exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// BFloat16ToFloat32 converts bfloat16 bits (the top half of a float32).
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// external reads want bytes of tp's external data, described by its
// location, offset and length entries, from a file under d.dir.
func (d *tensorDecoder) external(tp *tensorProto, want int) ([]byte, error) {
	var location string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.external {
		var err error
		switch kv.key {
		case "location":
			location = kv.value
		case "offset":
			offset, err = strconv.ParseInt(kv.value, 10, 64)
			if err == nil && offset < 0 {
				err = errors.New("negative")
			}
		case "length":
			length, err = strconv.ParseInt(kv.value, 10, 64)
			if err == nil && length < 0 {
				err = errors.New("negative")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("external data %s %q is not a valid byte count: %v", kv.key, kv.value, err)
		}
	}
	if location == "" {
		return nil, errors.New("is stored externally but has no external_data location")
	}
	if d.dir == "" {
		return nil, fmt.Errorf("is stored externally in %q, but the model's directory is unknown (load the model from a file)", location)
	}
	local := filepath.FromSlash(location)
	if !filepath.IsLocal(local) {
		return nil, fmt.Errorf("external data location %q must be a relative path inside the model directory (no absolute path, no ..)", location)
	}
	f, err := d.open(local)
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data %q: %w", location, err)
	}
	size := st.Size()
	if offset > size {
		return nil, fmt.Errorf("external data offset %d is beyond the end of %q (%d bytes)", offset, location, size)
	}
	if length < 0 {
		length = size - offset
	}
	if length != int64(want) {
		return nil, fmt.Errorf("external data in %q is %d bytes long, want %d (dims %v)", location, length, want, tp.dims)
	}
	if offset+length > size {
		return nil, fmt.Errorf("external data in %q at offset %d, length %d runs past the end of the file (%d bytes)", location, offset, length, size)
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, fmt.Errorf("external data %q: %w", location, err)
	}
	return buf, nil
}

// open opens an external data file under d.dir, refusing paths that
// escape it (also through symbolic links).
func (d *tensorDecoder) open(name string) (*os.File, error) {
	if f, ok := d.files[name]; ok {
		return f, nil
	}
	if d.root == nil {
		root, err := os.OpenRoot(d.dir)
		if err != nil {
			return nil, err
		}
		d.root = root
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	if d.files == nil {
		d.files = map[string]*os.File{}
	}
	d.files[name] = f
	return f, nil
}
