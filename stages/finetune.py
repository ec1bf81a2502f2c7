"""Stage `finetune@<arm>-<target>`: phase (iii), target-task training and zero-shot prediction.

Loads the arm's encoder (baseline: pretrained; intermediate: after phase ii), puts a fresh head on
it and trains, by `target_training`:
  zero_shot            on the target's English training data only (XNLI <- MNLI, XQuAD/MLQA <-
                       SQuAD v1.1, XCOPA <- COPA, the others <- their own English train), early
                       stopping on English dev; one model predicts every language (the paper's);
  translate_train      one model per language, on that language's translation of the English
                       data (data/translated/<target>/<lang>/), early stopping on the translated dev;
                       each predicts its own language;
  translate_train_all  one model on English plus every translation at once.
Predictions land in XTREME's leaderboard layout, data/predictions/<arm>/<target>/<split>-<lang>.<suffix>
(xstilts/eval/layout.py; the format is the task kind's), with train_log.json and the training curves
reports/curves/{loss,dev}/finetune-<arm>-<target>.csv. A target the prepare stage skipped (outside
the active benchmark) gets only skipped.json (and empty curves), without loading torch.
"""
import json

from xstilts.core import config, io, paths, stage, tasks
from xstilts.data import prepared
from xstilts.data.prepare import interleave
from xstilts.train.curves import write_curves


def main(params, arm: str, task: str) -> None:
    config.check_name("fine-tuned target", task, params.finetune_targets)
    stage.check_arm(arm)
    out = paths.predictions(arm, task)
    meta = prepared.prepared_meta(task)
    curve_name = f"finetune-{arm}-{task}"
    if prepared.write_skipped(out, meta):
        write_curves(curve_name, {})
        return
    from xstilts import kinds  # the tensor work starts here
    from xstilts.eval import layout
    from xstilts.model import encoders
    from xstilts.model.heads import TaskModel
    from xstilts.train import loop
    from xstilts.train.predict import predict

    target = tasks.TARGETS[task]
    kind = kinds.of_task(task)
    tp = params.train_group("target_train")
    hp = tp.for_task(task)
    tokenizer = encoders.load_tokenizer(paths.encoder(arm))
    labels = tuple(meta["labels"])
    languages = [l for l in meta["languages"] if params.languages is None or l in params.languages]
    sets = prepared.eval_sets(task, languages)
    mode = params.target_training
    english = {part: prepared.load_train(task, part) for part in ("train", "dev")}

    def translated(lang: str, part: str) -> list[dict]:
        return io.read_jsonl(paths.rows(paths.translated(task) / lang, part))

    # (name, training rows, early-stopping rows, the languages whose eval sets this model predicts)
    if mode == "zero_shot":
        runs = [("en", english["train"], english["dev"], languages)]
    elif mode == "translate_train_all":
        others = [l for l in languages if l != "en"]
        runs = [("all", interleave([english["train"], *(translated(l, "train") for l in others)]), english["dev"],
                 languages)]
    else:  # translate_train: one model per language, trained and early-stopped in that language
        runs = [(l, english["train"] if l == "en" else translated(l, "train"),
                 english["dev"] if l == "en" else translated(l, "dev"), [l]) for l in languages]

    logs, curves = {}, {}
    with io.atomic_dir(out) as tmp:
        for name, train_rows, dev_rows, predict_langs in runs:
            encoder = encoders.load_encoder(paths.encoder(arm))  # each run starts from the arm's encoder
            loop.setup(params.seed, tp.torch_threads)
            model = TaskModel(encoder, kind, n_labels=len(labels))
            curve = []
            log = loop.train(model, train_rows, dev_rows, tokenizer, tp, hp, params.seed,
                             labels=labels, no_answer=target.no_answer, curve=curve)
            curves[name] = (curve, log)
            for split, lang in sets:
                if lang not in predict_langs:
                    continue
                rows = prepared.load_eval(task, split, lang)
                preds = predict(model, rows, tokenizer, hp, labels, tp.eval_batch_size, target.no_answer)
                layout.write_predictions(task, tmp / f"{split}-{lang}", rows, preds)
            best = next(r for r in log if r["best"])  # the weights loop.train restored
            logs[name] = {"train_examples": len(train_rows), "best_dev_score": best["dev_score"],
                          "best_step": best["step"], "seconds": log[-1]["seconds"], "log": log}
            print(f"finetune {arm}/{task} [{mode}: {name}]: dev {best['dev_score']:.3f} (step {best['step']}, "
                  f"{log[-1]['seconds']} s)")
        (tmp / paths.TRAIN_LOG).write_text(json.dumps(
            {"arm": arm, "target": task, "target_training": mode, "train_data": target.train_from,
             "hparams": vars(hp), "runs": logs}, indent=2) + "\n")
    write_curves(curve_name, curves)
    print(f"finetune {arm}/{task} ({mode}) -> {out}")


if __name__ == "__main__":
    stage.run(main, *stage.arm_and_task())
