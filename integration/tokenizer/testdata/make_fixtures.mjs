// make_fixtures.mjs regenerates hf_tokenizations.json, the reference tokenisations that
// hf_fixture_test.go checks the Go tokenizer against.
//
// The reference is Hugging Face's own `tokenizers` library (Rust, through its official Node.js
// binding, npm package `tokenizers`), configured exactly as transformers' BertTokenizerFast
// configures it for bert-base-uncased (BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP]
// template). Neither transformers nor tokenizers is packaged for Debian, and PyPI is out of reach
// here, so this is the independent implementation available. Inputs on which the fast (Rust)
// tokenizer is known to differ from the slow Python BertTokenizer that the Go package copies are
// left out here and tested by hand in tokenizer_test.go (see the list in the doc of package
// tokenizer).
//
// Usage (from any directory; nothing is written into the repository but the JSON file):
//
//	dir=$(mktemp -d) && (cd "$dir" && npm install tokenizers@0.23.2)
//	NODE_PATH="$dir/node_modules" node integration/tokenizer/testdata/make_fixtures.mjs \
//	    ../shared/data/vocab/bert-base-uncased-vocab.txt ../shared/data/sst2/dev.tsv \
//	    > integration/tokenizer/testdata/hf_tokenizations.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Tokenizer } = require("tokenizers");
const tokenizersVersion = require("tokenizers/package.json").version;

const [vocabPath, devPath] = process.argv.slice(2);
if (!vocabPath || !devPath) {
  console.error("usage: make_fixtures.mjs VOCAB_TXT SST2_DEV_TSV");
  process.exit(2);
}

// vocab.txt: one token per line, the line number is the id (as transformers' load_vocab).
const vocabLines = readFileSync(vocabPath, "utf8").split("\n");
if (vocabLines[vocabLines.length - 1] === "") vocabLines.pop();
const vocab = {};
vocabLines.forEach((tok, i) => {
  vocab[tok] = i;
});

// newTokenizer builds the tokenizer.json that transformers' BertConverter writes.
function newTokenizer({ lowercase = true, stripAccents = null, chineseChars = true } = {}) {
  const special = (content) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const spec = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(special),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: chineseChars,
      strip_accents: stripAccents,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [vocab["[CLS]"]], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [vocab["[SEP]"]], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  return Tokenizer.fromString(JSON.stringify(spec));
}

// Tricky inputs for the uncased configuration (lower-casing, accents stripped).
const uncased = [
  ["accents", "Café naïve résumé"],
  ["decomposed accent", "cafe\u0301 nai\u0308ve"],
  ["upper case", "HELLO World ÉCOLE"],
  ["dotted capital I", "İstanbul"],
  ["kelvin and angstrom signs", "5\u212a 3\u212b"],
  ["hyphen", "well-known"],
  ["apostrophe", "don't"],
  ["abbreviation", "U.S.A."],
  ["cjk", "中文字"],
  ["cjk mixed with latin", "我爱NLP和Go语言"],
  ["kana and hangul are not padded", "ひらがなカタカナ 한국어"],
  ["devanagari marks", "हिन्दी"],
  ["emoji", "I love it 😀👍🏽!"],
  ["emoji zwj sequence", "family 👨‍👩‍👧 here"],
  ["variation selector", "I ❤️ go"],
  ["emoji inside a word", "abc😀def"],
  ["currency", "$3.50 and €20 or £5"],
  ["percent and symbols", "50% #hashtag @user C++ f(x)=x^2 a_b ~t`b|p"],
  ["long word over 100", "a".repeat(101) + " ok"],
  ["word of exactly 100", "ab".repeat(50)],
  ["long punctuation run", "!".repeat(150)],
  ["unknown subwords", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ＡＢＣ１２３ ﬁne"],
  ["unknown subword mid word", "xqzvjk"],
  ["mixed whitespace", "hello\tworld\nnew\r\nline  \u00a0 nbsp\u3000ideographic\u2028ls\u2029ps"],
  ["control chars", "nul\u0000byte bell\u0007 zero\u200bwidth soft\u00adhyphen del\u007f \ufffd repl\u0085nel"],
  ["private use", "a\ue000b"],
  ["mask in text", "the [MASK] sat on [CLS]the mat[SEP]"],
  ["special tokens glued", "x[MASK]y [PAD][UNK]"],
  ["lower-case mask is text", "[mask] [Mask]"],
  ["html entity", "fish &amp; chips &lt;b&gt;"],
  ["unicode punctuation", "“quoted” — dash … ellipsis ‘single’ «guillemets» ¿qué? ¡sí!"],
  ["numbers", "1,000,000 and 3.14159 and 42nd in the 1990s"],
  ["repeated punctuation", "wow!!! really??? ... --"],
  ["url and email", "e-mail me@example.com http://x.y/z?a=b#c"],
  ["only whitespace", "   \t\n  "],
  ["empty", ""],
  ["sentence", "The quick brown fox jumped over the lazy dog's back."],
  ["unaffable", "unaffable"],
];

// A few inputs with other BasicTokenizer options on the same vocabulary.
const configured = [
  [{ lowercase: false }, "cased", "Café HELLO don't 中文"],
  [{ lowercase: false, stripAccents: true }, "cased, accents stripped", "Café naïve"],
  [{ lowercase: true, stripAccents: false }, "lower-cased, accents kept", "Café naïve éa"],
  [{ chineseChars: false }, "cjk not padded", "中文字 中国"],
];

function tokenization(tok) {
  return async (text) => {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    return { tokens: enc.getTokens(), ids: enc.getIds() };
  };
}

const out = {
  source: `Hugging Face tokenizers ${tokenizersVersion} (npm), BertTokenizerFast configuration`,
  vocab: "bert-base-uncased-vocab.txt",
  cases: [],
  encodings: [],
  pairs: [],
  sst2_dev: [],
};

const base = newTokenizer();
const tokenize = tokenization(base);
for (const [name, text] of uncased) {
  const options = { lowercase: true, stripAccents: null, chineseChars: true };
  out.cases.push({ name, options, text, ...(await tokenize(text)) });
}
for (const [given, name, text] of configured) {
  const options = { lowercase: true, stripAccents: null, chineseChars: true, ...given };
  const r = await tokenization(newTokenizer(options))(text);
  out.cases.push({ name, options, text, ...r });
}

// Single sequences with special tokens, truncated to max_len (0: no truncation).
const singles = [
  ["a gorgeous, witty, seductive movie.", 0],
  ["a gorgeous, witty, seductive movie.", 6],
  ["a gorgeous, witty, seductive movie.", 3],
  ["", 0],
];
for (const [text, maxLen] of singles) {
  const tok = newTokenizer();
  if (maxLen > 0) tok.setTruncation(maxLen);
  const enc = await tok.encode(text);
  out.encodings.push({ text, max_len: maxLen, tokens: enc.getTokens(), ids: enc.getIds(), type_ids: enc.getTypeIds() });
}

// Pairs. Only truncations where the fast and the slow longest_first agree: none, or the longer
// sequence alone shortened, or both shortened by an even number of tokens in total once equal.
const pairs = [
  ["is this a question?", "yes, it is.", 0],
  ["one two three four five six seven eight", "nine ten", 8],
  ["one two three four five six", "seven eight nine ten eleven", 9],
  ["one two three four", "five six seven eight", 7],
  ["", "only the second", 0],
];
for (const [a, b, maxLen] of pairs) {
  const tok = newTokenizer();
  if (maxLen > 0) tok.setTruncation(maxLen, { strategy: "LongestFirst" });
  const enc = await tok.encode(a, b);
  out.pairs.push({ a, b, max_len: maxLen, tokens: enc.getTokens(), ids: enc.getIds(), type_ids: enc.getTypeIds() });
}

// The SST-2 dev sentences, ids only (tokens follow from the vocabulary).
const devLines = readFileSync(devPath, "utf8").split("\n").slice(1).filter((l) => l !== "");
for (const line of devLines) {
  const text = line.split("\t")[0];
  out.sst2_dev.push({ text, ids: (await tokenize(text)).ids });
}

// One record per line keeps the file small and its diffs readable.
const sections = Object.entries(out).map(([key, value]) =>
  Array.isArray(value)
    ? `${JSON.stringify(key)}: [\n${value.map((v) => "  " + JSON.stringify(v)).join(",\n")}\n]`
    : `${JSON.stringify(key)}: ${JSON.stringify(value)}`,
);
process.stdout.write(`{\n${sections.join(",\n")}\n}\n`);
