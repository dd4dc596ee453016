package interop

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spago-peft/spago-peft/integration/bert"
	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
	"github.com/spago-peft/spago-peft/internal/testenv"
	"github.com/spago-peft/spago-peft/peft"
	"github.com/spago-peft/spago-peft/peft/hra"
	"github.com/spago-peft/spago-peft/peft/lora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// taskCase is the case.json tasks.py reads: the head and the inputs to compute logits on.
type taskCase struct {
	NumLabels           int     `json:"num_labels"`
	TokenClassification bool    `json:"token_classification"`
	InputIDs            [][]int `json:"input_ids"`
	TokenTypeIDs        [][]int `json:"token_type_ids"`
}

// taskResults is the output of tasks.py go-to-peft, testdata/tasks.json.
type taskResults struct {
	Cases map[string]struct {
		Load     loadReport      `json:"load"`
		TaskType string          `json:"task_type"`
		Logits   json.RawMessage `json:"logits"`
		// Merged is transformers' reading of the merged export, for the cases Go exported.
		Merged *struct {
			mergedReport
			Logits        json.RawMessage   `json:"logits"`
			Architectures []string          `json:"architectures"`
			ID2Label      map[string]string `json:"id2label"`
		} `json:"merged"`
	} `json:"cases"`
}

// taskCases are the adapters Go trains on tiny-bert for the tasks beyond sequence classification.
var taskCases = []taskCaseDef{
	{"token-cls-lora", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, NumLabels: 5, TokenClassification: true,
		Targets: peft.Targets{Modules: []string{"query", "value"}, ModulesToSave: []string{"classifier"}}}, "TOKEN_CLS"},
	{"regression-hra", bert.Options{Adapter: hra.Config{R: 2}, NumLabels: 1, Targets: peft.DefaultBertTargets}, "SEQ_CLS"},
}

// taskInputs returns the inputs of a case: the sentences as tok encodes them, paired in turn for
// regression, with per-token tags and scores to train on.
func taskInputs(t *testing.T, tok tokenizer.Encoder, token bool) ([]train.Example, taskCase) {
	sentences := readSentences(t)
	c := taskCase{TokenClassification: token}
	var examples []train.Example
	for i, s := range sentences {
		enc := tok.EncodePair(s, sentences[(i+1)%len(sentences)], 32)
		if token {
			enc = tok.Encode(s, 32)
		}
		e := train.Example{IDs: enc.IDs, TypeIDs: enc.TypeIDs, Score: 1.5 * float64(i)}
		if token {
			e.Tags = make([]int, len(enc.IDs))
			for k := range e.Tags {
				e.Tags[k] = (i + k) % 5
			}
			e.Tags[0], e.Tags[len(e.Tags)-1] = dataset.IgnoreTag, dataset.IgnoreTag
		}
		examples = append(examples, e)
		c.InputIDs, c.TokenTypeIDs = append(c.InputIDs, enc.IDs), append(c.TokenTypeIDs, enc.TypeIDs)
	}
	return examples, c
}

// taskLogits returns Go's logits of the case's inputs: per token for a token classifier, one
// row per sequence otherwise.
func taskLogits(t *testing.T, m *bert.Model, c taskCase) any {
	b := bert.Batch{IDs: c.InputIDs, TypeIDs: c.TokenTypeIDs}
	if !c.TokenClassification {
		return logitsOf(t, m, b)
	}
	y, err := m.TokenLogits(b)
	require.NoError(t, err)
	flat, n := y.Value().Data().F64(), m.NumLabels()
	var out [][][]float64
	row := 0
	for _, ids := range c.InputIDs {
		var seq [][]float64
		for range ids {
			seq = append(seq, flat[row*n:(row+1)*n])
			row++
		}
		out = append(out, seq)
	}
	return out
}

// taskBase is a checkpoint the task adapters are checked on, with its committed records under
// fixtures: tasks.json and tasks/ (Go's adapters read by PEFT), tasks-peft/ (PEFT's read by Go).
type taskBase struct {
	name, dir, fixtures string
	// cases are the adapters Go trains on it.
	cases []taskCaseDef
	// tok encodes its inputs; nil takes the directory's tokenizer (encoderOf).
	tok tokenizer.Encoder
}

// debertaWords is the tokenizer of the tiny DeBERTa checkpoints, which ship none: a word's id is
// fixed by its hash among 5..79 (in every tiny DeBERTa vocabulary), [CLS]=1 and [SEP]=2 as in
// DeBERTa-v3, the second sentence of a pair of token type 1.
type debertaWords struct{}

func (d debertaWords) Encode(text string, maxLen int) tokenizer.Encoding {
	return d.encode(maxLen, text)
}

func (d debertaWords) EncodePair(a, b string, maxLen int) tokenizer.Encoding {
	return d.encode(maxLen, a, b)
}

func (debertaWords) encode(maxLen int, texts ...string) tokenizer.Encoding {
	e := tokenizer.Encoding{IDs: []int{1}, TypeIDs: []int{0}}
	for typ, text := range texts {
		for _, w := range strings.Fields(text) {
			h := fnv.New32a()
			h.Write([]byte(w))
			e.IDs, e.TypeIDs = append(e.IDs, 5+int(h.Sum32()%75)), append(e.TypeIDs, typ)
		}
		e.IDs, e.TypeIDs = append(e.IDs, 2), append(e.TypeIDs, typ)
	}
	if len(e.IDs) > maxLen {
		e.IDs, e.TypeIDs = append(e.IDs[:maxLen-1], 2), e.TypeIDs[:maxLen]
	}
	return e
}

// taskCaseDef is an adapter Go trains for a task.
type taskCaseDef struct {
	name     string
	opts     bert.Options
	taskType string
}

// familyTaskCases are taskCases on the other members of the family: the token classifier on
// every linear layer (its own names; the classifier is saved whole, never adapted), the
// regression head on the architecture's default targets.
var familyTaskCases = []taskCaseDef{
	{"token-cls-lora", bert.Options{Adapter: lora.Config{R: 4, Alpha: 8}, NumLabels: 5, TokenClassification: true,
		Targets: peft.Targets{Pattern: peft.AllLinear}}, "TOKEN_CLS"},
	{"regression-hra", bert.Options{Adapter: hra.Config{R: 2}, NumLabels: 1}, "SEQ_CLS"},
}

// taskBases are tiny-bert (records in testdata), each tiny family checkpoint (records in
// testdata/family/<name>) and the tiny DeBERTa checkpoints (records in testdata/deberta-<name>).
func taskBases() []taskBase {
	bases := []taskBase{{"bert", tinyDir, "testdata", taskCases, nil}}
	for _, b := range familyBases {
		if !b.headless {
			bases = append(bases, taskBase{b.name, b.dir, b.fixtures(), familyTaskCases, nil})
		}
	}
	for _, d := range debertaBases {
		bases = append(bases, taskBase{"deberta-" + d.name, d.dir, d.fixtures, familyTaskCases, debertaWords{}})
	}
	return bases
}

// goAdapters are the records of the base's cases; peftTaskAdapters those tasks.py peft-to-go
// makes with PEFT's get_peft_model.
func (b taskBase) goAdapters() []taskAdapter {
	var out []taskAdapter
	for _, tc := range b.cases {
		out = append(out, taskAdapter{tc.name, tc.taskType, tc.opts.TokenClassification, tc.opts.NumLabels, true})
	}
	return out
}

// taskAdapter is what an adapter of a task case must load as.
type taskAdapter struct {
	name, taskType string
	token          bool
	numLabels      int
	merged         bool // Go exported it merged, and transformers read the export
}

// taskTagNames name the tags of the token classifiers Go trains (SetLabelNames), which their
// merged exports carry as id2label.
var taskTagNames = []string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}

var peftTaskAdapters = []taskAdapter{{"peft-regression-hra", "SEQ_CLS", false, 1, false}, {"peft-token-cls-lora", "TOKEN_CLS", true, 5, false}}

// checkTasks checks PEFT's record of reading the adapters under dir against Go's logits of them
// on the base's checkpoint.
func checkTasks(t *testing.T, base taskBase, dir string, res taskResults, adapters []taskAdapter) {
	ck := loadCheckpoint(t, base.dir)
	for _, tc := range adapters {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := res.Cases[tc.name]
			require.True(t, ok, "no record of %s: run TestLiveTasks with -update", tc.name)
			checkLoad(t, r.Load, tc.name)
			assert.Equal(t, tc.taskType, r.TaskType)
			m, err := bert.LoadAdapter(ck, filepath.Join(dir, tc.name, "adapter"))
			require.NoError(t, err)
			assert.Equal(t, tc.token, m.TokenClassification())
			assert.Equal(t, tc.numLabels, m.NumLabels())
			var c taskCase
			readJSON(t, filepath.Join(dir, tc.name, "case.json"), &c)
			got := taskLogits(t, m, c)
			assertTaskLogits(t, r.Logits, got, c.TokenClassification, tc.name+" adapter in PEFT")
			if tc.merged {
				require.NotNil(t, r.Merged, "no record of %s's merged export", tc.name)
				assert.Empty(t, r.Merged.MissingKeys, "merged export: missing keys")
				assert.Empty(t, r.Merged.UnexpectedKeys, "merged export: unexpected keys")
				assert.Empty(t, r.Merged.MismatchedKeys, "merged export: mismatched keys")
				assert.Empty(t, significant(r.Merged.Warnings), "merged export: warnings")
				arch := ck.Config.Architecture()
				class := arch.Class(true)
				if tc.token {
					class = arch.TokenClass()
				}
				assert.Equal(t, []string{class}, r.Merged.Architectures, "merged export: the class its config names")
				if tc.token {
					want := map[string]string{}
					for i, name := range taskTagNames {
						want[strconv.Itoa(i)] = name
					}
					assert.Equal(t, want, r.Merged.ID2Label, "merged export: the tag names")
				}
				assertTaskLogits(t, r.Merged.Logits, got, c.TokenClassification, tc.name+" merged export in transformers")
			}
		})
	}
}

// assertTaskLogits compares recorded logits (per token for a token classifier) with Go's.
func assertTaskLogits(t *testing.T, recorded json.RawMessage, got any, token bool, what string) {
	t.Helper()
	if token {
		var want [][][]float64
		require.NoError(t, json.Unmarshal(recorded, &want))
		g := got.([][][]float64)
		require.Len(t, g, len(want))
		for i := range want {
			assertClose(t, want[i], g[i], what)
		}
		return
	}
	var want [][]float64
	require.NoError(t, json.Unmarshal(recorded, &want))
	assertClose(t, want, got.([][]float64), what)
}

// TestTasksFixtures checks, on tiny-bert and every member of the family, the committed record of
// PEFT reading the token-classification and regression adapters Go wrote (tasks/, with
// transformers reading their merged exports), and Go reading those PEFT made (tasks-peft/).
func TestTasksFixtures(t *testing.T) {
	for _, b := range taskBases() {
		t.Run(b.name, func(t *testing.T) {
			var res taskResults
			readJSON(t, filepath.Join(b.fixtures, "tasks.json"), &res)
			checkTasks(t, b, filepath.Join(b.fixtures, "tasks"), res, b.goAdapters())
			var made taskResults
			readJSON(t, filepath.Join(b.fixtures, "tasks-peft", "expected.json"), &made)
			checkTasks(t, b, filepath.Join(b.fixtures, "tasks-peft"), made, peftTaskAdapters)
		})
	}
}

// TestLiveTasks trains a token classifier and a regression head in Go on tiny-bert and every
// member of the family, has tasks.py load their adapters in PEFT and their merged exports in
// transformers and checks the logits, then has PEFT make such adapters and checks that Go loads
// them with PEFT's logits; with -update it rewrites the records (taskBase.fixtures).
func TestLiveTasks(t *testing.T) {
	py := testenv.Python(t)
	for _, b := range taskBases() {
		t.Run(b.name, func(t *testing.T) { liveTasks(t, py, b) })
	}
}

func liveTasks(t *testing.T, py string, b taskBase) {
	ck := loadCheckpoint(t, b.dir)
	tok := b.tok
	if tok == nil {
		tok = encoderOf(t, b.dir)
	}
	dir := t.TempDir()
	for _, tc := range b.cases {
		opts := tc.opts
		opts.Seed = 1
		m, err := bert.New(ck, opts)
		require.NoError(t, err)
		examples, c := taskInputs(t, tok, opts.TokenClassification)
		c.NumLabels = m.NumLabels()
		_, err = train.Fit(context.Background(), m, examples, train.Options{Steps: 6, BatchSize: 2, LR: 0.05, Workers: 1, Seed: 1})
		require.NoError(t, err)
		m.SetTraining(false)
		if opts.TokenClassification {
			require.NoError(t, m.SetLabelNames(taskTagNames))
		}
		require.NoError(t, m.SaveAdapter(filepath.Join(dir, tc.name, "adapter"), peft.Meta{BaseModel: "tiny-" + b.name}))
		require.NoError(t, m.ExportMerged(filepath.Join(dir, tc.name, "merged")))
		data, err := json.Marshal(c)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, tc.name, "case.json"), data, 0o644))
	}
	out := filepath.Join(t.TempDir(), "tasks.json")
	runScript(t, py, "tasks.py", nil, "go-to-peft", b.dir, dir, out)
	var res taskResults
	readJSON(t, out, &res)
	checkTasks(t, b, dir, res, b.goAdapters())
	peftDir := t.TempDir()
	runScript(t, py, "tasks.py", nil, "peft-to-go", b.dir, peftDir)
	var made taskResults
	readJSON(t, filepath.Join(peftDir, "expected.json"), &made)
	checkTasks(t, b, peftDir, made, peftTaskAdapters)
	if !*update || t.Failed() {
		return
	}
	require.NoError(t, os.RemoveAll(filepath.Join(b.fixtures, "tasks")))
	for _, tc := range b.cases { // the records of the merged exports are kept, not the exports
		require.NoError(t, os.RemoveAll(filepath.Join(dir, tc.name, "merged")))
	}
	copyDir(t, dir, filepath.Join(b.fixtures, "tasks"))
	copyFile(t, out, filepath.Join(b.fixtures, "tasks.json"))
	require.NoError(t, os.RemoveAll(filepath.Join(b.fixtures, "tasks-peft")))
	copyDir(t, peftDir, filepath.Join(b.fixtures, "tasks-peft"))
	t.Logf("task fixtures of %s rewritten", b.name)
}
