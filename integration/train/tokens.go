package train

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

// TokenClassifier is a Classifier that also labels every token: what Fit trains and Evaluate
// measures on examples with Tags. *bert.Model implements it (BertForTokenClassification's head).
type TokenClassifier interface {
	Classifier
	// TokenLogits returns one row of logits per token of the batch, the sequences' tokens in
	// order, as a node of spago's autograd graph. It must be safe for concurrent use.
	TokenLogits(b bert.Batch) (mat.Tensor, error)
}

// EncodeWords tokenises a sentence given as words, as transformers' token-classification example
// does (is_split_into_words): each word's pieces in turn between the tokenizer's special tokens,
// cut to maxLen tokens in all (0: no limit). It returns the ids and, for each word, the index of
// its first piece, or −1 for a word with no piece (one the tokenizer drops, or cut off). The
// pieces of a word are those the tokenizer gives the word alone, without the special tokens,
// which are taken to be one before the text and the rest after it, as in BERT's [CLS] … [SEP] and
// RoBERTa's <s> … </s> (or none, for a tokenizer that adds none). A tokenizer that encodes a
// leading space (byte-level BPE, RoBERTa's) gets each word with one before it, as run_ner.py
// loads such tokenizers with add_prefix_space=True.
func EncodeWords(tok tokenizer.Encoder, words []string, maxLen int) (ids, starts []int) {
	special := tok.Encode("", 0).IDs
	before := min(1, len(special)) // special tokens before the text
	space := ""
	if !slices.Equal(tok.Encode("a", 0).IDs, tok.Encode(" a", 0).IDs) {
		space = " "
	}
	var body []int
	starts = make([]int, len(words))
	for w, word := range words {
		pieces := tok.Encode(space+word, 0).IDs
		pieces = pieces[before : len(pieces)-(len(special)-before)]
		starts[w] = -1
		if len(pieces) > 0 {
			starts[w] = before + len(body)
		}
		body = append(body, pieces...)
	}
	if maxLen > 0 && len(body) > max(maxLen-len(special), 0) {
		body = body[:max(maxLen-len(special), 0)] // HF cuts tokens, a word's first pieces may stay
		for w, start := range starts {
			if start >= before+len(body) {
				starts[w] = -1
			}
		}
	}
	ids = append(append(append(make([]int, 0, len(body)+len(special)), special[:before]...), body...), special[before:]...)
	return ids, starts
}

// EncodeTokens tokenises tagged sentences for Fit and Evaluate (EncodeWords): each word's first
// piece gets its tag's index in tagNames, the other pieces and the special tokens
// dataset.IgnoreTag. A tag not in tagNames is an error naming the sentence's file and line.
func EncodeTokens(tok tokenizer.Encoder, sentences []dataset.Sentence, tagNames []string, maxLen int) ([]Example, error) {
	index := make(map[string]int, len(tagNames))
	for i, name := range tagNames {
		index[name] = i
	}
	out := make([]Example, len(sentences))
	for i, s := range sentences {
		ids, starts := EncodeWords(tok, s.Words, maxLen)
		tags := make([]int, len(ids))
		for k := range tags {
			tags[k] = dataset.IgnoreTag
		}
		for w, start := range starts {
			tag, ok := index[s.Tags[w]]
			if !ok {
				return nil, fmt.Errorf("%w: %s:%d: tag %q is not one of the %d tags %v", dataset.ErrLabelRange, s.File, s.Line+w, s.Tags[w], len(tagNames), tagNames)
			}
			if start >= 0 {
				tags[start] = tag
			}
		}
		out[i] = Example{IDs: ids, TypeIDs: make([]int, len(ids)), Tags: tags}
	}
	return out, nil
}

// lossScale is the factor of each example's loss in the mean over the batch at idx: 1/batch
// size, or for token classification 1/number of tagged tokens (transformers' mean over the
// tokens not ignored).
func lossScale(examples []Example, idx []int) float64 {
	if examples[idx[0]].Tags == nil {
		return 1 / float64(len(idx))
	}
	n := 0
	for _, j := range idx {
		for _, tag := range examples[j].Tags {
			if tag >= 0 {
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return 1 / float64(n)
}

// tokenSubBatch backpropagates scale·Σ cross-entropy over the tagged tokens of the examples at
// idx and returns the loss and the number of labels.
func tokenSubBatch(model Classifier, examples []Example, idx []int, firstKey uint64, scale float64) (float64, int, error) {
	keys := make([]uint64, len(idx))
	for i := range keys {
		keys[i] = firstKey + uint64(i)
	}
	logits, tags, numLabels, err := tokenLogits(model, "training", examples, idx, keys)
	if err != nil {
		return 0, 0, err
	}
	loss := softmaxCrossEntropy(logits, tags, scale)
	if err := ag.Backward(loss); err != nil {
		return 0, 0, fmt.Errorf("%w: backward: %w", ErrModel, err)
	}
	return loss.Value().Item().F64(), numLabels, nil
}

// tokenLogits runs model's token head on the examples at idx of the named set and returns the
// logits, the tags of their rows and the number of labels, checked; keys are the examples' dropout
// keys (nil outside training).
func tokenLogits(model Classifier, set string, examples []Example, idx []int, keys []uint64) (mat.Tensor, []int, int, error) {
	tc, ok := model.(TokenClassifier)
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: examples with per-token tags need a model with per-token logits (TokenClassifier)", ErrModel)
	}
	b, _ := batchOf(examples, idx)
	b.DropoutKeys = keys
	var tags []int
	for _, j := range idx {
		tags = append(tags, examples[j].Tags...)
	}
	logits, err := tc.TokenLogits(b)
	if err != nil {
		return nil, nil, 0, modelError(set, idx, err)
	}
	numLabels, err := logitsShape(logits, len(tags))
	if err != nil {
		return nil, nil, 0, err
	}
	for _, j := range idx {
		if err := checkTags(set, j, examples[j].Tags, numLabels); err != nil {
			return nil, nil, 0, err
		}
	}
	return logits, tags, numLabels, nil
}

// checkTags reports a tag of example i of the named set that is numLabels or more, or negative
// but not dataset.IgnoreTag.
func checkTags(set string, i int, tags []int, numLabels int) error {
	for k, tag := range tags {
		if tag >= numLabels || tag < 0 && tag != dataset.IgnoreTag {
			return fmt.Errorf("%w: %s example %d token %d: tag %d but the model has %d labels (and %d is ignored)",
				dataset.ErrLabelRange, set, i, k, tag, numLabels, dataset.IgnoreTag)
		}
	}
	return nil
}

// tokenScores are the sums evaluateTokens gathers from a batch.
type tokenScores struct {
	loss            float64
	tokens, correct int
	gold, pred      [][]int // per example, the tags of its tagged tokens
}

// evaluateTokens measures a token classifier on examples, in evaluation mode, in batches spread
// over workers goroutines; the sums are added in batch order.
func evaluateTokens(model Classifier, examples []Example, batchSize, workers int, tagNames []string) (Metrics, error) {
	model.SetTraining(false)
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	batches := dataset.Batches(order, batchSize)
	scores := make([]tokenScores, len(batches))
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for k := range min(workers, len(batches)) {
		wg.Go(func() {
			for i := k; i < len(batches); i += workers {
				scores[i], errs[i] = scoreTokens(model, examples, batches[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Metrics{}, err
	}
	m := Metrics{Examples: len(examples)}
	var counts entityCounts
	correct := 0
	for _, s := range scores {
		m.Loss += s.loss
		m.Tokens += s.tokens
		correct += s.correct
		for i := range s.gold {
			if tagNames == nil {
				continue
			}
			gold, pred := names(s.gold[i], tagNames), names(s.pred[i], tagNames)
			if gold == nil || pred == nil {
				return Metrics{}, fmt.Errorf("%w: %d tag names for a model of more labels", ErrInvalidOptions, len(tagNames))
			}
			counts.add(gold, pred)
		}
	}
	if m.Tokens > 0 {
		m.Loss /= float64(m.Tokens)
		m.Accuracy = float64(correct) / float64(m.Tokens)
	}
	m.EntityPrecision, m.EntityRecall, m.EntityF1 = counts.scores()
	return m, nil
}

// scoreTokens scores the examples at idx.
func scoreTokens(model Classifier, examples []Example, idx []int) (tokenScores, error) {
	logits, tags, numLabels, err := tokenLogits(model, "evaluation", examples, idx, nil)
	if err != nil {
		return tokenScores{}, err
	}
	x := logits.Value().Data().F64()
	var s tokenScores
	probs := make([]float64, numLabels)
	row := 0
	for _, j := range idx {
		var gold, pred []int
		for range examples[j].Tags {
			tag := tags[row]
			r := x[row*numLabels : (row+1)*numLabels]
			row++
			if tag < 0 {
				continue
			}
			best := 0
			for c, v := range r {
				if v > r[best] {
					best = c
				}
			}
			s.loss += rowCrossEntropy(r, tag, probs)
			s.tokens++
			if best == tag {
				s.correct++
			}
			gold, pred = append(gold, tag), append(pred, best)
		}
		s.gold, s.pred = append(s.gold, gold), append(s.pred, pred)
	}
	return s, nil
}

// names returns the names of tag indices, or nil if one has no name.
func names(tags []int, tagNames []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		if t >= len(tagNames) {
			return nil
		}
		out[i] = tagNames[t]
	}
	return out
}
