package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// FuzzParseShape parses -shape values: never a panic; a value that parses
// names an input and has dimensions from 0 to ir.MaxElements, and prints
// back (formatShapes) as a flag that parses to the same binding; one that
// does not is an error saying "bad shape" and quoting it.
func FuzzParseShape(f *testing.F) {
	for _, s := range []string{
		"input=1x12x32x32", "state=", "a=0x3", "x=4294967296", "x=4294967297", "=1x2", "x", "x=1xx2",
		"x=1x-2", "x=+1", "x=1x", "x=ax2", "x=1x2=3", "a b=1", "x=007", "x=18446744073709551616", "é=1", "x=1 x2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, shape, err := parseShape(s)
		if err != nil {
			if !strings.Contains(err.Error(), "bad shape") || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("error %q does not say bad shape %q", err, s)
			}
			return
		}
		if name == "" || strings.Contains(name, "=") {
			t.Fatalf("%q parsed to input name %q", s, name)
		}
		for _, d := range shape {
			if d < 0 || d > ir.MaxElements {
				t.Fatalf("%q parsed to dimension %d", s, d)
			}
		}
		flag, ok := strings.CutPrefix(formatShapes(map[string]ir.Shape{name: shape}), "-shape ")
		if !ok {
			t.Fatalf("%q formats as %q", s, flag)
		}
		name2, shape2, err := parseShape(flag)
		if err != nil || name2 != name || !shape2.Equal(shape) {
			t.Fatalf("%q parsed to %s%v, formatted as %q, parsed again to %s%v (%v)", s, name, shape, flag, name2, shape2, err)
		}
	})
}
