"""Loaders and normalizers on fixture files written in the real Hub sources' exact formats.

Nobody here can reach the Hub, so every source format in the registry (xstilts/core/tasks.py) gets a
fixture: a parquet file with the real columns and `datasets.Features` (ClassLabel names in the
source's own order, struct-of-lists vs list-of-structs, int32 vs int64, the real placeholders of
unlabeled rows), written where a local mirror keeps it (<repo>/<config>/<split>-00000-of-00001.parquet
with the config name the registry resolves for the language), loaded by `sources.load_source` and
normalized by `normalize.normalize` as profile paper would. Schemas: datasets.md and the schema report.
"""
import datasets
import pytest
from conftest import ROOT
from datasets import ClassLabel, Features, List, Sequence, Value

from xstilts.core import io, tasks
from xstilts.data import normalize, prepare, sources

S = Value("string")
I32 = Value("int32")
I64 = Value("int64")
NLI = ClassLabel(names=["entailment", "neutral", "contradiction"])       # HF order (MNLI/SNLI/ANLI/XNLI)
NLI_ALPHA = ClassLabel(names=["contradiction", "entailment", "neutral"])  # jiant/XTREME order: the trap
NER_ALPHA = ["B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O"]   # XTREME labels.txt order
SQUAD_ANSWERS = Sequence({"text": S, "answer_start": I32})    # a struct of parallel lists
XTREME_ANSWERS = Sequence({"answer_start": I32, "text": S})   # google/xtreme's key order


def load(tmp_path, task, source, lang, rows, features):
    """Write `rows` as the Hub file of `source` in language `lang`, load it like a local mirror,
    normalize it. Returns (canonical rows, dropped counts)."""
    task = tasks.TASKS[task] if isinstance(task, str) else task
    features = Features(features)
    config = sources.config_name(source, lang, "paper")
    path = tmp_path / source.repo / config / f"{source.split}-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    ds = sources.load_source(source.repo, config, source.split, local_hub=tmp_path)
    assert ds.features == features  # the round trip kept the real types (ClassLabel, int32, nesting)
    return normalize.normalize(task, source, ds, lang, "paper")


def src(task, part, lang=None, i=0):
    """A registry Source: part is 'train'/'dev' (the i-th source) or an eval split, with the
    per-language override applied when `lang` is given."""
    t = tasks.TASKS[task]
    if part in ("train", "dev") and lang is None:
        return getattr(t, part)[i]
    return t.eval_source(part, lang, "paper")


# --- registry ------------------------------------------------------------------------------------
def all_sources():
    for t in tasks.TASKS.values():
        yield from ((t, s) for s in (*t.train, *t.dev, *t.eval.values()))
        yield from ((t, s) for o in t.overrides.values() for s in o.values())
        if t.pool is not None:
            yield t, t.pool
        if t.translated_train is not None:
            yield t, t.translated_train


# Every format this file has a fixture test for; the registry may use no other.
COVERED_FORMATS = {"nli", "qqp", "paws", "squad", "hellaswag", "cosmosqa", "commonsenseqa", "copa", "udpos",
                   "panx", "tatoeba", "tatoeba_mteb", "bucc_pairs", "bucc_corpus", "xquad_r", "mewslix",
                   "mewslix_entities", "ccg"}


def test_every_registry_source_has_a_normalizer_and_a_fixture():
    for t, s in all_sources():
        if s.repo == tasks.CCGBANK:
            assert s.format == "ccg", (t.name, s)
        else:
            assert s.format in normalize.NORMALIZERS or s.format in normalize.POOLED_FORMATS, (t.name, s)
        assert s.format in COVERED_FORMATS, f"{t.name}: {s.label} has format '{s.format}' with no fixture test"


def test_every_official_language_resolves_to_a_config():
    for t in tasks.TARGETS.values():
        for lang in t.all_languages():
            for split in t.eval:
                s = t.eval_source(split, lang, "paper")
                if s is not None:
                    name = sources.config_name(s, lang, "paper")
                    assert "{" not in name and name, (t.name, split, lang)
    # spot checks against the Hub's real config names
    assert sources.config_name(src("udpos", "test", "de"), "de", "paper") == "udpos.German"
    assert sources.config_name(src("udpos", "test", "lt"), "lt", "paper") == "lt"  # izhx/xtreme-r-udpos
    assert src("udpos", "test", "lt").repo == "izhx/xtreme-r-udpos"
    assert src("udpos", "dev", "kk") is None  # Kazakh has no validation split
    assert sources.config_name(src("tatoeba", "test", "fa"), "fa", "paper") == "tatoeba.pes"
    assert sources.config_name(src("tatoeba", "test", "zh"), "zh", "paper") == "tatoeba.cmn"
    assert sources.config_name(src("tatoeba", "test", "az"), "az", "paper") == "aze-eng"
    assert sources.config_name(src("mlqa", "test", "de"), "de", "paper") == "MLQA.de.de"
    assert sources.config_name(src("xquad", "test", "ro"), "ro", "paper") == "xquad.ro"
    assert sources.config_name(src("bucc2018", "test", "zh"), "zh", "paper") == "zh-en"
    assert sources.config_name(src("panx", "test", "qu"), "qu", "paper") == "qu"
    assert src("panx", "test", "qu").repo == "unimelb-nlp/wikiann"
    assert sources.config_name(src("panx", "test", "de"), "de", "paper") == "PAN-X.de"


# --- classification --------------------------------------------------------------------------------
def test_glue_mnli_labels_by_name_and_unlabeled_test(tmp_path):
    f = {"premise": S, "hypothesis": S, "label": NLI, "idx": I32}
    rows, dropped = load(tmp_path, "mnli", src("mnli", "train"), "en", [
        {"premise": "p0", "hypothesis": "h0", "label": 2, "idx": 7},
        {"premise": "p1", "hypothesis": "h1", "label": 0, "idx": 8},
        {"premise": "p2", "hypothesis": "h2", "label": 1, "idx": 9}], f)
    assert rows == [{"id": "7", "text_a": "p0", "text_b": "h0", "label": "contradiction"},
                    {"id": "8", "text_a": "p1", "text_b": "h1", "label": "entailment"},
                    {"id": "9", "text_a": "p2", "text_b": "h2", "label": "neutral"}]
    assert dropped == {}
    test = tasks.Source("nyu-mll/glue", "mnli", "test_matched", "nli")
    rows, dropped = load(tmp_path, "mnli", test, "en",
                         [{"premise": "p", "hypothesis": "h", "label": -1, "idx": 0}], f)
    assert rows == [] and dropped == {"unlabeled": 1}


def test_anli_uid_reason_and_round_split_names(tmp_path):
    anli = tasks.TASKS["anli_plus"]
    assert [s.split for s in anli.train[:3]] == ["train_r1", "train_r2", "train_r3"]
    assert [s.split for s in anli.dev[:3]] == ["dev_r1", "dev_r2", "dev_r3"]
    f = {"uid": S, "premise": S, "hypothesis": S, "label": NLI, "reason": S}
    rows, dropped = load(tmp_path, anli, anli.train[0], "en", [
        {"uid": "0fd0abfb-659e-4453-b196-c3a64d2d8267", "premise": "The Parma trolleybus system...",
         "hypothesis": "It was built in 1953.", "label": 0, "reason": ""},
        {"uid": "5b5ee5d3-4d6f-4a43-8b0b-5d3e2c0b1e12", "premise": "P", "hypothesis": "H", "label": 2,
         "reason": "The system opened in 1953, not closed."}], f)
    assert [(r["id"], r["label"]) for r in rows] == [("0fd0abfb-659e-4453-b196-c3a64d2d8267", "entailment"),
                                                     ("5b5ee5d3-4d6f-4a43-8b0b-5d3e2c0b1e12", "contradiction")]
    assert rows[0]["text_a"] == "The Parma trolleybus system..." and rows[0]["text_b"] == "It was built in 1953."


def test_snli_drops_rows_without_gold_label(tmp_path):
    snli = tasks.TASKS["anli_plus"].train[-1]
    assert snli.repo == "stanfordnlp/snli" and snli.config == "plain_text"
    f = {"premise": S, "hypothesis": S, "label": NLI}
    rows, dropped = load(tmp_path, "anli_plus", snli, "en", [
        {"premise": "A man.", "hypothesis": "A person.", "label": 0},
        {"premise": "A man.", "hypothesis": "A woman.", "label": -1},
        {"premise": "A dog.", "hypothesis": "A cat.", "label": 2}], f)
    assert [(r["id"], r["text_b"], r["label"]) for r in rows] == [("0", "A person.", "entailment"),
                                                                   ("2", "A cat.", "contradiction")]
    assert dropped == {"unlabeled": 1}


def test_facebook_xnli_per_language_config(tmp_path):
    f = {"premise": S, "hypothesis": S, "label": NLI}
    rows, _ = load(tmp_path, "xnli", src("xnli", "test", "de"), "de", [
        {"premise": "Er ging.", "hypothesis": "Er blieb.", "label": 2},
        {"premise": "Er ging.", "hypothesis": "Er ging weg.", "label": 0}], f)
    assert (tmp_path / "facebook/xnli/de/test-00000-of-00001.parquet").exists()
    assert [r["label"] for r in rows] == ["contradiction", "entailment"]
    assert rows[0]["text_a"] == "Er ging." and rows[0]["text_b"] == "Er blieb."


def test_alphabetical_label_order_still_maps_by_name(tmp_path):
    """jiant/XTREME order NLI labels alphabetically (0 = contradiction): names decide, not ids."""
    f = {"premise": S, "hypothesis": S, "label": NLI_ALPHA}
    rows, _ = load(tmp_path, "xnli", src("xnli", "dev", "fr"), "fr", [
        {"premise": "a", "hypothesis": "b", "label": 0}, {"premise": "a", "hypothesis": "c", "label": 1},
        {"premise": "a", "hypothesis": "d", "label": 2}], f)
    assert [r["label"] for r in rows] == ["contradiction", "entailment", "neutral"]


def test_google_xtreme_xnli_string_labels_and_language_filter(tmp_path):
    source = tasks.Source("google/xtreme", "XNLI", "validation", "nli")
    f = {"language": S, "sentence1": S, "sentence2": S, "gold_label": S}
    rows, _ = load(tmp_path, "xnli", source, "de", [
        {"language": "en", "sentence1": "x", "sentence2": "y", "gold_label": "entailment"},
        {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"},
        {"language": "de", "sentence1": "c", "sentence2": "d", "gold_label": "contradictory"}], f)
    assert [(r["text_a"], r["label"]) for r in rows] == [("a", "neutral"), ("c", "contradiction")]


def test_unknown_label_name_is_an_error(tmp_path):
    f = {"premise": S, "hypothesis": S, "label": ClassLabel(names=["entailment", "not_entailment"])}
    with pytest.raises(sources.DataSourceError, match="not_entailment"):
        load(tmp_path, "mnli", src("mnli", "train"), "en", [{"premise": "a", "hypothesis": "b", "label": 1}], f)


def test_glue_qqp(tmp_path):
    f = {"question1": S, "question2": S, "label": ClassLabel(names=["not_duplicate", "duplicate"]), "idx": I32}
    rows, dropped = load(tmp_path, "qqp", src("qqp", "dev"), "en", [
        {"question1": "How do I cook rice?", "question2": "How is rice cooked?", "label": 1, "idx": 0},
        {"question1": "Why is the sky blue?", "question2": "Why is grass green?", "label": 0, "idx": 1},
        {"question1": "q", "question2": "q2", "label": -1, "idx": 2}], f)
    assert rows == [{"id": "0", "text_a": "How do I cook rice?", "text_b": "How is rice cooked?", "label": "duplicate"},
                    {"id": "1", "text_a": "Why is the sky blue?", "text_b": "Why is grass green?",
                     "label": "not_duplicate"}]
    assert dropped == {"unlabeled": 1}


def test_paws_x_classlabel_and_minus_one_rows(tmp_path):
    f = {"id": I32, "sentence1": S, "sentence2": S, "label": ClassLabel(names=["0", "1"])}
    rows, dropped = load(tmp_path, "pawsx", src("pawsx", "test", "ja"), "ja", [
        {"id": 1, "sentence1": "s1", "sentence2": "s2", "label": 1},
        {"id": 2, "sentence1": "s3", "sentence2": "s4", "label": -1},
        {"id": 3, "sentence1": "s5", "sentence2": "s6", "label": 0}], f)
    assert (tmp_path / "google-research-datasets/paws-x/ja/test-00000-of-00001.parquet").exists()
    assert [(r["id"], r["text_a"], r["label"]) for r in rows] == [("1", "s1", "1"), ("3", "s5", "0")]
    assert dropped == {"unlabeled": 1}


def test_google_xtreme_paws_x_string_labels(tmp_path):
    source = tasks.Source("google/xtreme", "PAWS-X.{code}", "validation", "paws")
    rows, _ = load(tmp_path, "pawsx", source, "de", [
        {"sentence1": "a", "sentence2": "b", "label": "1"}, {"sentence1": "c", "sentence2": "d", "label": "0"}],
        {"sentence1": S, "sentence2": S, "label": S})
    assert (tmp_path / "google/xtreme/PAWS-X.de/validation-00000-of-00001.parquet").exists()
    assert [r["label"] for r in rows] == ["1", "0"]


# --- extractive QA ---------------------------------------------------------------------------------
SQUAD_F = {"id": S, "title": S, "context": S, "question": S, "answers": SQUAD_ANSWERS}
CTX = "Maria sees the red dog. The dog sleeps."


def qa(id_, question, texts, starts, context=CTX, title="t"):
    return {"id": id_, "title": title, "context": context, "question": question,
            "answers": {"text": texts, "answer_start": starts}}


def test_squad_v1_answers_and_offset_repair(tmp_path):
    rows, dropped = load(tmp_path, "squad_v1", src("squad_v1", "dev"), "en", [
        qa("a", "Who?", ["Maria", "Maria"], [0, 0]),
        qa("b", "What?", ["the red dog"], [13]),        # a stripped context shifted the offset by 2
        qa("c", "Which?", ["a cat"], [3]),               # the answer is not in the context at all
        qa("d", "Where?", [], [])], SQUAD_F)             # an empty answer list: no answer for v1
    assert rows[0] == {"id": "a", "context": CTX, "question": "Who?",
                       "answers": [{"text": "Maria", "start": 0}, {"text": "Maria", "start": 0}]}
    assert rows[1]["answers"] == [{"text": "the red dog", "start": 11}]
    assert CTX[11:22] == "the red dog"
    assert [r["id"] for r in rows] == ["a", "b"]
    assert dropped == {"answer not in context": 1, "no answer left": 1, "no answer": 1}


def test_squad_v2_unanswerable_kept_for_v2_dropped_for_v1(tmp_path):
    source = src("squad_v2", "train")
    assert (source.repo, source.config) == ("rajpurkar/squad_v2", "squad_v2")
    fixture = [qa("q1", "Who?", ["Maria"], [0]), qa("q2", "Why?", [], [])]
    rows, dropped = load(tmp_path, "squad_v2", source, "en", fixture, SQUAD_F)
    assert [(r["id"], r["answers"]) for r in rows] == [("q1", [{"text": "Maria", "start": 0}]), ("q2", [])]
    assert dropped == {}
    rows, dropped = load(tmp_path, "squad_v1", source, "en", fixture, SQUAD_F)
    assert [r["id"] for r in rows] == ["q1"] and dropped == {"no answer": 1}


def test_google_xquad(tmp_path):
    ctx = "Das Auto ist rot."
    rows, _ = load(tmp_path, "xquad", src("xquad", "test", "de"), "de", [
        {"id": "56beb4343aeaaa14008c925b", "context": ctx, "question": "Welche Farbe?",
         "answers": {"text": ["rot"], "answer_start": [13]}}],
        {"id": S, "context": S, "question": S, "answers": SQUAD_ANSWERS})
    assert (tmp_path / "google/xquad/xquad.de/validation-00000-of-00001.parquet").exists()
    assert rows == [{"id": "56beb4343aeaaa14008c925b", "context": ctx, "question": "Welche Farbe?",
                     "answers": [{"text": "rot", "start": 13}]}]


def test_google_xtreme_mlqa_config_naming(tmp_path):
    ctx = "Hà Nội là thủ đô."
    rows, _ = load(tmp_path, "mlqa", src("mlqa", "test", "vi"), "vi", [
        {"id": "5a1b", "title": "Hà Nội", "context": ctx, "question": "Thủ đô?",
         "answers": {"answer_start": [0], "text": ["Hà Nội"]}}],
        {"id": S, "title": S, "context": S, "question": S, "answers": XTREME_ANSWERS})
    assert (tmp_path / "google/xtreme/MLQA.vi.vi/test-00000-of-00001.parquet").exists()
    assert rows[0]["answers"] == [{"text": "Hà Nội", "start": 0}]


def test_google_xtreme_tydiqa_split_by_id_prefix(tmp_path):
    fixture = [
        {"id": "english-2406446186486166789-0", "title": "Moon", "context": "The Moon orbits Earth.",
         "question": "What orbits Earth?", "answers": {"answer_start": [0], "text": ["The Moon"]}},
        {"id": "arabic--7018347372936282926-0", "title": "قمر", "context": "القمر يدور حول الأرض.",
         "question": "ماذا يدور؟", "answers": {"answer_start": [0], "text": ["القمر"]}},
        {"id": "english-88-1", "title": "Sun", "context": " The Sun is a star.",  # unstripped: offset 1 off
         "question": "What is the Sun?", "answers": {"answer_start": [10], "text": ["a star"]}},
        {"id": "bengali-1-0", "title": "x", "context": "y", "question": "z",
         "answers": {"answer_start": [0], "text": ["y"]}}]
    f = {"id": S, "title": S, "context": S, "question": S, "answers": XTREME_ANSWERS}
    rows, _ = load(tmp_path, "tydiqa", src("tydiqa", "train"), "en", fixture, f)
    assert [r["id"] for r in rows] == ["english-2406446186486166789-0", "english-88-1"]
    assert rows[1]["answers"] == [{"text": "a star", "start": 12}]
    rows, _ = load(tmp_path, "tydiqa", src("tydiqa", "test", "ar"), "ar", fixture, f)
    assert [r["id"] for r in rows] == ["arabic--7018347372936282926-0"]
    assert rows[0]["answers"] == [{"text": "القمر", "start": 0}]


# --- multiple choice ---------------------------------------------------------------------------------
HELLASWAG_F = {"ind": I32, "activity_label": S, "ctx_a": S, "ctx_b": S, "ctx": S, "endings": List(S),
               "source_id": S, "split": S, "split_type": S, "label": S}


def hellaswag(ind, label, split="val"):
    return {"ind": ind, "activity_label": "Removing ice from car", "ctx_a": "A man scrapes the windshield.",
            "ctx_b": "then, the man", "ctx": "A man scrapes the windshield. then, the man",
            "endings": ["drives off.", "eats ice.", "sings.", "sleeps."], "source_id": "activitynet~v_abc",
            "split": split, "split_type": "indomain", "label": label}


def test_hellaswag_string_labels_and_empty_test_label(tmp_path):
    rows, dropped = load(tmp_path, "hellaswag", src("hellaswag", "dev"), "en",
                         [hellaswag(24, "2"), hellaswag(25, "0")], HELLASWAG_F)
    assert rows[0] == {"id": "24", "context": "A man scrapes the windshield.", "question": "",
                       "choices": ["then, the man drives off.", "then, the man eats ice.",
                                   "then, the man sings.", "then, the man sleeps."], "label": 2}
    assert rows[1]["label"] == 0 and dropped == {}
    test = tasks.Source("Rowan/hellaswag", "default", "test", "hellaswag")
    rows, dropped = load(tmp_path, "hellaswag", test, "en", [hellaswag(1, "", "test")], HELLASWAG_F)
    assert rows == [] and dropped == {"unlabeled": 1}


COSMOS_F = {"id": S, "context": S, "question": S, **{f"answer{i}": S for i in range(4)}, "label": I32}


def test_cosmosqa_int32_label_and_minus_one_test(tmp_path):
    source = src("cosmosqa", "train")
    assert source.revision == "refs/convert/parquet"
    fixture = [{"id": "3Q9SPIIRWJKVQ8244310E8TUS6YWAC##34V1S5K3GTZMDUBNBIGY93FLDB4690##A1S1K7134S2VUC##Blog_1",
                "context": "Good Old War played.", "question": "What may happen next?",
                "answer0": "None of the above.", "answer1": "They leave.", "answer2": "They sing.",
                "answer3": "They sleep.", "label": 2},
               {"id": "x", "context": "c", "question": "q", "answer0": "a", "answer1": "b", "answer2": "c",
                "answer3": "d", "label": -1}]
    rows, dropped = load(tmp_path, "cosmosqa", source, "en", fixture, COSMOS_F)
    assert rows == [{"id": fixture[0]["id"], "context": "Good Old War played.", "question": "What may happen next?",
                     "choices": ["None of the above.", "They leave.", "They sing.", "They sleep."], "label": 2}]
    assert dropped == {"unlabeled": 1}


def test_commonsenseqa_answer_key_by_name_and_empty_test_key(tmp_path):
    f = {"id": S, "question": S, "question_concept": S, "choices": Sequence({"label": S, "text": S}),
         "answerKey": S}
    choices = {"label": ["A", "B", "C", "D", "E"], "text": ["bank", "library", "department store", "mall", "new york"]}
    rows, dropped = load(tmp_path, "commonsenseqa", src("commonsenseqa", "train"), "en", [
        {"id": "075e483d21c29a511267ef62bedc0461",
         "question": "The sanctions against the school were a punishing blow?",
         "question_concept": "punishing", "choices": choices, "answerKey": "D"},
        {"id": "t1", "question": "q", "question_concept": "c", "choices": choices, "answerKey": ""}], f)
    assert rows == [{"id": "075e483d21c29a511267ef62bedc0461", "context": "",
                     "question": "The sanctions against the school were a punishing blow?",
                     "choices": ["bank", "library", "department store", "mall", "new york"], "label": 3}]
    assert dropped == {"unlabeled": 1}
    # keys are matched by name, not position
    shuffled = {"label": ["E", "D", "C", "B", "A"], "text": ["e", "d", "c", "b", "a"]}
    rows, _ = load(tmp_path, "commonsenseqa", src("commonsenseqa", "dev"), "en", [
        {"id": "s", "question": "q", "question_concept": "c", "choices": shuffled, "answerKey": "D"}], f)
    assert rows[0]["choices"][rows[0]["label"]] == "d"


def test_super_glue_copa_classlabel_and_minus_one_test(tmp_path):
    f = {"premise": S, "choice1": S, "choice2": S, "question": S, "idx": I32,
         "label": ClassLabel(names=["choice1", "choice2"])}
    rows, dropped = load(tmp_path, "xcopa", src("xcopa", "train"), "en", [
        {"premise": "My body cast a shadow over the grass.", "choice1": "The sun was rising.",
         "choice2": "The grass was cut.", "question": "cause", "idx": 0, "label": 0},
        {"premise": "The woman tolerated her friend.", "choice1": "She liked him.", "choice2": "She was rude.",
         "question": "effect", "idx": 1, "label": 1}], f)
    assert rows[0] == {"id": "0", "context": "My body cast a shadow over the grass.", "question": "What was the cause?",
                       "choices": ["The sun was rising.", "The grass was cut."], "label": 0}
    assert rows[1]["question"] == "What happened as a result?" and rows[1]["label"] == 1
    test = tasks.Source("aps/super_glue", "copa", "test", "copa")
    rows, dropped = load(tmp_path, "xcopa", test, "en", [
        {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0, "label": -1}], f)
    assert rows == [] and dropped == {"unlabeled": 1}


def test_xcopa_int32_label(tmp_path):
    f = {"premise": S, "choice1": S, "choice2": S, "question": S, "label": I32, "idx": I32,
         "changed": Value("bool")}
    rows, dropped = load(tmp_path, "xcopa", src("xcopa", "test", "et"), "et", [
        {"premise": "Ese oli mullikilesse mässitud.", "choice1": "See oli õrn.", "choice2": "See oli väike.",
         "question": "cause", "label": 0, "idx": 1, "changed": False},
        {"premise": "Ma tühjendasin taskud.", "choice1": "Leidsin pileti.", "choice2": "Leidsin relva.",
         "question": "effect", "label": 1, "idx": 2, "changed": True}], f)
    assert (tmp_path / "cambridgeltl/xcopa/et/test-00000-of-00001.parquet").exists()
    assert [(r["id"], r["question"], r["label"]) for r in rows] == [("1", "What was the cause?", 0),
                                                                    ("2", "What happened as a result?", 1)]
    assert rows[1]["choices"] == ["Leidsin pileti.", "Leidsin relva."] and dropped == {}


# --- tagging -------------------------------------------------------------------------------------------
def test_google_xtreme_udpos_upos_tags(tmp_path):
    f = {"tokens": List(S), "pos_tags": List(ClassLabel(names=list(tasks.UPOS_TAGS)))}
    assert f["pos_tags"].feature.names[:3] == ["ADJ", "ADP", "ADV"]
    rows, dropped = load(tmp_path, "udpos", src("udpos", "test", "de"), "de", [
        {"tokens": ["Der", "Hund", "bellt", "."], "pos_tags": [5, 7, 15, 12]},
        {"tokens": [], "pos_tags": []}], f)
    assert (tmp_path / "google/xtreme/udpos.German/test-00000-of-00001.parquet").exists()
    assert rows == [{"id": "0", "tokens": ["Der", "Hund", "bellt", "."], "tags": ["DET", "NOUN", "VERB", "PUNCT"]}]
    assert dropped == {"empty or untagged": 1}


def test_xtreme_r_udpos_override(tmp_path):
    source = src("udpos", "test", "pl")
    assert (source.repo, source.split) == ("izhx/xtreme-r-udpos", "test")
    f = {"tokens": List(S), "pos_tags": List(ClassLabel(names=list(tasks.UPOS_TAGS)))}
    rows, _ = load(tmp_path, "udpos", source, "pl", [{"tokens": ["Kot", "śpi"], "pos_tags": [7, 15]}], f)
    assert (tmp_path / "izhx/xtreme-r-udpos/pl/test-00000-of-00001.parquet").exists()
    assert rows[0]["tags"] == ["NOUN", "VERB"]


def test_google_xtreme_panx_hf_tag_order(tmp_path):
    f = {"tokens": List(S), "ner_tags": List(ClassLabel(names=list(tasks.NER_TAGS))), "langs": List(S)}
    rows, _ = load(tmp_path, "panx", src("panx", "dev", "de"), "de", [
        {"tokens": ["Angela", "Merkel", "besucht", "Paris"], "ner_tags": [1, 2, 0, 5], "langs": ["de"] * 4}], f)
    assert rows == [{"id": "0", "tokens": ["Angela", "Merkel", "besucht", "Paris"],
                     "tags": ["B-PER", "I-PER", "O", "B-LOC"]}]


def test_panx_alphabetical_tag_order_still_maps_by_name(tmp_path):
    f = {"tokens": List(S), "ner_tags": List(ClassLabel(names=NER_ALPHA)), "langs": List(S)}
    rows, _ = load(tmp_path, "panx", src("panx", "test", "fr"), "fr", [
        {"tokens": ["Jean", "à", "Lyon"], "ner_tags": [2, 6, 0], "langs": ["fr"] * 3}], f)
    assert rows[0]["tags"] == ["B-PER", "O", "B-LOC"]


def test_wikiann_override_with_spans(tmp_path):
    source = src("panx", "test", "qu")
    assert (source.repo, source.config, source.split) == ("unimelb-nlp/wikiann", "{code}", "test")
    f = {"tokens": List(S), "ner_tags": List(ClassLabel(names=list(tasks.NER_TAGS))), "langs": List(S),
         "spans": List(S)}
    rows, _ = load(tmp_path, "panx", source, "qu", [
        {"tokens": ["Qusqu", "llaqta"], "ner_tags": [5, 6], "langs": ["qu", "qu"], "spans": ["LOC: Qusqu llaqta"]}], f)
    assert (tmp_path / "unimelb-nlp/wikiann/qu/test-00000-of-00001.parquet").exists()
    assert rows[0]["tags"] == ["B-LOC", "I-LOC"]
    dev = src("panx", "dev", "qu")
    assert (dev.repo, dev.split) == ("unimelb-nlp/wikiann", "validation")


# --- retrieval -----------------------------------------------------------------------------------------
def test_google_xtreme_tatoeba_strips_newlines(tmp_path):
    f = {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
    rows, _ = load(tmp_path, "tatoeba", src("tatoeba", "test", "de"), "de", [
        {"source_sentence": "Hallo.\n", "target_sentence": "Hello.\n", "source_lang": "deu", "target_lang": "eng"},
        {"source_sentence": "Danke!\n", "target_sentence": "Thanks!\n", "source_lang": "deu", "target_lang": "eng"}], f)
    assert (tmp_path / "google/xtreme/tatoeba.deu/validation-00000-of-00001.parquet").exists()
    # as XTREME's similarity_search: the non-English side is the index, English the queries
    assert rows == [{"kind": "query", "id": "0", "text": "Hello.", "relevant": ["0"]},
                    {"kind": "query", "id": "1", "text": "Thanks!", "relevant": ["1"]},
                    {"kind": "candidate", "id": "0", "text": "Hallo."},
                    {"kind": "candidate", "id": "1", "text": "Danke!"}]


def test_mteb_tatoeba_override(tmp_path):
    source = src("tatoeba", "test", "uk")
    assert (source.repo, source.split, source.format) == ("mteb/tatoeba-bitext-mining", "test", "tatoeba_mteb")
    rows, _ = load(tmp_path, "tatoeba", source, "uk", [
        {"sentence1": "Привіт.", "sentence2": "Hi."}, {"sentence1": "Дякую.", "sentence2": "Thank you."}],
        {"sentence1": S, "sentence2": S})
    assert (tmp_path / "mteb/tatoeba-bitext-mining/ukr-eng/test-00000-of-00001.parquet").exists()
    assert [(r["kind"], r["text"], r.get("relevant")) for r in rows] == [
        ("query", "Hi.", ["0"]), ("query", "Thank you.", ["1"]), ("candidate", "Привіт.", None),
        ("candidate", "Дякую.", None)]


def test_google_xtreme_bucc18_pairs_ids_in_lang_columns(tmp_path):
    f = {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
    rows, _ = load(tmp_path, "bucc2018", src("bucc2018", "dev", "fr"), "fr", [
        {"source_sentence": "Le chat dort.\n", "target_sentence": "The cat sleeps.\n",
         "source_lang": "fr-000000012", "target_lang": "en-000000470"},
        {"source_sentence": "Il pleut.", "target_sentence": "It rains.",
         "source_lang": "fr-000000013", "target_lang": "en-000000003"}], f)
    assert (tmp_path / "google/xtreme/bucc18.fr/validation-00000-of-00001.parquet").exists()
    assert rows == [
        {"kind": "query", "id": "fr-000000012", "text": "Le chat dort.", "relevant": ["en-000000470"]},
        {"kind": "query", "id": "fr-000000013", "text": "Il pleut.", "relevant": ["en-000000003"]},
        {"kind": "candidate", "id": "en-000000470", "text": "The cat sleeps."},
        {"kind": "candidate", "id": "en-000000003", "text": "It rains."}]


def test_mteb_bucc_one_row_corpus_with_one_based_gold(tmp_path):
    f = {"sentence1": List(S), "sentence2": List(S), "gold": List(List(I64))}
    rows, _ = load(tmp_path, "bucc2018", src("bucc2018", "test", "de"), "de", [
        {"sentence1": ["Der Hund schläft.", "Ein Satz ohne Partner.", "Es regnet."],
         "sentence2": ["It rains.", "The dog sleeps.", "Unrelated English."],
         "gold": [[1, 2], [3, 1]]}], f)
    assert (tmp_path / "mteb/BUCC/de-en/test-00000-of-00001.parquet").exists()
    assert rows == [
        {"kind": "query", "id": "de-000000", "text": "Der Hund schläft.", "relevant": ["en-000001"]},
        {"kind": "query", "id": "de-000001", "text": "Ein Satz ohne Partner.", "relevant": []},
        {"kind": "query", "id": "de-000002", "text": "Es regnet.", "relevant": ["en-000000"]},
        {"kind": "candidate", "id": "en-000000", "text": "It rains."},
        {"kind": "candidate", "id": "en-000001", "text": "The dog sleeps."},
        {"kind": "candidate", "id": "en-000002", "text": "Unrelated English."}]


def test_xquad_r_lareqa_pool_and_relevant_in_every_language(tmp_path):
    f = {"id": S, "context": S, "question": S, "answers": SQUAD_ANSWERS}
    contexts = {"en": "The cat sleeps. The dog barks loudly. Birds sing.",
                "de": "Die Katze schläft. Der Hund bellt laut. Vögel singen."}
    answers = {"en": ("The dog barks", 16), "de": ("Der Hund bellt", 19)}
    by_lang = {}
    for lang in ("en", "de"):
        source = src("lareqa", "test", lang)
        assert source.format in normalize.POOLED_FORMATS and source.split == "validation"
        config = sources.config_name(source, lang, "paper")
        assert config == lang
        text, start = answers[lang]
        assert contexts[lang][start:start + len(text)] == text
        path = tmp_path / source.repo / config / "validation-00000-of-00001.parquet"
        path.parent.mkdir(parents=True)
        datasets.Dataset.from_list([
            {"id": "q1", "context": contexts[lang], "question": f"who barks? ({lang})",
             "answers": {"text": [text], "answer_start": [start]}},
            {"id": "q2", "context": contexts[lang], "question": f"who sleeps? ({lang})",
             "answers": {"text": [contexts[lang][:7]], "answer_start": [0]}}],
            features=Features(f)).to_parquet(str(path))
        by_lang[lang] = sources.load_source(source.repo, config, source.split, local_hub=tmp_path)
    queries, pool = normalize.POOLED_FORMATS["xquad_r"](by_lang)
    assert [(c["id"], c["text"]) for c in pool] == [
        ("en-0-0", "The cat sleeps."), ("en-0-1", "The dog barks loudly."), ("en-0-2", "Birds sing."),
        ("de-0-0", "Die Katze schläft."), ("de-0-1", "Der Hund bellt laut."), ("de-0-2", "Vögel singen.")]
    assert all(c["kind"] == "candidate" for c in pool)
    assert queries["de"] == [
        {"kind": "query", "id": "de-q1", "text": "who barks? (de)", "relevant": ["en-0-1", "de-0-1"]},
        {"kind": "query", "id": "de-q2", "text": "who sleeps? (de)", "relevant": ["en-0-0", "de-0-0"]}]
    assert queries["en"][0]["relevant"] == ["en-0-1", "de-0-1"]


MENTION_F = {
    "context": {"document_title": S, "document_url": S, "document_id": S, "language": S, "text": S,
                "sentence_spans": List({"start": I64, "end": I64})},
    "mentions": List({"example_id": S, "mention_span": {"start": I64, "end": I64, "text": S}, "entity_id": S}),
}


def test_mewslix_mentions_formatted_as_xtreme_queries(tmp_path):
    text = "Storms hit the coast.\nThe {mayor} of Lisbon spoke to Reuters. Rain ends { today."
    s1, s2 = text.index("The"), text.index("Rain")
    spans = [{"start": 0, "end": 21}, {"start": s1, "end": s2 - 1}, {"start": s2, "end": len(text)}]
    lisbon, reuters, rain = text.index("Lisbon"), text.index("Reuters"), text.index("Rain")

    def mention(id_, start, word, qid):
        return {"example_id": id_, "mention_span": {"start": start, "end": start + len(word), "text": word},
                "entity_id": qid}
    article = {"context": {"document_title": "Storms", "document_url": "https://en.wikinews.org/wiki/Storms",
                           "document_id": "w1", "language": "en", "text": text, "sentence_spans": spans},
               "mentions": [mention("64ca9e2f229acf8e39c2a3d2e45f81e7", lisbon, "Lisbon", "Q597"),
                            mention("e2", reuters, "Reuters", ""),              # blanked test QID: unlabeled
                            mention("e3", s1 - 3, "st.\nThe", "Q1"),           # crosses a sentence boundary
                            mention("e4", rain, "Rain", " Q7925 ")]}
    assert text[lisbon:lisbon + 6] == "Lisbon"
    rows, dropped = load(tmp_path, "mewslix", src("mewslix", "test", "en"), "en", [article], MENTION_F)
    assert (tmp_path / "izhx/mewsli-x/en/test-00000-of-00001.parquet").exists()
    # XTREME: only the mention's sentence; paired {..} -> (..) (an unpaired brace stays); "m: left { m } right"
    assert rows == [
        {"kind": "query", "id": "64ca9e2f229acf8e39c2a3d2e45f81e7",
         "text": "Lisbon: The (mayor) of { Lisbon } spoke to Reuters.", "relevant": ["Q597"]},
        {"kind": "query", "id": "e4", "text": "Rain: { Rain } ends { today.", "relevant": ["Q7925"]}]
    assert dropped == {"unlabeled": 1, "mention crosses a sentence boundary": 1}


def test_mewslix_candidate_entities_pool(tmp_path):
    pool = tasks.TASKS["mewslix"].pool
    assert (pool.config, pool.split, pool.revision) == ("candidate_entities", "test", "refs/convert/parquet")
    f = {"entity_id": S, "title": S, "description": S, "description_language": S, "description_url": S,
         "sentence_spans": List({"start": I64, "end": I64})}
    desc = "Lisboa é a capital de Portugal.  É a maior cidade.\nTem um rio. Ignorado."
    spans = [{"start": 0, "end": 31}, {"start": 33, "end": 50}, {"start": 51, "end": 62}]
    rows, _ = load(tmp_path, "mewslix", pool, "en", [
        {"entity_id": "Q597", "title": "Lisbon", "description": desc, "description_language": "pt",
         "description_url": "https://pt.wikipedia.org/wiki/Lisboa", "sentence_spans": spans},
        {"entity_id": "Q1", "title": "Universe", "description": "All of space\nand time. ",
         "description_language": "en", "description_url": "u", "sentence_spans": []}], f)
    assert rows == [
        {"kind": "candidate", "id": "Q597", "text": "Lisboa é a capital de Portugal. É a maior cidade. Tem um rio."},
        {"kind": "candidate", "id": "Q1", "text": "All of space and time."}]


# --- CCGbank -------------------------------------------------------------------------------------------
AUTO = ("ID=wsj_{sec}{doc}.1 PARSER=GOLD NUMPARSE=1\n"
        "(<T S[dcl] 0 2> (<T NP 0 2> (<L N/N NNP NNP {w1} N_73/N_73>) (<L N NNP NNP Vinken N>) ) "
        "(<T S[dcl]\\NP 0 2> (<L (S[dcl]\\NP)/NP VBZ VBZ is (S[dcl]\\NP_10/NP_11)_10>) (<L NP NN NN chairman NP>) ) )\n"
        "ID=wsj_{sec}{doc}.2 PARSER=GOLD NUMPARSE=1\n"
        "(<T S[dcl] 0 2> (<L NP PRP PRP It NP>) "
        "(<T S[dcl]\\NP 0 2> (<L S[dcl]\\NP VBD VBD rained S[dcl]\\NP_1>) (<L . . . . .>) ) )\n")


def write_ccgbank(root, sections):
    for sec in sections:
        d = root / "data" / "AUTO" / f"{sec:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"wsj_{sec:02d}01.auto").write_text(AUTO.format(sec=f"{sec:02d}", doc="01", w1=f"Pierre{sec}"))


def test_ccgbank_auto_sections_split(tmp_path):
    write_ccgbank(tmp_path, [0, 18, 19, 21, 22, 24])
    train = sources.load_ccgbank(tmp_path, "train")
    assert [r["id"] for r in train] == ["wsj_0001.1", "wsj_0001.2", "wsj_1801.1", "wsj_1801.2"]
    assert train[0] == {"id": "wsj_0001.1", "tokens": ["Pierre0", "Vinken", "is", "chairman"],
                        "tags": ["N/N", "N", "(S[dcl]\\NP)/NP", "NP"]}
    assert train[1] == {"id": "wsj_0001.2", "tokens": ["It", "rained", "."], "tags": ["NP", "S[dcl]\\NP", "."]}
    assert [r["tokens"][0] for r in sources.load_ccgbank(tmp_path, "dev")] == ["Pierre19", "It", "Pierre21", "It"]
    assert [r["id"] for r in sources.load_ccgbank(str(tmp_path), "test")] == [
        "wsj_2201.1", "wsj_2201.2", "wsj_2401.1", "wsj_2401.2"]
    assert tasks.TASKS["ccg"].train[0].repo == tasks.CCGBANK


def test_ccgbank_missing_path_or_auto_is_actionable(tmp_path):
    with pytest.raises(sources.DataSourceError, match="LDC2005T13.*ccgbank"):
        sources.load_ccgbank(None, "train")
    with pytest.raises(sources.DataSourceError, match="has no data/AUTO"):
        sources.load_ccgbank(tmp_path, "train")
    write_ccgbank(tmp_path, [0])
    with pytest.raises(sources.DataSourceError, match="no CCG derivations.*19-21"):
        sources.load_ccgbank(tmp_path, "dev")


# --- mixing and loading errors -------------------------------------------------------------------------
def test_interleave_is_proportional_and_deterministic():
    a = [f"a{k}" for k in range(4)]
    b = [f"b{k}" for k in range(2)]
    c = ["c0"]
    assert prepare.interleave([a, b]) == ["a0", "b0", "a1", "a2", "b1", "a3"]
    assert prepare.interleave([a, b, c]) == ["a0", "b0", "a1", "c0", "a2", "b1", "a3"]
    assert prepare.interleave([b, ["x0", "x1"]]) == ["b0", "x0", "b1", "x1"]  # ties: source order
    assert prepare.interleave([a, [], b]) == prepare.interleave([a, b])
    big, small = list(range(100)), [f"s{k}" for k in range(10)]
    head = prepare.interleave([big, small])[:22]
    assert sum(isinstance(x, str) for x in head) == 2  # the first 10% hold ~10% of the small source


def test_missing_local_file_is_actionable(tmp_path):
    with pytest.raises(sources.DataSourceError, match="google/xquad config 'xquad.de' split 'validation'"):
        sources.load_source("google/xquad", "xquad.de", "validation", local_hub=tmp_path)


def _parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def test_local_mirror_reads_the_layouts_hub_repos_use(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # the parquet export (refs/convert/parquet): <config>/<split>/0000.parquet
    _parquet(tmp_path / "allenai/cosmos_qa/default/validation/0000.parquet", [{"id": "a"}])
    assert sources.load_source("allenai/cosmos_qa", "default", "validation", local_hub=tmp_path)["id"] == ["a"]
    # a default config's data/<split>-*.parquet (Rowan/hellaswag, tau/commonsense_qa)
    _parquet(tmp_path / "Rowan/hellaswag/data/train-00000-of-00001.parquet", [{"id": "b"}])
    assert sources.load_source("Rowan/hellaswag", "default", "train", local_hub=tmp_path)["id"] == ["b"]
    # anything else: the configs of the repo's dataset card (izhx/xtreme-r-udpos: <lang>/test.parquet)
    repo = tmp_path / "izhx/xtreme-r-udpos"
    _parquet(repo / "lt/test.parquet", [{"id": "c"}])
    (repo / "README.md").write_text("---\nconfigs:\n- config_name: lt\n  data_files:\n  - split: test\n"
                                    "    path: lt/test.parquet\n---\n")
    assert sources.load_source("izhx/xtreme-r-udpos", "lt", "test", local_hub=tmp_path)["id"] == ["c"]
    with pytest.raises(sources.DataSourceError, match="config 'pl'"):
        sources.load_source("izhx/xtreme-r-udpos", "pl", "test", local_hub=tmp_path)


def test_published_translate_train_sets_load_per_language(tmp_path):
    """XNLI's own translation of MNLI's train (facebook/xnli <lang> train), for target translate-train."""
    import yaml

    from xstilts.core import config
    from xstilts.data import translate

    raw = yaml.safe_load(open(ROOT / "params.yaml"))
    raw["profile"] = "paper"
    raw["paper"]["data"]["local_hub"] = str(tmp_path)
    params = config.validate(raw)
    path = tmp_path / "facebook/xnli/de/train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    datasets.Dataset.from_list([{"premise": "Der Hund", "hypothesis": "Ein Tier", "label": 0},
                                {"premise": "Die Katze", "hypothesis": "Kein Tier", "label": 2}],
                               features=Features({"premise": S, "hypothesis": S, "label": NLI})).to_parquet(str(path))
    rows, dropped = translate.published_rows(params, tasks.TARGETS["xnli"], "de")
    assert [(r["text_a"], r["label"], r["lang"]) for r in rows] == [
        ("Der Hund", "entailment", "de"), ("Die Katze", "contradiction", "de")] and dropped == {}


def test_offline_hub_load_is_actionable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(sources.DataSourceError) as e:
        sources.load_source("google/xquad", "xquad.de", "validation", local_hub=None, revision="main")
    msg = str(e.value)
    assert "google/xquad" in msg and "xquad.de" in msg and "revision 'main'" in msg
    assert "hf download google/xquad --repo-type dataset" in msg and "local_hub" in msg


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with io.atomic_dir(out) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("interrupted")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_mlm_corpus_samples_languages_by_size_to_the_alpha(tmp_path):
    """Profile paper's MLM corpus: Wikipedia dumps per XTREME language, p(l) ~ n_l^alpha."""
    import yaml

    from xstilts.core import config

    raw = yaml.safe_load(open(ROOT / "params.yaml"))
    raw["profile"] = "paper"
    raw["paper"]["data"]["local_hub"] = str(tmp_path)
    raw["paper"]["intermediate_train"]["mlm"].update(sentences=60, alpha=0.5, corpus_config="20231101.{code}")
    params = config.validate(raw)
    langs = sorted({l for t in tasks.BENCHMARK_TARGETS["xtreme"] for l in tasks.TARGETS[t].languages["xtreme"]})
    assert len(langs) == 40
    for code in langs:
        n = 16 if code == "de" else 4  # German's dump is 4x the others: sqrt -> 2x the share
        path = tmp_path / "wikimedia/wikipedia" / f"20231101.{code}" / "train-00000-of-00001.parquet"
        path.parent.mkdir(parents=True)
        datasets.Dataset.from_list([{"id": str(i), "title": "t",
                                     "text": f"{code} one {i}. {code} two {i}. {code} three {i}."}
                                    for i in range(n)]).to_parquet(str(path))
    rows, meta = prepare.mlm_corpus(params, prepare.Loader(params))
    quota = meta["per_language"]
    assert quota["de"] == round(60 * 4 / (39 * 2 + 4)) and quota["fr"] == round(60 * 2 / (39 * 2 + 4))
    per_lang = {}
    for r in rows:
        per_lang[r["lang"]] = per_lang.get(r["lang"], 0) + 1
        assert r["text"].startswith(r["lang"] + " ")  # sentences, cut from that language's articles
    assert per_lang == {c: q for c, q in quota.items() if q}
