package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// commandLineSection returns README's "Command line" section.
func commandLineSection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Command line\n")
	if !ok {
		t.Fatal("README has no Command line section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// flagSpan matches a code span that starts with a flag: `-name`,
// `-name VALUE`, `-name=false`.
var flagSpan = regexp.MustCompile("`(-{1,2}[a-z][a-z0-9-]*)[ =`]")

// TestREADMEDescribesTheCommandLine checks README's Command line section
// against the flag sets, the one source of tsmc's usage: its synopsis is
// the one tsmc help prints, every flag of every verb is described in it,
// and every flag it names (a code span starting with -name) exists.
func TestREADMEDescribesTheCommandLine(t *testing.T) {
	section := commandLineSection(t)
	want := synopses("    ")
	if !strings.HasPrefix(strings.TrimLeft(section, "\n"), want) {
		t.Errorf("README's Command line section does not start with the synopsis tsmc help prints:\n%s", want)
	}
	prose := strings.TrimPrefix(strings.TrimLeft(section, "\n"), want)
	known := map[string]bool{"-h": true, "--help": true}
	for _, c := range commands {
		fs, _ := newFlagSet(c, io.Discard)
		fs.VisitAll(func(f *flag.Flag) {
			known["-"+f.Name] = true
			if !regexp.MustCompile("`-" + regexp.QuoteMeta(f.Name) + "[ =`]").MatchString(prose) {
				t.Errorf("README's Command line section does not describe %s's flag -%s", c.name, f.Name)
			}
		})
	}
	for _, m := range flagSpan.FindAllStringSubmatch(prose, -1) {
		if !known[m[1]] {
			t.Errorf("README's Command line section names %s, which no verb has", m[1])
		}
	}
}
