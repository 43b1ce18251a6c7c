package runtime

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestCPUVendor checks the CPUID vendor string against the kernel's
// (/proc/cpuinfo's vendor_id, where there is one) and that the default
// rules are the fitted table of its family.
func TestCPUVendor(t *testing.T) {
	v := CPUVendor()
	switch {
	case !readsVendor && v != "":
		t.Errorf("CPUVendor() = %q without a probe, want \"\"", v)
	case readsVendor && len(v) != 12:
		t.Errorf("CPUVendor() = %q, want the 12 bytes of CPUID leaf 0", v)
	case readsVendor:
		if want := procVendor(); want != "" && v != want {
			t.Errorf("CPUVendor() = %q, /proc/cpuinfo says %q", v, want)
		}
	}
	fam := CPURulesFamily()
	if r, ok := fittedRules[fam]; !ok || r != DefaultRules() {
		t.Errorf("the default rules are not the %s table: %+v", fam, DefaultRules())
	}
	for vendor, want := range map[string]string{"GenuineIntel": RulesIntel, "AuthenticAMD": RulesAMD, "HygonGenuine": RulesAMD, "": RulesAMD} {
		if got := RulesFamily(vendor); got != want {
			t.Errorf("RulesFamily(%q) = %q, want %q", vendor, got, want)
		}
	}
}

// procVendor returns the vendor_id of /proc/cpuinfo, or "" where it has
// none (another OS or architecture, or the file is not readable).
func procVendor() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "vendor_id" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
