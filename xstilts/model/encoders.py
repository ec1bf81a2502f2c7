"""Encoders: loading a checkpoint of any phase strictly, the MLM head, tiny shapes, sentence embeddings.

Only the encoder carries over between phases; every phase puts a fresh head on it (the paper
re-initializes heads, even for SQuAD -> XQuAD). Loading an encoder checks its weights strictly:
a missing encoder weight, or an unexpected weight that is not a known head of an earlier phase,
is an error, never a silent partial load.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# Weights of an earlier phase's head that loading an encoder drops on purpose (XLM-R's LM head is
# lm_head, BERT's is cls.predictions).
HEAD_PREFIXES = ("lm_head.", "cls.", "classifier.", "qa_outputs.", "pooler.")


class EncoderLoadError(RuntimeError):
    pass


def quiet_transformers() -> None:
    """Our own load check reports weights; transformers' load tables and bars only add noise."""
    from transformers.utils import logging
    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(path))


def arch_of(path: str | Path) -> str:
    """xlmr | bert | mt5, from a checkpoint's config.json."""
    from transformers import AutoConfig
    model_type = AutoConfig.from_pretrained(str(path)).model_type
    archs = {"xlm-roberta": "xlmr", "bert": "bert", "mt5": "mt5", "t5": "mt5"}
    if model_type not in archs:
        raise EncoderLoadError(f"{path}: model type '{model_type}' is not one of {', '.join(archs)}")
    return archs[model_type]


def load_encoder(path: str | Path):
    """The bare encoder (no pooler, no head) from a checkpoint of any earlier phase. For mT5 that
    is MT5EncoderModel: the pretrain stage keeps the encoder stack only, the decoder is never used."""
    from transformers import AutoModel, MT5EncoderModel

    quiet_transformers()
    # float32 master weights (transformers 5 would keep a bf16 checkpoint in bf16: autocast does the
    # low precision) and PyTorch's fused scaled-dot-product attention, asked for by name
    fast = dict(dtype=torch.float32, attn_implementation="sdpa", output_loading_info=True)
    if arch_of(path) == "mt5":
        model, info = MT5EncoderModel.from_pretrained(str(path), **fast)
    else:
        model, info = AutoModel.from_pretrained(str(path), add_pooling_layer=False, **fast)
    missing = sorted(k for k in info.get("missing_keys", []) if not k.startswith("pooler."))
    unexpected = sorted(k for k in info.get("unexpected_keys", [])
                        if not any(k.startswith(p) or f".{p}" in k for p in HEAD_PREFIXES))
    mismatched = sorted(map(str, info.get("mismatched_keys", [])))
    dropped = sorted({k.split(".")[0] for k in info.get("unexpected_keys", [])})
    if dropped:
        print(f"encoder from {path}: dropped the earlier phase's head weights ({', '.join(dropped)})")
    if missing or unexpected or mismatched:
        raise EncoderLoadError(
            f"loading the encoder from {path} did not match its weights exactly: "
            f"missing={missing[:10]} unexpected={unexpected[:10]} mismatched={mismatched[:10]}")
    return model


def load_mlm_head(path: str | Path, encoder) -> nn.Module:
    """The masked-LM head of the pretrained checkpoint (MLM during intermediate training continues
    pretraining), its output projection tied to `encoder`'s word embeddings as XLM-R's and BERT's are.
    mT5 was pretrained by span corruption through its decoder and has no such head."""
    from transformers import AutoModelForMaskedLM

    arch = arch_of(path)
    if arch == "mt5":
        raise EncoderLoadError(f"{path} is an mT5 encoder: it has no masked-LM head for intermediate MLM")
    quiet_transformers()
    mlm = AutoModelForMaskedLM.from_pretrained(str(path), dtype=torch.float32)
    head = mlm.lm_head if arch == "xlmr" else mlm.cls
    decoder = head.decoder if arch == "xlmr" else head.predictions.decoder
    if decoder.weight.shape != encoder.embeddings.word_embeddings.weight.shape:
        raise EncoderLoadError(f"the LM head of {path} does not fit the encoder's vocabulary")
    decoder.weight = encoder.embeddings.word_embeddings.weight
    return head


def tiny_masked_lm(spec, tokenizer, max_positions: int):
    """A freshly initialized masked LM of the tiny model's shape: XLM-R's (one token type, positions
    after the padding index) or BERT's (two token types, positions from 0)."""
    from transformers import BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

    shape = dict(vocab_size=len(tokenizer), hidden_size=spec.hidden_size, num_hidden_layers=spec.num_layers,
                 num_attention_heads=spec.num_heads, intermediate_size=spec.intermediate_size,
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=tokenizer.pad_token_id,
                 attn_implementation="sdpa")
    if spec.arch == "xlmr":
        return XLMRobertaForMaskedLM(XLMRobertaConfig(
            **shape, max_position_embeddings=max_positions + 2, type_vocab_size=1, bos_token_id=0, eos_token_id=2))
    if spec.arch == "bert":
        return BertForMaskedLM(BertConfig(**shape, max_position_embeddings=max_positions, type_vocab_size=2))
    raise ValueError(f"no tiny pretraining recipe for arch '{spec.arch}' (tiny models: xlmr, bert)")


def embed(encoder, tokenizer, sentences: list[str], layer: int, pooling: str, max_len: int,
          batch_size: int, acc=None) -> torch.Tensor:
    """Sentence embeddings, float32 on the encoder's device: hidden_states[layer] (0 = embedding
    output), mean- or <s>-pooled. Sentences go through in batches sorted by length (little padding),
    under inference mode and the accelerator's autocast; rows come back in the input order."""
    import contextlib

    n_states = encoder.config.num_hidden_layers + 1
    if not 0 <= layer < n_states:
        raise ValueError(f"retrieval layer {layer} out of range: this encoder has hidden_states 0..{n_states - 1}")
    device = next(encoder.parameters()).device
    ids = tokenizer(sentences, truncation=True, max_length=max_len)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out = torch.empty((len(ids), encoder.config.hidden_size), dtype=torch.float32, device=device)
    encoder.eval()
    autocast = acc.autocast() if acc is not None else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for i in range(0, len(order), batch_size):
            rows = order[i:i + batch_size]
            enc = tokenizer.pad({"input_ids": [ids[r] for r in rows]}, pad_to_multiple_of=8, return_tensors="pt")
            mask = enc["attention_mask"].to(device)
            states = encoder(input_ids=enc["input_ids"].to(device), attention_mask=mask,
                             output_hidden_states=True).hidden_states[layer].float()
            if pooling == "cls":
                pooled = states[:, 0]
            else:
                m = mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * m).sum(1) / m.sum(1)
            out[torch.tensor(rows, device=device)] = pooled
    return out
