"""Stage `inter@<arm>`: phase (ii), intermediate-task training of the encoder.

`inter@baseline` always runs task `none`: the pretrained encoder, unchanged (the paper's XLM-R
row). `inter@intermediate` trains on the English task named by the `intermediate` param with a
fresh head, early-stopping on the first 500 dev examples, and keeps only the encoder (heads are
re-initialized in the next phase). Output: models/intermediate/<arm>/ (encoder + tokenizer +
train_log.json; for SQuAD the official script's EM/F1 on all of English dev, with HasAns/NoAns for
v2.0).
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, metrics, modeling, tasks, training

PRETRAINED = Path("models/pretrained")


def main(task: str, arm: str) -> None:
    params = config.load()
    out = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(PRETRAINED)
    encoder = modeling.load_encoder(PRETRAINED)
    info = {"arm": arm, "task": task, "profile": params.profile, "seed": params.seed}
    if task != tasks.NO_INTERMEDIATE:
        tp = params.group("intermediate_train")
        hp = tp.for_task(task)
        spec = tasks.INTERMEDIATE_TASKS[task]
        meta = data.prepared_meta(data.INTERMEDIATE_DIR)
        if meta.get("task") != task:  # the stage's deps make this impossible under dvc repro
            raise RuntimeError(f"data/prepared/{data.INTERMEDIATE_DIR} holds '{meta.get('task')}', not '{task}': "
                               f"run `dvc repro prepare_intermediate`")
        training.setup(params.seed, tp.torch_threads)
        model = modeling.TaskModel(encoder, spec.type, n_labels=len(meta["labels"]))
        train_rows = data.load_train(data.INTERMEDIATE_DIR, "train")
        dev_rows = data.load_train(data.INTERMEDIATE_DIR, "dev")
        log = training.train(model, spec.type, train_rows, dev_rows, tokenizer, tp, hp, params.seed,
                             labels=tuple(meta["labels"]), no_answer=spec.no_answer)
        encoder = model.encoder
        best = next(r for r in log if r["best"])  # the weights training.train restored
        info.update({"train_examples": len(train_rows), "hparams": vars(hp), "log": log,
                     "best_dev_score": best["dev_score"], "best_step": best["step"]})
        if spec.type == "qa":  # the official script's numbers on the whole English dev set
            preds = training.predict(model, "qa", dev_rows, tokenizer, hp, (), tp.eval_batch_size, spec.no_answer)
            gold = {r["id"]: [a["text"] for a in r["answers"]] for r in dev_rows}
            pred = {r["id"]: p for r, p in zip(dev_rows, preds)}
            info["dev_metrics"] = metrics.squad_v2(gold, pred) if spec.no_answer else metrics.squad_v1(gold, pred)
            print(f"intermediate {task}: English dev " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in info["dev_metrics"].items()))
        print(f"intermediate {task}: best English dev score {best['dev_score']:.3f} at step {best['step']} "
              f"({log[-1]['seconds']} s)")
    with data.atomic_dir(out) as tmp:
        encoder.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "train_log.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"intermediate@{arm} ({task}) -> {out}")
