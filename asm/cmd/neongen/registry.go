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
func registry(tile, dwRow, qtile, qpack, qdwPlane *argBlock) ([]byte, error) {
	var layouts []layout.Block
	for _, a := range []*argBlock{tile, dwRow, qtile, qpack, qdwPlane} {
		layouts = append(layouts, layout.New(a.name, a.order, a.offsets))
	}
	var buf bytes.Buffer
	err := registryTemplate.Execute(&buf, map[string]any{
		"Header":  genfile.Header(generatedBy, []string{genfile.Source(registry)}),
		"Build":   constraint,
		"Gemm":    gemmKernels,
		"DW":      dwRowKernels,
		"QGemm":   qgemmKernels,
		"QPack":   qpackKernel,
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

// The int8 GEMM kernels: SDOT (neondot) and SMULL (neon).
var (
{{- range .QGemm}}
	{{.GoName}}Kernel = &QGemmKernel{Name: "{{.Name}}", MR: {{.MR}}, NR: {{.NR}}, SignedB: true, Tile: {{.GoName}}
	{{- with .Shorts}},
		Short: []*QGemmKernel{ {{- range $i, $s := .}}{{if $i}}, {{end}}{{$s.GoName}}Kernel{{end -}} }{{end -}}
	}
{{- end}}
)

// asmQGemmKernels returns the int8 GEMM kernels usable at int8 level
// level, best first.
func asmQGemmKernels(level string) []*QGemmKernel {
	switch level {
	case ISANEONDOT:
		return []*QGemmKernel{ {{- range $i, $k := .QGemm}}{{if not $k.Short}}{{$k.GoName}}Kernel, {{end}}{{end -}} }
	case ISANEON:
		return []*QGemmKernel{ {{- range $i, $k := .QGemm}}{{if and (not $k.Short) (eq $k.Level "neon")}}{{$k.GoName}}Kernel{{end}}{{end -}} }
	}
	return nil
}

// asmQPack returns the int8 packing kernel of int8 level level, or nil.
func asmQPack(level string) func(*QPack) {
	if level == ISANEONDOT || level == ISANEON {
		return {{.QPack.GoName}} // {{.QPack.Name}}
	}
	return nil
}

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
