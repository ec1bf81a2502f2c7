"""Judging claims (xstilts/claims/claims.py) on collected runs.

Judging (`judge`): the numbers come from runs (xstilts/experiments/results.py), one per setting and
seed. A rule reads a `View`: a setting's score on a split, target and metric (the intermediate arm,
or for the setting `baseline` the baseline arm), averaged over a multiset of seeds. The claimed
quantity is the rule on all seeds; its spread is the standard deviation of the rule over single
seeds.

Its interval, which a verdict needs whole on one side (number_verdict, statement_verdict):
  * several seeds: the percentile bootstrap over seeds (the same resampled seeds for every setting,
    so gains stay paired with their baseline). For a gain claim (`gain`, `gain_avg`) whose runs all
    carry the score stage's intervals over evaluation examples, each replicate then also resamples
    the examples: every drawn seed's gain moves by a draw from a normal distribution as wide as that
    run's example interval (a two-level bootstrap, seeds then examples; the example level by its
    normal approximation, the runs keeping intervals, not replicates);
  * one seed: for such a gain claim, the run's own paired bootstrap interval over evaluation examples
    (stage score: xstilts/eval/intervals.py; `gain_avg` over all of a benchmark's targets, or over a
    group's, is all_task's or the group's interval); otherwise none, and the verdict reads the point.
`Judgement.interval_over` says which ("seeds", "examples", "seeds and examples").
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

from xstilts.claims.claims import BASELINE, NOT_RUN, Claim, ClaimsError
from xstilts.core import tasks

# --- the numbers a claim reads ------------------------------------------------------------------
METRIC_KEYS = ("avg_metric", "avg_f1", "avg_exact_match")


def flatten(result: dict, split: str) -> dict[tuple, float]:
    """evaluate.py's output -> {(split, task, key): value} for the task averages claims read."""
    out = {}
    for task, block in result.items():
        if isinstance(block, dict):
            for key in METRIC_KEYS:
                if key in block:
                    out[(split, task, key)] = float(block[key])
    return out


class View:
    """Read access to settings' numbers (already averaged over the chosen seeds)."""

    def __init__(self, numbers: dict[str, dict[tuple, float]]):
        self.numbers = numbers

    def score(self, setting: str, split: str, target: str, metric: str = "avg_metric") -> float:
        try:
            return self.numbers[setting][(split, target, metric)]
        except KeyError:
            raise MissingNumber(f"setting '{setting}' has no {split} {metric} for '{target}'") from None

    def gain(self, setting: str, split: str, target: str, metric: str = "avg_metric") -> float:
        return self.score(setting, split, target, metric) - self.score(BASELINE, split, target, metric)

    def gain_avg(self, setting: str, split: str, targets) -> float:
        return sum(self.gain(setting, split, t) for t in targets) / len(targets)


class MissingNumber(KeyError):
    pass


EXAMPLE_RULES = ("gain", "gain_avg")   # rules whose number is one run's gain, so its example interval applies


@dataclass
class ExampleIntervals:
    """One run's intervals of its gains over evaluation examples (metrics_by_split.json's
    `gain_interval`): {(split, task, key): (low, high)} for the task averages, and for all_task and the
    groups {(split, frozenset(targets they average), "avg_metric"): (low, high)}."""
    values: dict
    confidence: float

    @classmethod
    def of(cls, doc: dict, benchmark: str) -> ExampleIntervals:
        averaged = {"all_task": tasks.BENCHMARK_TARGETS[benchmark], **tasks.BENCHMARK_GROUPS[benchmark]}
        values = {}
        for split, entries in doc.items():
            if not isinstance(entries, dict):
                continue  # the bootstrap's settings beside the splits
            for name, entry in entries.items():
                if "low" in entry:
                    if name in averaged:
                        values[(split, frozenset(averaged[name]), "avg_metric")] = (entry["low"], entry["high"])
                else:
                    values.update({(split, name, key): (v["low"], v["high"]) for key, v in entry.items()})
        return cls(values, float(doc.get("confidence", 0.95)))

    def of_rule(self, rule: dict) -> tuple[float, float] | None:
        """The interval of a `gain` or `gain_avg` rule's number in this run, or None."""
        split = rule.get("split", "dev")
        if rule["kind"] == "gain":
            return self.values.get((split, rule["target"], rule.get("metric", "avg_metric")))
        if rule["kind"] == "gain_avg":
            if len(rule["targets"]) == 1:
                return self.values.get((split, rule["targets"][0], "avg_metric"))
            return self.values.get((split, frozenset(rule["targets"]), "avg_metric"))
        return None

    def sd(self, rule: dict) -> float | None:
        """The rule's standard error over examples, read off its interval as a normal one."""
        found = self.of_rule(rule)
        if found is None:
            return None
        return (found[1] - found[0]) / (2 * statistics.NormalDist().inv_cdf(1 - (1 - self.confidence) / 2))


@dataclass
class Outcome:
    """What a rule says on one View: the number to set beside the paper's, and for statements the
    statistic that decides them (`holds` when stat >= threshold, or > threshold when strict)."""
    value: float
    stat: float | None = None
    threshold: float | None = None
    strict: bool = False
    detail: dict = field(default_factory=dict)

    def holds(self, stat: float | None = None) -> bool | None:
        if self.threshold is None:
            return None
        s = self.stat if stat is None else stat
        return s > self.threshold if self.strict else s >= self.threshold


def apply_rule(r: dict, view: View) -> Outcome:
    kind, split = r["kind"], r.get("split", "dev")
    metric = r.get("metric", "avg_metric")
    if kind == "gain":
        return Outcome(view.gain(r["setting"], split, r["target"], metric))
    if kind == "score":
        return Outcome(view.score(r["setting"], split, r["target"], metric))
    if kind == "gain_avg":
        return Outcome(view.gain_avg(r["setting"], split, r["targets"]))
    if kind == "score_avg":
        return Outcome(sum(view.score(r["setting"], split, t) for t in r["targets"]) / len(r["targets"]))
    if kind == "best_setting":
        gains = {s: view.gain_avg(s, split, r["targets"]) for s in r["among"]}
        mine = gains[r["setting"]]
        runner_up = max((g, s) for s, g in gains.items() if s != r["setting"])
        return Outcome(mine, mine - runner_up[0], 0.0, strict=True,
                       detail={"gains": gains, "runner_up": runner_up[1]})
    if kind in ("gain_at_least", "no_gain"):
        hits = []
        for s in r["among"]:
            gains = [view.gain(s, split, t) for t in r["targets"]]
            if (min(gains) >= r["threshold"]) if kind == "gain_at_least" else (max(gains) <= r["threshold"]):
                hits.append(s)
        return Outcome(len(hits), len(hits), r["min_count"], detail={"settings": hits, "of": len(r["among"])})
    if kind == "beats_variant":
        margins = {s: view.gain_avg(s, split, r["targets"]) - view.gain_avg(v, split, r["targets"])
                   for s, v in r["pairs"].items()}
        wins = [s for s, m in margins.items() if m > 0]
        return Outcome(len(wins), len(wins), r["min_count"], detail={"settings": wins, "of": len(margins),
                                                                      "margins": margins})
    if kind == "best_per_target":
        select, targets = r.get("select_split", "dev"), r.get("targets") or [r["target"]]
        picked, values = {}, []
        for t in targets:
            best = max(r["among"], key=lambda s: (view.score(s, select, t), s))
            picked[t] = best
            m = metric if "target" in r else "avg_metric"
            v = view.score(best, split, t, m)
            values.append(v - view.score(BASELINE, split, t, m) if r.get("relative") else v)
        return Outcome(sum(values) / len(values), detail={"picked": picked})
    raise ClaimsError(f"rule kind '{kind}' has no implementation")


# --- judging -----------------------------------------------------------------------------------
@dataclass
class Judgement:
    claim: Claim
    verdict: str
    value: float | None = None       # on all seeds
    std: float | None = None         # over single seeds (None with one seed)
    interval: tuple[float, float] | None = None   # bootstrap interval of the value (None: the point decides)
    stat_interval: tuple[float, float] | None = None
    seeds: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()    # settings@seed without a run
    detail: dict = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)
    interval_over: str = ""          # what `interval` resamples: seeds | examples | seeds and examples

    @property
    def delta(self) -> float | None:
        if self.value is None or self.claim.is_statement:
            return None
        return self.value - self.claim.paper_value


def number_verdict(paper: float, tolerance: float, low: float, high: float, relative: bool) -> str:
    """`reproduced`: [low, high] (the value, or its interval) lies within paper ± tolerance;
    `inconclusive`: it straddles that band's edge; otherwise `same sign` when the claim is a gain and
    the whole interval is on the paper's side of zero, else `not reproduced`."""
    band = (paper - tolerance, paper + tolerance)
    if band[0] <= low and high <= band[1]:
        return "reproduced"
    if low <= band[1] and high >= band[0]:
        return "inconclusive"
    if relative and ((paper > 0 and low > 0) or (paper < 0 and high < 0)):
        return "same sign"
    return "not reproduced"


def statement_verdict(outcome: Outcome, low: float, high: float) -> str:
    lo, hi = outcome.holds(low), outcome.holds(high)
    if lo and hi:
        return "supported"
    if not lo and not hi:
        return "not supported"
    return "inconclusive"


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of an ascending list."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


class Evidence:
    """The numbers of every setting at every seed: {setting: {seed: {(split, task, key): value}}},
    with the provenance of each (setting, seed), and where its run has them the intervals of the
    setting's gains over evaluation examples: {setting: {seed: ExampleIntervals}}."""

    def __init__(self, numbers: dict[str, dict[int, dict]], provenance: dict[str, dict[int, dict]],
                 intervals: dict[str, dict[int, ExampleIntervals]] | None = None):
        self.numbers, self.provenance, self.intervals = numbers, provenance, intervals or {}

    def example_sd(self, claim: Claim, seeds: list[int]) -> dict[int, float] | None:
        """{seed: the claim's standard error over examples in that seed's run}, when the claim is a gain
        of one setting and every seed's run has its interval; else None."""
        if claim.is_statement or claim.rule["kind"] not in EXAMPLE_RULES:
            return None
        runs = self.intervals.get(claim.rule["setting"], {})
        out = {seed: runs[seed].sd(claim.rule) if seed in runs else None for seed in seeds}
        return None if any(v is None for v in out.values()) else out

    def view(self, settings, seeds: list[int]) -> View:
        out = {}
        for s in settings:
            rows = [self.numbers[s][seed] for seed in seeds]
            keys = set(rows[0]).intersection(*rows[1:])
            out[s] = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
        return View(out)


def measure(rule: dict, settings, evidence: Evidence, seeds: list[int]) -> tuple[Outcome, float | None]:
    """The rule on the seed-averaged numbers, and its std over single seeds (None with one seed).
    Raises MissingNumber when a number it reads is absent."""
    outcome = apply_rule(rule, evidence.view(settings, seeds))
    if len(seeds) < 2:
        return outcome, None
    return outcome, statistics.stdev(apply_rule(rule, evidence.view(settings, [seed])).value for seed in seeds)


def missing_runs(settings, evidence: Evidence, seeds: list[int]) -> tuple[str, ...]:
    return tuple(f"{s}@{seed}" for s in settings for seed in seeds if seed not in evidence.numbers.get(s, {}))


def judge(claim: Claim, evidence: Evidence, seeds: list[int], bootstrap: dict) -> Judgement:
    settings = claim.settings
    missing = missing_runs(settings, evidence, seeds)
    if missing:
        return Judgement(claim, NOT_RUN, seeds=tuple(seeds), missing=missing)
    try:
        outcome, std = measure(claim.rule, settings, evidence, seeds)
    except MissingNumber as e:
        return Judgement(claim, NOT_RUN, seeds=tuple(seeds), missing=(str(e),))
    provenance = [{"setting": s, "seed": seed, **evidence.provenance[s][seed]} for s in settings for seed in seeds]
    low = high = outcome.value
    slow = shigh = outcome.stat
    interval = stat_interval = None
    over = ""
    examples = evidence.example_sd(claim, seeds)
    if len(seeds) == 1 and examples is not None:  # one seed: the run's own interval over examples
        interval = low, high = evidence.intervals[claim.rule["setting"]][seeds[0]].of_rule(claim.rule)
        over = "examples"
    if len(seeds) > 1:
        rng = random.Random(bootstrap["seed"])
        values, stats = [], []
        for _ in range(bootstrap["resamples"]):
            sample = [rng.choice(seeds) for _ in seeds]
            o = apply_rule(claim.rule, evidence.view(settings, sample))
            # seeds, then examples: each drawn seed's gain moves within its run's example interval
            noise = sum(rng.gauss(0.0, examples[s]) for s in sample) / len(sample) if examples else 0.0
            values.append(o.value + noise)
            stats.append(o.stat)
        alpha = (1 - bootstrap["confidence"]) / 2
        values.sort()
        low, high = percentile(values, alpha), percentile(values, 1 - alpha)
        interval = (low, high)
        over = "seeds and examples" if examples else "seeds"
        if outcome.stat is not None:
            stats.sort()
            slow, shigh = percentile(stats, alpha), percentile(stats, 1 - alpha)
            stat_interval = (slow, shigh)
    if claim.is_statement or claim.rule["kind"] == "best_setting":
        verdict = statement_verdict(outcome, slow, shigh)
        if claim.rule["kind"] == "best_setting" and verdict == "supported" and number_verdict(
                claim.paper_value, claim.tolerance, low, high, True) == "reproduced":
            verdict = "reproduced"
    else:
        verdict = number_verdict(claim.paper_value, claim.tolerance, low, high, claim.relative)
    return Judgement(claim, verdict, outcome.value, std, interval, stat_interval, tuple(seeds), (), outcome.detail,
                     provenance, over)
