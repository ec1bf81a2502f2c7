"""The leaderboard layout: where predictions and gold labels are written, and in which format.

    <folder>/<task>/<split>-<lang>.<suffix>      (evaluate.py reads split `test`)

The suffix and the file format are the task kind's (xstilts/kinds: json for QA and ranking, jsonl
for multiple choice, tsv for the rest). prepare writes the labels (data/labels), finetune and
retrieve the predictions (data/predictions/<arm>), xstilts/eval/scorer.py reads both.
"""
from __future__ import annotations

from pathlib import Path

from xstilts import kinds
from xstilts.core import tasks
from xstilts.kinds import LayoutError


def kind(task: str) -> kinds.Kind:
    """A target's kind: what its files hold."""
    if task not in tasks.TARGETS:
        raise LayoutError(f"unknown target '{task}'; valid: {', '.join(tasks.TARGETS)}")
    return kinds.of_task(task)


def suffix(task: str) -> str:
    return kind(task).suffix


def path(root: Path, task: str, split: str, lang: str) -> Path:
    return Path(root) / task / f"{split}-{lang}.{suffix(task)}"


def _dump(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_labels(task: str, path_stem: Path, rows: list[dict]) -> Path:
    """One split-language's gold labels from prepared rows, in the official format."""
    k = kind(task)
    return _dump(path_stem.with_suffix(f".{k.suffix}"), k.labels_text(rows))


def write_predictions(task: str, path_stem: Path, rows: list[dict], preds) -> Path:
    """One split-language's predictions in the official format. `preds`: one per row (classification
    label, choice index, tag list, answer text), per query (bitext: candidate index; ranking: ranked
    ids), or for mining the set of extracted (source id, English id) pairs."""
    k = kind(task)
    return _dump(path_stem.with_suffix(f".{k.suffix}"), k.predictions_text(rows, preds))
