package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

// Naive, obviously-correct references in float64, and test helpers.

func randFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// refAct applies a in float64.
func refAct(a Act, v float64) float64 {
	switch a.Kind {
	case ActRelu:
		return math.Max(v, 0)
	case ActClip:
		return math.Min(math.Max(v, float64(a.Min)), float64(a.Max))
	case ActSigmoid:
		return 1 / (1 + math.Exp(-v))
	case ActSiLU:
		return v / (1 + math.Exp(-v))
	case ActHardSigmoid:
		return math.Max(0, math.Min(1, float64(a.Alpha)*v+float64(a.Beta)))
	case ActHardSwish:
		return v * math.Max(0, math.Min(1, float64(a.Alpha)*v+float64(a.Beta)))
	}
	return v
}

// tailActs are the activations the drivers apply after the kernels.
var tailActs = []Act{SiLU, HardSwish(1.0/6, 0.5), Sigmoid, HardSigmoid(0.2, 0.5)}

// refConv is the direct convolution of the input seen through rows
// ([frame*Cin+c] -> H*W plane), ONNX weights w [Cout][Cin/G][KH][KW].
func refConv(s ConvShape, in Rows, w, bias, res []float32, act Act) []float64 {
	s = s.normalized()
	oh, ow := s.OutH(), s.OutW()
	cinG, coutG := s.Cin/s.Group, s.Cout/s.Group
	out := make([]float64, s.Frames*s.Cout*oh*ow)
	for f := range s.Frames {
		for co := range s.Cout {
			g := co / coutG
			for oy := range oh {
				for ox := range ow {
					var acc float64
					for ci := range cinG {
						row := in[f*s.Cin+g*cinG+ci]
						for ky := range s.KH {
							iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
							if iy < 0 || iy >= s.H {
								continue
							}
							for kx := range s.KW {
								ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
								if ix < 0 || ix >= s.W {
									continue
								}
								acc += float64(row[iy*s.W+ix]) * float64(w[((co*cinG+ci)*s.KH+ky)*s.KW+kx])
							}
						}
					}
					i := ((f*s.Cout+co)*oh+oy)*ow + ox
					if bias != nil {
						acc += float64(bias[co])
					}
					if res != nil {
						acc += float64(res[i])
					}
					out[i] = refAct(act, acc)
				}
			}
		}
	}
	return out
}

func checkClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	for i, g := range got {
		if math.IsNaN(float64(g)) {
			t.Fatalf("%s: NaN at %d", name, i)
		}
	}
	if e := floatcmp.Slices(got, want); e > tol {
		t.Errorf("%s: relative error %.3g > %.1g", name, e, tol)
	}
}

// withPools runs fn on pools of 1, 2 and 3 workers.
func withPools(t *testing.T, fn func(p *Pool)) {
	for _, n := range []int{1, 2, 3} {
		p := NewPool(n)
		fn(p)
		p.Close()
	}
}

// checkAtThreads runs op (writing its n outputs) on pools of 1, 2 and 3
// workers: every output written (out starts at 1e30), within 1e-5 of want,
// and every thread count bit for bit the same as one.
func checkAtThreads(t *testing.T, name string, n int, want []float64, op func(p *Pool, out []float32)) {
	t.Helper()
	var first []float32
	withPools(t, func(p *Pool) {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1e30
		}
		op(p, out)
		checkClose(t, fmt.Sprintf("%s/threads=%d", name, p.Threads()), out, want, 1e-5)
		if first == nil {
			first = out
		} else if !floatcmp.SameBits(first, out) {
			t.Errorf("%s: %d threads differ from 1 thread", name, p.Threads())
		}
	})
}
