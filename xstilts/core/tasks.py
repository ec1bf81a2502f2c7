"""The task registry: every intermediate task and target task the pipeline knows, as plain data.

A *task* is what one `prepare` stage turns into canonical rows (xstilts/data/normalize/) and what one
training or retrieval stage consumes. Each task names:
  - its type (the head and the canonical row schema) and metric;
  - its English training and dev data (targets: XNLI <- MNLI, XQuAD/MLQA <- SQuAD v1.1, XCOPA <-
    COPA, the others <- their own English train; retrieval targets have none);
  - its evaluation data per language: a Hub source whose config names a language ({code}, {iso3},
    {name}, {lower}), or a mixed-language config split by id prefix (TyDiQA);
  - its official languages in each benchmark (XTREME, XTREME-R), and per-language source
    overrides where a benchmark's language is not in the default repo (XTREME-R's additions).
Profile tiny reads the same repos/configs/splits from the embedded world (xstilts/world/grammar.py), which
writes every source in its real schema, so one loader and one normalizer serve both profiles.

This module imports nothing heavy: the CLI validates params with it before any torch import.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from xstilts.core.languages import REAL_LANGUAGES, WORLD_LANGUAGES, Language, languages_of  # noqa: F401

TASK_TYPES = ("classification", "multiple_choice", "qa", "tagging", "retrieval")

# Label names in our canonical order. Labels are always mapped by *name* from the source's
# features: HF's MNLI/XNLI order (entailment, neutral, contradiction) differs from jiant's and
# XTREME's alphabetical order, HF's NER order differs from XTREME's labels.txt, so integer ids
# are never trusted.
NLI_LABELS = ("entailment", "neutral", "contradiction")
QQP_LABELS = ("not_duplicate", "duplicate")
PAWS_LABELS = ("0", "1")  # 1 = paraphrase, as the source names them
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
             "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
LABEL_ALIASES = {"contradictory": "contradiction"}  # XNLI-MT's English MNLI file spells it so


PROFILES = ("tiny", "paper")
BENCHMARKS = ("xtreme", "xtreme_r")
SPLITS = ("train", "dev", "test")


# --- official language lists, in evaluate.py's order (its averages sum in this order) -----
XNLI = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX = ("de", "en", "es", "fr", "ja", "ko", "zh")
UDPOS = ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu",
         "id", "it", "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur",
         "vi", "yo", "zh")
UDPOS_R = UDPOS + ("lt", "pl", "uk", "wo", "ro")  # XTREME-R: UD v2.7 adds these five
PANX = ("ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de",
        "el", "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko",
        "th", "sw", "yo", "my", "zh", "kk", "tr", "et", "fi", "hu")
PANX_R = PANX + ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")
XQUAD = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi")
XQUAD_R = XQUAD + ("ro",)
MLQA = ("en", "es", "de", "ar", "hi", "vi", "zh")
TYDIQA = ("en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te")
BUCC = ("de", "fr", "ru", "zh")
TATOEBA = ("ar", "he", "vi", "id", "jv", "tl", "eu", "ml", "ta", "te", "af", "nl", "de", "el", "bn",
           "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko", "th", "sw",
           "zh", "kk", "tr", "et", "fi", "hu")
TATOEBA_R = TATOEBA + ("az", "lt", "pl", "uk", "ro")
XCOPA = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
MEWSLIX = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
LAREQA = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


# --- sources ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One split of one Hub config. `config` may hold {code}, {iso3}, {name} or {lower} (the
    language name in lower case); `select` keeps the rows of one language of a mixed config."""
    repo: str
    config: str
    split: str
    format: str                    # the normalizer that reads its rows (xstilts/data/normalize/: NORMALIZERS)
    select: str | None = None      # "id_prefix": row ids start with "<lower>-" (TyDiQA)
    revision: str = "main"         # default revision; params `paper.data.revisions.<repo>` overrides it

    @property
    def label(self) -> str:
        return f"{self.repo}:{self.config}:{self.split}"


MNLI_TRAIN = (Source("nyu-mll/glue", "mnli", "train", "nli"),)
MNLI_DEV = (Source("nyu-mll/glue", "mnli", "validation_matched", "nli"),)
SQUAD_TRAIN = (Source("rajpurkar/squad", "plain_text", "train", "squad"),)
SQUAD_DEV = (Source("rajpurkar/squad", "plain_text", "validation", "squad"),)
CCGBANK = "ccgbank"  # not a Hub repo: a user-supplied CCGbank directory (params <profile>.data.ccgbank)


@dataclass(frozen=True)
class Task:
    name: str
    role: str                                   # intermediate | target | both
    type: str                                   # one of TASK_TYPES
    metric: str                                 # headline metric (per language for targets)
    description: str
    train: tuple[Source, ...] = ()              # English training data, concatenated
    dev: tuple[Source, ...] = ()                # English dev data (early stopping on its first N)
    train_from: str | None = None               # which English data a target trains on, by name
    eval: dict[str, Source] = field(default_factory=dict)   # split -> per-language source pattern
    languages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # benchmark -> official list
    overrides: dict[str, dict[str, Source]] = field(default_factory=dict)  # lang -> split -> source
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)    # split -> languages without it
    labels: tuple[str, ...] | None = ()         # None: the label set is read from the data (CCG)
    retrieval: str | None = None                # bitext (Tatoeba) | mining (BUCC) | ranking (LAReQA, Mewsli-X)
    pool: Source | None = None                  # ranking: the candidate pool shared by all languages
    no_answer: bool = False                     # QA with unanswerable questions (SQuAD v2.0)
    answers_as: str = "squad"                   # QA scoring: SQuAD's answer normalization, or "mlqa" (per language)
    one_gold: bool = False                      # ranking: one gold candidate per query, scored by reciprocal
                                                # rank (Mewsli-X)
    translated_train: Source | None = None      # published translate-train data ({code}: the language)
    notes: str = ""

    @property
    def kind(self) -> str:
        """The task kind (xstilts/kinds): its type, or for retrieval its kind (bitext, mining, ranking)."""
        return self.retrieval or self.type

    @property
    def is_intermediate(self) -> bool:
        return self.role in ("intermediate", "both")

    @property
    def is_target(self) -> bool:
        return self.role in ("target", "both")

    @property
    def trains(self) -> bool:
        return bool(self.train)

    def all_languages(self) -> tuple[str, ...]:
        seen: list[str] = []
        for langs in self.languages.values():
            seen += [l for l in langs if l not in seen]
        return tuple(seen)

    def languages_for(self, profile: str, benchmark: str) -> tuple[str, ...]:
        """The evaluation languages: the benchmark's official list (paper) or the world's (tiny)."""
        if not self.eval:
            return ()
        if profile == "tiny":  # retrieval against English pairs others with en, so en is not a query language
            world = tuple(WORLD_LANGUAGES)
            official = self.languages.get(benchmark) or self.all_languages()
            return world if "en" in official else tuple(c for c in world if c != "en")
        return self.languages.get(benchmark, ())

    def eval_source(self, split: str, lang: str, profile: str) -> Source | None:
        if profile == "paper" and lang in self.missing.get(split, ()):
            return None
        if profile == "paper" and split in self.overrides.get(lang, {}):
            return self.overrides[lang][split]
        return self.eval.get(split)


def _dev_test(repo, config, fmt) -> dict[str, Source]:
    """The usual evaluation splits: our dev = the source's validation, our test = its test."""
    return {"dev": Source(repo, config, "validation", fmt), "test": Source(repo, config, "test", fmt)}


def _nli(name, role, description, train, dev, **kw):
    return Task(name, role, "classification", "accuracy", description, train=train, dev=dev,
                labels=NLI_LABELS, **kw)


TASKS = {t.name: t for t in (
    # --- the nine English intermediate tasks (paper.md §1; claims.md's working list) ---------
    _nli("anli_plus", "intermediate", "ANLI r1-r3 + MNLI + SNLI, one 3-way NLI head (Nie et al. 2019)",
         train=(*(Source("facebook/anli", "plain_text", f"train_r{r}", "nli") for r in (1, 2, 3)),
                *MNLI_TRAIN, Source("stanfordnlp/snli", "plain_text", "train", "nli")),
         dev=(*(Source("facebook/anli", "plain_text", f"dev_r{r}", "nli") for r in (1, 2, 3)),
              *MNLI_DEV, Source("stanfordnlp/snli", "plain_text", "validation", "nli")),
         notes="dev rows of the five sources are interleaved so early stopping's first 500 mix them"),
    _nli("mnli", "intermediate", "MultiNLI, 3-way NLI", MNLI_TRAIN, MNLI_DEV),
    Task("qqp", "intermediate", "classification", "accuracy", "Quora Question Pairs, paraphrase",
         train=(Source("nyu-mll/glue", "qqp", "train", "qqp"),),
         dev=(Source("nyu-mll/glue", "qqp", "validation", "qqp"),),
         labels=QQP_LABELS),
    Task("squad_v1", "intermediate", "qa", "f1_em", "SQuAD v1.1 extractive QA", train=SQUAD_TRAIN, dev=SQUAD_DEV),
    Task("squad_v2", "intermediate", "qa", "f1_em", "SQuAD v2.0 extractive QA with unanswerable questions",
         train=(Source("rajpurkar/squad_v2", "squad_v2", "train", "squad"),),
         dev=(Source("rajpurkar/squad_v2", "squad_v2", "validation", "squad"),), no_answer=True),
    Task("hellaswag", "intermediate", "multiple_choice", "accuracy", "HellaSwag, 4-way sentence completion",
         train=(Source("Rowan/hellaswag", "default", "train", "hellaswag"),),
         dev=(Source("Rowan/hellaswag", "default", "validation", "hellaswag"),)),
    Task("ccg", "intermediate", "tagging", "token_accuracy", "CCGbank supertagging (LDC2005T13, user-supplied)",
         train=(Source(CCGBANK, "AUTO", "train", "ccg"),), dev=(Source(CCGBANK, "AUTO", "dev", "ccg"),), labels=None,
         notes="sections 00-18 train, 19-21 dev, 22-24 test (jiant's split); tag set read from the data"),
    Task("cosmosqa", "intermediate", "multiple_choice", "accuracy", "Cosmos QA, 4-way reading comprehension",
         # main still holds a loading script (datasets.md 2.9): read the Hub's parquet export
         train=(Source("allenai/cosmos_qa", "default", "train", "cosmosqa", revision="refs/convert/parquet"),),
         dev=(Source("allenai/cosmos_qa", "default", "validation", "cosmosqa", revision="refs/convert/parquet"),)),
    Task("commonsenseqa", "intermediate", "multiple_choice", "accuracy", "CommonsenseQA, 5-way",
         train=(Source("tau/commonsense_qa", "default", "train", "commonsenseqa"),),
         dev=(Source("tau/commonsense_qa", "default", "validation", "commonsenseqa"),)),

    # --- XTREME targets (paper.md §2, §5) and XTREME-R's (§6) ---------------------------------
    Task("xnli", "target", "classification", "accuracy", "XNLI, cross-lingual NLI",
         train=MNLI_TRAIN, dev=MNLI_DEV, train_from="mnli", labels=NLI_LABELS,
         eval=_dev_test("facebook/xnli", "{code}", "nli"),
         translated_train=Source("facebook/xnli", "{code}", "train", "nli"),  # MNLI's train, machine-translated
         languages={"xtreme": XNLI, "xtreme_r": XNLI}),
    Task("pawsx", "target", "classification", "accuracy", "PAWS-X, paraphrase adversaries",
         train=(Source("google-research-datasets/paws-x", "en", "train", "paws"),),
         dev=(Source("google-research-datasets/paws-x", "en", "validation", "paws"),), train_from="pawsx",
         labels=PAWS_LABELS,
         eval=_dev_test("google-research-datasets/paws-x", "{code}", "paws"),
         translated_train=Source("google-research-datasets/paws-x", "{code}", "train", "paws"),  # translated train
         languages={"xtreme": PAWSX}),
    Task("xcopa", "target", "multiple_choice", "accuracy", "XCOPA, causal commonsense (2-way)",
         train=(Source("aps/super_glue", "copa", "train", "copa"),),
         dev=(Source("aps/super_glue", "copa", "validation", "copa"),), train_from="copa",
         eval=_dev_test("cambridgeltl/xcopa", "{code}", "copa"),
         languages={"xtreme_r": XCOPA},
         notes="XTREME-R trains on SIQa, then COPA; this pipeline trains on COPA only"),
    Task("udpos", "target", "tagging", "f1", "Universal Dependencies v2.5 POS tagging",
         train=(Source("google/xtreme", "udpos.English", "train", "udpos"),),
         dev=(Source("google/xtreme", "udpos.English", "validation", "udpos"),), train_from="udpos",
         labels=UPOS_TAGS,
         eval=_dev_test("google/xtreme", "udpos.{name}", "udpos"),
         languages={"xtreme": UDPOS, "xtreme_r": UDPOS_R},
         # XTREME-R's UD v2.7 languages: a community parquet copy, test split only
         overrides={l: {"test": Source("izhx/xtreme-r-udpos", "{code}", "test", "udpos")}
                    for l in ("lt", "pl", "uk", "wo", "ro")},
         missing={"dev": ("kk", "th", "tl", "yo", "lt", "pl", "uk", "wo", "ro")},
         notes="HF udpos.<Name> merges every treebank of a language (Greek adds Ancient Greek): see datasets.md 3.3"),
    Task("panx", "target", "tagging", "f1", "WikiANN / PAN-X named entities",
         train=(Source("google/xtreme", "PAN-X.en", "train", "panx"),),
         dev=(Source("google/xtreme", "PAN-X.en", "validation", "panx"),), train_from="panx",
         labels=NER_TAGS,
         eval=_dev_test("google/xtreme", "PAN-X.{code}", "panx"),
         languages={"xtreme": PANX, "xtreme_r": PANX_R},
         overrides={l: _dev_test("unimelb-nlp/wikiann", "{code}", "panx")
                    for l in ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")}),
    Task("xquad", "target", "qa", "f1_em", "XQuAD, extractive QA (SQuAD v1.1 translated)",
         train=SQUAD_TRAIN, dev=SQUAD_DEV, train_from="squad_v1",
         eval={"test": Source("google/xquad", "xquad.{code}", "validation", "squad")},  # no dev apart from test
         languages={"xtreme": XQUAD, "xtreme_r": XQUAD_R}),
    Task("mlqa", "target", "qa", "f1_em", "MLQA, extractive QA (context and question in the same language)",
         train=SQUAD_TRAIN, dev=SQUAD_DEV, train_from="squad_v1", answers_as="mlqa",
         eval=_dev_test("google/xtreme", "MLQA.{code}.{code}", "squad"),
         languages={"xtreme": MLQA, "xtreme_r": MLQA},
         notes="XTREME scores the diagonal context-L/question-L pairs only"),
    Task("tydiqa", "target", "qa", "f1_em", "TyDiQA-GoldP, extractive QA",
         train=(Source("google/xtreme", "tydiqa", "train", "squad", select="id_prefix"),),
         dev=(Source("google/xtreme", "tydiqa", "validation", "squad", select="id_prefix"),), train_from="tydiqa",
         eval={"test": Source("google/xtreme", "tydiqa", "validation", "squad", select="id_prefix")},
         languages={"xtreme": TYDIQA, "xtreme_r": TYDIQA},
         notes="one mixed-language config: languages split by id prefix; trains on the English part of train; "
               "English validation is both early-stopping dev and the en test row (as jiant)"),
    Task("bucc2018", "target", "retrieval", "f1", "BUCC 2018 bitext mining",
         retrieval="mining",
         eval={"dev": Source("google/xtreme", "bucc18.{code}", "validation", "bucc_pairs"),
               "test": Source("mteb/BUCC", "{code}-en", "test", "bucc_corpus")},
         languages={"xtreme": BUCC},
         notes="threshold tuned on dev; no Hub copy has the dev (sample) corpora with distractors, so dev "
               "mining runs over the gold pairs only"),
    Task("tatoeba", "target", "retrieval", "accuracy", "Tatoeba sentence retrieval (to English)",
         retrieval="bitext",
         eval={"test": Source("google/xtreme", "tatoeba.{iso3}", "validation", "tatoeba")},
         languages={"xtreme": TATOEBA, "xtreme_r": TATOEBA_R},
         overrides={l: {"test": Source("mteb/tatoeba-bitext-mining", "{iso3}-eng", "test", "tatoeba_mteb")}
                    for l in ("az", "lt", "pl", "uk", "ro")}),
    Task("lareqa", "target", "retrieval", "map@20", "LAReQA, language-agnostic answer retrieval (XQuAD-R)",
         retrieval="ranking",
         eval={"test": Source("google-research-datasets/xquad_r", "{code}", "validation", "xquad_r")},
         languages={"xtreme_r": LAREQA},
         notes="candidate pool = every sentence of every language; the HF copy drops sentence_breaks, so "
               "sentences are re-segmented; no dual-encoder fine-tuning (the arm's encoder is used as is)"),
    Task("mewslix", "target", "retrieval", "map@20", "Mewsli-X, entity linking as retrieval",
         retrieval="ranking", one_gold=True,
         eval=_dev_test("izhx/mewsli-x", "{code}", "mewslix"),
         # only the Hub's parquet export holds the entities as a loadable config
         pool=Source("izhx/mewsli-x", "candidate_entities", "test", "mewslix_entities",
                     revision="refs/convert/parquet"),
         languages={"xtreme_r": MEWSLIX},
         notes="queries = the mention's sentence as XTREME formats it; candidates = entity descriptions; "
               "XTREME's 'mAP@20' is MRR@20 (one gold entity); no fine-tuning on wikipedia_pairs"),
)}

NO_INTERMEDIATE = "none"
INTERMEDIATE_TASKS = {n: t for n, t in TASKS.items() if t.is_intermediate}
# The paper's nine English intermediate tasks (paper.md §0-§1: v1's seven, SQuAD = v1.1, plus MNLI and
# SQuAD v2.0), named here and not derived from the registry: an intermediate task added later (in
# TASKS or by `register`) is one more single-task arm, never a silent change to the paper's mixture.
PAPER_INTERMEDIATE_TASKS = ("anli_plus", "mnli", "qqp", "squad_v1", "squad_v2", "hellaswag", "ccg", "cosmosqa",
                            "commonsenseqa")
# Multi-task intermediate training (paper.md §4): the nine at once, each with its own head, in this
# order; the first version's mixture left SQuAD out "due to implementation issues" (multitask_v1 is
# the nine without SQuAD v1.1 and v2.0: it keeps MNLI, which v1's list of seven did not have).
MULTITASK = {
    "multitask": PAPER_INTERMEDIATE_TASKS,
    "multitask_v1": tuple(t for t in PAPER_INTERMEDIATE_TASKS if t not in ("squad_v1", "squad_v2")),
}
assert all(m in INTERMEDIATE_TASKS for members in MULTITASK.values() for m in members), MULTITASK
MLM = "mlm"  # the member name of masked-LM during intermediate training (intermediate_mlm: true)
TARGET_TRAINING = ("zero_shot", "translate_train", "translate_train_all")


def intermediate_members(name: str) -> tuple[str, ...]:
    """The intermediate tasks a value of the `intermediate` param trains on ('none': nothing)."""
    if name == NO_INTERMEDIATE:
        return ()
    return MULTITASK.get(name, (name,))
TARGETS = {n: t for n, t in TASKS.items() if t.is_target}
# Each benchmark's tasks in evaluate.py's order (its output lists them so) and its groups, exactly
# as evaluate.py names them. XTREME-R's evaluate.py lists LAReQA with no languages and no metric, so
# it is in no group; xstilts/eval/scorer.py scores it (mAP@20) and counts it in the overall score.
BENCHMARK_TARGETS = {
    "xtreme": ("pawsx", "xnli", "panx", "udpos", "bucc2018", "tatoeba", "xquad", "mlqa", "tydiqa"),
    "xtreme_r": ("xnli", "panx", "udpos", "tatoeba", "xcopa", "lareqa", "mewslix", "xquad", "mlqa", "tydiqa"),
}


def register(task: Task) -> Task:
    """Add a task to the registry (README "Extend"): its name then works everywhere a task name does.
    A target must also be listed in BENCHMARK_TARGETS (and a group) to be scored in a benchmark."""
    if task.name in TASKS or task.name in MULTITASK or task.name == NO_INTERMEDIATE:
        raise ValueError(f"task '{task.name}' is already registered")
    if task.type not in TASK_TYPES:
        raise ValueError(f"task '{task.name}': unknown type '{task.type}'; valid: {', '.join(TASK_TYPES)}")
    TASKS[task.name] = task
    if task.is_intermediate:
        INTERMEDIATE_TASKS[task.name] = task
    if task.is_target:
        TARGETS[task.name] = task
    return task


assert all(set(BENCHMARK_TARGETS[b]) == {n for n, t in TARGETS.items() if b in t.languages} for b in BENCHMARKS)
BENCHMARK_GROUPS = {
    "xtreme": {"classification": ("pawsx", "xnli"), "tagging": ("udpos", "panx"),
               "qa": ("xquad", "mlqa", "tydiqa"), "retrieval": ("bucc2018", "tatoeba")},
    "xtreme_r": {"classification": ("xnli", "xcopa"), "tagging": ("udpos", "panx"),
                 "qa": ("xquad", "mlqa", "tydiqa"), "retrieval": ("tatoeba", "mewslix"),
                 "multi_choice": ("xcopa",)},
}


def target_languages(target: str, profile: str, benchmark: str,
                     restrict: list[str] | None = None) -> tuple[str, ...]:
    langs = TARGETS[target].languages_for(profile, benchmark)
    return langs if restrict is None else tuple(l for l in langs if l in restrict)


def _source_text(task: Task) -> str:
    sources = [*task.eval.values()] or [*task.train]
    return ", ".join(dict.fromkeys(f"{source.repo}:{source.config}" for source in sources))


def registry_rows() -> list[dict]:
    """One row per task, for `xstilts tasks`."""
    rows = []
    for task in TASKS.values():
        splits = {}
        for part, sources in (("train", task.train), ("dev", task.dev)):
            if sources:
                splits[part] = [source.label for source in sources]
        for split, source in task.eval.items():
            splits[f"eval_{split}"] = source.label
        every_source = (*task.train, *task.dev, *task.eval.values(), *([task.pool] if task.pool else []))
        rows.append({
            "name": task.name, "role": task.role,
            "type": task.type + (f"/{task.retrieval}" if task.retrieval else ""),
            "source": _source_text(task), "splits": splits,
            "revision": {source.label: source.revision for source in every_source if source.repo != CCGBANK},
            "languages": ({benchmark: list(langs) for benchmark, langs in task.languages.items()} if task.is_target
                          else {"train": ["en"]}),
            "language_overrides": {lang: {split: source.label for split, source in by_split.items()}
                                   for lang, by_split in task.overrides.items()},
            "missing": {split: list(langs) for split, langs in task.missing.items()},
            "metric": task.metric, "train_data": task.train_from or (task.name if task.train else None),
            "labels": list(task.labels) if task.labels else ("from data" if task.labels is None else None),
            "benchmarks": [benchmark for benchmark in BENCHMARKS if benchmark in task.languages],
            "groups": {benchmark: [group for group, members in BENCHMARK_GROUPS[benchmark].items()
                                   if task.name in members]
                       for benchmark in BENCHMARKS if benchmark in task.languages},
            "description": task.description, "notes": task.notes,
        })
    return rows
