package golden

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGeneratedPackagesImportNoCompiler checks that the generated packages
// here and the example's, tests included, depend on tsmc's runtime, the
// IR-free internal/floatcmp, golang.org/x/sys/cpu and the standard library
// only: a package from tsmc compile must not pull the compiler into the
// module that uses it.
func TestGeneratedPackagesImportNoCompiler(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	generated := []string{"./tsm_tiny_official", "./tsm_tiny_mmaction", "./tsm_tiny_official_int8", "../examples/online/jester"}
	args := append([]string{"list", "-deps", "-test", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, generated...)
	out, err := exec.Command(goCmd, args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/tsmc-go/tsmc/"
	allowed := func(path string) bool {
		path, _, _ = strings.Cut(path, " [") // a package as its test sees it
		path = strings.TrimSuffix(path, ".test")
		switch {
		case path == module+"runtime", strings.HasPrefix(path, module+"runtime/"),
			path == module+"internal/floatcmp", path == "golang.org/x/sys/cpu":
			return true
		}
		for _, g := range generated {
			if strings.HasSuffix(path, strings.TrimLeft(g, "./")) {
				return true
			}
		}
		return false
	}
	deps := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(deps) < len(generated) {
		t.Fatal("go list printed no packages")
	}
	for _, dep := range deps {
		if !allowed(dep) {
			t.Errorf("a generated package depends on %s", dep)
		}
	}
}
