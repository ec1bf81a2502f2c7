"""The task registry: every dataset, intermediate task and target task the pipeline knows.

One entry per thing, in plain data. A *dataset* is what a `prepare@<name>` stage produces from one
Hub source (profile paper) or its twin in the embedded world (profile tiny): the same repo layout,
config names, split names and features, so one normalizer serves both. An *intermediate task*
trains the encoder in phase (ii); a *target* is fine-tuned on English data (or, for retrieval,
used as is) and evaluated zero-shot in every language of its list.

This module imports nothing heavy: the CLI validates params with it before any torch import.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TASK_TYPES = ("classification", "qa", "tagging", "retrieval")

# Label names in our canonical order. Labels are always mapped by *name* from the source's
# features: HF's MNLI/XNLI order (entailment, neutral, contradiction) differs from jiant's and
# XTREME's alphabetical order, so integer ids are never trusted.
NLI_LABELS = ("entailment", "neutral", "contradiction")
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
             "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")
LABEL_ALIASES = {"contradictory": "contradiction"}  # XNLI-MT's English MNLI file spells it so


@dataclass(frozen=True)
class Language:
    code: str   # ISO 639-1 where one exists (the key used everywhere in xstilts)
    iso3: str   # Tatoeba config names use it
    name: str   # google/xtreme udpos config names use it


# The 40 XTREME languages (google-research/xtreme README), with the iso3 codes of Tatoeba's
# configs and the English names of udpos configs.
REAL_LANGUAGES = {l.code: l for l in (
    Language("af", "afr", "Afrikaans"), Language("ar", "ara", "Arabic"),
    Language("bg", "bul", "Bulgarian"), Language("bn", "ben", "Bengali"),
    Language("de", "deu", "German"), Language("el", "ell", "Greek"),
    Language("en", "eng", "English"), Language("es", "spa", "Spanish"),
    Language("et", "est", "Estonian"), Language("eu", "eus", "Basque"),
    Language("fa", "pes", "Persian"), Language("fi", "fin", "Finnish"),
    Language("fr", "fra", "French"), Language("he", "heb", "Hebrew"),
    Language("hi", "hin", "Hindi"), Language("hu", "hun", "Hungarian"),
    Language("id", "ind", "Indonesian"), Language("it", "ita", "Italian"),
    Language("ja", "jpn", "Japanese"), Language("jv", "jav", "Javanese"),
    Language("ka", "kat", "Georgian"), Language("kk", "kaz", "Kazakh"),
    Language("ko", "kor", "Korean"), Language("ml", "mal", "Malayalam"),
    Language("mr", "mar", "Marathi"), Language("ms", "msa", "Malay"),
    Language("my", "mya", "Burmese"), Language("nl", "nld", "Dutch"),
    Language("pt", "por", "Portuguese"), Language("ru", "rus", "Russian"),
    Language("sw", "swh", "Swahili"), Language("ta", "tam", "Tamil"),
    Language("te", "tel", "Telugu"), Language("th", "tha", "Thai"),
    Language("tl", "tgl", "Tagalog"), Language("tr", "tur", "Turkish"),
    Language("ur", "urd", "Urdu"), Language("vi", "vie", "Vietnamese"),
    Language("yo", "yor", "Yoruba"), Language("zh", "cmn", "Chinese"),
)}

# The embedded world's languages. ISO 639-3 reserves qaa-qtz for local use, so the synthetic
# languages take codes no real language has. Their grammars live in stages/world.py.
WORLD_LANGUAGES = {l.code: l for l in (
    Language("en", "eng", "English"),
    Language("qa", "qaa", "Aurelic"),
    Language("qb", "qab", "Borean"),
    Language("qc", "qac", "Cyrenic"),
    Language("qd", "qad", "Dravel"),
    Language("qe", "qae", "Estran"),
)}

PROFILES = ("tiny", "paper")
BENCHMARKS = ("xtreme",)
SPLITS = ("train", "dev", "test")


def languages_of(profile: str) -> dict[str, Language]:
    return WORLD_LANGUAGES if profile == "tiny" else REAL_LANGUAGES


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the Hub. `config` may use {code}, {iso3} or {name} of a language."""
    repo: str
    config: str
    splits: dict[str, str]                 # our split name -> the source's split name


@dataclass(frozen=True)
class Dataset:
    name: str
    type: str
    source: HubSource
    row_format: str                        # which normalizer reads the source's rows (stages/data.py)
    languages: tuple[str, ...]             # official list (profile paper); profile tiny uses the world's
    train_languages: tuple[str, ...] = ("en",)   # zero-shot: only English training data is prepared
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # split -> languages without it
    labels: tuple[str, ...] = ()

    def languages_for(self, profile: str) -> tuple[str, ...]:
        if profile == "tiny":  # English-only stays English-only; Tatoeba-like sets pair others with en
            if self.languages == ("en",):
                return self.languages
            world = tuple(WORLD_LANGUAGES)
            return world if "en" in self.languages else tuple(c for c in world if c != "en")
        return self.languages


XNLI_LANGS = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
UDPOS_LANGS = ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi",
               "hu", "id", "it", "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl",
               "tr", "ur", "vi", "yo", "zh")
TATOEBA_LANGS = ("af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he", "hi",
                 "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "nl", "pt", "ru", "sw",
                 "ta", "te", "th", "tl", "tr", "ur", "vi", "zh")

DATASETS = {d.name: d for d in (
    Dataset("mnli", "classification", HubSource(
        "nyu-mll/glue", "mnli", {"train": "train", "dev": "validation_matched"}),
        row_format="nli", languages=("en",), labels=NLI_LABELS),
    Dataset("squad_v1", "qa", HubSource(
        "rajpurkar/squad", "plain_text", {"train": "train", "dev": "validation"}),
        row_format="squad", languages=("en",)),
    Dataset("xnli", "classification", HubSource(
        "facebook/xnli", "{code}", {"dev": "validation", "test": "test"}),
        row_format="nli", languages=XNLI_LANGS, train_languages=(), labels=NLI_LABELS),
    # XQuAD has no dev set separate from test: its only split (HF `validation`) is XTREME's test.
    Dataset("xquad", "qa", HubSource("google/xquad", "xquad.{code}", {"test": "validation"}),
            row_format="squad", languages=XQUAD_LANGS, train_languages=()),
    Dataset("udpos", "tagging", HubSource(
        "google/xtreme", "udpos.{name}", {"train": "train", "dev": "validation", "test": "test"}),
        row_format="udpos", languages=UDPOS_LANGS, labels=UPOS_TAGS,
        missing={"dev": ("kk", "th", "tl", "yo")}),
    # Tatoeba: HF `validation` is XTREME's test; pairs are aligned (gold = identity).
    Dataset("tatoeba", "retrieval", HubSource("google/xtreme", "tatoeba.{iso3}", {"test": "validation"}),
            row_format="tatoeba", languages=TATOEBA_LANGS, train_languages=()),
)}


@dataclass(frozen=True)
class Intermediate:
    name: str
    type: str
    dataset: str
    description: str


INTERMEDIATE_TASKS = {t.name: t for t in (
    Intermediate("mnli", "classification", "mnli", "MultiNLI, 3-way NLI"),
    Intermediate("squad_v1", "qa", "squad_v1", "SQuAD v1.1 extractive QA"),
)}
NO_INTERMEDIATE = "none"


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    dataset: str               # the evaluation data, every language of the list
    train_dataset: str | None  # the English training data (XNLI <- MNLI, XQuAD <- SQuAD v1.1)
    metric: str                # headline metric per language
    group: str                 # XTREME category


TARGETS = {t.name: t for t in (
    Target("xnli", "classification", "xnli", "mnli", "accuracy", "classification"),
    Target("xquad", "qa", "xquad", "squad_v1", "f1_em", "qa"),
    Target("udpos", "tagging", "udpos", "udpos", "f1", "structured_prediction"),
    Target("tatoeba", "retrieval", "tatoeba", None, "accuracy", "retrieval"),
)}
BENCHMARK_TARGETS = {"xtreme": tuple(TARGETS)}


def target_languages(target: str, profile: str, restrict: list[str] | None = None) -> tuple[str, ...]:
    langs = DATASETS[TARGETS[target].dataset].languages_for(profile)
    if restrict is None:
        return langs
    return tuple(l for l in langs if l in restrict)


def registry_rows() -> list[dict]:
    """One row per task, for `xstilts tasks`."""
    rows = []
    for t in INTERMEDIATE_TASKS.values():
        d = DATASETS[t.dataset]
        rows.append({"name": t.name, "role": "intermediate", "type": t.type,
                     "source": f"{d.source.repo}:{d.source.config}", "languages": list(d.languages),
                     "metric": "dev accuracy" if t.type == "classification" else "dev (EM+F1)/2",
                     "train_data": t.dataset})
    for t in TARGETS.values():
        d = DATASETS[t.dataset]
        rows.append({"name": t.name, "role": "target", "type": t.type,
                     "source": f"{d.source.repo}:{d.source.config}", "languages": list(d.languages),
                     "metric": t.metric, "train_data": t.train_dataset or "-"})
    return rows
