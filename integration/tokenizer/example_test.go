package tokenizer_test

import (
	"fmt"

	"github.com/spago-peft/spago-peft/integration/tokenizer"
)

func Example() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cafe", "is", "well", "-", "known", "!", "un", "##known"}
	tok, err := tokenizer.New(vocab, tokenizer.Options{DoLowerCase: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Tokenize("The Café is well-known!"))
	e := tok.Encode("The café is unknown", 5)
	fmt.Println(e.Tokens, e.IDs)
	p := tok.EncodePair("the cafe", "is [MASK]", 0)
	fmt.Println(p.Tokens, p.TypeIDs)
	// Output:
	// [the cafe is well - known !]
	// [[CLS] the cafe is [SEP]] [2 5 6 7 3]
	// [[CLS] the cafe [SEP] is [MASK] [SEP]] [0 0 0 0 1 1 1]
}
