"""Which runs are which experiments: a claims setting or a family's experiment at a seed, and the
evidence the claims read from them.

A setting (claims.yaml) at a seed is the set of params an experiment sets (`overrides`); a run
*is* that experiment when its params.yaml equals this repository's params.yaml with the overrides
applied (`eval_split` aside: the runs carry both splits). The baseline setting needs no run of its
own: every run carries the baseline arm at its seed.
"""
from __future__ import annotations

import math

from xstilts.claims import families
from xstilts.claims.claims import BASELINE, SETTING_PARAMS, with_overrides
from xstilts.claims.judge import Evidence, ExampleIntervals, flatten
from xstilts.experiments.results import Run

IGNORED_PARAMS = {"eval_split", "seeds"}   # both splits are in every run; `seeds` is the grid's, not a run's


def comparable(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in IGNORED_PARAMS}


def matches(run: Run, raw: dict, overrides: dict) -> bool:
    """Is this run the experiment `raw + overrides`?"""
    return comparable(run.params) == comparable(with_overrides(raw, overrides))


def matches_baseline(run: Run, raw: dict, overrides: dict, setting_keys) -> bool:
    """Does this run carry the baseline arm of `raw + overrides`? (The params in `setting_keys` don't
    touch the baseline arm, so any run equal in all other params has it.)"""
    def strip(params):
        return {k: v for k, v in comparable(params).items() if k not in setting_keys}
    return strip(run.params) == strip(with_overrides(raw, overrides))


SOURCE_RANK = {"HEAD": 0, "branch": 1, "experiment": 2, "grid.json": 3}


def preference(run: Run) -> tuple:
    """Which run wins when several current runs are the same setting at the same seed (same params, same
    code: their numbers agree, up to machine-dependent float arithmetic): what is checked out first, then
    branches, then experiment refs, then runs only grid.json keeps (their outputs may be nowhere here);
    ties by name, then commit. Never the order git lists refs in: an experiment ref sits under its
    baseline commit's sha, which depends on commit timestamps, so that order differs between machines."""
    return SOURCE_RANK.get(run.source, len(SOURCE_RANK)), run.name, run.commit


def match(reg, runs: list[Run], raw: dict, profile: str, prefer: list[str] | None = None
          ) -> tuple[dict[str, dict[int, Run]], list[str]]:
    """{setting: {seed: run}} for every registered setting a current run is, and notes on runs whose
    baseline arms disagree (they should not: same params, same seed, same code).

    Several runs can be one setting: `preference` picks. Every run carries the baseline arm, so the
    baseline setting at a seed comes from the run already chosen for one of the `prefer` settings at
    that seed (the settings the caller judges, in their order; a claim's own experiment then serves its
    baseline too, and nothing else needs pushing or restoring), else by `preference`."""
    runs = sorted(runs, key=preference)
    found: dict[str, dict[int, Run]] = {}
    for name in reg.settings:
        if name == BASELINE:
            continue
        for run in runs:
            if run.params.get("profile") == profile and matches(run, raw, reg.overrides(name, profile, run.seed)):
                found.setdefault(name, {}).setdefault(run.seed, run)
    # target_training changes the baseline arm too; the intermediate params do not
    carriers = [run for run in runs if run.params.get("profile") == profile and matches_baseline(
        run, raw, reg.overrides(BASELINE, profile, run.seed), SETTING_PARAMS - {"target_training"})]
    chosen = [found[setting][seed] for setting in (prefer or []) if setting != BASELINE and setting in found
              for seed in sorted(found[setting])]
    for run in [r for r in chosen if any(r is c for c in carriers)] + carriers:
        found.setdefault(BASELINE, {}).setdefault(run.seed, run)
    notes = []
    for run in carriers:
        first = found[BASELINE][run.seed]
        if first is not run:
            diff = max_difference(first.by_split, run.by_split, "baseline")
            if diff > 1e-9:
                notes.append(f"baseline arm at seed {run.seed}: {run.name} differs from {first.name} "
                             f"by up to {diff:.3g}")
    return found, notes


def match_family(fam: families.Family, reg, runs: list, raw: dict, profile: str) -> dict[str, dict[int, object]]:
    """{experiment label: {seed: run}} over the runs that are experiments of the family."""
    found: dict[str, dict[int, object]] = {}
    for exp in fam.experiments(reg, profile):
        for run in sorted(runs, key=preference):  # several runs of one experiment: preference
            if run.params.get("profile") == profile and matches(run, raw, families.overrides(exp, profile, run.seed)):
                found.setdefault(exp.label, {}).setdefault(run.seed, run)
    return found


def max_difference(a: dict, b: dict, arm: str) -> float:
    worst = 0.0
    for split in a:
        flat_a, flat_b = flatten(a[split][arm], split), flatten(b.get(split, {}).get(arm, {}), split)
        for k in set(flat_a) | set(flat_b):
            worst = max(worst, abs(flat_a.get(k, math.inf) - flat_b.get(k, -math.inf)))
    return worst


def evidence(found: dict[str, dict[int, Run]]) -> Evidence:
    """The numbers of every setting at every seed, their provenance, and for each setting's own
    experiment (not the baseline) the intervals of its run's gains over evaluation examples."""
    numbers, provenance, intervals = {}, {}, {}
    for name, by_seed in found.items():
        arm = "baseline" if name == BASELINE else "intermediate"
        for seed, run in by_seed.items():
            flat = {}
            for split, arms in run.by_split.items():
                flat.update(flatten(arms[arm], split))
            numbers.setdefault(name, {})[seed] = flat
            provenance.setdefault(name, {})[seed] = {"arm": arm, **run.provenance}
            if arm == "intermediate" and run.gain_interval:
                intervals.setdefault(name, {})[seed] = ExampleIntervals.of(
                    run.gain_interval, run.params.get("benchmark", "xtreme"))
    return Evidence(numbers, provenance, intervals)


def grid_runs(found: dict[str, dict[int, Run]]) -> list[Run]:
    """The runs behind `found`, once each, in a stable order (for reports/grid.json)."""
    out, seen = [], set()
    for name in sorted(found):
        for seed in sorted(found[name]):
            run = found[name][seed]
            if run.commit not in seen:
                seen.add(run.commit)
                out.append(run)
    return out
