// Package naming spells the two names of a generated kernel from one
// descriptor, for both generators (asm for amd64, asm/cmd/neongen for
// arm64): the contract name, XNNPACK style, which the runtime reports
// (GemmKernel.Name) and the documentation uses, and the Go name of the
// assembly function.
package naming

import "strings"

// Kernel describes a kernel by its parts. Variant and Shape are written
// as they appear in the Go name; the contract name has them in lower case.
type Kernel struct {
	Op      string // the operation, lower case: "gemm", "dwconv", "im2col"
	Variant string // the kind of kernel, or "" for the plain one: "TC", "Plane", "2Row"
	MinMax  bool   // the output is clamped to [Lo, Hi]
	Shape   string // the kernel's parameters: "12x32", "3x3s1", "S2"
	ISA     string // the instruction set, lower case: "avx2", "avx512", "neon"
}

// Name returns the contract name,
// f32_<op>[_<variant>][_minmax]_<shape>__<isa> in lower case:
// f32_gemm_tc_minmax_12x32__avx512.
func (k Kernel) Name() string {
	parts := []string{"f32", k.Op}
	if k.Variant != "" {
		parts = append(parts, k.Variant)
	}
	if k.MinMax {
		parts = append(parts, "minmax")
	}
	parts = append(parts, k.Shape)
	return strings.ToLower(strings.Join(parts, "_") + "__" + k.ISA)
}

// GoName returns the Go name of the assembly function,
// <op><Variant>F32[Minmax]<Shape><ISA>: gemmTCF32Minmax12x32AVX512.
func (k Kernel) GoName() string {
	name := k.Op + k.Variant + "F32"
	if k.MinMax {
		name += "Minmax"
	}
	return name + k.Shape + ISASuffix(k.ISA)
}

// ISASuffix returns instruction set isa as it ends Go names: "AVX512".
func ISASuffix(isa string) string { return strings.ToUpper(isa) }
