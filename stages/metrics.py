"""Metrics, as XTREME's evaluate.py and the official SQuAD v1.1 script compute them.

Every function returns a fraction in [0, 1]; reports multiply by 100 (XTREME's scale).
"""
from __future__ import annotations

import re
import string
from collections import Counter


def accuracy(gold: list, pred: list) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("accuracy of an empty set")
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def token_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    return accuracy([t for s in gold for t in s], [t for s in pred for t in s])


def tagging_f1(gold: list[list[str]], pred: list[list[str]]) -> float:
    """seqeval's F1, as evaluate.py uses for UD-POS and PAN-X. For tags without a B-/I- prefix
    (UPOS) seqeval merges runs of the same tag into one chunk; evaluate.py inherits that, so do we."""
    import warnings

    from seqeval.metrics import f1_score

    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("tag sequences differ in number or length")
    with warnings.catch_warnings():  # seqeval warns that UPOS tags are not B-/I- entity tags
        warnings.simplefilter("ignore", UserWarning)
        return float(f1_score(gold, pred))


# --- SQuAD v1.1 (official evaluate-v1.1.py normalization) --------------------------------------
def normalize_answer(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:  # SQuAD v2: the empty answer matches only the empty answer
        return float(p == g)
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def squad(gold: dict[str, list[str]], pred: dict[str, str]) -> dict[str, float]:
    """Exact match and F1, each the max over a question's gold answers, averaged over questions.
    A question with no prediction counts 0 (as the official script does). An unanswerable
    question (SQuAD v2: no gold answer) has the empty string as its only answer."""
    if not gold:
        raise ValueError("no questions to score")
    em = f1 = 0.0
    for qid, answers in gold.items():
        if qid not in pred:
            continue
        answers = [a for a in answers if normalize_answer(a)] or [""]
        em += max(float(normalize_answer(pred[qid]) == normalize_answer(a)) for a in answers)
        f1 += max(_f1(pred[qid], a) for a in answers)
    return {"exact_match": em / len(gold), "f1": f1 / len(gold)}
