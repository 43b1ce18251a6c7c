package main

import (
	"bytes"
	"go/format"
	"slices"
	"text/template"

	"github.com/tsmc-go/tsmc/asm/internal/genfile"
	"github.com/tsmc-go/tsmc/asm/internal/layout"
)

// registry returns kernels_arm64.go: the GEMM kernels and the depthwise
// row kernel of the NEON level, and the argument-block offsets the
// assembly was generated for.
func registry(tile, dwRow *argBlock) ([]byte, error) {
	var layouts []layout.Block
	for _, a := range []*argBlock{tile, dwRow} {
		layouts = append(layouts, layout.New(a.name, a.order, a.offsets))
	}
	var buf bytes.Buffer
	err := registryTemplate.Execute(&buf, map[string]any{
		"Header":  genfile.Header(generatedBy, []string{genfile.Source(registry)}),
		"Build":   constraint,
		"Gemm":    gemmKernels,
		"DW":      dwRowKernels,
		"Layouts": layouts,
	})
	if err != nil {
		return nil, err
	}
	return format.Source(buf.Bytes())
}

// sortedKeys returns the keys of m in order.
func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var registryTemplate = template.Must(template.New("registry").Parse(`{{.Header}}

//go:build {{.Build}}

package runtime

// The NEON kernels, registered with the CPU dispatch (cpu_arm64.go).

var (
{{- range .Gemm}}
	{{.GoName}}Kernel = &GemmKernel{Name: "{{.Name}}", MR: {{.MR}}, NR: {{.NR}}, KC: {{.KC}}, RowsB: true, Tile: {{.GoName}}}
{{- end}}
)

// asmGemmKernels returns the assembly GEMM kernels usable at level, best
// first.
func asmGemmKernels(level string) []*GemmKernel {
	if level == ISANEON {
		return []*GemmKernel{ {{- range $i, $k := .Gemm}}{{if $i}}, {{end}}{{$k.GoName}}Kernel{{end -}} }
	}
	return nil
}

// asmDWRow3x3 returns the assembly depthwise 3x3 row kernel of level, or
// nil.
func asmDWRow3x3(level string) func(*DWRow) {
	if level == ISANEON {
		return dwRow3x3NEON
	}
	return nil
}

// dwRow3x3NEON runs the NEON row kernel of a.Stride; other strides run the
// pure-Go kernel.
func dwRow3x3NEON(a *DWRow) {
	switch a.Stride {
{{- range .DW}}
	case {{.Stride}}:
		{{.GoName}}(a) // {{.Name}}
{{- end}}
	default:
		dwRow3x3Go(a)
	}
}

` + layout.Template))
