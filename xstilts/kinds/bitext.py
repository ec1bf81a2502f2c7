"""Bitext retrieval (Tatoeba): each English sentence's nearest non-English sentence by cosine (XTREME
indexes the non-English side and queries with English). Files: one line per query, the index of its
(gold / predicted) match; scored by accuracy."""
from __future__ import annotations

from xstilts.kinds.base import (
    Kind,
    RetrievalRun,
    accuracy,
    accuracy_examples,
    lines_text,
    queries,
    read_values,
    same_count,
    split_rows,
)


class Bitext(Kind):
    name = "bitext"
    main_metric = "accuracy"

    def retrieve(self, run: RetrievalRun) -> None:
        from xstilts.model import search
        for split, lang in run.sets:
            qs, candidates = split_rows(run.rows(split, lang))
            run.write(split, lang, qs, search.nearest_neighbours(run.vectors(qs), run.vectors(candidates)))
            run.log["sizes"][f"{split}-{lang}"] = [len(qs), len(candidates)]

    def labels_text(self, rows):
        return lines_text(q["relevant"][0] for q in queries(rows))

    def predictions_text(self, rows, preds):
        return lines_text(preds)

    def score(self, task, pred_path, label_path, lang):
        """Accuracy of one match per line, compared as text as evaluate.py does ("00" is not "0"). Any
        text can be a match's name (an index, a candidate id), so no value is refused for itself."""
        gold, pred = read_values(label_path, "a match"), read_values(pred_path, "a match")
        same_count(pred, gold, pred_path, label_path, "lines")
        return accuracy(pred, gold)

    def examples(self, task, pred_path, label_path, lang):
        """One unit per query (an English sentence and its match)."""
        return accuracy_examples(read_values(pred_path, "a match"), read_values(label_path, "a match"))
