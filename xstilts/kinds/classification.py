"""Sentence(-pair) classification (XNLI, PAWS-X, MNLI, QQP, ANLI+): RoBERTa's head on <s>, a label
name per row; leaderboard files hold one label per line."""
from __future__ import annotations

from xstilts.kinds.base import Kind, accuracy, accuracy_examples, check_labels, lines_text, read_values, same_count
from xstilts.metrics import text as metrics


class Classification(Kind):
    name = "classification"
    main_metric = "accuracy"

    def featurize(self, rows, tokenizer, hp, labels=()):
        label_id = {name: i for i, name in enumerate(labels)}
        enc = tokenizer([r["text_a"] for r in rows], [r["text_b"] for r in rows], truncation=True,
                        max_length=hp.max_seq_length)
        return [{"input_ids": enc["input_ids"][i], "labels": label_id[r["label"]], "example": i}
                for i, r in enumerate(rows)]

    def head(self, hidden, n_labels):
        from xstilts.model.heads import ClassificationHead
        return ClassificationHead(hidden, n_labels)

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        return cross_entropy(out, targets["labels"])

    def decode(self, feats, rows, outs, labels, no_answer):
        return [labels[k] for k in outs]

    def dev_score(self, rows, preds, no_answer=False):
        return metrics.accuracy([r["label"] for r in rows], preds)

    def translate(self, rows, lang, engine):
        if not rows:
            return [], {}
        a = engine.translate([r["text_a"] for r in rows], lang)
        b = engine.translate([r["text_b"] for r in rows], lang)
        return [{**r, "text_a": x, "text_b": y, "lang": lang} for r, x, y in zip(rows, a, b)], {}

    def labels_text(self, rows):
        return lines_text(r["label"] for r in rows)

    def predictions_text(self, rows, preds):
        return lines_text(preds)

    def score(self, task, pred_path, label_path, lang):
        """Accuracy of one label per line, as evaluate.py; a predicted label the task does not have
        is an error (evaluate.py counts it wrong, hiding a misspelt or mis-mapped label)."""
        gold, pred = read_values(label_path, "a label"), read_values(pred_path, "a label")
        same_count(pred, gold, pred_path, label_path, "lines")
        check_labels(pred_path, task, pred, gold)
        return accuracy(pred, gold)

    def examples(self, task, pred_path, label_path, lang):
        return accuracy_examples(read_values(pred_path, "a label"), read_values(label_path, "a label"))
