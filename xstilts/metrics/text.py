"""Metrics, as google-research/xtreme's evaluate.py and the official scripts it calls compute them.

Two families:
  * fractions in [0, 1] for training-time dev scores (accuracy, token_accuracy, squad_dev);
  * the benchmark's own numbers on its 0-100 scale, behaving like the official code, quirks
    included (xstilts/eval/scorer.py calls these): seqeval-style chunk F1 (`tagging_prf`),
    SQuAD v1.1 (`squad_v1`, XQuAD and TyDiQA), MLQA's language-aware variant (`mlqa`) and
    SQuAD v2.0 with HasAns/NoAns (`squad_v2`, the squad_v2 intermediate task's dev).
BUCC F1 and mAP@k live in xstilts/metrics/retrieval.py.
"""
from __future__ import annotations

import bisect
import functools
import re
import string
import sys
import unicodedata
from collections import Counter


def accuracy(gold: list, pred: list) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("accuracy of an empty set")
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def token_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    return accuracy([t for s in gold for t in s], [t for s in pred for t in s])


# --- seqeval-style chunk F1 (PAN-X, UD-POS) ---------------------------------------------------
# evaluate.py calls seqeval's f1/precision/recall with defaults. Its published numbers (and the
# golden values of its evaluate_test.py) come from seqeval <= 0.0.13, whose chunker differs from
# today's seqeval on tags without a B-/I- prefix (UPOS): there a tag's first character is its
# "tag letter" and the whole tag its type, so a run of equal tags is one chunk, SCONJ/SYM start a
# new chunk every token (S- = single), INTJ continues one (I-). seqeval >= 0.0.18 reads `NOUN` as
# type `OUN`, merging CCONJ/SCONJ. seqeval 0.0.13 itself needs Keras, so the rule is written here
# and tested against today's seqeval on IOB2 tags (where both agree) and the official goldens.

def chunks(sentences: list[list[str]]) -> set[tuple[str, int, int]]:
    """(type, first, last) of every chunk, positions in the concatenation of the sentences with one
    'O' after each (seqeval 0.0.13's get_entities on a list of sentences)."""
    flat = [t for s in sentences for t in (*s, "O")] + ["O"]
    found, prev_tag, prev_type, begin = set(), "O", "", 0
    for i, label in enumerate(flat):
        tag, type_ = label[0], label.split("-")[-1]
        ends = (prev_tag in ("E", "S") or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
                or (prev_tag not in ("O", ".") and prev_type != type_))
        if ends:
            found.add((prev_type, begin, i - 1))
        starts = (tag in ("B", "S") or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
                  or (tag not in ("O", ".") and prev_type != type_))
        if starts:
            begin = i
        prev_tag, prev_type = tag, type_
    return found


def tagging_prf(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Micro chunk precision, recall and F1 over all sentences (fractions; 0 when undefined)."""
    true, guessed = chunks(gold), chunks(pred)
    correct = len(true & guessed)
    p = correct / len(guessed) if guessed else 0
    r = correct / len(true) if true else 0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0
    return {"f1": f1, "precision": p, "recall": r}


def tagging_counts(gold: list[list[str]], pred: list[list[str]]) -> list[tuple[int, int, int]]:
    """Per sentence (correct, predicted, gold) chunk counts, the chunks exactly `tagging_prf`'s
    (`chunks` over all sentences, each counted in the sentence it starts in): summed over any
    multiset of sentences they give that multiset's micro F1, 2 * correct / (predicted + gold)."""
    starts, at = [], 0
    for sentence in gold:  # each sentence's first position in chunks()'s concatenation
        starts.append(at)
        at += len(sentence) + 1
    true, guessed = chunks(gold), chunks(pred)
    counts = [[0, 0, 0] for _ in gold]
    for column, found in ((0, true & guessed), (1, guessed), (2, true)):
        for _, begin, _ in found:
            counts[bisect.bisect_right(starts, begin) - 1][column] += 1
    return [tuple(c) for c in counts]


# --- SQuAD v1.1 (official evaluate-v1.1.py; XTREME's third_party/evaluate_squad.py) ------------
def normalize_answer(s: str) -> str:
    """Lower case, drop ASCII punctuation and English articles, collapse white space."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _ASCII_PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


_ASCII_PUNCT = set(string.punctuation)


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def em_f1_per_question(gold: dict[str, list[str]], pred: dict[str, str], normalize) -> dict[str, tuple[float, float]]:
    """The v1.1 loop's terms: per gold question the max EM and max F1 over its gold answers (0-1); a
    question without a prediction scores (0, 0) (the official script also prints a line per such
    question; not here); extra predictions are ignored."""
    out = {}
    for qid, answers in gold.items():
        if qid not in pred:
            out[qid] = (0.0, 0.0)
            continue
        if not answers:
            raise ValueError(f"question {qid} has no gold answer")
        p = normalize(pred[qid])
        out[qid] = (max(float(p == normalize(a)) for a in answers),
                    max(_token_f1(p.split(), normalize(a).split()) for a in answers))
    return out


def _em_f1(gold: dict[str, list[str]], pred: dict[str, str], normalize) -> dict[str, float]:
    """The v1.1 totals: the questions' EM and F1 summed in the file's order (the official script's
    order, to the last bit), on 0-100."""
    if not gold:
        raise ValueError("no questions to score")
    em = f1 = 0.0
    for qid, (e, f) in em_f1_per_question(gold, pred, normalize).items():
        if qid in pred:  # unanswered questions add nothing (the official loop skips them)
            em += e
            f1 += f
    return {"exact_match": 100.0 * em / len(gold), "f1": 100.0 * f1 / len(gold)}


def squad_v1(gold: dict[str, list[str]], pred: dict[str, str]) -> dict[str, float]:
    """SQuAD v1.1 exact match and F1 on 0-100 (XQuAD and TyDiQA-GoldP, every language)."""
    return _em_f1(gold, pred, normalize_answer)


def squad_v1_questions(gold: dict[str, list[str]], pred: dict[str, str]) -> dict[str, tuple[float, float]]:
    """`squad_v1`'s per-question (EM, F1), 0-1."""
    return em_f1_per_question(gold, pred, normalize_answer)


# --- MLQA (official mlqa_evaluation_v1.py; XTREME's third_party/evaluate_mlqa.py) --------------
@functools.cache
def mlqa_punctuation() -> frozenset[str]:
    """Every Unicode punctuation character (category P*) plus ASCII's symbols, as the official script
    builds it from the running Python's Unicode tables (built on first use: ~0.3 s)."""
    return (frozenset(chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))
            | _ASCII_PUNCT)

MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    # The official pattern is '\sال^|ال': its first branch can never match, so every "ال" goes,
    # inside words too. Kept as is: the official numbers were computed with it.
    "ar": "\\sال^|ال",
    "hi": None, "zh": None,
}
WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
MIXED_SEGMENTATION_LANGS = ("zh",)
_CJK = re.compile("[\u4e00-\u9fa5]")


def _mixed_segmentation(text: str) -> list[str]:
    """Chinese: every CJK ideograph (U+4E00-U+9FA5) and punctuation mark is a token of its own."""
    tokens, buffer = [], ""
    for ch in text:
        if _CJK.search(ch) or ch in mlqa_punctuation():
            tokens += buffer.split()
            buffer = ""
            tokens.append(ch)
        else:
            buffer += ch
    return tokens + buffer.split()


def mlqa_normalize(s: str, lang: str) -> str:
    if lang not in MLQA_ARTICLES:
        raise ValueError(f"MLQA has no normalization for language '{lang}'; valid: {sorted(MLQA_ARTICLES)}")
    punct = mlqa_punctuation()
    s = "".join(ch for ch in s.lower() if ch not in punct)
    if MLQA_ARTICLES[lang]:
        s = re.sub(MLQA_ARTICLES[lang], " ", s)
    tokens = s.split() if lang in WHITESPACE_LANGS else _mixed_segmentation(s)
    return " ".join(t for t in tokens if t.strip())


def mlqa(gold: dict[str, list[str]], pred: dict[str, str], lang: str) -> dict[str, float]:
    """MLQA's exact match and F1 on 0-100, normalized for the context language `lang`."""
    return _em_f1(gold, pred, lambda s: mlqa_normalize(s, lang))


def mlqa_questions(gold: dict[str, list[str]], pred: dict[str, str], lang: str) -> dict[str, tuple[float, float]]:
    """`mlqa`'s per-question (EM, F1), 0-1."""
    return em_f1_per_question(gold, pred, lambda s: mlqa_normalize(s, lang))


# --- SQuAD v2.0 (official evaluate-v2.0.py, without a no-answer probability file) -------------
def squad_v2(gold: dict[str, list[str]], pred: dict[str, str]) -> dict[str, float]:
    """exact, f1 (0-100) and total, plus the HasAns_/NoAns_ breakdowns when both kinds occur.
    Gold answers that normalize to nothing are dropped; a question left with none is unanswerable
    and only the empty prediction matches it. As the official script, questions without a
    prediction are left out of every total."""
    exact, f1, has_answer = {}, {}, {}
    for qid, answers in gold.items():
        has_answer[qid] = bool(answers)  # the raw list, as the official qid_to_has_ans
        answers = [a for a in answers if normalize_answer(a)]
        if qid not in pred:
            continue
        p = normalize_answer(pred[qid])
        exact[qid] = max(float(p == normalize_answer(a)) for a in answers or [""])
        f1[qid] = max(_v2_f1(p.split(), normalize_answer(a).split()) for a in answers or [""])
    if not exact:
        raise ValueError("no predicted question to score")

    def block(qids, prefix=""):
        return {f"{prefix}exact": 100.0 * sum(exact[q] for q in qids) / len(qids),
                f"{prefix}f1": 100.0 * sum(f1[q] for q in qids) / len(qids), f"{prefix}total": len(qids)}

    out = block(list(exact))
    has = [q for q in exact if has_answer[q]]
    no = [q for q in exact if not has_answer[q]]
    if has:
        out.update(block(has, "HasAns_"))
    if no:
        out.update(block(no, "NoAns_"))
    return out


def _v2_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:  # v2: an empty answer matches only the empty answer
        return float(pred_tokens == gold_tokens)
    return float(_token_f1(pred_tokens, gold_tokens))


def squad_dev(gold: dict[str, list[str]], pred: dict[str, str], no_answer: bool) -> float:
    """Early-stopping score on English dev: (EM + F1) / 2 as a fraction, v2 rules when the task has
    unanswerable questions."""
    if no_answer:
        s = squad_v2(gold, pred)
        return (s["exact"] + s["f1"]) / 200
    s = squad_v1(gold, pred)
    return (s["exact_match"] + s["f1"]) / 200
