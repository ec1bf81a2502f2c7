"""The translate stage's engines and row handling: the world's lexicon, answer spans through
mark-and-translate, and the MT-model path on a Marian-shaped model with random weights built here
(batching, dropped spans counted, the cache that makes an interrupted run resume)."""
import json

import pytest

from xstilts.core import config
from xstilts.data import translate
from xstilts.kinds import qa as qa_kind


@pytest.fixture
def world_engine(tmp_path):
    lex = {"qx": {"the": "", "dog": "hund", "dogs": "hunder", "sees": "sa", "see": "sa", "red": "rod",
                  "cat": "katt", "does": "", "not": "ikke", "what": "hva"}}
    path = tmp_path / "lexicon.json"
    path.write_text(json.dumps(lex))
    return translate.WorldTranslator(path)


def test_world_translator_word_by_word(world_engine):
    assert world_engine.translate(["the red dog sees Maria .", "Dogs see 3 cats"], "qx") == \
        ["rod hund sa Maria .", "hunder sa 3 cats"]
    with pytest.raises(ValueError, match="no language 'zz'"):
        world_engine.translate(["x"], "zz")


def test_tagged_rows_keep_each_tag_on_its_word(world_engine):
    rows = [{"id": "1", "tokens": ["the", "dog", "sees", "Maria"], "tags": ["DET", "NOUN", "VERB", "PROPN"]}]
    out, dropped = translate.translate_rows(rows, "tagging", "qx", world_engine)
    assert out[0]["tokens"] == ["hund", "sa", "Maria"] and out[0]["tags"] == ["NOUN", "VERB", "PROPN"]
    assert dropped == {} and out[0]["lang"] == "qx"


def test_answer_spans_survive_mark_and_translate(world_engine):
    context = "Maria sees the red dog . the cat sees Maria ."
    rows = [{"id": "q1", "question": "what does Maria see ?", "context": context,
             "answers": [{"text": "the red dog", "start": 11}]},
            {"id": "q2", "question": "what ?", "context": context, "answers": [{"text": "the", "start": 11}]}]
    out, dropped = translate.translate_rows(rows, "qa", "qx", world_engine)
    assert [r["id"] for r in out] == ["q1"]
    a = out[0]["answers"][0]
    assert a["text"] == "rod hund" and out[0]["context"][a["start"]:a["start"] + len(a["text"])] == "rod hund"
    assert out[0]["question"] == "hva Maria sa ?"  # do-support dropped
    assert dropped == {"answer span lost in translation": 1}  # "the" translates to nothing


def test_unmark_rejects_broken_marks():
    assert qa_kind.unmark_answer("a « b » c") == ("a b c", {"text": "b", "start": 2})
    assert qa_kind.unmark_answer("« b » c") == ("b c", {"text": "b", "start": 0})
    for broken in ("a « b c", "a b » c", "» b « c", "a « » c", "« a « b » »"):
        assert qa_kind.unmark_answer(broken) is None


def test_mixed_rows_translate_only_their_assigned_language(world_engine):
    rows = [{"id": str(i), "text_a": "the dog", "text_b": "red cat", "label": "neutral", "lang": lang}
            for i, lang in enumerate(["en", "qx", "en"])]
    out, dropped = translate.translate_mixed(rows, "classification", world_engine)
    assert [r["text_a"] for r in out] == ["the dog", "hund", "the dog"] and dropped == {}


# --- the MT-model path on a random Marian-shaped model -----------------------------------------
@pytest.fixture(scope="module")
def marian_dir(tmp_path_factory):
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    d = tmp_path_factory.mktemp("marian")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(f"the red dog sees Maria number {i} . « the cat » runs" for i in range(200)))
    for side in ("source", "target"):
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(d / side), vocab_size=40,
                                       model_type="unigram", character_coverage=1.0, minloglevel=2,
                                       hard_vocab_limit=False)
    pieces = [line.split("\t")[0] for line in (d / "source.vocab").read_text().splitlines()]
    vocab = {p: i for i, p in enumerate(["</s>", "<unk>", "<pad>",
                                         *[p for p in pieces if p not in ("<unk>", "<s>", "</s>")]])}
    (d / "vocab.json").write_text(json.dumps(vocab))
    tok = MarianTokenizer(str(d / "source.model"), str(d / "target.model"), str(d / "vocab.json"),
                          source_lang="en", target_lang="qx")
    torch.manual_seed(0)
    cfg = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                       decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=vocab["<pad>"],
                       eos_token_id=vocab["</s>"], decoder_start_token_id=vocab["<pad>"])
    MarianMTModel(cfg).save_pretrained(str(d / "model"))
    tok.save_pretrained(str(d / "model"))
    return d / "model"


def _tp(model_dir, **kw):
    return config.TranslateParams(engine="model", model=str(model_dir), revision=None,
                                  **{"batch_size": 2, "max_length": 12, **kw})


def test_model_translator_batches_and_resumes(marian_dir, tmp_path, monkeypatch):
    texts = [f"the red dog sees Maria number {i} ." for i in range(5)]
    engine = translate.ModelTranslator(_tp(marian_dir), cache_dir=tmp_path, progress=False)
    first = engine.translate(texts, "qx")
    assert len(first) == 5 and all(isinstance(t, str) for t in first)
    cache = engine.cache_path("qx")
    assert len(cache.read_text().splitlines()) == 5
    # deterministic (greedy): a fresh engine reading the cache gives the same, without the model
    again = translate.ModelTranslator(_tp(marian_dir), cache_dir=tmp_path, progress=False)
    monkeypatch.setattr(again, "_load", lambda lang: (_ for _ in ()).throw(AssertionError("model loaded")))
    assert again.translate(texts, "qx") == first
    # an interrupted run: two lines done, one cut short -> only the other three are translated
    lines = cache.read_text().splitlines()
    cache.write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])
    resumed = translate.ModelTranslator(_tp(marian_dir), cache_dir=tmp_path, progress=False)
    calls = []
    tok, model = resumed._load("qx")
    real_generate = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: calls.append(len(kw["input_ids"])) or real_generate(**kw))
    assert resumed.translate(texts, "qx") == first
    assert calls == [2, 1]  # 3 texts left, batches of 2


def test_model_translator_drops_lost_answer_spans_and_counts_them(marian_dir, tmp_path):
    engine = translate.ModelTranslator(_tp(marian_dir), cache_dir=tmp_path, progress=False)
    rows = [{"id": f"q{i}", "question": "what ?", "context": "Maria sees the red dog .",
             "answers": [{"text": "the red dog", "start": 11}]} for i in range(3)]
    out, dropped = translate.translate_rows(rows, "qa", "qx", engine)
    # random weights do not copy the « » marks back: every example is dropped, and counted
    assert len(out) + sum(dropped.values()) == 3
    tagged = [{"id": "t", "tokens": ["a"], "tags": ["X"]}]
    assert translate.translate_rows(tagged, "tagging", "qx", engine) == (
        [], {"tagged tokens lose their alignment in MT": 1})


def test_multilingual_checkpoint_needs_a_language_code(marian_dir, tmp_path):
    engine = translate.ModelTranslator(_tp(marian_dir, lang_codes={"de": "deu_Latn"}), cache_dir=tmp_path,
                                       progress=False)
    with pytest.raises(ValueError, match="lang_codes has no code for 'qx'"):
        engine.translate(["x"], "qx")
