"""Language metadata: family, script and resource level of every language a profile evaluates,
so scores can be grouped by them (the report's low-resource sections, `xstilts languages`).

Profile paper: data/languages.csv (sources in its header). Resource level = our buckets on the
language's share of XLM-R's CC-100 pretraining data; no paper defines such buckets.
Profile tiny: the world's languages. Their pretraining corpora differ in size by design
(tiny.world.corpus_share), and the same kind of buckets apply to that share of English's corpus.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from xstilts.core import paths, tasks

LANGUAGES_CSV = paths.LANGUAGES_CSV


RESOURCE_LEVELS = ("high", "mid", "low")


CC100_GIB = {"high": 20.0, "mid": 2.5}     # at least this many GiB of CC-100 (else low; absent = low)


WORLD_SHARE = {"high": 0.5, "mid": 0.2}    # at least this share of English's tiny pretraining corpus


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    name: str
    family: str
    script: str
    resource: str        # high | mid | low
    pretraining: str     # what the resource level is measured on, for the report


def bucket(value: float | None, thresholds: dict[str, float]) -> str:
    if value is None:
        return "low"
    return next((level for level in ("high", "mid") if value >= thresholds[level]), "low")


def real_languages(path: Path = LANGUAGES_CSV) -> dict[str, LanguageInfo]:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    out = {}
    for row in rows:
        gib = float(row["cc100_gib"]) if row["cc100_gib"] else None
        level = bucket(gib, CC100_GIB)
        if row["resource"] != level:  # the file states the level so it reads on its own: keep it honest
            raise ValueError(f"{path}: {row['code']} says resource '{row['resource']}' but {gib} GiB is '{level}'")
        out[row["code"]] = LanguageInfo(row["code"], row["name"], row["family"], row["script"], level,
                                        f"CC-100 {gib} GiB" if gib is not None else "not in CC-100")
    return out


def world_languages(corpus_share: dict, cognate_share: dict) -> dict[str, LanguageInfo]:
    """The world's languages: resource level by corpus share; family by the share of words inherited
    from English (tiny.world.cognate_share: all of them is English's close relative)."""
    from xstilts.world.grammar import GRAMMARS  # grammar settings only (no heavy imports)

    out = {}
    for code, lang in tasks.WORLD_LANGUAGES.items():
        share = 1.0 if code == "en" else float(corpus_share.get(code, 1.0))
        cognates = 1.0 if code == "en" else float(cognate_share.get(code, 0.0))
        family = ("Anglic (synthetic)" if cognates == 1.0 else f"{lang.name} (synthetic isolate)" if cognates == 0
                  else f"{lang.name} (synthetic, {cognates:.0%} of words cognate with English)")
        out[code] = LanguageInfo(code, lang.name, family, GRAMMARS[code].script.capitalize(),
                                 bucket(share, WORLD_SHARE), f"{share:.0%} of English's corpus")
    return out


def metadata(params) -> dict[str, LanguageInfo]:
    """The active profile's languages (params: config.Params)."""
    if params.profile == "tiny":
        return world_languages(params.world().corpus_share, params.world().cognate_share)
    return real_languages()


def by_level(scores: dict[str, float], info: dict[str, LanguageInfo]) -> dict[str, float]:
    """Mean score per resource level over the languages scored (English left out: it is the
    source language, not a transfer target)."""
    groups: dict[str, list[float]] = {}
    for lang, value in scores.items():
        if lang != "en" and lang in info:
            groups.setdefault(info[lang].resource, []).append(value)
    return {level: sum(v) / len(v) for level in RESOURCE_LEVELS if (v := groups.get(level))}
