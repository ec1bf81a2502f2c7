"""The families' analyses (families.yaml `analysis`): from the matched runs, a table, a figure's
numbers and a one-sentence answer per family, worded by the sign of what was measured."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from xstilts.claims import languages
from xstilts.claims.families import SUB_1B, Experiment, Family, FamilyError, _label, run_numbers
from xstilts.core import config, tasks


# --- the analysis ------------------------------------------------------------------------------------
@dataclass
class Stat:
    mean: float
    std: float | None     # over seeds (None with one seed)
    n: int

    def fmt(self, signed: bool = False) -> str:
        s = f"{self.mean:{'+' if signed else ''}.1f}"
        return s + (f" ± {self.std:.1f}" if self.std is not None else "")


def stat(values: list[float]) -> Stat | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None
    return Stat(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


@dataclass
class Section:
    family: Family
    profile: str
    header: list[str]
    rows: list[list[str]]
    answer: str
    figure: dict                  # {"kind": line|bar, "x_label", "y_label", "x_log", "series": {name: [(x, y, err)]}}
    missing: list[str] = field(default_factory=list)   # experiments with no run
    runs: list = field(default_factory=list)           # (label, seed, run) behind the numbers


class Analysis:
    """The numbers of a family's runs, addressable by experiment and arm."""

    def __init__(self, fam: Family, reg, found: dict, params: config.Params, profile: str):
        self.fam, self.profile, self.params = fam, profile, params
        self.exps = fam.experiments(reg, profile)
        self.info = languages.metadata(params)
        self.numbers: dict[str, dict[int, dict]] = {}
        for exp in self.exps:
            for seed, run in found.get(exp.label, {}).items():
                self.numbers.setdefault(exp.label, {})[seed] = run_numbers(run, exp.params.get("benchmark", "xtreme"),
                                                                         self.info)

    def exp(self, **point) -> Experiment | None:
        return next((e for e in self.exps if all(_label(e.value(k)) == _label(v) for k, v in point.items())), None)

    def seeds_of(self, exp: Experiment | None) -> dict[int, dict]:
        return self.numbers.get(exp.label, {}) if exp else {}

    def value(self, exp, fn) -> Stat | None:
        """fn(numbers of one seed) -> float, then mean ± std over the seeds the experiment has."""
        vals = []
        for nums in self.seeds_of(exp).values():
            try:
                vals.append(fn(nums))
            except KeyError:
                continue
        return stat(vals)

    def paired(self, a: Experiment | None, b: Experiment | None, fn) -> Stat | None:
        """fn(numbers of a, numbers of b) over the seeds both have."""
        na, nb = self.seeds_of(a), self.seeds_of(b)
        vals = []
        for seed in sorted(set(na) & set(nb)):
            try:
                vals.append(fn(na[seed], nb[seed]))
            except KeyError:
                continue
        return stat(vals)

    def size(self, model: str) -> float:
        spec = self.params.model_spec(model)
        return config.approx_parameters(spec, self.params.group("pretrain").vocab_size or 0)

    def missing(self) -> list[str]:
        return [e.label for e in self.exps if not self.numbers.get(e.label)]


def gain(nums: dict) -> float:
    return nums["intermediate"]["avg"] - nums["baseline"]["avg"]


def level_gain(level: str):
    return lambda n: n["intermediate"]["levels"][level] - n["baseline"]["levels"][level]


def _cell(s: Stat | None, signed: bool = False) -> str:
    return "--" if s is None else s.fmt(signed)


def _trend(first: float, last: float, small: float = 0.5, magnitude: bool = True) -> str:
    a, b = (abs(first), abs(last)) if magnitude else (first, last)
    if abs(b - a) < small:
        return "barely changes"
    return ("shrinks" if b < a else "grows") if magnitude else ("rises" if b > a else "falls")


def _gap_trend(first: float, last: float) -> str:
    """A gap's change with size, saying so when it changes sign: "shrinks" alone would hide that the
    other arm wins at the largest size."""
    said = f"the gap {_trend(first, last)} with size"
    return said + " and changes sign" if first * last < 0 else said


def _names(an: Analysis, models: list[str]) -> list[tuple[float, str]]:
    """x tick positions and labels of a size axis: each model at its parameter count."""
    return [(an.size(m), f"{m}\n{an.size(m):.3g}M") for m in models]


def _models_by_size(an: Analysis, models: list[str]) -> list[str]:
    return sorted(models, key=an.size)


def _gain_gaps(an: Analysis, models: list[str], first, second):
    """Per model, the paired difference gain(first(model)) - gain(second(model)) over the seeds both
    experiments have: (row cells, figure points, [(model, mean gap)])."""
    cells, series, gaps = [], [], []
    for m in models:
        a, b = first(m), second(m)
        g = an.paired(a, b, lambda x, y: gain(x) - gain(y))
        cells.append((a, b, g))
        if g:
            series.append((an.size(m), g.mean, g.std or 0.0))
            gaps.append((m, g.mean))
    return cells, series, gaps


def size_gap(an: Analysis) -> Section:
    fam = an.fam
    models = _models_by_size(an, fam.values("model", an.profile))
    en, other = fam.values("intermediate_languages", an.profile)
    cells, series, gaps = _gain_gaps(an, models, lambda m: an.exp(model=m, intermediate_languages=en),
                                     lambda m: an.exp(model=m, intermediate_languages=other))
    rows = [[m, f"{an.size(m):.1f}", _cell(an.value(a, lambda n: n["baseline"]["avg"])), _cell(an.value(a, gain), True),
             _cell(an.value(b, gain), True), _cell(g, True)] for m, (a, b, g) in zip(models, cells)]
    if len(gaps) >= 2:
        (m0, g0), (m1, g1) = gaps[0], gaps[-1]
        answer = (f"From {m0} to {m1}, the gain from English intermediate data minus that from the same data "
                  f"translated into the target languages goes from {g0:+.1f} to {g1:+.1f} points: "
                  f"{_gap_trend(g0, g1)}.")
    else:
        answer = "Not enough runs yet to compare sizes (at least two models need both arms of the gap)."
    return Section(fam, an.profile, ["model", "params (M)", "baseline", "gain, English", "gain, translated",
                                     "English minus translated"], rows, answer,
                   {"kind": "line", "x_label": "encoder parameters (M)", "x_log": True, "x_names": _names(an, models),
                    "y_label": "English minus translated gain (points)", "series": {"gap": series}},
                   an.missing())


def data_size_diversity(an: Analysis) -> Section:
    fam = an.fam
    sizes = fam.values("intermediate_size", an.profile)
    sets = fam.values("intermediate_languages", an.profile)
    names = [("English-only" if s == ["en"] else f"{len(s)}-language") if isinstance(s, list) else str(s)
             for s in sets]
    rows, series = [], {n: [] for n in names}
    for i, size in enumerate(sizes):
        row = [_label(size)]
        for name, langs in zip(names, sets):
            exp = an.exp(intermediate_size=size, intermediate_languages=langs)
            g, low = an.value(exp, gain), an.value(exp, level_gain("low"))
            row += [_cell(g, True), _cell(low, True)]
            if g:
                series[name].append((i, g.mean, g.std or 0.0))
        rows.append(row)
    header = ["examples"] + [f"{n}: {what}" for n in names for what in ("gain", "low-res. gain")]
    largest = sizes[-1]
    at_largest = [(n, an.value(an.exp(intermediate_size=largest, intermediate_languages=s), gain),
                   an.value(an.exp(intermediate_size=largest, intermediate_languages=s), level_gain("low")))
                  for n, s in zip(names, sets)]
    have = [(n, g, low) for n, g, low in at_largest if g]
    english = [an.value(an.exp(intermediate_size=s, intermediate_languages=sets[0]), gain) for s in sizes]
    if have and sum(1 for g in english if g) >= 2:
        best = max(have, key=lambda t: t[1].mean)
        first, last = next(g for g in english if g), [g for g in english if g][-1]
        low = "" if best[2] is None else f" (low-resource languages {best[2].mean:+.1f})"
        answer = (f"With {_label(largest)} examples, the {best[0]} data gains the most, "
                  f"{best[1].mean:+.1f} points{low}; with {names[0]} data the gain "
                  f"{_trend(first.mean, last.mean, magnitude=False)} from "
                  f"{first.mean:+.1f} to {last.mean:+.1f} as the data grows.")
    else:
        answer = "Not enough runs yet to compare data sizes and language sets."
    return Section(fam, an.profile, header, rows, answer,
                   {"kind": "line", "x_label": "intermediate examples per task", "x_log": False,
                    "x_ticks": [_label(s) for s in sizes], "y_label": "gain over the baseline (points)",
                    "series": series}, an.missing())


def architectures(an: Analysis) -> Section:
    fam = an.fam
    models = fam.values("model", an.profile)
    inters = fam.values("intermediate", an.profile)
    rows, series = [], {i: [] for i in inters}
    per_task: dict[str, list[tuple[str, float]]] = {i: [] for i in inters}
    for k, m in enumerate(models):
        spec = an.params.model_spec(m)
        exps = [an.exp(model=m, intermediate=i) for i in inters]
        base = next((s for s in (an.value(e, lambda n: n["baseline"]["avg"]) for e in exps) if s), None)
        row = [m, spec.arch, f"{an.size(m):.1f}", _cell(base)]
        for i, e in zip(inters, exps):
            g = an.value(e, gain)
            row.append(_cell(g, True))
            if g:
                series[i].append((k, g.mean, g.std or 0.0))
                per_task[i].append((m, g.mean))
        rows.append(row)
    parts = [_spread(i, vals) for i, vals in per_task.items() if len(vals) >= 2]
    answer = ("On XTREME-R, " + "; ".join(parts) + ".") if parts else \
        "Not enough runs yet to compare architectures (each intermediate setting needs two models)."
    return Section(fam, an.profile, ["model", "arch", "params (M)", "baseline"] + [f"gain, {i}" for i in inters],
                   rows, answer, {"kind": "bar", "x_label": "model", "x_ticks": models,
                                  "y_label": "gain over the baseline (points)", "series": series}, an.missing())


def _spread(inter: str, vals: list[tuple[str, float]]) -> str:
    """How one intermediate setting's gain varies over models, worded by sign: "gains the most …
    (-0.9)" would misread a setting that hurts every model."""
    hi, lo = max(vals, key=lambda t: t[1]), min(vals, key=lambda t: t[1])
    if lo[1] > 0:
        return f"{inter} gains the most with {hi[0]} ({hi[1]:+.1f}) and the least with {lo[0]} ({lo[1]:+.1f})"
    if hi[1] <= 0:
        return f"{inter} helps no model: it hurts {hi[0]} the least ({hi[1]:+.1f}) and {lo[0]} the most ({lo[1]:+.1f})"
    return f"{inter} helps {hi[0]} the most ({hi[1]:+.1f}) and hurts {lo[0]} the most ({lo[1]:+.1f})"


def low_resource_scale(an: Analysis) -> Section:
    fam = an.fam
    models = _models_by_size(an, fam.values("model", an.profile))
    rows, series, gaps = [], {lv: [] for lv in languages.RESOURCE_LEVELS}, []
    for m in models:
        e = an.exp(model=m)
        row = [m, f"{an.size(m):.1f}"]
        for lv in languages.RESOURCE_LEVELS:
            s = an.value(e, lambda n, lv=lv: n["intermediate"]["levels"][lv])
            row.append(_cell(s))
            if s:
                series[lv].append((an.size(m), s.mean, s.std or 0.0))
        gap = an.value(e, lambda n: n["intermediate"]["levels"]["high"] - n["intermediate"]["levels"]["low"])
        base_gap = an.value(e, lambda n: n["baseline"]["levels"]["high"] - n["baseline"]["levels"]["low"])
        row += [_cell(gap), _cell(base_gap)]
        rows.append(row)
        if gap:
            gaps.append((m, gap.mean))
    if len(gaps) >= 2:
        (m0, g0), (m1, g1) = gaps[0], gaps[-1]
        said = f"The high- minus low-resource score gap is {g0:.1f} points with {m0} and {g1:.1f} with {m1}: "
        # the question presumes low-resource languages transfer worse; where they do not, "narrows"
        # or "widens" of the gap's size would answer a question nobody asked
        if g0 <= 0 and g1 <= 0:
            answer = said + "low-resource languages do not transfer worse here, so there is no weakness to mitigate."
        elif g1 <= 0:
            answer = said + "scale closes it (the largest model transfers to low-resource languages as well or better)."
        elif g0 <= 0:
            answer = said + "the smallest model has no weakness on low-resource languages; the largest has one."
        else:
            verb = {"shrinks": "narrows", "grows": "widens", "barely changes": "barely changes"}[_trend(g0, g1)]
            answer = said + f"scale {verb} it" + (" (it mitigates the weaker transfer)." if verb == "narrows" else ".")
    else:
        answer = "Not enough runs yet to compare sizes (two models with both high- and low-resource scores)."
    return Section(fam, an.profile, ["model", "params (M)", "high", "mid", "low", "high minus low",
                                     "high minus low (baseline)"], rows, answer,
                   {"kind": "line", "x_label": "encoder parameters (M)", "x_log": True, "x_names": _names(an, models),
                    "y_label": "score after intermediate training", "series": series}, an.missing())


def single_vs_multi(an: Analysis) -> Section:
    fam = an.fam
    models = [m for m in _models_by_size(an, fam.values("model", an.profile)) if an.size(m) < SUB_1B]
    inters = fam.values("intermediate", an.profile)
    multi = next((i for i in inters if i in tasks.MULTITASK), None)
    single = next((i for i in inters if i not in tasks.MULTITASK), None)
    if multi is None or single is None:
        raise FamilyError(f"family '{fam.id}' needs one single-task and one multitask value of `intermediate`")
    cells, series, gaps = _gain_gaps(an, models, lambda m: an.exp(model=m, intermediate=multi),
                                     lambda m: an.exp(model=m, intermediate=single))
    rows = [[m, f"{an.size(m):.1f}", _cell(an.value(a, gain), True), _cell(an.value(b, gain), True), _cell(g, True)]
            for m, (b, a, g) in zip(models, cells)]
    if len(gaps) >= 2:
        (m0, g0), (m1, g1) = gaps[0], gaps[-1]
        answer = (f"Multitask minus single-task ({single}) gain goes from {g0:+.1f} points with {m0} to {g1:+.1f} "
                  f"with {m1}: {_gap_trend(g0, g1)}.")
    else:
        answer = "Not enough runs yet to compare sizes (two models with both single- and multi-task runs)."
    return Section(fam, an.profile, ["model", "params (M)", f"gain, {single}", f"gain, {multi}", "multi minus single"],
                   rows, answer, {"kind": "line", "x_label": "encoder parameters (M)", "x_log": True,
                                  "x_names": _names(an, models),
                                  "y_label": "multitask minus single-task gain (points)", "series": {"gap": series}},
                   an.missing())


def analyse(fam: Family, reg, found: dict, params: config.Params, profile: str) -> Section:
    an = Analysis(fam, reg, found, params, profile)
    section = globals()[fam.analysis](an)
    section.runs = [(label, seed, run) for label, by_seed in sorted(found.items())
                    for seed, run in sorted(by_seed.items())]
    return section
