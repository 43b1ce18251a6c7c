package runtime

import (
	"os"
	"slices"
	"testing"
)

func TestCapLevels(t *testing.T) {
	amd := []string{ISAAVX512, ISAAVX2, ISAGeneric}
	qamd := []string{ISAAVX512VNNI, ISAAVXVNNI, ISAAVX2, ISAGeneric}
	arm := []string{ISANEON, ISAGeneric}
	qarm := []string{ISANEONDOT, ISANEON, ISAGeneric}
	for _, c := range []struct {
		list []string
		want string
		got  []string
	}{
		{amd, "", amd},
		{amd, "avx512vnni", amd},
		{qamd, "avx512", qamd[1:]},
		{amd, "avxvnni", amd[1:]},
		{qamd, "avxvnni", qamd[1:]},
		{amd, "avx2", amd[1:]},
		{qamd, "avx2", qamd[2:]},
		{qamd, "generic", qamd[3:]},
		{qamd, "neon", qamd},
		{qamd, "sse", qamd},
		{qamd[2:], "avx512vnni", qamd[2:]}, // never a higher level
		{qarm, "neon", qarm[1:]},
		{arm, "neondot", arm},
		{qarm, "avx2", qarm},
		{[]string{ISAGeneric}, "avx2", []string{ISAGeneric}},
	} {
		if got := capLevels(c.list, c.want); !slices.Equal(got, c.got) {
			t.Errorf("capLevels(%v, %q) = %v, want %v", c.list, c.want, got, c.got)
		}
	}
}

// TestISAForced checks that TSMC_ISA selected the levels CI forces (it
// is read at init; the test reads what init chose).
func TestISAForced(t *testing.T) {
	want := os.Getenv("TSMC_ISA")
	if want == "" {
		t.Skip("TSMC_ISA is not set")
	}
	if got, exp := ISA(), capLevels(archLevels(), want)[0]; got != exp {
		t.Errorf("TSMC_ISA=%s: ISA() = %s, want %s", want, got, exp)
	}
	if got, exp := QISA(), capLevels(archQLevels(), want)[0]; got != exp {
		t.Errorf("TSMC_ISA=%s: QISA() = %s, want %s", want, got, exp)
	}
	t.Logf("TSMC_ISA=%s: float32 %s, int8 %s", want, ISA(), QISA())
}
