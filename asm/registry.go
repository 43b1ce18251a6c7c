package main

import (
	"bytes"
	"text/template"

	"github.com/tsmc-go/tsmc/asm/internal/genfile"
	"github.com/tsmc-go/tsmc/asm/internal/layout"
)

// layouts lists the field offsets of the argument blocks.
func layouts(blocks ...*argBlock) []layout.Block {
	var ls []layout.Block
	for _, a := range blocks {
		ls = append(ls, layout.New(a.name, a.order, a.offsets))
	}
	return ls
}

// registry returns kernels_amd64.go: the GEMM kernels per ISA level, the
// depthwise kernel selection, and the argument-block offsets the
// assembly was generated for.
func registry() ([]byte, error) {
	levels := []*vecISA{avx512, avx2}
	type level struct {
		ISA  *vecISA
		Gemm []gemmKernel // the level's kernels, then those of lower levels
		TC   *gemmKernel  // the level's main transposed-C kernel, if any
		DW   []dwRowKernel
		DWP  []dwPlaneKernel
		DWS  []dwSmallKernel
		// Im2col are the level's packing kernels, Wino its Winograd
		// transforms, if any
		Im2col []im2colKernel
		Wino   *winoKernels
	}
	var ls []level
	for i, l := range levels {
		var lv level
		lv.ISA = l
		for _, lower := range levels[i:] {
			for _, k := range gemmKernels {
				if k.isa == lower && !k.short {
					lv.Gemm = append(lv.Gemm, k)
				}
			}
		}
		for _, k := range gemmTCKernels {
			if k.isa == l && !k.short && lv.TC == nil {
				lv.TC = &k
			}
		}
		for _, k := range dwRowKernels {
			if k.isa == l {
				lv.DW = append(lv.DW, k)
			}
		}
		for _, k := range dwPlaneKernels {
			if k.isa == l {
				lv.DWP = append(lv.DWP, k)
			}
		}
		for _, k := range dwSmallKernels {
			if k.isa == l {
				lv.DWS = append(lv.DWS, k)
			}
		}
		for _, k := range im2colKernels {
			if k.isa == l {
				lv.Im2col = append(lv.Im2col, k)
			}
		}
		for _, k := range winoLevels {
			if k.isa == l {
				lv.Wino = &k
			}
		}
		ls = append(ls, lv)
	}
	var buf bytes.Buffer
	err := registryTemplate.Execute(&buf, map[string]any{
		"Header":    genfile.Header(generatedBy, []string{genfile.Source(registry)}),
		"Build":     constraint,
		"Gemm":      append(gemmKernels[:len(gemmKernels):len(gemmKernels)], gemmTCKernels...),
		"DW":        dwRowKernels,
		"Levels":    ls,
		"Layouts":   layouts(tileBlock, colSegBlock, dwRowBlock, dwConvBlock, packRunBlock, winoInBlock, winoOutBlock, maxPoolRowBlock, qtileBlock, qftileBlock, qpackBlock, qdwConvBlock, actRowsBlock, dwTapsBlock, mulRowsBlock, copyRowsBlock, copyBytesBlock),
		"QDW":       qdwConvKernel,
		"QPack":     qpackKernel,
		"QGemm":     qgemmKernels,
		"QTwins":    qgemmTwins(qgemmKernels),
		"QFTwins":   qgemmTwins(qfgemmKernels),
		"QFGemm":    qfgemmKernels,
		"Transpose": transposeKernels,
		"QLevels":   qLevels(),
		"MulRows":   mulRowsKernels,
		"Copy":      copyRowsKernels,
		"Act":       actKernels,
		"DWTaps":    dwTapsKernels,
	})
	return buf.Bytes(), err
}

// qLevel is an int8 level and its GEMM kernels (not the short ones):
// its own, then AVX2's, which every CPU of the level has.
type qLevel struct {
	ISA  *qISA
	Gemm []qgemmKernel
}

func qLevels() []qLevel {
	var ls []qLevel
	for _, l := range []*qISA{avx512vnni, avxvnni, qavx2} {
		lv := qLevel{ISA: l}
		isas := []*qISA{l, qavx2}
		if l == qavx2 {
			isas = isas[:1]
		}
		for _, isa := range isas {
			for _, k := range qgemmKernels {
				if k.isa == isa && !k.short {
					lv.Gemm = append(lv.Gemm, k)
				}
			}
		}
		ls = append(ls, lv)
	}
	return ls
}

var registryTemplate = template.Must(template.New("registry").Parse(`{{.Header}}

//go:build {{.Build}}

package runtime

// The assembly kernels of this CPU family, registered with the CPU
// dispatch by level (cpu_amd64.go).

var (
{{- range .Gemm}}
	{{.GoName}}Kernel = &GemmKernel{Name: "{{.Name}}", MR: {{.MR}}, NR: {{.NR}}, {{if .KC}}KC: {{.KC}}, {{end}}
		{{- if .TransC}}TransC: true{{else}}RowsB: true{{end}}{{if .SegsC}}, SegsC: true{{end}}, Tile: {{.GoName}}
	{{- with .Shorts}},
		Short: []*GemmKernel{ {{- range $i, $s := .}}{{if $i}}, {{end}}{{$s.GoName}}Kernel{{end -}} }{{end -}}
	}
{{- end}}
)

// The int8 GEMM kernels.
var (
{{- range .QGemm}}
	{{.GoName}}Kernel = &QGemmKernel{Name: "{{.Name}}", MR: {{.MR}}, NR: {{.NR}}, {{if .Weights7Bit}}Weights7Bit: true, {{end}}{{if .RowsB}}RowsB: true, {{end}}Tile: {{.GoName}}
	{{- with .Shorts}},
		Short: []*QGemmKernel{ {{- range $i, $s := .}}{{if $i}}, {{end}}{{$s.GoName}}Kernel{{end -}} }{{end -}}
	}
{{- end}}
)

// The AVX-VNNI int8 GEMM kernels' twins: the same code with VPDPBUSD
// EVEX-encoded (AVX512_VNNI and AVX512VL).
var (
{{- range .QTwins}}
	{{.Twin.GoName}}Kernel = &QGemmKernel{Name: "{{.Twin.Name}}", MR: {{.Twin.MR}}, NR: {{.Twin.NR}}, Tile: {{.Twin.GoName}}}
{{- end}}
)

// asmQGemmEVEXTwins maps each AVX-VNNI int8 GEMM kernel to its twin, which
// tests run against the pure-Go kernel where the CPU has AVX-512 VNNI
// but not AVX-VNNI.
func asmQGemmEVEXTwins() map[*QGemmKernel]*QGemmKernel {
	return map[*QGemmKernel]*QGemmKernel{
{{- range .QTwins}}
		{{.Orig.GoName}}Kernel: {{.Twin.GoName}}Kernel,
{{- end}}
	}
}

// asmQGemmKernels returns the int8 GEMM kernels usable at int8 level
// level, best first.
func asmQGemmKernels(level string) []*QGemmKernel {
	switch level {
{{- range .QLevels}}
	case {{.ISA.Level}}:
		return []*QGemmKernel{ {{- range $i, $k := .Gemm}}{{if $i}}, {{end}}{{$k.GoName}}Kernel{{end -}} }
{{- end}}
	}
	return nil
}

// The int8 GEMM kernels with a float32 result.
var (
{{- range .QFGemm}}
	{{.GoName}}Kernel = &QFGemmKernel{Name: "{{.Name}}", MR: {{.MR}}, NR: {{.NR}}, Tile: {{.GoName}}}
{{- end}}
)

// The AVX-VNNI int8 GEMM kernels with a float32 result's twins, as
// asmQGemmEVEXTwins.
var (
{{- range .QFTwins}}
	{{.Twin.GoName}}Kernel = &QFGemmKernel{Name: "{{.Twin.Name}}", MR: {{.Twin.MR}}, NR: {{.Twin.NR}}, Tile: {{.Twin.GoName}}}
{{- end}}
)

// asmQFGemmEVEXTwins maps each AVX-VNNI int8 GEMM kernel with a float32
// result to its twin.
func asmQFGemmEVEXTwins() map[*QFGemmKernel]*QFGemmKernel {
	return map[*QFGemmKernel]*QFGemmKernel{
{{- range .QFTwins}}
		{{.Orig.GoName}}Kernel: {{.Twin.GoName}}Kernel,
{{- end}}
	}
}

// asmQFGemmKernel returns the int8 GEMM kernel with a float32 result of
// int8 level level, or nil.
func asmQFGemmKernel(level string) *QFGemmKernel {
	switch level {
{{- range .QFGemm}}
	case {{.ISA.Level}}:
		return {{.GoName}}Kernel
{{- end}}
	}
	return nil
}

// asmTranspose returns the float32 block transpose of level and its
// block side, or nil.
func asmTranspose(level string) (func(dst, src *float32, ld, ldd, blocks int), int) {
	switch level {
{{- range .Transpose}}
	case {{.Level}}:
		return {{.Name}}, {{.Lanes}}
{{- end}}
	}
	return nil, 0
}

// asmQPack returns the int8 packing kernel of int8 level level, or nil.
func asmQPack(level string) func(*QPack) {
	switch level {
	case ISAAVX512VNNI, ISAAVXVNNI, ISAAVX2:
		return {{.QPack.GoName}} // {{.QPack.Name}}
	}
	return nil
}

// asmQDWConv returns the int8 depthwise kernel of int8 level level, or
// nil; the caller checks AVX512_VBMI, AVX512BW and BMI2.
func asmQDWConv(level string) func(*QDWConv) {
	if level == ISAAVX512VNNI {
		return {{.QDW.GoName}} // {{.QDW.Name}}
	}
	return nil
}

// asmGemmKernels returns the assembly GEMM kernels usable at level, best
// first.
func asmGemmKernels(level string) []*GemmKernel {
	switch level {
{{- range .Levels}}
	case {{.ISA.Level}}:
		return []*GemmKernel{ {{- range $i, $k := .Gemm}}{{if $i}}, {{end}}{{$k.GoName}}Kernel{{end -}} }
{{- end}}
	}
	return nil
}

// archGemmTC returns the transposed-C kernel of level, its short kernels
// in Short, or nil.
func archGemmTC(level string) *GemmKernel {
	switch level {
{{- range .Levels}}{{if .TC}}
	case {{.ISA.Level}}:
		return {{.TC.GoName}}Kernel
{{- end}}{{end}}
	}
	return nil
}

// asmDWRow3x3 returns the assembly depthwise 3x3 row kernel of level, or
// nil.
func asmDWRow3x3(level string) func(*DWRow) {
	switch level {
{{- range .Levels}}{{if .DW}}
	case {{.ISA.Level}}:
		return dwRow3x3{{.ISA.Suffix}}
{{- end}}{{end}}
	}
	return nil
}
{{range .Levels}}{{if .DW}}
// dwRow3x3{{.ISA.Suffix}} runs the {{.ISA.Name}} row kernel of a.Stride; other strides run
// the pure-Go kernel.
func dwRow3x3{{.ISA.Suffix}}(a *DWRow) {
	switch a.Stride {
{{- range .DW}}
	case {{.Stride}}:
		{{.GoName}}(a) // {{.Name}}
{{- end}}
	default:
		dwRow3x3Go(a)
	}
}
{{end}}{{end}}
// asmDWConv3x3 returns the assembly depthwise 3x3 plane kernel of level,
// or nil.
func asmDWConv3x3(level string) func(*DWConv) {
	switch level {
{{- range .Levels}}{{if .DWP}}
	case {{.ISA.Level}}:
		return dwConv3x3{{.ISA.Suffix}}
{{- end}}{{end}}
	}
	return nil
}
{{range .Levels}}{{if .DWP}}
// dwConv3x3{{.ISA.Suffix}} runs the {{.ISA.Name}} plane kernel of a.Stride; the
// driver calls it for strides 1 and 2 only.
func dwConv3x3{{.ISA.Suffix}}(a *DWConv) {
	if a.Stride == 1 {
		{{(index .DWP 0).GoName}}(a) // {{(index .DWP 0).Name}}
	} else {
		{{(index .DWP 1).GoName}}(a) // {{(index .DWP 1).Name}}
	}
}
{{end}}{{end}}
// asmDWConvSmall3x3 returns the small-plane depthwise 3x3 kernels of
// level, or nil: the function runs a DWConv through the kernel its shape
// fits and reports true, or reports false without running it.
func asmDWConvSmall3x3(level string) func(*DWConv) bool {
	switch level {
{{- range .Levels}}{{if .DWS}}
	case {{.ISA.Level}}:
		return dwConvSmall3x3{{.ISA.Suffix}}
{{- end}}{{end}}
	}
	return nil
}
{{range .Levels}}{{if .DWS}}
// dwConvSmall3x3{{.ISA.Suffix}} runs a through the {{.ISA.Name}} small-plane kernel its shape
// fits, if any.
func dwConvSmall3x3{{.ISA.Suffix}}(a *DWConv) bool {
	switch {
{{- range .DWS}}
	case {{.Fits}}:
		{{.GoName}}(a) // {{.Name}}
{{- end}}
	default:
		return false
	}
	return true
}
{{end}}{{end}}
// asmIm2col returns the assembly im2col packing kernel of level for
// horizontal stride sw and the most pixels it packs per call (PackRun.N),
// or nil.
func asmIm2col(level string, sw int) (func(*PackRun), int) {
	switch level {
{{- range .Levels}}{{if .Im2col}}
	case {{.ISA.Level}}:
		switch sw {
{{- range .Im2col}}
		case {{.Stride}}:
			return {{.GoName}}, {{.MaxN}} // {{.Name}}
{{- end}}
		}
{{- end}}{{end}}
	}
	return nil, 0
}

// asmMulRows returns the assembly row-times-constant kernel of level, or
// nil.
func asmMulRows(level string) func(*MulRows) {
	switch level {
{{- range .Levels}}
{{- $isa := .ISA}}
{{- range $.MulRows}}{{if eq .ISAName $isa.Name}}
	case {{$isa.Level}}:
		return {{.GoName}} // {{.Name}}
{{- end}}{{end}}
{{- end}}
	}
	return nil
}

// asmCopyRows returns the assembly row copy of level and the source
// column strides it takes (1, or 1 and 2), or nil.
func asmCopyRows(level string) (k func(*CopyRows), maxStride int) {
	switch level {
{{- range .Levels}}
{{- $isa := .ISA}}
{{- range $.Copy}}{{if eq .ISAName $isa.Name}}
	case {{$isa.Level}}:
		return {{.GoName}}, {{if .Strided}}2{{else}}1{{end}} // {{.Name}}
{{- end}}{{end}}
{{- end}}
	}
	return nil, 0
}

// asmDWTaps returns the assembly depthwise tap kernel of level, or nil.
func asmDWTaps(level string) func(*DWTaps) {
	switch level {
{{- range .Levels}}
{{- $isa := .ISA}}
{{- range $.DWTaps}}{{if eq .ISAName $isa.Name}}
	case {{$isa.Level}}:
		return {{.GoName}} // {{.Name}}
{{- end}}{{end}}
{{- end}}
	}
	return nil
}

// asmActKernels returns the assembly activation kernels of level by
// kind (nil for the kinds without one).
func asmActKernels(level string) (k [actKinds]func(*ActRows)) {
	switch level {
{{- range .Levels}}
	case {{.ISA.Level}}:
{{- $isa := .ISA}}
{{- range $.Act}}{{if eq .ISAName $isa.Name}}
		k[{{.Kind}}] = {{.GoName}} // {{.Name}}
{{- end}}{{end}}
{{- end}}
	}
	return k
}

// asmWinograd returns the assembly Winograd F(2x2,3x3) transforms of
// level and the most tiles they take per call (WinoIn.N, WinoOut.N), or
// nils.
func asmWinograd(level string) (in func(*WinoIn), out func(*WinoOut), tiles int) {
	switch level {
{{- range .Levels}}{{if .Wino}}
	case {{.ISA.Level}}:
		{{with .Wino}}return {{.In.GoName}}, {{.Out.GoName}}, {{.Tiles}} // {{.In.Name}}, {{.Out.Name}}{{end}}
{{- end}}{{end}}
	}
	return nil, nil, 0
}

` + layout.Template))
