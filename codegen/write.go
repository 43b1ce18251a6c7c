package codegen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestName is the file in which Write records what it wrote into a
// package folder: the package name and every file with its SHA-256. The
// manifest makes tsmc the owner of exactly those files: a rewrite replaces
// them, removes those the new package no longer has (an earlier online
// model's stream_test.go and data sets, say), and leaves everything else
// alone.
const ManifestName = ".tsmc-manifest"

// manifest is the content of ManifestName, as JSON.
type manifest struct {
	// Generator is always "tsmc".
	Generator string `json:"generator"`
	Package   string `json:"package"`
	// Files maps slash paths, relative to the folder, to "sha256:HEX".
	Files map[string]string `json:"files"`
}

// fileHash is the manifest's fingerprint of a file's contents.
func fileHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Manifest renders the manifest (ManifestName) of the package's files, as
// WriteContext writes it.
func (pkg *Package) Manifest() ([]byte, error) {
	m := manifest{Generator: "tsmc", Package: pkg.Name, Files: map[string]string{}}
	for name, data := range pkg.Files {
		m.Files[name] = fileHash(data)
	}
	data, err := json.MarshalIndent(m, "", "  ") // maps marshal sorted: deterministic
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// readManifest reads dir's manifest; a folder without one gives nil.
func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Generator != "tsmc" || m.Files == nil {
		return nil, fmt.Errorf("%s is not a manifest tsmc wrote (remove it, or rerun with -force)", path)
	}
	for name := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(name)) || name == ManifestName {
			return nil, fmt.Errorf("%s lists %q, which is not a file of the folder (remove it, or rerun with -force)", path, name)
		}
	}
	return &m, nil
}

// WriteOptions configures WriteContext.
type WriteOptions struct {
	// Force overwrites, and removes when the new package no longer has
	// them, files of the folder that tsmc did not write or that changed
	// since it wrote them (tsmc compile -force). Files of another Go
	// package in the folder are an error even so.
	Force bool
}

// failWrite, when set (by tests), is called before each file is written
// and can make the write fail.
var failWrite func(name string) error

// Write is WriteContext without a context or options.
func (pkg *Package) Write(dir string) error {
	return pkg.WriteContext(context.Background(), dir, WriteOptions{})
}

// WriteContext puts the package into dir, which it owns through the
// manifest (ManifestName), and never leaves a half-written or stale
// package:
//
//   - a file the package replaces or an earlier write left must be listed
//     in the manifest, unchanged since, or dir is left alone with an
//     error naming it (unless o.Force);
//   - a Go file of another package in dir, which would make the folder
//     unbuildable, is an error;
//   - every file is first written into a temporary folder (beside a new
//     dir, inside an existing one); a new dir is then that folder renamed
//     into place, while in an existing one each file replaces its old
//     version by rename, the stale files of the last write go, and a
//     failure puts back everything it moved;
//   - when ctx is done before the files are in place, the temporary folder
//     is removed and dir is as it was.
//
// Files of dir that the manifest does not list and the package does not
// have are never touched.
func (pkg *Package) WriteContext(ctx context.Context, dir string, o WriteOptions) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	files := make(map[string][]byte, len(pkg.Files)+1)
	for name, data := range pkg.Files {
		files[name] = data
	}
	if files[ManifestName], err = pkg.Manifest(); err != nil {
		return err
	}
	plan, err := planWrite(dir, pkg.Name, files, o.Force)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stage, prefix := dir, ".tsmc-"
	if !plan.exists {
		stage, prefix = filepath.Dir(dir), "."+filepath.Base(dir)+"."
		if err := os.MkdirAll(stage, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp(stage, prefix+"tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(ctx, tmp, files); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !plan.exists {
		return os.Rename(tmp, dir)
	}
	backup, err := os.MkdirTemp(dir, prefix+"old-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(backup)
	names := sortedNames(files)
	// the manifest goes last: until it is in place the old one describes
	// the folder
	names = append(slices.DeleteFunc(names, func(n string) bool { return n == ManifestName }), ManifestName)
	return replaceFiles(tmp, dir, backup, names, plan.stale)
}

// writePlan is what WriteContext found in an existing folder.
type writePlan struct {
	exists bool
	// stale lists the files of the last write (by the manifest) that the
	// new package does not have and that are still there.
	stale []string
}

// planWrite checks that the package may be written into dir (see
// WriteContext) and lists the stale files to remove.
func planWrite(dir, pkgName string, files map[string][]byte, force bool) (writePlan, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return writePlan{}, nil
	}
	if err != nil {
		return writePlan{}, err
	}
	if !info.IsDir() {
		return writePlan{}, fmt.Errorf("%s is not a folder", dir)
	}
	plan := writePlan{exists: true}
	old, err := readManifest(dir)
	if err != nil && !force {
		return writePlan{}, err
	}
	if old == nil {
		old = &manifest{}
	}
	var refused, stuck []string
	for _, name := range sortedNames(files) {
		if name == ManifestName {
			continue
		}
		state, why, err := ownership(dir, name, old)
		switch {
		case err != nil:
			return writePlan{}, err
		case state == blocked:
			stuck = append(stuck, name+" ("+why+")")
		case state == foreign && !force:
			refused = append(refused, name+" ("+why+")")
		}
	}
	for _, name := range sortedNames(old.Files) {
		if _, kept := files[name]; kept {
			continue
		}
		state, why, err := ownership(dir, name, old)
		switch {
		case err != nil:
			return writePlan{}, err
		case state == absent || state == blocked:
			// gone already, or no file tsmc could have written
		case state == foreign && !force:
			refused = append(refused, name+" (left by the last write, and "+why+")")
		default:
			plan.stale = append(plan.stale, name)
		}
	}
	if len(stuck) > 0 {
		return writePlan{}, fmt.Errorf("%s: cannot write %s", dir, strings.Join(stuck, ", "))
	}
	if len(refused) > 0 {
		return writePlan{}, fmt.Errorf("%s: refusing to replace or remove files tsmc did not write: %s; move them away, or rerun with -force to overwrite them",
			dir, strings.Join(refused, ", "))
	}
	foreign, err := foreignGoFiles(dir, pkgName, files, plan.stale)
	if err != nil {
		return writePlan{}, err
	}
	if len(foreign) > 0 {
		return writePlan{}, fmt.Errorf("%s holds Go files of another package (%s), and tsmc writes package %s there: the folder would not build; give the generated package a folder of its own",
			dir, strings.Join(foreign, ", "), pkgName)
	}
	return plan, nil
}

// fileState is what a path of the folder is to a write.
type fileState int

const (
	absent  fileState = iota
	owned             // listed in the manifest and unchanged since
	foreign           // there, but not tsmc's to replace
	blocked           // cannot become a file: a folder is there, or a parent is no folder
)

// ownership says what dir/name is to a write with the manifest old, and
// why when it is foreign or blocked.
func ownership(dir, name string, old *manifest) (fileState, string, error) {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(parent)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			return absent, "", nil
		case err != nil:
			return 0, "", err
		case !info.IsDir():
			return blocked, parent + " is not a folder", nil
		}
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return absent, "", nil
	case err != nil:
		return 0, "", err
	case info.IsDir():
		return blocked, "a folder is in the way", nil
	case !info.Mode().IsRegular():
		return foreign, "not a regular file", nil
	}
	want, listed := old.Files[name]
	if !listed {
		return foreign, "not listed in " + ManifestName, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return 0, "", err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
		return foreign, "changed since tsmc wrote it", nil
	}
	return owned, "", nil
}

// foreignGoFiles lists the Go files of dir, outside files and stale, that
// belong to another package than pkgName (or pkgName_test for tests): files
// a build of the folder would read ("file (package x)"). A program kept
// beside a package under a //go:build ignore line is not read.
func foreignGoFiles(dir, pkgName string, files map[string][]byte, stale []string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var foreign []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || e.IsDir() {
			continue
		}
		if _, ours := files[name]; ours || slices.Contains(stale, name) {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			foreign = append(foreign, name+" (no package clause tsmc can read)")
			continue
		}
		if ignoredByBuild(f.Comments) {
			continue
		}
		pkg := f.Name.Name
		if pkg == pkgName || strings.HasSuffix(name, "_test.go") && pkg == pkgName+"_test" {
			continue
		}
		foreign = append(foreign, fmt.Sprintf("%s (package %s)", name, pkg))
	}
	return foreign, nil
}

// ignoredByBuild reports whether a file's //go:build line keeps it out of
// every build through the ignore tag.
func ignoredByBuild(comments []*ast.CommentGroup) bool {
	for _, g := range comments {
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return false
			}
			mentionsIgnore := false
			satisfiable := expr.Eval(func(tag string) bool {
				if tag == "ignore" {
					mentionsIgnore = true
					return false
				}
				return true
			})
			return mentionsIgnore && !satisfiable
		}
	}
	return false
}

// writeFiles writes every file under root, in sorted order, stopping when
// ctx is done.
func writeFiles(ctx context.Context, root string, files map[string][]byte) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	for _, name := range sortedNames(files) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if failWrite != nil {
			if err := failWrite(name); err != nil {
				return err
			}
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedNames[V any](files map[string]V) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// replaceFiles moves the stale files of dst into backup, then each file
// of names from src into dst, moving the old one into backup first; empty
// folders the stale files leave are removed. On failure it puts back what
// it moved and removes the folders it made.
func replaceFiles(src, dst, backup string, names, stale []string) (err error) {
	type move struct {
		name          string
		hadOld, isNew bool
	}
	var done []move
	var made []string // folders made in dst, in order
	defer func() {
		if err == nil {
			return
		}
		for _, m := range slices.Backward(done) {
			target := filepath.Join(dst, filepath.FromSlash(m.name))
			if m.isNew {
				os.Remove(target)
			}
			if m.hadOld {
				os.Rename(filepath.Join(backup, filepath.FromSlash(m.name)), target)
			}
		}
		for _, d := range slices.Backward(made) {
			os.Remove(d) // only if empty
		}
	}()
	mkdirs := func(dir string) error {
		var missing []string
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil || d == filepath.Dir(d) {
				break
			}
			missing = append(missing, d)
		}
		for _, d := range slices.Backward(missing) {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			made = append(made, d)
		}
		return nil
	}
	aside := func(name string) (bool, error) {
		from := filepath.Join(dst, filepath.FromSlash(name))
		if _, err := os.Lstat(from); err != nil {
			return false, nil
		}
		to := filepath.Join(backup, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return false, err
		}
		if err := os.Rename(from, to); err != nil {
			return false, fmt.Errorf("moving %s aside: %w", from, err)
		}
		return true, nil
	}
	for _, name := range stale {
		moved, err := aside(name)
		if err != nil {
			return err
		}
		done = append(done, move{name: name, hadOld: moved})
	}
	for _, name := range names {
		moved, err := aside(name)
		if err != nil {
			return err
		}
		done = append(done, move{name: name, hadOld: moved})
		to := filepath.Join(dst, filepath.FromSlash(name))
		if err := mkdirs(filepath.Dir(to)); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(src, filepath.FromSlash(name)), to); err != nil {
			return fmt.Errorf("moving %s into place: %w", to, err)
		}
		done[len(done)-1].isNew = true
	}
	for _, name := range stale {
		for d := filepath.Dir(filepath.Join(dst, filepath.FromSlash(name))); d != dst && strings.HasPrefix(d, dst); d = filepath.Dir(d) {
			if os.Remove(d) != nil { // not empty: other files live there
				break
			}
		}
	}
	return nil
}
