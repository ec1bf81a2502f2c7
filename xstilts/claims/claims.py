"""The claims registry (claims.yaml): load, validate, expand (xstilts/claims/judge.py
judges them).

Each claim has an id, a statement, its source, the paper's value (a number, or `statement` for a
claim with a yes/no rule), the rule that turns experiment metrics into the claimed number, and a
tolerance. v1's Table 2 and XTREME rows are stored as compact rows and expanded here into one claim
per cell (`v1-<setting>-<column>`, `v1xtreme-<row>-<column>`). Validation names every bad value:
an unknown setting, target, group, rule kind or param."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xstilts.core import config, paths, tasks

CLAIMS_FILE = paths.CLAIMS_FILE


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


NEEDS_CCGBANK = "needs CCGbank (LDC2005T13)"   # a claim whose experiments train on CCG, in profile paper without it


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

    def needs_ccgbank(self, name: str, profile: str) -> bool:
        """Does this setting train on CCG (licensed CCGbank, never on the Hub)?"""
        return trains_on_ccg(self.setting_params(name, profile).get("intermediate", tasks.NO_INTERMEDIATE))

    def needed(self, claims: list[Claim]) -> list[str]:
        out = []
        for c in claims:
            out += [s for s in c.settings if s not in out]
        return out


def with_overrides(raw: dict, overrides: dict) -> dict:
    """params.yaml's params (`raw`) with an experiment's overrides (a setting's, a profile) applied."""
    out = copy.deepcopy(raw)
    out.update(copy.deepcopy(overrides))
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
    _check_header(raw, settings, groups)
    claims = [_listed_claim(c, settings, groups) for c in raw["claims"]]
    claims += _v1_table2_claims(raw["v1_table2"], settings, groups)
    claims += _v1_xtreme_claims(raw["v1_xtreme"], raw["v1_table2"], groups)
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsError(f"claim ids used twice: {dupes}")
    return Registry(claims, settings, raw["defaults"], raw["variant_languages"], _bootstrap(raw))


def _check_header(raw: dict, settings: dict, groups: dict) -> None:
    """The settings, defaults, variant languages and groups every claim refers to."""
    if settings.get(BASELINE) != {"intermediate": tasks.NO_INTERMEDIATE}:
        raise ClaimsError(f"setting '{BASELINE}' must be {{intermediate: {tasks.NO_INTERMEDIATE}}}")
    for name, params in settings.items():
        _check_setting(name, params)
    for key in raw["defaults"]:
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


def _listed_claim(entry: dict, settings: dict, groups: dict) -> Claim:
    """One entry of claims.yaml's `claims`, its groups expanded and its settings checked (a
    beats_variant rule's variants join `settings`)."""
    rule = dict(entry["rule"])
    if rule.get("kind") not in RULES:
        raise config.unknown(f"rule kind in claim '{entry['id']}'", rule.get("kind"), RULES)
    for key in ("split", "select_split"):
        if rule.get(key, "dev") not in SPLITS:
            raise config.unknown(f"{key} in claim '{entry['id']}'", rule[key], SPLITS)
    for key in ("among", "targets"):
        if key in rule:
            rule[key] = _expand_members(rule[key], groups)
    needed = [BASELINE]
    for setting in ([rule["setting"]] if "setting" in rule else []) + rule.get("among", []):
        if setting not in settings:
            raise config.unknown(f"setting in claim '{entry['id']}'", setting, list(settings))
        if setting not in needed:
            needed.append(setting)
    if rule["kind"] == "beats_variant":
        rule["pairs"] = _variant_pairs(entry["id"], rule, settings)
        for name in rule["pairs"].values():
            if name not in needed:
                needed.append(name)
    targets = rule.get("targets", []) + ([rule["target"]] if "target" in rule else [])
    for t in targets:
        if t not in tasks.TARGETS:
            raise config.unknown(f"target in claim '{entry['id']}'", t, list(tasks.TARGETS))
    return Claim(entry["id"], entry["statement"], entry["source"], entry["paper_value"], rule, entry.get("tolerance"),
                 tuple(needed))


def _variant_pairs(claim_id: str, rule: dict, settings: dict) -> dict[str, str]:
    """{setting: its variant's setting} of a beats_variant rule; a variant no setting is yet joins
    `settings` as `<setting>_<variant_name>`."""
    variant = rule.get("variant") or {}
    for key in variant:
        if key not in SETTING_PARAMS:
            raise config.unknown(f"variant param in claim '{claim_id}'", key, sorted(SETTING_PARAMS))
    pairs = {}
    for setting in rule["among"]:
        params = {**settings[setting], **variant}
        name = next((other for other, other_params in settings.items() if other_params == params), None)
        if name is None:
            name = f"{setting}_{rule['variant_name']}"
            _check_setting(name, params)
            settings[name] = params
        pairs[setting] = name
    return pairs


def _v1_table2_claims(t2: dict, settings: dict, groups: dict) -> list[Claim]:
    """v1's Table 2, one claim per cell: `v1-<setting>-<column>` (dev)."""
    claims = []
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
            claims.append(Claim(f"v1-{setting}-{column.replace('.', '-')}",
                                f"v1 Table 2: {setting} {what} on {column} (dev)", t2["source"], value, rule,
                                t2["tolerance"], (BASELINE,) if absolute else (BASELINE, setting), note))
    return claims


def _v1_xtreme_claims(x: dict, t2: dict, groups: dict) -> list[Claim]:
    """v1's XTREME rows, one claim per cell: `v1xtreme-<row>-<column>` (test)."""
    claims = []
    xtreme = _expand_members("xtreme", groups)
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
    return claims


def _bootstrap(raw: dict) -> dict:
    bootstrap = {"resamples": 1000, "confidence": 0.95, "seed": 0, **raw.get("bootstrap", {})}
    # several seeds always get an interval, so it needs resamples to be drawn from
    if not isinstance(bootstrap["resamples"], int) or bootstrap["resamples"] < 1:
        raise ClaimsError(f"bootstrap.resamples must be a positive integer, got {bootstrap['resamples']!r}")
    if not 0 < bootstrap["confidence"] < 1:
        raise ClaimsError(f"bootstrap.confidence must lie strictly between 0 and 1, got {bootstrap['confidence']!r}")
    return bootstrap


def load(path: Path = CLAIMS_FILE) -> list[Claim]:
    return registry(path).claims


def trains_on_ccg(intermediate: str) -> bool:
    """Does this value of the `intermediate` param train on CCG?"""
    return "ccg" in tasks.intermediate_members(intermediate)


def ccgbank_available(raw: dict, profile: str) -> bool:
    """Can this profile train on CCG? Tiny's world writes its own CCGbank; profile paper needs
    `paper.data.ccgbank` set to the (licensed) ccgbank_1_1 directory."""
    if profile != "paper":
        return True
    root = ((raw.get("paper") or {}).get("data") or {}).get("ccgbank")
    return bool(root) and (Path(root) / "data" / "AUTO").is_dir()


def ccgbank_missing(reg: Registry, raw: dict, profile: str, settings: list[str]) -> list[str]:
    """The settings that cannot run because they train on CCG and the profile has no CCGbank."""
    if ccgbank_available(raw, profile):
        return []
    return [s for s in settings if s != BASELINE and reg.needs_ccgbank(s, profile)]


def mark_ccgbank(judged: list, without: list[str]) -> list:
    """Claims not run because one of their settings needs the missing CCGbank say so."""
    import dataclasses
    return [dataclasses.replace(j, verdict=NEEDS_CCGBANK)
            if j.verdict == NOT_RUN and set(j.claim.settings) & set(without) else j for j in judged]
