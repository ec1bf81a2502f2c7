"""Stage `score`: score both arms' predictions against the prepared gold data.

Writes two small git-tracked files (DVC metrics, `cache: false`):
  reports/metrics.json  headline numbers on the `eval_split`, XTREME's 0-100 scale:
                        <task>.avg, <task>.<lang>, xtreme.avg for this experiment's arm; the same
                        under baseline.* (no intermediate training) and gain.* (arm - baseline).
  reports/scores.json   every metric per arm, target, split and language (EM and F1 apart, token
                        accuracy beside seqeval F1, ...) and where each number came from.
Per-language headline: accuracy (XNLI, Tatoeba), seqeval F1 (UD-POS), (EM+F1)/2 (XQuAD), so that
<task>.avg is XTREME's per-task score (QA: mean of EM and F1) and xtreme.avg the mean over tasks.
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, metrics, retrieval, tasks

PREDICTIONS = Path("data/predictions")
ARMS = ("baseline", "intermediate")


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def read_tag_sentences(path: Path) -> list[list[str]]:
    sentences, current = [], []
    for line in read_lines(path):
        if line.strip():
            current.append(line.split("\t")[-1].strip())
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def score_file(target: tasks.Task, pred_dir: Path, split: str, lang: str, gold_rows: list[dict]) -> dict:
    """All metrics of one prediction file, on XTREME's 0-100 scale; `headline` is the per-language number."""
    kind = target.retrieval or target.type
    if kind == "qa":
        pred = json.loads((pred_dir / f"{split}-{lang}.json").read_text(encoding="utf-8"))
        s = metrics.squad({r["id"]: [a["text"] for a in r["answers"]] for r in gold_rows}, pred)
        em, f1 = 100 * s["exact_match"], 100 * s["f1"]
        return {"exact_match": em, "f1": f1, "headline": (em + f1) / 2, "n": len(gold_rows)}
    if kind == "ranking":
        pred = json.loads((pred_dir / f"{split}-{lang}.json").read_text(encoding="utf-8"))
        queries = [r for r in gold_rows if r["kind"] == "query"]
        m = 100 * retrieval.mean_average_precision_at_k([pred.get(q["id"], []) for q in queries],
                                                        [set(q["relevant"]) for q in queries], k=20)
        return {"map@20": m, "headline": m, "n": len(queries)}
    path = pred_dir / f"{split}-{lang}.tsv"
    if kind in ("classification", "multiple_choice"):
        cast = int if kind == "multiple_choice" else str
        acc = 100 * metrics.accuracy([r["label"] for r in gold_rows], [cast(l.strip()) for l in read_lines(path)])
        return {"accuracy": acc, "headline": acc, "n": len(gold_rows)}
    if kind == "tagging":
        gold, pred = [r["tags"] for r in gold_rows], read_tag_sentences(path)
        f1 = 100 * metrics.tagging_f1(gold, pred)
        return {"f1": f1, "token_accuracy": 100 * metrics.token_accuracy(gold, pred), "headline": f1,
                "n": len(gold_rows)}
    if kind == "bitext":  # line i: the index of query i's predicted candidate
        queries = [r for r in gold_rows if r["kind"] == "query"]
        acc = 100 * metrics.accuracy([q["relevant"][0] for q in queries], [l.strip() for l in read_lines(path)])
        return {"accuracy": acc, "headline": acc, "n": len(queries)}
    if kind == "mining":
        pairs = {tuple(l.split("\t")) for l in read_lines(path) if l.strip()}
        gold = {(q["id"], t) for q in gold_rows if q["kind"] == "query" for t in q["relevant"]}
        m = retrieval.bucc_f1(pairs, gold)
        return {"f1": 100 * m["f1"], "precision": 100 * m["precision"], "recall": 100 * m["recall"],
                "headline": 100 * m["f1"], "n": len(gold)}
    raise ValueError(f"no scorer for task kind '{kind}'")


def score_arm(params: config.Params, arm: str) -> dict:
    """{target: {split: {lang: metrics}}} for one arm."""
    out = {}
    for name in params.active_targets:
        target = tasks.TARGETS[name]
        out[name] = {}
        for split, lang in data.eval_sets(name, params.target_languages(name)):
            gold = data.load_eval(name, split, lang)
            out[name].setdefault(split, {})[lang] = score_file(target, PREDICTIONS / arm / name, split, lang, gold)
    return out


def headline(params: config.Params, detail: dict) -> tuple[dict, dict]:
    """metrics.json's block for one arm, and which split each task's numbers come from."""
    block, used = {}, {}
    for name, splits in detail.items():
        split = params.eval_split if params.eval_split in splits else next(iter(splits))
        used[name] = split
        per_lang = {lang: m["headline"] for lang, m in splits[split].items()}
        block[name] = {"avg": sum(per_lang.values()) / len(per_lang), **per_lang}
    block[params.benchmark] = {"avg": sum(block[t]["avg"] for t in detail) / len(detail)}
    return block, used


def subtract(a: dict, b: dict) -> dict:
    return {k: subtract(v, b[k]) if isinstance(v, dict) else v - b[k] for k, v in a.items()}


def build(params: config.Params) -> tuple[dict, dict]:
    detail = {arm: score_arm(params, arm) for arm in ARMS}
    ours, used = headline(params, detail["intermediate"])
    base, _ = headline(params, detail["baseline"])
    summary = {**ours, "baseline": base, "gain": subtract(ours, base)}
    scores = {"profile": params.profile, "benchmark": params.benchmark, "intermediate": params.intermediate,
              "seed": params.seed, "targets": params.active_targets,
              "eval_split": params.eval_split, "split_used": used,
              "note": ("profile tiny: numbers from the embedded synthetic world, not the paper's data"
                       if params.profile == "tiny" else "profile paper"),
              "scores": detail}
    return summary, scores


def round_floats(x, digits: int = 4):
    if isinstance(x, dict):
        return {k: round_floats(v, digits) for k, v in x.items()}
    return round(x, digits) if isinstance(x, float) else x


def main() -> None:
    params = config.load()
    summary, scores = build(params)
    data.atomic_write_text(Path("reports/metrics.json"), json.dumps(round_floats(summary), indent=2) + "\n")
    data.atomic_write_text(Path("reports/scores.json"), json.dumps(round_floats(scores), indent=2) + "\n")
    line = ", ".join(f"{t} {summary[t]['avg']:.1f} ({summary['gain'][t]['avg']:+.1f})" for t in params.active_targets)
    b = params.benchmark
    print(f"score ({params.intermediate} vs baseline, {params.eval_split}): {line}; "
          f"{b}.avg {summary[b]['avg']:.1f} ({summary['gain'][b]['avg']:+.1f})")
