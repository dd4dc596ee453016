package hfjson

import (
	"slices"
	"testing"
)

func TestAccessors(t *testing.T) {
	wp, err := Parse([]byte(miniWordPiece))
	if err != nil {
		t.Fatal(err)
	}
	if got := wp.Tokenize("Hello worlds"); !slices.Equal(got, []string{"hello", "world", "##s"}) {
		t.Errorf("Tokenize: %q", got)
	}
	if id, ok := wp.ID("world"); !ok || id != 5 {
		t.Errorf("ID(world) = %d, %v", id, ok)
	}
	if tok, ok := wp.Token(6); !ok || tok != "##s" {
		t.Errorf("Token(6) = %q, %v", tok, ok)
	}
	if _, ok := wp.Token(99); ok {
		t.Error("Token(99) exists")
	}
	if n := wp.VocabSize(); n != 9 {
		t.Errorf("VocabSize = %d, want 9", n)
	}
	if id, ok := wp.PadID(); !ok || id != 0 {
		t.Errorf("PadID = %d, %v", id, ok)
	}

	spm, err := ParseSentencePiece(readTestdata(t, "spm.model.gz"), SentencePieceOptions{Mask: "<extra_mask>"})
	if err != nil {
		t.Fatal(err)
	}
	// A mask token the model lacks is appended after the pieces, as DeBERTa-v3's [MASK].
	id, ok := spm.ID("<extra_mask>")
	if n := spm.VocabSize(); !ok || id != n-1 {
		t.Errorf("appended mask has id %d (%v); vocabulary size %d", id, ok, n)
	}
	if got := spm.Encode("a<extra_mask>", 0).IDs; !slices.Contains(got, id) {
		t.Errorf("the appended mask is not cut out of the text: %v", got)
	}
	if id, ok := spm.PadID(); !ok || id != 0 {
		t.Errorf("spm PadID = %d, %v", id, ok)
	}
}
