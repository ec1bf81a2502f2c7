"""The embedded world: deterministic, in the real sources' exact schemas, with distinct languages."""
import json

import pyarrow.parquet as pq
import pytest

from xstilts.core import tasks
from xstilts.data import sources
from xstilts.world import generate as generate_mod
from xstilts.world import grammar

# Features of the real Hub sources (column names in order, types, label names in the sources' own
# order), written from datasets.md and the sources' loading scripts, not from xstilts/world/twins*.py.
S, I32, I64 = "Value('string')", "Value('int32')", "Value('int64')"
NLI_LABEL = "ClassLabel(names=['entailment', 'neutral', 'contradiction'])"
NLI = {"premise": S, "hypothesis": S, "label": NLI_LABEL}
SQUAD_ANSWERS = f"{{'text': List({S}), 'answer_start': List({I32})}}"  # a struct of parallel lists
SQUAD = {"id": S, "title": S, "context": S, "question": S, "answers": SQUAD_ANSWERS}
PAIRS = {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
SPAN = f"List({{'start': {I64}, 'end': {I64}}})"
COPA = {"premise": S, "choice1": S, "choice2": S, "question": S}
EXPECTED = {
    ("nyu-mll/glue", "mnli", "train"): {**NLI, "idx": I32},
    ("nyu-mll/glue", "qqp", "test"): {"question1": S, "question2": S,
                                      "label": "ClassLabel(names=['not_duplicate', 'duplicate'])", "idx": I32},
    ("facebook/anli", "plain_text", "train_r2"): {"uid": S, **NLI, "reason": S},
    ("stanfordnlp/snli", "plain_text", "validation"): NLI,
    ("facebook/xnli", "qa", "validation"): NLI,
    ("rajpurkar/squad", "plain_text", "validation"): SQUAD,
    ("rajpurkar/squad_v2", "squad_v2", "train"): SQUAD,
    ("google/xquad", "xquad.qc", "validation"): SQUAD,
    ("google/xtreme", "MLQA.qb.qb", "test"): SQUAD,
    ("google/xtreme", "tydiqa", "validation"): SQUAD,
    ("google-research-datasets/xquad_r", "qd", "validation"): {"id": S, "context": S, "question": S,
                                                               "answers": SQUAD_ANSWERS},
    ("Rowan/hellaswag", "default", "validation"): {
        "ind": I32, "activity_label": S, "ctx_a": S, "ctx_b": S, "ctx": S, "endings": f"List({S})",
        "source_id": S, "split": S, "split_type": S, "label": S},
    ("allenai/cosmos_qa", "default", "train"): {"id": S, "context": S, "question": S, "answer0": S, "answer1": S,
                                                "answer2": S, "answer3": S, "label": I32},
    ("tau/commonsense_qa", "default", "test"): {"id": S, "question": S, "question_concept": S,
                                                "choices": f"{{'label': List({S}), 'text': List({S})}}",
                                                "answerKey": S},
    ("aps/super_glue", "copa", "test"): {**COPA, "idx": I32, "label": "ClassLabel(names=['choice1', 'choice2'])"},
    ("cambridgeltl/xcopa", "qa", "validation"): {**COPA, "label": I32, "idx": I32, "changed": "Value('bool')"},
    ("google-research-datasets/paws-x", "qe", "test"): {"id": I32, "sentence1": S, "sentence2": S,
                                                         "label": "ClassLabel(names=['0', '1'])"},
    ("google/xtreme", "udpos.English", "train"): {
        "tokens": f"List({S})", "pos_tags": f"List(ClassLabel(names={list(tasks.UPOS_TAGS)}))"},
    ("google/xtreme", "PAN-X.qd", "validation"): {
        "tokens": f"List({S})",
        "ner_tags": "List(ClassLabel(names=['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC']))",
        "langs": f"List({S})"},
    ("google/xtreme", "tatoeba.qab", "validation"): PAIRS,
    ("google/xtreme", "bucc18.qa", "validation"): PAIRS,
    ("mteb/BUCC", "qa-en", "test"): {"sentence1": f"List({S})", "sentence2": f"List({S})",
                                     "gold": f"List(List({I64}))"},
    ("izhx/mewsli-x", "qb", "test"): {
        "context": f"{{'document_title': {S}, 'document_url': {S}, 'document_id': {S}, 'language': {S}, "
                   f"'text': {S}, 'sentence_spans': {SPAN}, 'section_title': {S}}}",
        "mentions": f"List({{'example_id': {S}, 'mention_span': {{'start': {I64}, 'end': {I64}, 'text': {S}}}, "
                    f"'entity_id': {S}}})"},
    ("izhx/mewsli-x", "candidate_entities", "test"): {
        "entity_id": S, "title": S, "description": S, "description_language": S, "description_url": S,
        "sentence_spans": SPAN},
}


def test_every_registered_source_has_a_twin(small_world):
    """Profile tiny can prepare every task: each registry source exists in the world's mirror."""
    for task in tasks.TASKS.values():
        wanted = [*task.train, *task.dev, *([task.pool] if task.pool else [])]
        wanted += [(s, lang) for s in task.eval.values() for lang in task.languages_for("tiny", "xtreme_r")
                    or task.languages_for("tiny", "xtreme")]
        for item in wanted:
            source, lang = item if isinstance(item, tuple) else (item, "en")
            if source.repo == tasks.CCGBANK:
                assert list((small_world / "ccgbank/data/AUTO").glob("*/wsj_*.auto")), "no CCGbank twin"
                continue
            config = sources.config_name(source, lang, "tiny")
            assert grammar.hub_path(small_world, source.repo, config, source.split).exists(), (task.name, source, lang)


def _features(path):
    meta = pq.read_schema(path).metadata[b"huggingface"]
    import datasets
    feats = datasets.Features.from_dict(json.loads(meta)["info"]["features"])
    return {k: repr(v).replace('"', "'") for k, v in feats.items()}


@pytest.mark.parametrize("where", list(EXPECTED))
def test_hub_layout_and_features(small_world, where):
    path = grammar.hub_path(small_world, *where)
    assert path.exists(), path
    got = _features(path)
    assert list(got) == list(EXPECTED[where])
    for k, v in EXPECTED[where].items():
        assert got[k].replace(" ", "") == v.replace(" ", ""), (k, got[k])


def test_deterministic(tmp_path, small_world, small_world_params):
    generate_mod.generate(tmp_path, small_world_params)
    for f in sorted(small_world.rglob("*")):
        if f.is_file() and f.suffix in (".txt", ".parquet"):
            twin = tmp_path / f.relative_to(small_world)
            if f.suffix == ".txt":
                assert f.read_bytes() == twin.read_bytes(), f
            else:
                assert pq.read_table(f).to_pylist() == pq.read_table(twin).to_pylist(), f


def test_other_seed_differs(tmp_path, small_world, small_world_params):
    from dataclasses import replace
    generate_mod.generate(tmp_path, replace(small_world_params, seed=8))
    assert (tmp_path / "corpus/qa.txt").read_text() != (small_world / "corpus/qa.txt").read_text()


def test_languages_have_their_own_vocabulary(small_world):
    vocab = {c: set((small_world / f"corpus/{c}.txt").read_text().split()) for c in tasks.WORLD_LANGUAGES}
    shared_ok = set(grammar.NAMES) | set(grammar.NUMBERS) | {".", "?"}
    overlap = {}
    for code in ("qa", "qb", "qc", "qd"):
        own = vocab[code] - shared_ok
        overlap[code] = len(own & vocab["en"]) / len(own)
    # no cognates (the fixture's qb-qd): loanwords and code-switched English words only, far from a copy
    assert max(overlap["qb"], overlap["qc"], overlap["qd"]) < 0.35, overlap
    # qa inherits 80 % of its words, and sound changes alter most of them: it shares more, and is no copy
    assert max(overlap["qb"], overlap["qc"], overlap["qd"]) < overlap["qa"] < 0.6, overlap
    assert any(ord(ch) > 0x370 for ch in "".join(vocab["qc"]))  # Cyrenic is written in another script
    assert vocab["qa"] & vocab["qb"] & set(grammar.NAMES)          # names are shared


def test_parallel_sets_are_translations(small_world):
    """XNLI/XQuAD/Tatoeba are the same frames in every language: labels agree row by row."""
    en = pq.read_table(grammar.hub_path(small_world, "facebook/xnli", "en", "test")).to_pylist()
    qb = pq.read_table(grammar.hub_path(small_world, "facebook/xnli", "qb", "test")).to_pylist()
    assert [r["label"] for r in en] == [r["label"] for r in qb]
    assert en[0]["premise"] != qb[0]["premise"]
    assert sorted({r["label"] for r in en}) == [0, 1, 2]


def test_qa_answers_are_spans(small_world):
    for config in ("xquad.en", "xquad.qc", "xquad.qb"):
        for r in pq.read_table(grammar.hub_path(small_world, "google/xquad", config, "validation")).to_pylist():
            for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
                assert r["context"][start:start + len(text)] == text


def test_pos_tags_are_upos(small_world):
    rows = pq.read_table(grammar.hub_path(small_world, "google/xtreme", "udpos.Borean", "test")).to_pylist()
    for r in rows:
        assert len(r["tokens"]) == len(r["pos_tags"])
        assert all(0 <= t < len(tasks.UPOS_TAGS) for t in r["pos_tags"])


def test_corpus_writer_and_its_parallel_variant(small_world, small_world_params):
    """generate.corpus is what the world writes; parallel=True renders one frame stream in every
    language (the transfer probe's translated-corpora variant): the shared names and numerals line up."""
    from dataclasses import replace
    renderers = generate_mod.make_renderers(small_world_params, ("en", "qb"))
    written = (small_world / "corpus" / "qb.txt").read_text(encoding="utf-8").splitlines()
    assert generate_mod.corpus("qb", renderers["qb"], small_world_params) == written

    def anchors(line):  # names and numerals, the strings every language shares
        return sorted(w for w in line.split() if w[:1].isupper() or w.isdigit())

    plain = replace(small_world_params, code_switch_rate=0.0)
    en, qb = (generate_mod.corpus(c, renderers[c], plain, parallel=True) for c in ("en", "qb"))
    assert len(en) == len(qb) and [anchors(a) for a in en] == [anchors(b) for b in qb]
    assert sum(bool(anchors(a)) for a in en) > len(en) // 4
    own = generate_mod.corpus("qb", renderers["qb"], plain)
    assert [anchors(b) for b in own] != [anchors(a) for a in en]


def test_cognate_share_is_the_share_of_words_descended_from_english():
    """tiny.world.cognate_share: a lexicon inherits about that share of its words from English, each by
    the language's sound changes (qa: th -> t, c -> k, ..., then a final -a); 0 inherits none (loanwords
    aside), and words are never shared by accident between two concepts."""
    concepts = grammar.build_lexicon("en", 1, 0.0, 0.0)
    for share in (0.0, 0.5, 1.0):
        lex = grammar.build_lexicon("qa", 1, 0.0, share)
        inherited = [c for c in concepts if lex[c] == grammar.cognate(c, grammar.GRAMMARS["qa"])]
        assert abs(len(inherited) / len(concepts) - share) < 0.12, (share, len(inherited))
        assert len(set(lex.values())) == len(lex)
    assert grammar.cognate("teacher", grammar.GRAMMARS["qa"]) == "teakhera"
    assert grammar.cognate("the", grammar.GRAMMARS["qa"]) == "te"   # short words take no final vowel
    assert grammar.build_lexicon("qe", 1, 0.0, 1.0)["cow"] == "kovo"   # Estran: every word inherited
