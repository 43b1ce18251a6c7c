package runtime

import (
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
