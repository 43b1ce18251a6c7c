package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

const tinyModel = "../../testdata/tsm_tiny_official/model.onnx"

// tsmcRun runs the CLI in-process and returns its exit code and output.
func tsmcRun(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := tsmcRun("help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, verb := range []string{"inspect", "verify"} {
		if !strings.Contains(out, "tsmc "+verb) {
			t.Errorf("help does not list %s:\n%s", verb, out)
		}
	}
	code, _, errOut := tsmcRun("inspect", "-h")
	if code != 0 || !strings.Contains(errOut, "-shape") {
		t.Errorf("inspect -h: exit %d, output %q", code, errOut)
	}
	if code, _, _ := tsmcRun("frobnicate"); code != 2 {
		t.Errorf("unknown verb: exit %d, want 2", code)
	}
	if code, _, _ := tsmcRun("inspect"); code != 2 {
		t.Errorf("inspect without a model: exit %d, want 2", code)
	}
}

func TestInspectJSON(t *testing.T) {
	code, out, errOut := tsmcRun("inspect", "-json", tinyModel)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Inputs []struct {
			Name  string
			Shape []int
		}
		Outputs []struct {
			Name  string
			Shape []int
		}
		Ops    map[string]int
		Params int64
		MACs   int64 `json:"macs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Name != "input" || !equalInts(r.Inputs[0].Shape, []int{1, 12, 32, 32}) {
		t.Errorf("inputs = %+v", r.Inputs)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Name != "logits" || !equalInts(r.Outputs[0].Shape, []int{1, 10}) {
		t.Errorf("outputs = %+v", r.Outputs)
	}
	if r.Ops["tsmc.Conv"] == 0 || r.Params == 0 || r.MACs == 0 {
		t.Errorf("ops %v, params %d, macs %d: want convs, params and MACs", r.Ops, r.Params, r.MACs)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVerifyTiny(t *testing.T) {
	code, out, errOut := tsmcRun("verify", "-engine", "interp", tinyModel)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !strings.HasSuffix(out, "2 passed, 0 failed\n") {
		t.Errorf("closing line missing:\n%s", out)
	}
}

// copyModel copies the tiny model into a temporary folder and returns the
// new model path.
func copyModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	model, err := os.ReadFile(tinyModel)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.onnx")}, "nope.onnx"},
		{"empty file", []string{"inspect", write("empty.onnx", nil)}, "empty.onnx"},
		{"truncated file", []string{"inspect", write("trunc.onnx", model[:len(model)/2])}, "trunc.onnx"},
		{"random bytes", []string{"inspect", write("random.onnx", random)}, "random.onnx"},
		{"shape contradicts model", []string{"inspect", "-shape", "input=1x12x64x64", tinyModel}, "input"},
		{"bad shape flag", []string{"inspect", "-shape", "input=1xZ", tinyModel}, "1xZ"},
		{"unknown engine", []string{"verify", "-engine", "nope", tinyModel}, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := tsmcRun(c.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error")
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("error %q does not mention %q", errOut, c.want)
			}
		})
	}
}

// TestVerifyBadDataSet feeds the model a data set whose input has the wrong
// rank: verify must fail that data set with a clear message, not panic.
func TestVerifyBadDataSet(t *testing.T) {
	path := copyModel(t)
	ds := filepath.Join(filepath.Dir(path), "test_data_set_0")
	if err := os.Mkdir(ds, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"input_0.pb":  tensorProto("input", []int{1, 12, 32}),
		"output_0.pb": tensorProto("logits", []int{1, 10}),
	} {
		if err := os.WriteFile(filepath.Join(ds, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, _ := tsmcRun("verify", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "rank") || !strings.Contains(stdout, "0 passed, 1 failed") {
		t.Errorf("output does not explain the rank mismatch:\n%s", stdout)
	}
}

// tensorProto encodes a float32 ONNX TensorProto of zeros.
func tensorProto(name string, dims []int) []byte {
	var b []byte
	n := 1
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
		n *= d
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, 1) // FLOAT
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	var packed []byte
	for i := 0; i < n; i++ {
		packed = protowire.AppendFixed32(packed, math.Float32bits(0))
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendBytes(b, packed)
}

// TestUnsupportedOp renames the tiny model's Relu ops to Celu, which tsmc
// does not support: the error must name the node, op type, domain and opset.
func TestUnsupportedOp(t *testing.T) {
	path := copyModel(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("Relu"), []byte("Celu"))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := tsmcRun("inspect", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{path, `"/base/relu/Celu"`, "Celu", "domain ai.onnx", "opset 13", "unsupported op"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error %q does not mention %q", errOut, want)
		}
	}
}

func TestParseAndFormatShapes(t *testing.T) {
	shapes := shapeFlags{}
	for _, v := range []string{"x=1x12x32x32", "state=", "a=0x3"} {
		if err := shapes.Set(v); err != nil {
			t.Fatalf("-shape %s: %v", v, err)
		}
	}
	if got, want := shapes.String(), "-shape a=0x3 -shape state= -shape x=1x12x32x32"; got != want {
		t.Errorf("formatted %q, want %q", got, want)
	}
	for _, bad := range []string{"x", "=1x2", "x=1x-2", "x=1xx2", "x=ax2"} {
		if _, _, err := parseShape(bad); err == nil || !strings.Contains(err.Error(), "bad shape") {
			t.Errorf("-shape %s: error %v, want a bad shape", bad, err)
		}
	}
}
