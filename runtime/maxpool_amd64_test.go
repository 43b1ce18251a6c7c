//go:build amd64 && !purego

package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// maxPoolRowTwin is the MaxPoolRow contract in Go.
func maxPoolRowTwin(a *MaxPoolRow) {
	o := a.O[:cap(a.O)]
	rows := [][]float32{a.R0[:cap(a.R0)], a.R1[:cap(a.R1)], a.R2[:cap(a.R2)]}
	for y := range a.N {
		for x := range a.O {
			acc := float32(math.Inf(-1))
			for _, r := range rows {
				for c := 2*x - 1; c <= 2*x+1; c++ {
					if c >= 0 && c < len(a.R0) && r[2*y*a.LD+c] > acc {
						acc = r[2*y*a.LD+c]
					}
				}
			}
			o[y*a.LDO+x] = acc
		}
	}
}

// TestAsmMaxPoolRow runs the row kernel over input widths 1..80, every
// output count the contract allows for them (pads on the right, ceil
// mode), 0 to 3 output rows at input and output pitches past the rows,
// misaligned rows, and values including infinities: equal to the twin,
// and nothing written but the outputs.
func TestAsmMaxPoolRow(t *testing.T) {
	kern := archMaxPoolRow(ISAAVX512)
	if kern == nil || archLevels()[0] != ISAAVX512 {
		t.Skip("no AVX-512 max-pool kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	const canary = 12345
	for w := 1; w <= 80; w++ {
		for ow := 1; ow <= (w+2)/2; ow++ {
			n := rng.IntN(4)
			ld, ldo := w+rng.IntN(9), ow+rng.IntN(5)
			span := max(0, 2*(n-1))*ld + w // the floats the rows of n outputs span
			row := func() []float32 {
				o := rng.IntN(16)
				r := randFloats(rng, o+span)[o:]
				if rng.IntN(4) == 0 {
					r[rng.IntN(span)] = float32(math.Inf(2*rng.IntN(2) - 1))
				}
				return r[:w]
			}
			a := MaxPoolRow{R0: row(), R1: row(), R2: row(), N: n, LD: ld, LDO: ldo}
			buf := make([]float32, max(0, n-1)*ldo+ow+17)
			for i := range buf {
				buf[i] = canary
			}
			want := a
			wantBuf := append([]float32(nil), buf...)
			a.O, want.O = buf[:ow], wantBuf[:ow]
			maxPoolRowTwin(&want)
			kern(&a)
			for i := range buf {
				if buf[i] != wantBuf[i] {
					t.Fatalf("w=%d ow=%d n=%d ld=%d ldo=%d: O[%d] = %g, want %g (%g: not an output)", w, ow, n, ld, ldo, i, buf[i], wantBuf[i], float32(canary))
				}
			}
		}
	}
}

// BenchmarkMaxPoolRows compares ResNet50's max pool through the row
// kernel and in Go.
func BenchmarkMaxPoolRows(b *testing.B) {
	s := PoolShape{Planes: 64, H: 112, W: 112, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	for _, kern := range []bool{true, false} {
		b.Run(fmt.Sprintf("kernel=%v", kern), func(b *testing.B) {
			saved := maxPoolRow
			defer func() { maxPoolRow = saved }()
			if !kern {
				maxPoolRow = nil
			} else if maxPoolRow == nil {
				b.Skip("no row kernel at this level")
			}
			mp, err := NewMaxPool(s)
			if err != nil {
				b.Fatal(err)
			}
			x := randFloats(rand.New(rand.NewPCG(1, 1)), s.Planes*s.H*s.W)
			out := make([]float32, s.Planes*mp.oh*mp.ow)
			p := NewPool(1)
			defer p.Close()
			for b.Loop() {
				mp.Run(p, x, out)
			}
		})
	}
}

// TestMaxPoolRowsSteadyStateAllocs: the row kernel's argument block lives
// in the worker's state, so a run allocates at most its loop closure.
func TestMaxPoolRowsSteadyStateAllocs(t *testing.T) {
	if maxPoolRow == nil {
		t.Skip("no max-pool row kernel at this ISA level")
	}
	m, err := NewMaxPool(PoolShape{Planes: 16, H: 28, W: 28, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
		PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, out := randFloats(rand.New(rand.NewPCG(1, 2)), 16*28*28), make([]float32, 16*14*14)
	p := NewPool(2)
	defer p.Close()
	m.Run(p, x, out)
	if n := testing.AllocsPerRun(20, func() { m.Run(p, x, out) }); n > 1 {
		t.Errorf("max pool Run allocates %v times per call, want at most 1", n)
	}
}
