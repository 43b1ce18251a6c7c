package passes

import (
	"slices"
	"strings"
	"testing"
)

func TestPassOrder(t *testing.T) {
	if err := checkOrder(Pipeline); err != nil {
		t.Fatalf("the pipeline breaks its own order: %v", err)
	}
	for _, c := range passOrder {
		swapped := slices.Clone(Pipeline)
		a := slices.IndexFunc(swapped, func(p Pass) bool { return p.Name == c.a })
		b := -1
		for i, p := range swapped {
			if p.Name == c.b {
				b = i // the last run of b
			}
		}
		swapped[a], swapped[b] = swapped[b], swapped[a]
		err := checkOrder(swapped)
		if want := "pass " + c.a + " must run before " + c.b; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("swapping %s and %s: got %v, want %q", c.a, c.b, err, want)
		}
	}
	missing := slices.DeleteFunc(slices.Clone(Pipeline), func(p Pass) bool { return p.Name == "fuse-shift" })
	if err := checkOrder(missing); err == nil || !strings.Contains(err.Error(), "lacks") {
		t.Errorf("a pipeline without fuse-shift: got %v", err)
	}
}
