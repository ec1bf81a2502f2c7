"""Normalizer of extractive QA sources (SQuAD v1.1 / v2.0, XQuAD, MLQA, TyDiQA-GoldP) to canonical
rows {id, context, question, answers: [{text, start}]}, and the answer-offset repair it shares with
LAReQA's (retrieval.lareqa_rows)."""
from __future__ import annotations

from xstilts.data.normalize.faults import check_text, check_text_list, fail, require, show


def squad(ds, task, source, lang, where, dropped):
    """SQuAD-style QA (SQuAD v1/v2, XQuAD, MLQA, TyDiQA). An answer_start that does not point at its
    text is repaired to the text's nearest occurrence and counted ("answer_start repaired"); a text
    that is not in the context at all is an error when `dropped.strict` (the prepare stages), else
    dropped ("answer not in context"). Rows left without an answer where the task needs one are
    dropped ("no answer": none given; "no answer left": none located); SQuAD v2 keeps them."""
    require(ds, where, "id", "context", "question", "answers.text", "answers.answer_start")
    # TyDiQA: one config for all languages, ids start with the language's name ('english-...')
    prefix = f"{lang.name.lower()}-" if source.select == "id_prefix" else None
    ids = ds["id"][:]
    if prefix is None:
        check_text_list(ids, where, "id")
    contexts, questions, answers = ds["context"][:], ds["question"][:], ds["answers"][:]
    rows = []
    for k, (id_, context, question, given) in enumerate(zip(ids, contexts, questions, answers)):
        if prefix is not None:
            check_text(where, k, "id", id_)
            if not id_.startswith(prefix):
                continue
        check_text(where, k, "context", context, ids)
        check_text(where, k, "question", question, ids)
        if given is None or given["text"] is None or given["answer_start"] is None:
            raise fail(where, k, "answers", "expected lists of answer texts and starts, found null", ids)
        texts, starts = given["text"], given["answer_start"]
        if len(texts) != len(starts):
            raise fail(where, k, "answers", f"{len(texts)} answer texts but {len(starts)} answer_start values", ids)
        found = []
        for text, start in zip(texts, starts):
            check_text(where, k, "answers.text", text, ids)
            if type(start) is not int:
                raise fail(where, k, "answers.answer_start", f"expected an offset, found {show(start)}", ids)
            fixed = repair_offset(context, text, start)
            if fixed is None:
                if dropped.strict:
                    raise fail(where, k, "answers.text", f"answer {show(text)} (answer_start {start}) does not "
                               f"occur in the context ({len(context)} chars)", ids)
                dropped.add("answer not in context")
                continue
            if fixed != start:
                dropped.repair("answer_start repaired")
            found.append({"text": text, "start": fixed})
        if not found and (texts or not task.no_answer):
            dropped.add("no answer" if not texts else "no answer left")
            continue
        rows.append({"id": id_, "context": context, "question": question, "answers": found})
    return rows



def repair_offset(context: str, text: str, start: int) -> int | None:
    """google/xtreme strips context/answers, which can shift offsets: find the nearest match."""
    if 0 <= start and context[start:start + len(text)] == text:
        return start
    hits, pos = [], context.find(text)
    while pos != -1:
        hits.append(pos)
        pos = context.find(text, pos + 1)
    return min(hits, key=lambda h: abs(h - start)) if hits else None

