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
"""
from __future__ import annotations

import re

from xstilts.core import tasks
from xstilts.data.sources import DataSourceError, Location, config_name


# --- faults: one-line errors naming the file, the row and the column -----------------------------
def _show(value, limit: int = 40) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _names(names) -> str:
    names = list(names)
    return str(names) if len(names) <= 8 else f"[{', '.join(map(repr, names[:3]))}, … {names[-1]!r}] ({len(names)})"


class _Subset:
    """The location of a selection of a split's rows (one language of a mixed config): row k of
    the selection is row index[k] of the split."""

    def __init__(self, where, index: list[int]):
        self.where, self.index = where, index

    def __str__(self) -> str:
        return str(self.where)

    def row(self, k: int) -> str:
        return _row(self.where, self.index[k])


def _row(where, k: int) -> str:
    return where.row(k) if hasattr(where, "row") else f"{where}: row {k}"


def _fail(where, k: int | None, column: str, problem: str, ids=None) -> DataSourceError:
    """`<file>: row k (id '…'), column 'c': problem`; k None: a fault of the whole column."""
    place = str(where) if k is None else _row(where, k)
    if k is not None and ids is not None:
        place += f" (id {_show(ids[k])})"
    return DataSourceError(f"{place}, column '{column}': {problem}")


def _fields(feature):
    """The field names of a struct column (or of a list of structs), else None."""
    if isinstance(feature, dict):
        return list(feature)
    inner = getattr(feature, "feature", None)
    return list(inner) if isinstance(inner, dict) else None


def _require(ds, where, *columns: str) -> None:
    """Each column (a struct's field as 'column.field') is there, else an error naming those that are."""
    have = ds.column_names
    for column in columns:
        head, _, field = column.partition(".")
        if head not in have:
            raise DataSourceError(f"{where}: column '{head}' is missing (the columns: {', '.join(have)})")
        fields = _fields(ds.features[head]) if field else None
        if fields is not None and field not in fields:
            raise DataSourceError(f"{where}: column '{column}' is missing ('{head}' holds: {', '.join(fields)})")


def _text_fault(value) -> str:
    return f"expected text, found {'null' if value is None else type(value).__name__ + ' ' + _show(value)}"


def _texts(ds, column: str, where, ids=None, keep=None) -> list:
    """A text column as a list; a null or non-string value (in a kept row) is an error."""
    values = ds[column][:]
    bad = next((k for k, v in enumerate(values) if type(v) is not str and (keep is None or keep[k] is not None)),
               None)
    if bad is not None:
        raise _fail(where, bad, column, _text_fault(values[bad]), ids)
    return values


def _check_text(where, k: int, column: str, value, ids=None) -> None:
    if type(value) is not str:
        raise _fail(where, k, column, _text_fault(value), ids)


class _Bad(Exception):
    """A label value that is not one; the caller names the row and the column."""


def _label_names(ds, column: str):
    feature = ds.features[column]
    names = getattr(feature, "names", None)
    if names is None and hasattr(feature, "feature"):  # Sequence(ClassLabel) / List(ClassLabel)
        names = getattr(feature.feature, "names", None)
    return names


def _name(value, names, valid: tuple[str, ...]) -> str | None:
    """A source label's canonical *name*; None for unlabeled placeholders (-1, '', null). `names`: the
    ClassLabel's names (ints are looked up in it), else None. A label outside the ClassLabel or the
    task's label set raises _Bad."""
    if value is None or value == -1 or value == "":
        return None
    if names is not None and isinstance(value, int):
        if not 0 <= value < len(names):
            raise _Bad(f"label id {value} is outside the ClassLabel {_names(names)} (ids 0-{len(names) - 1})")
        name = names[value]
    else:
        name = str(value)
    name = tasks.LABEL_ALIASES.get(name, name)
    if name not in valid:
        raise _Bad(f"label '{name}' is not one of {_names(valid)}")
    return name


def _label_column(values: list, names, valid, where, column: str, ids=None) -> list:
    """Canonical names of a label column (None for placeholders), checked once per distinct value;
    the first row holding a bad value is named."""
    lookup, bad = {}, {}
    for value in set(values):
        try:
            lookup[value] = _name(value, names, valid)
        except _Bad as e:
            bad[value] = str(e)
    if bad:
        k = min(values.index(v) for v in bad)
        raise _fail(where, k, column, bad[values[k]], ids)
    return [lookup[v] for v in values]


class Dropped(dict):
    """Rows dropped, counted by reason (the normalizers' `dropped`). `repaired`: rows kept after a
    repair, by reason; `strict`: an answer that is not in its context is an error, not a drop."""

    def __init__(self, strict: bool = False):
        super().__init__()
        self.strict = strict
        self.repaired: dict[str, int] = {}

    def add(self, reason: str) -> None:
        self[reason] = self.get(reason, 0) + 1

    def repair(self, reason: str) -> None:
        self.repaired[reason] = self.repaired.get(reason, 0) + 1


# --- normalizers: source rows -> canonical rows ------------------------------------------------
# Each is f(ds, task, source, lang, where, dropped) -> rows: `ds` a datasets.Dataset, `lang` the
# language's info, `where` its Location (str(where) names the file, where.row(k) a row), `dropped`
# a Dropped to count dropped (and repaired) rows in.
def _pairs(ds, task, where, cols, dropped, id_col=None):
    """Sentence pairs with a label. Dropped: unlabeled placeholders (-1 / '' / null: the GLUE and
    XNLI test splits, SNLI's rows without a gold label)."""
    _require(ds, where, *cols)
    has_ids = bool(id_col) and id_col in ds.column_names
    ids = [str(v) for v in ds[id_col][:]] if has_ids else [str(k) for k in range(len(ds))]
    shown = ids if has_ids else None
    labels = _label_column(ds[cols[2]][:], _label_names(ds, cols[2]), task.labels, where, cols[2], shown)
    a = _texts(ds, cols[0], where, shown, keep=labels)
    b = _texts(ds, cols[1], where, shown, keep=labels)
    rows = []
    for id_, text_a, text_b, label in zip(ids, a, b, labels):
        if label is None:
            dropped.add("unlabeled")
            continue
        rows.append({"id": id_, "text_a": text_a, "text_b": text_b, "label": label})
    return rows


def _nli(ds, task, source, lang, where, dropped):
    """GLUE/ANLI/SNLI/facebook-xnli (premise, hypothesis, label) or google/xtreme XNLI (sentence1,
    sentence2, gold_label; all languages in one config: the language's rows are kept)."""
    columns = ds.column_names
    if "premise" in columns or not {"sentence1", "gold_label"} & set(columns):
        id_col = "uid" if "uid" in columns else "idx"  # ANLI has uid, GLUE idx
        return _pairs(ds, task, where, ("premise", "hypothesis", "label"), dropped, id_col)
    if "language" in columns:  # google/xtreme XNLI: all languages in one config
        index = [k for k, code in enumerate(ds["language"][:]) if code == lang.code]
        ds, where = ds.select(index), _Subset(where, index)
    return _pairs(ds, task, where, ("sentence1", "sentence2", "gold_label"), dropped)


def _qqp(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("question1", "question2", "label"), dropped, "idx")


def _paws(ds, task, source, lang, where, dropped):
    return _pairs(ds, task, where, ("sentence1", "sentence2", "label"), dropped, "id")


def _squad(ds, task, source, lang, where, dropped):
    """SQuAD-style QA (SQuAD v1/v2, XQuAD, MLQA, TyDiQA). An answer_start that does not point at its
    text is repaired to the text's nearest occurrence and counted ("answer_start repaired"); a text
    that is not in the context at all is an error when `dropped.strict` (the prepare stages), else
    dropped ("answer not in context"). Rows left without an answer where the task needs one are
    dropped ("no answer": none given; "no answer left": none located); SQuAD v2 keeps them."""
    _require(ds, where, "id", "context", "question", "answers.text", "answers.answer_start")
    # TyDiQA: one config for all languages, ids start with the language's name ('english-...')
    prefix = f"{lang.name.lower()}-" if source.select == "id_prefix" else None
    ids = ds["id"][:]
    if prefix is None:
        _texts_of(ids, where, "id")
    contexts, questions, answers = ds["context"][:], ds["question"][:], ds["answers"][:]
    rows = []
    for k, (id_, context, question, given) in enumerate(zip(ids, contexts, questions, answers)):
        if prefix is not None:
            _check_text(where, k, "id", id_)
            if not id_.startswith(prefix):
                continue
        _check_text(where, k, "context", context, ids)
        _check_text(where, k, "question", question, ids)
        if given is None or given["text"] is None or given["answer_start"] is None:
            raise _fail(where, k, "answers", "expected lists of answer texts and starts, found null", ids)
        texts, starts = given["text"], given["answer_start"]
        if len(texts) != len(starts):
            raise _fail(where, k, "answers", f"{len(texts)} answer texts but {len(starts)} answer_start values", ids)
        found = []
        for text, start in zip(texts, starts):
            _check_text(where, k, "answers.text", text, ids)
            if type(start) is not int:
                raise _fail(where, k, "answers.answer_start", f"expected an offset, found {_show(start)}", ids)
            fixed = repair_offset(context, text, start)
            if fixed is None:
                if dropped.strict:
                    raise _fail(where, k, "answers.text", f"answer {_show(text)} (answer_start {start}) does not "
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


def _texts_of(values: list, where, column: str, ids=None) -> None:
    bad = next((k for k, v in enumerate(values) if type(v) is not str), None)
    if bad is not None:
        raise _fail(where, bad, column, _text_fault(values[bad]), ids)


def _choice(rows, dropped, id_, context, question, choices, label):
    if label is None:
        dropped.add("unlabeled")
        return
    rows.append({"id": id_, "context": context, "question": question, "choices": choices, "label": label})


def _choice_label(where, k, column, value, n: int, ids=None) -> None:
    if not 0 <= value < n:
        raise _fail(where, k, column, f"label {value} is not a choice index (0-{n - 1})", ids)


def _hellaswag(ds, task, source, lang, where, dropped):
    """jiant: context = ctx_a, each choice = ctx_b + " " + ending; label "0".."3". Dropped: the test
    split's blank labels ("unlabeled")."""
    _require(ds, where, "ctx_a", "ctx_b", "endings", "label")
    rows = []
    for k, r in enumerate(ds):
        raw = str(r["label"]).strip()
        label = None
        if raw not in ("", "-1", "None"):
            if not raw.lstrip("-").isdigit():
                raise _fail(where, k, "label", f"expected a choice index, found {_show(r['label'])}")
            label = int(raw)
        endings = r["endings"] or []
        if label is not None:
            _choice_label(where, k, "label", label, len(endings))
            for column in ("ctx_a", "ctx_b"):
                _check_text(where, k, column, r[column])
            for ending in endings:
                _check_text(where, k, "endings", ending)
        _choice(rows, dropped, str(r.get("ind", k)), r["ctx_a"], "",
                [f"{r['ctx_b']} {e}".strip() for e in endings], label)
    return rows


def _cosmosqa(ds, task, source, lang, where, dropped):
    """Four answers, label 0-3 (int32). Dropped: the test split's -1 ("unlabeled")."""
    columns = ("context", "question", *(f"answer{i}" for i in range(4)))
    _require(ds, where, *columns, "label")
    rows = []
    for k, r in enumerate(ds):
        label = r["label"] if r["label"] not in (None, -1) else None
        if label is not None:
            ids = {k: r.get("id")} if "id" in r else None
            if type(label) is not int:
                raise _fail(where, k, "label", f"expected a choice index, found {_show(label)}", ids)
            _choice_label(where, k, "label", label, 4, ids)
            for column in columns:
                _check_text(where, k, column, r[column], ids)
        _choice(rows, dropped, str(r.get("id", k)), r["context"], r["question"],
                [r[f"answer{i}"] for i in range(4)], label)
    return rows


def _commonsenseqa(ds, task, source, lang, where, dropped):
    """Choices keyed "A".."E"; the answer key is matched by name. Dropped: the test split's blank
    answerKey ("unlabeled")."""
    _require(ds, where, "question", "choices.label", "choices.text", "answerKey")
    rows = []
    for k, r in enumerate(ds):
        ids = {k: r.get("id")} if "id" in r else None
        keys = list(r["choices"]["label"])  # "A".."E": the answer key is matched by name
        key = r["answerKey"]
        if key and key not in keys:
            raise _fail(where, k, "answerKey", f"'{key}' is not one of the choices' labels {keys}", ids)
        if key:
            _check_text(where, k, "question", r["question"], ids)
            for text in r["choices"]["text"]:
                _check_text(where, k, "choices.text", text, ids)
        _choice(rows, dropped, str(r.get("id", k)), "", r["question"], list(r["choices"]["text"]),
                keys.index(key) if key else None)
    return rows


COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def _copa(ds, task, source, lang, where, dropped):
    """SuperGLUE COPA (label ClassLabel choice1/choice2, test -1) and XCOPA (int32 0/1) share the
    layout. Dropped: the test split's -1 ("unlabeled")."""
    _require(ds, where, "premise", "choice1", "choice2", "question", "label")
    names = _label_names(ds, "label")
    rows = []
    for k, r in enumerate(ds):
        ids = {k: r.get("idx")} if "idx" in r else None
        if r["question"] not in COPA_QUESTIONS:
            raise _fail(where, k, "question", f"{_show(r['question'])} is not one of {list(COPA_QUESTIONS)}", ids)
        try:
            label = _name(r["label"], names, ("choice1", "choice2", "0", "1"))
        except _Bad as e:
            raise _fail(where, k, "label", str(e), ids) from None
        label = None if label is None else ("choice1", "choice2").index(label) if label.startswith("choice") \
            else int(label)
        if label is not None:
            for column in ("premise", "choice1", "choice2"):
                _check_text(where, k, column, r[column], ids)
        _choice(rows, dropped, str(r.get("idx", k)), r["premise"], COPA_QUESTIONS[r["question"]],
                [r["choice1"], r["choice2"]], label)
    return rows


def _tagging(column):
    """Tokens and one tag per token (a ClassLabel, mapped by name). A row whose tokens and tags
    differ in length is an error; rows without tokens, or with a placeholder tag (-1 / ''), are
    dropped ("empty or untagged")."""
    def normalize(ds, task, source, lang, where, dropped):
        _require(ds, where, "tokens", column)
        names = _label_names(ds, column)
        memo: dict = {}
        rows = []
        for k, (tokens, raw) in enumerate(zip(ds["tokens"][:], ds[column][:])):
            if tokens is None or raw is None:
                which = "tokens" if tokens is None else column
                raise _fail(where, k, which, "expected a list, found null")
            if len(tokens) != len(raw):
                raise _fail(where, k, column, f"{len(raw)} tags for {len(tokens)} tokens (column 'tokens')")
            for token in tokens:
                _check_text(where, k, "tokens", token)
            tags = []
            for t in raw:
                if t not in memo:
                    try:
                        memo[t] = _name(t, names, task.labels)
                    except _Bad as e:
                        raise _fail(where, k, column, str(e)) from None
                tags.append(memo[t])
            if not tokens or None in tags:
                dropped.add("empty or untagged")
                continue
            rows.append({"id": str(k), "tokens": list(tokens), "tags": tags})
        return rows
    return normalize


def _bitext(src_col, tgt_col):
    """Tatoeba: aligned pairs, so the gold of query k is candidate k. As XTREME's
    evaluate_retrieval, the non-English sentences are the searched index and the English ones the
    queries. The google/xtreme builder kept each raw line's newline: strip it."""
    def normalize(ds, task, source, lang, where, dropped):
        _require(ds, where, src_col, tgt_col)
        src, tgt = _texts(ds, src_col, where), _texts(ds, tgt_col, where)
        rows = [{"kind": "query", "id": str(k), "text": t.strip(), "relevant": [str(k)]} for k, t in enumerate(tgt)]
        return rows + [{"kind": "candidate", "id": str(k), "text": s.strip()} for k, s in enumerate(src)]
    return normalize


def _bucc_pairs(ds, task, source, lang, where, dropped):
    """google/xtreme bucc18.<l>: gold pairs only; `source_lang`/`target_lang` hold the sentence IDs."""
    columns = ("source_lang", "target_lang", "source_sentence", "target_sentence")
    _require(ds, where, *columns)
    for column in columns:
        _texts(ds, column, where)
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
    _require(ds, where, "sentence1", "sentence2", "gold")
    rows = []
    for k, r in enumerate(ds):
        for column in ("sentence1", "sentence2"):
            if r[column] is None:
                raise _fail(where, k, column, "expected a list of sentences, found null")
            for s in r[column]:
                _check_text(where, k, column, s)
        relevant: dict[int, list[str]] = {}
        for pair in r["gold"] or []:
            i, j = pair
            if not (1 <= i <= len(r["sentence1"]) and 1 <= j <= len(r["sentence2"])):
                raise _fail(where, k, "gold", f"pair [{i}, {j}] is outside 1..{len(r['sentence1'])} x "
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


def _mewslix(ds, task, source, lang, where, dropped):
    """Mewsli-X WikiNews articles -> one query per mention, formatted as XTREME's
    preprocess_mention does: only the sentence holding the mention, the mention marked by braces.
    Dropped: mentions with a blank entity (XTREME blanks the test QIDs: "unlabeled") and mentions
    that cross a sentence boundary."""
    _require(ds, where, "context.text", "context.sentence_spans", "mentions")
    rows = []
    for k, article in enumerate(ds):
        if article["context"] is None:
            raise _fail(where, k, "context", "expected an article, found null")
        text, spans = article["context"]["text"], article["context"]["sentence_spans"] or []
        _check_text(where, k, "context.text", text)
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
            _check_text(where, k, "mentions.mention_span.text", mention, {k: m.get("example_id")})
            rows.append({"kind": "query", "id": m["example_id"],
                         "text": _one_line(f"{mention}: {left} {{ {mention} }} {right}"), "relevant": [gold]})
    return rows


def _mewslix_entities(ds, task, source, lang, where, dropped):
    """Candidate entities: the description's sentences (the title is not used, as in XTREME)."""
    _require(ds, where, "entity_id", "description")
    ids = ds["entity_id"][:]
    _texts_of(ids, where, "entity_id")
    descriptions = _texts(ds, "description", where, ids)
    spans = ds["sentence_spans"][:] if "sentence_spans" in ds.column_names else [None] * len(ids)
    rows = []
    for id_, text, sentence_spans in zip(ids, descriptions, spans):
        if sentence_spans:
            text = " ".join(text[sp["start"]:sp["end"]] for sp in sentence_spans)
        rows.append({"kind": "candidate", "id": id_, "text": _one_line(text)})
    return rows


NORMALIZERS = {
    "nli": _nli, "qqp": _qqp, "paws": _paws, "squad": _squad, "hellaswag": _hellaswag, "cosmosqa": _cosmosqa,
    "commonsenseqa": _commonsenseqa, "copa": _copa, "udpos": _tagging("pos_tags"), "panx": _tagging("ner_tags"),
    "tatoeba": _bitext("source_sentence", "target_sentence"), "tatoeba_mteb": _bitext("sentence1", "sentence2"),
    "bucc_pairs": _bucc_pairs, "bucc_corpus": _bucc_corpus, "mewslix": _mewslix,
    "mewslix_entities": _mewslix_entities,
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


def repair_offset(context: str, text: str, start: int) -> int | None:
    """google/xtreme strips context/answers, which can shift offsets: find the nearest match."""
    if 0 <= start and context[start:start + len(text)] == text:
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


def lareqa_rows(by_lang: dict[str, object], counts: dict[str, Dropped] | None = None,
                where: dict[str, object] | None = None,
                strict: bool = False) -> tuple[dict[str, list[dict]], list[dict]]:
    """XQuAD-R: queries per language and the multilingual pool of answer sentences. A question's
    relevant candidates are the sentences holding its answer in *every* language (XQuAD's question
    ids are shared across its parallel languages), as LAReQA defines them. As in `_squad`, an
    answer_start off its text is repaired and counted, a question without an answer is dropped
    ("no answer"), and one whose answer is not in its context is an error when `strict`, else
    dropped ("answer not in context"), as XTREME skips it. `counts`: filled with a Dropped per
    language; `where`: each language's Location, for error messages."""
    pool, answer_sentences, queries = [], {}, {}
    for lang, ds in by_lang.items():
        dropped = Dropped(strict) if counts is None else counts.setdefault(lang, Dropped(strict))
        here = (where or {}).get(lang, lang)
        _require(ds, here, "id", "context", "question", "answers.text", "answers.answer_start")
        paragraphs: dict[str, tuple[int, list]] = {}
        for i, r in enumerate(ds):
            ids = {i: r["id"]}
            for column in ("id", "context", "question"):
                _check_text(here, i, column, r[column], ids)
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
            _check_text(here, i, "answers.text", texts[0], ids)
            start = repair_offset(r["context"], texts[0], starts[0])
            if start is None:  # XTREME skips questions whose answer sits in no sentence
                if dropped.strict:
                    raise _fail(here, i, "answers.text", f"answer {_show(texts[0])} (answer_start {starts[0]}) "
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


# Formats that need every language at once (one candidate pool shared by all languages):
# {language: loaded split} -> ({language: query rows}, pool rows).
POOLED_FORMATS = {"xquad_r": lareqa_rows}
