"""Stage `finetune@<arm>-<target>`: phase (iii), target-task training and zero-shot prediction.

Loads the arm's encoder (baseline: pretrained; intermediate: after phase ii), puts a fresh head on
it and trains, by `target_training`:
  zero_shot            on the target's English training data only (XNLI <- MNLI, XQuAD/MLQA <-
                       SQuAD v1.1, XCOPA <- COPA, the others <- their own English train), early
                       stopping on English dev; one model predicts every language (the paper's);
  translate_train      one model per language, on that language's translation of the English
                       data (data/translated/<target>/<lang>/, the translate stage), early stopping
                       on the translated dev; each predicts its own language;
  translate_train_all  one model on English plus every translation at once.
Then it predicts every split and language of the target's evaluation data. Predictions land in XTREME's leaderboard
layout (stages/leaderboard.py):
  data/predictions/<arm>/<target>/<split>-<lang>.tsv    classification: one label per line
                                                        tagging: one tag per line, blank line after each sentence
  data/predictions/<arm>/<target>/<split>-<lang>.jsonl  multiple choice: {"label": choice index} per line
  data/predictions/<arm>/<target>/<split>-<lang>.json   QA: {question id: answer text}
plus train_log.json (training loss and English dev score at every evaluation), and the training
curves reports/curves/{loss,dev}/finetune-<arm>-<target>.csv (`dvc plots show`). A target the
prepare stage skipped (outside the active benchmark) gets only skipped.json (and empty curves).
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, leaderboard, modeling, prepare, tasks, training
from stages.translate import TRANSLATED


def main(task: str, arm: str) -> None:
    params = config.load()
    out = Path("data/predictions") / arm / task
    meta = data.prepared_meta(task)
    curve_name = f"finetune-{arm}-{task}"
    if data.write_skipped(out, meta):
        training.write_curves(curve_name, {})
        return
    target = tasks.TARGETS[task]
    tp = params.train_group("target_train")
    hp = tp.for_task(task)
    encoder_dir = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(encoder_dir)
    labels = tuple(meta["labels"])
    languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
    sets = data.eval_sets(task, languages)
    mode = params.target_training
    english = {part: data.load_train(task, part) for part in ("train", "dev")}

    def translated(lang: str, part: str) -> list[dict]:
        return data.read_jsonl(TRANSLATED / task / lang / f"{part}.jsonl")

    # (name, training rows, early-stopping rows, the languages whose eval sets this model predicts)
    if mode == "zero_shot":
        runs = [("en", english["train"], english["dev"], languages)]
    elif mode == "translate_train_all":
        others = [l for l in languages if l != "en"]
        train_rows = prepare.interleave([english["train"], *(translated(l, "train") for l in others)])
        runs = [("all", train_rows, english["dev"], languages)]
    else:  # translate_train: one model per language, trained and early-stopped in that language
        runs = [(l, english["train"] if l == "en" else translated(l, "train"),
                 english["dev"] if l == "en" else translated(l, "dev"), [l]) for l in languages]

    logs, curves = {}, {}
    with data.atomic_dir(out) as tmp:
        for name, train_rows, dev_rows, predict_langs in runs:
            encoder = modeling.load_encoder(encoder_dir)  # each run starts from the arm's encoder
            training.setup(params.seed, tp.torch_threads)
            model = modeling.TaskModel(encoder, target.type, n_labels=len(labels))
            curve = []
            log = training.train(model, target.type, train_rows, dev_rows, tokenizer, tp, hp, params.seed,
                                 labels=labels, no_answer=target.no_answer, curve=curve)
            curves[name] = (curve, log)
            for split, lang in sets:
                if lang not in predict_langs:
                    continue
                rows = data.load_eval(task, split, lang)
                preds = training.predict(model, target.type, rows, tokenizer, hp, labels, tp.eval_batch_size,
                                         target.no_answer)
                leaderboard.write_predictions(task, tmp / f"{split}-{lang}", rows, preds)
            best = next(r for r in log if r["best"])  # the weights training.train restored
            logs[name] = {"train_examples": len(train_rows), "best_dev_score": best["dev_score"],
                          "best_step": best["step"], "seconds": log[-1]["seconds"], "log": log}
            print(f"finetune {arm}/{task} [{mode}: {name}]: dev {best['dev_score']:.3f} (step {best['step']}, "
                  f"{log[-1]['seconds']} s)")
        (tmp / "train_log.json").write_text(json.dumps(
            {"arm": arm, "target": task, "target_training": mode, "train_data": target.train_from,
             "hparams": vars(hp), "runs": logs}, indent=2) + "\n")
    training.write_curves(curve_name, curves)
    print(f"finetune {arm}/{task} ({mode}) -> {out}")
