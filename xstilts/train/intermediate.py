"""Phase (ii), for stage `intermediate@<arm>` (stages/intermediate.py): intermediate-task training of the
encoder.

The baseline arm always runs task `none`: the pretrained encoder, unchanged (the paper's XLM-R row).
The intermediate arm trains on what the `intermediate` param names: one English task, or several at
once (multitask, multitask_v1: one head per task over the shared encoder, one task drawn per
optimizer step), plus masked-LM with the pretrained LM head when `intermediate_mlm` is on. The data
come from the translate stage (data/translated/intermediate/<member>/), so `intermediate_languages`
and `intermediate_size` apply to every task; the task is the one the data hold (their meta.json, as
prepare_intermediate wrote the param there), the one place it is read from (`intermediate_task`).
Early stopping on the mean of the tasks' dev scores (first 500 examples each); only the encoder is
kept (heads are re-initialized in the next phase).
Output: models/intermediate/<arm>/ (encoder + tokenizer + train_log.json; for SQuAD the official
script's EM/F1 on all of its dev set, with HasAns/NoAns for v2.0), and the training curves
reports/curves/{loss,dev}/intermediate-<arm>.csv (`dvc plots show`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from xstilts import kinds
from xstilts.core import io, paths, tasks
from xstilts.core.groups import TaskHparams
from xstilts.metrics import text as metrics
from xstilts.train import checkpoint, runtime
from xstilts.train.curves import write_curves


@dataclass
class Trained:
    """What intermediate training produced, for the stage's outputs."""
    encoder: object            # the trained encoder, on the CPU
    details: dict              # train_log.json's entries about the training
    curve: list[dict]
    log: list[dict]
    is_main_process: bool
    resolved_runtime: object   # runtime.Runtime: what runtime.start resolved
    stats: object              # trainer.Stats: what it cost


def train_intermediate(params, arm: str) -> None:
    """Stage intermediate@<arm>: the arm's encoder, into models/intermediate/<arm>/. (The arm is
    checked once, by stage.run, against param_rules.STAGE_ARGUMENTS.)"""
    task, meta = intermediate_task(arm)
    runtime_params = params.runtime()
    trains = task != tasks.NO_INTERMEDIATE
    if trains:
        runtime.relaunch(runtime_params)  # processes > 1: this command again under torchrun
    t0 = time.time()
    from xstilts.model import encoders  # torch loads here, after the cheap checks

    tokenizer = encoders.load_tokenizer(paths.PRETRAINED)
    encoder = encoders.load_encoder(paths.PRETRAINED)
    info = {"arm": arm, "task": task, "profile": params.profile, "seed": params.seed}
    curves = {}  # stays empty for `none`: the curve files get their headers only
    stage_name = f"intermediate-{arm}"
    if trains:
        trained = train_encoder(params, task, meta, encoder, tokenizer, runtime_params, stage_name)
        info.update(trained.details)
        curves[task] = (trained.curve, trained.log)
        encoder = trained.encoder
        if not trained.is_main_process:
            return
    with io.atomic_dir(paths.encoder(arm)) as tmp:
        encoder.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / paths.TRAIN_LOG).write_text(json.dumps(info, indent=2) + "\n")
    write_curves(stage_name, curves)
    if trains:
        runtime.write_cost(stage_name, trained.resolved_runtime, {task: trained.stats}, time.time() - t0)
        checkpoint.clear(stage_name)
    print(f"intermediate@{arm} ({task}) -> {paths.encoder(arm)}")


def intermediate_task(arm: str) -> tuple[str, dict | None]:
    """The arm's intermediate task, and the meta.json of its data. The baseline arm trains nothing
    (`none`) and never reads the intermediate data (not its dependency); the intermediate arm trains
    on what data/translated/intermediate holds (the `intermediate` param, written there by
    prepare_intermediate; `none` there too when it is none)."""
    if arm == "baseline":
        return tasks.NO_INTERMEDIATE, None
    meta_file = paths.translated(paths.INTERMEDIATE_DIR) / paths.META
    if not meta_file.exists():
        raise FileNotFoundError(f"{meta_file} is missing: run `dvc repro translate_intermediate`")
    meta = json.loads(meta_file.read_text())
    return meta["task"], meta


def train_encoder(params, task: str, meta: dict, encoder, tokenizer, runtime_params, stage_name: str) -> Trained:
    """The members of the data, one head each over the shared encoder, trained together; then
    SQuAD's official metrics on all of its dev set (`squad_dev_metrics`)."""
    import torch

    from xstilts.model.heads import TaskModel
    from xstilts.train import trainer

    data = paths.translated(paths.INTERMEDIATE_DIR)
    train_params = params.train_group("intermediate_train")
    acc, resolved_runtime = runtime.start(runtime_params, multitask=len(meta["members"]) > 1)
    torch.manual_seed(params.seed)
    members, heads, lr = assemble_members(meta, data, train_params, encoder)
    model = TaskModel(encoder, heads)  # one module: the shared encoder and a head per member
    multitask = train_params.multitask_params()
    key = checkpoint.digest(paths.PRETRAINED, data, (paths.CODE_MANIFESTS / "intermediate.json").read_text(),
                            vars(train_params), params.seed, resolved_runtime.numerics())
    curve = []
    log, stats = trainer.train(model, members, tokenizer, train_params, params.seed, acc, runtime_params,
                               multitask=multitask, mlm_probability=train_params.mlm_params().probability, lr=lr,
                               checkpoint=checkpoint.Checkpoint(stage_name, task, key),
                               label=f"intermediate {task}", curve=curve)
    best = next(r for r in log if r["best"])  # the weights the trainer restored
    details = {"members": {m.name: {"train_examples": len(m.train_rows), "hparams": vars(m.hparams)}
                           for m in members},
               "languages": meta["languages"], "size": meta["size"], "mlm": meta["mlm"],
               "sampler": vars(multitask) if len(members) > 1 else None,
               "lr": lr if lr is not None else train_params.lr, "log": log,
               "best_dev_score": best["dev_score"], "best_step": best["step"],
               "runtime": resolved_runtime.numerics()}
    if acc.is_main_process:
        print(f"intermediate {task}: best dev score {best['dev_score']:.4f} at step {best['step']}"
              + (f"; steps per task {log[-1].get('steps_per_task')}" if len(members) > 1 else ""))
    dev_metrics = squad_dev_metrics(model, members, tokenizer, train_params.eval_batch_size, acc)
    if dev_metrics:
        details["dev_metrics"] = dev_metrics
    return Trained(encoder=model.encoder.to("cpu"), details=details, curve=curve, log=log,
                   is_main_process=acc.is_main_process, resolved_runtime=resolved_runtime, stats=stats)


def assemble_members(meta: dict, data: Path, train_params, encoder) -> tuple[list, dict, float | None]:
    """A trainer member and a head per member of the data (meta.json), and the learning rate of the
    whole run when it is not train_params.lr (None): MLM's, when it is a member (the paper lowers
    it when MLM is on). MLM's head is the pretrained LM head; the others are new."""
    from xstilts.model import encoders
    from xstilts.train import trainer

    members, heads, lr = [], {}, None
    for name, member in meta["members"].items():
        rows = {part: io.read_jsonl(paths.rows(data / name, part)) for part in ("train", "dev")}
        if name == tasks.MLM:
            mlm_params = train_params.mlm_params()
            hparams = TaskHparams(batch_size=mlm_params.batch_size, epochs=1, max_seq_length=mlm_params.max_seq_length)
            kind, head = kinds.get("mlm"), encoders.load_mlm_head(paths.PRETRAINED, encoder)
            lr = mlm_params.lr
        else:
            hparams = train_params.for_task(name)
            kind = kinds.get(member["type"])
            head = kind.head(encoder.config.hidden_size, len(member["labels"]))
        heads[name] = (kind, head)
        members.append(trainer.Member(name, kind, rows["train"], rows["dev"], hparams, tuple(member["labels"]),
                                      member["no_answer"]))
    return members, heads, lr


def squad_dev_metrics(model, members: list, tokenizer, eval_batch_size: int, acc) -> dict[str, dict]:
    """The official SQuAD script's numbers (v2.0: with HasAns/NoAns) on the whole dev set of each QA
    member; {} when there is none."""
    from xstilts.train.predict import predict

    dev_metrics = {}
    for member in members:
        if member.kind.name != "qa":
            continue
        preds = predict(model, member.dev_rows, tokenizer, member.hparams, (), eval_batch_size, member.no_answer,
                        task=member.name, acc=acc)
        gold = {r["id"]: [a["text"] for a in r["answers"]] for r in member.dev_rows}
        pred = {r["id"]: p for r, p in zip(member.dev_rows, preds)}
        dev_metrics[member.name] = metrics.squad_v2(gold, pred) if member.no_answer else metrics.squad_v1(gold, pred)
        if acc.is_main_process:
            print(f"intermediate {member.name}: dev " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in dev_metrics[member.name].items()))
    return dev_metrics
