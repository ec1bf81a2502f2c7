"""Multiple choice (XCOPA, HellaSwag, Cosmos QA, CommonsenseQA): each (context + question, choice)
pair is one sequence scored by a one-output head; the choices of a row compete in a softmax. The
prediction is the choice index; leaderboard files hold one {"label": index} object per line."""
from __future__ import annotations

import json

from xstilts.kinds.base import Kind, accuracy, accuracy_examples, pad, read_jsonl_labels, same_count
from xstilts.metrics import text as metrics


class MultipleChoice(Kind):
    name = "multiple_choice"
    suffix = "jsonl"
    main_metric = "accuracy"

    def featurize(self, rows, tokenizer, hp, labels=()):
        firsts = [" ".join(x for x in (r["context"], r["question"]) if x) for r in rows]
        enc = tokenizer([firsts[i] for i, r in enumerate(rows) for _ in r["choices"]],
                        [c for r in rows for c in r["choices"]], truncation=True, max_length=hp.max_seq_length)
        feats, k = [], 0
        for i, r in enumerate(rows):
            n = len(r["choices"])
            feats.append({"choice_ids": enc["input_ids"][k:k + n], "labels": r["label"], "example": i})
            k += n
        return feats

    def collate(self, feats, pad_id):
        import torch
        n = len(feats[0]["choice_ids"])  # every (row, choice) pair is one sequence
        if any(len(f["choice_ids"]) != n for f in feats):
            raise ValueError("multiple-choice rows of one task must have the same number of choices")
        batch = pad([ids for f in feats for ids in f["choice_ids"]], pad_id)
        batch["n_choices"] = n
        batch["labels"] = torch.tensor([f["labels"] for f in feats])
        return batch

    def head(self, hidden, n_labels):
        from xstilts.model.heads import ClassificationHead
        return ClassificationHead(hidden, 1)  # one score per (context, choice) pair

    def output(self, head_out, targets):
        return head_out.view(-1, targets["n_choices"])  # (rows, choices)

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        return cross_entropy(out, targets["labels"])

    def eval_batch_size(self, batch_size, feats):
        return max(1, batch_size // len(feats[0]["choice_ids"])) if feats else batch_size  # counts sequences

    def decode(self, feats, rows, outs, labels, no_answer):
        return outs

    def dev_score(self, rows, preds, no_answer=False):
        return metrics.accuracy([r["label"] for r in rows], preds)

    def translate(self, rows, lang, engine):
        if not rows:
            return [], {}
        ctx = engine.translate([r["context"] for r in rows], lang)
        q = engine.translate([r["question"] for r in rows], lang)
        flat = engine.translate([c for r in rows for c in r["choices"]], lang)
        out, k = [], 0
        for r, c, qq in zip(rows, ctx, q):
            n = len(r["choices"])
            out.append({**r, "context": c, "question": qq, "choices": flat[k:k + n], "lang": lang})
            k += n
        return out, {}

    def labels_text(self, rows):
        return "".join(json.dumps({"id": r["id"], "label": r["label"]}) + "\n" for r in rows)

    def predictions_text(self, rows, preds):
        return "".join(json.dumps({"label": int(p)}) + "\n" for p in preds)

    def score(self, task, pred_path, label_path, lang):
        pred, gold = read_jsonl_labels(pred_path), read_jsonl_labels(label_path)
        same_count(pred, gold, pred_path, label_path, "lines")
        return accuracy(pred, gold)

    def examples(self, task, pred_path, label_path, lang):
        return accuracy_examples(read_jsonl_labels(pred_path), read_jsonl_labels(label_path))
