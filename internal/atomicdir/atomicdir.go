// Package atomicdir writes a set of files into a directory all at once: an error or a crash
// part-way leaves either the directory's previous files or the new ones, never a mix of the two
// and never a truncated file.
//
// The files are written and synced in a new temporary directory next to the target, which then
// takes the target's place by renaming: the target's other files (those the set does not name,
// such as a README) are hard-linked into the temporary directory first, so they are never moved
// or copied, and the previous target is removed once the new one is in place. A crash between
// the two renames leaves the target absent, with everything intact in the hidden directories
// ".<name>.old-*" and ".<name>.tmp-*" beside it; the error of a failed step names them.
//
// Check finds, before any work is done, what would make Write fail: a file or a dangling link in
// the way, a directory that cannot be written, other subdirectories in the target.
package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// File is one file of the set: Write writes its content.
type File struct {
	Name  string
	Write func(w io.Writer) error
}

// rename is os.Rename, replaced by tests to fail at chosen steps.
var rename = os.Rename

// ErrDestination reports a directory Write cannot replace; Check and Write return it before
// writing anything.
var ErrDestination = errors.New("atomicdir: cannot write the directory")

// Write makes dir hold files, creating dir (and its parents) if needed and keeping the other
// files of an existing dir in place. File names must be plain names, without separators. It
// fails with ErrDestination, before writing anything, where Check does.
func Write(dir string, files []File) (err error) {
	for i, f := range files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return fmt.Errorf("atomicdir: invalid file name %q", f.Name)
		}
		if slices.ContainsFunc(files[:i], func(g File) bool { return g.Name == f.Name }) {
			return fmt.Errorf("atomicdir: file %q given twice", f.Name)
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	dir = filepath.Clean(dir)
	if err := Check(dir, names); err != nil {
		return err
	}
	exists, err := existingDir(dir)
	if err != nil {
		return err
	}
	if exists {
		if dir, err = filepath.EvalSymlinks(dir); err != nil {
			return err
		}
	}
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(tmp, f.Name), f.Write); err != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, f.Name), err)
		}
	}
	if exists {
		if err := linkOthers(dir, tmp, names); err != nil {
			return err
		}
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if !exists {
		if err := rename(tmp, dir); err != nil {
			return err
		}
		return syncDir(parent)
	}
	return replace(dir, parent, base, tmp)
}

// linkOthers hard-links the files of dir that names does not list into tmp.
func linkOthers(dir, tmp string, names []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if slices.Contains(names, e.Name()) {
			continue
		}
		if err := os.Link(filepath.Join(dir, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
			return fmt.Errorf("%w: keeping %s: %w", ErrDestination, filepath.Join(dir, e.Name()), err)
		}
	}
	return nil
}

// replace puts the complete directory tmp in the place of the existing dir, which is named base
// in parent, and removes the previous dir.
func replace(dir, parent, base, tmp string) error {
	old, err := reserveName(parent, "."+base+".old-")
	if err != nil {
		return err
	}
	if err := rename(dir, old); err != nil {
		return err
	}
	if err := rename(tmp, dir); err != nil {
		if back := rename(old, dir); back != nil {
			return fmt.Errorf("atomicdir: %w; the previous %s is at %s", errors.Join(err, back), dir, old)
		}
		return err
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("atomicdir: %s is written, but its previous version is left in %s: %w", dir, old, err)
	}
	return nil
}

// Check reports, wrapping ErrDestination, what would keep Write(dir, files named names) from
// replacing dir: something other than a directory in its place (a file, a link to nothing), a
// subdirectory in dir that names does not list (Write keeps other files by hard-linking them,
// which directories cannot be), or a directory it cannot write in (dir itself, since its previous
// files are removed, and the one that holds it). It writes nothing that stays.
func Check(dir string, names []string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrDestination}, args...)...)
	}
	dir = filepath.Clean(dir)
	info, err := os.Lstat(dir)
	if err == nil && info.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(dir)
		if info, err = os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return bad("%s is a symbolic link to %s, which does not exist", dir, target)
		}
	}
	switch {
	case missing(err):
		return checkCreatable(dir)
	case err != nil:
		return bad("%w", err)
	case !info.IsDir():
		return bad("%s exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return bad("%w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(names, e.Name()) {
			return bad("%s holds the directory %s, which replacing it would have to move: choose another directory", dir, e.Name())
		}
	}
	if err := probe(dir); err != nil {
		return bad("%w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return bad("%w", err)
	}
	if err := probe(filepath.Dir(real)); err != nil {
		return bad("%w", err)
	}
	return nil
}

// checkCreatable reports whether the missing dir can be created: its nearest existing ancestor
// must be a directory that can be written in.
func checkCreatable(dir string) error {
	for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
		info, err := os.Stat(parent)
		switch {
		case missing(err) && parent != filepath.Dir(parent):
			continue
		case err != nil:
			return fmt.Errorf("%w: %w", ErrDestination, err)
		case !info.IsDir():
			return fmt.Errorf("%w: %s is not a directory, so %s cannot be created", ErrDestination, parent, dir)
		}
		if err := probe(parent); err != nil {
			return fmt.Errorf("%w: %w", ErrDestination, err)
		}
		return nil
	}
}

// missing reports an error of a path that does not exist, or whose parent is not a directory.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// probe checks that dir can be written in by creating and removing a temporary file: the
// permission bits do not say (root ignores them; a read-only mount does not show in them).
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".atomicdir-probe-")
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return fmt.Errorf("cannot write in %s: %w", dir, pathErr.Err)
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// existingDir reports whether path is an existing directory (or a link to one), failing if it
// exists as something else.
func existingDir(path string) (bool, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !info.IsDir():
		return false, fmt.Errorf("atomicdir: %s exists and is not a directory", path)
	}
	return true, nil
}

// reserveName returns an unused path in parent starting with prefix.
func reserveName(parent, prefix string) (string, error) {
	name, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", err
	}
	return name, os.Remove(name)
}

// writeFile creates path, writes it with write and syncs it to disk.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the renames inside dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
