"""XTREME and XTREME-R scoring as google-research/xtreme's evaluate.py does it (read at 838c13b).

Predictions and labels are two folders of the same leaderboard layout (xstilts/eval/layout.py:
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
  * A file evaluate.py would crash on (not UTF-8, invalid JSON, a null answer) or silently misread
    (a line with more columns than its format, a label or tag the task does not have, a line count
    unlike the gold's) is a FileFormatError naming the file, the line or question id, what was
    expected and what was found.
  * No number differs for it, but QA questions without a prediction (scored 0, as the official
    script does) and predictions without a question (ignored) are counted, with up to 5 example ids
    per file, in info["notes"]; so are Mewsli-X / LAReQA queries.
  * `split` other than test (the pipeline's dev numbers): a task with no dev split is scored on
    test, and languages without dev data (UD-POS kk/th/tl/yo) are left out of its dev average.
"""
from __future__ import annotations

from pathlib import Path

from xstilts.core import tasks
from xstilts.eval import layout
from xstilts.kinds import ScoreError  # noqa: F401  (raised here and by the kinds' scorers)


def score_language(task: str, pred_path: Path, label_path: Path, lang: str) -> dict[str, float]:
    """Every metric of one language file, 0-100, in evaluate.py's key order (the task kind's scorer;
    a kinds.base.Scores, with its notes, where the kind has any)."""
    return layout.kind(task).score(tasks.TARGETS[task], pred_path, label_path, lang)


def official_languages(task: str, benchmark: str, split: str = "test") -> tuple[str, ...]:
    return without_missing(task, tasks.TARGETS[task].languages[benchmark], split)


def without_missing(task: str, languages, split: str) -> tuple[str, ...]:
    """Leave out languages the task has no data for in `split` (UD-POS kk/th/tl/yo have no dev)."""
    return tuple(l for l in languages if l not in tasks.TARGETS[task].missing.get(split, ()))


def task_split(task: str, split: str) -> str:
    """The split a task is scored on: `split`, or test where the task has no such split (XQuAD,
    TyDiQA-GoldP, Tatoeba and LAReQA have no dev set separate from test)."""
    return split if split in tasks.TARGETS[task].eval else "test"


def score_task(task: str, pred_dir: Path, label_dir: Path, split: str, languages,
               notes: list[str] | None = None) -> dict:
    """evaluate.py's block of one task; the scorers' notes (one line each) are added to `notes`."""
    score: dict[str, dict[str, float]] = {}
    for lang in languages:
        paths = [layout.path(root, task, split, lang) for root in (pred_dir, label_dir)]
        for path, side in zip(paths, ("predictions", "labels")):
            if not path.is_file():
                have = sorted(p.name for p in path.parent.glob(f"{split}-*.{layout.suffix(task)}"))
                raise ScoreError(f"{task}: language '{lang}' is missing from the {side}: no {path} "
                                 f"(present: {', '.join(have) or 'none'})")
        scored = score_language(task, *paths, lang)
        if notes is not None:
            notes.extend(getattr(scored, "notes", ()))
        for metric, value in scored.items():
            score.setdefault(metric, {})[lang] = value
    out: dict = dict(score)
    for metric, values in score.items():
        out[f"avg_{metric}"] = sum(values.values()) / len(values)
    out["avg_metric"] = layout.kind(task).avg_metric(out)
    return out


def evaluate(pred_dir: Path, label_dir: Path, benchmark: str = "xtreme", split: str = "test",
             languages: dict[str, tuple[str, ...]] | None = None,
             targets: list[str] | None = None) -> tuple[dict, dict]:
    """(evaluate.py's output, what was scored: per task its split and languages; tasks left out;
    notes: one line each on what was scored anyway but should be known, such as unanswered questions).

    `languages` overrides a task's language list (the tiny world's languages; a user's subset);
    by default each task is scored on its official list for `benchmark`. `targets`: the tasks to score
    (the pipeline's active ones: a folder an earlier run left for a target no longer listed is not
    scored); by default every task of `benchmark` with a predictions and a labels folder."""
    if benchmark not in tasks.BENCHMARKS:
        raise ScoreError(f"unknown benchmark '{benchmark}'; valid: {', '.join(tasks.BENCHMARKS)}")
    if split not in ("dev", "test"):
        raise ScoreError(f"unknown split '{split}'; valid: dev, test")
    for folder, side in ((pred_dir, "predictions"), (label_dir, "labels")):
        if not Path(folder).is_dir():
            raise ScoreError(f"the {side} folder {folder} does not exist")
    detailed = {}
    info = {"benchmark": benchmark, "split": split, "scored": {}, "missing_tasks": [], "notes": []}
    for task in tasks.BENCHMARK_TARGETS[benchmark]:
        listed = targets is None or task in targets
        if not (listed and (Path(pred_dir) / task).is_dir() and (Path(label_dir) / task).is_dir()):
            info["missing_tasks"].append(task)
            continue
        s = task_split(task, split)
        langs = (without_missing(task, languages[task], s) if languages and task in languages
                 else official_languages(task, benchmark, s))
        if not langs:  # a language subset that leaves this task nothing: as if it were absent
            info["missing_tasks"].append(task)
            continue
        detailed[task] = score_task(task, pred_dir, label_dir, s, langs, info["notes"])
        info["scored"][task] = {"split": s, "languages": list(langs)}
    overall = {}
    if not info["missing_tasks"]:
        overall["all_task"] = sum(detailed[t]["avg_metric"] for t in detailed) / len(detailed)
    for group, members in tasks.BENCHMARK_GROUPS[benchmark].items():
        if all(t in detailed for t in members):
            overall[group] = sum(detailed[t]["avg_metric"] for t in members) / len(members)
    return {**overall, **detailed}, info


def score_folder(predictions: Path, labels: Path, benchmark: str, split: str, profile: str,
                 languages: list[str] | None) -> tuple[dict, dict]:
    """`xstilts score --predictions ... --labels ...`: evaluate.py's output for one folder."""
    if profile not in tasks.PROFILES:
        raise ScoreError(f"unknown profile '{profile}'; valid: {', '.join(tasks.PROFILES)}")
    if benchmark not in tasks.BENCHMARKS:
        raise ScoreError(f"unknown benchmark '{benchmark}'; valid: {', '.join(tasks.BENCHMARKS)}")
    per_task = None
    if profile != "paper" or languages:
        known = tasks.languages_of(profile)
        unknown = [l for l in languages or () if l not in known]
        if unknown:
            raise ScoreError(f"unknown language(s) {', '.join(unknown)} for profile {profile}; "
                             f"valid: {', '.join(known)}")
        per_task = {t: tasks.target_languages(t, profile, benchmark, languages)
                    for t in tasks.BENCHMARK_TARGETS[benchmark]}
    return evaluate(Path(predictions), Path(labels), benchmark, split, per_task)
