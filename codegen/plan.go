package codegen

import (
	"fmt"
	"sort"
)

// Interval is one buffer of a static memory plan: Size floats that must
// stay intact from step Start to step End, both included.
type Interval struct {
	Size       int
	Start, End int
}

// overlaps reports whether two buffers are live at a common step.
func (a Interval) overlaps(b Interval) bool {
	return a.Start <= b.End && b.Start <= a.End
}

// PlanOffsets places buffers in one arena: every offset is a multiple of
// align floats, and two buffers live at a common step never share a
// float. It returns the offsets, in the order of bufs, and the arena size
// (a multiple of align).
//
// The placement is greedy by size (the largest buffers first, then by
// start and index, so the plan is deterministic): each buffer takes the
// lowest aligned offset that fits between the buffers already placed
// whose lifetimes overlap its own.
func PlanOffsets(bufs []Interval, align int) (offsets []int, total int, err error) {
	if align <= 0 {
		return nil, 0, fmt.Errorf("alignment %d is not positive", align)
	}
	for i, b := range bufs {
		if b.Size < 0 || b.Start > b.End {
			return nil, 0, fmt.Errorf("buffer %d: size %d, live [%d, %d] is not a valid interval", i, b.Size, b.Start, b.End)
		}
	}
	roundUp := func(n int) int { return (n + align - 1) / align * align }
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := bufs[order[i]], bufs[order[j]]
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		return a.Start < b.Start
	})
	offsets = make([]int, len(bufs))
	var placed []int // indices into bufs, kept sorted by offset
	for _, i := range order {
		b := bufs[i]
		off := 0
		for _, j := range placed {
			if !b.overlaps(bufs[j]) {
				continue
			}
			if offsets[j] >= off+roundUp(b.Size) {
				break // the gap before j is large enough
			}
			off = max(off, roundUp(offsets[j]+bufs[j].Size))
		}
		offsets[i] = off
		total = max(total, roundUp(off+b.Size))
		at := sort.Search(len(placed), func(k int) bool { return offsets[placed[k]] > off })
		placed = append(placed, 0)
		copy(placed[at+1:], placed[at:])
		placed[at] = i
	}
	return offsets, total, nil
}
