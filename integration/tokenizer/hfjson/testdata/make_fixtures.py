"""Regenerates the test tokenizers and the reference encodings in this directory.

Run with the reference environment (integration/pyref/setup.sh, plus sentencepiece from
requirements.txt):

    $SPAGO_PEFT_VENV/bin/python make_fixtures.py /work/shared/data/sst2

It trains small tokenizers on SST-2 sentences with the real trainers and writes them here:

  wordpiece-cased.json   WordPiece, BertNormalizer (cased, accents kept), as bert-base-cased/ELECTRA
  bpe-bytelevel.json     byte-level BPE with RobertaProcessing, as roberta-base
  unigram-metaspace.json Unigram + Precompiled(nmt_nfkc) + Replace + Metaspace, as xlm-roberta-base
  spm.model              a SentencePiece Unigram model laid out like DeBERTa-v3's

(the larger ones gzipped) and strings.json, the inputs; then, for each of them (and for all-MiniLM-L6-v2's tokenizer.json when it is in the model cache),
fixtures-NAME.json: the ids and type ids that the real `tokenizers` (tokenizer.json files) or
transformers' DebertaV2Tokenizer (spm.model) give for a few hundred tricky strings, pairs and
truncations. The Go tests read only the committed outputs.
"""

import json
import os
import random
import sys
import tempfile

import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
MINILM = os.path.join(
    os.environ.get("SPAGO_PEFT_MODELS", os.path.expanduser("~/.cache/spago-peft/models")),
    "all-MiniLM-L6-v2",
    "tokenizer.json",
)
VERSIONS = "tokenizers %s, transformers %s, sentencepiece %s" % (
    tokenizers.__version__,
    transformers.__version__,
    spm.__version__,
)


def sentences(data_dir, n):
    out = []
    with open(os.path.join(data_dir, "train.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            out.append(line.split("\t")[0])
    rng = random.Random(14)
    rng.shuffle(out)
    return out[:n]


# Tricky strings: accents, CJK, emoji, whitespace runs (tabs, newlines, NBSP), long words,
# control and format characters, contractions, special tokens written in the text.
HAND = [
    "",
    " ",
    "   \t\n  ",
    "Hello, world!",
    "hello   world",
    "  leading and trailing  ",
    "tab\tseparated\tvalues",
    "new\nline\r\nand\rcarriage",
    "non\u00a0breaking\u00a0space",
    "ideographic\u3000space and\u2003em space",
    "zero\u200bwidth\u200cjoiner\u200d",
    "soft\u00adhyphen",
    "control\x00chars\x01\x07\x1b[0m here",
    "replacement \ufffd char",
    "vertical\x0btab and form\x0cfeed",
    "next\u0085line",
    "Café résumé naïve coöperate",
    "CAFÉ RÉSUMÉ",
    "e\u0301 decomposed vs \u00e9 composed",
    "Ångström Øresund Łódź Straße",
    "İstanbul ıi Iİ",
    "ΣΊΣΥΦΟΣ σίσυφος ΟΔΟΣ",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ﬁ ligature ﬂ and ① ② ½ ™ ㎏",
    "中文字符测试",
    "日本語のテキストとカタカナ",
    "한국어 텍스트",
    "mixed中文and English",
    "emoji 😀😃 and 👍🏽 thumbs",
    "family 👨\u200d👩\u200d👧 zwj",
    "flags 🇫🇷🇯🇵",
    "math ∑∫√∞ ≤ ≥",
    "arrows → ← ↑",
    "Привет, мир!",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "it's don't I'm we're they've she'll he'd",
    "IT'S DON'T",
    "rock'n'roll 'quoted' \"double\"",
    "e-mail: someone@example.com, http://example.com/path?q=1&r=2",
    "numbers 3.14159 1,000,000 42nd 2nd",
    "punctuation!!! ??? ... --- ;;; :::",
    "(parens) [brackets] {braces} <angles>",
    "~`@#$%^&*_+=|\\/",
    "supercalifragilisticexpialidocious",
    "a" * 150,
    "antidisestablishmentarianism" * 5,
    "x" * 99 + " " + "y" * 101,
    "word " * 60,
    "[CLS] special [SEP] tokens [MASK] in text [PAD] [UNK]",
    "<s> roberta </s> specials <mask> and <pad> <unk>",
    "before<mask>after and before <mask> after",
    "[mask] lower-case [cls]",
    "▁already▁has▁metaspace",
    "Ġbyte Ċlevel chars",
    "Ünïcödé ÀÉÎÕÜ àéîõü ñ ç",
    "tiếng Việt có dấu",
    "Ελληνικά κείμενα",
    "ALL CAPS SENTENCE HERE",
    "MiXeD CaSe WoRdS",
    "\u2028line separator\u2029paragraph",
    "private\ue000use",
    "unassigned\U000e0001tag",
    "surrogate-free 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝",
    "combining a\u0300\u0301\u0302 marks",
    "\u0301leading mark",
    "the film's a mess , but it 's funny .",
    "-lrb- parens -rrb- in sst",
    "  multiple    spaces   between   words  ",
    "\t\ttabs\t\tonly\t\t",
    "\n\nnewlines\n\n",
    "end with space ",
    " start with space",
    "...",
    "a",
    "A",
    "0",
    "I",
    "'",
    "''",
    "'s",
    "   's",
]


def generated(rng, base, n):
    """Mutations of SST-2 sentences: case, accents, whitespace, emoji, CJK, joins."""
    extras = ["é", "ü", "中", "😀", "\t", "\n", "\u00a0", "  ", "'s", "!", "ß", "İ", "ﬁ", "\u200b", "\u0301"]
    out = []
    for i in range(n):
        s = base[i % len(base)]
        k = i % 6
        if k == 0:
            s = s.upper()
        elif k == 1:
            s = s.title()
        elif k == 2:
            pos = rng.randrange(len(s) + 1)
            s = s[:pos] + rng.choice(extras) + s[pos:]
        elif k == 3:
            s = s.replace(" ", rng.choice([" ", "  ", "\t", " \n "]))
        elif k == 4:
            s = "".join(c + rng.choice(extras) if rng.random() < 0.05 else c for c in s)
        else:
            s = s.replace(" ", "")[:200]
        out.append(s)
    return out


def strings(data_dir):
    rng = random.Random(1414)
    base = sentences(data_dir, 400)
    singles = HAND + base[:80] + generated(rng, base[80:200], 120)
    pairs = []
    for i in range(60):
        a = singles[rng.randrange(len(singles))]
        b = singles[rng.randrange(len(singles))]
        pairs.append((a, b))
    pairs += [("", ""), ("a", ""), ("", "b"), ("short", "a much longer second sentence " * 4)]
    trunc = []
    for i in range(80):
        max_len = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 33])
        if i % 2 == 0:
            trunc.append((base[200 + i], None, max_len))
        else:
            trunc.append((base[200 + i], base[300 + i] * rng.choice([1, 2]), max_len))
    for max_len in [3, 4, 5, 6, 7, 8]:
        trunc.append(("one two three four five", "six", max_len))
        trunc.append(("one", "two three four five six seven", max_len))
        trunc.append(("one two three", "four five six", max_len))
    return singles, pairs, trunc


def train_wordpiece(texts):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=specials))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def train_bpe(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(vocab_size=3000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    return tok


def train_spm(texts, path_prefix, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    spm.SentencePieceTrainer.train(
        input=f.name,
        model_prefix=path_prefix,
        model_type="unigram",
        vocab_size=3000,
        character_coverage=0.9995,
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        minloglevel=2,
        **extra,
    )
    os.unlink(f.name)


def train_unigram(texts, charsmap):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=3000, special_tokens=specials, unk_token="<unk>"))
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return tok


def charsmap_of(model_path):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    with open(model_path, "rb") as f:
        m.ParseFromString(f.read())
    return m.normalizer_spec.precompiled_charsmap


def encode_all(encode, singles, pairs, trunc):
    """The encodings, in the order of strings.json: [ids, type_ids] each."""

    def one(a, b, max_len):
        ids, type_ids = encode(a, b, max_len)
        return [ids, type_ids]

    return {
        "single": [one(s, None, 0) for s in singles],
        "pairs": [one(a, b, 0) for a, b in pairs],
        "truncated": [one(a, b, m) for a, b, m in trunc],
    }


def tokenizers_encoder(path):
    def encode(a, b, max_len):
        tok = Tokenizer.from_file(path)
        tok.no_padding()  # padding is the batcher's job; the Go encoder does not pad
        if max_len:
            tok.enable_truncation(max_length=max_len, strategy="longest_first")
        e = tok.encode(a, b)
        return e.ids, e.type_ids

    return encode


def deberta_encoder(model_dir, **kw):
    tok = transformers.DebertaV2Tokenizer.from_pretrained(model_dir, **kw)

    def encode(a, b, max_len):
        args = dict(truncation="longest_first", max_length=max_len) if max_len else {}
        e = tok(a, b, **args) if b is not None else tok(a, **args)
        return e["input_ids"], e["token_type_ids"]

    return encode


def write(name, source, data):
    data = dict(source=source, versions=VERSIONS, **data)
    with open(os.path.join(HERE, "fixtures-%s.json" % name), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    data_dir = sys.argv[1]
    texts = sentences(data_dir, 20000)
    singles, pairs, trunc = strings(data_dir)
    with open(os.path.join(HERE, "strings.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"single": singles, "pairs": pairs, "truncated": [{"a": a, "b": b, "max_len": m} for a, b, m in trunc]},
            f,
            ensure_ascii=False,
            indent=0,
        )
        f.write("\n")

    train_wordpiece(texts).save(os.path.join(HERE, "wordpiece-cased.json"))
    train_bpe(texts).save(os.path.join(HERE, "bpe-bytelevel.json"))

    with tempfile.TemporaryDirectory() as tmp:
        train_spm(texts, os.path.join(tmp, "xlmr"), {})
        charsmap = charsmap_of(os.path.join(tmp, "xlmr.model"))
    train_unigram(texts, charsmap).save(os.path.join(HERE, "unigram-metaspace.json"))

    # DeBERTa-v3's layout: [PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3, [MASK] a user-defined symbol.
    train_spm(
        texts,
        os.path.join(HERE, "spm"),
        dict(
            pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]",
            unk_id=3, unk_piece="[UNK]", user_defined_symbols=["[MASK]"],
        ),
    )
    os.remove(os.path.join(HERE, "spm.vocab"))

    for name in ["wordpiece-cased", "bpe-bytelevel", "unigram-metaspace"]:
        path = os.path.join(HERE, name + ".json")
        write(name, name + ".json", encode_all(tokenizers_encoder(path), singles, pairs, trunc))
    if os.path.exists(MINILM):
        write("minilm", "all-MiniLM-L6-v2/tokenizer.json", encode_all(tokenizers_encoder(MINILM), singles, pairs, trunc))
    else:
        print("skipping all-MiniLM-L6-v2: %s not found (run integration/pyref/fetch-models.sh)" % MINILM)

    with tempfile.TemporaryDirectory() as tmp:
        import shutil

        shutil.copy(os.path.join(HERE, "spm.model"), os.path.join(tmp, "spm.model"))
        write("spm", "spm.model (DebertaV2Tokenizer defaults)", encode_all(deberta_encoder(tmp), singles, pairs, trunc))
        write(
            "spm-lower-punct",
            "spm.model (DebertaV2Tokenizer do_lower_case=True, split_by_punct=True)",
            encode_all(deberta_encoder(tmp, do_lower_case=True, split_by_punct=True), singles, pairs, trunc),
        )


# Variants: a base tokenizer with some components replaced, to check the normalizers,
# pre-tokenizers and post-processors that the test tokenizers above do not use. Each is
# written as fixtures-variant-NAME.json with its base and the replaced components.
def S(s):
    return {"String": s}


def R(r):
    return {"Regex": r}


VARIANTS = {
    "nfd-strip-lower": ("wordpiece-cased.json", {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True, "strip_right": True}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"}]},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    }),
    "nfkc-whitespace": ("wordpiece-cased.json", {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Replace", "pattern": S("'"), "content": " ' "}, {"type": "Prepend", "prepend": "x"}]},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
    }),
    "nfkd-split": ("wordpiece-cased.json", {
        "normalizer": {"type": "NFKD"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": R(r"\s+"), "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": S("-"), "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": R(r"\d"), "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": R(r"[aeiou]+"), "behavior": "Contiguous", "invert": False},
            {"type": "Split", "pattern": R(r"\w+"), "behavior": "Isolated", "invert": True}]},
    }),
    "bytelevel-prefix": ("bpe-bytelevel.json.gz", {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True}]},
    }),
    "bytelevel-noregex": ("bpe-bytelevel.json.gz", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]},
    }),
    "metaspace-first": ("unigram-metaspace.json.gz", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Punctuation", "behavior": "Isolated"},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}]},
    }),
    "added-tokens": ("wordpiece-cased.json", {
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for i, c in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        ] + [
            {"id": 3000, "content": "film", "single_word": True, "lstrip": False, "rstrip": True, "normalized": False, "special": False},
            {"id": 3001, "content": "It's", "single_word": False, "lstrip": True, "rstrip": True, "normalized": True, "special": False},
            {"id": 3002, "content": "[MASK] ", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]},
    }),
    "metaspace-nosplit": ("unigram-metaspace.json.gz", {
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "Replace", "pattern": R(r"\s+"), "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": False},
    }),
}


def variants(singles, pairs):
    import gzip

    for name, (base, override) in VARIANTS.items():
        opener = gzip.open if base.endswith(".gz") else open
        with opener(os.path.join(HERE, base), "rt", encoding="utf-8") as f:
            data = json.load(f)
        data.update(override)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(data, f)
        enc = encode_all(tokenizers_encoder(f.name), singles, pairs, [])
        os.unlink(f.name)
        write("variant-" + name, base, dict(base=base, override=override, **enc))


def gzip_file(path):
    """Replaces path by path.gz (mtime 0, so that regenerating gives the same bytes)."""
    import gzip

    with open(path, "rb") as f, open(path + ".gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as g:
            g.write(f.read())
    os.remove(path)


if __name__ == "__main__":
    # --variants-only rewrites the variant fixtures from the committed test tokenizers, which
    # stay as they are (the trainers are not deterministic).
    if "--variants-only" not in sys.argv:
        main()
        for big in ["bpe-bytelevel.json", "unigram-metaspace.json", "spm.model"]:
            gzip_file(os.path.join(HERE, big))
    variants(*strings(sys.argv[1])[:2])
