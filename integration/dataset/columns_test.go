package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestColumns checks pairs, regression scores and class names, with the columns found by GLUE's
// header names or chosen by name.
func TestColumns(t *testing.T) {
	rte := "index\tsentence1\tsentence2\tlabel\n0\tA cat sat.\tA cat is sitting.\tentailment\n1\tIt rains.\tIt is dry.\tnot_entailment\n"
	stsb := "index\tgenre\tsentence1\tsentence2\tscore\n0\tnews\tA plane takes off.\tAn air plane is taking off.\t5.000\n1\tnews\tA man plays.\tA woman sings.\t0.6\n"
	rteNames := []string{"entailment", "not_entailment"}
	tests := []struct {
		name    string
		content string
		cols    Columns
		want    []Example
	}{
		{"RTE by GLUE names", rte, Columns{LabelNames: rteNames}, []Example{
			{Text: "A cat sat.", Pair: "A cat is sitting.", Label: 0, Line: 2},
			{Text: "It rains.", Pair: "It is dry.", Label: 1, Line: 3}}},
		{"STS-B regression", stsb, Columns{Regression: true}, []Example{
			{Text: "A plane takes off.", Pair: "An air plane is taking off.", Score: 5, Line: 2},
			{Text: "A man plays.", Pair: "A woman sings.", Score: 0.6, Line: 3}}},
		{"columns chosen by name", stsb, Columns{Text: "sentence2", Pair: "genre", Label: "score", Regression: true}, []Example{
			{Text: "An air plane is taking off.", Pair: "news", Score: 5, Line: 2},
			{Text: "A woman sings.", Pair: "news", Score: 0.6, Line: 3}}},
		{"text only of a pair layout", stsb, Columns{Text: "sentence1", Regression: true}, []Example{
			{Text: "A plane takes off.", Score: 5, Line: 2}, {Text: "A man plays.", Score: 0.6, Line: 3}}},
		{"QNLI", "index\tquestion\tsentence\tlabel\n0\tWho?\tHim.\t1\n", Columns{}, []Example{
			{Text: "Who?", Pair: "Him.", Label: 1, Line: 2}}},
		{"single sentences by default", "sentence\tlabel\ngood\t1\n", Columns{}, []Example{{Text: "good", Label: 1, Line: 2}}},
		{"integer scores", "sentence\tlabel\ngood\t3\n", Columns{Regression: true}, []Example{{Text: "good", Score: 3, Line: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTSVColumns(strings.NewReader(tt.content), "data.tsv", tt.cols)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].File = "data.tsv"
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestColumnsErrors checks the one-line errors for pair and regression files.
func TestColumnsErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		cols    Columns
		want    string
	}{
		{"missing pair column", "sentence\tlabel\ngood\t1\n", Columns{Pair: "sentence2"}, `:1: header "sentence\tlabel" has no pair column "sentence2"`},
		{"missing text column", "sentence1\tlabel\ngood\t1\n", Columns{Text: "premise"}, `has no text column "premise"`},
		{"missing label column", "sentence1\tsentence2\tscore\na\tb\t1\n", Columns{}, `lacks a "sentence" or a "label" column`},
		{"missing score column", "sentence\tgrade\ngood\t1\n", Columns{Regression: true, Label: "score"}, `has no label column "score"`},
		{"one column two roles", "sentence\tlabel\ngood\t1\n", Columns{Pair: "sentence"}, `names column "sentence" for two roles`},
		{"non-numeric score", "sentence1\tsentence2\tscore\na\tb\thigh\n", Columns{Regression: true}, `:2: score "high" is not a finite number`},
		{"NaN score", "sentence1\tsentence2\tscore\na\tb\tNaN\n", Columns{Regression: true}, `:2: score "NaN" is not a finite number`},
		{"infinite score", "sentence1\tsentence2\tscore\na\tb\t1e999\n", Columns{Regression: true}, `:2: score "1e999" is not a finite number`},
		{"empty pair", "sentence1\tsentence2\tlabel\na\t \t1\n", Columns{}, `:2: empty second sentence (column "sentence2")`},
		{"unknown class name", "sentence1\tsentence2\tlabel\na\tb\tneutral\n", Columns{LabelNames: []string{"entailment", "not_entailment"}},
			`:2: label "neutral" is not one of the class names entailment, not_entailment`},
		{"class name without names", "sentence1\tsentence2\tlabel\na\tb\tentailment\n", Columns{}, `:2: label "entailment" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTSVColumns(strings.NewReader(tt.content), "data.tsv", tt.cols)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line wrapping ErrMalformed with %q", err, tt.want)
			}
		})
	}
}

// TestReadGLUEPairs reads the shared copies of RTE and STS-B (parts of GLUE's), when present.
func TestReadGLUEPairs(t *testing.T) {
	const shared = "../../../shared/data"
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no shared GLUE data at %s", shared)
	}
	rteTrain, rteDev, err := ReadDirColumns(filepath.Join(shared, "rte"), Columns{LabelNames: []string{"entailment", "not_entailment"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rteTrain) != 2127 || len(rteDev) != 363 || rteTrain[0].Pair == "" || NumLabels(rteTrain) != 2 {
		t.Errorf("RTE: %d train, %d dev rows, first %+v", len(rteTrain), len(rteDev), rteTrain[0])
	}
	stsTrain, stsDev, err := ReadDirColumns(filepath.Join(shared, "stsb"), Columns{Regression: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(stsTrain) != 4249 || len(stsDev) != 1500 || stsTrain[0].Score != 5 || stsTrain[1].Score != 3.8 {
		t.Errorf("STS-B: %d train, %d dev rows, first %+v", len(stsTrain), len(stsDev), stsTrain[:2])
	}
}
