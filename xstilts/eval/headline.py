"""The score stage's two metrics files, and one view of both.

reports/metrics.json holds the headline numbers, what `dvc exp show` shows: all_task, the groups, each
task's avg_metric (QA: also EM and F1) for the arm, `baseline` and `gain`, the gains' `gain_interval`
over evaluation examples and the `variant`. reports/metrics_by_language.json holds the rest of
evaluate.py's output, in the same nesting: per-language scores, the other task averages, and their
gains. `read_metrics` merges them back into the one tree metrics.json held before the split (an older
metrics.json, which holds everything itself, reads as it is). No scoring code here: the report stage
reads its numbers through this module only."""
from __future__ import annotations

import json
from pathlib import Path

from xstilts.core import paths

INTERVAL = "gain_interval"   # metrics.json's and metrics_by_split.json's key of the gains' intervals


def headline_keys(block: dict) -> tuple[str, ...]:
    """A task's headline numbers: avg_metric, and for QA also EM and F1 (v1's Table 2 columns)."""
    return ("avg_exact_match", "avg_f1", "avg_metric") if "exact_match" in block else ("avg_metric",)


def subtract(a: dict, b: dict) -> dict:
    """a - b on the keys both have (a task or group one arm lacks has no gain)."""
    out = {}
    for k, v in a.items():
        if k not in b:
            continue
        out[k] = subtract(v, b[k]) if isinstance(v, dict) else v - b[k]
    return out


def split_result(result: dict) -> tuple[dict, dict]:
    """One arm's (or the gain's) evaluate.py tree -> (headline part, per-language detail part): the
    overall numbers stay whole, a task's block keeps its headline averages (headline_keys)."""
    head, detail = {}, {}
    for key, value in result.items():
        if not isinstance(value, dict):
            head[key] = value
            continue
        keep = headline_keys(value)
        head[key] = {k: v for k, v in value.items() if k in keep}
        rest = {k: v for k, v in value.items() if k not in keep}
        if rest:
            detail[key] = rest
    return head, detail


def split_summary(ours: dict, base: dict) -> tuple[dict, dict]:
    """(metrics.json's numbers, metrics_by_language.json) from both arms' evaluate.py outputs."""
    gain = subtract(ours, base)
    (head, detail), (bhead, bdetail), (ghead, gdetail) = (split_result(r) for r in (ours, base, gain))
    return {**head, "baseline": bhead, "gain": ghead}, {**detail, "baseline": bdetail, "gain": gdetail}


def merge(head: dict, detail: dict) -> dict:
    """metrics.json's tree with metrics_by_language.json's entries put back in their blocks."""
    out = dict(head)
    for key, value in detail.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def read_metrics(reports: Path = paths.REPORTS) -> dict:
    """Every number of this workspace's experiment in one tree: reports/metrics.json merged with
    reports/metrics_by_language.json (evaluate.py's whole output per arm, `baseline`, `gain`,
    `gain_interval`, `variant`). An older metrics.json, written before the split, holds all of it
    itself: read as it is."""
    head = json.loads((Path(reports) / paths.METRICS.name).read_text())
    detail_path = Path(reports) / paths.METRICS_BY_LANGUAGE.name
    return merge(head, json.loads(detail_path.read_text())) if detail_path.exists() else head
