package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTuneThenCompile tunes the tiny model twice into one records file
// (the second run merges into the first's records), then compiles with
// them: the package documentation lists the tuned layers, and compiling
// again gives the same code.
func TestTuneThenCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tuning program")
	}
	tmp := t.TempDir()
	records := filepath.Join(tmp, "tuning.jsonl")
	busy := 0 // signatures timed while other processes held the CPUs: no record
	for _, threads := range []string{"1", "2"} {
		code, _, errOut := tsmcRun("tune", "-threads", threads, "-budget", "1s", "-o", records, tinyModel)
		if code != 0 {
			t.Fatalf("tune -threads %s: exit %d: %s", threads, code, errOut)
		}
		for _, want := range []string{"tuning [", "planned layers", "records   " + records} {
			if !strings.Contains(errOut, want) {
				t.Errorf("tune -threads %s printed %q, without %q", threads, errOut, want)
			}
		}
		if m := busyLine.FindStringSubmatch(errOut); m != nil {
			n, _ := strconv.Atoi(m[1])
			busy += n
		}
	}
	data, err := os.ReadFile(records)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	if s := strings.TrimSpace(string(data)); s != "" {
		lines = strings.Split(s, "\n")
	}
	if len(lines)+busy != 26 {
		t.Errorf("%d records and %d signatures timed busy, want 13 layers at 1 and 2 threads:\n%s", len(lines), busy, data)
	}
	if len(lines) == 0 {
		t.Skip("the machine was too busy for any record")
	}
	var srcs []string
	for _, dir := range []string{"a", "b"} {
		out := filepath.Join(tmp, dir)
		if code, _, errOut := tsmcRun("compile", "-tuning", records, "-pkg", "tiny", "-o", out, tinyModel); code != 0 {
			t.Fatalf("compile -tuning: exit %d: %s", code, errOut)
		}
		src, err := os.ReadFile(filepath.Join(out, "model.go"))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(src))
	}
	if srcs[0] != srcs[1] {
		t.Error("two compilations with one records file differ")
	}
	if !strings.Contains(srcs[0], "// Tuning: ") || !strings.Contains(srcs[0], "planned layers take tuned plans") {
		t.Error("the package documentation does not say which layers are tuned")
	}
}

// busyLine is tune's warning that some signatures were timed on a busy
// machine; its first group counts them.
var busyLine = regexp.MustCompile(`busy .*: (\d+) of \d+ signatures`)

func TestTuneErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tune"}, 2, "missing MODEL.onnx"},
		{[]string{"tune", "-budget", "-1s", tinyModel}, 2, "-budget"},
		{[]string{"tune", "-o", bad, tinyModel}, 1, bad + ":1: not a tuning record"},
		{[]string{"compile", "-tuning", bad, "-o", filepath.Join(t.TempDir(), "x"), tinyModel}, 1, bad + ":1"},
		{[]string{"bench", "-tuning", filepath.Join(t.TempDir(), "none.jsonl"), tinyModel}, 1, "none.jsonl"},
	} {
		code, _, errOut := tsmcRun(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("tsmc %v: exit %d, %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
