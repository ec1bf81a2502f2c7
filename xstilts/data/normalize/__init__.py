"""Normalizing loaded sources to one canonical schema per task type.

One path serves both profiles: a source is one split of a Hub dataset config (xstilts/core/tasks.py:
Source). Profile paper loads it from the Hub, or from a local mirror in the Hub's own parquet layout
(`paper.data.local_hub`); profile tiny reads the embedded world, which *is* such a mirror
(data/world/hub/<repo>/<config>/<split>-*.parquet). CCG reads a CCGbank directory (licensed, never
on the Hub). Rows are then normalized by the same code, labels always by *name*.

Canonical rows (JSON lines):
  classification   {id, text_a, text_b, label}                 label = a name from the task's list
  multiple_choice  {id, context, question, choices: [...], label}   label = index of the right choice
  qa               {id, context, question, answers: [{text, start}]}   [] = unanswerable (SQuAD v2)
  tagging          {id, tokens: [...], tags: [...]}             tags = names
  retrieval        {kind: query, id, text, relevant: [candidate ids]} | {kind: candidate, id, text}

Prepared layout, data/prepared/<task>/ (or data/prepared/intermediate/ for the intermediate task):
  train.jsonl, dev.jsonl              English training data and early-stopping dev data
  eval/<split>-<lang>.jsonl           evaluation rows per split (dev | test) and language
  eval/<split>-pool.jsonl             the candidate pool shared by all languages (LAReQA, Mewsli-X)
  meta.json                           task, type, labels, sources and revisions, counts, dropped rows
                                      and repaired rows, each by reason

Faults and policies (every normalizer; `normalize` runs them):
  - Errors: a source that cannot be read as its format says is a `DataSourceError` (exit code 3),
    one line naming the file (the mirror's parquet shard, or repo/config/split/revision), the row
    (0-based, in the source's order) and its id where the source has one, the column, what was
    expected and what was found: a missing column (the columns there are named), a label outside
    the ClassLabel or the task's label set (the valid ones are named), a tagging row whose tokens and
    tags differ in length, null or non-string text where text is needed, an answer that cannot be
    located in its context (`strict`, as the prepare stages run it). Columns are checked once, text
    and labels per column (labels per distinct value), so a 400k-row split costs milliseconds more.
  - Dropped and counted by reason (meta.json `dropped`): the placeholder rows real sources carry,
    unlabeled test rows (label -1 / '' / null), SNLI's rows without a gold label (-1) ("unlabeled");
    tagging rows without tokens or with a placeholder tag ("empty or untagged"); QA rows with no
    answer where the task needs one ("no answer"); Mewsli-X mentions that cross a sentence
    boundary; without `strict` only, answers not in their context ("answer not in context", "no
    answer left").
  - Repaired and counted (meta.json `repaired`): an answer_start that does not point at its answer
    text, when the text occurs in the context (google/xtreme stripped contexts, shifting offsets):
    the nearest occurrence is used ("answer_start repaired").
  The output for valid rows does not depend on any of this: it is what it always was.

Modules, one per source family (each normalizer is registered by its source format in NORMALIZERS,
below; formats that need every language at once in POOLED_FORMATS):
  classification.py   NLI (MNLI, ANLI, SNLI, XNLI) and paraphrase (QQP, PAWS-X)
  multiple_choice.py  HellaSwag, Cosmos QA, CommonsenseQA, COPA / XCOPA
  qa.py               SQuAD v1.1 / v2.0, XQuAD, MLQA, TyDiQA-GoldP
  tagging.py          UD-POS, PAN-X / WikiANN
  retrieval.py        Tatoeba, BUCC, Mewsli-X, LAReQA (XQuAD-R's pooled candidates)
  faults.py           the one-line errors, checks and label mapping they share; `Dropped`
"""
from __future__ import annotations

from xstilts.core import tasks
from xstilts.data.normalize.classification import nli, paws, qqp
from xstilts.data.normalize.faults import Dropped
from xstilts.data.normalize.multiple_choice import COPA_QUESTIONS, commonsenseqa, copa, cosmosqa, hellaswag
from xstilts.data.normalize.qa import repair_offset, squad
from xstilts.data.normalize.retrieval import (
    bitext,
    bucc_corpus,
    bucc_pairs,
    lareqa_rows,
    mewslix,
    mewslix_entities,
    split_sentences,
)
from xstilts.data.normalize.tagging import token_tags
from xstilts.data.sources import Location, config_name

__all__ = ["COPA_QUESTIONS", "NORMALIZERS", "POOLED_FORMATS", "Dropped", "lareqa_rows", "normalize", "repair_offset",
           "split_sentences"]

# --- normalizers: source rows -> canonical rows ------------------------------------------------
# Each is f(ds, task, source, lang, where, dropped) -> rows: `ds` a datasets.Dataset, `lang` the
# language's info, `where` its Location (str(where) names the file, where.row(k) a row), `dropped`
# a Dropped to count dropped (and repaired) rows in.
NORMALIZERS = {
    "nli": nli, "qqp": qqp, "paws": paws, "squad": squad, "hellaswag": hellaswag, "cosmosqa": cosmosqa,
    "commonsenseqa": commonsenseqa, "copa": copa, "udpos": token_tags("pos_tags"), "panx": token_tags("ner_tags"),
    "tatoeba": bitext("source_sentence", "target_sentence"), "tatoeba_mteb": bitext("sentence1", "sentence2"),
    "bucc_pairs": bucc_pairs, "bucc_corpus": bucc_corpus, "mewslix": mewslix,
    "mewslix_entities": mewslix_entities,
}


def normalize(task: tasks.Task, source: tasks.Source, ds, lang: str = "en", profile: str = "paper", *,
              where=None, strict: bool = False) -> tuple[list[dict], Dropped]:
    """Canonical rows of one loaded split (of language `lang`), and counts of what was dropped and why
    (a dict; its `.repaired` counts the rows repaired, by reason). `where`: the split's Location (for
    error messages; default: the Hub repo, config and split). `strict`: an answer that does not occur
    in its context is an error (the prepare stages), not a dropped row."""
    if source.format not in NORMALIZERS:
        raise ValueError(f"no normalizer for source format '{source.format}' (known: {', '.join(NORMALIZERS)})")
    dropped = Dropped(strict)
    if where is None:
        where = Location(source.repo, config_name(source, lang, profile), source.split, revision=source.revision)
    info = tasks.languages_of(profile)[lang]
    rows = NORMALIZERS[source.format](ds, task, source, info, where, dropped)
    return rows, dropped


# Formats that need every language at once (one candidate pool shared by all languages):
# {language: loaded split} -> ({language: query rows}, pool rows).
POOLED_FORMATS = {"xquad_r": lareqa_rows}
