"""Regenerate the tiny checkpoints of the BERT family (RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA)
and transformers' outputs on them, for the fidelity tests of integration/bert.

    $SPAGO_PEFT_VENV/bin/python integration/checkpoint/testdata/make_tiny_family.py

Needs the environment of integration/pyref/setup.sh (transformers, tokenizers, torch). For each
architecture it trains a small tokenizer on the sentences below with the real `tokenizers`
trainers (byte-level BPE for RoBERTa, Unigram with a Metaspace pre-tokenizer for XLM-R, WordPiece
for DistilBERT and ELECTRA), builds a seeded random …ForSequenceClassification with transformers
(2 layers, hidden 32, 4 heads, FFN 64, 3 labels; ELECTRA with embedding_size 16, so that its
embeddings_project is exercised), spreads the LayerNorm gains and every bias away from their
initial 1 and 0 (so a wrong norm or bias shows), and writes under testdata/tiny-<model_type>/:

  config.json, model.safetensors    model.save_pretrained (F32)
  tokenizer.json, tokenizer_config.json, special_tokens_map.json and, for WordPiece, vocab.txt
  expected.json                     transformers' outputs in float64 (the float32 weights cast):
                                    input_ids, attention_mask (a padded batch of the sentences of
                                    integration/interop/testdata/sentences.txt and one pair),
                                    last_hidden_state [batch][seq][hidden] and logits
                                    [batch][labels], with the library versions.

The model is put in eval mode; padded positions have hidden states too (compare real tokens only).
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SENTENCES = os.path.join(HERE, "..", "..", "interop", "testdata", "sentences.txt")
MAX_LEN = 64

CORPUS = """a warm and funny film about growing up.
The plot is thin, but the actors make every scene count!
dull.
It's neither as romantic nor as thrilling as it wants to be, and at 110 minutes it drags.
an utterly charming and hilarious film that reminded me why i love the movies.
the story is predictable and the dialogue is flat, yet the cast makes it watchable.
a sharp, smart comedy with a big heart.
the film never finds its rhythm; every joke lands a beat too late.
one of the best films of the year, beautifully shot and wonderfully acted.
a mess of a movie, loud and empty.
the director keeps things moving with style and wit.
slow, boring and far too long.
a moving portrait of a family in crisis.
it is funny, it is sad, it is true.
the actors seem lost and the script gives them nothing to do.
Café society, naïve heroes and a résumé of clichés.
a thrilling ride from start to finish, with twists you will not see coming.
the music is lovely but the story drags in the middle.
""".strip().split("\n")

SPECIAL_ROBERTA = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
SPECIAL_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_sentences():
    with open(SENTENCES) as f:
        return [line.strip() for line in f if line.strip()]


def bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL_ROBERTA,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    return tok, dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>", cls_token="<s>",
                     pad_token="<pad>", mask_token="<mask>")


def unigram_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("  ", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=SPECIAL_ROBERTA, unk_token="<unk>", show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    s, e = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", s), ("</s>", e)])
    return tok, dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>", cls_token="<s>",
                     pad_token="<pad>", mask_token="<mask>")


def wordpiece_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=300, special_tokens=SPECIAL_BERT, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    c, s = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", c), ("[SEP]", s)])
    return tok, dict(unk_token="[UNK]", sep_token="[SEP]", cls_token="[CLS]", pad_token="[PAD]", mask_token="[MASK]",
                     do_lower_case=True)


def common(vocab_size):
    return dict(vocab_size=vocab_size, num_labels=3, initializer_range=0.2,
                id2label={0: "negative", 1: "neutral", 2: "positive"},
                label2id={"negative": 0, "neutral": 1, "positive": 2})


def bert_sizes():
    return dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                max_position_embeddings=MAX_LEN, hidden_act="gelu")


def make_roberta(tok):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    cfg = RobertaConfig(**common(tok.get_vocab_size()), **bert_sizes(), type_vocab_size=1, pad_token_id=1,
                        bos_token_id=0, eos_token_id=2)
    cfg.max_position_embeddings = MAX_LEN + 2  # positions start at pad_token_id + 1
    return RobertaForSequenceClassification(cfg)


def make_xlm_roberta(tok):
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    cfg = XLMRobertaConfig(**common(tok.get_vocab_size()), **bert_sizes(), type_vocab_size=1, pad_token_id=1,
                           bos_token_id=0, eos_token_id=2)
    cfg.max_position_embeddings = MAX_LEN + 2
    cfg.hidden_act = "gelu_new"  # the tanh approximation, as some checkpoints of the family use
    return XLMRobertaForSequenceClassification(cfg)


def make_distilbert(tok):
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    cfg = DistilBertConfig(**common(tok.get_vocab_size()), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                           max_position_embeddings=MAX_LEN, activation="gelu", pad_token_id=0)
    return DistilBertForSequenceClassification(cfg)


def make_electra(tok):
    from transformers import ElectraConfig, ElectraForSequenceClassification

    cfg = ElectraConfig(**common(tok.get_vocab_size()), **bert_sizes(), embedding_size=16, type_vocab_size=2, pad_token_id=0)
    return ElectraForSequenceClassification(cfg)


ARCHS = {
    "roberta": (bpe_tokenizer, make_roberta),
    "xlm-roberta": (unigram_tokenizer, make_xlm_roberta),
    "distilbert": (wordpiece_tokenizer, make_distilbert),
    "electra": (wordpiece_tokenizer, make_electra),
}


def spread(model, seed):
    """Moves LayerNorm gains off 1 and every bias off 0, so that each shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # LayerNorm gains
                p.add_(0.2 * torch.randn(p.shape, generator=g))


def round_all(x):
    if isinstance(x, list):
        return [round_all(v) for v in x]
    return float(f"{x:.7g}")


def versions():
    import tokenizers
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}


def make(model_type, seed):
    from transformers import PreTrainedTokenizerFast

    make_tok, make_model = ARCHS[model_type]
    out = os.path.join(HERE, "tiny-" + model_type)
    os.makedirs(out, exist_ok=True)
    tok, special = make_tok()
    do_lower = special.pop("do_lower_case", None)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=MAX_LEN, **special)
    fast.save_pretrained(out)
    if do_lower is not None:  # vocab.txt for the WordPiece readers of vocab.txt
        vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
        assert [i for _, i in vocab] == list(range(len(vocab)))
        with open(os.path.join(out, "vocab.txt"), "w") as f:
            f.write("".join(t + "\n" for t, _ in vocab))
    torch.manual_seed(seed)
    model = make_model(tok)
    spread(model, seed)
    model.eval()
    model.save_pretrained(out)

    sentences = read_sentences()
    texts = sentences + [(sentences[0], sentences[2])]
    enc_rows = [fast(*t, return_token_type_ids=True) if isinstance(t, tuple) else fast(t, return_token_type_ids=True) for t in texts]
    width = max(len(r["input_ids"]) for r in enc_rows)
    pad = fast.pad_token_id
    ids = [r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in enc_rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in enc_rows]
    batch = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}
    types = None
    if model_type in ("electra",):
        types = [r["token_type_ids"] + [0] * (width - len(r["input_ids"])) for r in enc_rows]
        batch["token_type_ids"] = torch.tensor(types)
    double = model.double()
    with torch.no_grad():
        res = double(**batch, output_hidden_states=True)
    expected = {
        "model_type": model_type,
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "last_hidden_state": round_all(res.hidden_states[-1].tolist()),
        "logits": round_all(res.logits.tolist()),
        "versions": versions(),
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")
    print(f"{model_type}: vocab {tok.get_vocab_size()}, batch {len(ids)}×{width}", file=sys.stderr)


def main():
    for i, model_type in enumerate(ARCHS):
        make(model_type, 100 + i)


if __name__ == "__main__":
    main()
