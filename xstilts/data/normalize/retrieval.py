"""Normalizers of retrieval sources to canonical rows {kind: query, id, text, relevant: [candidate
ids]} | {kind: candidate, id, text}: bitext (Tatoeba), mining (BUCC), ranking (Mewsli-X, and LAReQA,
whose pooled candidates need every language at once: `lareqa_rows`)."""
from __future__ import annotations

import re

from xstilts.data.normalize.faults import Dropped, check_text, check_text_list, fail, require, show, text_column
from xstilts.data.normalize.qa import repair_offset


def bitext(src_col, tgt_col):
    """Tatoeba: aligned pairs, so the gold of query k is candidate k. As XTREME's
    evaluate_retrieval, the non-English sentences are the searched index and the English ones the
    queries. The google/xtreme builder kept each raw line's newline: strip it."""
    def normalize(ds, task, source, lang, where, dropped):
        require(ds, where, src_col, tgt_col)
        src, tgt = text_column(ds, src_col, where), text_column(ds, tgt_col, where)
        rows = [{"kind": "query", "id": str(k), "text": t.strip(), "relevant": [str(k)]} for k, t in enumerate(tgt)]
        return rows + [{"kind": "candidate", "id": str(k), "text": s.strip()} for k, s in enumerate(src)]
    return normalize

def bucc_pairs(ds, task, source, lang, where, dropped):
    """google/xtreme bucc18.<l>: gold pairs only; `source_lang`/`target_lang` hold the sentence IDs."""
    columns = ("source_lang", "target_lang", "source_sentence", "target_sentence")
    require(ds, where, *columns)
    for column in columns:
        text_column(ds, column, where)
    queries, candidates = {}, {}
    for r in ds:
        q = queries.setdefault(r["source_lang"], {"kind": "query", "id": r["source_lang"],
                                                  "text": r["source_sentence"].strip(), "relevant": []})
        q["relevant"].append(r["target_lang"])
        candidates.setdefault(r["target_lang"], {"kind": "candidate", "id": r["target_lang"],
                                                 "text": r["target_sentence"].strip()})
    return [*queries.values(), *candidates.values()]

def bucc_corpus(ds, task, source, lang, where, dropped):
    """mteb/BUCC: one row per pair of corpora; `gold` holds 1-based [non-English, English] indices."""
    require(ds, where, "sentence1", "sentence2", "gold")
    rows = []
    for k, r in enumerate(ds):
        for column in ("sentence1", "sentence2"):
            if r[column] is None:
                raise fail(where, k, column, "expected a list of sentences, found null")
            for sentence in r[column]:
                check_text(where, k, column, sentence)
        relevant: dict[int, list[str]] = {}
        for pair in r["gold"] or []:
            i, j = pair
            if not (1 <= i <= len(r["sentence1"]) and 1 <= j <= len(r["sentence2"])):
                raise fail(where, k, "gold", f"pair [{i}, {j}] is outside 1..{len(r['sentence1'])} x "
                           f"1..{len(r['sentence2'])} (1-based sentence indices)")
            relevant.setdefault(i - 1, []).append(f"en-{j - 1:06d}")
        rows += [{"kind": "query", "id": f"{lang.code}-{i:06d}", "text": s.strip(), "relevant": relevant.get(i, [])}
                 for i, s in enumerate(r["sentence1"])]
        rows += [{"kind": "candidate", "id": f"en-{j:06d}", "text": s.strip()} for j, s in enumerate(r["sentence2"])]
    return rows

def _one_line(text: str) -> str:
    """XTREME's Mewsli-X text cleanup: lines joined by spaces, one pass of double spaces, stripped."""
    return " ".join(text.splitlines()).replace("  ", " ").strip()

_MARKERS = re.compile(r"\{(.*?)\}")  # XTREME utils_mewslix._REGEX: only paired {X} become (X)

def mewslix(ds, task, source, lang, where, dropped):
    """Mewsli-X WikiNews articles -> one query per mention, formatted as XTREME's
    preprocess_mention does: only the sentence holding the mention, the mention marked by braces.
    Dropped: mentions with a blank entity (XTREME blanks the test QIDs: "unlabeled") and mentions
    that cross a sentence boundary."""
    require(ds, where, "context.text", "context.sentence_spans", "mentions")
    rows = []
    for k, article in enumerate(ds):
        if article["context"] is None:
            raise fail(where, k, "context", "expected an article, found null")
        text, spans = article["context"]["text"], article["context"]["sentence_spans"] or []
        check_text(where, k, "context.text", text)
        for m in article["mentions"] or []:
            start, end, mention = m["mention_span"]["start"], m["mention_span"]["end"], m["mention_span"]["text"]
            sentence = next((sp for sp in spans if sp["start"] <= start and end <= sp["end"]), None)
            if sentence is None:
                dropped.add("mention crosses a sentence boundary")
                continue
            left = _MARKERS.sub(r"(\1)", text[sentence["start"]:start])
            right = _MARKERS.sub(r"(\1)", text[end:sentence["end"]])
            gold = (m.get("entity_id") or "").strip()
            if not gold:  # XTREME blanks the test QIDs
                dropped.add("unlabeled")
                continue
            check_text(where, k, "mentions.mention_span.text", mention, {k: m.get("example_id")})
            rows.append({"kind": "query", "id": m["example_id"],
                         "text": _one_line(f"{mention}: {left} {{ {mention} }} {right}"), "relevant": [gold]})
    return rows

def mewslix_entities(ds, task, source, lang, where, dropped):
    """Candidate entities: the description's sentences (the title is not used, as in XTREME)."""
    require(ds, where, "entity_id", "description")
    ids = ds["entity_id"][:]
    check_text_list(ids, where, "entity_id")
    descriptions = text_column(ds, "description", where, ids)
    spans = ds["sentence_spans"][:] if "sentence_spans" in ds.column_names else [None] * len(ids)
    rows = []
    for id_, text, sentence_spans in zip(ids, descriptions, spans):
        if sentence_spans:
            text = " ".join(text[sp["start"]:sp["end"]] for sp in sentence_spans)
        rows.append({"kind": "candidate", "id": id_, "text": _one_line(text)})
    return rows

# --- ranking tasks: one candidate pool for every language --------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")

def split_sentences(text: str) -> list[tuple[int, str]]:
    """(start, sentence) pieces of a paragraph. The HF copy of XQuAD-R dropped the original
    sentence_breaks, so LAReQA's candidates are re-segmented at sentence-final punctuation."""
    out, pos = [], 0
    for piece in _SENTENCE_END.split(text):
        start = text.index(piece, pos)
        if piece.strip():
            out.append((start, piece.strip()))
        pos = start + len(piece)
    return out

def lareqa_rows(by_lang: dict[str, object], counts: dict[str, Dropped] | None = None,
                where: dict[str, object] | None = None,
                strict: bool = False) -> tuple[dict[str, list[dict]], list[dict]]:
    """XQuAD-R: queries per language and the multilingual pool of answer sentences. A question's
    relevant candidates are the sentences holding its answer in *every* language (XQuAD's question
    ids are shared across its parallel languages), as LAReQA defines them. As in `squad`, an
    answer_start off its text is repaired and counted, a question without an answer is dropped
    ("no answer"), and one whose answer is not in its context is an error when `strict`, else
    dropped ("answer not in context"), as XTREME skips it. `counts`: filled with a Dropped per
    language; `where`: each language's Location, for error messages."""
    pool, answer_sentences, queries = [], {}, {}
    for lang, ds in by_lang.items():
        dropped = Dropped(strict) if counts is None else counts.setdefault(lang, Dropped(strict))
        here = (where or {}).get(lang, lang)
        require(ds, here, "id", "context", "question", "answers.text", "answers.answer_start")
        paragraphs: dict[str, tuple[int, list]] = {}
        for i, r in enumerate(ds):
            ids = {i: r["id"]}
            for column in ("id", "context", "question"):
                check_text(here, i, column, r[column], ids)
            if r["context"] not in paragraphs:
                paragraphs[r["context"]] = (len(paragraphs), split_sentences(r["context"]))
                p, sentences = paragraphs[r["context"]]
                pool += [{"kind": "candidate", "id": f"{lang}-{p}-{k}", "text": text}
                         for k, (_, text) in enumerate(sentences)]
            p, sentences = paragraphs[r["context"]]
            texts, starts = r["answers"]["text"], r["answers"]["answer_start"]
            if not texts:
                dropped.add("no answer")
                continue
            check_text(here, i, "answers.text", texts[0], ids)
            start = repair_offset(r["context"], texts[0], starts[0])
            if start is None:  # XTREME skips questions whose answer sits in no sentence
                if dropped.strict:
                    raise fail(here, i, "answers.text", f"answer {show(texts[0])} (answer_start {starts[0]}) "
                               f"does not occur in the context ({len(r['context'])} chars)", ids)
                dropped.add("answer not in context")
                continue
            if start != starts[0]:
                dropped.repair("answer_start repaired")
            k = max((k for k, (begin, _) in enumerate(sentences) if begin <= start), default=0)
            answer_sentences.setdefault(r["id"], []).append(f"{lang}-{p}-{k}")
            queries.setdefault(lang, []).append({"kind": "query", "id": f"{lang}-{r['id']}", "text": r["question"],
                                                 "qid": r["id"]})
    for rows in queries.values():
        for q in rows:
            q["relevant"] = answer_sentences.get(q.pop("qid"), [])
    return queries, pool

