package finetune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/checkpoint"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/peft"
)

// Prediction is a classifier's answer for one text, or a regression model's.
type Prediction struct {
	// Label is the class with the highest probability; 0 for a regression model.
	Label int
	// Probs are the softmax probabilities of every class; nil for a regression model.
	Probs []float64
	// Score is a regression model's output (its one logit); 0 for a classifier.
	Score float64
}

// Predict classifies texts with model, tokenising them with tok and truncating them to maxLen
// tokens (0: no limit beyond the model's). The model is switched to evaluation mode.
func Predict(model *bert.Model, tok tokenizer.Encoder, texts []string, maxLen int) ([]Prediction, error) {
	return predict(model, len(texts), maxLen, func(i, maxLen int) tokenizer.Encoding { return tok.Encode(texts[i], maxLen) })
}

// PredictPairs classifies sentence pairs, or scores them with a regression model, as Predict
// does single sentences.
func PredictPairs(model *bert.Model, tok tokenizer.Encoder, pairs [][2]string, maxLen int) ([]Prediction, error) {
	return predict(model, len(pairs), maxLen, func(i, maxLen int) tokenizer.Encoding {
		return tok.EncodePair(pairs[i][0], pairs[i][1], maxLen)
	})
}

// predict runs model on n inputs, encode(i, maxLen) giving the i-th, in batches.
func predict(model *bert.Model, n, maxLen int, encode func(i, maxLen int) tokenizer.Encoding) ([]Prediction, error) {
	if model.TokenClassification() {
		return nil, fmt.Errorf("%w: the model labels tokens: use PredictTokens", ErrInvalidJob)
	}
	model.SetTraining(false)
	if maxLen == 0 {
		maxLen = model.Config().MaxTokens()
	}
	const batchSize = 64
	preds := make([]Prediction, 0, n)
	for lo := 0; lo < n; lo += batchSize {
		var b bert.Batch
		for i := lo; i < min(lo+batchSize, n); i++ {
			enc := encode(i, maxLen)
			b.IDs = append(b.IDs, enc.IDs)
			b.TypeIDs = append(b.TypeIDs, enc.TypeIDs)
		}
		logits, err := model.Logits(b)
		if err != nil {
			return nil, err
		}
		v := logits.Value()
		rows, cols := v.Shape()[0], v.Shape()[1]
		data := v.Data().F64()
		for i := range rows {
			if cols == 1 {
				preds = append(preds, Prediction{Score: data[i]})
				continue
			}
			preds = append(preds, softmax(data[i*cols:(i+1)*cols]))
		}
	}
	return preds, nil
}

// softmax turns one row of logits into a Prediction.
func softmax(logits []float64) Prediction {
	p := Prediction{Probs: make([]float64, len(logits))}
	top := math.Inf(-1)
	for i, l := range logits {
		if l > top {
			top, p.Label = l, i
		}
	}
	sum := 0.0
	for i, l := range logits {
		p.Probs[i] = math.Exp(l - top)
		sum += p.Probs[i]
	}
	for i := range p.Probs {
		p.Probs[i] /= sum
	}
	return p
}

// Errors of LoadAdapter about the base.
var (
	// ErrRecordedBase reports that the base an adapter records cannot be loaded; naming the base
	// explicitly overrides the record.
	ErrRecordedBase = errors.New("finetune: cannot load the adapter's recorded base")
	// ErrBaseMismatch reports a base whose Fingerprint differs from the one the adapter was
	// trained on.
	ErrBaseMismatch = errors.New("finetune: the adapter was trained on another base")
)

// LoadAdapter loads an adapter saved by Result.SaveAdapter (or by PEFT for
// BertForSequenceClassification) from dir onto its base: model if not empty, else the base the
// adapter records (its base_model_name_or_path), which may be DefaultBaseName. It returns the
// model, in evaluation mode, with its tokenizer and the name of the base it used; the class names
// the adapter records (LabelNames) name the model's labels, for its merged export.
//
// It fails with ErrRecordedBase when the recorded base cannot be loaded, and with
// ErrBaseMismatch when the adapter records a base Fingerprint (as Result.SaveAdapter does) and
// the base differs; bert.LoadAdapter checks the adapters' values.
func LoadAdapter(ctx context.Context, dir, model string, opts checkpoint.DownloadOptions) (*bert.Model, tokenizer.Encoder, string, error) {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is a file, want an adapter directory (%s, %s)", dir, peft.AdapterConfigFile, peft.AdapterWeightsFile)
		}
		return nil, nil, "", fmt.Errorf("finetune: adapter directory: %w", err)
	}
	metadata, err := peft.LoadAdapterMetadata(dir)
	if err != nil {
		return nil, nil, "", err
	}
	recorded := model == ""
	if recorded {
		_, _, meta, err := peft.LoadAdapterConfig(dir)
		if err != nil {
			return nil, nil, "", err
		}
		if model = meta.BaseModel; model == "" {
			return nil, nil, "", fmt.Errorf("%w: %s records no base model; name one", peft.ErrInvalidConfig, dir)
		}
	}
	ck, tok, err := LoadBase(ctx, model, opts)
	if err != nil {
		if recorded && ctx.Err() == nil {
			return nil, nil, "", fmt.Errorf("%w %s (base_model_name_or_path of %s): %w",
				ErrRecordedBase, model, filepath.Join(dir, peft.AdapterConfigFile), err)
		}
		return nil, nil, "", err
	}
	if want := metadata[MetaBaseFingerprint]; want != "" {
		if got := Fingerprint(ck); got != want {
			trainedOn := cmp.Or(metadata[MetaBaseModel], "?")
			return nil, nil, "", fmt.Errorf("%w: %s was trained on %s (fingerprint %s), but %s has fingerprint %s: use the base it was trained on",
				ErrBaseMismatch, dir, trainedOn, want, model, got)
		}
	}
	m, err := bert.LoadAdapter(ck, dir)
	if err != nil {
		return nil, nil, "", err
	}
	names, err := LabelNames(dir)
	if err == nil && names != nil {
		err = m.SetLabelNames(names) // for the merged export's id2label
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("finetune: %s: %w", dir, err)
	}
	return m, tok, model, nil
}
