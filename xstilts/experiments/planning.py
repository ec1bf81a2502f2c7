"""The experiments a grid still needs: one per setting (or family experiment) and seed, named for
DVC, and the waves they run in."""
from __future__ import annotations

from dataclasses import dataclass

from xstilts.claims import families
from xstilts.claims.claims import BASELINE, with_overrides
from xstilts.core import config
from xstilts.experiments import cost, gitrefs
from xstilts.experiments.results import Run


@dataclass
class Planned:
    setting: str
    seed: int
    overrides: dict
    name: str = ""
    run: Run | None = None       # the run that already is this experiment

    @property
    def done(self) -> bool:
        return self.run is not None


def plan(reg, settings: list[str], raw: dict, profile: str, seeds: list[int], found: dict) -> list[Planned]:
    """One entry per setting and seed; the baseline setting only where no other experiment at that seed
    will carry the baseline arm."""
    out = []
    for seed in seeds:
        for setting in settings:
            if setting == BASELINE:
                continue
            out.append(Planned(setting, seed, reg.overrides(setting, profile, seed),
                               run=found.get(setting, {}).get(seed)))
        if BASELINE in settings and seed not in found.get(BASELINE, {}) and not any(
                p.seed == seed for p in out):
            out.append(Planned(BASELINE, seed, reg.overrides(BASELINE, profile, seed)))
    return name_planned(out, profile)


def plan_family(fam: families.Family, reg, raw: dict, profile: str, seeds: list[int], found: dict) -> list[Planned]:
    """One entry per experiment of the family and seed (`found`: xstilts/experiments/matching.py's match_family)."""
    return name_planned([Planned(f"{fam.id}:{exp.label}", seed, families.overrides(exp, profile, seed),
                                 run=found.get(exp.label, {}).get(seed))
                         for seed in seeds for exp in fam.experiments(reg, profile)], profile)


def name_planned(planned: list[Planned], profile: str) -> list[Planned]:
    """A done experiment keeps its run's name; a new one is `<setting>-s<seed>` (+ `-paper`), made
    unique against every experiment ref (a family's setting `family:values` becomes `family_values`)."""
    taken = set(gitrefs.experiment_names())
    for p in planned:
        if p.done:
            p.name = p.run.name
            continue
        base = f"{p.setting.replace(':', '_')}-s{p.seed}" + ("" if profile == "tiny" else f"-{profile}")
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        p.name = name
        taken.add(name)
    return planned


def waves(todo: list[Planned], raw: dict) -> list[list[Planned]]:
    """The experiments to run in waves, so that what they share is computed once, never by N at once:
    first one experiment alone (the prepared data, its model and seed's baseline arm), then the first
    experiment of every other baseline (xstilts/experiments/cost.py's baseline_key: model, seed,
    benchmark, target training, targets), then the rest. Each wave starts when the one before has
    ended, and DVC's run-cache (local, or the shared remote's) restores what it computed."""
    key = {id(e): cost.baseline_key(config.validate(with_overrides(raw, e.overrides))) for e in todo}
    first, leaders, rest, seen = todo[:1], [], [], {key[id(e)] for e in todo[:1]}
    for e in todo[1:]:
        if key[id(e)] in seen:
            rest.append(e)
        else:
            seen.add(key[id(e)])
            leaders.append(e)
    return [w for w in (first, leaders, rest) if w]
