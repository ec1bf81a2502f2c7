"""Bitext retrieval (Tatoeba): each English sentence's nearest non-English sentence by cosine (XTREME
indexes the non-English side and queries with English). Files: one line per query, the index of its
(gold / predicted) match; scored by accuracy."""
from __future__ import annotations

from xstilts.kinds.base import Kind, RetrievalRun, accuracy, queries, read_lines, same_count, split_rows


class Bitext(Kind):
    name = "bitext"
    trains = False
    main_metric = "accuracy"

    def retrieve(self, run: RetrievalRun) -> None:
        from xstilts.model import search
        for split, lang in run.sets:
            qs, candidates = split_rows(run.rows(split, lang))
            run.write(split, lang, qs, search.nearest_neighbours(run.vectors(qs), run.vectors(candidates)))
            run.log["sizes"][f"{split}-{lang}"] = [len(qs), len(candidates)]

    def labels_text(self, rows):
        return "".join(f"{q['relevant'][0]}\n" for q in queries(rows))

    def predictions_text(self, rows, preds):
        return "".join(f"{p}\n" for p in preds)

    def score(self, task, pred_path, label_path, lang):
        pred, gold = read_lines(pred_path), read_lines(label_path)
        same_count(pred, gold, pred_path, label_path, "lines")
        return accuracy(pred, gold)
