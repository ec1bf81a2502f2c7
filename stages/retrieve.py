"""Stage `retrieve@<arm>-<target>`: targets with no training data (Tatoeba here).

No fine-tuning: the arm's encoder embeds sentences (hidden_states[layer], mean-pooled by default;
paper.md §2b: XLM-R large's "layer 13" = hidden_states[14]) and each non-English sentence is
matched to its nearest English sentence by cosine similarity. The candidate pool is every English
sentence of the set; the predicted index is written one per line, as XTREME's leaderboard expects:
  data/predictions/<arm>/<target>/test-<lang>.tsv
"""
from __future__ import annotations

from pathlib import Path

from stages import config, data, modeling, tasks


def nearest(src, tgt) -> list[int]:
    import torch
    src = torch.nn.functional.normalize(src, dim=-1)
    tgt = torch.nn.functional.normalize(tgt, dim=-1)
    return (src @ tgt.T).argmax(-1).tolist()


def main(task: str, arm: str) -> None:
    import torch

    params = config.load()
    rp = params.group("retrieval")
    torch.set_num_threads(rp.torch_threads)
    target = tasks.TARGETS[task]
    encoder_dir = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(encoder_dir)
    encoder = modeling.load_encoder(encoder_dir)
    out = Path("data/predictions") / arm / task

    def vectors(sentences):
        return modeling.embed(encoder, tokenizer, sentences, rp.layer, rp.pooling, rp.max_seq_length, rp.batch_size)

    with data.atomic_dir(out) as tmp:
        for split, lang in data.eval_sets(target.dataset, params.target_languages(task)):
            rows = data.load_prepared(target.dataset, split, lang)
            pred = nearest(vectors([r["src"] for r in rows]), vectors([r["tgt"] for r in rows]))
            (tmp / f"{split}-{lang}.tsv").write_text("".join(f"{i}\n" for i in pred))
    print(f"retrieve {arm}/{task}: layer {rp.layer}, {rp.pooling} pooling -> {out}")
