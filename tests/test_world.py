"""The embedded world: deterministic, in the real sources' exact schemas, with distinct languages."""
import json

import pyarrow.parquet as pq
import pytest

from stages import tasks, world

# Features of the real Hub sources (names, types, label names in the sources' own order).
NLI = {"premise": "Value('string')", "hypothesis": "Value('string')",
       "label": "ClassLabel(names=['entailment', 'neutral', 'contradiction'])"}
EXPECTED = {
    ("nyu-mll/glue", "mnli", "train"): {**NLI, "idx": "Value('int32')"},
    ("facebook/xnli", "qa", "validation"): NLI,
    ("rajpurkar/squad", "plain_text", "validation"): {
        "id": "Value('string')", "title": "Value('string')", "context": "Value('string')",
        "question": "Value('string')",  # a struct of parallel lists, as HF's SQuAD (datasets.md pitfall 8)
        "answers": "{'text': List(Value('string')), 'answer_start': List(Value('int32'))}"},
    ("google/xtreme", "udpos.English", "train"): {
        "tokens": "List(Value('string'))", "pos_tags": f"List(ClassLabel(names={list(tasks.UPOS_TAGS)}))"},
    ("google/xtreme", "tatoeba.qab", "validation"): {
        "source_sentence": "Value('string')", "target_sentence": "Value('string')",
        "source_lang": "Value('string')", "target_lang": "Value('string')"},
}


def _features(path):
    meta = pq.read_schema(path).metadata[b"huggingface"]
    import datasets
    feats = datasets.Features.from_dict(json.loads(meta)["info"]["features"])
    return {k: repr(v).replace('"', "'") for k, v in feats.items()}


@pytest.mark.parametrize("where", list(EXPECTED))
def test_hub_layout_and_features(small_world, where):
    path = world.hub_path(small_world, *where)
    assert path.exists(), path
    got = _features(path)
    assert list(got) == list(EXPECTED[where])
    for k, v in EXPECTED[where].items():
        assert got[k].replace(" ", "") == v.replace(" ", ""), (k, got[k])


def test_deterministic(tmp_path, small_world, small_world_params):
    world.generate(tmp_path, small_world_params)
    for f in sorted(small_world.rglob("*")):
        if f.is_file() and f.suffix in (".txt", ".parquet"):
            twin = tmp_path / f.relative_to(small_world)
            if f.suffix == ".txt":
                assert f.read_bytes() == twin.read_bytes(), f
            else:
                assert pq.read_table(f).to_pylist() == pq.read_table(twin).to_pylist(), f


def test_other_seed_differs(tmp_path, small_world, small_world_params):
    from dataclasses import replace
    world.generate(tmp_path, replace(small_world_params, seed=8))
    assert (tmp_path / "corpus/qa.txt").read_text() != (small_world / "corpus/qa.txt").read_text()


def test_languages_have_their_own_vocabulary(small_world):
    vocab = {c: set((small_world / f"corpus/{c}.txt").read_text().split()) for c in tasks.WORLD_LANGUAGES}
    shared_ok = set(world.NAMES) | set(world.NUMBERS) | {".", "?"}
    for code in ("qa", "qb", "qc", "qd"):
        own = vocab[code] - shared_ok
        overlap = len(own & vocab["en"]) / len(own)
        # loanwords and code-switched English words only: far from an English copy
        assert overlap < 0.35, (code, overlap)
    assert any(ord(ch) > 0x370 for ch in "".join(vocab["qc"]))  # Cyrenic is written in another script
    assert vocab["qa"] & vocab["qb"] & set(world.NAMES)          # names are shared


def test_parallel_sets_are_translations(small_world):
    """XNLI/XQuAD/Tatoeba are the same frames in every language: labels agree row by row."""
    en = pq.read_table(world.hub_path(small_world, "facebook/xnli", "en", "test")).to_pylist()
    qb = pq.read_table(world.hub_path(small_world, "facebook/xnli", "qb", "test")).to_pylist()
    assert [r["label"] for r in en] == [r["label"] for r in qb]
    assert en[0]["premise"] != qb[0]["premise"]
    assert sorted({r["label"] for r in en}) == [0, 1, 2]


def test_qa_answers_are_spans(small_world):
    for config in ("xquad.en", "xquad.qc", "xquad.qb"):
        for r in pq.read_table(world.hub_path(small_world, "google/xquad", config, "validation")).to_pylist():
            for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
                assert r["context"][start:start + len(text)] == text


def test_pos_tags_are_upos(small_world):
    rows = pq.read_table(world.hub_path(small_world, "google/xtreme", "udpos.Borean", "test")).to_pylist()
    for r in rows:
        assert len(r["tokens"]) == len(r["pos_tags"])
        assert all(0 <= t < len(tasks.UPOS_TAGS) for t in r["pos_tags"])
