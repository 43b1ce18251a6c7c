package runtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCopyBytesKernel runs the assembly byte-row copy over widths around
// its 64-byte vectors, pitches, planes and misaligned rows against the Go
// twin: the same destination, nothing written outside the rows.
func TestCopyBytesKernel(t *testing.T) {
	k := copyBytesAsm
	if k == nil {
		t.Skip("no assembly byte-row copy at this level")
	}
	rng := rand.New(rand.NewPCG(5, 9))
	n := 0
	for _, cols := range []int{0, 1, 7, 14, 28, 63, 64, 65, 127, 128, 200} {
		for range 4 {
			a := CopyBytes{Rows: 1 + rng.IntN(5), Cols: cols, Planes: 1 + rng.IntN(3)}
			a.SLD, a.DLD = cols+rng.IntN(9), cols+rng.IntN(9)
			a.SPS, a.DPS = a.Rows*a.SLD+rng.IntN(5), a.Rows*a.DLD+rng.IntN(5)
			so, do := rng.IntN(64), rng.IntN(64)
			src := make([]uint8, so+a.Planes*a.SPS+64)
			for i := range src {
				src[i] = uint8(rng.IntN(256))
			}
			dst := make([]uint8, do+a.Planes*a.DPS+64)
			for i := range dst {
				dst[i] = uint8(rng.IntN(256))
			}
			a.Src, a.Dst = src[so:], dst[do:]
			w := a
			want := slices.Clone(dst)
			w.Dst = want[do:]
			copyBytesGo(&w)
			k(&a)
			name := fmt.Sprintf("cols %d rows %d planes %d SLD %d DLD %d SPS %d DPS %d", cols, a.Rows, a.Planes, a.SLD, a.DLD, a.SPS, a.DPS)
			if i := firstByteDiff(dst, want); i >= 0 {
				t.Fatalf("%s: byte %d is %d, the twin's %d", name, i-do, dst[i], want[i])
			}
			n++
		}
	}
	t.Logf("%d copies", n)
}
