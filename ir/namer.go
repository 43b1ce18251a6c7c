package ir

import "strconv"

// Namer hands out value names unused in a graph, for the code that adds
// nodes to it.
type Namer struct{ used map[string]bool }

// NewNamer returns a Namer that avoids the names g uses now.
func NewNamer(g *Graph) *Namer {
	nm := &Namer{used: map[string]bool{}}
	mark := func(vs []*Value) {
		for _, v := range vs {
			if v != nil {
				nm.used[v.Name] = true
			}
		}
	}
	mark(g.Inputs)
	mark(g.Outputs)
	for _, n := range g.Nodes {
		mark(n.Inputs)
		mark(n.Outputs)
	}
	return nm
}

// Fresh returns base, or base_2, base_3, ... when base is taken, and
// takes it.
func (nm *Namer) Fresh(base string) string {
	name := base
	for i := 2; nm.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	nm.used[name] = true
	return name
}

// Constant returns a new constant value named after base.
func (nm *Namer) Constant(base string, t *Tensor) *Value {
	return NewConst(nm.Fresh(base), t)
}
