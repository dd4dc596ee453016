package train_test

import (
	"fmt"

	"github.com/spago-peft/spago-peft/integration/dataset"
	"github.com/spago-peft/spago-peft/integration/tokenizer"
	"github.com/spago-peft/spago-peft/integration/train"
)

// Word labels go to each word's first word piece; the other pieces and the special tokens get
// -100, which the loss ignores.
func ExampleEncodeTokens() {
	tok, err := tokenizer.New([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "peter", "black", "##burn", "flew"}, tokenizer.Options{DoLowerCase: true})
	if err != nil {
		panic(err)
	}
	s := dataset.Sentence{Words: []string{"Peter", "Blackburn", "flew"}, Tags: []string{"B-PER", "I-PER", "O"}}
	examples, err := train.EncodeTokens(tok, []dataset.Sentence{s}, []string{"B-PER", "I-PER", "O"}, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.Encode("Peter Blackburn flew", 0).Tokens)
	fmt.Println(examples[0].Tags)
	// Output:
	// [[CLS] peter black ##burn flew [SEP]]
	// [-100 0 1 -100 2 -100]
}
