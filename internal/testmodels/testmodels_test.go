package testmodels

import (
	"path/filepath"
	"testing"
)

func TestDirFollowsEnv(t *testing.T) {
	t.Setenv(Env, "/some/where")
	if got := Dir(); got != "/some/where" {
		t.Errorf("Dir() = %q with %s set", got, Env)
	}
}

func TestDirBesideCheckout(t *testing.T) {
	t.Setenv(Env, "")
	root := moduleRoot()
	if root == "" {
		t.Fatal("module root not found from the package folder")
	}
	if want := filepath.Join(filepath.Dir(root), "shared", "models"); Dir() != want {
		t.Errorf("Dir() = %q, want %q", Dir(), want)
	}
}
