"""Metric unit tests: hand-checked values, the official SQuAD v1.1 / v2.0 and MLQA normalizations,
seqeval-0.0.13 chunking, agreement with today's seqeval where the two agree (IOB2 tags)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xstilts.metrics import text as metrics


def test_accuracy_hand_checked():
    assert metrics.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 0.75
    with pytest.raises(ValueError):
        metrics.accuracy(["a"], ["a", "b"])


def test_squad_normalization_and_scores():
    assert metrics.normalize_answer("The  Big, red dog!") == "big red dog"
    gold = {"q1": ["the red dog", "red dog"], "q2": ["Maria"], "q3": ["3 apples"]}
    pred = {"q1": "Red dog.", "q2": "Omar", "q3": "apples"}
    s = metrics.squad_v1(gold, pred)
    assert s["exact_match"] == pytest.approx(100 / 3)
    # q1 F1 1, q2 F1 0, q3: pred {apples} vs gold {3, apples}: P=1, R=1/2, F1=2/3
    assert s["f1"] == pytest.approx(100 * (1 + 0 + 2 / 3) / 3)


def test_tagging_f1_hand_checked():
    gold = [["DET", "NOUN", "VERB", "PUNCT"]]
    assert metrics.tagging_prf(gold, gold)["f1"] == 1.0
    # a run of a tag without B-/I- prefix is one chunk: NOUN NOUN is one chunk
    assert metrics.tagging_prf([["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]])["f1"] == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_identical_predictions_score_perfect(answers):
    gold = {str(i): [a] for i, a in enumerate(answers)}
    pred = {str(i): a for i, a in enumerate(answers)}
    assert metrics.squad_v1(gold, pred)["exact_match"] == 100.0
    assert metrics.accuracy(answers, answers) == 1.0


# --- official normalizations and chunking -----------------------------------------------------------------------------
def test_mlqa_normalization_by_language():
    assert metrics.mlqa_normalize("El Museo, del Prado!", "es") == "museo del prado"
    assert metrics.mlqa_normalize("Der «Hund»", "de") == "hund"         # Unicode punctuation too
    assert metrics.mlqa_normalize("北京，2008年", "zh") == "北 京 2008 年"  # CJK per character
    assert metrics.mlqa_normalize("الكتاب", "ar") == "كتاب"              # article removed
    assert metrics.mlqa_normalize("مالك", "ar") == "م ك"                # ... inside words too, as the official script
    assert metrics.normalize_answer("El Museo!") == "el museo"           # SQuAD: English articles only
    with pytest.raises(ValueError, match="language 'fr'"):
        metrics.mlqa_normalize("x", "fr")


def test_squad_v2_has_and_no_answer_breakdown():
    gold = {"a": ["Paris"], "b": [], "c": ["x y"], "d": []}
    pred = {"a": "paris", "b": "", "c": "x", "d": "something"}
    s = metrics.squad_v2(gold, pred)
    # a: EM 1 F1 1; c: EM 0 F1 2/3; b: empty = empty -> 1, 1; d: 0, 0
    assert s["exact"] == 50.0 and s["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 4) and s["total"] == 4
    assert s["HasAns_exact"] == 50.0 and s["HasAns_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert s["NoAns_exact"] == 50.0 and s["NoAns_f1"] == 50.0 and s["NoAns_total"] == 2
    assert metrics.squad_dev(gold, pred, no_answer=True) == pytest.approx((s["exact"] + s["f1"]) / 200)


def test_squad_v1_counts_unanswered_questions_as_zero():
    s = metrics.squad_v1({"a": ["x"], "b": ["y"]}, {"a": "x"})
    assert s == {"exact_match": 50.0, "f1": 50.0}


def test_chunks_follow_seqeval_0_0_13_on_upos():
    # a run of equal tags is one chunk; S-initial tags (SCONJ, SYM) are single-token chunks;
    # INTJ continues like an I- tag; sentences never share a chunk
    assert metrics.chunks([["NOUN", "NOUN", "SCONJ", "SCONJ", "INTJ"], ["NOUN"]]) == {
        ("NOUN", 0, 1), ("SCONJ", 2, 2), ("SCONJ", 3, 3), ("INTJ", 4, 4), ("NOUN", 6, 6)}


IOB = st.lists(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]), min_size=1,
                        max_size=8), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(IOB, st.randoms(use_true_random=False))
def test_tagging_f1_agrees_with_seqeval_on_iob_tags(gold, rnd):
    import warnings

    from seqeval.metrics import f1_score, precision_score, recall_score

    pred = [[rnd.choice(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]) if rnd.random() < 0.4 else t
             for t in s] for s in gold]
    ours = metrics.tagging_prf(gold, pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ours["f1"] == pytest.approx(f1_score(gold, pred), abs=1e-12)
        assert ours["precision"] == pytest.approx(precision_score(gold, pred), abs=1e-12)
        assert ours["recall"] == pytest.approx(recall_score(gold, pred), abs=1e-12)



@settings(max_examples=100, deadline=None)
@given(IOB, IOB)
def test_tagging_f1_is_symmetric(a, b):
    b = [(s * 9)[:len(t)] for s, t in zip(b * len(a), a)]  # same shape as a
    assert metrics.tagging_prf(a, b)["f1"] == pytest.approx(metrics.tagging_prf(b, a)["f1"], abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab cd.", max_size=12), st.text(alphabet="ab cd.", max_size=12))
def test_squad_f1_is_symmetric_for_single_answers(x, y):
    assert metrics.squad_v1({"q": [x]}, {"q": y})["f1"] == pytest.approx(metrics.squad_v1({"q": [y]}, {"q": x})["f1"])


