package ir

import (
	"errors"
	"fmt"
)

// Verify checks the graph's invariants: nodes in topological order with
// every input defined before use, every value produced once, constants whose
// data matches their dtype and shape, and graph outputs that exist. It does
// not require shapes to be inferred; where a value's shape is known it must
// agree with its constant data.
func (g *Graph) Verify() error {
	var errs []error
	fail := func(err error) {
		if len(errs) < 20 {
			errs = append(errs, err)
		}
	}
	defined := map[*Value]bool{}
	names := map[string]*Value{}
	define := func(v *Value, by string) {
		if other, ok := names[v.Name]; ok && other != v {
			fail(fmt.Errorf("%s: value name %q is used by two different values", by, v.Name))
		}
		names[v.Name] = v
		defined[v] = true
	}
	for _, in := range g.Inputs {
		if in == nil {
			fail(errors.New("graph has a nil input"))
			continue
		}
		if in.IsConst() {
			fail(fmt.Errorf("graph input %q is a constant", in.Name))
		}
		if defined[in] {
			fail(fmt.Errorf("graph input %q is listed twice", in.Name))
		}
		define(in, "graph input")
	}
	for _, n := range g.Nodes {
		if n.Op == "" {
			fail(n.Errorf("has no op type"))
		}
		for i, in := range n.Inputs {
			if in == nil {
				continue
			}
			if in.IsConst() {
				if err := checkConst(in); err != nil {
					fail(n.Errorf("input %d: %v", i, err))
				}
				if !defined[in] {
					define(in, n.Describe())
				}
				continue
			}
			if !defined[in] {
				fail(n.Errorf("input %d %q is not defined before use (undefined input or cycle)", i, in.Name))
			}
		}
		for i, out := range n.Outputs {
			if out == nil {
				continue
			}
			if defined[out] {
				fail(n.Errorf("output %d %q is already defined elsewhere", i, out.Name))
			}
			if out.IsConst() {
				fail(n.Errorf("output %d %q is marked constant", i, out.Name))
			}
			define(out, n.Describe())
		}
	}
	for _, o := range g.Outputs {
		if o == nil {
			fail(errors.New("graph has a nil output"))
			continue
		}
		if o.IsConst() {
			if err := checkConst(o); err != nil {
				fail(fmt.Errorf("graph output %q: %v", o.Name, err))
			}
			continue
		}
		if !defined[o] {
			fail(fmt.Errorf("graph output %q is never defined", o.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("graph %s is invalid: %w", g.Name, errors.Join(errs...))
	}
	return nil
}

func checkConst(v *Value) error {
	if err := v.Const.Check(); err != nil {
		return fmt.Errorf("constant %q: %v", v.Name, err)
	}
	if v.DType != v.Const.DType {
		return fmt.Errorf("constant %q has dtype %v but data of %v", v.Name, v.DType, v.Const.DType)
	}
	if !v.Shape.Equal(v.Const.Shape) {
		return fmt.Errorf("constant %q has shape %v but data of shape %v", v.Name, v.Shape, v.Const.Shape)
	}
	return nil
}
