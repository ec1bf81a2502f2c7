"""What the score stage writes (stages/score.py): both arms' scores, the gain and its interval over
evaluation examples (xstilts/eval/intervals.py), the settings behind the numbers, and the command that
reproduces each arm's block; the numbers split between reports/metrics.json (the headline) and
reports/metrics_by_language.json (the rest) as xstilts/eval/headline.py splits them."""
from __future__ import annotations

import json
import sys

from xstilts.core import config, io, paths
from xstilts.eval import intervals, scorer
from xstilts.eval.headline import INTERVAL, split_summary


def weights(info) -> str:
    if not info:
        return "unknown"
    if info.get("kind") == "hub":
        return f"hub {info.get('model')}@{(info.get('commit') or info.get('revision') or '?')[:12]}" + \
            ("" if info.get("matches_registry", True) else " (not the registry's model)")
    if info.get("kind") == "local":
        return f"local copy of {info.get('model')}" + \
            (", the registry's model" if info.get("matches_registry") else ", not the registry's model")
    return f"{info.get('kind', 'unknown')} ({info.get('arch', '?')})"


def variant(params: config.Params) -> dict:
    """Which setting produced the numbers (strings: `dvc metrics diff` compares only numbers)."""
    info = paths.PRETRAIN_INFO.exists() and json.loads(paths.PRETRAIN_INFO.read_text())
    return {"profile": params.profile, "model": params.model,
            "encoder_parameters": str(info.get("parameters", "unknown") if info else "unknown"),
            # which weights: a Hub commit, a local copy (and whether it is the registry's model), or tiny's own
            "weights": weights(info),
            "intermediate": params.intermediate,
            "intermediate_mlm": str(params.intermediate_mlm).lower(),
            "intermediate_languages": ",".join(params.intermediate_languages),
            "intermediate_size": str(params.intermediate_size or "all"),
            "target_training": params.target_training, "eval_split": params.eval_split}


def languages_of(params: config.Params) -> dict[str, tuple[str, ...]]:
    return {t: params.target_languages(t) for t in params.active_targets}


def command(params: config.Params, arm: str) -> str:
    cmd = (f"xstilts score --predictions {paths.PREDICTIONS / arm} --labels {paths.LABELS} "
           f"--benchmark {params.benchmark} --split {params.eval_split} --profile {params.profile}")
    return cmd + (f" --languages {','.join(params.languages)}" if params.languages else "")


def build(params: config.Params) -> tuple[dict, dict, dict, dict]:
    """(metrics.json, metrics_by_language.json, scores.json, metrics_by_split.json)."""
    by_split, info, notes, gain_interval = {}, {}, [], {**intervals.SETTINGS}
    for split in ("dev", "test"):
        by_split[split] = {}
        for arm in paths.ARMS:
            by_split[split][arm], scored = scorer.evaluate(paths.PREDICTIONS / arm, paths.LABELS, params.benchmark,
                                                           split, languages_of(params), params.active_targets)
            notes += scored["notes"]  # every arm and split: each note names its predictions file
            info.setdefault(split, {})[arm] = scored
        gain_interval[split] = intervals.gain_intervals(
            (paths.PREDICTIONS / "intermediate", paths.PREDICTIONS / "baseline"), paths.LABELS, params.benchmark,
            info[split]["intermediate"]["scored"], (by_split[split]["intermediate"], by_split[split]["baseline"]))
    results = by_split[params.eval_split]
    head, detail = split_summary(results["intermediate"], results["baseline"])
    summary = {**head, INTERVAL: gain_interval[params.eval_split], "variant": variant(params)}
    scored = info[params.eval_split]["intermediate"]
    scores = {"profile": params.profile, "benchmark": params.benchmark, "intermediate": params.intermediate,
              "variant": variant(params), "seed": params.seed, "eval_split": params.eval_split,
              "targets": params.active_targets, "scored": scored["scored"], "missing_tasks": scored["missing_tasks"],
              "commands": {arm: command(params, arm) for arm in paths.ARMS},
              INTERVAL: intervals.SETTINGS,
              "note": ("profile tiny: numbers from the embedded synthetic world, not the paper's data"
                       if params.profile == "tiny" else "profile paper"),
              # unanswered questions and the like: scored (0), but the numbers should not be read without them
              "notes": notes}
    return summary, detail, scores, {**by_split, INTERVAL: gain_interval}


def overall_line(summary: dict, benchmark: str) -> str:
    if "all_task" in summary:
        ci = summary.get(INTERVAL, {}).get("all_task")
        within = f", {intervals.CONFIDENCE:.0%} [{ci['low']:+.1f}, {ci['high']:+.1f}]" if ci else ""
        return f"{benchmark} {summary['all_task']:.1f} ({summary['gain']['all_task']:+.1f}{within})"
    return f"{benchmark}: no overall score (not every task of the benchmark ran)"


def write_scores(params) -> None:
    """Stage `score`: both arms scored; reports/metrics.json, metrics_by_language.json, scores.json and
    metrics_by_split.json."""
    try:
        summary, detail, scores, by_split = build(params)
    except BaseException:
        # DVC removed this stage's outputs before running it, the git-tracked metrics among them: say so
        gone = [str(p) for p in (paths.METRICS, paths.METRICS_BY_LANGUAGE, paths.SCORES, paths.BY_SPLIT)
                if not p.exists()]
        if gone:
            print(f"note: scoring failed, and DVC removed {', '.join(gone)} before it ran; `git checkout -- "
                  f"{' '.join(gone)}` brings back the committed ones (docs/failures.md)", file=sys.stderr)
        raise
    io.atomic_write_text(paths.BY_SPLIT, json.dumps(by_split, indent=1) + "\n")
    io.atomic_write_text(paths.METRICS, json.dumps(summary, indent=2) + "\n")
    io.atomic_write_text(paths.METRICS_BY_LANGUAGE, json.dumps(detail, indent=1) + "\n")
    io.atomic_write_text(paths.SCORES, json.dumps(scores, indent=2) + "\n")
    line = ", ".join(f"{t} {summary[t]['avg_metric']:.1f} ({summary['gain'][t]['avg_metric']:+.1f})"
                     for t in scores["scored"])
    for note in scores["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(f"score ({params.intermediate} vs baseline, {params.eval_split}): {line}; "
          f"{overall_line(summary, params.benchmark)}")
