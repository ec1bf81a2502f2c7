"""The gain's interval over evaluation examples: a paired percentile bootstrap (stage `score`).

A gain is the intermediate arm's score minus the baseline arm's on the same evaluation files. Its
interval asks how much of it the choice of examples could explain: each replicate draws, in every
scored language file independently, as many units as the file has, with replacement (a line, a
sentence, a question, a query, a source sentence: the kind's `Examples`, xstilts/kinds/base.py), the
*same* units for both arms, and recomputes each arm's metrics from the units drawn exactly as the
scorer computes them on a whole file (accuracy and EM/F1 as means over units, seqeval's and BUCC's F1
as micro F1 of the summed counts). Task averages, `avg_metric`, `all_task` and the groups are then
formed from the replicates as evaluate.py forms them from the scores, so every replicate of a gain is
a gain; the interval is the 2.5th and 97.5th percentiles of RESAMPLES replicates (numpy's linear
interpolation, as xstilts/claims/judge.py's `percentile`).

Replicates are drawn with numpy's PCG64, seeded by SEED and the file's split/task/language, so the
interval of one file never depends on which other files were scored; end points are rounded to
ROUND decimals (points on 0-100), so a rerun on another CPU writes the same bytes.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from xstilts.core import tasks
from xstilts.eval import layout
from xstilts.eval.headline import headline_keys

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0
ROUND = 6
BLOCK = 2_000_000  # units drawn per numpy block (memory: 4 + 8 bytes each)
SETTINGS = {"method": "paired percentile bootstrap over evaluation examples (units resampled per language "
                      "file, the same units for both arms)", "resamples": RESAMPLES, "confidence": CONFIDENCE,
            "seed": SEED}


def resampled_sums(stats: np.ndarray, key: str) -> np.ndarray:
    """(RESAMPLES, columns): the column sums of `stats` (one row per unit) over RESAMPLES draws of as
    many units as it has, with replacement; the draws seeded by `key`, in blocks of at most BLOCK units."""
    n = len(stats)
    if n == 0:
        return np.zeros((RESAMPLES, stats.shape[1]))
    rng = np.random.default_rng([SEED, zlib.crc32(key.encode())])
    rows = max(1, min(RESAMPLES, BLOCK // n))
    out = []
    for start in range(0, RESAMPLES, rows):
        idx = rng.integers(0, n, size=(min(rows, RESAMPLES - start), n), dtype=np.int64 if n >= 2**31 else np.int32)
        out.append(np.stack([column[idx].sum(axis=1) for column in stats.T], axis=1))
    return np.concatenate(out)


def metric_values(sums: np.ndarray, n: int, spec: tuple) -> np.ndarray:
    """One metric (0-100) per replicate from the replicates' column sums (Examples.metrics' rules)."""
    if spec[0] == "mean":
        return 100.0 * sums[:, spec[1]] / n if n else np.zeros(len(sums))
    if spec[0] == "f1":
        correct, denominator = 2.0 * sums[:, spec[1]], sums[:, spec[2]] + sums[:, spec[3]]
        return 100.0 * np.divide(correct, denominator, out=np.zeros(len(sums)), where=denominator > 0)
    raise ValueError(f"unknown example metric rule {spec!r}")


def paired(a, b, key: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Both arms' metrics on RESAMPLES replicates of one language file, the same units drawn for both.
    Units are matched by id; a unit only one arm's file names (a BUCC sentence only one arm extracted
    from) is a row of zeros in the other's."""
    ids = list(dict.fromkeys([*a.ids, *b.ids]))
    where = {u: i for i, u in enumerate(ids)}
    width = [1 + max(c for spec in ex.metrics.values() for c in spec[1:]) for ex in (a, b)]
    stats = np.zeros((len(ids), sum(width)))
    for offset, ex, columns in zip((0, width[0]), (a, b), width):
        if ex.rows:
            stats[[where[u] for u in ex.ids], offset:offset + columns] = np.asarray(ex.rows, dtype=np.float64)
    sums, n = resampled_sums(stats, key), len(ids)
    return ({m: metric_values(sums[:, :width[0]], n, spec) for m, spec in a.metrics.items()},
            {m: metric_values(sums[:, width[0]:], n, spec) for m, spec in b.metrics.items()})


def task_replicates(task: str, split: str, languages, roots: tuple[Path, Path], labels: Path
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """Both arms' task averages (avg_<metric>, avg_metric) on the replicates; None where the kind has
    no examples to resample."""
    kind = layout.kind(task)
    sums: tuple[dict, dict] = ({}, {})
    for lang in languages:
        label = layout.path(labels, task, split, lang)
        found = [kind.examples(tasks.TARGETS[task], layout.path(root, task, split, lang), label, lang)
                 for root in roots]
        if found[0] is None or found[1] is None:
            return None
        for arm, values in zip(sums, paired(*found, f"{split}/{task}/{lang}")):
            for m, v in values.items():
                arm[f"avg_{m}"] = arm.get(f"avg_{m}", 0.0) + v / len(languages)
    return tuple({**s, "avg_metric": kind.avg_metric(s)} for s in sums)


def interval(replicates: np.ndarray) -> dict[str, float]:
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])
    return {"low": round(float(low), ROUND), "high": round(float(high), ROUND)}


def gain_intervals(roots: tuple[Path, Path], labels: Path, benchmark: str, scored: dict,
                   overall: tuple[dict, dict]) -> dict:
    """The intervals of the gain (roots[0]'s arm minus roots[1]'s) on one split: {"all_task": {low,
    high}, <group>: {low, high}, <task>: {<headline key>: {low, high}}}, for the tasks both arms
    scored (`scored`: task -> {split, languages}, xstilts/eval/scorer.py) and the overall numbers both
    results hold (`overall`: the two arms' evaluate.py outputs)."""
    gains, out = {}, {}
    for task, what in scored.items():
        if not all(task in result for result in overall):
            continue
        reps = task_replicates(task, what["split"], what["languages"], roots, labels)
        if reps is None:
            continue
        gains[task] = {k: reps[0][k] - reps[1][k] for k in headline_keys(overall[0][task])}
    groups = {"all_task": list(tasks.BENCHMARK_TARGETS[benchmark]), **tasks.BENCHMARK_GROUPS[benchmark]}
    for name, members in groups.items():
        if all(name in result for result in overall) and all(t in gains for t in members):
            out[name] = interval(sum(gains[t]["avg_metric"] for t in members) / len(members))
    for task, by_key in gains.items():
        out[task] = {k: interval(v) for k, v in by_key.items()}
    return out
