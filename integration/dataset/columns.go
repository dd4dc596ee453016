package dataset

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Columns chooses the columns of a TSV file by their header names, and the kind of label. The
// zero value reads single sentences with class-number labels: columns "sentence" and "label".
type Columns struct {
	// Text and Pair name the first and second sentence of a pair; Label the label column.
	// Empty Text takes "sentence" or, if the header has no such column, the first of GLUE's pair
	// layouts it has: sentence1 and sentence2 (RTE, MRPC, STS-B), question1 and question2 (QQP),
	// question and sentence (QNLI). Empty Pair means single sentences, unless Text came from a
	// GLUE pair layout. Empty Label takes "label", or "score" for Regression when the header has
	// it (STS-B).
	Text, Pair, Label string
	// Regression reads the label as a real number (Example.Score), as STS-B's similarity scores.
	Regression bool
	// LabelNames, if set, are the class names the label column holds, in class order: the label
	// "not_entailment" is class 1 of ["entailment", "not_entailment"]. Without them labels are
	// class numbers.
	LabelNames []string
}

// glueLayouts are the GLUE pair layouts an empty Columns.Text looks for, in this order.
var glueLayouts = [][2]string{{"sentence1", "sentence2"}, {"question1", "question2"}, {"question", "sentence"}}

// find returns the indices of the text, pair (−1 for none) and label columns in the header
// fields, or what the header lacks.
func (c Columns) find(fields []string) (text, pair, label int, lacks string) {
	index := func(name string) int {
		return slices.IndexFunc(fields, func(f string) bool { return strings.TrimSpace(f) == name })
	}
	textName, pairName, labelName := c.Text, c.Pair, c.Label
	if textName == "" {
		textName = textColumn
		if index(textColumn) < 0 || c.Pair == "" && index("question") >= 0 {
			for _, l := range glueLayouts {
				if index(l[0]) >= 0 && (c.Pair != "" || index(l[1]) >= 0) {
					textName = l[0]
					if c.Pair == "" {
						pairName = l[1]
					}
					break
				}
			}
		}
	}
	if labelName == "" {
		labelName = labelColumn
		if c.Regression && index("score") >= 0 {
			labelName = "score"
		}
	}
	text, label, pair = index(textName), index(labelName), -1
	if pairName != "" {
		pair = index(pairName)
	}
	switch {
	case c.Text == "" && c.Label == "" && c.Pair == "" && (text < 0 || label < 0):
		return 0, 0, 0, fmt.Sprintf("lacks a %q or a %q column", textColumn, labelColumn)
	case text < 0:
		return 0, 0, 0, fmt.Sprintf("has no text column %q", textName)
	case pairName != "" && pair < 0:
		return 0, 0, 0, fmt.Sprintf("has no pair column %q", pairName)
	case label < 0:
		return 0, 0, 0, fmt.Sprintf("has no label column %q", labelName)
	case pair == text || label == text:
		return 0, 0, 0, fmt.Sprintf("names column %q for two roles (text %q, pair %q, label %q)", textName, textName, pairName, labelName)
	case label == pair:
		return 0, 0, 0, fmt.Sprintf("names column %q for two roles (text %q, pair %q, label %q)", labelName, textName, pairName, labelName)
	}
	return text, pair, label, ""
}

// parseScore reads a regression target: a finite real number.
func parseScore(field string) (float64, error) {
	f := strings.TrimSpace(field)
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("score %s is not a finite number", quoteShort(f))
	}
	return v, nil
}

// parseName reads a label given by its class name.
func (c Columns) parseName(field string) (int, error) {
	f := strings.TrimSpace(field)
	if i := slices.Index(c.LabelNames, f); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("label %s is not one of the class names %s", quoteShort(f), strings.Join(c.LabelNames, ", "))
}
