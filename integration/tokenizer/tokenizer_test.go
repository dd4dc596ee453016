package tokenizer

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func TestNewErrors(t *testing.T) {
	base := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"}
	without := func(tok string) []string {
		return slices.DeleteFunc(slices.Clone(base), func(s string) bool { return s == tok })
	}
	tests := []struct {
		name  string
		vocab []string
		opts  Options
		want  error
	}{
		{"empty", nil, Options{}, ErrEmptyVocab},
		{"no unk", without("[UNK]"), Options{}, ErrMissingSpecialToken},
		{"no cls", without("[CLS]"), Options{}, ErrMissingSpecialToken},
		{"no sep", without("[SEP]"), Options{}, ErrMissingSpecialToken},
		{"no pad", without("[PAD]"), Options{}, ErrMissingSpecialToken},
		{"duplicate", append(slices.Clone(base), "a"), Options{}, ErrDuplicateToken},
		{"negative max chars", base, Options{MaxInputCharsPerWord: -1}, ErrInvalidOptions},
		{"ok without mask", base, Options{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.vocab, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: got error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewCopiesVocab(t *testing.T) {
	vocab := slices.Clone(tinyVocab)
	tok := tinyTokenizer(t, Options{})
	tok2, err := New(vocab, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vocab[5] = "changed"
	if got, _ := tok2.Token(5); got != "the" {
		t.Fatalf("tokenizer follows a change of the caller's slice: token 5 = %q", got)
	}
	if tok.VocabSize() != len(tinyVocab) || tok.PadID() != 0 || tok.MaxLen() != 0 {
		t.Fatalf("VocabSize %d PadID %d MaxLen %d", tok.VocabSize(), tok.PadID(), tok.MaxLen())
	}
	if id, ok := tok.ID("cat"); !ok || id != 6 {
		t.Fatalf("ID(cat) = %d, %v", id, ok)
	}
	if _, ok := tok.ID("dog"); ok {
		t.Fatal("ID(dog) found")
	}
	if _, ok := tok.Token(-1); ok {
		t.Fatal("Token(-1) found")
	}
}

func TestLoadVocab(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    []string
		err     error
	}{
		{"lf", "[PAD]\na\nb\n", []string{"[PAD]", "a", "b"}, nil},
		{"no final newline", "a\nb", []string{"a", "b"}, nil},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}, nil},
		{"cr", "a\rb", []string{"a", "b"}, nil},
		{"blank line is a token", "a\n\nb\n", []string{"a", "", "b"}, nil},
		{"spaces kept", " a \n", []string{" a "}, nil},
		{"empty", "", nil, ErrEmptyVocab},
		{"invalid utf-8", "a\n\xff\n", nil, ErrInvalidVocab},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".txt", tc.content)
			got, err := LoadVocab(path)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := LoadVocab(dir + "/missing.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSharedVocabLoads(t *testing.T) {
	tok := bertUncased(t, Options{DoLowerCase: true})
	if tok.VocabSize() != 30522 {
		t.Fatalf("VocabSize = %d, want 30522", tok.VocabSize())
	}
	for tok2, want := range map[string]int{"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103, "the": 1996, "##s": 2015} {
		if id, ok := tok.ID(tok2); !ok || id != want {
			t.Errorf("ID(%q) = %d, %v; want %d", tok2, id, ok, want)
		}
	}
}

func TestFromDir(t *testing.T) {
	vocab := strings.Join(tinyVocab, "\n") + "\n"
	tests := []struct {
		name   string
		config string // "" means no tokenizer_config.json
		text   string
		want   []string
		maxLen int
		err    error
	}{
		{"no config lower-cases", "", "Café", []string{"cafe"}, 0, nil},
		{"uncased with max length", `{"do_lower_case": true, "model_max_length": 128}`, "THE Cat", []string{"the", "cat"}, 128, nil},
		{"cased", `{"do_lower_case": false}`, "Café", []string{"[UNK]"}, 0, nil},
		{"keep accents", `{"do_lower_case": true, "strip_accents": false}`, "Café", []string{"café"}, 0, nil},
		{"no cjk padding", `{"tokenize_chinese_chars": false}`, "中文", []string{"[UNK]"}, 0, nil},
		{"never split", `{"never_split": ["don't"]}`, "don't", []string{"don't"}, 0, nil},
		{"huge max length is unknown", `{"model_max_length": 1000000000000000019884624838656}`, "the", []string{"the"}, 0, nil},
		{"nulls are defaults", `{"strip_accents": null, "tokenize_chinese_chars": null, "never_split": null}`, "Café中", []string{"cafe", "中"}, 0, nil},
		{"bad json", `{"do_lower_case": tru`, "", nil, 0, ErrInvalidConfig},
		{"wrong type", `{"do_lower_case": "yes"}`, "", nil, 0, ErrInvalidConfig},
		{"negative max length", `{"model_max_length": -1}`, "", nil, 0, ErrInvalidConfig},
		{"fractional max length", `{"model_max_length": 12.5}`, "", nil, 0, ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "vocab.txt", vocab)
			if tc.config != "" {
				writeFile(t, dir, "tokenizer_config.json", tc.config)
			}
			tok, err := FromDir(dir)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := tok.Tokenize(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tc.text, got, tc.want)
			}
			if tok.MaxLen() != tc.maxLen {
				t.Errorf("MaxLen = %d, want %d", tok.MaxLen(), tc.maxLen)
			}
		})
	}
	t.Run("bad vocab", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := FromDir(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("missing vocab.txt: %v", err)
		}
		writeFile(t, dir, "vocab.txt", "")
		if _, err := FromDir(dir); !errors.Is(err, ErrEmptyVocab) {
			t.Fatalf("empty vocab.txt: %v", err)
		}
		writeFile(t, dir, "vocab.txt", "[PAD]\n[UNK]\n[SEP]\n")
		if _, err := FromDir(dir); !errors.Is(err, ErrMissingSpecialToken) {
			t.Fatalf("vocab.txt without [CLS]: %v", err)
		}
	})
}

// TestSharedModelDir loads the tokenizer of the shared tiny checkpoint.
func TestSharedModelDir(t *testing.T) {
	requireFile(t, sharedModelDir)
	tok, err := FromDir(sharedModelDir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.MaxLen() != 128 || tok.VocabSize() != 30522 {
		t.Fatalf("MaxLen %d VocabSize %d, want 128 and 30522", tok.MaxLen(), tok.VocabSize())
	}
}

// TestTokenizeByHand covers what the HF fixtures cannot: behaviour where HF's fast tokenizer
// (the reference that generated them) differs from the slow BertTokenizer, and options. The
// expected values are worked out by hand from transformers' BertTokenizer source.
func TestTokenizeByHand(t *testing.T) {
	uncased := Options{DoLowerCase: true}
	tests := []struct {
		name string
		opts Options
		text string
		want []string
	}{
		// Slow-only behaviour.
		{"final capital sigma lower-cased per code point", uncased, "ΟΔΟΣ", []string{"οδοσ"}},
		{"small final sigma kept", uncased, "οδος", []string{"οδος"}},
		{"unassigned code point removed", uncased, "c\u0378d", []string{"cd"}},
		{"nfc before lookup when accents kept", Options{}, "e\u0301", []string{"é"}},
		{"nfc before lookup, lower-cased", Options{DoLowerCase: true, StripAccents: ptr(false)}, "cafe\u0301", []string{"café"}},
		// Basic tokenizer.
		{"dotted capital I", uncased, "İstanbul", []string{"i", "##stanbul"}},
		{"dotted capital I lower-cases to two code points", Options{DoLowerCase: true, StripAccents: ptr(false)}, "İ", []string{"i\u0307"}},
		{"punctuation split", uncased, "don't!", []string{"don", "'", "t", "!"}},
		{"wordpiece", uncased, "unaffable", []string{"un", "##aff", "##able"}},
		{"unmatchable piece makes the word unk", uncased, "unaffablex", []string{"[UNK]"}},
		{"cased keeps case", Options{}, "The Cat", []string{"[UNK]", "[UNK]"}},
		{"accents stripped without lower-casing", Options{StripAccents: ptr(true)}, "café", []string{"cafe"}},
		{"cjk padded", uncased, "中文", []string{"中", "文"}},
		{"cjk not padded", Options{TokenizeChineseChars: ptr(false)}, "中文", []string{"[UNK]"}},
		{"special tokens cut out of words", uncased, "the[MASK]cat[SEP]", []string{"the", "[MASK]", "cat", "[SEP]"}},
		{"lower-case special token is text", uncased, "[mask]", []string{"[UNK]", "[UNK]", "[UNK]"}},
		{"only separators", uncased, " \t\r\n\u00a0\u2028\u3000", nil},
		{"invalid utf-8 dropped", uncased, "ca\xfft", []string{"cat"}},
		{"max chars per word", Options{DoLowerCase: true, MaxInputCharsPerWord: 2}, "cat on", []string{"[UNK]", "on"}},
		// NeverSplit, as HF: compared after lower-casing, skips accents, punctuation and WordPiece.
		{"never split kept whole", Options{DoLowerCase: true, NeverSplit: []string{"don't"}}, "don't Don't", []string{"don't", "don't"}},
		{"never split upper-case entry never matches", Options{DoLowerCase: true, NeverSplit: []string{"DON'T"}}, "DON'T", []string{"don", "'", "t"}},
		{"never split cased", Options{NeverSplit: []string{"DON'T"}}, "DON'T", []string{"DON'T"}},
		{"never split keeps accents", Options{DoLowerCase: true, NeverSplit: []string{"café"}}, "café", []string{"café"}},
		{"never split after accent stripping", Options{DoLowerCase: true, NeverSplit: []string{"a.b"}}, "Á.B", []string{"a.b"}},
		{"never split piece skips wordpiece", Options{DoLowerCase: true, NeverSplit: []string{"foobar"}}, "foobar!", []string{"foobar", "!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tinyTokenizer(t, tc.opts).Tokenize(tc.text)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Tokenize(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestNeverSplitIDIsUnkWhenOutOfVocab(t *testing.T) {
	tok := tinyTokenizer(t, Options{DoLowerCase: true, NeverSplit: []string{"don't"}})
	e := tok.Encode("don't", 0)
	if !slices.Equal(e.Tokens, []string{"[CLS]", "don't", "[SEP]"}) || !slices.Equal(e.IDs, []int{2, 1, 3}) {
		t.Fatalf("Encode = %q %v", e.Tokens, e.IDs)
	}
}

func TestEncode(t *testing.T) {
	tok := tinyTokenizer(t, Options{DoLowerCase: true})
	tests := []struct {
		text   string
		maxLen int
		want   []string
	}{
		{"the cat sat", 0, []string{"[CLS]", "the", "cat", "sat", "[SEP]"}},
		{"the cat sat", 5, []string{"[CLS]", "the", "cat", "sat", "[SEP]"}},
		{"the cat sat", 4, []string{"[CLS]", "the", "cat", "[SEP]"}},
		{"the cat sat", 2, []string{"[CLS]", "[SEP]"}},
		{"the cat sat", 1, []string{"[CLS]", "[SEP]"}},
		{"", 0, []string{"[CLS]", "[SEP]"}},
	}
	for _, tc := range tests {
		e := tok.Encode(tc.text, tc.maxLen)
		if !slices.Equal(e.Tokens, tc.want) {
			t.Errorf("Encode(%q, %d) = %q, want %q", tc.text, tc.maxLen, e.Tokens, tc.want)
		}
		checkConsistent(t, tok, e)
		for _, ty := range e.TypeIDs {
			if ty != 0 {
				t.Errorf("Encode(%q): type ids %v", tc.text, e.TypeIDs)
			}
		}
	}
}

// TestEncodePairTruncation checks 'longest_first' as transformers' slow truncate_sequences
// computes it. Cases marked fast≠slow are where HF's fast tokenizer keeps one token more in
// the second sequence instead of the first.
func TestEncodePairTruncation(t *testing.T) {
	tok := tinyTokenizer(t, Options{DoLowerCase: true})
	words := strings.Fields("one two three four five six seven eight nine ten")
	// The first sequence is the first n1 words, the second the last n2.
	tests := []struct {
		name           string
		n1, n2, maxLen int
		want1, want2   int
	}{
		{"fits", 3, 2, 8, 3, 2},
		{"no limit", 5, 5, 0, 5, 5},
		{"longer only", 6, 2, 9, 4, 2},
		{"longer second only", 2, 6, 9, 2, 4},
		{"equal, even", 4, 4, 9, 3, 3},
		{"equal, odd: first keeps one more (fast≠slow)", 4, 4, 8, 3, 2},
		{"first longer, odd (slow = fast)", 5, 4, 8, 3, 2},
		{"second longer, odd: first keeps one more (fast≠slow)", 4, 5, 8, 3, 2},
		{"both emptied", 3, 2, 3, 0, 0},
		{"below the special tokens", 3, 2, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			second := words[len(words)-tc.n2:]
			e := tok.EncodePair(strings.Join(words[:tc.n1], " "), strings.Join(second, " "), tc.maxLen)
			want := []string{"[CLS]"}
			want = append(want, words[:tc.want1]...)
			want = append(want, "[SEP]")
			want = append(want, second[:tc.want2]...)
			want = append(want, "[SEP]")
			if !slices.Equal(e.Tokens, want) {
				t.Fatalf("EncodePair = %q, want %q", e.Tokens, want)
			}
			checkConsistent(t, tok, e)
			for i, ty := range e.TypeIDs {
				if wantTy := boolInt(i > tc.want1+1); ty != wantTy {
					t.Fatalf("TypeIDs = %v", e.TypeIDs)
				}
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkConsistent verifies that tokens, ids and type ids line up and that every token has its
// vocabulary id.
func checkConsistent(tb testing.TB, tok *Tokenizer, e Encoding) {
	tb.Helper()
	if len(e.IDs) != len(e.Tokens) || len(e.TypeIDs) != len(e.Tokens) {
		tb.Fatalf("lengths differ: %d tokens, %d ids, %d type ids", len(e.Tokens), len(e.IDs), len(e.TypeIDs))
	}
	for i, token := range e.Tokens {
		id, ok := tok.ID(token)
		if !ok || id != e.IDs[i] {
			tb.Fatalf("token %d %q has id %d, vocabulary says %d (%v)", i, token, e.IDs[i], id, ok)
		}
	}
}
