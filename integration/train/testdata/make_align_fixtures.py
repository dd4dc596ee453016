"""Writes align.json: how transformers' token-classification example (run_ner.py,
tokenize_and_align_labels) aligns word labels to word pieces, with the real `tokenizers` loading
integration/tokenizer/hfjson/testdata/wordpiece-cased.json: is_split_into_words=True, truncation
to max_length, the first piece of each word labelled with the word's label, the other pieces and
the special tokens -100.

    $SPAGO_PEFT_VENV/bin/python integration/train/testdata/make_align_fixtures.py
"""

import json
import os

import tokenizers
import transformers
from transformers import PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "tokenizer", "hfjson", "testdata", "wordpiece-cased.json")

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
    tok = PreTrainedTokenizerFast(tokenizer_file=TOKENIZER, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]")
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
            cases.append({"words": words, "labels": labels, "max_len": max_len, "input_ids": enc["input_ids"], "aligned": aligned})
    with open(os.path.join(HERE, "align.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "tokenizers %s, transformers %s" % (tokenizers.__version__, transformers.__version__), "cases": cases}, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
