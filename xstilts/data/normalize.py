"""Loading sources and normalizing them to one canonical schema per task type.

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
"""
from __future__ import annotations

import re

from xstilts.core import tasks
from xstilts.data.sources import DataSourceError


# --- normalizers: source rows -> canonical rows ------------------------------------------------
def _label_names(ds, column: str):
    feature = ds.features[column]
    names = getattr(feature, "names", None)
    if names is None and hasattr(feature, "feature"):  # Sequence(ClassLabel) / List(ClassLabel)
        names = getattr(feature.feature, "names", None)
    return names


def _label(value, names, valid: tuple[str, ...], where: str) -> str | None:
    """Map a source label to its canonical *name*; None for unlabeled placeholders (-1, '')."""
    if value is None or value == -1 or value == "":
        return None
    name = names[value] if names is not None and isinstance(value, int) else str(value)
    name = tasks.LABEL_ALIASES.get(name, name)
    if name not in valid:
        raise DataSourceError(f"{where}: label '{name}' is not one of {list(valid)}")
    return name


class Dropped(dict):
    def add(self, reason: str) -> None:
        self[reason] = self.get(reason, 0) + 1


def _pairs(ds, task, where, cols, dropped, id_col=None):
    names = _label_names(ds, cols[2])
    rows = []
    for k, r in enumerate(ds):
        label = _label(r[cols[2]], names, task.labels, where)
        if label is None:
            dropped.add("unlabeled")
            continue
        rows.append({"id": str(r[id_col]) if id_col and id_col in r else str(k),
                     "text_a": r[cols[0]], "text_b": r[cols[1]], "label": label})
    return rows


def _nli(ds, task, source, lang, where, dropped):
    if "premise" in ds.column_names:
        id_col = "uid" if "uid" in ds.column_names else "idx"  # ANLI has uid, GLUE idx
        return _pairs(ds, task, where, ("premise", "hypothesis", "label"), dropped, id_col)
    if "language" in ds.column_names:  # google/xtreme XNLI: all languages in one config
        ds = ds.filter(lambda r: r["language"] == lang.code)
    return _pairs(ds, task, where, ("sentence1", "sentence2", "gold_label"), dropped)


def _qqp(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("question1", "question2", "label"), dropped, "idx")


def _paws(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("sentence1", "sentence2", "label"), dropped, "id")


def _squad(ds, task, source, lang, where, dropped):
    # TyDiQA: one config for all languages, ids start with the language's name ('english-...')
    prefix = f"{lang.name.lower()}-" if source.select == "id_prefix" else None
    rows = []
    for r in ds:
        if prefix is not None and not r["id"].startswith(prefix):
            continue
        answers = []
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
            start = repair_offset(r["context"], text, start)
            if start is None:
                dropped.add("answer not in context")
                continue
            answers.append({"text": text, "start": start})
        if not answers and (r["answers"]["text"] or not task.no_answer):
            dropped.add("no answer" if not r["answers"]["text"] else "no answer left")
            continue
        rows.append({"id": r["id"], "context": r["context"], "question": r["question"], "answers": answers})
    return rows


def _choice(rows, dropped, id_, context, question, choices, label):
    if label is None:
        dropped.add("unlabeled")
        return
    rows.append({"id": id_, "context": context, "question": question, "choices": choices, "label": label})


def _hellaswag(ds, task, source, lang, where, dropped):
    rows = []
    for k, r in enumerate(ds):  # jiant: context = ctx_a, each choice = ctx_b + " " + ending; label "0".."3"
        label = int(r["label"]) if str(r["label"]).strip() not in ("", "-1") else None
        _choice(rows, dropped, str(r.get("ind", k)), r["ctx_a"], "",
                [f"{r['ctx_b']} {e}".strip() for e in r["endings"]], label)
    return rows


def _cosmosqa(ds, task, source, lang, where, dropped):
    rows = []
    for k, r in enumerate(ds):
        label = r["label"] if r["label"] not in (None, -1) else None
        _choice(rows, dropped, str(r.get("id", k)), r["context"], r["question"],
                [r[f"answer{i}"] for i in range(4)], label)
    return rows


def _commonsenseqa(ds, task, source, lang, where, dropped):
    rows = []
    for k, r in enumerate(ds):
        keys = list(r["choices"]["label"])  # "A".."E": the answer key is matched by name
        key = r["answerKey"]
        if key and key not in keys:
            raise DataSourceError(f"{where}: answerKey '{key}' is not one of {keys}")
        _choice(rows, dropped, str(r.get("id", k)), "", r["question"], list(r["choices"]["text"]),
                keys.index(key) if key else None)
    return rows


COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def _copa(ds, task, source, lang, where, dropped):
    # SuperGLUE COPA (label ClassLabel choice1/choice2, test -1) and XCOPA (int32 0/1) share the layout
    names = _label_names(ds, "label")
    rows = []
    for k, r in enumerate(ds):
        if r["question"] not in COPA_QUESTIONS:
            raise DataSourceError(f"{where}: question '{r['question']}' is not one of {list(COPA_QUESTIONS)}")
        label = _label(r["label"], names, ("choice1", "choice2", "0", "1"), where)
        label = None if label is None else ("choice1", "choice2").index(label) if label.startswith("choice") \
            else int(label)
        _choice(rows, dropped, str(r.get("idx", k)), r["premise"], COPA_QUESTIONS[r["question"]],
                [r["choice1"], r["choice2"]], label)
    return rows


def _tagging(column):
    def normalize(ds, task, source, lang, where, dropped):
        names = _label_names(ds, column)
        rows = []
        for k, r in enumerate(ds):
            tags = [_label(t, names, task.labels, where) for t in r[column]]
            if not r["tokens"] or None in tags:
                dropped.add("empty or untagged")
                continue
            rows.append({"id": str(k), "tokens": list(r["tokens"]), "tags": tags})
        return rows
    return normalize


def _bitext(src_col, tgt_col):
    """Tatoeba: aligned pairs, so the gold of query k is candidate k. As XTREME's
    evaluate_retrieval, the non-English sentences are the searched index and the English ones the
    queries. The google/xtreme builder kept each raw line's newline: strip it."""
    def normalize(ds, task, source, lang, where, dropped):
        rows = [{"kind": "query", "id": str(k), "text": r[tgt_col].strip(), "relevant": [str(k)]}
                for k, r in enumerate(ds)]
        return rows + [{"kind": "candidate", "id": str(k), "text": r[src_col].strip()} for k, r in enumerate(ds)]
    return normalize


def _bucc_pairs(ds, task, source, lang, where, dropped):
    """google/xtreme bucc18.<l>: gold pairs only; `source_lang`/`target_lang` hold the sentence IDs."""
    queries, candidates = {}, {}
    for r in ds:
        q = queries.setdefault(r["source_lang"], {"kind": "query", "id": r["source_lang"],
                                                  "text": r["source_sentence"].strip(), "relevant": []})
        q["relevant"].append(r["target_lang"])
        candidates.setdefault(r["target_lang"], {"kind": "candidate", "id": r["target_lang"],
                                                 "text": r["target_sentence"].strip()})
    return [*queries.values(), *candidates.values()]


def _bucc_corpus(ds, task, source, lang, where, dropped):
    """mteb/BUCC: one row per pair of corpora; `gold` holds 1-based [non-English, English] indices."""
    rows = []
    for r in ds:
        relevant: dict[int, list[str]] = {}
        for i, j in r["gold"]:
            relevant.setdefault(i - 1, []).append(f"en-{j - 1:06d}")
        rows += [{"kind": "query", "id": f"{lang.code}-{i:06d}", "text": s.strip(), "relevant": relevant.get(i, [])}
                 for i, s in enumerate(r["sentence1"])]
        rows += [{"kind": "candidate", "id": f"en-{j:06d}", "text": s.strip()} for j, s in enumerate(r["sentence2"])]
    return rows


def _one_line(text: str) -> str:
    """XTREME's Mewsli-X text cleanup: lines joined by spaces, one pass of double spaces, stripped."""
    return " ".join(text.splitlines()).replace("  ", " ").strip()


_MARKERS = re.compile(r"\{(.*?)\}")  # XTREME utils_mewslix._REGEX: only paired {X} become (X)


def _mewslix(ds, task, source, lang, where, dropped):
    """Mewsli-X WikiNews articles -> one query per mention, formatted as XTREME's
    preprocess_mention does: only the sentence holding the mention, the mention marked by braces."""
    rows = []
    for article in ds:
        text, spans = article["context"]["text"], article["context"]["sentence_spans"]
        for m in article["mentions"]:
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
            rows.append({"kind": "query", "id": m["example_id"],
                         "text": _one_line(f"{mention}: {left} {{ {mention} }} {right}"), "relevant": [gold]})
    return rows


def _mewslix_entities(ds, task, source, lang, where, dropped):
    """Candidate entities: the description's sentences (the title is not used, as in XTREME)."""
    rows = []
    for e in ds:
        text = e["description"]
        if e.get("sentence_spans"):
            text = " ".join(text[sp["start"]:sp["end"]] for sp in e["sentence_spans"])
        rows.append({"kind": "candidate", "id": e["entity_id"], "text": _one_line(text)})
    return rows


NORMALIZERS = {
    "nli": _nli, "qqp": _qqp, "paws": _paws, "squad": _squad, "hellaswag": _hellaswag, "cosmosqa": _cosmosqa,
    "commonsenseqa": _commonsenseqa, "copa": _copa, "udpos": _tagging("pos_tags"), "panx": _tagging("ner_tags"),
    "tatoeba": _bitext("source_sentence", "target_sentence"), "tatoeba_mteb": _bitext("sentence1", "sentence2"),
    "bucc_pairs": _bucc_pairs, "bucc_corpus": _bucc_corpus, "mewslix": _mewslix,
    "mewslix_entities": _mewslix_entities,
}


def normalize(task: tasks.Task, source: tasks.Source, ds, lang: str = "en",
              profile: str = "paper") -> tuple[list[dict], dict]:
    """Canonical rows of one loaded split (of language `lang`), and counts of what was dropped and why."""
    if source.format not in NORMALIZERS:
        raise ValueError(f"no normalizer for source format '{source.format}' (known: {', '.join(NORMALIZERS)})")
    dropped = Dropped()
    info = tasks.languages_of(profile)[lang]
    rows = NORMALIZERS[source.format](ds, task, source, info, source.label, dropped)
    return rows, dict(dropped)


def repair_offset(context: str, text: str, start: int) -> int | None:
    """google/xtreme strips context/answers, which can shift offsets: find the nearest match."""
    if context[start:start + len(text)] == text:
        return start
    hits, pos = [], context.find(text)
    while pos != -1:
        hits.append(pos)
        pos = context.find(text, pos + 1)
    return min(hits, key=lambda h: abs(h - start)) if hits else None


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


def lareqa_rows(by_lang: dict[str, object]) -> tuple[dict[str, list[dict]], list[dict]]:
    """XQuAD-R: queries per language and the multilingual pool of answer sentences. A question's
    relevant candidates are the sentences holding its answer in *every* language (XQuAD's question
    ids are shared across its parallel languages), as LAReQA defines them."""
    pool, answer_sentences, queries = [], {}, {}
    for lang, ds in by_lang.items():
        paragraphs: dict[str, tuple[int, list]] = {}
        for r in ds:
            if r["context"] not in paragraphs:
                paragraphs[r["context"]] = (len(paragraphs), split_sentences(r["context"]))
                p, sentences = paragraphs[r["context"]]
                pool += [{"kind": "candidate", "id": f"{lang}-{p}-{k}", "text": text}
                         for k, (_, text) in enumerate(sentences)]
            p, sentences = paragraphs[r["context"]]
            texts, starts = r["answers"]["text"], r["answers"]["answer_start"]
            start = repair_offset(r["context"], texts[0], starts[0]) if texts else None
            if start is None:  # XTREME skips questions whose answer sits in no sentence
                continue
            k = max((k for k, (begin, _) in enumerate(sentences) if begin <= start), default=0)
            answer_sentences.setdefault(r["id"], []).append(f"{lang}-{p}-{k}")
            queries.setdefault(lang, []).append({"kind": "query", "id": f"{lang}-{r['id']}", "text": r["question"],
                                                 "qid": r["id"]})
    for rows in queries.values():
        for q in rows:
            q["relevant"] = answer_sentences.get(q.pop("qid"), [])
    return queries, pool


# Formats that need every language at once (one candidate pool shared by all languages):
# {language: loaded split} -> ({language: query rows}, pool rows).
POOLED_FORMATS = {"xquad_r": lareqa_rows}
