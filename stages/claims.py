"""The claims registry (claims.yaml): load, validate, expand.

Each claim has an id, a statement, its source, the paper's value (a number, or `statement` for a
claim with a yes/no rule), the rule that turns experiment metrics into the claimed number, and a
tolerance. v1's Table 2 and XTREME rows are stored as compact rows and expanded here into one claim
per cell (`v1-<setting>-<column>`, `v1xtreme-<row>-<column>`). Validation names every bad value:
an unknown setting, target, group, rule kind or param.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stages import config, tasks

CLAIMS_FILE = Path("claims.yaml")
RULES = ("gain_avg", "gain", "score", "score_avg", "best_setting", "gain_at_least", "no_gain", "beats_variant", "best_per_target")
SETTING_PARAMS = {"intermediate", "intermediate_mlm", "intermediate_languages", "intermediate_size",
                  "target_training"}
SPLITS = ("dev", "test")


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

    def as_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "source": self.source, "paper_value": self.paper_value,
                "rule": self.rule, "tolerance": self.tolerance, "settings": list(self.settings)}


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


def load(path: Path = CLAIMS_FILE) -> list[Claim]:
    raw = yaml.safe_load(Path(path).read_text())
    settings, groups = raw["settings"], raw["groups"]
    for name, params in settings.items():
        for key, value in params.items():
            if key not in SETTING_PARAMS:
                raise config.unknown(f"param in setting '{name}'", key, sorted(SETTING_PARAMS))
            if key == "intermediate" and value not in (tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK):
                raise config.unknown(f"intermediate task in setting '{name}'", value,
                                     [tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK])
    for name, members in groups.items():
        for m in members:
            if m not in settings and m not in tasks.TARGETS:
                raise ClaimsError(f"group '{name}' names '{m}', neither a setting nor a target")

    claims: list[Claim] = []
    for c in raw["claims"]:
        rule = dict(c["rule"])
        if rule.get("kind") not in RULES:
            raise config.unknown(f"rule kind in claim '{c['id']}'", rule.get("kind"), RULES)
        if rule.get("split", "dev") not in SPLITS:
            raise config.unknown(f"split in claim '{c['id']}'", rule["split"], SPLITS)
        needed = ["baseline"]
        for key in ("setting", "among"):
            if key in rule:
                needed += [s for s in _expand_members(rule[key], groups) if s not in needed]
        for s in needed:
            if s not in settings:
                raise config.unknown(f"setting in claim '{c['id']}'", s, list(settings))
        targets = _expand_members(rule.get("targets", []), groups) + ([rule["target"]] if "target" in rule else [])
        for t in targets:
            if t not in tasks.TARGETS:
                raise config.unknown(f"target in claim '{c['id']}'", t, list(tasks.TARGETS))
        for key, value in (rule.get("variant") or {}).items():
            if key not in SETTING_PARAMS:
                raise config.unknown(f"variant param in claim '{c['id']}'", key, sorted(SETTING_PARAMS))
        claims.append(Claim(c["id"], c["statement"], c["source"], c["paper_value"], rule, c.get("tolerance"),
                            tuple(needed)))

    t2 = raw["v1_table2"]
    for setting, values in {**t2["absolute"], **t2["deltas"]}.items():
        if setting not in settings:
            raise config.unknown("setting in v1_table2", setting, list(settings))
        if len(values) != len(t2["columns"]):
            raise ClaimsError(f"v1_table2 row '{setting}' has {len(values)} values for {len(t2['columns'])} columns")
        absolute = setting in t2["absolute"]
        for column, value in zip(t2["columns"], values):
            rule = {"kind": "score" if absolute else "gain", "setting": setting, "split": "dev", **_column_rule(column)}
            if column == "avg":
                rule["kind"] = "score_avg" if absolute else "gain_avg"
            what = "score" if absolute else "gain over XLM-R"
            claims.append(Claim(f"v1-{setting}-{column.replace('.', '-')}", f"v1 Table 2: {setting} {what} on {column} (dev)",
                                t2["source"], value, rule, t2["tolerance"],
                                ("baseline",) if absolute else ("baseline", setting)))
    x = raw["v1_xtreme"]
    for row, values in x["rows"].items():
        for column, value in zip(x["columns"], values):
            kind = "best_per_target" if row == "best_per_target" else "score"
            rule = {"kind": kind, "split": "test", **_column_rule(column)}
            if kind == "best_per_target":
                rule.update(among=list(t2["deltas"]), select_split="dev")  # v1's settings: Table 2's rows
            else:
                rule["setting"] = row
            needed = ("baseline",) if row == "baseline" else ("baseline", *rule["among"])
            claims.append(Claim(f"v1xtreme-{row.replace('_', '-')}-{column.replace('.', '-')}",
                                f"v1 XTREME row '{row}' on {column} (test)", x["source"], value, rule, x["tolerance"],
                                needed))
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ClaimsError(f"claim ids used twice: {dupes}")
    return claims

