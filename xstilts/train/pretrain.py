"""Phase (i), for stage `pretrain` (stages/pretrain.py), the pretrained multilingual encoder, into models/pretrained.

The encoder is the `model` param's entry in the profile's `models`.
Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages.
Profile paper: the Hub checkpoint materialized at its pinned revision (for mT5, its encoder stack),
so downstream stages depend on content in models/, not on a Hub cache.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

from xstilts.core import paths
from xstilts.data import sources
from xstilts.model import encoders, tokenizers


def pack(tokenizer, corpus_files: list[Path], max_len: int, seed: int) -> list[list[int]]:
    """RoBERTa-style packing: consecutive sentences of one language fill each sequence up to
    max_len, so every position embedding gets trained (QA contexts are several sentences long).
    The sequences of all languages are then shuffled together (seeded). Each sequence is framed as
    the model frames one sentence: <s> ... </s> for XLM-R, [CLS] ... [SEP] for BERT."""
    start, end = tokenizer.cls_token_id, tokenizer.sep_token_id
    chunks = []
    for f in corpus_files:
        lines = [line for line in f.read_text(encoding="utf-8").splitlines() if line]
        random.Random(f"{seed}-{f.stem}").shuffle(lines)
        current = []
        for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]:
            ids = ids[:max_len - 2]
            if len(current) + len(ids) > max_len - 2:
                chunks.append([start, *current, end])
                current = []
            current.extend(ids)
        if current:
            chunks.append([start, *current, end])
    random.Random(seed).shuffle(chunks)
    return chunks


def pretrain_tiny(pp, spec, seed: int, out: Path) -> dict:
    import torch
    from transformers import DataCollatorForLanguageModeling

    torch.set_num_threads(pp.torch_threads)
    torch.manual_seed(seed)
    corpus_files = sorted(paths.WORLD_CORPUS.glob("*.txt"))
    if not corpus_files:
        raise FileNotFoundError(f"no corpus under {paths.WORLD_CORPUS}: run `dvc repro world`")
    if spec.arch == "bert":
        tokenizer = tokenizers.train_wordpiece(corpus_files, out, pp.vocab_size)
    else:
        tokenizer = tokenizers.train_sentencepiece(corpus_files, out, pp.vocab_size)

    enc = pack(tokenizer, corpus_files, pp.max_seq_length, seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=pp.mlm_probability)

    model = encoders.tiny_masked_lm(spec, tokenizer, max_positions=256)
    opt = torch.optim.AdamW(model.parameters(), lr=pp.lr, weight_decay=pp.weight_decay)
    warmup = max(1, int(pp.warmup_ratio * pp.max_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (pp.max_steps - s) / max(1, pp.max_steps - warmup))))
    model.train()
    log, t0, running = [], time.time(), []
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(enc), generator=gen).tolist()
    for step in range(pp.max_steps):
        start = (step * pp.batch_size) % len(order)
        batch = collator([{"input_ids": enc[i]} for i in order[start:start + pp.batch_size]])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        running.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == pp.max_steps:
            log.append({"step": step + 1, "mlm_loss": sum(running) / len(running)})
            running = []
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return {"kind": "tiny-from-scratch", "arch": spec.arch,
            "parameters": sum(p.numel() for p in model.base_model.parameters()),
            "vocab_size": len(tokenizer), "steps": pp.max_steps, "seconds": round(time.time() - t0, 1),
            "final_mlm_loss": log[-1]["mlm_loss"], "first_mlm_loss": log[0]["mlm_loss"], "curve": log}


def pretrain_paper(pp, spec, out: Path) -> dict:
    """The checkpoint with its MLM head (XLM-R, BERT: intermediate MLM continues it), or mT5's
    encoder stack alone (MT5EncoderModel drops the decoder's weights)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, MT5EncoderModel

    source = str(Path(pp.local_models) / spec.hub) if pp.local_models else spec.hub
    revision = None if pp.local_models else spec.revision
    cls = MT5EncoderModel if spec.arch == "mt5" else AutoModelForMaskedLM
    try:
        model = cls.from_pretrained(source, revision=revision)
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except (ConnectionError, OSError) as e:
        raise sources.DataSourceError(
            f"could not load model {spec.hub} at revision '{spec.revision}' from {source}: "
            f"{type(e).__name__}: {e}\nTo use a local copy: on a machine with network run\n"
            f"  huggingface-cli download {spec.hub} --revision {spec.revision} --local-dir <DIR>/{spec.hub}\n"
            f"then set `paper.pretrain.local_models: <DIR>` in params.yaml.") from e
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    encoder = model if spec.arch == "mt5" else model.base_model
    return {"kind": "hub", "arch": spec.arch, "model": spec.hub, "revision": spec.revision, "source": source,
            "commit": getattr(model.config, "_commit_hash", None),
            "parameters": sum(p.numel() for p in encoder.parameters())}
