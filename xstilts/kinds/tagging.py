"""Tagging (UD-POS, PAN-X, CCG): one tag per word, predicted on its first sub-word; leaderboard files
hold one tag per line and a blank line after each sentence; scored with seqeval's P/R/F1."""
from __future__ import annotations

from xstilts.kinds.base import (
    Examples,
    FileFormatError,
    Kind,
    check_labels,
    labelled_tokens,
    pad,
    pad_labels,
    read_tagged,
    same_count,
)
from xstilts.metrics import text as metrics


class Tagging(Kind):
    name = "tagging"
    main_metric = "f1"

    def featurize(self, rows, tokenizer, hp, labels=()):
        label_id = {name: i for i, name in enumerate(labels)}
        enc = tokenizer([r["tokens"] for r in rows], is_split_into_words=True, truncation=True,
                        max_length=hp.max_seq_length)
        feats = []
        for i, r in enumerate(rows):
            word_ids = enc.word_ids(i)
            tags, prev = [], None
            for w in word_ids:  # first sub-word of each word carries its tag; the rest are ignored
                tags.append(label_id[r["tags"][w]] if w is not None and w != prev else -100)
                prev = w
            feats.append({"input_ids": enc["input_ids"][i], "labels": tags, "word_ids": word_ids, "example": i})
        return feats

    def collate(self, feats, pad_id):
        batch = pad([f["input_ids"] for f in feats], pad_id)
        batch["labels"] = pad_labels(feats, batch["input_ids"].shape)
        return batch

    def loss_units(self, feats):
        return labelled_tokens(feats)

    def head(self, hidden, n_labels):
        from xstilts.model.heads import TaggingHead
        return TaggingHead(hidden, n_labels)

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        return cross_entropy(out.flatten(0, 1), targets["labels"].flatten(), ignore_index=-100)

    def decode(self, feats, rows, outs, labels, no_answer):
        fallback = next((t for t in ("O", "X") if t in labels), labels[0])
        preds = []
        for f, row, out in zip(feats, rows, outs):  # one feature per row
            tags = [fallback] * len(row["tokens"])  # words cut by max_seq_length get the catch-all tag
            prev = None
            for k, w in enumerate(f["word_ids"]):
                if w is not None and w != prev:
                    tags[w] = labels[out[k]]
                prev = w
            preds.append(tags)
        return preds

    def dev_score(self, rows, preds, no_answer=False):
        return metrics.token_accuracy([r["tags"] for r in rows], preds)

    def translate(self, rows, lang, engine):
        """Only a word-aligned engine (the world's lexicon) keeps each tag on its word; an MT model's
        output has no token alignment, so its tagged rows are dropped and counted."""
        if not rows:
            return [], {}
        if not getattr(engine, "word_aligned", False):
            return [], {"tagged tokens lose their alignment in MT": len(rows)}
        out = []
        for r in rows:
            words = engine.words(r["tokens"], lang)
            kept = [(w, t) for w, t in zip(words, r["tags"]) if w is not None]
            out.append({**r, "tokens": [w for w, _ in kept], "tags": [t for _, t in kept], "lang": lang})
        return out, {}

    def labels_text(self, rows):
        return "".join("".join(f"{t}\n" for t in r["tags"]) + "\n" for r in rows)

    def predictions_text(self, rows, preds):
        return "".join("".join(f"{t}\n" for t in tags) + "\n" for tags in preds)

    def score(self, task, pred_path, label_path, lang):
        """seqeval's chunk P/R/F1, as evaluate.py. Sentences must match the gold's one for one and
        tag for tag (seqeval 0.0.x silently misaligns them); a tag the task does not have is an error."""
        pred_at, gold_at = read_tagged(pred_path), read_tagged(label_path)
        pred, gold = [tags for _, tags in pred_at], [tags for _, tags in gold_at]
        check_labels(pred_path, task, [t for s in pred for t in s], [t for s in gold for t in s],
                     [start + j for start, tags in pred_at for j in range(len(tags))])
        starts = ([s for s, _ in pred_at], [s for s, _ in gold_at])
        differ = next((i for i, (p, g) in enumerate(zip(pred, gold)) if len(p) != len(g)), None)
        if differ is not None:
            (start, p), (gold_start, g) = pred_at[differ], gold_at[differ]
            counts = ("" if len(pred) == len(gold) else  # a sentence break went missing or came in about here
                      f" ({len(pred)} sentences where {label_path} has {len(gold)}: a blank line ends each)")
            raise FileFormatError(pred_path, f"sentence {differ + 1} (line {start})",
                                  f"{len(g)} tags, as sentence {differ + 1} of {label_path} (line {gold_start})",
                                  f"{len(p)}{counts}")
        same_count(pred, gold, pred_path, label_path, "sentences", starts)
        return {m: v * 100 for m, v in metrics.tagging_prf(gold, pred).items()}

    def examples(self, task, pred_path, label_path, lang):
        """One unit per sentence: its (correct, predicted, gold) chunks; F1 is micro over the units drawn."""
        gold = [tags for _, tags in read_tagged(label_path)]
        counts = metrics.tagging_counts(gold, [tags for _, tags in read_tagged(pred_path)])
        return Examples(list(range(len(gold))), counts, {"f1": ("f1", 0, 1, 2)})
