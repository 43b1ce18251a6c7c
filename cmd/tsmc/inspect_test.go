package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectDotWithProfile runs the README's two commands: bench
// -profile -json into a file, then inspect -dot -profile on it, and
// renders the picture with -svg when Graphviz is installed.
func TestInspectDotWithProfile(t *testing.T) {
	dir := t.TempDir()
	code, prof, errOut := tsmcRun("bench", "-profile", "-json", "-n", "2", "-warmup", "0", "-threads", "1", tinyModel)
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	profPath := filepath.Join(dir, "profile.json")
	if err := os.WriteFile(profPath, []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	code, dot, errOut := tsmcRun("inspect", "-dot", "-profile", profPath, tinyModel)
	if code != 0 {
		t.Fatalf("inspect -dot -profile: exit %d: %s", code, errOut)
	}
	// 12 convolutions (the first with the max pool fused) and the dense
	// layer run kernels
	if !strings.HasPrefix(dot, "digraph ") || strings.Count(dot, "% of a run") != 13 || !strings.Contains(dot, `label="shift T=4`) {
		t.Errorf("the picture lacks the graph, the times of 13 nodes or the shifts:\n%s", dot)
	}

	svg := filepath.Join(dir, "tiny.svg")
	code, out, errOut := tsmcRun("inspect", "-svg", svg, tinyModel)
	if _, err := exec.LookPath("dot"); err != nil {
		if code == 0 || !strings.Contains(errOut, `"dot"`) || !strings.Contains(errOut, "graphviz") {
			t.Errorf("-svg without Graphviz: exit %d, error %q; want one naming the dot command and its package", code, errOut)
		}
		t.Skipf("Graphviz's dot is not installed (Debian: apt-get install graphviz): %v", err)
	}
	if code != 0 {
		t.Fatalf("inspect -svg: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(data), "</svg>") || !strings.Contains(out, "MACs") {
		t.Errorf("-svg wrote %d bytes (%v) and printed %q: want an SVG and the usual summary", len(data), err, out)
	}
}

func TestInspectDotUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-dot", "-json"},
		{"-dot", "-print"},
		{"-profile", "p.json"},
		{"-dot", "-profile", "p.json", "-after", "fuse-shift"},
		{"-dot", "-profile", "p.json", "-passes=false"},
	} {
		if code, _, errOut := tsmcRun(append(append([]string{"inspect"}, args...), tinyModel)...); code != 2 {
			t.Errorf("inspect %v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	code, _, errOut := tsmcRun("inspect", "-dot", "-profile", tinyModel, tinyModel)
	if code != 1 || !strings.Contains(errOut, "not a tsmc bench -json report") {
		t.Errorf("-profile of a model file: exit %d, error %q", code, errOut)
	}
}
