"""Loader/normalizer on fixture files written in the real Hub formats, and on the embedded world."""
import datasets
import pytest
from datasets import ClassLabel, Features, Sequence, Value

from stages import data, tasks


def write(root, repo, config, split, rows, features):
    path = root / repo / config / f"{split}-00000-of-00001.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))


def load(root, name, config, split):
    d = tasks.DATASETS[name]
    ds = data.load_source(d.source.repo, config, split, local_hub=root)
    return data.normalize(d, ds, f"{d.source.repo}:{config}")


def test_glue_mnli_labels_by_name_and_unlabeled_test(tmp_path):
    f = Features({"premise": Value("string"), "hypothesis": Value("string"),
                  "label": ClassLabel(names=["entailment", "neutral", "contradiction"]), "idx": Value("int32")})
    write(tmp_path, "nyu-mll/glue", "mnli", "train",
          [{"premise": "p", "hypothesis": "h", "label": 2, "idx": 0},
           {"premise": "p2", "hypothesis": "h2", "label": 0, "idx": 1}], f)
    write(tmp_path, "nyu-mll/glue", "mnli", "test_matched", [{"premise": "p", "hypothesis": "h", "label": -1, "idx": 0}], f)
    rows, dropped = load(tmp_path, "mnli", "mnli", "train")
    assert [r["label"] for r in rows] == ["contradiction", "entailment"]
    rows, dropped = load(tmp_path, "mnli", "mnli", "test_matched")
    assert rows == [] and dropped == {"unlabeled": 1}


def test_alphabetical_label_order_still_maps_by_name(tmp_path):
    """jiant/XTREME order labels alphabetically: id 0 = contradiction there. Names decide, not ids."""
    f = Features({"premise": Value("string"), "hypothesis": Value("string"),
                  "label": ClassLabel(names=["contradiction", "entailment", "neutral"])})
    write(tmp_path, "facebook/xnli", "de", "test", [{"premise": "a", "hypothesis": "b", "label": 0}], f)
    rows, _ = load(tmp_path, "xnli", "de", "test")
    assert rows[0]["label"] == "contradiction"


def test_google_xtreme_xnli_string_labels(tmp_path):
    f = Features({"language": Value("string"), "sentence1": Value("string"), "sentence2": Value("string"),
                  "gold_label": Value("string")})
    write(tmp_path, "facebook/xnli", "XNLI", "validation",
          [{"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"},
           {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "contradictory"}], f)
    rows, _ = load(tmp_path, "xnli", "XNLI", "validation")
    assert [r["label"] for r in rows] == ["neutral", "contradiction"]


def test_squad_offsets_are_repaired_or_dropped(tmp_path):
    f = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                  "question": Value("string"),
                  "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")})})
    ctx = "Maria sees the red dog."
    write(tmp_path, "rajpurkar/squad", "plain_text", "validation", [
        {"id": "a", "title": "t", "context": ctx, "question": "who?", "answers": {"text": ["Maria"], "answer_start": [0]}},
        {"id": "b", "title": "t", "context": ctx, "question": "what?",  # stripped context shifted the offset
         "answers": {"text": ["the red dog"], "answer_start": [13]}},
        {"id": "c", "title": "t", "context": ctx, "question": "?", "answers": {"text": ["a cat"], "answer_start": [3]}},
    ], f)
    rows, dropped = load(tmp_path, "squad_v1", "plain_text", "validation")
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[1]["answers"] == [{"text": "the red dog", "start": 11}]
    assert dropped == {"answer not in context": 1, "no answer left": 1}


def test_udpos_and_tatoeba_formats(tmp_path):
    f = Features({"tokens": Sequence(Value("string")), "pos_tags": Sequence(ClassLabel(names=list(tasks.UPOS_TAGS)))})
    write(tmp_path, "google/xtreme", "udpos.German", "test",
          [{"tokens": ["Der", "Hund", "."], "pos_tags": [5, 7, 12]}], f)
    rows, _ = load(tmp_path, "udpos", "udpos.German", "test")
    assert rows[0]["tags"] == ["DET", "NOUN", "PUNCT"]
    f = Features({k: Value("string") for k in ("source_sentence", "target_sentence", "source_lang", "target_lang")})
    write(tmp_path, "google/xtreme", "tatoeba.deu", "validation",
          [{"source_sentence": "Hallo.\n", "target_sentence": "Hello.\n", "source_lang": "deu", "target_lang": "eng"}], f)
    rows, _ = load(tmp_path, "tatoeba", "tatoeba.deu", "validation")
    assert rows == [{"id": "0", "src": "Hallo.", "tgt": "Hello."}]


def test_config_names_follow_the_hub():
    assert data.config_name(tasks.DATASETS["udpos"], "de", "paper") == "udpos.German"
    assert data.config_name(tasks.DATASETS["tatoeba"], "fa", "paper") == "tatoeba.pes"
    assert data.config_name(tasks.DATASETS["xquad"], "zh", "paper") == "xquad.zh"
    assert data.config_name(tasks.DATASETS["udpos"], "qb", "tiny") == "udpos.Borean"


def test_missing_local_file_is_actionable(tmp_path):
    with pytest.raises(data.DataSourceError, match="google/xquad config 'xquad.de' split 'validation'"):
        data.load_source("google/xquad", "xquad.de", "validation", local_hub=tmp_path)


def test_offline_hub_load_is_actionable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(data.DataSourceError) as e:
        data.load_source("google/xquad", "xquad.de", "validation", local_hub=None, revision="main")
    msg = str(e.value)
    assert "google/xquad" in msg and "xquad.de" in msg and "revision 'main'" in msg
    assert "huggingface-cli download" in msg and "local_hub" in msg


def test_every_world_dataset_normalizes(small_world):
    for name, d in tasks.DATASETS.items():
        for split, source_split in d.source.splits.items():
            langs = d.languages_for("tiny") if split != "train" else ("en",)
            for lang in langs:
                if split == "train" and "en" not in d.train_languages:
                    continue
                ds = data.load_source(d.source.repo, data.config_name(d, lang, "tiny"), source_split,
                                      local_hub=small_world / "hub")
                rows, dropped = data.normalize(d, ds, name)
                assert rows and not dropped, (name, split, lang)


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with data.atomic_dir(out) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("interrupted")
    assert not out.exists() and list(tmp_path.iterdir()) == []
