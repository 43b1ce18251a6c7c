package main

import "testing"

// TestReadArgBlocks checks the layouts read from package runtime against
// the offsets its documentation states (kernel.go, depthwise.go) and
// those of the int8 blocks (qgemm.go, qconv.go).
func TestReadArgBlocks(t *testing.T) {
	blocks, err := readArgBlocks("../../../runtime", "Tile", "DWRow", "QTile", "QPack")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]map[string]int{
		"Tile": {"A": 0, "B": 24, "C": 48, "Bias": 72, "R": 96, "K": 120, "LDA": 128, "LDB": 136,
			"LDC": 144, "LDR": 152, "Lo": 160, "Hi": 164, "Flags": 168, "BRows": 176, "BOff": 200, "Segs": 208},
		"DWRow": {"O": 0, "R0": 24, "R1": 48, "R2": 72, "Res": 96, "W": 120, "Stride": 128, "Bias": 136, "Lo": 140, "Hi": 144},
		"QTile": {"A": 0, "B": 24, "C": 48, "R": 72, "Offset": 96, "Scale": 120, "K4": 144, "LDA": 152, "LDC": 160,
			"LDR": 168, "Zero": 176, "Lo": 180, "Hi": 184, "ZeroC": 188, "Lo1": 192, "Hi1": 196, "S1": 200, "SR": 204, "F": 208, "Swap": 212,
			"BRows": 216, "BOff": 240},
		"QPack": {"Dst": 0, "Rows": 24, "Off": 48, "Q": 56, "SW": 64, "N": 72, "NR": 80, "Flip": 88},
	} {
		b := blocks[name]
		if len(b.order) != len(want) {
			t.Errorf("%s: fields %v, documented %d", name, b.order, len(want))
		}
		for f, off := range want {
			if got, ok := b.offsets[f]; !ok || got != off {
				t.Errorf("%s.%s at %d (found %v), documented %d", name, f, got, ok, off)
			}
		}
	}
	if _, err := readArgBlocks("../../../runtime", "NoSuchType"); err == nil {
		t.Error("a missing type was laid out")
	}
	if _, err := readArgBlocks("../../../runtime", "Pool"); err == nil {
		t.Error("a struct of non-predeclared types was laid out")
	}
}
