"""Stage `inter@<arm>`: phase (ii), intermediate-task training of the encoder.

`inter@baseline` always runs task `none`: the pretrained encoder, unchanged (the paper's XLM-R row).
`inter@intermediate` trains on what the `intermediate` param names: one English task, or several at
once (multitask, multitask_v1: one head per task over the shared encoder, one task drawn per
optimizer step), plus masked-LM with the pretrained LM head when `intermediate_mlm` is on. The data
come from the translate stage (data/translated/intermediate/<member>/), so `intermediate_languages`
and `intermediate_size` apply to every task. Early stopping on the mean of the tasks' dev scores
(first 500 examples each); only the encoder is kept (heads are re-initialized in the next phase).
Output: models/intermediate/<arm>/ (encoder + tokenizer + train_log.json; for SQuAD the official
script's EM/F1 on all of its dev set, with HasAns/NoAns for v2.0), and the training curves
reports/curves/{loss,dev}/inter-<arm>.csv (`dvc plots show`).
"""
import json
import time

from xstilts.core import config, io, paths, stage, tasks
from xstilts.train.curves import write_curves


def main(params, arm: str, task: str) -> None:
    config.check_name("intermediate task", task, [tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK])
    stage.check_arm(arm)
    from xstilts.train import runtime
    rt = params.runtime()
    if task != tasks.NO_INTERMEDIATE:
        runtime.relaunch(rt)  # processes > 1: this command again under torchrun
    t0 = time.time()
    import torch  # a typo fails above, before torch loads

    from xstilts import kinds
    from xstilts.metrics import text as metrics
    from xstilts.model import encoders
    from xstilts.model.heads import TaskModel
    from xstilts.train import checkpoint, trainer
    from xstilts.train.predict import predict

    data = paths.translated(paths.INTERMEDIATE_DIR)
    tokenizer = encoders.load_tokenizer(paths.PRETRAINED)
    encoder = encoders.load_encoder(paths.PRETRAINED)
    info = {"arm": arm, "task": task, "profile": params.profile, "seed": params.seed}
    curves = {}  # stays empty for `none`: the curve files get their headers only
    stage_name, main_process = f"inter-{arm}", True
    if task != tasks.NO_INTERMEDIATE:
        tp = params.train_group("intermediate_train")
        meta = json.loads((data / paths.META).read_text())
        if meta.get("task") != task:  # the stage's deps make this impossible under dvc repro
            raise RuntimeError(f"{data} holds '{meta.get('task')}', not '{task}': run `dvc repro translate_intermediate`")
        acc, used = runtime.start(rt, multitask=len(meta["members"]) > 1)
        main_process = acc.is_main_process
        torch.manual_seed(params.seed)
        members, heads, lr = [], {}, None
        for name, m in meta["members"].items():
            rows = {part: io.read_jsonl(paths.rows(data / name, part)) for part in ("train", "dev")}
            if name == tasks.MLM:
                mp = tp.mlm_params()
                hp = config.TaskHparams(batch_size=mp.batch_size, epochs=1, max_seq_length=mp.max_seq_length)
                kind, head = kinds.get("mlm"), encoders.load_mlm_head(paths.PRETRAINED, encoder)
                lr = mp.lr  # the paper lowers the learning rate of the whole run when MLM is on
            else:
                hp = tp.for_task(name)
                kind = kinds.get(m["type"])
                head = kind.head(encoder.config.hidden_size, len(m["labels"]))
            heads[name] = (kind, head)
            members.append(trainer.Member(name, kind, rows["train"], rows["dev"], hp, tuple(m["labels"]), m["no_answer"]))
        model = TaskModel(encoder, heads)  # one module: the shared encoder and a head per member
        mt = tp.multitask_params()
        key = checkpoint.digest(paths.PRETRAINED, data, (paths.CODE_MANIFESTS / "intermediate.json").read_text(),
                                vars(tp), params.seed, used.numerics())
        curve = []
        log, stats = trainer.train(model, members, tokenizer, tp, params.seed, acc, rt, sampler=mt.sampler,
                                   examples_cap=mt.examples_cap, temperature=mt.temperature,
                                   mlm_probability=tp.mlm_params().probability, lr=lr,
                                   checkpoint=checkpoint.Checkpoint(stage_name, task, key),
                                   label=f"intermediate {task}", curve=curve)
        curves[task] = (curve, log)
        best = next(r for r in log if r["best"])  # the weights the trainer restored
        info.update({"members": {m.name: {"train_examples": len(m.train_rows), "hparams": vars(m.hp)}
                                 for m in members},
                     "languages": meta["languages"], "size": meta["size"], "mlm": meta["mlm"],
                     "sampler": vars(mt) if len(members) > 1 else None,
                     "lr": lr if lr is not None else tp.lr, "log": log,
                     "best_dev_score": best["dev_score"], "best_step": best["step"],
                     "runtime": used.numerics()})
        if main_process:
            print(f"intermediate {task}: best dev score {best['dev_score']:.4f} at step {best['step']}"
                  + (f"; steps per task {log[-1].get('steps_per_task')}" if len(members) > 1 else ""))
        for m in members:
            if m.kind.name == "qa":  # the official script's numbers on the whole dev set
                preds = predict(model, m.dev_rows, tokenizer, m.hp, (), tp.eval_batch_size, m.no_answer,
                                task=m.name, acc=acc)
                gold = {r["id"]: [a["text"] for a in r["answers"]] for r in m.dev_rows}
                pred = {r["id"]: p for r, p in zip(m.dev_rows, preds)}
                info.setdefault("dev_metrics", {})[m.name] = (metrics.squad_v2(gold, pred) if m.no_answer
                                                               else metrics.squad_v1(gold, pred))
                if main_process:
                    print(f"intermediate {m.name}: dev " + ", ".join(
                        f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in info["dev_metrics"][m.name].items()))
        encoder = model.encoder.to("cpu")
    if not main_process:
        return
    with io.atomic_dir(paths.encoder(arm)) as tmp:
        encoder.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / paths.TRAIN_LOG).write_text(json.dumps(info, indent=2) + "\n")
    write_curves(f"inter-{arm}", curves)
    if task != tasks.NO_INTERMEDIATE:
        runtime.write_cost(stage_name, used, {task: stats}, time.time() - t0)
        checkpoint.clear(stage_name)
    print(f"intermediate@{arm} ({task}) -> {paths.encoder(arm)}")


if __name__ == "__main__":
    stage.run(main, *stage.arm_and_task())
