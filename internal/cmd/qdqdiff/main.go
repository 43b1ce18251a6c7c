// Command qdqdiff finds where tsmc's int8 computation of a QDQ model first
// parts from onnxruntime's: it runs the model through onnxruntime with
// every dequantised activation as an extra output, and through the
// interpreter after tsmc's passes, and lists, in node order, each
// quantised tensor that differs, with how many elements and by how many
// steps.
//
//	go run ./internal/cmd/qdqdiff MODEL.onnx DATASET_DIR
//
// It needs onnxruntime (npm ci --prefix internal/ort, or ORT_NODE_MODULES).
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/internal/ort"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: qdqdiff MODEL.onnx DATASET_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "qdqdiff:", err)
		os.Exit(1)
	}
}

// dequantized is an activation that a DequantizeLinear of one scale makes.
type dequantized struct {
	alias string // the extra output's name (onnxruntime's runner wants plain names)
	scale float32
	zero  int64
}

func run(model, set string) error {
	g, err := onnx.Load(model)
	if err != nil {
		return err
	}
	if err := tsmc.Prepare(g, nil); err != nil {
		return err
	}
	acts := map[string]dequantized{}
	var extra []*ir.Node
	for _, n := range g.Nodes {
		s, z := n.Input(1), n.Input(2)
		if n.Op != "DequantizeLinear" || n.Inputs[0].IsConst() || !s.IsConst() || s.Const.Len() != 1 || z == nil || !z.IsConst() {
			continue
		}
		o := &ir.Value{Name: fmt.Sprintf("qdqdiff_%d", len(extra))}
		acts[n.Outputs[0].Name] = dequantized{o.Name, s.Const.F32[0], z.Const.I64[0]}
		extra = append(extra, &ir.Node{Name: o.Name, Op: "Identity", Inputs: []*ir.Value{n.Outputs[0]}, Outputs: []*ir.Value{o}})
		g.Outputs = append(g.Outputs, o)
	}
	g.Nodes = append(g.Nodes, extra...)
	if err := tsmc.Prepare(g, nil); err != nil {
		return err
	}
	data, err := onnx.Encode(g)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "qdqdiff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	ds, err := onnx.LoadDataSet(set)
	if err != nil {
		return err
	}
	feeds := map[string]*ir.Tensor{}
	for i, name := range ds.InputNames {
		feeds[name] = ds.Inputs[i]
	}
	res, err := ort.Run(ort.Request{Model: path, Inputs: feeds, Threads: 1})
	if err != nil {
		return err
	}
	opt, err := tsmc.Load(model, nil)
	if err != nil {
		return err
	}
	if err := passes.Run(opt, passes.Options{}); err != nil {
		return err
	}
	differ, compared := 0, 0
	_, err = interp.RunWith(opt, feeds, interp.Options{AfterNode: func(n *ir.Node, outs []*ir.Tensor) error {
		for i, o := range n.Outputs {
			if o == nil || !o.DType.IsInt() {
				continue
			}
			a, ok := acts[strings.TrimSuffix(o.Name, "_quantized")]
			if !ok {
				continue
			}
			want := res.Outputs[a.alias]
			compared++
			count, worst := 0, 0.0
			for j, q := range outs[i].I64 {
				if v := interp.Dequantize(q, a.zero, a.scale); v != want[j] {
					count++
					worst = math.Max(worst, math.Abs(float64(v-want[j]))/float64(a.scale))
				}
			}
			if count > 0 {
				differ++
				fmt.Printf("%s (%s): %d of %d elements differ, by up to %.0f steps\n", o.Name, n.OpName(), count, len(want), worst)
			}
		}
		return nil
	}})
	if err != nil {
		return err
	}
	fmt.Printf("%d of the %d dequantised activations compared, %d differ\n", compared, len(acts), differ)
	return nil
}
