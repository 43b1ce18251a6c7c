package codegen

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// failWrite, when set (by tests), is called before each file is written
// and can make the write fail.
var failWrite func(name string) error

// Write puts the package into dir without ever leaving a half-written
// package: every file is first written into a temporary folder beside dir.
// A new dir is then that folder renamed into place. An existing dir keeps
// files that are not generated; each generated unit (a top-level file, or
// one data set folder under testdata/) replaces the old one by rename,
// and a failure while replacing puts the old units back.
func (pkg *Package) Write(dir string) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := pkg.writeFiles(tmp); err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, dir)
	} else if err != nil {
		return err
	}
	return replaceUnits(tmp, dir, pkg.units())
}

// writeFiles writes every file under root, in sorted order.
func (pkg *Package) writeFiles(root string) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(pkg.Files))
	for name := range pkg.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if failWrite != nil {
			if err := failWrite(name); err != nil {
				return err
			}
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, pkg.Files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// units lists the generated paths that replace their old versions as a
// whole: top-level files, and testdata/<data set> folders.
func (pkg *Package) units() []string {
	seen := map[string]bool{}
	var units []string
	for name := range pkg.Files {
		unit := name
		if parts := strings.SplitN(name, "/", 3); len(parts) == 3 {
			unit = path.Join(parts[0], parts[1])
		}
		if !seen[unit] {
			seen[unit] = true
			units = append(units, unit)
		}
	}
	slices.Sort(units)
	return units
}

// replaceUnits moves each unit from src into dst, moving the old one into
// a backup folder first; on failure it restores what it replaced.
func replaceUnits(src, dst string, units []string) (err error) {
	backup, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(backup)
	type move struct {
		unit   string
		hadOld bool
	}
	var done []move
	defer func() {
		if err == nil {
			return
		}
		for _, m := range slices.Backward(done) {
			target := filepath.Join(dst, filepath.FromSlash(m.unit))
			os.RemoveAll(target)
			if m.hadOld {
				os.Rename(filepath.Join(backup, filepath.FromSlash(m.unit)), target)
			}
		}
	}()
	for _, unit := range units {
		from := filepath.Join(src, filepath.FromSlash(unit))
		to := filepath.Join(dst, filepath.FromSlash(unit))
		old := filepath.Join(backup, filepath.FromSlash(unit))
		m := move{unit: unit}
		if _, statErr := os.Lstat(to); statErr == nil {
			if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
				return err
			}
			if err := os.Rename(to, old); err != nil {
				return fmt.Errorf("moving %s aside: %w", to, err)
			}
			m.hadOld = true
		}
		done = append(done, m)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("moving %s into place: %w", to, err)
		}
	}
	return nil
}
