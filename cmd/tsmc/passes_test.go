package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// inspectJSON runs tsmc inspect -json with args on the tiny official model.
func inspectJSON(t *testing.T, args ...string) inspectReport {
	t.Helper()
	code, out, errOut := tsmcRun(append(append([]string{"inspect", "-json"}, args...), tinyModel)...)
	if code != 0 {
		t.Fatalf("inspect %v: exit %d: %s", args, code, errOut)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	return r
}

func TestInspectRunsThePipeline(t *testing.T) {
	r := inspectJSON(t)
	if r.Shifts != 4 || r.FusedShifts != 4 {
		t.Errorf("shifts %d, fused %d; the tiny official model has 4 shifts, all fusable", r.Shifts, r.FusedShifts)
	}
	for _, op := range []string{"Conv", "ScatterND", "Slice", "Concat", "Where", "Expand", "ConstantOfShape", "tsmc.TemporalShift"} {
		if r.Ops[op] > 0 {
			t.Errorf("%d %s left after the pipeline: ops %v", r.Ops[op], op, r.Ops)
		}
	}
	if r.ConstantBytes >= r.ConstantBytesBefore || r.ConstantBytes-r.ParamBytes > 1024 {
		t.Errorf("constants %d bytes after, %d before, weights %d: want them down to the weights",
			r.ConstantBytes, r.ConstantBytesBefore, r.ParamBytes)
	}
	if len(r.Passes) < 5 || r.Passes[0] != "fold-constants" {
		t.Errorf("passes %v", r.Passes)
	}

	raw := inspectJSON(t, "-passes=false")
	if raw.Shifts != 0 || len(raw.Passes) != 0 || raw.Ops["ScatterND"] != 12 || raw.ConstantBytes != r.ConstantBytesBefore {
		t.Errorf("-passes=false: shifts %d, passes %v, ops %v, constants %d (want the import: 12 ScatterND, %d bytes)",
			raw.Shifts, raw.Passes, raw.Ops, raw.ConstantBytes, r.ConstantBytesBefore)
	}
	if raw.MACs != r.MACs {
		t.Errorf("MACs %d as imported, %d after the pipeline; fusion must not change them", raw.MACs, r.MACs)
	}
}

func TestInspectAfterPrint(t *testing.T) {
	code, out, errOut := tsmcRun("inspect", "-after", "recognize-shift", "-print", tinyModel)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "graph ") || strings.Count(out, "= tsmc.TemporalShift(") != 4 || strings.Contains(out, "tsmc.Conv(") {
		t.Errorf("after recognize-shift want 4 TemporalShift and no tsmc.Conv yet:\n%s", out)
	}
	for _, args := range [][]string{
		{"inspect", "-after", "no-such-pass", tinyModel},
		{"inspect", "-after", "dead-code", "-passes=false", tinyModel},
		{"inspect", "-print", "-json", tinyModel},
	} {
		if code, _, errOut := tsmcRun(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, errOut)
		}
	}
}

func TestVerifyWithAndWithoutPasses(t *testing.T) {
	for _, flag := range []string{"-passes=true", "-passes=false"} {
		code, out, errOut := tsmcRun("verify", "-engine", "interp", flag, tinyModel)
		if code != 0 || !strings.HasSuffix(out, "2 passed, 0 failed\n") {
			t.Errorf("verify %s: exit %d:\n%s%s", flag, code, out, errOut)
		}
	}
}
