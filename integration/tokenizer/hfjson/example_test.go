package hfjson_test

import (
	"fmt"
	"log"

	"github.com/spago-peft/spago-peft/integration/tokenizer/hfjson"
)

func ExampleLoad() {
	// A WordPiece tokenizer.json (cased, as bert-base-cased); LoadDir picks tokenizer.json or
	// spm.model out of a checkpoint directory the same way.
	tok, err := hfjson.Load("testdata/wordpiece-cased.json")
	if err != nil {
		log.Fatal(err)
	}
	e := tok.EncodePair("a warm film.", "unpretentiously funny!", 0)
	fmt.Println(e.Tokens)
	fmt.Println(e.TypeIDs)
	// Output:
	// [[CLS] a warm film . [SEP] unp ##ret ##entious ##ly funny ! [SEP]]
	// [0 0 0 0 0 0 1 1 1 1 1 1 1]
}
