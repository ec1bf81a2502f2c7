"""GPU-hour estimate of planned profile-paper experiments (`xstilts grid --dry-run`, `preflight`).

A model with a per-token and a per-step cost, its assumptions printed with every estimate (ASSUMPTIONS):
- training tokens, for each task it trains (its intermediate task(s), then every trained target; the
  baseline arm's targets too when no run has that arm yet): English training examples x QA windows x
  choices (multiple choice scores each pair) x epochs x max_seq_length (every sequence padded to it),
  from params.yaml's paper hyperparameters and the real training-set sizes below;
- optimizer steps: examples x windows / batch size x epochs, each costing STEP_OVERHEAD_S on top
  (the optimizer's update, launches, data loading: what does not grow with tokens);
- evaluation: the early-stopping evaluations (early_stopping_examples every eval_every steps) and the
  final predictions on every language's dev and test sets (EVAL_EXAMPLES), forward passes only, at a
  third of a training token's cost (no backward pass, no optimizer);
- the per-token cost is the model's training throughput: the pipeline's own trainer measured on a GPU
  (benchmarks/gpu.csv, written by benchmarks/gpu_check.py) when present, else benchmarks/throughput.csv
  (a FLOP estimate at an assumed MFU, its row says which).
Left out: machine translation of translated variants, downloads, and the retrieval targets' embedding
passes (seconds). Full epochs are assumed (early stopping ends some runs sooner) while translation is
not counted, so the estimate is neither an upper nor a lower bound.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from xstilts.core import config, paths, tasks

THROUGHPUT_CSV = paths.THROUGHPUT_CSV


# English training examples per task in profile paper (../shared/reference/datasets.md, paper.md).
TRAIN_EXAMPLES = {
    "anli_plus": 1_104_934,   # ANLI r1-r3 + MNLI + SNLI (paper.md)
    "mnli": 392_702, "qqp": 363_846, "squad_v1": 87_599, "squad_v2": 130_319, "hellaswag": 39_905,
    "ccg": 39_604,            # CCGbank sections 02-21, the usual training split (ours, 00-18, is of that order)
    "cosmosqa": 25_262, "commonsenseqa": 9_741,
    "pawsx": 49_401, "copa": 400, "udpos": 21_253, "panx": 20_000,
    "tydiqa": 3_696,          # TyDiQA-GoldP, its English training questions
}


CHOICES = {"hellaswag": 4, "cosmosqa": 4, "commonsenseqa": 5, "copa": 2}


# QA windows per example at the paper's max_seq_length and doc_stride (a context longer than the window
# becomes several): assumed from the datasets' context lengths (SQuAD's ~140-word paragraphs mostly fit
# 384 tokens; TyDiQA-GoldP's passages are longer)
WINDOWS = {"squad_v1": 1.05, "squad_v2": 1.05, "tydiqa": 1.3}


# Evaluation examples per language, dev + test, of each target (../shared/reference/datasets.md)
EVAL_EXAMPLES = {"xnli": 7_500, "pawsx": 4_000, "xcopa": 600, "udpos": 3_000, "panx": 20_000, "xquad": 1_190,
                 "mlqa": 5_500, "tydiqa": 1_000}


STEP_OVERHEAD_S = 0.05     # per optimizer step, on top of the tokens (an H100 with XLM-R large: assumed)
EVAL_COST = 1 / 3          # a forward-only token's share of a training token's cost


ASSUMPTIONS = (f"per-step overhead {STEP_OVERHEAD_S} s; evaluation tokens at {EVAL_COST:.2f} of a training token; "
               f"QA windows per example {WINDOWS}; sequences at max_seq_length; full epochs; "
               f"translation and downloads not counted (neither an upper nor a lower bound)")


@dataclass
class Estimate:
    tokens: dict[str, float]      # phase -> training tokens
    tokens_per_s: float
    throughput_source: str
    steps: float = 0.0            # optimizer steps, each with STEP_OVERHEAD_S on top of its tokens
    eval_tokens: float = 0.0      # forward-only tokens (early-stopping evaluations, final predictions)

    @property
    def total_tokens(self) -> float:
        return sum(self.tokens.values())

    @property
    def gpu_hours(self) -> float:
        seconds = (self.total_tokens + EVAL_COST * self.eval_tokens) / self.tokens_per_s + self.steps * STEP_OVERHEAD_S
        return seconds / 3600


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def throughput(model: str, path: Path = THROUGHPUT_CSV, gpu_csv: Path | None = None) -> tuple[float, str]:
    """(training tokens per second, where that number comes from) for a paper-profile model: the
    pipeline's own trainer measured on a GPU (benchmarks/gpu_check.py: the mean over the targets'
    paper settings, bf16, one process) when that table has the model, else benchmarks/throughput.py's."""
    gpu_csv = paths.GPU_CSV if gpu_csv is None else gpu_csv
    if Path(gpu_csv).exists():
        own = [r for r in _rows(gpu_csv) if r["model"] == model and r["precision"] == "bf16" and r["processes"] == "1"]
        if own:
            mean = sum(float(r["train_tokens_per_s"]) for r in own) / len(own)
            return mean, f"measured: xstilts trainer, mean of {len(own)} targets at paper settings ({own[0]['device']})"
    with open(path, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#")) if r["model"] == model]
    if not rows:
        raise config.ParamsError(f"{path} has no throughput for model '{model}': run benchmarks/throughput.py "
                                 f"on a GPU, or add a row")
    measured = [r for r in rows if r["source"].startswith("measured")]
    row = (measured or rows)[0]
    return float(row["train_tokens_per_s"]), f"{row['source']} ({row['device']})"


def task_tokens(name: str, examples_from: str, task_params, cap: int | None = None) -> float:
    """Training tokens of one task: its examples (at most `cap`) x QA windows, choices, epochs, max_seq_length."""
    sequences = task_sequences(examples_from, task_params, cap)
    return sequences * CHOICES.get(examples_from, 1) * task_params.max_seq_length


def task_sequences(examples_from: str, task_params, cap: int | None = None) -> float:
    """Training sequences (QA windows) of one task over its epochs; / batch size = its optimizer steps."""
    n = TRAIN_EXAMPLES[examples_from]
    if cap is not None:
        n = min(n, cap)
    return n * WINDOWS.get(examples_from, 1.0) * task_params.epochs


def _evaluations(sequences: float, task_params, group) -> float:
    """Forward tokens of the early-stopping evaluations of one training run."""
    steps = sequences / task_params.batch_size
    return (steps // group.eval_every + 1) * group.early_stopping_examples * task_params.max_seq_length


def estimate(params: config.Params, with_baseline: bool) -> Estimate:
    """One experiment (its `params`, profile paper)."""
    inter_train = params.train_group("intermediate_train")
    tokens, steps, evals = {"intermediate": 0.0}, 0.0, 0.0
    members = params.intermediate_members
    # intermediate_size subsamples every task; multitask caps each at K examples (the sampler's)
    multitask_cap = inter_train.multitask_params().examples_cap if len(members) > 1 else None
    caps = [c for c in (params.intermediate_size, multitask_cap) if c is not None]
    for m in members:
        task_params, cap = inter_train.for_task(m), (min(caps) if caps else None)
        sequences = task_sequences(m, task_params, cap)
        tokens["intermediate"] += task_tokens(m, m, task_params, cap)
        steps += sequences / task_params.batch_size
        evals += _evaluations(sequences, task_params, inter_train)
    if params.intermediate_mlm:
        mlm = inter_train.mlm_params()
        tokens["intermediate"] += mlm.sentences * mlm.max_seq_length
        steps += mlm.sentences / mlm.batch_size
    target_train = params.train_group("target_train")
    target_tokens, target_steps, target_evals = 0.0, 0.0, 0.0
    for t in params.active_targets:
        target = tasks.TARGETS[t]
        if not target.trains:
            continue
        copies = 1  # translate-train: the training set once more per language it is translated into
        if params.target_training != "zero_shot":
            copies = max(1, len([l for l in params.target_languages(t) if l != "en"]))
        task_params = target_train.for_task(t)
        sequences = task_sequences(target.train_from, task_params)
        target_tokens += copies * task_tokens(t, target.train_from, task_params)
        target_steps += copies * sequences / task_params.batch_size
        target_evals += copies * _evaluations(sequences, task_params, target_train) + EVAL_EXAMPLES.get(t, 0) \
            * len(params.target_languages(t)) * CHOICES.get(target.train_from, 1) * task_params.max_seq_length
    tokens["targets"] = target_tokens
    arms = 2 if with_baseline else 1
    if with_baseline:
        tokens["baseline targets"] = target_tokens
    tokens_per_s, source = throughput(params.model)
    return Estimate(tokens, tokens_per_s, source, steps + arms * target_steps, evals + arms * target_evals)


def baseline_key(params: config.Params) -> tuple:
    """Experiments with the same key share one baseline arm (DVC's run-cache restores it)."""
    return (params.model, params.seed, params.benchmark, params.target_training, tuple(params.active_targets))


def estimate_all(experiments: list[config.Params], covered: set | None = None) -> list[Estimate]:
    """One estimate per experiment; the baseline arm counted once per baseline_key (`covered`: keys
    whose baseline already ran)."""
    covered = set(covered or ())
    out = []
    for params in experiments:
        key = baseline_key(params)
        out.append(estimate(params, with_baseline=key not in covered))
        covered.add(key)
    return out


# --- measured: what the stages of an experiment recorded ------------------------------------------
def measured(baseline: str, name: str, root: Path = paths.COSTS) -> dict | None:
    """What the stages of experiment `name` (on `baseline`) cost where they ran: the sum of the
    logs/costs/experiments/<baseline>/<name>/<stage>.json that xstilts.train.runtime.write_cost
    wrote. Stages DVC restored from its run-cache ran nothing and cost nothing here. None when no
    stage of it ran on this machine (or its logs did not come back from a job)."""
    import json
    folder = Path(root) / "experiments" / baseline / name
    logs = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not logs:
        return None
    rows = [json.loads(p.read_text()) for p in logs]
    devices = sorted({r["runtime"].get("device_name") or r["runtime"].get("device", "?") for r in rows})
    return {"device_hours": round(sum(r["device_seconds"] for r in rows) / 3600, 4),
            "hours": round(sum(r["seconds"] for r in rows) / 3600, 4),
            "tokens": sum(r.get("tokens", 0) for r in rows), "stages": len(rows), "devices": devices,
            "gpu": any(r["runtime"].get("device") == "cuda" for r in rows)}


def measured_hours(runs) -> tuple[float, int, int]:
    """(device-hours, runs measured, runs) over distinct runs (by commit)."""
    seen, total, n = set(), 0.0, 0
    for r in runs:
        if r.commit in seen:
            continue
        seen.add(r.commit)
        c = r.provenance.get("cost")
        if c:
            total += c["device_hours"]
            n += 1
    return total, n, len(seen)


def run_estimate(params_raw: dict) -> float | None:
    """The GPU-hour estimate of one run's params (both arms), or None where there is none (profile
    tiny, or a model benchmarks/throughput.csv does not list)."""
    if params_raw.get("profile") != "paper":
        return None
    try:
        return estimate(config.validate(params_raw), with_baseline=True).gpu_hours
    except (config.ParamsError, KeyError):
        return None


def hours_text(value: float | None, gpu: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"
