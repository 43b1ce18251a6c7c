package interp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/conformance"
	"github.com/tsmc-go/tsmc/ir"
)

// conformanceSkips lists the backend test cases of supported ops that are
// outside the interpreter's scope, with the reason. Everything else must
// pass.
var conformanceSkips = map[string]string{}

// TestConformance runs the ONNX backend node tests (as packaged by onnx-go)
// of every supported op through the onnx reader and Run.
func TestConformance(t *testing.T) {
	run, passed, skipped, ops := 0, 0, 0, 0
	for _, op := range Supported() {
		titles := conformance.Titles(op)
		if strings.Contains(op, ".") || len(titles) == 0 {
			continue
		}
		ops++
		for _, title := range titles {
			if reason, ok := conformanceSkips[title]; ok {
				skipped++
				t.Logf("skip %s/%s: %s", op, title, reason)
				continue
			}
			run++
			if t.Run(op+"/"+title, func(t *testing.T) { runConformanceCase(t, op, title) }) {
				passed++
			}
		}
	}
	summary := fmt.Sprintf("conformance: %d passed / %d run (%d ops), %d skipped as out of scope", passed, run, ops, skipped)
	t.Log(summary)
	fmt.Println(summary)
}

func runConformanceCase(t *testing.T, op, title string) {
	c, err := conformance.Load(op, title)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]*ir.Tensor{}
	for i, in := range c.Graph.Inputs {
		inputs[in.Name] = c.Inputs[i]
	}
	outs, err := Run(c.Graph, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range c.Graph.Outputs {
		if err := conformance.Check(outs[o.Name], c.Outputs[i]); err != nil {
			t.Fatalf("output %s: %v", o.Name, err)
		}
	}
}
