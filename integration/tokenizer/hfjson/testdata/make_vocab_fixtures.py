"""Writes fixtures-vocabtxt-cased.json and fixtures-vocabtxt-uncased.json: what transformers'
BertTokenizer gives, loaded from a directory holding only a vocab.txt (the vocabulary of
wordpiece-cased.json) and a tokenizer_config.json (do_lower_case false, then true), for the
strings of strings.json. hfjson.Auto must give the same for such a directory.

    $SPAGO_PEFT_VENV/bin/python make_vocab_fixtures.py
"""

import json
import os
import tempfile

import tokenizers
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "wordpiece-cased.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    with open(os.path.join(HERE, "strings.json"), encoding="utf-8") as f:
        strings = json.load(f)
    for name, lower in [("cased", False), ("uncased", True)]:
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
                f.write("".join(t + "\n" for t in sorted(vocab, key=vocab.get)))
            with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
                json.dump({"do_lower_case": lower}, f)
            tok = transformers.BertTokenizer.from_pretrained(tmp)

        def enc(a, b, max_len):
            args = dict(truncation="longest_first", max_length=max_len) if max_len else {}
            e = tok(a, b, **args) if b is not None else tok(a, **args)
            return [e["input_ids"], e["token_type_ids"]]

        data = {
            "source": "vocab.txt of wordpiece-cased.json, transformers.BertTokenizer do_lower_case=%s" % lower,
            "versions": "tokenizers %s, transformers %s" % (tokenizers.__version__, transformers.__version__),
            "single": [enc(s, None, 0) for s in strings["single"]],
            "pairs": [enc(a, b, 0) for a, b in strings["pairs"]],
            "truncated": [enc(c["a"], c["b"], c["max_len"]) for c in strings["truncated"]],
        }
        with open(os.path.join(HERE, "fixtures-vocabtxt-%s.json" % name), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
