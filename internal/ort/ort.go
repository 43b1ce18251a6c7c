// Package ort runs models with onnxruntime (CPU), tsmc's reference engine and
// the speed to beat, through Node.js and the onnxruntime-node package that
// package.json here names (README, Set-up: `npm ci --prefix internal/ort`).
// It needs no cgo: the runner script is embedded and talks to the Go side
// through files.
package ort

import (
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/tsmc-go/tsmc/internal/subprocess"
	"github.com/tsmc-go/tsmc/ir"
)

//go:embed run.js
var runner []byte

// Request is one session: load the model, run it once, then time Iters runs.
type Request struct {
	Model   string
	Inputs  map[string]*ir.Tensor
	Threads int // 0: onnxruntime's default
	Warmup  int
	Iters   int
	// Feedback feeds outputs of each run back as inputs of the next (by
	// output name to input name), as the online model's shift buffers are.
	Feedback map[string]string
}

// Result holds the first run's outputs and the timings.
type Result struct {
	Outputs  map[string][]float32
	LoadMs   float64   `json:"load_ms"`
	MedianMs float64   `json:"median_ms"`
	MinMs    float64   `json:"min_ms"`
	Iters    int       `json:"iters"`
	Threads  int       `json:"threads"`
	TimesMs  []float64 `json:"times_ms"`
}

// NodeModules finds the node_modules folder holding onnxruntime-node:
// $ORT_NODE_MODULES, else internal/ort/node_modules in the working directory
// or one of its parents.
func NodeModules() (string, error) {
	if d := os.Getenv("ORT_NODE_MODULES"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		cand := filepath.Join(dir, "internal", "ort", "node_modules")
		if _, err := os.Stat(filepath.Join(cand, "onnxruntime-node")); err == nil {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("onnxruntime-node not found: run `npm ci --prefix internal/ort --ignore-scripts --no-audit --no-fund` in the tsmc checkout or set ORT_NODE_MODULES")
		}
		dir = parent
	}
}

// Available reports why onnxruntime cannot run here, or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node not found: %w", err)
	}
	_, err := NodeModules()
	return err
}

// Run executes a request.
func Run(req Request) (*Result, error) {
	return RunContext(context.Background(), req)
}

// RunContext is Run that ctx stops: node is interrupted (then killed if it
// lingers), its temporary folder removed, and ctx's error returned.
func RunContext(ctx context.Context, req Request) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	modules, err := NodeModules()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tsmc-ort-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "run.js")
	if err := os.WriteFile(script, runner, 0o644); err != nil {
		return nil, err
	}
	type input struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		File  string `json:"file"`
	}
	spec := struct {
		Model    string            `json:"model"`
		Inputs   []input           `json:"inputs"`
		OutDir   string            `json:"out_dir"`
		Threads  int               `json:"threads"`
		Warmup   int               `json:"warmup"`
		Iters    int               `json:"iters"`
		Feedback map[string]string `json:"feedback,omitempty"`
	}{Model: req.Model, OutDir: filepath.Join(tmp, "out"), Threads: req.Threads, Warmup: req.Warmup, Iters: req.Iters, Feedback: req.Feedback}
	i := 0
	for name, t := range req.Inputs {
		if t.DType != ir.Float32 {
			return nil, fmt.Errorf("onnxruntime runner: input %q is %v; only float32 inputs are supported", name, t.DType)
		}
		file := filepath.Join(tmp, "in"+strconv.Itoa(i)+".raw")
		i++
		if err := os.WriteFile(file, floatBytes(t.F32), 0o644); err != nil {
			return nil, err
		}
		spec.Inputs = append(spec.Inputs, input{Name: name, Shape: t.Shape, File: file})
	}
	reqFile := filepath.Join(tmp, "request.json")
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(reqFile, data, 0o644); err != nil {
		return nil, err
	}
	cmd := subprocess.Command(ctx, "node", script, reqFile)
	cmd.Env = append(os.Environ(), "ORT_NODE_MODULES="+modules)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("onnxruntime on %s: %v: %s", req.Model, err, ee.Stderr)
		}
		return nil, fmt.Errorf("onnxruntime on %s: %v", req.Model, err)
	}
	res := &Result{Outputs: map[string][]float32{}}
	if err := json.Unmarshal(out, res); err != nil {
		return nil, fmt.Errorf("onnxruntime runner printed %q: %v", out, err)
	}
	files, err := filepath.Glob(filepath.Join(spec.OutDir, "*.raw"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		res.Outputs[name[:len(name)-len(".raw")]] = bytesFloats(b)
	}
	return res, nil
}

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func bytesFloats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
