package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	cyberbert "github.com/nlpodyssey/cybertron/pkg/converter/bert"
)

// convertWithCybertron runs cybertron's BERT converter on a copy of tiny-bert
// and returns a directory holding only config.json, vocab.txt and the
// spago_model.bin it wrote.
func convertWithCybertron(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyFiles(t, dir, tinyDir, ConfigFile, VocabFile, PyTorchFile)
	if err := cyberbert.Convert[float32](dir, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, PyTorchFile)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadSpagoModel checks that the tensors read back from cybertron's
// spago_model.bin, with the per-head query/key/value projections stacked back
// together, equal the ones read from pytorch_model.bin.
func TestLoadSpagoModel(t *testing.T) {
	dir := convertWithCybertron(t)
	c, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadPyTorch(filepath.Join(tinyDir, PyTorchFile))
	if err != nil {
		t.Fatal(err)
	}
	// cybertron's converter never copies the embedding of the last vocabulary
	// entry (its Vocabulary.Term rejects the largest id), so that row is zero
	// in every spago_model.bin; compare it separately.
	words := want["embeddings.word_embeddings.weight"]
	hidden := c.Config.HiddenSize
	lastRow := c.Tensors["embeddings.word_embeddings.weight"].Data[len(words.Data)-hidden:]
	for i, v := range lastRow {
		if v != 0 {
			t.Fatalf("last vocabulary row [%d] = %g; cybertron's converter was expected to leave it zero", i, v)
		}
	}
	fixed := &Tensor{Shape: words.Shape, Data: append([]float32(nil), words.Data...)}
	clear(fixed.Data[len(fixed.Data)-hidden:])
	want["embeddings.word_embeddings.weight"] = fixed
	requireSameTensors(t, want, c.Tensors)
}

func TestLoadSpagoModelErrors(t *testing.T) {
	t.Run("corrupt", func(t *testing.T) {
		dir := t.TempDir()
		copyFiles(t, dir, tinyDir, ConfigFile)
		if err := os.WriteFile(filepath.Join(dir, SpagoFile), []byte("not a gob"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadDir(dir)
		requireError(t, err, ErrCorrupt, SpagoFile)
	})
	t.Run("truncated", func(t *testing.T) {
		dir := convertWithCybertron(t)
		path := filepath.Join(dir, SpagoFile)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = LoadDir(dir)
		requireError(t, err, ErrCorrupt, SpagoFile)
	})
	t.Run("unknown architecture", func(t *testing.T) {
		_, err := loadSpago(filepath.Join(t.TempDir(), SpagoFile), []string{"BertForMultipleChoice"})
		requireError(t, err, ErrUnsupported, "BertForMultipleChoice")
	})
}

// TestWriteSpagoRoundTrip checks that WriteSpago writes what loadSpago (the inverse of
// cybertron's converter) reads back bit for bit, last vocabulary row included.
func TestWriteSpagoRoundTrip(t *testing.T) {
	ck, err := LoadDir(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFiles(t, dir, tinyDir, ConfigFile, VocabFile)
	if err := WriteSpago(dir, ck); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	requireSameTensors(t, ck.Tensors, back.Tensors)
}

func TestWriteSpagoErrors(t *testing.T) {
	ck, err := LoadDir(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	requireError(t, WriteSpago(t.TempDir(), ck), ErrNotFound, VocabFile)

	headless := &Checkpoint{Config: ck.Config, Tensors: map[string]*Tensor{}}
	for name, tensor := range ck.Tensors {
		if name != "classifier.weight" && name != "classifier.bias" {
			headless.Tensors[name] = tensor
		}
	}
	dir := t.TempDir()
	copyFiles(t, dir, tinyDir, VocabFile)
	requireError(t, WriteSpago(dir, headless), ErrUnsupported, "classifier")

	short := t.TempDir()
	if err := os.WriteFile(filepath.Join(short, VocabFile), []byte("[PAD]\n[UNK]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	requireError(t, WriteSpago(short, ck), ErrCorrupt, "vocab_size")
}
