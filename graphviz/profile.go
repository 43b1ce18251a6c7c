package graphviz

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// Profile is the kernel profile of runs of the compiled graph, as
// `tsmc bench -profile -json` reports it.
type Profile struct {
	// RunMs is the time of one run (bench's median).
	RunMs float64
	// Kernels are in the order of their first call.
	Kernels []Kernel
}

// Kernel is one entry of a profile. The runtime names a kernel by its kind
// and sizes ("conv 8x[64,56,56] -> 64, ..."), not by the node it runs
// for: planned kernels (convolutions, blocks, dense layers, max pools) get
// one entry per node, while the calls of the others (copies, adds,
// activations, average pools) of the same sizes share one entry.
type Kernel struct {
	Name    string
	Calls   float64 // per run
	Ms      float64 // per run
	Percent float64 // of a run
	FLOPs   float64 // of one call; 0 for data movement or when unknown
}

// NodeTime is a node's share of a run.
type NodeTime struct {
	Ms, Percent float64
	// Shared marks a share of a kernel entry the profile merged over
	// several nodes, split evenly between them, or a time the profile
	// cannot tell apart from another node's of the same kind.
	Shared bool
}

func (t NodeTime) String() string {
	approx := ""
	if t.Shared {
		approx = "≈"
	}
	digits := 1
	if t.Percent < 1 {
		digits = 2
	}
	return fmt.Sprintf("%s%.3f ms, %.*f%% of a run", approx, t.Ms, digits, t.Percent)
}

// kernelsOf lists the profiled kernels the lowering of n runs (see the
// Lower functions of package ops), by the first words of their profile
// names: the kinds its one planned kernel may have (nil for none), and its
// other kernels in the order they run.
func kernelsOf(n *ir.Node) (planned, other []string) {
	switch n.OpName() {
	case "Conv", ops.Domain + "." + ops.OpConv:
		return []string{"conv", "depthwise conv"}, nil
	case ops.Domain + "." + ops.OpInvertedResidual:
		return []string{"inverted residual"}, nil
	case "MaxPool":
		return []string{"maxpool"}, nil
	case ops.Domain + "." + ops.OpAttention:
		return []string{"attention"}, nil
	case "MatMul":
		return []string{"matmul"}, nil
	case "Softmax":
		return nil, []string{"softmax"}
	case "Transpose":
		return nil, []string{"transpose"}
	case ops.Domain + "." + ops.OpDense:
		if x := n.Input(0); x != nil && x.Shape[2:].Size() != 1 {
			other = []string{"global average pool"}
		}
		return []string{"dense"}, other
	case "GlobalAveragePool":
		return nil, []string{"global average pool"}
	case "Relu", "Clip":
		return nil, []string{"activation"}
	case "Add":
		return nil, []string{"add"}
	case "Slice":
		return nil, []string{"copy channels"}
	case "Concat":
		for range n.Inputs {
			other = append(other, "copy channels")
		}
		return nil, other
	}
	return nil, nil
}

// plannedKinds are the kinds of the planned kernels.
var plannedKinds = []string{"conv", "depthwise conv", "inverted residual", "maxpool", "dense", "attention", "matmul"}

// kindOf is the kind of a kernel: the words of its name before the first
// one that gives a size.
func kindOf(name string) string {
	words := strings.Fields(name)
	for i, w := range words {
		if r := rune(w[0]); unicode.IsDigit(r) || r == '[' {
			return strings.Join(words[:i], " ")
		}
	}
	return name
}

// attribute gives each node of g the time of the kernels it ran. The
// generated code runs the nodes in graph order, so the planned kernels
// follow the nodes that have one, one each: a planned kernel of another
// kind or cost than its node means the profile is of another graph, an
// error. Each other kernel was first called between the planned kernels
// around its node (its region); one that appears there belongs to the
// node, one that does not shares an earlier entry of its kind. unclaimed is the share of
// the run (percent) of kernels no node ran.
func (p Profile) attribute(g *ir.Graph) (times map[*ir.Node]NodeTime, unclaimed float64, err error) {
	kinds := make([]string, len(p.Kernels))
	var planned []int // indices of the planned kernels
	region := make([]int, len(p.Kernels))
	for i, k := range p.Kernels {
		kinds[i] = kindOf(k.Name)
		region[i] = len(planned)
		if slices.Contains(plannedKinds, kinds[i]) {
			planned = append(planned, i)
		}
	}
	type call struct {
		node *ir.Node
		kind string
	}
	users := make([][]*ir.Node, len(p.Kernels))
	others := make([][]call, len(planned)+1) // by region
	r := 0
	for _, n := range g.Nodes {
		pl, other := kernelsOf(n)
		for _, kind := range other {
			others[r] = append(others[r], call{n, kind})
		}
		if pl == nil {
			continue
		}
		if r == len(planned) {
			return nil, 0, fmt.Errorf("the profile has %d planned kernels, the graph more: none is left for %s; was the profile made from this model with the same shapes?", len(planned), n.Describe())
		}
		i := planned[r]
		if !slices.Contains(pl, kinds[i]) {
			return nil, 0, fmt.Errorf("profile kernel %d %q does not fit %s (want %s); was the profile made from this model with the same shapes?", i, p.Kernels[i].Name, n.Describe(), strings.Join(pl, " or "))
		}
		if macs, flops := n.MACs(), p.Kernels[i].FLOPs; macs > 0 && flops > 0 && math.Abs(flops/2-float64(macs)) > 1e-6*float64(macs) {
			return nil, 0, fmt.Errorf("profile kernel %d %q has %s MACs a call, %s has %s; was the profile made from this model with the same shapes?", i, p.Kernels[i].Name, count(int64(flops/2)), n.Describe(), count(macs))
		}
		users[i] = append(users[i], n)
		r++
	}
	if r < len(planned) {
		return nil, 0, fmt.Errorf("the profile has %d planned kernels, the graph %d: kernel %q has no node; was the profile made from this model with the same shapes?", len(planned), r, p.Kernels[planned[r]].Name)
	}
	// the other kernels, region by region: a call takes the next kernel
	// of its kind first called in its region, else an earlier one of its
	// kind with calls left. Where both or several earlier ones could be
	// it, the profile cannot tell: the choice, and every later one of the
	// kind, is marked a guess.
	guessed := map[string]bool{}
	guess := map[*ir.Node]bool{}
	next := 0 // the first kernel not yet taken as new
	for reg, calls := range others {
		for _, c := range calls {
			for next < len(p.Kernels) && region[next] < reg {
				next++
			}
			fresh := -1
			for j := next; j < len(p.Kernels) && region[j] == reg; j++ {
				if kinds[j] == c.kind && len(users[j]) == 0 {
					fresh = j
					break
				}
			}
			var owed []int
			for j := 0; j < next; j++ {
				if kinds[j] == c.kind && len(users[j]) > 0 && float64(len(users[j])) < math.Round(p.Kernels[j].Calls) {
					owed = append(owed, j)
				}
			}
			if fresh >= 0 && len(owed) > 0 || len(owed) > 1 {
				guessed[c.kind] = true
			}
			guess[c.node] = guess[c.node] || guessed[c.kind]
			switch {
			case fresh >= 0:
				users[fresh] = append(users[fresh], c.node)
				next = fresh + 1
			case len(owed) > 0:
				users[owed[0]] = append(users[owed[0]], c.node)
			}
		}
	}
	times = map[*ir.Node]NodeTime{}
	for i, us := range users {
		if len(us) == 0 {
			unclaimed += p.Kernels[i].Percent
		}
		for _, n := range us {
			t := times[n]
			t.Ms += p.Kernels[i].Ms / float64(len(us))
			t.Percent += p.Kernels[i].Percent / float64(len(us))
			t.Shared = t.Shared || len(us) > 1 || guess[n]
			times[n] = t
		}
	}
	return times, unclaimed, nil
}
