"""What a run reads from the Hub, as data: every (repo, config, split) the loaders will open.

Profile paper loads its sources from the Hub or from a local mirror (`paper.data.local_hub`). This
module lists them without loading anything, so that a mirror can be checked or generated
(xstilts/data/fixtures/ writes a small fixture mirror from such a list) and a user can see what a
configuration will download. It mirrors what the stages actually open:

  - prepare@<target> (xstilts/data/prepare.py): a target of the active benchmark loads its English
    train and dev sources (when it trains), every evaluation split of every *official* language of
    the benchmark (per-language overrides applied, a split's `missing` languages left out; the
    `languages` param does not restrict it: it restricts training and scoring downstream), and the
    candidate pool of a ranking task (Mewsli-X). A target outside the benchmark is skipped.
  - prepare_intermediate: the English train and dev sources of each intermediate member, and the
    MLM corpus of the 40 XTREME languages when `intermediate_mlm` is on.
  - translate_train@<target> with `translate.published`: the Hub's own translation of the training
    set (`Task.translated_train`) in each non-English language of the run (`languages` applies).

CCGbank is licensed and never on the Hub (a user-supplied directory): it is no Need.

This module must import in milliseconds (the CLI lists needs before any heavy import): only
xstilts.core and xstilts.data.sources, which imports nothing heavy at module level.
"""
from __future__ import annotations

from dataclasses import dataclass

from xstilts.core import tasks
from xstilts.data import sources

PROFILE = "paper"         # needs are Hub sources: the tiny profile reads the embedded world instead
MLM_FORMAT = "mlm_corpus"  # the MLM corpus's rows are read by prepare.mlm_corpus, not by a normalizer
MIXED = None              # Need.lang of a config holding several languages (TyDiQA) or none (a pool)


@dataclass(frozen=True)
class Need:
    """One split of one Hub config that a run opens, at the revision it is read at."""
    repo: str
    config: str               # the resolved config name (no {code} placeholders left)
    split: str
    revision: str
    format: str               # the normalizer that reads it (tasks.Source.format), or MLM_FORMAT
    task: str                 # the first task that reads it (others may share it)
    lang: str | None          # the language its rows are read for; None: a mixed config or a pool

    @property
    def label(self) -> str:
        return f"{self.repo}:{self.config}:{self.split}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.repo, self.config, self.split)


def mlm_languages() -> tuple[str, ...]:
    """The MLM corpus's languages: the 40 XTREME languages, as prepare.mlm_corpus computes them."""
    return tuple(sorted({l for t in tasks.BENCHMARK_TARGETS["xtreme"] for l in tasks.TARGETS[t].languages["xtreme"]}))


class _Needs:
    """An ordered set of Needs, deduplicated on (repo, config, split): the first reader is kept."""

    def __init__(self, revisions: dict | None):
        self.revisions = dict(revisions or {})
        self.items: dict[tuple[str, str, str], Need] = {}

    def source(self, task: tasks.Task, source: tasks.Source, lang: str | None) -> None:
        if source.repo == tasks.CCGBANK:  # a user-supplied directory, not a Hub repo
            return
        # config_name resolves {code}/{iso3}/{name}/{lower}; a config without placeholders (a
        # mixed-language one, a pool) resolves to itself whatever the language
        config = sources.config_name(source, lang or "en", PROFILE)
        self._add(Need(source.repo, config, source.split, self.revisions.get(source.repo, source.revision),
                       source.format, task.name, lang))

    def english(self, task: tasks.Task) -> None:
        """A task's English training and early-stopping data (prepare.write_training)."""
        for source in (*task.train, *task.dev):
            self.source(task, source, "en" if source.select is None else MIXED)

    def evaluation(self, task: tasks.Task, languages) -> None:
        """Every evaluation split in every language, as prepare.write_eval opens them: per split,
        per language (pooled formats such as LAReQA's too: one load per language), after the
        shared candidate pool of a ranking task."""
        if task.pool is not None:
            self.source(task, task.pool, MIXED)
        for split in task.eval:
            for lang in languages:
                source = task.eval_source(split, lang, PROFILE)
                if source is not None:  # the split is missing for this language
                    self.source(task, source, MIXED if source.select is not None else lang)

    def translated(self, task: tasks.Task, languages) -> None:
        """The published translate-train sets (translate.published_rows): non-English languages only."""
        if task.translated_train is None or not task.trains:
            return
        for lang in languages:
            if lang != "en":
                self.source(task, task.translated_train, lang)

    def mlm(self, mlm) -> None:
        if mlm is None:
            return
        if not mlm.corpus or not mlm.corpus_config:
            raise ValueError("the MLM corpus needs `corpus` and `corpus_config` "
                             "(profile paper's intermediate_train.mlm)")
        for code in mlm_languages():
            # prepare.mlm_corpus reads the corpus at the MLM params' own revision
            self._add(Need(mlm.corpus, mlm.corpus_config.format(code=code), "train", mlm.revision or "main",
                           MLM_FORMAT, tasks.MLM, code))

    def _add(self, need: Need) -> None:
        self.items.setdefault(need.key, need)

    def result(self) -> list[Need]:
        return list(self.items.values())


def _restrict(langs, languages) -> tuple[str, ...]:
    return tuple(langs) if languages is None else tuple(l for l in langs if l in languages)


def _members(intermediate) -> list[str]:
    """Member task names: a plain task name is itself; 'multitask'/'none' expand as the param does."""
    out: list[str] = []
    for name in intermediate:
        out += [m for m in tasks.intermediate_members(name) if m not in out]
    return out


def needs(targets, intermediate, benchmarks, languages=None, translated_train: bool = False, mlm=None,
          revisions: dict | None = None) -> list[Need]:
    """Every (repo, config, split) read for `targets` in `benchmarks` (official language lists,
    restricted to `languages` when given), the English data of the `intermediate` tasks, the
    published translate-train sets when `translated_train`, and the MLM corpus when `mlm` (an
    MLMParams: corpus, corpus_config with {code}, revision) is given. `revisions` ({repo: revision},
    params' paper.data.revisions) overrides the registry's default revisions. Stable order: targets
    as given (English data, pool, evaluation, translations), then intermediate tasks, then MLM."""
    acc = _Needs(revisions)
    for name in targets:
        task = tasks.TARGETS[name]
        for benchmark in benchmarks:
            if benchmark not in task.languages:  # prepare skips a target outside the benchmark
                continue
            langs = _restrict(task.languages[benchmark], languages)
            if task.trains:
                acc.english(task)
            acc.evaluation(task, langs)
            if translated_train:
                acc.translated(task, langs)
    for name in _members(intermediate):
        acc.english(tasks.TASKS[name])
    acc.mlm(mlm)
    return acc.result()


def all_needs(mlm) -> list[Need]:
    """Everything the registry names: every target in both benchmarks with every official language,
    every intermediate task, the published translate-train sets, and the MLM corpus (`mlm`: an
    MLMParams, e.g. params.group("intermediate_train").mlm_params(); None leaves it out)."""
    return needs(list(tasks.TARGETS), list(tasks.INTERMEDIATE_TASKS), list(tasks.BENCHMARKS),
                 translated_train=True, mlm=mlm)


def run_needs(params) -> list[Need]:
    """What the configured run (profile paper) opens: its active targets in its benchmark, its
    intermediate members, the published translations under translate-train, the MLM corpus under
    `intermediate_mlm`. The `languages` param restricts the evaluation files and the translations
    (the prepare and translate-train stages honour it: params.target_languages)."""
    if params.profile != PROFILE:
        raise ValueError(f"profile '{params.profile}' reads the embedded world, not the Hub: no needs")
    data_params = params.group("data")
    acc = _Needs(data_params.revisions)
    translated = params.target_training != "zero_shot" and params.group("translate").published
    for name in params.active_targets:
        task = tasks.TARGETS[name]
        if task.trains:
            acc.english(task)
        acc.evaluation(task, params.target_languages(name))
        if translated:
            acc.translated(task, params.target_languages(name))
    for name in params.intermediate_members:
        acc.english(tasks.TASKS[name])
    acc.mlm(params.group("intermediate_train").mlm_params() if params.intermediate_mlm else None)
    return acc.result()
