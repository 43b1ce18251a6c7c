package ir

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Print renders the graph as stable text, one line per input, constant,
// node and output, for golden tests and for `tsmc inspect -after`. Constant
// data is summarised (shape and a content hash, or the values when small).
func (g *Graph) Print() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s", g.Name)
	if len(g.Opsets) > 0 {
		doms := make([]string, 0, len(g.Opsets))
		for d := range g.Opsets {
			doms = append(doms, d)
		}
		sort.Strings(doms)
		b.WriteString(" opset(")
		for i, d := range doms {
			if i > 0 {
				b.WriteString(", ")
			}
			name := d
			if name == "" {
				name = "ai.onnx"
			}
			fmt.Fprintf(&b, "%s=%d", name, g.Opsets[d])
		}
		b.WriteString(")")
	}
	b.WriteByte('\n')
	for _, in := range g.Inputs {
		fmt.Fprintf(&b, "  input %s: %s\n", in, typeString(in))
	}
	for _, c := range g.Constants() {
		fmt.Fprintf(&b, "  const %s: %s = %s\n", c, typeString(c), summarize(c.Const))
	}
	for _, n := range g.Nodes {
		b.WriteString("  ")
		for i, o := range n.Outputs {
			if i > 0 {
				b.WriteString(", ")
			}
			if o == nil {
				b.WriteString("_")
				continue
			}
			fmt.Fprintf(&b, "%s: %s", o, typeString(o))
		}
		b.WriteString(" = ")
		if n.Domain != "" {
			b.WriteString(n.Domain + ".")
		}
		b.WriteString(n.Op)
		b.WriteByte('(')
		for i, in := range n.Inputs {
			if i > 0 {
				b.WriteString(", ")
			}
			if in == nil {
				b.WriteString("_")
			} else {
				b.WriteString(in.String())
			}
		}
		b.WriteByte(')')
		if len(n.Attrs) > 0 {
			b.WriteString(" {")
			for i, k := range n.AttrNames() {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k + "=" + attrString(n.Attrs[k]))
			}
			b.WriteByte('}')
		}
		b.WriteByte('\n')
	}
	for _, o := range g.Outputs {
		fmt.Fprintf(&b, "  output %s\n", o)
	}
	return b.String()
}

func typeString(v *Value) string {
	if v.Shape == nil && v.DType == Undefined {
		return "?"
	}
	s := v.DType.String() + v.Shape.String()
	if v.Shape == nil {
		s = v.DType.String() + "[?rank]"
	}
	for i, p := range v.DimParams {
		if p != "" && i < len(v.Shape) && v.Shape[i] < 0 {
			s += fmt.Sprintf(" dim%d=%s", i, p)
		}
	}
	return s
}

func attrString(a Attr) string {
	switch a.Kind {
	case AttrFloat:
		return formatFloat(float64(a.Float))
	case AttrInt:
		return strconv.FormatInt(a.Int, 10)
	case AttrString:
		return strconv.Quote(a.String)
	case AttrTensor:
		return a.Tensor.DType.String() + a.Tensor.Shape.String() + summarize(a.Tensor)
	case AttrFloats:
		parts := make([]string, len(a.Floats))
		for i, f := range a.Floats {
			parts[i] = formatFloat(float64(f))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case AttrInts:
		parts := make([]string, len(a.Ints))
		for i, v := range a.Ints {
			parts[i] = strconv.FormatInt(v, 10)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case AttrStrings:
		parts := make([]string, len(a.Strings))
		for i, s := range a.Strings {
			parts[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return "?"
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 32)
}

// summarize prints small tensors in full and larger ones by a content hash.
func summarize(t *Tensor) string {
	if t == nil {
		return "<nil>"
	}
	n := t.Len()
	if v, ok := t.IsSplat(); ok && n > 1 {
		return "splat(" + formatFloat(v) + ")"
	}
	if n <= 8 {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = formatFloat(t.Float(i))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	h := fnv.New64a()
	var buf [8]byte
	for i := 0; i < n; i++ {
		bits := math.Float64bits(t.Float(i))
		for j := range buf {
			buf[j] = byte(bits >> (8 * j))
		}
		h.Write(buf[:])
	}
	return fmt.Sprintf("#%016x", h.Sum64())
}
