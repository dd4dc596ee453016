"""Writes align.json: how transformers' token-classification example (run_ner.py,
tokenize_and_align_labels) aligns word labels to word pieces, with the tokenizers of
integration/tokenizer/hfjson/testdata: wordpiece-cased.json (BERT), bpe-bytelevel.json.gz
(RoBERTa's byte-level BPE, loaded as run_ner loads it, AutoTokenizer with add_prefix_space=True) and
unigram-metaspace.json.gz (XLM-R's Unigram): is_split_into_words=True, truncation to max_length,
the first piece of each word labelled with the word's label, the other pieces and the special
tokens -100.

    $SPAGO_PEFT_VENV/bin/python integration/train/testdata/make_align_fixtures.py
"""

import gzip
import json
import os
import tempfile

import transformers
from transformers import AutoTokenizer, PreTrainedTokenizerFast, XLMRobertaTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "..", "tokenizer", "hfjson", "testdata")


def unzipped(name, tmp):
    path = os.path.join(tmp, name[: -len(".gz")])
    with gzip.open(os.path.join(TESTDATA, name), "rb") as f, open(path, "wb") as out:
        out.write(f.read())
    return path


def tokenizers(tmp):
    yield "wordpiece-cased.json", PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(TESTDATA, "wordpiece-cased.json"), unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]")
    # run_ner.py loads RoBERTa's tokenizer with AutoTokenizer.from_pretrained(..., add_prefix_space=True),
    # which turns on the ByteLevel pre-tokenizer's prefix space: each word becomes " word".
    roberta = os.path.join(tmp, "roberta")
    os.mkdir(roberta)
    os.rename(unzipped("bpe-bytelevel.json.gz", tmp), os.path.join(roberta, "tokenizer.json"))
    with open(os.path.join(roberta, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "RobertaTokenizer"}, f)
    with open(os.path.join(roberta, "config.json"), "w") as f:
        json.dump({"model_type": "roberta"}, f)
    yield "bpe-bytelevel.json.gz", AutoTokenizer.from_pretrained(roberta, add_prefix_space=True)
    yield "unigram-metaspace.json.gz", XLMRobertaTokenizer(tokenizer_file=unzipped("unigram-metaspace.json.gz", tmp))

SENTENCES = [
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn",
    "BRUSSELS 1996-08-22",
    "The naïve café-owner's résumé , 3.5 % up ( Reuters ) !",
    "Ünïcödé wörds and CJK 東京 plus emoji 😀 too",
    "unbelievably supercalifragilisticexpialidocious " + "x" * 120 + " end",
    "a \u0007 control character between words",
]
MAX_LENS = [0, 8, 5]


def main():
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, tok in tokenizers(tmp):
            cases += cases_of(name, tok)
    with open(os.path.join(HERE, "align.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "tokenizers %s, transformers %s" % (tokenizers_version(), transformers.__version__), "cases": cases}, f, ensure_ascii=False)
        f.write("\n")


def tokenizers_version():
    import tokenizers as t

    return t.__version__


def cases_of(name, tok):
    cases = []
    for max_len in MAX_LENS:
        for s in SENTENCES:
            words = s.split(" ")
            labels = [i % 5 for i in range(len(words))]
            args = dict(truncation=True, max_length=max_len) if max_len else {}
            enc = tok(words, is_split_into_words=True, **args)
            aligned, prev = [], None
            for w in enc.word_ids():
                aligned.append(-100 if w is None or w == prev else labels[w])
                prev = w
            cases.append({"tokenizer": name, "words": words, "labels": labels, "max_len": max_len, "input_ids": enc["input_ids"], "aligned": aligned})
    return cases


if __name__ == "__main__":
    main()
