package codegen

import (
	"math/rand/v2"
	"testing"
)

// checkPlacement fails when two buffers live at a common step share a
// float, an offset is not aligned, or a buffer leaves the arena.
func checkPlacement(t *testing.T, bufs []Interval, offsets []int, total, align int) {
	t.Helper()
	if total%align != 0 {
		t.Errorf("arena size %d is not a multiple of %d", total, align)
	}
	for i, a := range bufs {
		if offsets[i]%align != 0 {
			t.Errorf("buffer %d at offset %d is not aligned to %d", i, offsets[i], align)
		}
		if offsets[i] < 0 || offsets[i]+a.Size > total {
			t.Errorf("buffer %d [%d, +%d) leaves the arena of %d", i, offsets[i], a.Size, total)
		}
		for j := i + 1; j < len(bufs); j++ {
			b := bufs[j]
			live := a.Start <= b.End && b.Start <= a.End
			disjoint := offsets[i]+a.Size <= offsets[j] || offsets[j]+b.Size <= offsets[i]
			if live && !disjoint && a.Size > 0 && b.Size > 0 {
				t.Errorf("buffers %d %+v at %d and %d %+v at %d are live together and overlap", i, a, offsets[i], j, b, offsets[j])
			}
		}
	}
}

func TestPlanOffsetsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(40)
		bufs := make([]Interval, n)
		sum := 0
		for i := range bufs {
			start := rng.IntN(30)
			bufs[i] = Interval{Size: rng.IntN(500), Start: start, End: start + rng.IntN(8)}
			sum += (bufs[i].Size + 15) / 16 * 16
		}
		align := []int{1, 4, 16}[trial%3]
		offsets, total, err := PlanOffsets(bufs, align)
		if err != nil {
			t.Fatal(err)
		}
		checkPlacement(t, bufs, offsets, total, align)
		if align == 16 && total > sum {
			t.Errorf("trial %d: arena %d larger than all buffers side by side (%d)", trial, total, sum)
		}
		if t.Failed() {
			t.Fatalf("trial %d: %+v -> %v", trial, bufs, offsets)
		}
	}
}

func TestPlanOffsetsReusesDeadBuffers(t *testing.T) {
	// A chain: each step reads the previous tensor and writes the next, so
	// only two neighbours are ever live together.
	var bufs []Interval
	for i := range 10 {
		bufs = append(bufs, Interval{Size: 100, Start: i, End: i + 1})
	}
	offsets, total, err := PlanOffsets(bufs, 16)
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, bufs, offsets, total, 16)
	if total != 2*112 {
		t.Errorf("chain of 10 tensors of 100 floats needs 2 aligned slots (224 floats), got %d (offsets %v)", total, offsets)
	}
}

func TestPlanOffsetsAlignment(t *testing.T) {
	bufs := []Interval{{Size: 1, Start: 0, End: 2}, {Size: 17, Start: 0, End: 2}, {Size: 3, Start: 1, End: 1}}
	offsets, total, err := PlanOffsets(bufs, 16)
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, bufs, offsets, total, 16)
	if total != 64 {
		t.Errorf("sizes 1, 17, 3 all live together take 16+32+16 = 64 aligned floats, got %d", total)
	}
}

func TestPlanOffsetsRejectsBadIntervals(t *testing.T) {
	for _, bufs := range [][]Interval{
		{{Size: -1, Start: 0, End: 0}},
		{{Size: 4, Start: 3, End: 2}},
	} {
		if _, _, err := PlanOffsets(bufs, 16); err == nil {
			t.Errorf("%+v: no error", bufs)
		}
	}
	if _, _, err := PlanOffsets(nil, 0); err == nil {
		t.Error("alignment 0: no error")
	}
}
