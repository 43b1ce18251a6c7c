package codegen

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/internal/conformance"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
	"github.com/tsmc-go/tsmc/passes"
)

// compiledCase is a node test compiled into a package of the conformance
// program.
type compiledCase struct {
	c   *conformance.Case
	pkg string
}

// conformanceResult is what the conformance program reports of a case.
type conformanceResult struct {
	Outputs map[string][]float32
	Err     string
}

// TestConformanceCompiled runs the ONNX backend node tests of every ONNX
// op of the table (the interpreter's ops) through the pipeline and
// generated code: every case is compiled into a package of one program,
// which runs them all.
// Inputs that are not float32 are the shape arguments of the op (axes,
// pads, indices): they become constants, as they are in exported models.
// A case the generated code cannot take (non-float32 outputs) is skipped
// with its reason; any other failure fails the test.
func TestConformanceCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program of every conformance case")
	}
	dir, err := os.MkdirTemp(".", "_conformance")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	var cases []compiledCase
	skipped := map[string]string{}
	inputs := map[string]map[string][]float32{}
	opsRun := 0
	for _, op := range ops.Names() {
		titles := conformance.Titles(op)
		if strings.Contains(op, ".") || len(titles) == 0 {
			continue
		}
		opsRun++
		for _, title := range titles {
			c, err := conformance.Load(op, title)
			if err != nil {
				t.Errorf("%s/%s: %v", op, title, err)
				continue
			}
			if why := compilable(c); why != "" {
				skipped[c.Name()] = why
				continue
			}
			pkg := fmt.Sprintf("case%03d", len(cases))
			in, err := compileCase(c, filepath.Join(dir, pkg), pkg)
			if err != nil {
				t.Errorf("%s: %v", c.Name(), err)
				continue
			}
			inputs[pkg] = in
			cases = append(cases, compiledCase{c: c, pkg: pkg})
		}
	}
	results := runConformanceProgram(t, dir, cases, inputs)
	passed := 0
	for _, cc := range cases {
		if t.Run(cc.c.Name(), func(t *testing.T) { checkCompiledCase(t, cc, results[cc.pkg]) }) {
			passed++
		}
	}
	names := make([]string, 0, len(skipped))
	for name := range skipped {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("skip %s: %s", name, skipped[name])
	}
	summary := fmt.Sprintf("compiled conformance: %d passed / %d run (%d ops), %d skipped", passed, len(cases), opsRun, len(skipped))
	t.Log(summary)
	fmt.Println(summary)
}

// compilable says why generated code cannot run a case ("" when it can):
// its outputs must be float32.
func compilable(c *conformance.Case) string {
	for _, o := range c.Graph.Outputs {
		if o.DType != ir.Float32 {
			return fmt.Sprintf("output %q is %v; generated code returns float32 only", o.Name, o.DType)
		}
	}
	for i, in := range c.Graph.Inputs {
		if in.DType != ir.Float32 && !c.Inputs[i].DType.IsInt() && c.Inputs[i].DType != ir.Bool {
			return fmt.Sprintf("input %q is %v; generated code takes float32 only", in.Name, in.DType)
		}
	}
	return ""
}

// compileCase binds c's non-float32 inputs as constants, optimises the
// graph, generates package pkg into dir and returns the run-time inputs.
func compileCase(c *conformance.Case, dir, pkg string) (map[string][]float32, error) {
	g := c.Graph
	in := map[string][]float32{}
	for name, t := range c.BindArguments() {
		in[name] = t.F32
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		return nil, err
	}
	if err := passes.Run(g, passes.Options{}); err != nil {
		return nil, err
	}
	p, err := Generate(g, Options{Package: pkg})
	if err != nil {
		return nil, err
	}
	return in, p.Write(dir)
}

// runConformanceProgram writes the program that runs every case's package
// on its inputs, runs it and returns what it reports by package.
func runConformanceProgram(t *testing.T, dir string, cases []compiledCase, inputs map[string]map[string][]float32) map[string]conformanceResult {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(inputs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs.gob"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	src.WriteString("// The conformance program: every case's package run on its inputs.\npackage main\n\nimport (\n\t\"encoding/gob\"\n\t\"os\"\n\n")
	for _, cc := range cases {
		fmt.Fprintf(&src, "\t%q\n", "github.com/tsmc-go/tsmc/codegen/"+filepath.ToSlash(filepath.Join(dir, cc.pkg)))
	}
	src.WriteString(")\n\ntype result struct {\n\tOutputs map[string][]float32\n\tErr     string\n}\n\n")
	src.WriteString("var cases = map[string]func(map[string][]float32) (map[string][]float32, error){\n")
	for _, cc := range cases {
		fmt.Fprintf(&src, "\t%q: func(in map[string][]float32) (map[string][]float32, error) {\n\t\tm, err := %s.New()\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\tdefer m.Close()\n\t\treturn m.Infer(in)\n\t},\n", cc.pkg, cc.pkg)
	}
	src.WriteString(`}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	var inputs map[string]map[string][]float32
	if err := gob.NewDecoder(f).Decode(&inputs); err != nil {
		panic(err)
	}
	results := map[string]result{}
	for name, run := range cases {
		out, err := run(inputs[name])
		r := result{Outputs: out}
		if err != nil {
			r.Err = err.Error()
		}
		results[name] = r
	}
	if err := gob.NewEncoder(os.Stdout).Encode(results); err != nil {
		panic(err)
	}
}
`)
	if err := os.MkdirAll(filepath.Join(dir, "main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main", "main.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./"+filepath.ToSlash(filepath.Join(dir, "main")), filepath.Join(dir, "inputs.gob"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the conformance program: %v\n%s", err, stderr.String())
	}
	results := map[string]conformanceResult{}
	if err := gob.NewDecoder(&stdout).Decode(&results); err != nil {
		t.Fatalf("reading the conformance program's results: %v", err)
	}
	return results
}

// checkCompiledCase compares a case's generated-code outputs with the
// expected ones.
func checkCompiledCase(t *testing.T, cc compiledCase, r conformanceResult) {
	if r.Err != "" {
		t.Fatalf("run: %s", r.Err)
	}
	for i, o := range cc.c.Graph.Outputs {
		want := cc.c.Outputs[i]
		if len(r.Outputs[o.Name]) != want.Len() {
			t.Errorf("output %s: %d values, want %d", o.Name, len(r.Outputs[o.Name]), want.Len())
			continue
		}
		got := ir.Float32s(want.Shape, r.Outputs[o.Name])
		if err := conformance.Check(got, want); err != nil {
			t.Errorf("output %s: %v", o.Name, err)
		}
	}
}
