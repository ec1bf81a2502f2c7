"""Stage `retrieve@<arm>-<target>`: the targets with no training data of their own.

No fine-tuning: the arm's encoder embeds sentences (hidden_states[layer], mean-pooled by default;
paper.md §2b: XLM-R large's "layer 13" = hidden_states[14]) and the algorithms of
stages/retrieval.py (XTREME's) do the rest, one kind per target:
  bitext   Tatoeba: each English sentence's nearest non-English sentence by cosine (XTREME indexes
           the non-English side and queries with English); predictions are candidate indices,
           one per line: <split>-<lang>.tsv
  mining   BUCC: ratio-margin k-NN mining (k=4, both directions), a score threshold tuned on dev
           gold to maximize F1 and applied to test; predictions are `src_id<TAB>tgt_id` lines
  ranking  LAReQA, Mewsli-X: the top 20 of a candidate pool shared by all languages;
           predictions are {query id: [candidate ids, best first]}: <split>-<lang>.json
plus retrieval_log.json (layer, pooling, thresholds, sizes).
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, leaderboard, modeling, retrieval, tasks

def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    return [r for r in rows if r["kind"] == "query"], [r for r in rows if r["kind"] == "candidate"]


def main(task: str, arm: str) -> None:
    import torch

    params = config.load()
    out = Path("data/predictions") / arm / task
    meta = data.prepared_meta(task)
    if data.write_skipped(out, meta):
        return
    rp = params.group("retrieval")
    layer = params.retrieval_layer()
    torch.set_num_threads(rp.torch_threads)
    target = tasks.TARGETS[task]
    encoder_dir = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(encoder_dir)
    encoder = modeling.load_encoder(encoder_dir)

    def vectors(rows):
        return modeling.embed(encoder, tokenizer, [r["text"] for r in rows], layer, rp.pooling,
                              rp.max_seq_length, rp.batch_size)

    languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
    sets = data.eval_sets(task, languages)
    log = {"arm": arm, "target": task, "kind": target.retrieval, "layer": layer, "pooling": rp.pooling,
           "max_seq_length": rp.max_seq_length, "sizes": {}}
    with data.atomic_dir(out) as tmp:
        if target.retrieval == "bitext":
            for split, lang in sets:
                queries, candidates = split_rows(data.load_eval(task, split, lang))
                pred = retrieval.nearest_neighbours(vectors(queries), vectors(candidates))
                leaderboard.write_predictions(task, tmp / f"{split}-{lang}", queries, pred)
                log["sizes"][f"{split}-{lang}"] = [len(queries), len(candidates)]
        elif target.retrieval == "mining":
            log["thresholds"] = {}
            for lang in languages:
                mined = {}
                for split in ("dev", "test"):
                    if (split, lang) not in sets:
                        continue
                    queries, candidates = split_rows(data.load_eval(task, split, lang))
                    mined[split] = (retrieval.mine_bucc(
                        vectors(queries), vectors(candidates), [q["id"] for q in queries],
                        [c["id"] for c in candidates], [q["text"] for q in queries],
                        [c["text"] for c in candidates], k=4), queries)
                    log["sizes"][f"{split}-{lang}"] = [len(queries), len(candidates)]
                if "dev" not in mined:
                    raise RuntimeError(f"{task} {lang}: no dev split to tune the mining threshold on")
                dev_candidates, dev_queries = mined["dev"]
                gold = {(q["id"], t) for q in dev_queries for t in q["relevant"]}
                threshold = retrieval.tune_threshold(dev_candidates, gold)
                log["thresholds"][lang] = threshold
                for split, (candidates, _) in mined.items():
                    pairs = retrieval.apply_threshold(candidates, threshold)
                    leaderboard.write_predictions(task, tmp / f"{split}-{lang}", [], pairs)
        elif target.retrieval == "ranking":
            for split in ("dev", "test"):
                langs = [lang for s, lang in sets if s == split]
                if not langs:
                    continue
                pool = data.load_pool(task, split)
                pool_vectors, pool_ids = vectors(pool), [c["id"] for c in pool]
                for lang in langs:
                    queries, _ = split_rows(data.load_eval(task, split, lang))
                    ranked = retrieval.rank(vectors(queries), pool_vectors, pool_ids, k=leaderboard.TOP_K)
                    leaderboard.write_predictions(task, tmp / f"{split}-{lang}", queries, ranked)
                    log["sizes"][f"{split}-{lang}"] = [len(queries), len(pool)]
        else:
            raise ValueError(f"no retrieval procedure for '{target.retrieval}'")
        (tmp / "retrieval_log.json").write_text(json.dumps(log, indent=2) + "\n")
    print(f"retrieve {arm}/{task} ({target.retrieval}): layer {layer}, {rp.pooling} pooling -> {out}")
