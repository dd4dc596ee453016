#!/usr/bin/python3
"""Regenerate the tiny BERT fixtures of package integration/checkpoint.

Run from anywhere with the Debian PyTorch (transformers is not needed):

    /usr/bin/python3 integration/checkpoint/testdata/make_tiny_bert.py

It builds a small, seeded, random BERT for sequence classification in plain
PyTorch whose modules, parameter names and forward pass match Hugging Face
`BertForSequenceClassification` (absolute position embeddings, post-LN
encoder layers, exact erf GELU, tanh pooler on [CLS], linear classifier) and
writes, under testdata/tiny-bert/:

  config.json             HF BertConfig (2 layers, hidden 32, 4 heads, FFN 64,
                          100 tokens, 32 positions, 2 token types, 3 labels).
  vocab.txt               one WordPiece token per line; line i is token id i.
  tokenizer_config.json   {"do_lower_case": true, "model_max_length": 32}.
  model.safetensors       all parameters, F32, HF names ("bert." prefix,
                          classifier.*), plus the I64 buffer
                          bert.embeddings.position_ids as older transformers
                          versions saved it. Written by hand: 8-byte LE header
                          length, JSON header padded with spaces to 8 bytes,
                          raw little-endian data.
  model-f16.safetensors   the same parameters rounded to F16 (no buffer).
  pytorch_model.bin       torch.save(model.state_dict()) (zip format), the same
                          names and buffer as model.safetensors.
  expected.json           reference outputs, described below.

and, under testdata/torch/, small state_dicts whose values are exact in every
dtype so the Go tests can state them directly:

  dtypes.bin         torch.save zip format: "half" = arange(6).view(2,3)/4 as
                     float16, "bfloat16" = arange(6)/8 - 0.25 as bfloat16,
                     "double" = arange(4)/2 as float64, "transposed" =
                     arange(6).view(2,3).t() (a non-contiguous float32 view),
                     "view" = arange(10.)[2:6] and "shared" = the same
                     storage's [5:9] (views at an offset of one shared
                     storage), plus the int64 buffer
                     "bert.embeddings.position_ids" (dropped by the loader).
  dtypes-legacy.bin  the same, in the legacy (pre-1.6) torch.save format.
  int-tensor.bin     {"weight": int64 tensor}: the loader must refuse it.

expected.json:

  {
    "description": "...",
    "reference_dtype": "float64",
    "cases": [
      {
        "name": "single" | "pair" | "padded_batch",
        "input_ids":       [batch][seq] int,
        "token_type_ids":  [batch][seq] int,
        "attention_mask":  [batch][seq] int (1 = real token, 0 = padding),
        "last_hidden_state": [batch][seq][hidden_size] float,
        "pooled_output":     [batch][hidden_size] float,
        "logits":            [batch][num_labels] float
      }, ...
    ]
  }

Position ids are 0..seq-1 for every row (HF default). Padding follows HF: the
attention mask adds finfo(float64).min to the scores of masked keys, so padded
positions still get (meaningless but deterministic) hidden states; compare
those only if your encoder masks the same way. The reference is computed in
float64 from the float32 parameters stored in the files (the parameters are
created in float32, then the model is cast to float64 for the forward), so a
float32 Go forward should agree to about 1e-5.
"""

import json
import math
import os
import struct
from collections import OrderedDict

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tiny-bert")

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an movie film story plot actor actors acting director script "
    "scene scenes good great bad awful boring funny sad dull brilliant "
    "fine best worst love loved hate hated it is was are were not no very "
    "too so and but or of to in on with this that its for as by at from "
    "just more most much less well really quite never ever one two first "
    "last long short new old ##s ##ed ##ing ##ly ##er , . ! ? ' - : ; ( ) "
    "all some time life"
).split()
VOCAB = SPECIAL + WORDS

CONFIG = OrderedDict(
    architectures=["BertForSequenceClassification"],
    attention_probs_dropout_prob=0.1,
    classifier_dropout=None,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    hidden_size=32,
    id2label={"0": "negative", "1": "neutral", "2": "positive"},
    initializer_range=0.2,
    intermediate_size=64,
    label2id={"negative": 0, "neutral": 1, "positive": 2},
    layer_norm_eps=1e-12,
    max_position_embeddings=32,
    model_type="bert",
    num_attention_heads=4,
    num_hidden_layers=2,
    pad_token_id=0,
    position_embedding_type="absolute",
    type_vocab_size=2,
    use_cache=True,
    vocab_size=len(VOCAB),
)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))

    def forward(self, input_ids, token_type_ids):
        positions = self.position_ids[:, : input_ids.shape[1]]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.head_size = c["hidden_size"] // self.heads
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + additive_mask
        probs = self.dropout(scores.softmax(dim=-1))
        ctx = (probs @ v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(x.shape)


class DenseNorm(nn.Module):
    """HF BertSelfOutput / BertOutput: dense, dropout, residual, LayerNorm."""

    def __init__(self, c, fan_in):
        super().__init__()
        self.dense = nn.Linear(fan_in, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c, c["hidden_size"])

    def forward(self, x, additive_mask):
        return self.output(self.self(x, additive_mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["hidden_act"] == "gelu"
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # exact erf GELU


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c, c["intermediate_size"])

    def forward(self, x, additive_mask):
        a = self.attention(x, additive_mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, additive_mask):
        for layer in self.layer:
            x = layer(x, additive_mask)
        return x


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)

    def forward(self, input_ids, token_type_ids, attention_mask):
        dtype = self.pooler.dense.weight.dtype
        additive_mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        h = self.encoder(self.embeddings(input_ids, token_type_ids), additive_mask)
        return h, self.pooler(h)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, input_ids, token_type_ids, attention_mask):
        h, pooled = self.bert(input_ids, token_type_ids, attention_mask)
        return h, pooled, self.classifier(self.dropout(pooled))


def randomize(model, std):
    """Random weights large enough that attention is far from uniform and
    LayerNorm affine parameters and biases all matter in the outputs."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn_like(p))
            else:
                p.copy_(std * torch.randn_like(p))
        model.bert.embeddings.word_embeddings.weight[CONFIG["pad_token_id"]].zero_()


SAFETENSORS_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(path, tensors):
    """Write the safetensors format by hand (the Python package is not installed)."""
    header, blobs, offset = OrderedDict(), [], 0
    header["__metadata__"] = {"format": "pt"}
    for name, t in sorted(tensors.items()):
        t = t.contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


CASES = [
    # name, rows of (tokens, token types); rows shorter than the longest are padded.
    ("single", [("[CLS] the movie was great ! [SEP]", None)]),
    ("pair", [("[CLS] a boring film [SEP] the acting was bad ##ly not fine [SEP]", 4)]),
    (
        "padded_batch",
        [
            ("[CLS] i loved this movie , it is the best ! [SEP]", None),
            ("[CLS] awful plot [SEP] dull [SEP]", 4),
        ],
    ),
]


def encode(text, second_segment_start):
    ids = [VOCAB.index(t) if t in VOCAB else VOCAB.index("[UNK]") for t in text.split()]
    types = [0] * len(ids)
    if second_segment_start is not None:
        types = [0] * second_segment_start + [1] * (len(ids) - second_segment_start)
    return ids, types


def write_torch_dtypes(out):
    os.makedirs(out, exist_ok=True)
    base = torch.arange(10, dtype=torch.float32)
    state = OrderedDict(
        half=(torch.arange(6, dtype=torch.float32).view(2, 3) / 4).half(),
        bfloat16=(torch.arange(6, dtype=torch.float32) / 8 - 0.25).bfloat16(),
        double=torch.arange(4, dtype=torch.float64) / 2,
        transposed=torch.arange(6, dtype=torch.float32).view(2, 3).t(),
        view=base[2:6],
        shared=base[5:9],
    )
    state["bert.embeddings.position_ids"] = torch.arange(4).expand((1, -1))
    torch.save(state, os.path.join(out, "dtypes.bin"))
    torch.save(state, os.path.join(out, "dtypes-legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save(OrderedDict(weight=torch.arange(4)), os.path.join(out, "int-tensor.bin"))


def main():
    write_torch_dtypes(os.path.join(HERE, "torch"))
    torch.manual_seed(20240601)
    model = BertForSequenceClassification(CONFIG)
    randomize(model, CONFIG["initializer_range"])
    model.eval()

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": CONFIG["max_position_embeddings"]}, f)
        f.write("\n")

    state = model.state_dict()
    torch.save(state, os.path.join(OUT, "pytorch_model.bin"))
    write_safetensors(os.path.join(OUT, "model.safetensors"), state)
    write_safetensors(
        os.path.join(OUT, "model-f16.safetensors"),
        {k: v.half() for k, v in state.items() if v.is_floating_point()},
    )

    reference = model.double()
    cases = []
    with torch.no_grad():
        for name, rows in CASES:
            encoded = [encode(text, start) for text, start in rows]
            width = max(len(ids) for ids, _ in encoded)
            input_ids = [ids + [CONFIG["pad_token_id"]] * (width - len(ids)) for ids, _ in encoded]
            token_types = [types + [0] * (width - len(types)) for _, types in encoded]
            mask = [[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in encoded]
            h, pooled, logits = reference(torch.tensor(input_ids), torch.tensor(token_types), torch.tensor(mask))
            cases.append(
                OrderedDict(
                    name=name,
                    input_ids=input_ids,
                    token_type_ids=token_types,
                    attention_mask=mask,
                    last_hidden_state=h.tolist(),
                    pooled_output=pooled.tolist(),
                    logits=logits.tolist(),
                )
            )
    expected = OrderedDict(
        description="HF BertForSequenceClassification forward (eval) of tiny-bert; see make_tiny_bert.py",
        reference_dtype="float64",
        cases=cases,
    )
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")


if __name__ == "__main__":
    main()
