package ops

import (
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

func TestTemporalShiftShapeRule(t *testing.T) {
	tests := []struct {
		name     string
		x, state ir.Shape
		shift    Shift
		want     string // part of the error, "" for none
	}{
		{"offline", ir.Shape{8, 16, 2, 2}, nil, Shift{4, []ShiftRange{{0, 2, 1}, {2, 4, -1}}}, ""},
		{"online", ir.Shape{2, 16, 2, 2}, ir.Shape{1, 2, 2, 2}, Shift{2, []ShiftRange{{0, 2, -1}}}, ""},
		{"segments do not divide", ir.Shape{6, 16, 2, 2}, nil, Shift{4, []ShiftRange{{0, 2, 1}}}, "not a multiple"},
		{"range past the channels", ir.Shape{8, 16, 2, 2}, nil, Shift{8, []ShiftRange{{12, 20, 1}}}, "exceeds"},
		{"state of wrong channels", ir.Shape{1, 16, 2, 2}, ir.Shape{1, 3, 2, 2}, Shift{1, []ShiftRange{{0, 2, -1}}}, "want [1,2,2,2]"},
		{"state with a future offset", ir.Shape{1, 16, 2, 2}, ir.Shape{1, 2, 2, 2}, Shift{1, []ShiftRange{{0, 2, 1}}}, "previous frame"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &ir.Node{Name: "ts", Op: OpTemporalShift, Domain: Domain,
				Inputs: []*ir.Value{{Name: "x", DType: ir.Float32, Shape: tc.x}}, Outputs: []*ir.Value{{Name: "y"}}}
			if tc.state != nil {
				n.Inputs = append(n.Inputs, &ir.Value{Name: "s", DType: ir.Float32, Shape: tc.state})
			}
			tc.shift.Attrs(n)
			err := inferTemporalShift(nil, n)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want == "" && !n.Outputs[0].Shape.Equal(tc.x):
				t.Errorf("output shape %v, want %v", n.Outputs[0].Shape, tc.x)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
