package atomicdir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func content(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// set is the two-file set the tests write, with contents tagged by version.
func set(version string) []File {
	return []File{{Name: "config.json", Write: content("config " + version)}, {Name: "weights.bin", Write: content("weights " + version)}}
}

// listing returns every entry under root (relative paths) with the content of files.
func listing(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			require.NoError(t, err)
			out[rel] = "-> " + target
			return nil
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		out[rel] = string(data)
		return nil
	}))
	return out
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "nested", "adapter")
	require.NoError(t, Write(dir, set("v1")))
	readme := filepath.Join(dir, "README.md")
	require.NoError(t, os.WriteFile(readme, []byte("notes"), 0o644))
	before, err := os.Stat(readme)
	require.NoError(t, err)
	require.NoError(t, Write(dir, set("v2")))
	assert.Equal(t, map[string]string{
		"./": "", "nested/": "", "nested/adapter/": "",
		"nested/adapter/config.json": "config v2", "nested/adapter/weights.bin": "weights v2", "nested/adapter/README.md": "notes",
	}, listing(t, root), "new files, other files kept, nothing left behind")
	after, err := os.Stat(readme)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the user's file is the same file, neither copied nor moved")
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())
}

func TestWriteReplacesRelativeDir(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	require.NoError(t, Write("adapter", set("v1")))
	require.NoError(t, Write("adapter", set("v2")), "a directory named without a parent part")
	assert.Equal(t, map[string]string{
		"./": "", "adapter/": "", "adapter/config.json": "config v2", "adapter/weights.bin": "weights v2",
	}, listing(t, root))
}

// TestWriteFailsMidway fails each step of a replacement in turn and checks that the directory
// then holds its previous files exactly, or (after the new files are in place) the new ones,
// with no temporary directory left beside it unless the error names it.
func TestWriteFailsMidway(t *testing.T) {
	failWriter := errors.New("disk full")
	failRename := errors.New("rename refused")
	cases := []struct {
		name       string
		files      []File
		failRename int // fail the n-th rename (1-based), 0 for none
		wantNew    bool
	}{
		{name: "second file's writer fails part-way", files: []File{set("v2")[0], {Name: "weights.bin", Write: func(w io.Writer) error {
			io.WriteString(w, "weig")
			return failWriter
		}}}},
		{name: "moving the old directory aside fails", files: set("v2"), failRename: 1},
		{name: "moving the new directory in fails", files: set("v2"), failRename: 2},
		{name: "no failure", files: set("v2"), wantNew: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "adapter")
			require.NoError(t, Write(dir, set("v1")))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("notes"), 0o644))
			calls := 0
			rename = func(from, to string) error {
				calls++
				if calls == c.failRename {
					return failRename
				}
				return os.Rename(from, to)
			}
			defer func() { rename = os.Rename }()

			err := Write(dir, c.files)
			got := listing(t, dir)
			if c.wantNew {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			if !c.wantNew {
				assert.Equal(t, map[string]string{"./": "", "config.json": "config v1", "weights.bin": "weights v1", "README.md": "notes"}, got)
				entries, _ := os.ReadDir(root)
				assert.Len(t, entries, 1, "no temporary directory left: %v", entries)
				return
			}
			assert.Equal(t, map[string]string{"./": "", "config.json": "config v2", "weights.bin": "weights v2", "README.md": "notes"}, got)
			entries, _ := os.ReadDir(root)
			assert.Len(t, entries, 1, "no temporary directory left: %v", entries)
		})
	}
}

func TestWriteRejects(t *testing.T) {
	root := t.TempDir()
	notDir := filepath.Join(root, "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o644))
	assert.ErrorContains(t, Write(notDir, set("v1")), "not a directory")
	for _, name := range []string{"", "a/b", "..", "."} {
		assert.Error(t, Write(filepath.Join(root, "x"), []File{{Name: name, Write: content("")}}), "name %q", name)
	}
	assert.ErrorContains(t, Write(filepath.Join(root, "x"), append(set("v1"), set("v1")[0])), "twice")
	_, err := os.Stat(filepath.Join(root, "x"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// Destinations Write cannot replace fail Check and Write with ErrDestination before anything is
// written, and leave everything as it was.
func TestCheckRefuses(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	require.NoError(t, os.WriteFile(file, []byte("mine"), 0o644))
	dangling := filepath.Join(root, "dangling")
	require.NoError(t, os.Symlink(filepath.Join(root, "gone"), dangling))
	withSub := filepath.Join(root, "with-sub")
	require.NoError(t, os.MkdirAll(filepath.Join(withSub, "checkpoints"), 0o755))
	tests := []struct{ name, dir, want string }{
		{"a file in the way", file, file + " exists and is not a directory"},
		{"a file as parent", filepath.Join(file, "adapter"), file + " is not a directory, so " + filepath.Join(file, "adapter") + " cannot be created"},
		{"a file as grandparent", filepath.Join(file, "a", "b"), file + " is not a directory"},
		{"a dangling link", dangling, dangling + " is a symbolic link to " + filepath.Join(root, "gone") + ", which does not exist"},
		{"another directory inside", withSub, withSub + " holds the directory checkpoints, which replacing it would have to move"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listing(t, root)
			for _, err := range []error{Check(tt.dir, []string{"config.json", "weights.bin"}), Write(tt.dir, set("v1"))} {
				assert.ErrorIs(t, err, ErrDestination)
				assert.ErrorContains(t, err, tt.want)
			}
			assert.Equal(t, before, listing(t, root))
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "target")
	require.NoError(t, Write(target, set("v1")))
	link := filepath.Join(root, "link")
	require.NoError(t, os.Symlink(target, link))
	for _, dir := range []string{filepath.Join(root, "new", "nested"), target, link} {
		require.NoError(t, Check(dir, []string{"config.json", "weights.bin"}), dir)
	}
	require.NoError(t, Write(link, set("v2")))
	assert.Equal(t, map[string]string{"./": "", "target/": "", "target/config.json": "config v2", "target/weights.bin": "weights v2", "link": "-> " + target}, listing(t, root))
}

// A read-only directory, or one in a read-only parent, is refused before anything is written.
// (As root permission bits do not apply; the examples' hostile-input tests run this case as an
// unprivileged user.)
func TestCheckReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("skipping: root writes into read-only directories")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "adapter")
	require.NoError(t, Write(dir, set("v1")))
	require.NoError(t, os.Chmod(dir, 0o555))
	defer os.Chmod(dir, 0o755)
	assert.ErrorIs(t, Write(dir, set("v2")), ErrDestination)
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(root, 0o555))
	defer os.Chmod(root, 0o755)
	assert.ErrorIs(t, Write(dir, set("v2")), ErrDestination)
	assert.ErrorIs(t, Write(filepath.Join(root, "new"), set("v2")), ErrDestination)
}
