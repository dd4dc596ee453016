package atomicdir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("notes"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, Write(dir, set("v2")))
	assert.Equal(t, map[string]string{
		"./": "", "nested/": "", "nested/adapter/": "", "nested/adapter/sub/": "",
		"nested/adapter/config.json": "config v2", "nested/adapter/weights.bin": "weights v2", "nested/adapter/README.md": "notes",
	}, listing(t, root), "new files, other entries kept, nothing left behind")
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
		{name: "moving other entries back fails", files: set("v2"), failRename: 3, wantNew: true},
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
			require.Error(t, err)
			got := listing(t, dir)
			if !c.wantNew {
				assert.Equal(t, map[string]string{"./": "", "config.json": "config v1", "weights.bin": "weights v1", "README.md": "notes"}, got)
				entries, _ := os.ReadDir(root)
				assert.Len(t, entries, 1, "no temporary directory left: %v", entries)
				return
			}
			assert.Equal(t, map[string]string{"./": "", "config.json": "config v2", "weights.bin": "weights v2"}, got)
			entries, _ := os.ReadDir(root)
			require.Len(t, entries, 2)
			aside := entries[0].Name()
			if aside == "adapter" {
				aside = entries[1].Name()
			}
			assert.True(t, strings.HasPrefix(aside, ".adapter.old-"))
			assert.Contains(t, err.Error(), aside, "the error says where the other entries are")
			data, _ := os.ReadFile(filepath.Join(root, aside, "README.md"))
			assert.Equal(t, "notes", string(data))
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
