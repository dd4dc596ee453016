package finetune

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/peft"
)

// TaskTokens labels every word (named entities, CoNLL-2003 style): data in CoNLL files, tags
// aligned to each word's first word piece (the others and the special tokens ignored, -100), a
// classifier on each token's hidden state (BertForTokenClassification), token accuracy and
// seqeval's entity F1, and adapters saved with PEFT's task_type TOKEN_CLS.
const TaskTokens = "tokens"

// MetaLabelNames is the safetensors metadata key under which an adapter records the names of its
// classes (Job.Columns.LabelNames, or a token classifier's tags), a JSON list in class order, for
// prediction; PEFT ignores it.
const MetaLabelNames = "spago_peft.label_names"

// withoutPooler returns t without "pooler" among the modules to save: the targets of TaskTokens,
// whose model (BertForTokenClassification) has no pooler, from the defaults of classification.
func withoutPooler(t peft.Targets) peft.Targets {
	t.ModulesToSave = slices.DeleteFunc(slices.Clone(t.ModulesToSave), func(m string) bool { return m == "pooler" || m == "bert.pooler" })
	return t
}

// readTokenData reads the CoNLL files job.Data and job.DevData name (a directory holding
// train.txt and dev.txt, or files) and draws the training and dev sets from them as drawSets does.
func readTokenData(job Job) (drawn[dataset.Sentence], error) {
	if job.Data == "" {
		return drawn[dataset.Sentence]{}, fmt.Errorf("%w: the %s task needs data: a CoNLL directory (train.txt, dev.txt) or file", ErrInvalidJob, TaskTokens)
	}
	trainPath, devPath := job.Data, job.DevData
	if info, err := os.Stat(job.Data); err == nil && info.IsDir() {
		trainPath = filepath.Join(job.Data, dataset.CoNLLTrainFile)
		if devPath == "" {
			devPath = filepath.Join(job.Data, dataset.CoNLLDevFile)
		}
	}
	train, err := dataset.ReadCoNLL(trainPath)
	var dev []dataset.Sentence
	if err == nil && devPath != "" {
		dev, err = dataset.ReadCoNLL(devPath)
	}
	if err != nil {
		return drawn[dataset.Sentence]{}, err
	}
	return drawSets(job, train, dev, trainPath, devPath, "sentence")
}

// prepareTokens reads and tokenises the data of a TaskTokens job into s.
func (s *Setup) prepareTokens(job Job, note func(string, ...any)) error {
	d, err := readTokenData(job)
	if err != nil {
		return err
	}
	note("data: %d training sentences from %s, %d dev sentences from %s", len(d.train), d.trainSource, len(d.dev), d.devSource)
	s.TrainSource, s.DevSource = d.trainSource, d.devSource
	s.TagNames = dataset.Tags(d.train, d.dev)
	s.NumLabels = len(s.TagNames)
	if job.NumLabels > 0 && job.NumLabels != s.NumLabels {
		return fmt.Errorf("%w: %d labels, but the data has %d tags %v", ErrInvalidJob, job.NumLabels, s.NumLabels, s.TagNames)
	}
	if s.TrainSet, err = train.EncodeTokens(s.Tokenizer, d.train, s.TagNames, s.MaxLen); err != nil {
		return err
	}
	s.DevSet, err = train.EncodeTokens(s.Tokenizer, d.dev, s.TagNames, s.MaxLen)
	return err
}

// PredictTokens tags the words of each sentence with model, a token classifier, naming the tags
// with tagNames: each word gets the tag of its first word piece (EncodeWords). A word without a
// piece (dropped by the tokenizer, or past maxLen tokens) gets "O" if that is a tag, else the
// first tag.
func PredictTokens(model *bert.Model, tok tokenizer.Encoder, sentences [][]string, tagNames []string, maxLen int) ([][]string, error) {
	if !model.TokenClassification() {
		return nil, fmt.Errorf("%w: PredictTokens needs a token classifier", ErrInvalidJob)
	}
	if len(tagNames) != model.NumLabels() {
		return nil, fmt.Errorf("%w: %d tag names for a model of %d labels", ErrInvalidJob, len(tagNames), model.NumLabels())
	}
	model.SetTraining(false)
	if maxLen == 0 {
		maxLen = model.Config().MaxPositionEmbeddings
	}
	fallback := tagNames[0]
	if slices.Contains(tagNames, "O") {
		fallback = "O"
	}
	out := make([][]string, 0, len(sentences))
	const batchSize = 32
	for lo := 0; lo < len(sentences); lo += batchSize {
		var b bert.Batch
		var starts [][]int
		for _, words := range sentences[lo:min(lo+batchSize, len(sentences))] {
			ids, st := train.EncodeWords(tok, words, maxLen)
			b.IDs, starts = append(b.IDs, ids), append(starts, st)
		}
		logits, err := model.TokenLogits(b)
		if err != nil {
			return nil, err
		}
		x, n := logits.Value().Data().F64(), len(tagNames)
		row := 0
		for i, st := range starts {
			tags := make([]string, len(st))
			for w, start := range st {
				tags[w] = fallback
				if start < 0 {
					continue
				}
				r := x[(row+start)*n : (row+start+1)*n]
				tags[w] = tagNames[argmax(r)]
			}
			row += len(b.IDs[i])
			out = append(out, tags)
		}
	}
	return out, nil
}

// LabelNames returns the class names (a token classifier's tags) recorded in an adapter directory
// saved by Result.SaveAdapter, or nil if it records none.
func LabelNames(dir string) ([]string, error) {
	md, err := peft.LoadAdapterMetadata(dir)
	if err != nil || md[MetaLabelNames] == "" {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal([]byte(md[MetaLabelNames]), &names); err != nil {
		return nil, fmt.Errorf("%w: %s: metadata %s: %w", peft.ErrInvalidConfig, dir, MetaLabelNames, err)
	}
	return names, nil
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
