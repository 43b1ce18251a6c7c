//go:build !amd64 || purego

package runtime

// CPUVendor returns "": without the amd64 CPUID probe no vendor string is
// read (the default rules are then the AMD table, RulesFamily).
func CPUVendor() string { return "" }

// readsVendor: CPUVendor has no probe here.
const readsVendor = false
