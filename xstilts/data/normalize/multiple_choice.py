"""Normalizers of multiple-choice sources (HellaSwag, Cosmos QA, CommonsenseQA, COPA / XCOPA) to
canonical rows {id, context, question, choices: [...], label}, the label the right choice's index."""
from __future__ import annotations

from xstilts.data.normalize.faults import BadLabel, check_text, fail, label_name, label_names, require, show


def _choice(rows, dropped, id_, context, question, choices, label):
    if label is None:
        dropped.add("unlabeled")
        return
    rows.append({"id": id_, "context": context, "question": question, "choices": choices, "label": label})


def _choice_label(where, k, column, value, n: int, ids=None) -> None:
    if not 0 <= value < n:
        raise fail(where, k, column, f"label {value} is not a choice index (0-{n - 1})", ids)


def hellaswag(ds, task, source, lang, where, dropped):
    """jiant: context = ctx_a, each choice = ctx_b + " " + ending; label "0".."3". Dropped: the test
    split's blank labels ("unlabeled")."""
    require(ds, where, "ctx_a", "ctx_b", "endings", "label")
    rows = []
    for k, r in enumerate(ds):
        raw = str(r["label"]).strip()
        label = None
        if raw not in ("", "-1", "None"):
            if not raw.lstrip("-").isdigit():
                raise fail(where, k, "label", f"expected a choice index, found {show(r['label'])}")
            label = int(raw)
        endings = r["endings"] or []
        if label is not None:
            _choice_label(where, k, "label", label, len(endings))
            for column in ("ctx_a", "ctx_b"):
                check_text(where, k, column, r[column])
            for ending in endings:
                check_text(where, k, "endings", ending)
        _choice(rows, dropped, str(r.get("ind", k)), r["ctx_a"], "",
                [f"{r['ctx_b']} {e}".strip() for e in endings], label)
    return rows


def cosmosqa(ds, task, source, lang, where, dropped):
    """Four answers, label 0-3 (int32). Dropped: the test split's -1 ("unlabeled")."""
    columns = ("context", "question", *(f"answer{i}" for i in range(4)))
    require(ds, where, *columns, "label")
    rows = []
    for k, r in enumerate(ds):
        label = r["label"] if r["label"] not in (None, -1) else None
        if label is not None:
            ids = {k: r.get("id")} if "id" in r else None
            if type(label) is not int:
                raise fail(where, k, "label", f"expected a choice index, found {show(label)}", ids)
            _choice_label(where, k, "label", label, 4, ids)
            for column in columns:
                check_text(where, k, column, r[column], ids)
        _choice(rows, dropped, str(r.get("id", k)), r["context"], r["question"],
                [r[f"answer{i}"] for i in range(4)], label)
    return rows


def commonsenseqa(ds, task, source, lang, where, dropped):
    """Choices keyed "A".."E"; the answer key is matched by name. Dropped: the test split's blank
    answerKey ("unlabeled")."""
    require(ds, where, "question", "choices.label", "choices.text", "answerKey")
    rows = []
    for k, r in enumerate(ds):
        ids = {k: r.get("id")} if "id" in r else None
        keys = list(r["choices"]["label"])  # "A".."E": the answer key is matched by name
        key = r["answerKey"]
        if key and key not in keys:
            raise fail(where, k, "answerKey", f"'{key}' is not one of the choices' labels {keys}", ids)
        if key:
            check_text(where, k, "question", r["question"], ids)
            for text in r["choices"]["text"]:
                check_text(where, k, "choices.text", text, ids)
        _choice(rows, dropped, str(r.get("id", k)), "", r["question"], list(r["choices"]["text"]),
                keys.index(key) if key else None)
    return rows


COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def copa(ds, task, source, lang, where, dropped):
    """SuperGLUE COPA (label ClassLabel choice1/choice2, test -1) and XCOPA (int32 0/1) share the
    layout. Dropped: the test split's -1 ("unlabeled")."""
    require(ds, where, "premise", "choice1", "choice2", "question", "label")
    names = label_names(ds, "label")
    rows = []
    for k, r in enumerate(ds):
        ids = {k: r.get("idx")} if "idx" in r else None
        if r["question"] not in COPA_QUESTIONS:
            raise fail(where, k, "question", f"{show(r['question'])} is not one of {list(COPA_QUESTIONS)}", ids)
        try:
            label = label_name(r["label"], names, ("choice1", "choice2", "0", "1"))
        except BadLabel as e:
            raise fail(where, k, "label", str(e), ids) from None
        label = None if label is None else ("choice1", "choice2").index(label) if label.startswith("choice") \
            else int(label)
        if label is not None:
            for column in ("premise", "choice1", "choice2"):
                check_text(where, k, column, r[column], ids)
        _choice(rows, dropped, str(r.get("idx", k)), r["premise"], COPA_QUESTIONS[r["question"]],
                [r["choice1"], r["choice2"]], label)
    return rows

