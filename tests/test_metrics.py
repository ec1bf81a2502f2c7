"""Metric unit tests: hand-checked values, the official SQuAD normalization, seqeval agreement."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages import metrics


def test_accuracy_hand_checked():
    assert metrics.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 0.75
    with pytest.raises(ValueError):
        metrics.accuracy(["a"], ["a", "b"])


def test_squad_normalization_and_scores():
    assert metrics.normalize_answer("The  Big, red dog!") == "big red dog"
    gold = {"q1": ["the red dog", "red dog"], "q2": ["Maria"], "q3": ["3 apples"]}
    pred = {"q1": "Red dog.", "q2": "Omar", "q3": "apples"}
    s = metrics.squad(gold, pred)
    assert s["exact_match"] == pytest.approx(1 / 3)
    # q1 F1 1, q2 F1 0, q3: pred {apples} vs gold {3, apples}: P=1, R=1/2, F1=2/3
    assert s["f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)


def test_squad_missing_prediction_counts_zero():
    s = metrics.squad({"q1": ["x"], "q2": ["y"]}, {"q1": "x"})
    assert s == {"exact_match": 0.5, "f1": 0.5}


def test_tagging_f1_hand_checked():
    gold = [["DET", "NOUN", "VERB", "PUNCT"]]
    assert metrics.tagging_f1(gold, gold) == 1.0
    # seqeval merges runs of a tag without B-/I- prefix into one chunk: NOUN NOUN is one chunk
    assert metrics.tagging_f1([["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]]) == 0.0


TAGS = st.sampled_from(["B-PER", "I-PER", "B-LOC", "I-LOC", "O", "NOUN", "VERB"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(TAGS, min_size=1, max_size=8), min_size=1, max_size=5), st.randoms())
def test_tagging_f1_is_seqeval(gold, rnd):
    from seqeval.metrics import f1_score
    pred = [[rnd.choice(["B-PER", "I-PER", "O", "NOUN", "VERB"]) for _ in s] for s in gold]
    assert metrics.tagging_f1(gold, pred) == pytest.approx(f1_score(gold, pred))
    assert metrics.tagging_f1(gold, pred) == pytest.approx(metrics.tagging_f1(pred, gold))  # F1 is symmetric


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_identical_predictions_score_perfect(answers):
    gold = {str(i): [a] for i, a in enumerate(answers)}
    pred = {str(i): a for i, a in enumerate(answers)}
    s = metrics.squad(gold, pred)
    assert s["exact_match"] == 1.0
    assert metrics.accuracy(answers, answers) == 1.0
