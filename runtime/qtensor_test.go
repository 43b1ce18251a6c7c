package runtime

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
)

// withQISA runs fn with the int8 kernels of level selected, as
// TSMC_ISA=level would select them at init.
func withQISA(level string, fn func()) {
	saved := qisa
	defer selectQKernels(saved)
	selectQKernels(level)
	fn()
}

// Quantize and Dequantize against the scalar rules over random values,
// exact halves, saturation, NaN and infinities, at every length from 0
// to past a work item and on 1 and 3 threads, at every int8 level.
func TestQuantizeDequantize(t *testing.T) {
	for _, level := range archQLevels() {
		withQISA(level, func() { testQuantizeDequantize(t) })
	}
}

func testQuantizeDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -0.5, 0.5, 1e30, -1e30}
	for _, threads := range []int{1, 3} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 100, quantChunk - 1, quantChunk + 5, 3*quantChunk + 1} {
			x := make([]float32, n)
			scale := float32(0.01 + rng.Float64()*0.05)
			zero := uint8(rng.IntN(256))
			for i := range x {
				switch i % 5 {
				case 0:
					x[i] = special[i/5%len(special)]
				case 1: // an exact half-way quotient
					x[i] = (float32(rng.IntN(600)-300) + 0.5) * scale
				default:
					x[i] = float32(rng.NormFloat64() * 3)
				}
			}
			q := make([]uint8, n)
			Quantize(p, x, q, scale, zero)
			for i, v := range x {
				if want := QuantizeU8(v, scale, zero); q[i] != want {
					t.Fatalf("n %d: Quantize(%g / %g + %d) = %d, want %d", n, v, scale, zero, q[i], want)
				}
				// the interpreter's QuantizeLinear
				if want := interp.Quantize(v, scale, int64(zero), 0, 255); !math.IsNaN(float64(v)) && int64(q[i]) != want {
					t.Fatalf("n %d: Quantize(%g / %g + %d) = %d, interp %d", n, v, scale, zero, q[i], want)
				}
			}
			// requantizeU8s against QTile's rule on integer sums held as
			// floats, clamps narrower than the bytes' range included
			ep := QTile{Zero: int32(zero), Lo: float32(-int32(zero)), Hi: float32(255 - int32(zero))}
			if n%2 == 1 {
				ep.Lo, ep.Hi = max(ep.Lo, -20), min(ep.Hi, 100)
			}
			acc := make([]float32, n)
			for i := range acc {
				acc[i] = float32(rng.IntN(1<<21) - 1<<20)
			}
			rs := float32(1e-4 + rng.Float64()*1e-3)
			r := make([]uint8, n)
			requantizeU8s(r, acc, rs, ep.Lo, ep.Hi, ep.Zero)
			for i, v := range acc {
				if want := ep.requant(int32(v), rs, false, 0); r[i] != want {
					t.Fatalf("%s, n %d: requantize(%g * %g) = %d, want %d", QISA(), n, v, rs, r[i], want)
				}
			}
			d := make([]float32, n)
			Dequantize(p, q, d, scale, zero)
			for i, b := range q {
				if want := DequantizeU8(b, scale, zero); d[i] != want {
					t.Fatalf("%s, n %d: Dequantize(%d) = %g, want %g", QISA(), n, b, d[i], want)
				}
			}
		}
		p.Close()
	}
}

// QAddOp against the interpreter's QLinearAdd (interp.Rescale), all byte
// pairs, with clamps.
func TestQAddOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := NewPool(2)
	defer p.Close()
	for k := range 20 {
		op := QAddOp{AScale: 0.02 * float32(0.5+rng.Float64()), BScale: 0.02 * float32(0.5+rng.Float64()), OutScale: 0.03 * float32(0.5+rng.Float64()),
			AZero: uint8(rng.IntN(256)), BZero: uint8(rng.IntN(256)), Zero: uint8(rng.IntN(256)), Lo: 0, Hi: 255}
		if k%3 == 1 {
			op.Lo = op.Zero
		}
		a, b := make([]uint8, 256*256), make([]uint8, 256*256)
		for i := range a {
			a[i], b[i] = uint8(i/256), uint8(i%256)
		}
		out := make([]uint8, len(a))
		op.Run(p, a, b, out)
		r := interp.NewRescale(op.AScale, int64(op.AZero), op.BScale, int64(op.BZero), op.OutScale, int64(op.Zero), int64(op.Lo), int64(op.Hi))
		for i := range out {
			if want := r.Add(int64(a[i]), int64(b[i])); int64(out[i]) != want {
				t.Fatalf("%+v: %d + %d = %d, want %d", op, a[i], b[i], out[i], want)
			}
		}
	}
}

// The byte views see the floats' memory, and the uint8 shift fills its
// vacated rows with the zero point.
func TestByteViewsAndQuantisedShift(t *testing.T) {
	f := []float32{math.Float32frombits(0x04030201), math.Float32frombits(0xfffefd80)}
	if b := Bytes(f); len(b) != 8 || b[0] != 1 || b[3] != 4 || b[4] != 0x80 {
		t.Errorf("Bytes = %v", b)
	}
	if i := Int8s(f); len(i) != 8 || i[4] != -128 || i[7] != -1 {
		t.Errorf("Int8s = %v", i)
	}
	if i := Int32s(f); len(i) != 2 || i[0] != 0x04030201 || i[1] != -66176 {
		t.Errorf("Int32s = %v", i)
	}
	if Bytes(nil) != nil || Int8s(nil) != nil || Int32s(nil) != nil {
		t.Error("views of no floats are not nil")
	}
	// 2 frames of 2 channels of 3 bytes; channel 0 reads the previous frame
	x := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	s := TemporalShift{Segments: 2, Ranges: []ShiftRange{{Begin: 0, End: 1, Offset: -1}}}
	dst := make([]uint8, len(x))
	if err := s.ApplyQ(dst, x, 2, 2, 3, nil, 42); err != nil {
		t.Fatal(err)
	}
	want := []uint8{42, 42, 42, 4, 5, 6, 1, 2, 3, 10, 11, 12}
	rows := NewQRows(2, 2)
	rows.SetPlain(x, 2, 2, 3)
	for i := range dst {
		if dst[i] != want[i] {
			t.Fatalf("ApplyQ = %v, want %v", dst, want)
		}
	}
	if len(rows) != 4 || rows[3][2] != 12 || cap(rows[1]) != 3 {
		t.Errorf("SetPlain rows %v", rows)
	}
}
