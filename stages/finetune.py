"""Stage `finetune@<arm>-<target>`: phase (iii), target-task training and zero-shot prediction.

Loads the arm's encoder (baseline: pretrained; intermediate: after phase ii), puts a fresh head on
it, trains on the target's English training data only (XNLI <- MNLI, XQuAD/MLQA <- SQuAD v1.1,
XCOPA <- COPA, the others <- their own English train), early-stopping on English dev, then predicts
every split and language of the target's evaluation data. Predictions land in XTREME's leaderboard
layout (stages/leaderboard.py):
  data/predictions/<arm>/<target>/<split>-<lang>.tsv    classification: one label per line
                                                        tagging: one tag per line, blank line after each sentence
  data/predictions/<arm>/<target>/<split>-<lang>.jsonl  multiple choice: {"label": choice index} per line
  data/predictions/<arm>/<target>/<split>-<lang>.json   QA: {question id: answer text}
plus train_log.json (training loss and English dev score at every evaluation). A target the
prepare stage skipped (outside the active benchmark) gets only skipped.json.
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, leaderboard, modeling, tasks, training


def main(task: str, arm: str) -> None:
    params = config.load()
    out = Path("data/predictions") / arm / task
    meta = data.prepared_meta(task)
    if data.write_skipped(out, meta):
        return
    target = tasks.TARGETS[task]
    tp = params.group("target_train")
    hp = tp.for_task(task)
    encoder_dir = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(encoder_dir)
    encoder = modeling.load_encoder(encoder_dir)
    labels = tuple(meta["labels"])
    training.setup(params.seed, tp.torch_threads)
    model = modeling.TaskModel(encoder, target.type, n_labels=len(labels))
    train_rows = data.load_train(task, "train")
    dev_rows = data.load_train(task, "dev")
    log = training.train(model, target.type, train_rows, dev_rows, tokenizer, tp, hp, params.seed, labels=labels,
                         no_answer=target.no_answer)

    with data.atomic_dir(out) as tmp:
        languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
        for split, lang in data.eval_sets(task, languages):
            rows = data.load_eval(task, split, lang)
            preds = training.predict(model, target.type, rows, tokenizer, hp, labels, tp.eval_batch_size,
                                     target.no_answer)
            leaderboard.write_predictions(task, tmp / f"{split}-{lang}", rows, preds)
        best = next(r for r in log if r["best"])  # the weights training.train restored
        (tmp / "train_log.json").write_text(json.dumps(
            {"arm": arm, "target": task, "train_data": target.train_from, "train_examples": len(train_rows),
             "hparams": vars(hp), "best_dev_score": best["dev_score"], "best_step": best["step"], "log": log},
            indent=2) + "\n")
    print(f"finetune {arm}/{task}: English dev {best['dev_score']:.3f} (step {best['step']}, "
          f"{log[-1]['seconds']} s) -> {out}")
