"""Extractive QA (XQuAD, MLQA, TyDiQA-GoldP, SQuAD v1.1/v2.0): start and end logits per token over
windows of a long context (doc stride); the prediction is the best span's text ('' = no answer for
SQuAD v2.0). Leaderboard files: SQuAD v1.1 JSON labels, {question id: answer} predictions; scored
with SQuAD's EM/F1 (MLQA: its per-language normalization)."""
from __future__ import annotations

import json
import math

from xstilts.core import tasks
from xstilts.kinds.base import (
    Examples,
    FileFormatError,
    Kind,
    Scores,
    describe,
    id_notes,
    json_object,
    read_json,
    squad_answers,
)
from xstilts.metrics import text as metrics

MAX_ANSWER_TOKENS = 30
OPEN, CLOSE = "«", "»"   # mark-and-translate: the answer span travels through MT between these


class QA(Kind):
    name = "qa"
    suffix = "json"

    def featurize(self, rows, tokenizer, hp, labels=()):
        """One feature per window of a row's context; `example` points back to the row."""
        enc = tokenizer([r["question"] for r in rows], [r["context"] for r in rows], truncation="only_second",
                        max_length=hp.max_seq_length, stride=hp.doc_stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
        feats = []
        for j, ex in enumerate(enc["overflow_to_sample_mapping"]):
            seq_ids = enc.sequence_ids(j)
            offsets = [o if s == 1 else None for o, s in zip(enc["offset_mapping"][j], seq_ids)]
            start_pos = end_pos = 0  # <s>: the answer is not in this window
            answers = rows[ex]["answers"]
            if answers:
                a_start = answers[0]["start"]
                a_end = a_start + len(answers[0]["text"])
                s = [k for k, o in enumerate(offsets) if o is not None and o[0] <= a_start < o[1]]
                e = [k for k, o in enumerate(offsets) if o is not None and o[0] < a_end <= o[1]]
                if s and e:
                    start_pos, end_pos = s[0], e[0]
            feats.append({"input_ids": enc["input_ids"][j], "start_positions": start_pos,
                          "end_positions": end_pos, "offsets": offsets, "example": ex})
        return feats

    def collate(self, feats, pad_id):
        import torch
        batch = super().collate(feats, pad_id)
        batch["start_positions"] = torch.tensor([f["start_positions"] for f in feats])
        batch["end_positions"] = torch.tensor([f["end_positions"] for f in feats])
        return batch

    def head(self, hidden, n_labels):
        from xstilts.model.heads import SpanHead
        return SpanHead(hidden)

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        start, end = out
        return (cross_entropy(start, targets["start_positions"]) + cross_entropy(end, targets["end_positions"])) / 2

    def output(self, head_out, batch_shape):
        """Start and end logits, padding masked out: the loss's softmax runs over real tokens only,
        so a row's loss does not depend on how wide its batch was padded (dynamic padding,
        micro-batches)."""
        pad = batch_shape["attention_mask"] == 0
        return tuple(x.masked_fill(pad, -1e4) for x in head_out)

    def batch_outputs(self, out):
        return list(zip(out[0].tolist(), out[1].tolist()))

    def decode(self, feats, rows, outs, labels, no_answer):
        """Best span over all windows of a row, start <= end, within the context, bounded length.
        SQuAD v2: the null answer scores start+end logits at <s>; the lowest over a row's windows
        competes with the best span (threshold 0, as HF's run_qa with version_2_with_negative)."""
        best = [(-math.inf, "") for _ in rows]
        null = [math.inf for _ in rows]
        for f, (start_logits, end_logits) in zip(feats, outs):
            null[f["example"]] = min(null[f["example"]], start_logits[0] + end_logits[0])
            ctx = [k for k, o in enumerate(f["offsets"]) if o is not None]
            if not ctx:
                continue
            top_s = sorted(ctx, key=lambda k: start_logits[k], reverse=True)[:20]
            top_e = sorted(ctx, key=lambda k: end_logits[k], reverse=True)[:20]
            for s in top_s:
                for e in top_e:
                    if s <= e < s + MAX_ANSWER_TOKENS:
                        score = start_logits[s] + end_logits[e]
                        if score > best[f["example"]][0]:
                            context = rows[f["example"]]["context"]
                            best[f["example"]] = (score, context[f["offsets"][s][0]:f["offsets"][e][1]])
        if no_answer:
            return ["" if n > score else text for (score, text), n in zip(best, null)]
        return [text for _, text in best]

    def dev_score(self, rows, preds, no_answer=False):
        """(EM + F1) / 2 as a fraction, SQuAD v2.0's rules when the task has unanswerable questions."""
        return metrics.squad_dev({r["id"]: [a["text"] for a in r["answers"]] for r in rows},
                                 {r["id"]: p for r, p in zip(rows, preds)}, no_answer)

    def translate(self, rows, lang, engine):
        """Mark-and-translate: the answer span is wrapped in « » before translation and read back from
        the marks; a row whose marks do not come back intact is dropped and counted."""
        dropped: dict[str, int] = {}
        if not rows:
            return [], dropped
        questions = engine.translate([r["question"] for r in rows], lang)
        marked = [mark_answer(r["context"], r["answers"][0]) if r["answers"] else r["context"] for r in rows]
        contexts = engine.translate(marked, lang)
        out = []
        for r, q, c in zip(rows, questions, contexts):
            if not r["answers"]:  # SQuAD v2 unanswerable: nothing to keep track of
                out.append({**r, "question": q, "context": c, "lang": lang})
                continue
            back = unmark_answer(c)
            if back is None:
                dropped["answer span lost in translation"] = dropped.get("answer span lost in translation", 0) + 1
                continue
            context, answer = back
            out.append({**r, "question": q, "context": context, "answers": [answer], "lang": lang})
        return out, dropped

    def labels_text(self, rows):
        paragraphs = {}
        for r in rows:  # questions on the same context share a paragraph, as in the source files
            paragraphs.setdefault(r["context"], []).append(
                {"id": r["id"], "question": r["question"], "answers": r["answers"]})
        return json.dumps({"data": [{"title": "", "paragraphs": [{"context": c, "qas": q}
                                                                 for c, q in paragraphs.items()]}],
                           "version": "1.1"}, ensure_ascii=False)

    def predictions_text(self, rows, preds):
        return json.dumps({r["id"]: p for r, p in zip(rows, preds)}, ensure_ascii=False, indent=0)

    def score(self, task, pred_path, label_path, lang):
        """SQuAD v1.1's (or MLQA's) EM and F1, as evaluate.py. A question without a prediction scores
        0 and a prediction without a question is ignored, as the official script does; both are
        reported as the result's notes."""
        gold = squad_answers(read_json(label_path), label_path)
        if not gold:
            raise FileFormatError(label_path, "data", "at least one question", "none",
                                  f"{label_path} holds no questions")
        for qid, answers in gold.items():
            if not answers and not task.no_answer:  # SQuAD v1.1 cannot score a question without an answer
                raise FileFormatError(label_path, f"question '{qid}'", "at least one gold answer", "none")
        pred = json_object(pred_path, read_json(pred_path), "a JSON object {question id: answer text}")
        for qid, answer in pred.items():
            if not isinstance(answer, str):
                raise FileFormatError(pred_path, f"question '{qid}'", "the answer text (a string)", describe(answer))
        scored = (metrics.mlqa(gold, pred, mlqa_language(lang)) if task.answers_as == "mlqa"
                  else metrics.squad_v1(gold, pred))
        return Scores(scored, id_notes(gold, pred, pred_path, label_path, ("question", "questions")))

    def examples(self, task, pred_path, label_path, lang):
        """One unit per gold question: its EM and F1 (0 without a prediction, as `score` counts it)."""
        gold = squad_answers(read_json(label_path), label_path)
        pred = read_json(pred_path)
        per = (metrics.mlqa_questions(gold, pred, mlqa_language(lang)) if task.answers_as == "mlqa"
               else metrics.squad_v1_questions(gold, pred))
        return Examples(list(per), list(per.values()), {"exact_match": ("mean", 0), "f1": ("mean", 1)})

    def avg_metric(self, averages):
        return (averages["avg_exact_match"] + averages["avg_f1"]) / 2


def mlqa_language(lang: str) -> str:
    """MLQA's normalization is defined for its seven languages only. The tiny world's invented
    languages separate words by spaces and MLQA lists no articles for them: they are normalized as
    it normalizes Hindi (punctuation removed, no article removal, whitespace tokens)."""
    return "hi" if lang in tasks.WORLD_LANGUAGES and lang != "en" else lang


def mark_answer(context: str, answer: dict) -> str:
    s = answer["start"]
    e = s + len(answer["text"])
    return f"{context[:s]}{OPEN} {context[s:e]} {CLOSE}{context[e:]}"


def unmark_answer(text: str) -> tuple[str, dict] | None:
    """(context without the marks, answer with its new start), or None when the marks were lost."""
    if text.count(OPEN) != 1 or text.count(CLOSE) != 1 or text.index(OPEN) > text.index(CLOSE):
        return None
    before, rest = text.split(OPEN)
    inside, after = rest.split(CLOSE)
    before, inside, after = before.rstrip(), inside.strip(), after.lstrip()
    if not inside:
        return None
    context = " ".join(p for p in (before, inside, after) if p)
    start = len(before) + (1 if before else 0)
    return context, {"text": inside, "start": start}
