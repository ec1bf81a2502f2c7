"""Stage `retrieve@<arm>-<target>`: the targets with no training data of their own.

No fine-tuning: the arm's encoder embeds sentences (hidden_states[layer], mean-pooled by default;
paper.md §2b: XLM-R large's "layer 13" = hidden_states[14]) and the target's retrieval kind does the
rest (xstilts/kinds: bitext = Tatoeba, mining = BUCC, ranking = LAReQA and Mewsli-X; their search is
XTREME's, xstilts/model/search.py). Predictions in the leaderboard layout under
data/predictions/<arm>/<target>/, plus retrieval_log.json (layer, pooling, thresholds, sizes).
A target the prepare stage skipped gets only skipped.json, without loading torch.
"""
import json

from xstilts.core import config, io, paths, stage, tasks
from xstilts.data import prepared


def main(params, arm: str, task: str) -> None:
    config.check_name("retrieval target", task, params.retrieval_targets)
    stage.check_arm(arm)
    out = paths.predictions(arm, task)
    meta = prepared.prepared_meta(task)
    if prepared.write_skipped(out, meta):
        return
    import time  # the tensor work starts here

    from xstilts import kinds
    from xstilts.eval import layout
    from xstilts.kinds.base import RetrievalRun
    from xstilts.model import encoders
    from xstilts.train import runtime

    t0 = time.time()
    rp = params.group("retrieval")
    layer = params.retrieval_layer()
    acc, used = runtime.start(params.runtime())  # one process: embedding and search on the device
    kind = kinds.of_task(task)
    tokenizer = encoders.load_tokenizer(paths.encoder(arm))
    encoder = encoders.load_encoder(paths.encoder(arm)).to(acc.device)
    languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
    log = {"arm": arm, "target": task, "kind": tasks.TARGETS[task].retrieval, "layer": layer, "pooling": rp.pooling,
           "max_seq_length": rp.max_seq_length, "sizes": {}}
    with io.atomic_dir(out) as tmp:
        kind.retrieve(RetrievalRun(
            sets=prepared.eval_sets(task, languages), languages=languages,
            rows=lambda split, lang: prepared.load_eval(task, split, lang),
            pool=lambda split: prepared.load_pool(task, split),
            vectors=lambda rows: encoders.embed(encoder, tokenizer, [r["text"] for r in rows], layer, rp.pooling,
                                                rp.max_seq_length, rp.batch_size, acc=acc),
            write=lambda split, lang, queries, preds: layout.write_predictions(task, tmp / f"{split}-{lang}",
                                                                                queries, preds),
            log=log))
        (tmp / "retrieval_log.json").write_text(json.dumps(log, indent=2) + "\n")
    runtime.write_cost(f"retrieve-{arm}-{task}", used, {}, time.time() - t0)
    print(f"retrieve {arm}/{task} ({kind.name}): layer {layer}, {rp.pooling} pooling -> {out}")


if __name__ == "__main__":
    stage.run(main, *stage.arm_and_task())
