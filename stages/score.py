"""Stage `score` and `xstilts score --predictions DIR --labels DIR`: the benchmark's official scores.

Both go through stages/xtreme_scorer.py (evaluate.py's rules), on the leaderboard layout the
pipeline writes: predictions in data/predictions/<arm>/<task>/<split>-<lang>.<suffix>, gold labels
(written by prepare) in data/labels/<task>/<split>-<lang>.<suffix>.

The stage writes three small git-tracked files (`cache: false`):
  reports/metrics.json  evaluate.py's output for this experiment's arm, on the `eval_split`:
                        all_task (only when every task of the benchmark ran), group scores, and per
                        task {metric: {lang: value}, avg_<metric>, avg_metric}; the same under
                        `baseline` (no intermediate training) and `gain` (arm - baseline); and
                        `variant`: the settings behind the numbers (model and its encoder parameters,
                        intermediate task, MLM, intermediate languages and size, target training).
  reports/scores.json   what was scored (per task: split, languages; tasks left out), the command
                        that reproduces each arm's numbers, and where the numbers came from.
  reports/metrics_by_split.json  both arms' evaluate.py output on every split, {split: {arm: ...}}:
                        what `xstilts grid` / `xstilts claim` collect from each experiment's commit
                        (claims select on dev and score on test; not a DVC metric, it would crowd
                        `dvc exp show`).
`xstilts score --predictions data/predictions/<arm> --labels data/labels --benchmark <b> --split
<s> --profile <p>` prints exactly the arm's block of metrics.json (test: tests/test_pipeline.py).
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, tasks, xtreme_scorer

PREDICTIONS = Path("data/predictions")
LABELS = Path("data/labels")
PRETRAIN_INFO = Path("models/pretrained/pretrain_info.json")  # the encoder: its name and parameter count
ARMS = ("baseline", "intermediate")
SPLITS = ("dev", "test")


def subtract(a: dict, b: dict) -> dict:
    """a - b on the keys both have (a task or group one arm lacks has no gain)."""
    out = {}
    for k, v in a.items():
        if k not in b:
            continue
        out[k] = subtract(v, b[k]) if isinstance(v, dict) else v - b[k]
    return out


def variant(params: config.Params) -> dict:
    """Which setting produced the numbers (strings: `dvc metrics diff` compares only numbers)."""
    info = PRETRAIN_INFO.exists() and json.loads(PRETRAIN_INFO.read_text())
    return {"profile": params.profile, "model": params.model,
            "encoder_parameters": str(info.get("parameters", "unknown") if info else "unknown"),
            "intermediate": params.intermediate,
            "intermediate_mlm": str(params.intermediate_mlm).lower(),
            "intermediate_languages": ",".join(params.intermediate_languages),
            "intermediate_size": str(params.intermediate_size or "all"),
            "target_training": params.target_training, "eval_split": params.eval_split}


def languages_of(params: config.Params) -> dict[str, tuple[str, ...]]:
    return {t: params.target_languages(t) for t in params.active_targets}


def command(params: config.Params, arm: str) -> str:
    cmd = (f"xstilts score --predictions {PREDICTIONS / arm} --labels {LABELS} --benchmark {params.benchmark} "
           f"--split {params.eval_split} --profile {params.profile}")
    return cmd + (f" --languages {','.join(params.languages)}" if params.languages else "")


def build(params: config.Params) -> tuple[dict, dict, dict]:
    by_split, info = {}, {}
    for split in SPLITS:
        by_split[split] = {}
        for arm in ARMS:
            by_split[split][arm], scored = xtreme_scorer.evaluate(PREDICTIONS / arm, LABELS, params.benchmark,
                                                                  split, languages_of(params))
            if split == params.eval_split:
                info[arm] = scored
    results = by_split[params.eval_split]
    ours, base = results["intermediate"], results["baseline"]
    summary = {**ours, "baseline": base, "gain": subtract(ours, base), "variant": variant(params)}
    scored = info["intermediate"]
    scores = {"profile": params.profile, "benchmark": params.benchmark, "intermediate": params.intermediate,
              "variant": variant(params), "seed": params.seed, "eval_split": params.eval_split, "targets": params.active_targets,
              "scored": scored["scored"], "missing_tasks": scored["missing_tasks"],
              "commands": {arm: command(params, arm) for arm in ARMS},
              "note": ("profile tiny: numbers from the embedded synthetic world, not the paper's data"
                       if params.profile == "tiny" else "profile paper")}
    return summary, scores, by_split


def overall_line(summary: dict, benchmark: str) -> str:
    if "all_task" in summary:
        return f"{benchmark} {summary['all_task']:.1f} ({summary['gain']['all_task']:+.1f})"
    return f"{benchmark}: no overall score (not every task of the benchmark ran)"


def main() -> None:
    params = config.load()
    summary, scores, by_split = build(params)
    data.atomic_write_text(Path("reports/metrics_by_split.json"), json.dumps(by_split, indent=1) + "\n")
    data.atomic_write_text(Path("reports/metrics.json"), json.dumps(summary, indent=2) + "\n")
    data.atomic_write_text(Path("reports/scores.json"), json.dumps(scores, indent=2) + "\n")
    line = ", ".join(f"{t} {summary[t]['avg_metric']:.1f} ({summary['gain'][t]['avg_metric']:+.1f})"
                     for t in scores["scored"])
    print(f"score ({params.intermediate} vs baseline, {params.eval_split}): {line}; "
          f"{overall_line(summary, params.benchmark)}")


def cli(predictions: Path, labels: Path, benchmark: str, split: str, profile: str,
        languages: list[str] | None) -> tuple[dict, dict]:
    """`xstilts score --predictions ... --labels ...`: evaluate.py's output for one folder."""
    if profile not in tasks.PROFILES:
        raise xtreme_scorer.ScoreError(f"unknown profile '{profile}'; valid: {', '.join(tasks.PROFILES)}")
    if benchmark not in tasks.BENCHMARKS:
        raise xtreme_scorer.ScoreError(f"unknown benchmark '{benchmark}'; valid: {', '.join(tasks.BENCHMARKS)}")
    per_task = None
    if profile != "paper" or languages:
        known = tasks.languages_of(profile)
        unknown = [l for l in languages or () if l not in known]
        if unknown:
            raise xtreme_scorer.ScoreError(f"unknown language(s) {', '.join(unknown)} for profile {profile}; "
                                           f"valid: {', '.join(known)}")
        per_task = {t: tasks.target_languages(t, profile, benchmark, languages) for t in tasks.BENCHMARK_TARGETS[benchmark]}
    return xtreme_scorer.evaluate(Path(predictions), Path(labels), benchmark, split, per_task)
