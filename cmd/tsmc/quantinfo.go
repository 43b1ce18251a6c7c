package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// quantInfo is what inspect says of a quantised graph: its quantised ops,
// and the bytes of its weights and activations by element type beside
// what they would take as float32.
type quantInfo struct {
	Ops map[string]int `json:"ops"`
	// WeightBytes are the weights and biases of the ops that have them,
	// by dtype; WeightBytesFloat32 the same elements as float32.
	WeightBytes        map[string]int64 `json:"weight_bytes"`
	WeightBytesFloat32 int64            `json:"weight_bytes_float32"`
	// ActivationBytes are the tensors the nodes compute, by dtype;
	// ActivationBytesFloat32 the same elements as float32.
	ActivationBytes        map[string]int64 `json:"activation_bytes"`
	ActivationBytesFloat32 int64            `json:"activation_bytes_float32"`
}

// quantSummary describes g's quantisation, or returns nil when g has no
// quantised op.
func quantSummary(g *ir.Graph) *quantInfo {
	q := &quantInfo{Ops: map[string]int{}, WeightBytes: map[string]int64{}, ActivationBytes: map[string]int64{}}
	seen := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		d := ops.Lookup(n)
		if d == nil {
			continue
		}
		if d.Quantized {
			q.Ops[n.OpName()]++
		}
		if d.Params {
			for _, in := range n.Inputs {
				if in.IsConst() && in.DType != ir.Bool && in.Const.Len() > 1 && !seen[in] {
					seen[in] = true
					q.WeightBytes[in.DType.String()] += in.Const.Bytes()
					q.WeightBytesFloat32 += 4 * int64(in.Const.Len())
				}
			}
		}
		for _, o := range n.Outputs {
			if o != nil && !o.IsConst() && o.Shape.Known() {
				size := int64(o.Shape.Size())
				q.ActivationBytes[o.DType.String()] += size * int64(o.DType.Size())
				q.ActivationBytesFloat32 += 4 * size
			}
		}
	}
	if len(q.Ops) == 0 {
		return nil
	}
	return q
}

// printQuant prints inspect's lines of a quantised graph.
func printQuant(w io.Writer, q *quantInfo) {
	if q == nil {
		return
	}
	var names []string
	total := 0
	for op, n := range q.Ops {
		names = append(names, fmt.Sprintf("%s:%d", op, n))
		total += n
	}
	sort.Strings(names)
	fmt.Fprintf(w, "int8     %d quantised ops (%s)\n", total, strings.Join(names, " "))
	fmt.Fprintf(w, "weights  %s (%s as float32)\n", bytesByType(q.WeightBytes), byteSize(q.WeightBytesFloat32))
	fmt.Fprintf(w, "activ.   %s (%s as float32)\n", bytesByType(q.ActivationBytes), byteSize(q.ActivationBytesFloat32))
}

// bytesByType renders byte counts by dtype, largest first.
func bytesByType(m map[string]int64) string {
	types := make([]string, 0, len(m))
	var sum int64
	for t, b := range m {
		types = append(types, t)
		sum += b
	}
	sort.Slice(types, func(i, j int) bool {
		return m[types[i]] > m[types[j]] || m[types[i]] == m[types[j]] && types[i] < types[j]
	})
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = byteSize(m[t]) + " " + t
	}
	return byteSize(sum) + ": " + strings.Join(parts, " + ")
}
