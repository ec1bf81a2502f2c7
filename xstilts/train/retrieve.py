"""Retrieval targets (stage `retrieve@<arm>-<target>`, stages/retrieve.py): no training; the arm's encoder
embeds every query and candidate (a middle layer, pooled), and the target's kind searches, mines or ranks
as XTREME does (xstilts/kinds/bitext.py, mining.py, ranking.py), writing predictions in the leaderboard
layout and retrieval_log.json."""
from __future__ import annotations

import json

from xstilts.core import io, paths, tasks
from xstilts.data import read_prepared


def retrieve_target(params, arm: str, task: str) -> None:
    """Stage `retrieve@<arm>-<target>`: the arm's sentence embeddings searched as the target's kind does it."""
    out = paths.predictions(arm, task)
    meta = read_prepared.prepared_meta(task)
    if read_prepared.write_skipped(out, meta):
        return
    import time  # the tensor work starts here

    from xstilts import kinds
    from xstilts.eval import layout
    from xstilts.kinds.base import RetrievalRun
    from xstilts.model import encoders
    from xstilts.train import runtime

    t0 = time.time()
    retrieval = params.group("retrieval")
    layer = params.retrieval_layer()
    accelerator, runtime_used = runtime.start(params.runtime())  # one process: embedding and search on the device
    kind = kinds.of_task(task)
    tokenizer = encoders.load_tokenizer(paths.encoder(arm))
    encoder = encoders.load_encoder(paths.encoder(arm)).to(accelerator.device)
    languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
    log = {"arm": arm, "target": task, "kind": tasks.TARGETS[task].retrieval, "layer": layer,
           "pooling": retrieval.pooling, "max_seq_length": retrieval.max_seq_length, "sizes": {}}
    with io.atomic_dir(out) as tmp:
        kind.retrieve(RetrievalRun(
            sets=read_prepared.eval_sets(task, languages), languages=languages,
            rows=lambda split, lang: read_prepared.load_eval(task, split, lang),
            pool=lambda split: read_prepared.load_pool(task, split),
            vectors=lambda rows: encoders.embed(encoder, tokenizer, [r["text"] for r in rows], layer, retrieval.pooling,
                                                retrieval.max_seq_length, retrieval.batch_size, acc=accelerator),
            write=lambda split, lang, queries, preds: layout.write_predictions(task, tmp / f"{split}-{lang}",
                                                                                queries, preds),
            log=log))
        (tmp / "retrieval_log.json").write_text(json.dumps(log, indent=2) + "\n")
    runtime.write_cost(f"retrieve-{arm}-{task}", runtime_used, {}, time.time() - t0)
    print(f"retrieve {arm}/{task} ({kind.name}): layer {layer}, {retrieval.pooling} pooling -> {out}")
