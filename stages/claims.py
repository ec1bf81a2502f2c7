"""The claims registry (claims.yaml): load, validate, expand; and judge each claim on collected runs.

Each claim has an id, a statement, its source, the paper's value (a number, or `statement` for a
claim with a yes/no rule), the rule that turns experiment metrics into the claimed number, and a
tolerance. v1's Table 2 and XTREME rows are stored as compact rows and expanded here into one claim
per cell (`v1-<setting>-<column>`, `v1xtreme-<row>-<column>`). Validation names every bad value:
an unknown setting, target, group, rule kind or param.

Judging (`judge`): the numbers come from runs (stages/results.py), one per setting and seed. A
rule reads a `View`: a setting's score on a split, target and metric (the intermediate arm, or
for the setting `baseline` the baseline arm), averaged over a multiset of seeds. The claimed
quantity is the rule on all seeds; its spread is the standard deviation of the rule over single
seeds; its interval is the percentile bootstrap over seeds (the same resampled seeds for every
setting, so gains stay paired with their baseline).
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stages import config, tasks

CLAIMS_FILE = Path("claims.yaml")
RULES = ("gain_avg", "gain", "score", "score_avg", "best_setting", "gain_at_least", "no_gain", "beats_variant",
         "best_per_target")
RELATIVE = ("gain_avg", "gain", "best_setting")  # kinds whose number is a gain over the baseline
SETTING_PARAMS = {"intermediate", "intermediate_mlm", "intermediate_languages", "intermediate_size",
                  "target_training"}
DEFAULT_KEYS = SETTING_PARAMS | {"benchmark"}
SPLITS = ("dev", "test")
BASELINE = "baseline"
NON_ENGLISH = "non_english"
VERDICTS_NUMBER = ("reproduced", "inconclusive", "same sign", "not reproduced")
VERDICTS_STATEMENT = ("supported", "inconclusive", "not supported")
NOT_RUN = "not run"


class ClaimsError(ValueError):
    """A bad entry in claims.yaml; the message names it."""


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    paper_value: float | str
    rule: dict
    tolerance: float | None = None
    settings: tuple[str, ...] = field(default_factory=tuple)  # the experiments it needs, baseline included
    note: str = ""

    @property
    def relative(self) -> bool:
        return self.rule["kind"] in RELATIVE or bool(self.rule.get("relative"))

    @property
    def is_statement(self) -> bool:
        return isinstance(self.paper_value, str)

    def as_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "source": self.source, "paper_value": self.paper_value,
                "rule": self.rule, "tolerance": self.tolerance, "settings": list(self.settings),
                **({"note": self.note} if self.note else {})}


@dataclass
class Registry:
    claims: list[Claim]
    settings: dict[str, dict]            # name -> params (values may be the symbol `non_english`)
    defaults: dict
    variant_languages: dict[str, list[str]]
    bootstrap: dict

    def by_id(self, ids) -> list[Claim]:
        known = {c.id: c for c in self.claims}
        for i in ids:
            if i not in known:
                raise config.unknown("claim", i, list(known))
        return [known[i] for i in ids]

    def setting_params(self, name: str, profile: str) -> dict:
        """The params an experiment of this setting sets (defaults, then the setting's), resolved for a profile."""
        out = dict(self.defaults)
        for k, v in self.settings[name].items():
            out[k] = list(self.variant_languages[profile]) if v == NON_ENGLISH else v
        return out

    def overrides(self, name: str, profile: str, seed: int) -> dict:
        return {"profile": profile, **self.setting_params(name, profile), "seed": seed}

    def needed(self, claims: list[Claim]) -> list[str]:
        out = []
        for c in claims:
            out += [s for s in c.settings if s not in out]
        return out


def _column_rule(column: str) -> dict:
    """A Table 2 column as a metric: `xquad.f1` -> target xquad, avg_f1; `avg` -> the mean."""
    if column == "avg":
        return {"targets": "xtreme"}
    target, _, metric = column.partition(".")
    return {"target": target, "metric": {"f1": "avg_f1", "em": "avg_exact_match"}.get(metric, "avg_metric")}


def _expand_members(names, groups: dict) -> list[str]:
    out = []
    for n in ([names] if isinstance(names, str) else names):
        out += groups[n] if n in groups else [n]
    return out


def _check_setting(name: str, params: dict) -> None:
    for key, value in params.items():
        if key not in SETTING_PARAMS:
            raise config.unknown(f"param in setting '{name}'", key, sorted(SETTING_PARAMS))
        if key == "intermediate" and value not in (tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK):
            raise config.unknown(f"intermediate task in setting '{name}'", value,
                                 [tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK])


def registry(path: Path = CLAIMS_FILE) -> Registry:
    raw = yaml.safe_load(Path(path).read_text())
    settings, groups = dict(raw["settings"]), raw["groups"]
    if settings.get(BASELINE) != {"intermediate": tasks.NO_INTERMEDIATE}:
        raise ClaimsError(f"setting '{BASELINE}' must be {{intermediate: {tasks.NO_INTERMEDIATE}}}")
    for name, params in settings.items():
        _check_setting(name, params)
    defaults = raw["defaults"]
    for key in defaults:
        if key not in DEFAULT_KEYS:
            raise config.unknown("key in defaults", key, sorted(DEFAULT_KEYS))
    for profile in tasks.PROFILES:
        langs = raw["variant_languages"].get(profile)
        if not langs:
            raise ClaimsError(f"variant_languages has no list for profile '{profile}'")
        bad = [l for l in langs if l not in tasks.languages_of(profile)]
        if bad:
            raise config.unknown(f"language in variant_languages.{profile}", bad[0], list(tasks.languages_of(profile)))
    for name, members in groups.items():
        for m in members:
            if m not in settings and m not in tasks.TARGETS:
                raise ClaimsError(f"group '{name}' names '{m}', neither a setting nor a target")

    claims: list[Claim] = []
    for c in raw["claims"]:
        rule = dict(c["rule"])
        if rule.get("kind") not in RULES:
            raise config.unknown(f"rule kind in claim '{c['id']}'", rule.get("kind"), RULES)
        for key in ("split", "select_split"):
            if rule.get(key, "dev") not in SPLITS:
                raise config.unknown(f"{key} in claim '{c['id']}'", rule[key], SPLITS)
        for key in ("among", "targets"):
            if key in rule:
                rule[key] = _expand_members(rule[key], groups)
        needed = [BASELINE]
        for s in ([rule["setting"]] if "setting" in rule else []) + rule.get("among", []):
            if s not in settings:
                raise config.unknown(f"setting in claim '{c['id']}'", s, list(settings))
            if s not in needed:
                needed.append(s)
        if rule["kind"] == "beats_variant":
            variant = rule.get("variant") or {}
            for key, value in variant.items():
                if key not in SETTING_PARAMS:
                    raise config.unknown(f"variant param in claim '{c['id']}'", key, sorted(SETTING_PARAMS))
            pairs = {}
            for s in rule["among"]:
                params = {**settings[s], **variant}
                name = next((n for n, p in settings.items() if p == params), None)
                if name is None:
                    name = f"{s}_{rule['variant_name']}"
                    _check_setting(name, params)
                    settings[name] = params
                pairs[s] = name
                if name not in needed:
                    needed.append(name)
            rule["pairs"] = pairs
        targets = rule.get("targets", []) + ([rule["target"]] if "target" in rule else [])
        for t in targets:
            if t not in tasks.TARGETS:
                raise config.unknown(f"target in claim '{c['id']}'", t, list(tasks.TARGETS))
        claims.append(Claim(c["id"], c["statement"], c["source"], c["paper_value"], rule, c.get("tolerance"),
                            tuple(needed)))

    t2 = raw["v1_table2"]
    xtreme = _expand_members("xtreme", groups)
    for setting, values in {**t2["absolute"], **t2["deltas"]}.items():
        if setting not in settings:
            raise config.unknown("setting in v1_table2", setting, list(settings))
        if len(values) != len(t2["columns"]):
            raise ClaimsError(f"v1_table2 row '{setting}' has {len(values)} values for {len(t2['columns'])} columns")
        absolute = setting in t2["absolute"]
        for column, value in zip(t2["columns"], values):
            rule = {"kind": "score" if absolute else "gain", "setting": setting, "split": "dev", **_column_rule(column)}
            note = ""
            if column == "avg":
                rule["kind"] = "score_avg" if absolute else "gain_avg"
                rule["targets"] = xtreme
                if setting in t2.get("inconsistent", []):
                    note = "the printed average is not the mean of the printed cells (paper.md §4a)"
            what = "score" if absolute else "gain over XLM-R"
            claims.append(Claim(f"v1-{setting}-{column.replace('.', '-')}", f"v1 Table 2: {setting} {what} on {column} (dev)",
                                t2["source"], value, rule, t2["tolerance"],
                                (BASELINE,) if absolute else (BASELINE, setting), note))
    x = raw["v1_xtreme"]
    for row, values in x["rows"].items():
        for column, value in zip(x["columns"], values):
            kind = "best_per_target" if row == "best_per_target" else "score"
            rule = {"kind": kind, "split": "test", **_column_rule(column)}
            if column == "avg":
                rule["targets"] = xtreme
                if kind == "score":
                    rule["kind"] = "score_avg"
            if kind == "best_per_target":
                rule.update(among=list(t2["deltas"]), select_split="dev")  # v1's settings: Table 2's rows
            else:
                rule["setting"] = row
            needed = (BASELINE,) if row == BASELINE else (BASELINE, *rule["among"])
            claims.append(Claim(f"v1xtreme-{row.replace('_', '-')}-{column.replace('.', '-')}",
                                f"v1 XTREME row '{row}' on {column} (test)", x["source"], value, rule, x["tolerance"],
                                needed))
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsError(f"claim ids used twice: {dupes}")
    bootstrap = {"resamples": 1000, "confidence": 0.95, "seed": 0, **raw.get("bootstrap", {})}
    # several seeds always get an interval, so it needs resamples to be drawn from
    if not isinstance(bootstrap["resamples"], int) or bootstrap["resamples"] < 1:
        raise ClaimsError(f"bootstrap.resamples must be a positive integer, got {bootstrap['resamples']!r}")
    if not 0 < bootstrap["confidence"] < 1:
        raise ClaimsError(f"bootstrap.confidence must lie strictly between 0 and 1, got {bootstrap['confidence']!r}")
    return Registry(claims, settings, defaults, raw["variant_languages"], bootstrap)


def load(path: Path = CLAIMS_FILE) -> list[Claim]:
    return registry(path).claims


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
    interval: tuple[float, float] | None = None   # bootstrap interval of the value (None with one seed)
    stat_interval: tuple[float, float] | None = None
    seeds: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()    # settings@seed without a run
    detail: dict = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)

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
    with the provenance of each (setting, seed)."""

    def __init__(self, numbers: dict[str, dict[int, dict]], provenance: dict[str, dict[int, dict]]):
        self.numbers, self.provenance = numbers, provenance

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
    if len(seeds) > 1:
        rng = random.Random(bootstrap["seed"])
        values, stats = [], []
        for _ in range(bootstrap["resamples"]):
            sample = [rng.choice(seeds) for _ in seeds]
            o = apply_rule(claim.rule, evidence.view(settings, sample))
            values.append(o.value)
            stats.append(o.stat)
        alpha = (1 - bootstrap["confidence"]) / 2
        values.sort()
        low, high = percentile(values, alpha), percentile(values, 1 - alpha)
        interval = (low, high)
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
                     provenance)
