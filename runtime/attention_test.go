package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refAttention is Attention's definition in float64.
func refAttention(batch, d, m, n, e int, scale float32, qt, k, vt []float32) []float64 {
	return refAttend(batch, d, m, n, e, vt, func(b, i, j int) float64 {
		q, kb := qt[b*d*m:], k[b*d*n:]
		var acc float64
		for c := range d {
			acc += float64(q[c*m+i]) * float64(kb[c*n+j])
		}
		return float64(scale) * acc
	})
}

// refAttend is the attention of member b's query i with scores
// score(b, i, j) over the n keys: their softmax and its product with vt,
// in float64.
func refAttend(batch, d, m, n, e int, vt []float32, score func(b, i, j int) float64) []float64 {
	yt := make([]float64, batch*e*m)
	s := make([]float64, n)
	for b := range batch {
		v := vt[b*e*n:]
		for i := range m {
			top := math.Inf(-1)
			for j := range n {
				s[j] = score(b, i, j)
				top = math.Max(top, s[j])
			}
			var sum float64
			for j := range n {
				s[j] = math.Exp(s[j] - top)
				sum += s[j]
			}
			for c := range e {
				var acc float64
				for j := range n {
					acc += float64(v[c*n+j]) * s[j] / sum
				}
				yt[b*e*m+c*m+i] = acc
			}
		}
	}
	return yt
}

// TestAttention checks Attention against its float64 definition at 1, 2
// and 3 threads over shapes with short last blocks, single blocks, rows
// and columns past the micro-kernel's tiles, several members, and scales.
func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		batch, d, m, n, e int
		scale             float32
	}{
		{1, 1, 1, 1, 1, 1},
		{1, 4, 5, 3, 2, 1},
		{2, 8, 37, 9, 8, 0.5},
		{1, 16, 128, 32, 8, 1},
		{3, 5, 100, 17, 33, 0.125},
		{1, 32, 300, 400, 24, 1},
		{2, 12, 250, 1568, 16, 0.0625},
		{1, 64, 64, 2000, 64, 1},
	} {
		qt, k, vt := randFloats(rng, c.batch*c.d*c.m), randFloats(rng, c.batch*c.d*c.n), randFloats(rng, c.batch*c.e*c.n)
		a, err := NewAttention(c.batch, c.d, c.m, c.n, c.e, c.scale)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("attention b=%d d=%d m=%d n=%d e=%d scale=%g (blocks of %d)", c.batch, c.d, c.m, c.n, c.e, c.scale, a.rows)
		want := refAttention(c.batch, c.d, c.m, c.n, c.e, c.scale, qt, k, vt)
		checkAtThreads(t, name, len(want), want, func(p *Pool, out []float32) { a.Run(p, qt, k, vt, out) })
	}
}

func TestAttentionErrors(t *testing.T) {
	for _, c := range [][5]int{{0, 1, 1, 1, 1}, {1, 1, -1, 1, 1}, {1, 1, 1, 0, 1}} {
		if _, err := NewAttention(c[0], c[1], c[2], c[3], c[4], 1); err == nil {
			t.Errorf("sizes %v accepted", c)
		}
	}
	if _, err := NewAttention(1, 1, 1, 1, 1, float32(math.Inf(1))); err == nil {
		t.Error("infinite scale accepted")
	}
}

// BenchmarkAttention times the non-local block's attention at 56x56 over
// 8 frames (6272 queries, keys pooled to 1568, 256 channels) and at
// 28x28, with float32 queries and keys (Attention) and with uint8 ones
// (NewQAttention).
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name       string
		d, m, n, e int
	}{{"nonlocal_56", 256, 6272, 1568, 256}, {"nonlocal_28", 512, 1568, 392, 512}} {
		vt, yt := randFloats(rng, c.e*c.n), make([]float32, c.e*c.m)
		b.Run(c.name+"/f32", func(b *testing.B) {
			a, err := NewAttention(1, c.d, c.m, c.n, c.e, 1)
			if err != nil {
				b.Fatal(err)
			}
			qt, k := randFloats(rng, c.d*c.m), randFloats(rng, c.d*c.n)
			benchRun(b, 1, a.profileFLOPs(), func(p *Pool) { a.Run(p, qt, k, vt, yt) })
		})
		b.Run(c.name+"/int8", func(b *testing.B) {
			a, err := NewQAttention(1, c.d, c.m, c.n, c.e, 1, 0.05, 134, 0.05, 127)
			if err != nil {
				b.Fatal(err)
			}
			qt, k := randBytes(rng, c.d*c.m), randBytes(rng, c.d*c.n)
			benchRun(b, 1, a.profileFLOPs(), func(p *Pool) { a.RunQ(p, qt, k, vt, yt) })
		})
	}
}
