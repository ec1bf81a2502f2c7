"""Bitext mining (BUCC 2018): ratio-margin k-NN mining (k = 4, both directions), a score threshold
tuned on dev gold to maximize F1 and applied to test. Files: one "<xx-id>\\t<en-id>" pair per line;
scored by F1 over sets of pairs (the same function tunes the threshold)."""
from __future__ import annotations

from xstilts.kinds.base import (
    Examples,
    FileFormatError,
    Kind,
    RetrievalRun,
    found_line,
    queries,
    read_lines,
    split_rows,
)
from xstilts.metrics import retrieval as rmetrics


class Mining(Kind):
    name = "mining"
    main_metric = "f1"

    def retrieve(self, run: RetrievalRun) -> None:
        from xstilts.model import search
        run.log["thresholds"] = {}
        for lang in run.languages:
            mined = {}
            for split in ("dev", "test"):
                if (split, lang) not in run.sets:
                    continue
                qs, candidates = split_rows(run.rows(split, lang))
                mined[split] = (search.mine_bucc(
                    run.vectors(qs), run.vectors(candidates), [q["id"] for q in qs], [c["id"] for c in candidates],
                    [q["text"] for q in qs], [c["text"] for c in candidates], k=4), qs)
                run.log["sizes"][f"{split}-{lang}"] = [len(qs), len(candidates)]
            if "dev" not in mined:
                raise RuntimeError(f"{lang}: no dev split to tune the mining threshold on")
            dev_candidates, dev_queries = mined["dev"]
            gold = {(q["id"], t) for q in dev_queries for t in q["relevant"]}
            threshold = rmetrics.tune_threshold(dev_candidates, gold)
            run.log["thresholds"][lang] = threshold
            for split, (candidates, _) in mined.items():
                run.write(split, lang, [], rmetrics.apply_threshold(candidates, threshold))

    def labels_text(self, rows):
        return "".join(f"{q['id']}\t{t}\n" for q in queries(rows) for t in q["relevant"])

    def predictions_text(self, rows, preds):
        return "".join(f"{s}\t{t}\n" for s, t in sorted(preds))

    def score(self, task, pred_path, label_path, lang):
        m = rmetrics.bucc_f1(read_pairs(pred_path), read_pairs(label_path))
        return {"f1": m["f1"] * 100, "precision": m["precision"] * 100, "recall": m["recall"] * 100}

    def examples(self, task, pred_path, label_path, lang):
        """One unit per non-English sentence (the query side of mining) that a gold or an extracted pair
        names: its (correct, extracted, gold) pairs; F1 is micro over the units drawn. A sentence only
        the other arm extracted from is a unit of (0, 0, 0) here (xstilts/eval/intervals.py aligns them)."""
        pred, gold = read_pairs(pred_path), read_pairs(label_path)
        counts: dict[str, list[int]] = {}
        for column, pairs in ((0, pred & gold), (1, pred), (2, gold)):
            for source, _ in sorted(pairs):
                counts.setdefault(source, [0, 0, 0])[column] += 1
        ids = sorted(counts)
        return Examples(ids, [tuple(counts[i]) for i in ids], {"f1": ("f1", 0, 1, 2)})


def read_pairs(path) -> set[tuple[str, str]]:
    """The file's set of (source id, English id) pairs, one a line (duplicates count once, as in
    evaluate.py). A line without exactly two non-empty ids would be a pair that can never match."""
    pairs = set()
    for n, line in enumerate(read_lines(path), 1):
        pair = tuple(line.split("\t"))
        if len(pair) != 2 or not all(pair):
            raise FileFormatError(path, f"line {n}", "two tab-separated ids (<source id><TAB><English id>)",
                                  f"{len(pair)} column{'s' * (len(pair) != 1)}: {found_line(line)}"
                                  if len(pair) != 2 else f"an empty id: {found_line(line)}")
        pairs.add(pair)
    return pairs
