package hfjson

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// Auto loads the tokenizer of a checkpoint directory in Hugging Face layout as transformers'
// AutoTokenizer picks it: tokenizer.json (the fast tokenizer) when there is one, else spm.model
// (LoadDir), else vocab.txt with tokenizer_config.json (LoadVocabDir, transformers' BertTokenizer).
// Each encodes single sentences and pairs, with their truncation, as transformers 5 does.
// It fails wrapping fs.ErrNotExist when the directory has none of the three.
func Auto(dir string) (tokenizer.Encoder, error) {
	for _, name := range []string{"tokenizer.json", "spm.model"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return LoadDir(dir)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "vocab.txt")); err == nil {
		return LoadVocabDir(dir)
	}
	return nil, fmt.Errorf("hfjson: %s has no tokenizer.json, spm.model or vocab.txt: %w", dir, fs.ErrNotExist)
}
