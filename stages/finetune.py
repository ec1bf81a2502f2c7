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

Runs on the runtime's device and processes (xstilts/train/runtime.py), resumes from its checkpoint
after a kill, and trains a model once when two listed targets train on the same data with the same
recipe (XQuAD and MLQA: SQuAD v1.1): the second loads the first's weights (.checkpoints/trained/).
"""
import json
import shutil
import time

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
    from xstilts.train import runtime
    rt = params.runtime()
    runtime.relaunch(rt)  # processes > 1: this command again under torchrun
    t0 = time.time()
    import torch  # the tensor work starts here

    from xstilts import kinds
    from xstilts.eval import layout
    from xstilts.model import encoders
    from xstilts.model.heads import TaskModel
    from xstilts.train import checkpoint, trainer
    from xstilts.train.predict import predict

    acc, used = runtime.start(rt)
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

    # Everything a run's weights depend on (runtime numerics included): the checkpoint key, and
    # the key under which two targets trained on the same data share one model.
    stage_name = f"finetune-{arm}-{task}"
    inputs = checkpoint.digest(paths.encoder(arm), (paths.CODE_MANIFESTS / "finetune.json").read_text(),
                               vars(tp), vars(hp), params.seed, labels, target.no_answer,
                               used.numerics())
    sharing = [t for t in params.finetune_targets if t in params.active_targets
               and tasks.TARGETS[t].train_from == target.train_from]
    results, costs = {}, {}
    for name, train_rows, dev_rows, predict_langs in runs:
        key = checkpoint.digest(inputs, train_rows, dev_rows[:tp.early_stopping_examples])
        ckpt = checkpoint.Checkpoint(stage_name, name, key)
        if ckpt.result() is not None:  # finished before the stage was killed
            results[name] = ckpt.result()
            continue
        torch.manual_seed(params.seed)
        model = TaskModel.single(encoders.load_encoder(paths.encoder(arm)), kind, n_labels=len(labels))
        model.to(acc.device)
        shared = paths.TRAINED / key
        curve = []
        if (shared / "result.json").exists():
            model.load_state_dict(torch.load(shared / "model.pt", map_location=acc.device))
            done = json.loads((shared / "result.json").read_text())
            log, curve, cost = done["log"], done["curve"], {"reused": str(shared)}
            if acc.is_main_process:
                print(f"finetune {arm}/{task} [{name}]: the model trained for {done['trained_for']} on the same data "
                      f"and recipe, reused ({shared})")
        else:
            log, stats = trainer.train(model, [trainer.Member("task", kind, train_rows, dev_rows, hp, labels,
                                                              target.no_answer)],
                                       tokenizer, tp, params.seed, acc, rt, checkpoint=ckpt,
                                       label=f"finetune {arm}/{task} [{name}]", curve=curve)
            cost = vars(stats)
            if len(sharing) > 1 and acc.is_main_process:
                with io.atomic_dir(shared) as tmp:
                    torch.save(model.state_dict(), tmp / "model.pt")
                    (tmp / "result.json").write_text(json.dumps({"log": log, "curve": curve, "trained_for": task}))
        if shared.exists() and acc.is_main_process:
            (shared / f"used-{task}").touch()
            if all((shared / f"used-{t}").exists() for t in sharing):  # every target sharing it has it now
                shutil.rmtree(shared, ignore_errors=True)
        preds = {}
        for split, lang in sets:
            if lang in predict_langs:
                rows = prepared.load_eval(task, split, lang)
                preds[f"{split}-{lang}"] = predict(model, rows, tokenizer, hp, labels, tp.eval_batch_size,
                                                   target.no_answer, acc=acc, progress_every=rt.progress_every,
                                                   label=f"predict {arm}/{task} {split}-{lang}")
        best = next(r for r in log if r["best"])  # the weights the trainer restored
        results[name] = {"log": log, "curve": curve, "predictions": preds, "train_examples": len(train_rows)}
        costs[name] = cost
        if acc.is_main_process:
            ckpt.save_result(results[name])
            print(f"finetune {arm}/{task} [{mode}: {name}]: dev {best['dev_score']:.4f} (step {best['step']})")
        del model
    if not acc.is_main_process:
        return
    with io.atomic_dir(out) as tmp:
        for name, result in results.items():
            for file, preds in result["predictions"].items():
                split, lang = file.split("-", 1)
                layout.write_predictions(task, tmp / file, prepared.load_eval(task, split, lang), preds)
        logs = {}
        for name, result in results.items():
            best = next(r for r in result["log"] if r["best"])
            logs[name] = {"train_examples": result["train_examples"], "best_dev_score": best["dev_score"],
                          "best_step": best["step"], "log": result["log"]}
        (tmp / paths.TRAIN_LOG).write_text(json.dumps(
            {"arm": arm, "target": task, "target_training": mode, "train_data": target.train_from,
             "hparams": vars(hp), "runtime": used.numerics(),
             "runs": logs}, indent=2) + "\n")
    write_curves(curve_name, {name: (r["curve"], r["log"]) for name, r in results.items()})
    runtime.write_cost(stage_name, used, costs, time.time() - t0)
    checkpoint.clear(stage_name)
    print(f"finetune {arm}/{task} ({mode}) -> {out}")


if __name__ == "__main__":
    stage.run(main, *stage.arm_and_task())
