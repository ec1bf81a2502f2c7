"""Ranking (LAReQA, Mewsli-X): the top 20 of a candidate pool shared by all languages. Files: labels
{query id: [relevant ids]}, predictions {query id: [ids, best first]}; scored by mAP@20 as
utils_lareqa defines it, or, with one gold candidate per query (Mewsli-X, Task.one_gold), by
utils_mewslix's reciprocal rank within the top 20 (what evaluate.py reports as map@20)."""
from __future__ import annotations

import json

from xstilts.kinds.base import (
    Examples,
    FileFormatError,
    Kind,
    RetrievalRun,
    Scores,
    describe,
    id_notes,
    json_object,
    queries,
    read_json,
    split_rows,
)
from xstilts.metrics import retrieval as rmetrics

TOP_K = 20  # ranking predictions hold the top 20 (mAP@20)


class Ranking(Kind):
    name = "ranking"
    suffix = "json"
    main_metric = "map@20"

    def retrieve(self, run: RetrievalRun) -> None:
        from xstilts.model import search
        for split in ("dev", "test"):
            langs = [lang for s, lang in run.sets if s == split]
            if not langs:
                continue
            pool = run.pool(split)
            pool_vectors, pool_ids = run.vectors(pool), [c["id"] for c in pool]
            for lang in langs:
                qs, _ = split_rows(run.rows(split, lang))
                run.write(split, lang, qs, search.rank(run.vectors(qs), pool_vectors, pool_ids, k=TOP_K))
                run.log["sizes"][f"{split}-{lang}"] = [len(qs), len(pool)]

    def labels_text(self, rows):
        return json.dumps({q["id"]: list(q["relevant"]) for q in queries(rows)}, ensure_ascii=False)

    def predictions_text(self, rows, preds):
        return json.dumps({q["id"]: list(r) for q, r in zip(queries(rows), preds)}, ensure_ascii=False)

    def score(self, task, pred_path, label_path, lang):
        """A query without a prediction scores 0, a prediction without a query is ignored (as the
        official scripts); both are reported as the result's notes."""
        gold = read_ids(label_path, "relevant ids", task.one_gold)
        pred = read_ids(pred_path, "ranked ids", False)
        notes = id_notes(gold, pred, pred_path, label_path, ("query", "queries"))
        if task.one_gold:  # utils_mewslix.evaluate: reciprocal rank of the one gold entity in the top 20
            ranks = reciprocal_ranks(gold, pred)
            return Scores({"map@20": (sum(ranks) / len(ranks) if ranks else 0.0) * 100}, notes)
        return Scores({"map@20": 100 * rmetrics.mean_average_precision_at_k(
            [pred.get(q, []) for q in gold], [set(ids) for ids in gold.values()], k=TOP_K)}, notes)

    def examples(self, task, pred_path, label_path, lang):
        """One unit per gold query: its reciprocal rank (one gold) or AP@20 (0 without a prediction)."""
        gold, pred = read_ids(label_path, "relevant ids", task.one_gold), read_ids(pred_path, "ranked ids", False)
        values = reciprocal_ranks(gold, pred) if task.one_gold else [
            rmetrics.average_precision_at_k(pred.get(q, []), set(ids), TOP_K) for q, ids in gold.items()]
        return Examples(list(gold), [(v,) for v in values], {"map@20": ("mean", 0)})


def reciprocal_ranks(gold: dict[str, list[str]], pred: dict[str, list[str]]) -> list[float]:
    """Per gold query, 1 / rank of its one gold id within the top 20, or 0 (utils_mewslix.evaluate)."""
    ranks = []
    for q, ids in gold.items():
        top = pred.get(q, [])[:TOP_K]
        ranks.append(1.0 / (top.index(ids[0].strip()) + 1) if ids[0].strip() in top else 0.0)
    return ranks


def read_ids(path, what: str, one_gold: bool) -> dict[str, list[str]]:
    """{query id: [candidate ids]}; a string instead of the list would be searched as text."""
    obj = json_object(path, read_json(path), f"a JSON object {{query id: [{what}]}}")
    for q, ids in obj.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise FileFormatError(path, f"query '{q}'", f"a list of {what} (strings)", describe(ids))
        if one_gold and not ids:
            raise FileFormatError(path, f"query '{q}'", "its gold id", "an empty list")
    return obj
