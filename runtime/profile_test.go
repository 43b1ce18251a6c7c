package runtime

import (
	"strings"
	"testing"
)

// TestProfile records a conv and an add run twice each and checks the
// entries: first-call order, call counts, names, FLOPs, positive times;
// and that nothing is recorded once stopped.
func TestProfile(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	s := ConvShape{Frames: 1, Cin: 4, H: 5, W: 5, Cout: 6, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	packed, _ := PackConvWeights(make([]float32, 6*4*9), 6, 4, 3, 3, 1, PackMR)
	c, err := NewConv(s, packed, PackMR, nil, Act{})
	if err != nil {
		t.Fatal(err)
	}
	in := PlainRows(make([]float32, s.InLen()), 1, 4, 25)
	out := make([]float32, s.OutLen())
	StartProfile()
	for range 2 {
		c.Run(p, in, out, nil)
		Add(p, out, out, out, Relu)
	}
	ops := StopProfile()
	c.Run(p, in, out, nil)
	if len(ops) != 2 {
		t.Fatalf("profile has %d ops, want 2: %+v", len(ops), ops)
	}
	if ops[0].Op != s.String() || ops[0].Calls != 2 || ops[0].FLOPs != s.FLOPs() || ops[0].Time <= 0 ||
		ops[0].Min <= 0 || 2*ops[0].Min > ops[0].Time {
		t.Errorf("conv entry %+v", ops[0])
	}
	if !strings.HasPrefix(ops[1].Op, "add [150]") || ops[1].Calls != 2 || ops[1].FLOPs != 0 {
		t.Errorf("add entry %+v", ops[1])
	}
	if StopProfile() != nil {
		t.Error("a stopped profile returned ops")
	}
}
