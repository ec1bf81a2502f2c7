"""Phase (iii), for stage `finetune@<arm>-<target>` (stages/finetune.py): target-task training and
zero-shot prediction.

Loads the arm's encoder (baseline: pretrained; intermediate: after phase ii), puts a fresh head on
it and trains, by `target_training` (`plan_runs`):
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
recipe (XQuAD and MLQA: SQuAD v1.1): the second loads the first's weights (`SharedModel`).
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass

from xstilts import kinds
from xstilts.core import io, paths, tasks
from xstilts.data import read_prepared
from xstilts.data.prepare import interleave
from xstilts.train import checkpoint, runtime
from xstilts.train.curves import write_curves


@dataclass
class Run:
    """One model the stage trains: its name (`en`, `all`, or a language), its training rows, its
    early-stopping rows, and the languages whose eval sets it predicts."""
    name: str
    train_rows: list[dict]
    dev_rows: list[dict]
    predict_languages: list[str]


@dataclass
class Finetuning:
    """What every run of one finetune@<arm>-<target> stage shares."""
    arm: str
    task: str
    target: tasks.Task
    kind: object                # the target's kind (xstilts/kinds)
    labels: tuple
    target_training: str        # zero_shot | translate_train | translate_train_all
    languages: list[str]        # the target's languages this run predicts (the `languages` param applied)
    eval_sets: list             # (split, language) of every eval set to predict
    train_params: object        # config.TrainParams: target_train
    hparams: object             # config.TaskHparams: the target's
    seed: int
    runtime_params: object      # config.RuntimeParams
    acc: object                 # accelerate.Accelerator
    resolved_runtime: object    # runtime.Runtime: what runtime.start resolved
    tokenizer: object

    def label(self, run: str) -> str:
        return f"finetune {self.arm}/{self.task} [{run}]"


def finetune_target(params, arm: str, task: str) -> None:
    """Stage finetune@<arm>-<task>: train the runs, predict the eval sets, write the outputs. (The
    stage's arguments are checked once, by stage.run, against param_rules.STAGE_ARGUMENTS.)"""
    out = paths.predictions(arm, task)
    meta = read_prepared.prepared_meta(task)
    stage_name = f"finetune-{arm}-{task}"   # (also the curves' name)
    if read_prepared.write_skipped(out, meta):
        write_curves(stage_name, {})
        return
    runtime_params = params.runtime()
    runtime.relaunch(runtime_params)  # processes > 1: this command again under torchrun
    t0 = time.time()
    setup = start(params, arm, task, meta, runtime_params)
    # Everything a run's weights depend on (runtime numerics included): the checkpoint key, and
    # the key under which two targets trained on the same data share one model.
    inputs = checkpoint.digest(paths.encoder(arm), (paths.CODE_MANIFESTS / "finetune.json").read_text(),
                               vars(setup.train_params), vars(setup.hparams), params.seed, setup.labels,
                               setup.target.no_answer, setup.resolved_runtime.numerics())
    sharing = [t for t in params.finetune_targets if t in params.active_targets
               and tasks.TARGETS[t].train_from == setup.target.train_from]
    results, costs = {}, {}
    for run in plan_runs(setup.target_training, task, setup.languages):
        key = checkpoint.digest(inputs, run.train_rows, run.dev_rows[:setup.train_params.early_stopping_examples])
        run_checkpoint = checkpoint.Checkpoint(stage_name, run.name, key)
        if run_checkpoint.result() is not None:  # finished before the stage was killed
            results[run.name] = run_checkpoint.result()
            continue
        results[run.name], costs[run.name] = train_and_predict(setup, run, run_checkpoint,
                                                               SharedModel(key, task, sharing))
        best = next(r for r in results[run.name]["log"] if r["best"])  # the weights the trainer restored
        if setup.acc.is_main_process:
            run_checkpoint.save_result(results[run.name])
            print(f"finetune {arm}/{task} [{setup.target_training}: {run.name}]: dev {best['dev_score']:.4f} "
                  f"(step {best['step']})")
    if not setup.acc.is_main_process:
        return
    write_outputs(setup, out, results)
    write_curves(stage_name, {name: (r["curve"], r["log"]) for name, r in results.items()})
    runtime.write_cost(stage_name, setup.resolved_runtime, costs, time.time() - t0)
    checkpoint.clear(stage_name)
    print(f"finetune {arm}/{task} ({setup.target_training}) -> {out}")


def start(params, arm: str, task: str, meta: dict, runtime_params) -> Finetuning:
    """The accelerator (runtime.start: before any CUDA work), the target's training settings and the
    arm's tokenizer."""
    from xstilts.model import encoders

    acc, resolved_runtime = runtime.start(runtime_params)
    target, kind = tasks.TARGETS[task], kinds.of_task(task)
    train_params = params.train_group("target_train")
    hparams = train_params.for_task(task)
    tokenizer = encoders.load_tokenizer(paths.encoder(arm))
    languages = [lang for lang in meta["languages"] if params.languages is None or lang in params.languages]
    return Finetuning(arm=arm, task=task, target=target, kind=kind, labels=tuple(meta["labels"]),
                      target_training=params.target_training, languages=languages,
                      eval_sets=read_prepared.eval_sets(task, languages), train_params=train_params, hparams=hparams,
                      seed=params.seed, runtime_params=runtime_params, acc=acc, resolved_runtime=resolved_runtime,
                      tokenizer=tokenizer)


def plan_runs(target_training: str, task: str, languages: list[str]) -> list[Run]:
    """The models `target_training` asks for, each with its data (module docstring)."""
    english = {part: read_prepared.load_train(task, part) for part in ("train", "dev")}

    def translated(lang: str, part: str) -> list[dict]:
        return io.read_jsonl(paths.rows(paths.translated(task) / lang, part))

    if target_training == "zero_shot":
        return [Run("en", english["train"], english["dev"], languages)]
    if target_training == "translate_train_all":
        others = [lang for lang in languages if lang != "en"]
        return [Run("all", interleave([english["train"], *(translated(lang, "train") for lang in others)]),
                    english["dev"], languages)]
    # translate_train: one model per language, trained and early-stopped in that language
    return [Run(lang, english["train"] if lang == "en" else translated(lang, "train"),
                english["dev"] if lang == "en" else translated(lang, "dev"), [lang]) for lang in languages]


def train_and_predict(setup: Finetuning, run: Run, run_checkpoint, shared: SharedModel) -> tuple[dict, dict]:
    """One run: a fresh head on the arm's encoder, trained (or the shared model reused), then its
    predictions. Returns its result (what train_log.json and the curves need) and its cost."""
    import torch

    from xstilts.model import encoders
    from xstilts.model.heads import TaskModel
    from xstilts.train import trainer

    acc = setup.acc
    torch.manual_seed(setup.seed)
    model = TaskModel.single(encoders.load_encoder(paths.encoder(setup.arm)), setup.kind, n_labels=len(setup.labels))
    model.to(acc.device)
    curve = []
    if shared.trained():
        done = shared.load(model, acc.device)
        log, curve, cost = done["log"], done["curve"], {"reused": str(shared.dir)}
        if acc.is_main_process:
            print(f"{setup.label(run.name)}: the model trained for {done['trained_for']} on the same data "
                  f"and recipe, reused ({shared.dir})")
    else:
        member = trainer.Member("task", setup.kind, run.train_rows, run.dev_rows, setup.hparams, setup.labels,
                                setup.target.no_answer)
        log, stats = trainer.train(model, [member], setup.tokenizer, setup.train_params, setup.seed, acc,
                                   setup.runtime_params, checkpoint=run_checkpoint, label=setup.label(run.name),
                                   curve=curve)
        cost = vars(stats)
        if acc.is_main_process:
            shared.save(model, log, curve)
    if acc.is_main_process:
        shared.mark_used()
    predictions = predict_eval_sets(setup, model, run)
    return {"log": log, "curve": curve, "predictions": predictions, "train_examples": len(run.train_rows)}, cost


def predict_eval_sets(setup: Finetuning, model, run: Run) -> dict[str, list]:
    """The model's predictions for the eval sets of its languages: `<split>-<lang>` -> one per row."""
    from xstilts.train.predict import predict

    predictions = {}
    for split, lang in setup.eval_sets:
        if lang in run.predict_languages:
            rows = read_prepared.load_eval(setup.task, split, lang)
            predictions[f"{split}-{lang}"] = predict(
                model, rows, setup.tokenizer, setup.hparams, setup.labels, setup.train_params.eval_batch_size,
                setup.target.no_answer, acc=setup.acc, progress_every=setup.runtime_params.progress_every,
                label=f"predict {setup.arm}/{setup.task} {split}-{lang}")
    return predictions


class SharedModel:
    """A model that every listed target training on the same data with the same recipe shares
    (XQuAD and MLQA: SQuAD v1.1): the first trains it and leaves it in .checkpoints/trained/<key>/
    (weights and result), the others load it; each marks it used (a `used-<target>` file), and the
    last one removes it."""

    def __init__(self, key: str, task: str, sharing: list[str]):
        self.dir, self.task, self.sharing = paths.TRAINED / key, task, sharing

    def trained(self) -> bool:
        return (self.dir / "result.json").exists()

    def load(self, model, device) -> dict:
        """The shared weights into `model`; returns the run's result as its trainer left it."""
        import torch
        model.load_state_dict(torch.load(self.dir / "model.pt", map_location=device))
        return json.loads((self.dir / "result.json").read_text())

    def save(self, model, log: list[dict], curve: list[dict]) -> None:
        """Keep the trained model for the other targets sharing it (if any)."""
        import torch
        if len(self.sharing) > 1:
            with io.atomic_dir(self.dir) as tmp:
                torch.save(model.state_dict(), tmp / "model.pt")
                (tmp / "result.json").write_text(json.dumps({"log": log, "curve": curve, "trained_for": self.task}))

    def mark_used(self) -> None:
        if self.dir.exists():
            (self.dir / f"used-{self.task}").touch()
            if all((self.dir / f"used-{t}").exists() for t in self.sharing):  # every target sharing it has it now
                shutil.rmtree(self.dir, ignore_errors=True)


def write_outputs(setup: Finetuning, out, results: dict[str, dict]) -> None:
    """The predictions in the leaderboard layout and train_log.json, into `out` (atomically)."""
    from xstilts.eval import layout

    task = setup.task
    with io.atomic_dir(out) as tmp:
        for result in results.values():
            for file, preds in result["predictions"].items():
                split, lang = file.split("-", 1)
                layout.write_predictions(task, tmp / file, read_prepared.load_eval(task, split, lang), preds)
        logs = {}
        for name, result in results.items():
            best = next(r for r in result["log"] if r["best"])
            logs[name] = {"train_examples": result["train_examples"], "best_dev_score": best["dev_score"],
                          "best_step": best["step"], "log": result["log"]}
        (tmp / paths.TRAIN_LOG).write_text(json.dumps(
            {"arm": setup.arm, "target": task, "target_training": setup.target_training,
             "train_data": setup.target.train_from, "hparams": vars(setup.hparams),
             "runtime": setup.resolved_runtime.numerics(), "runs": logs}, indent=2) + "\n")
