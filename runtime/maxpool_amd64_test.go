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
	for x := range a.O {
		acc := float32(math.Inf(-1))
		for _, r := range [][]float32{a.R0, a.R1, a.R2} {
			for c := 2*x - 1; c <= 2*x+1; c++ {
				if c >= 0 && c < len(r) && r[c] > acc {
					acc = r[c]
				}
			}
		}
		a.O[x] = acc
	}
}

// TestAsmMaxPoolRow runs the row kernel over input widths 1..80, every
// output count the contract allows for them (pads on the right, ceil
// mode), misaligned rows, and values including infinities: equal to the
// twin, and nothing written past len(O).
func TestAsmMaxPoolRow(t *testing.T) {
	kern := archMaxPoolRow(ISAAVX512)
	if kern == nil || archLevels()[0] != ISAAVX512 {
		t.Skip("no AVX-512 max-pool kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for w := 1; w <= 80; w++ {
		for ow := 1; ow <= (w+2)/2; ow++ {
			row := func() []float32 {
				o := rng.IntN(16)
				r := randFloats(rng, o+w)[o:]
				if rng.IntN(4) == 0 {
					r[rng.IntN(w)] = float32(math.Inf(2*rng.IntN(2) - 1))
				}
				return r
			}
			a := MaxPoolRow{R0: row(), R1: row(), R2: row()}
			buf := make([]float32, ow+17)
			for i := range buf {
				buf[i] = 12345
			}
			a.O = buf[:ow]
			want := a
			want.O = make([]float32, ow)
			maxPoolRowTwin(&want)
			kern(&a)
			for x := range ow {
				if a.O[x] != want.O[x] {
					t.Fatalf("w=%d ow=%d: O[%d] = %g, want %g", w, ow, x, a.O[x], want.O[x])
				}
			}
			for i := ow; i < len(buf); i++ {
				if buf[i] != 12345 {
					t.Fatalf("w=%d ow=%d: wrote past the outputs at %d", w, ow, i)
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
