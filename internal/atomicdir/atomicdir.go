// Package atomicdir writes a set of files into a directory all at once: an error or a crash
// part-way leaves either the directory's previous files or the new ones, never a mix of the two
// and never a truncated file.
//
// The files are written and synced in a new temporary directory next to the target, which then
// takes the target's place by renaming: the target is moved aside, the temporary directory is
// renamed to the target, and the target's other entries (files the set does not name, such as a
// README) are moved back into it. A crash between those renames leaves the target absent or
// without its other entries, with everything intact in the hidden directories
// ".<name>.old-*" and ".<name>.tmp-*" beside it; the error of a failed step names them.
package atomicdir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// File is one file of the set: Write writes its content.
type File struct {
	Name  string
	Write func(w io.Writer) error
}

// rename is os.Rename, replaced by tests to fail at chosen steps.
var rename = os.Rename

// Write makes dir hold files, creating dir (and its parents) if needed and keeping the entries
// of an existing dir that files do not name. File names must be plain names, without separators.
func Write(dir string, files []File) (err error) {
	for i, f := range files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return fmt.Errorf("atomicdir: invalid file name %q", f.Name)
		}
		if slices.ContainsFunc(files[:i], func(g File) bool { return g.Name == f.Name }) {
			return fmt.Errorf("atomicdir: file %q given twice", f.Name)
		}
	}
	dir = filepath.Clean(dir)
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
	if err := syncDir(tmp); err != nil {
		return err
	}
	if !exists {
		if err := rename(tmp, dir); err != nil {
			return err
		}
		return syncDir(parent)
	}
	return replace(dir, parent, base, tmp, files)
}

// replace puts the complete directory tmp in the place of the existing dir, which is named base
// in parent, keeping dir's other entries.
func replace(dir, parent, base, tmp string, files []File) error {
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
	entries, err := os.ReadDir(old)
	if err != nil {
		return fmt.Errorf("atomicdir: %s is written, but its other entries are still in %s: %w", dir, old, err)
	}
	for _, e := range entries {
		if slices.ContainsFunc(files, func(f File) bool { return f.Name == e.Name() }) {
			continue
		}
		if err := rename(filepath.Join(old, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("atomicdir: %s is written, but some of its other entries are still in %s: %w", dir, old, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	return os.RemoveAll(old)
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
