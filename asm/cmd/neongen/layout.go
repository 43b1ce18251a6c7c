package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
)

// argBlock is the layout of an argument block of package runtime (Tile,
// DWRow) on arm64: the kernels load its fields at these offsets, and the
// generated registry records them for the runtime's layout test.
type argBlock struct {
	name    string
	order   []string
	offsets map[string]int
}

// off returns the offset of field name plus extra bytes.
func (a *argBlock) off(name string, extra int) int {
	o, ok := a.offsets[name]
	if !ok {
		panic(fmt.Sprintf("%s has no field %s", a.name, name))
	}
	return o + extra
}

// readArgBlocks reads the declarations of the named struct types from the
// Go files of package runtime in dir and lays them out with the gc sizes
// of arm64. The structs must use predeclared types only (slices, ints,
// floats, pointers to arrays of them), as the assembly contract does.
func readArgBlocks(dir string, names ...string) (map[string]*argBlock, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	found := map[string]*ast.TypeSpec{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					found[ts.Name.Name] = ts
				}
			}
		}
	}
	// the named types and the package's types they refer to (a slice of
	// small structs, as Tile's column runs)
	decl := &ast.GenDecl{Tok: token.TYPE}
	added := map[string]bool{}
	var add func(n string)
	add = func(n string) {
		if added[n] {
			return
		}
		added[n] = true
		ts := found[n]
		decl.Specs = append(decl.Specs, ts)
		ast.Inspect(ts.Type, func(x ast.Node) bool {
			switch x := x.(type) {
			case *ast.Field: // its type only: field names are identifiers too
				ast.Inspect(x.Type, func(y ast.Node) bool {
					if id, ok := y.(*ast.Ident); ok && found[id.Name] != nil {
						add(id.Name)
					}
					return true
				})
				return false
			case *ast.Ident:
				if found[x.Name] != nil {
					add(x.Name)
				}
			}
			return true
		})
	}
	for _, n := range names {
		if found[n] == nil {
			return nil, fmt.Errorf("%s: no type %s", dir, n)
		}
		add(n)
	}
	file := &ast.File{Name: ast.NewIdent("runtime"), Decls: []ast.Decl{decl}}
	sizes := types.SizesFor("gc", "arm64")
	pkg, err := (&types.Config{Sizes: sizes}).Check("runtime", fset, []*ast.File{file}, nil)
	if err != nil {
		return nil, fmt.Errorf("laying out %v: %v", names, err)
	}
	blocks := map[string]*argBlock{}
	for _, n := range names {
		st, ok := pkg.Scope().Lookup(n).Type().Underlying().(*types.Struct)
		if !ok {
			return nil, fmt.Errorf("%s is not a struct", n)
		}
		fields := make([]*types.Var, st.NumFields())
		for i := range fields {
			fields[i] = st.Field(i)
		}
		b := &argBlock{name: n, offsets: map[string]int{}}
		for i, o := range sizes.Offsetsof(fields) {
			b.order = append(b.order, fields[i].Name())
			b.offsets[fields[i].Name()] = int(o)
		}
		blocks[n] = b
	}
	return blocks, nil
}
