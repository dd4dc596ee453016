package dataset_test

import (
	"fmt"
	"strings"

	"github.com/spago-peft/spago-peft/integration/dataset"
)

// Sentence pairs in GLUE's RTE layout, with the class names the label column holds.
func ExampleParseTSVColumns() {
	rte := "index\tsentence1\tsentence2\tlabel\n" +
		"0\tA cat sat on the mat.\tA cat is sitting.\tentailment\n" +
		"1\tIt rained all day.\tThe day was dry.\tnot_entailment\n"
	rows, err := dataset.ParseTSVColumns(strings.NewReader(rte), "rte.tsv", dataset.Columns{LabelNames: []string{"entailment", "not_entailment"}})
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Printf("%q / %q: class %d\n", r.Text, r.Pair, r.Label)
	}
	// Output:
	// "A cat sat on the mat." / "A cat is sitting.": class 0
	// "It rained all day." / "The day was dry.": class 1
}

// Named entities in CoNLL-2003's layout: word, POS, chunk, tag.
func ExampleParseCoNLL() {
	conll := "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n"
	sentences, err := dataset.ParseCoNLL(strings.NewReader(conll), "train.txt")
	if err != nil {
		panic(err)
	}
	for _, s := range sentences {
		fmt.Println(s.Words, s.Tags)
	}
	fmt.Println(dataset.Tags(sentences))
	// Output:
	// [EU rejects German call] [B-ORG O B-MISC O]
	// [Peter Blackburn] [B-PER I-PER]
	// [B-MISC B-ORG B-PER I-PER O]
}
