"""GPU-hour estimate of planned profile-paper experiments, for `xstilts grid --dry-run`.

Training tokens of one experiment = for each task it trains (its intermediate task(s), then every
trained target, for the baseline arm too when no run has that arm yet): English training examples
x choices (multiple choice scores each pair) x epochs x max_seq_length, from params.yaml's paper
hyperparameters. Hours = tokens / the model's training throughput (benchmarks/throughput.csv).

This is an upper bound on the schedule (every sequence padded to max_seq_length, no early stop)
and leaves out evaluation, machine translation of translated variants and model downloads. QA
contexts longer than max_seq_length become several windows; the estimate counts one per example.
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


@dataclass
class Estimate:
    tokens: dict[str, float]      # phase -> training tokens
    tokens_per_s: float
    throughput_source: str

    @property
    def total_tokens(self) -> float:
        return sum(self.tokens.values())

    @property
    def gpu_hours(self) -> float:
        return self.total_tokens / self.tokens_per_s / 3600


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


def task_tokens(name: str, examples_from: str, hp, cap: int | None = None) -> float:
    """Training tokens of one task: its examples (at most `cap`), choices, epochs, max_seq_length."""
    n = TRAIN_EXAMPLES[examples_from]
    if cap is not None:
        n = min(n, cap)
    return n * CHOICES.get(examples_from, 1) * hp.epochs * hp.max_seq_length


def estimate(params: config.Params, with_baseline: bool) -> Estimate:
    """One experiment (its `params`, profile paper)."""
    it = params.train_group("intermediate_train")
    tokens = {"intermediate": 0.0}
    members = params.intermediate_members
    # intermediate_size subsamples every task; multitask caps each at K examples (the sampler's)
    caps = [c for c in (params.intermediate_size, it.multitask_params().examples_cap if len(members) > 1 else None)
            if c is not None]
    for m in members:
        tokens["intermediate"] += task_tokens(m, m, it.for_task(m), min(caps) if caps else None)
    if params.intermediate_mlm:
        mp = it.mlm_params()
        tokens["intermediate"] += mp.sentences * mp.max_seq_length
    tt = params.train_group("target_train")
    target_tokens = 0.0
    for t in params.active_targets:
        target = tasks.TARGETS[t]
        if not target.trains:
            continue
        copies = 1  # translate-train: the training set once more per language it is translated into
        if params.target_training != "zero_shot":
            copies = max(1, len([l for l in params.target_languages(t) if l != "en"]))
        target_tokens += copies * task_tokens(t, target.train_from, tt.for_task(t))
    tokens["targets"] = target_tokens
    if with_baseline:
        tokens["baseline targets"] = target_tokens
    tps, source = throughput(params.model)
    return Estimate(tokens, tps, source)


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
