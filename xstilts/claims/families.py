"""Experiment families (families.yaml): one grid per research question, and the analysis that
turns the family's runs into a table, a figure and a one-sentence answer.

An experiment of a family is nothing but params (claims.yaml's defaults, the family's fixed
params, one value per axis, the seed), so any run with exactly those params counts, whoever ran
it: the paper grid's `mnli` run is also rq-size-gap's (tiny-xlmr, [en]) point. Every run carries
its own baseline arm (same model, same seed, no intermediate training), so gains are paired. Which
runs those are, and the plan of the missing ones: xstilts/experiments/matching.py and planning.py.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from xstilts.claims import languages
from xstilts.claims.claims import NON_ENGLISH, with_overrides
from xstilts.core import config, paths, tasks

FAMILIES_FILE = paths.FAMILIES_FILE


SPLIT = "dev"   # per-language scores (resource levels) are kept for dev; grid.json keeps only test averages


# analysis -> the axes it reads (a family may not have others: each axis must mean something in the answer)
ANALYSES = {"size_gap": ("model", "intermediate_languages"),
            "data_size_diversity": ("intermediate_size", "intermediate_languages"),
            "architectures": ("model", "intermediate"),
            "low_resource_scale": ("model",),
            "single_vs_multi": ("model", "intermediate")}


SUB_1B = 1000.0   # rq-single-vs-multi: models under 1B parameters
FIXED_PARAMS = {"model", "intermediate", "intermediate_mlm", "intermediate_languages", "intermediate_size",
                "target_training", "benchmark"}


class FamilyError(ValueError):
    pass


@dataclass(frozen=True)
class Experiment:
    family: str
    point: tuple          # ((axis, value), ...) in the family's axis order
    params: dict          # what it sets, profile- and seed-free

    @property
    def label(self) -> str:
        return "_".join(_label(v) for _, v in self.point)

    def value(self, axis: str):
        return dict(self.point)[axis]


def _label(value) -> str:
    if value is None:
        return "all"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class Family:
    id: str
    question: str
    analysis: str
    fixed: dict
    axes: dict

    def values(self, axis: str, profile: str) -> list:
        v = self.axes[axis]
        return list(v[profile]) if isinstance(v, dict) else list(v)

    def experiments(self, reg, profile: str) -> list[Experiment]:
        """Every combination of the axes' values (claims registry `reg`: defaults, non_english)."""
        names = list(self.axes)
        out = []
        for combo in itertools.product(*(self.values(a, profile) for a in names)):
            resolved = [list(reg.variant_languages[profile]) if v == NON_ENGLISH else v for v in combo]
            params = {**reg.defaults, **self.fixed, **dict(zip(names, resolved))}
            out.append(Experiment(self.id, tuple(zip(names, combo)), params))
        return out


def load(path: Path = FAMILIES_FILE) -> dict[str, Family]:
    raw = yaml.safe_load(Path(path).read_text())["families"]
    out = {}
    for fid, f in raw.items():
        if not config.NAME_RE.match(fid):
            raise FamilyError(f"family id '{fid}' must match {config.NAME_RE.pattern}")
        if f.get("analysis") not in ANALYSES:
            raise config.unknown(f"analysis of family '{fid}'", f.get("analysis"), list(ANALYSES))
        axes, fixed = dict(f.get("axes") or {}), dict(f.get("fixed") or {})
        for key in [*axes, *fixed]:
            if key not in FIXED_PARAMS:
                raise config.unknown(f"param of family '{fid}'", key, sorted(FIXED_PARAMS))
        if tuple(axes) != ANALYSES[f["analysis"]]:
            raise FamilyError(f"family '{fid}': analysis {f['analysis']} reads axes {list(ANALYSES[f['analysis']])}, "
                              f"in that order; the family has {list(axes)}")
        for axis, v in axes.items():
            if isinstance(v, dict) and set(v) != set(tasks.PROFILES):
                raise FamilyError(f"family '{fid}': axis {axis} gives values for {sorted(v)}, "
                                  f"need {list(tasks.PROFILES)}")
        out[fid] = Family(fid, f["question"], f["analysis"], fixed, axes)
    return out


def check(families: dict[str, Family], reg, raw: dict) -> None:
    """Every experiment of every family must be valid params in both profiles (caught here, not
    an hour into a queue)."""
    for fam in families.values():
        for profile in tasks.PROFILES:
            for exp in fam.experiments(reg, profile):
                try:
                    config.validate(with_overrides(raw, {"profile": profile, **exp.params}))
                except config.ParamsError as e:
                    raise FamilyError(f"family '{fam.id}', experiment {exp.label} ({profile}): {e}") from None


def overrides(exp: Experiment, profile: str, seed: int) -> dict:
    return {"profile": profile, **exp.params, "seed": seed}


# --- numbers of one run ----------------------------------------------------------------------------
def per_language(block: dict) -> dict[str, float]:
    """A task's headline metric per language, as its avg_metric averages it (QA: mean of EM and F1)."""
    if "exact_match" in block and "f1" in block:
        return {l: (block["exact_match"][l] + block["f1"][l]) / 2 for l in block["f1"]}
    for key, value in block.items():
        if isinstance(value, dict) and math.isclose(block.get(f"avg_{key}", math.nan), block["avg_metric"]):
            return dict(value)
    return {}


def run_numbers(run, benchmark: str, info: dict) -> dict:
    """{arm: {"avg": mean over the benchmark's scored targets, "levels": {level: mean over targets of
    the per-language scores grouped by resource level}}} on SPLIT."""
    out = {}
    for arm, result in run.by_split.get(SPLIT, {}).items():
        scored = [t for t in tasks.BENCHMARK_TARGETS[benchmark] if isinstance(result.get(t), dict)]
        if not scored:
            continue
        levels: dict[str, list[float]] = {}
        for t in scored:
            for level, v in languages.by_level(per_language(result[t]), info).items():
                levels.setdefault(level, []).append(v)
        out[arm] = {"avg": sum(result[t]["avg_metric"] for t in scored) / len(scored),
                    "levels": {k: sum(v) / len(v) for k, v in levels.items()}}
    return out
