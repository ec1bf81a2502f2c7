"""The training curves `dvc plots show` draws (dvc.yaml, top-level `plots`). No torch: a stage that
trains nothing writes the headers only."""
from __future__ import annotations

from xstilts.core import io, paths


def write_curves(name: str, runs: dict[str, tuple[list[dict], list[dict]]]) -> None:
    """The training curves `dvc plots show` draws (dvc.yaml, top-level `plots`), small CSVs (cached DVC outs):
    reports/curves/loss/<name>.csv (step, loss: mean training loss of every log_every steps) and
    reports/curves/dev/<name>.csv (step, dev_score: the early-stopping score at every evaluation),
    with a `run` column (the intermediate task; for fine-tuning the language of a translate-train
    model, `en` for zero-shot, `all` for translate-train-all). A stage
    that trains nothing (the baseline's intermediate phase, a skipped target) writes the headers only."""
    for kind, column in (("loss", "loss"), ("dev", "dev_score")):
        lines = [f"run,step,{column}"]
        for run, (curve, log) in runs.items():
            lines += [f"{run},{r['step']},{r[column]:.6f}" for r in (curve if kind == "loss" else log)]
        io.atomic_write_text(paths.curve(kind, name), "\n".join(lines) + "\n")
