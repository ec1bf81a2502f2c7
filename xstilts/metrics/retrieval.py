"""Retrieval metrics and BUCC's threshold, as google-research/xtreme computes them (read at 838c13b):
evaluate.py's bucc_f1, utils_retrieve.bucc_optimize / bucc_extract, utils_lareqa's mAP@k. Pure
Python: the scorer uses them without torch."""
from __future__ import annotations


def bucc_f1(pairs: set[tuple[str, str]], gold: set[tuple[str, str]]) -> dict:
    """Precision, recall and F1 (0-1 scale) of extracted ID pairs against gold pairs, as evaluate.py's
    bucc_f1 (sets of (non-English ID, English ID)); all three are 0 when nothing is correct."""
    pairs, gold = set(pairs), set(gold)
    correct = len(pairs & gold)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    p, r = correct / len(pairs), correct / len(gold)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def tune_threshold(candidates: list[tuple[str, str, float]], gold: set[tuple[str, str]]) -> float:
    """The score threshold maximising F1 on dev gold, as XTREME's bucc_optimize.

    Candidates are deduplicated by (src, tgt) keeping the max score (read_candidate2score), sorted by
    descending score (stable), and each prefix is scored; recall's denominator is all of gold, found or
    not. At the first prefix with the strictly best F1 (ending at item i) the threshold is the midpoint
    (score_i + score_{i+1}) / 2, which apply_threshold (>=) turns back into that prefix, plus any
    later item tied with score_i, exactly as in XTREME. If the best prefix is the whole list, XTREME
    would raise IndexError; here the threshold is the last score, which keeps every candidate.
    With no correct candidate at all the threshold stays 0, XTREME's initial value.
    """
    best = {}
    for s, t, score in candidates:
        best[(s, t)] = max(score, best.get((s, t), score))
    items = sorted(best.items(), key=lambda kv: -kv[1])
    gold = set(gold)
    threshold, best_f1, correct = 0.0, 0.0, 0
    for i, (pair, score) in enumerate(items):
        correct += pair in gold
        if correct == 0:
            continue
        p, r = correct / (i + 1), correct / len(gold)
        f1 = 2 * p * r / (p + r)
        if f1 > best_f1:
            best_f1 = f1
            threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return float(threshold)


def apply_threshold(candidates: list[tuple[str, str, float]], threshold: float) -> set[tuple[str, str]]:
    """The (src, tgt) pairs whose score is >= threshold, as bucc_extract."""
    return {(s, t) for s, t, score in candidates if score >= threshold}


def average_precision_at_k(ranked: list[str], relevant: set[str], k: int = 20) -> float:
    """AP@k as utils_lareqa.average_precision_at_k: over the first k predictions, add precision@i at
    each rank i holding a relevant item not already seen higher up (duplicates count once), and
    divide by min(|relevant|, k), so a query with more than k answers can still reach 1. A falsy k
    means no cut-off and divisor |relevant|.
    For Mewsli-X (one gold entity per mention) this equals utils_mewslix's reciprocal rank within the
    top k, which is what evaluate.py reports as map@20."""
    if not relevant:
        raise ValueError("AP needs at least one relevant item")
    if k:
        ranked = ranked[:k]
    score, hits, seen = 0.0, 0, set()
    for i, item in enumerate(ranked):
        if item in relevant and item not in seen:
            hits += 1
            score += hits / (i + 1)
        seen.add(item)
    return score / (min(len(relevant), k) if k else len(relevant))


def mean_average_precision_at_k(rankings: list[list[str]], relevant: list[set[str]], k: int = 20) -> float:
    """Mean of average_precision_at_k over queries (utils_lareqa.mean_avg_prec_at_k; 0-1 scale).
    A query with an empty ranking scores 0, as a missing prediction does in utils_mewslix.evaluate."""
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings for {len(relevant)} queries")
    if not rankings:
        return 0.0
    return sum(average_precision_at_k(r, g, k) for r, g in zip(rankings, relevant)) / len(rankings)
