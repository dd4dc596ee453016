"""Encodes the strings of a JSON file with the real tokenizers, for hfjson's live test.

    python live_encode.py KIND PATH INPUT.json OUTPUT.json

KIND is "json" (PATH is a tokenizer.json, encoded by `tokenizers`) or "spm" (PATH is a directory
with spm.model, encoded by transformers' DebertaV2Tokenizer), optionally followed by
DebertaV2Tokenizer arguments as JSON: spm:{"add_prefix_space": false}. INPUT holds {"pairs": [[a, b or
null, max_len], ...]}; OUTPUT gets [[ids, type_ids], ...] in the same order.
"""

import json
import sys

kind, path, inp, out = sys.argv[1:5]
cases = json.load(open(inp, encoding="utf-8"))["pairs"]
results = []
if kind == "json":
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    tok.no_padding()
    own = tok.truncation  # the file's, restored where max_len is 0
    for a, b, max_len in cases:
        if max_len:
            tok.enable_truncation(max_length=max_len, strategy="longest_first")
        elif own:
            tok.enable_truncation(**own)
        else:
            tok.no_truncation()
        e = tok.encode(a, b)
        results.append([e.ids, e.type_ids])
else:
    import transformers

    kwargs = json.loads(kind.partition(":")[2] or "{}")
    tok = transformers.DebertaV2Tokenizer.from_pretrained(path, **kwargs)
    for a, b, max_len in cases:
        args = dict(truncation="longest_first", max_length=max_len) if max_len else {}
        e = tok(a, b, **args) if b is not None else tok(a, **args)
        results.append([e["input_ids"], e["token_type_ids"]])
json.dump(results, open(out, "w", encoding="utf-8"))
