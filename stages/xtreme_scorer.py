"""XTREME and XTREME-R scoring as google-research/xtreme's evaluate.py does it (read at 838c13b).

Predictions and labels are two folders of the same leaderboard layout (stages/leaderboard.py:
<folder>/<task>/<split>-<lang>.<suffix>, evaluate.py's file formats).

What `evaluate` returns has evaluate.py's keys and nesting: `all_task` (only when every task of the
benchmark is present), the group scores (only for groups whose tasks are all present), then per
task {metric: {lang: value}, avg_<metric>: ..., avg_metric: ...}. A task whose folder is missing
from either side is left out, as evaluate.py does; a missing language file is an error naming it.

Deliberate differences from evaluate.py, each where it fails or cannot score:
  * LAReQA: evaluate.py lists it with no languages and no metric (its printing then crashes and
    its `all_task` can never appear for XTREME-R). Here it is scored with mAP@20 as
    third_party/utils_lareqa.py defines it, over XQuAD-R's 11 languages, and counts in `all_task`.
  * Tag files whose sentences differ in length are an error (seqeval 0.0.x silently misaligns).
  * `split` other than test (the pipeline's dev numbers): a task with no dev split is scored on
    test, and languages without dev data (UD-POS kk/th/tl/yo) are left out of its dev average.
"""
from __future__ import annotations

from pathlib import Path

from stages import leaderboard, metrics, retrieval, tasks
from stages.leaderboard import kind, read_json, read_jsonl_labels, read_lines, read_tags, squad_answers, suffix

TOP_K = leaderboard.TOP_K


class ScoreError(leaderboard.LayoutError):
    """Predictions or labels that cannot be scored; the message names the file and what is wrong."""


# --- one language file ---------------------------------------------------------------------------
def _same_count(pred, gold, pred_path: Path, label_path: Path, unit: str) -> None:
    if len(pred) != len(gold):
        raise ScoreError(f"{pred_path} has {len(pred)} {unit}, {label_path} has {len(gold)}")
    if not gold:
        raise ScoreError(f"{label_path} is empty")


def _accuracy(pred: list, gold: list) -> dict:
    correct = sum(p == g for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}  # evaluate.py's operation order, to the last bit


def score_language(task: str, pred_path: Path, label_path: Path, lang: str) -> dict[str, float]:
    """Every metric of one language file, 0-100, in evaluate.py's key order."""
    k = kind(task)
    if k in ("classification", "bitext"):
        pred, gold = read_lines(pred_path), read_lines(label_path)
        _same_count(pred, gold, pred_path, label_path, "lines")
        return _accuracy(pred, gold)
    if k == "multiple_choice":
        pred, gold = read_jsonl_labels(pred_path), read_jsonl_labels(label_path)
        _same_count(pred, gold, pred_path, label_path, "lines")
        return _accuracy(pred, gold)
    if k == "tagging":
        pred, gold = read_tags(pred_path), read_tags(label_path)
        _same_count(pred, gold, pred_path, label_path, "sentences")
        for i, (p, g) in enumerate(zip(pred, gold)):
            if len(p) != len(g):
                raise ScoreError(f"{pred_path}: sentence {i + 1} has {len(p)} tags, {label_path} has {len(g)}")
        return {m: v * 100 for m, v in metrics.tagging_prf(gold, pred).items()}
    if k == "mining":  # F1 over sets of (xx id, en id) pairs: the same function tunes BUCC's threshold
        m = retrieval.bucc_f1({tuple(line.split("\t")) for line in read_lines(pred_path)},
                              {tuple(line.split("\t")) for line in read_lines(label_path)})
        return {"f1": m["f1"] * 100, "precision": m["precision"] * 100, "recall": m["recall"] * 100}
    if k == "qa":
        gold, pred = squad_answers(read_json(label_path)), read_json(pred_path)
        return metrics.mlqa(gold, pred, mlqa_language(lang)) if task == "mlqa" else metrics.squad_v1(gold, pred)
    if task == "mewslix":  # utils_mewslix.evaluate: reciprocal rank of the one gold entity in the top 20
        gold, pred = read_json(label_path), read_json(pred_path)
        ranks = []
        for q, ids in gold.items():
            top = pred.get(q, [])[:TOP_K]
            ranks.append(1.0 / (top.index(ids[0].strip()) + 1) if ids[0].strip() in top else 0.0)
        return {"map@20": (sum(ranks) / len(ranks) if ranks else 0.0) * 100}
    if k == "ranking":  # LAReQA: utils_lareqa.mean_avg_prec_at_k over every question of the file
        gold, pred = read_json(label_path), read_json(pred_path)
        return {"map@20": 100 * retrieval.mean_average_precision_at_k(
            [pred.get(q, []) for q in gold], [set(ids) for ids in gold.values()], k=TOP_K)}
    raise ScoreError(f"no scorer for task kind '{k}' ({task})")


def mlqa_language(lang: str) -> str:
    """MLQA's normalization is defined for its seven languages only. The tiny world's invented
    languages separate words by spaces and MLQA lists no articles for them: they are normalized as
    it normalizes Hindi (punctuation removed, no article removal, whitespace tokens)."""
    return "hi" if lang in tasks.WORLD_LANGUAGES and lang != "en" else lang


# --- a whole folder --------------------------------------------------------------------------------
def official_languages(task: str, benchmark: str, split: str = "test") -> tuple[str, ...]:
    return without_missing(task, tasks.TARGETS[task].languages[benchmark], split)


def without_missing(task: str, languages, split: str) -> tuple[str, ...]:
    """Leave out languages the task has no data for in `split` (UD-POS kk/th/tl/yo have no dev)."""
    return tuple(l for l in languages if l not in tasks.TARGETS[task].missing.get(split, ()))


def task_split(task: str, split: str) -> str:
    """The split a task is scored on: `split`, or test where the task has no such split (XQuAD,
    TyDiQA-GoldP, Tatoeba and LAReQA have no dev set separate from test)."""
    return split if split in tasks.TARGETS[task].eval else "test"


def score_task(task: str, pred_dir: Path, label_dir: Path, split: str, languages) -> dict:
    score: dict[str, dict[str, float]] = {}
    for lang in languages:
        paths = [Path(root) / task / f"{split}-{lang}.{suffix(task)}" for root in (pred_dir, label_dir)]
        for path, side in zip(paths, ("predictions", "labels")):
            if not path.is_file():
                have = sorted(p.name for p in path.parent.glob(f"{split}-*.{suffix(task)}"))
                raise ScoreError(f"{task}: language '{lang}' is missing from the {side}: no {path} "
                                 f"(present: {', '.join(have) or 'none'})")
        for metric, value in score_language(task, *paths, lang).items():
            score.setdefault(metric, {})[lang] = value
    out: dict = dict(score)
    for metric, values in score.items():
        out[f"avg_{metric}"] = sum(values.values()) / len(values)
    if kind(task) == "qa":
        out["avg_metric"] = (out["avg_exact_match"] + out["avg_f1"]) / 2
    else:
        key = next(k for k in ("avg_f1", "avg_accuracy", "avg_map@20") if k in out)
        out["avg_metric"] = out[key]
    return out


def evaluate(pred_dir: Path, label_dir: Path, benchmark: str = "xtreme", split: str = "test",
             languages: dict[str, tuple[str, ...]] | None = None) -> tuple[dict, dict]:
    """(evaluate.py's output, what was scored: per task its split and languages; tasks left out).

    `languages` overrides a task's language list (the tiny world's languages; a user's subset);
    by default each task is scored on its official list for `benchmark`."""
    if benchmark not in tasks.BENCHMARKS:
        raise ScoreError(f"unknown benchmark '{benchmark}'; valid: {', '.join(tasks.BENCHMARKS)}")
    if split not in ("dev", "test"):
        raise ScoreError(f"unknown split '{split}'; valid: dev, test")
    for folder, side in ((pred_dir, "predictions"), (label_dir, "labels")):
        if not Path(folder).is_dir():
            raise ScoreError(f"the {side} folder {folder} does not exist")
    detailed, info = {}, {"benchmark": benchmark, "split": split, "scored": {}, "missing_tasks": []}
    for task in tasks.BENCHMARK_TARGETS[benchmark]:
        if not ((Path(pred_dir) / task).is_dir() and (Path(label_dir) / task).is_dir()):
            info["missing_tasks"].append(task)
            continue
        s = task_split(task, split)
        langs = (without_missing(task, languages[task], s) if languages and task in languages
                 else official_languages(task, benchmark, s))
        if not langs:  # a language subset that leaves this task nothing: as if it were absent
            info["missing_tasks"].append(task)
            continue
        detailed[task] = score_task(task, pred_dir, label_dir, s, langs)
        info["scored"][task] = {"split": s, "languages": list(langs)}
    overall = {}
    if not info["missing_tasks"]:
        overall["all_task"] = sum(detailed[t]["avg_metric"] for t in detailed) / len(detailed)
    for group, members in tasks.BENCHMARK_GROUPS[benchmark].items():
        if all(t in detailed for t in members):
            overall[group] = sum(detailed[t]["avg_metric"] for t in members) / len(members)
    return {**overall, **detailed}, info


