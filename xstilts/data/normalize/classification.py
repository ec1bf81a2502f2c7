"""Normalizers of sentence-pair classification sources (NLI: MNLI, ANLI, SNLI, XNLI; paraphrase:
QQP, PAWS-X) to canonical rows {id, text_a, text_b, label}, the label a name of the task's list."""
from __future__ import annotations

from xstilts.data.normalize.faults import Subset, label_column, label_names, require, text_column


def _pairs(ds, task, where, cols, dropped, id_col=None):
    """Sentence pairs with a label. Dropped: unlabeled placeholders (-1 / '' / null: the GLUE and
    XNLI test splits, SNLI's rows without a gold label)."""
    require(ds, where, *cols)
    has_ids = bool(id_col) and id_col in ds.column_names
    ids = [str(v) for v in ds[id_col][:]] if has_ids else [str(k) for k in range(len(ds))]
    shown = ids if has_ids else None
    labels = label_column(ds[cols[2]][:], label_names(ds, cols[2]), task.labels, where, cols[2], shown)
    a = text_column(ds, cols[0], where, shown, keep=labels)
    b = text_column(ds, cols[1], where, shown, keep=labels)
    rows = []
    for id_, text_a, text_b, label in zip(ids, a, b, labels):
        if label is None:
            dropped.add("unlabeled")
            continue
        rows.append({"id": id_, "text_a": text_a, "text_b": text_b, "label": label})
    return rows


def nli(ds, task, source, lang, where, dropped):
    """GLUE/ANLI/SNLI/facebook-xnli (premise, hypothesis, label) or google/xtreme XNLI (sentence1,
    sentence2, gold_label; all languages in one config: the language's rows are kept)."""
    columns = ds.column_names
    if "premise" in columns or not {"sentence1", "gold_label"} & set(columns):
        id_col = "uid" if "uid" in columns else "idx"  # ANLI has uid, GLUE idx
        return _pairs(ds, task, where, ("premise", "hypothesis", "label"), dropped, id_col)
    if "language" in columns:  # google/xtreme XNLI: all languages in one config
        index = [k for k, code in enumerate(ds["language"][:]) if code == lang.code]
        ds, where = ds.select(index), Subset(where, index)
    return _pairs(ds, task, where, ("sentence1", "sentence2", "gold_label"), dropped)


def qqp(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("question1", "question2", "label"), dropped, "idx")


def paws(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("sentence1", "sentence2", "label"), dropped, "id")

