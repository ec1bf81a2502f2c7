"""Stage `inter@<arm>`: phase (ii), intermediate-task training of the encoder.

`inter@baseline` always runs task `none`: the pretrained encoder, unchanged (the paper's XLM-R
row). `inter@intermediate` trains on what the `intermediate` param names: one English task, or
several at once (multitask, multitask_v1: one head per task over the shared encoder, one task
drawn per optimizer step, training.sampling_weights), plus masked-LM with the pretrained LM head
when `intermediate_mlm` is on. The data come from the translate stage
(data/translated/intermediate/<member>/), so `intermediate_languages` and `intermediate_size`
apply to every task. Early stopping on the mean of the tasks' dev scores (first 500 examples
each); only the encoder is kept (heads are re-initialized in the next phase). Output:
models/intermediate/<arm>/ (encoder + tokenizer + train_log.json; for SQuAD the official script's
EM/F1 on all of its dev set, with HasAns/NoAns for v2.0), and the training curves
reports/curves/{loss,dev}/inter-<arm>.csv (`dvc plots show`).
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, metrics, modeling, tasks, training
from stages.translate import TRANSLATED

PRETRAINED = Path("models/pretrained")
DATA = TRANSLATED / data.INTERMEDIATE_DIR


def main(task: str, arm: str) -> None:
    params = config.load()
    out = Path("models/intermediate") / arm
    tokenizer = modeling.load_tokenizer(PRETRAINED)
    encoder = modeling.load_encoder(PRETRAINED)
    info = {"arm": arm, "task": task, "profile": params.profile, "seed": params.seed}
    curves = {}  # stays empty for `none`: the curve files get their headers only
    if task != tasks.NO_INTERMEDIATE:
        tp = params.train_group("intermediate_train")
        meta = json.loads((DATA / "meta.json").read_text())
        if meta.get("task") != task:  # the stage's deps make this impossible under dvc repro
            raise RuntimeError(f"{DATA} holds '{meta.get('task')}', not '{task}': run `dvc repro translate_intermediate`")
        training.setup(params.seed, tp.torch_threads)
        members, lr = [], None
        for name, m in meta["members"].items():
            rows = {part: data.read_jsonl(DATA / name / f"{part}.jsonl") for part in ("train", "dev")}
            if name == tasks.MLM:
                mp = tp.mlm_params()
                hp = config.TaskHparams(batch_size=mp.batch_size, epochs=1, max_seq_length=mp.max_seq_length)
                model = modeling.TaskModel(encoder, "mlm", head=modeling.load_mlm_head(PRETRAINED, encoder))
                lr = mp.lr  # the paper lowers the learning rate of the whole run when MLM is on
            else:
                hp = tp.for_task(name)
                model = modeling.TaskModel(encoder, m["type"], n_labels=len(m["labels"]))
            members.append(training.Member(name, m["type"], model, rows["train"], rows["dev"], hp,
                                           tuple(m["labels"]), m["no_answer"]))
        mt = tp.multitask_params()
        curve = []
        log = training.train_members(members, tokenizer, tp, params.seed, mt.sampler, mt.examples_cap,
                                     mt.temperature, tp.mlm_params().probability, lr, curve=curve)
        curves[task] = (curve, log)
        best = next(r for r in log if r["best"])  # the weights training.train_members restored
        info.update({"members": {m.name: {"train_examples": len(m.train_rows), "hparams": vars(m.hp)}
                                 for m in members},
                     "languages": meta["languages"], "size": meta["size"], "mlm": meta["mlm"],
                     "sampler": vars(mt) if len(members) > 1 else None,
                     "lr": lr if lr is not None else tp.lr, "log": log,
                     "best_dev_score": best["dev_score"], "best_step": best["step"]})
        print(f"intermediate {task}: best dev score {best['dev_score']:.3f} at step {best['step']} "
              f"({log[-1]['seconds']} s)" + (f"; steps per task {log[-1].get('steps_per_task')}" if len(members) > 1 else ""))
        for m in members:
            if m.task_type == "qa":  # the official script's numbers on the whole dev set
                preds = training.predict(m.model, "qa", m.dev_rows, tokenizer, m.hp, (), tp.eval_batch_size, m.no_answer)
                gold = {r["id"]: [a["text"] for a in r["answers"]] for r in m.dev_rows}
                pred = {r["id"]: p for r, p in zip(m.dev_rows, preds)}
                info.setdefault("dev_metrics", {})[m.name] = (metrics.squad_v2(gold, pred) if m.no_answer
                                                               else metrics.squad_v1(gold, pred))
                print(f"intermediate {m.name}: dev " + ", ".join(
                    f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in info["dev_metrics"][m.name].items()))
    with data.atomic_dir(out) as tmp:
        encoder.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "train_log.json").write_text(json.dumps(info, indent=2) + "\n")
    training.write_curves(f"inter-{arm}", curves)
    print(f"intermediate@{arm} ({task}) -> {out}")
