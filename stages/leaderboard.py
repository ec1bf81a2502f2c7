"""The leaderboard layout: where and how predictions and gold labels are written, and how they are read.

    <folder>/<task>/<split>-<lang>.<suffix>      (evaluate.py reads split `test`)

suffix json for QA and ranking (Mewsli-X, LAReQA), jsonl for multiple choice (XCOPA), tsv for the
rest. File formats, as google-research/xtreme's evaluate.py reads them:
    classification   one label per line (XNLI: entailment/neutral/contradiction; PAWS-X: 0/1)
    multiple choice  one JSON object per line with an integer "label"
    tagging          one tag per line, a blank line after each sentence (UD-POS, PAN-X)
    mining           one "<xx-id>\t<en-id>" pair per line (BUCC: gold pairs / extracted pairs)
    bitext           one line per query: the index of its (gold / predicted) match (Tatoeba)
    qa               labels: SQuAD v1.1 JSON; predictions: {question id: answer text}
    ranking          labels: {query id: [relevant ids]}; predictions: {query id: [ids, best first]}
prepare writes the labels (data/labels), finetune and retrieve the predictions
(data/predictions/<arm>), stages/xtreme_scorer.py reads both. Kept apart from the scorer so that a
change to scoring reruns only the score stage.
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import tasks


TOP_K = 20  # ranking predictions hold the top 20 (mAP@20)


class LayoutError(ValueError):
    """A file or task the layout cannot hold or read; the message names it."""


def kind(task: str) -> str:
    """What a target's files hold: its task type, or for retrieval its kind (bitext/mining/ranking)."""
    if task not in tasks.TARGETS:
        raise LayoutError(f"unknown target '{task}'; valid: {', '.join(tasks.TARGETS)}")
    return tasks.TARGETS[task].retrieval or tasks.TARGETS[task].type


def suffix(task: str) -> str:
    return {"qa": "json", "ranking": "json", "multiple_choice": "jsonl"}.get(kind(task), "tsv")


# --- readers (the same for predictions and labels, as evaluate.py) ------------------------------
def read_lines(path: Path) -> list[str]:
    """One entry per line, stripped; blank lines are entries (they are examples in evaluate.py)."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def read_tags(path: Path) -> list[list[str]]:
    """Sentences of tags: a blank line closes a sentence (even an empty one), as evaluate.py's read_tag."""
    sentences, current = [], []
    for line in read_lines(path):
        if line:
            current.append(line)
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def read_json(path: Path):
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    return obj["data"] if isinstance(obj, dict) and "data" in obj else obj  # SQuAD files wrap theirs


def read_jsonl_labels(path: Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["label"] for line in f]


def squad_answers(data: list[dict]) -> dict[str, list[str]]:
    return {qa["id"]: [a["text"] for a in qa["answers"]]
            for article in data for paragraph in article["paragraphs"] for qa in paragraph["qas"]}


# --- writers: the pipeline's gold labels (prepare) and predictions (finetune, retrieve) -----------
def _dump(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _queries(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind", "query") == "query"]


def write_labels(task: str, path_stem: Path, rows: list[dict]) -> Path:
    """One split-language's gold labels from prepared rows, in the official format."""
    k, path = kind(task), path_stem.with_suffix(f".{suffix(task)}")
    if k == "classification":
        text = "".join(f"{r['label']}\n" for r in rows)
    elif k == "multiple_choice":
        text = "".join(json.dumps({"id": r["id"], "label": r["label"]}) + "\n" for r in rows)
    elif k == "tagging":
        text = "".join("".join(f"{t}\n" for t in r["tags"]) + "\n" for r in rows)
    elif k == "qa":
        paragraphs = {}
        for r in rows:  # questions on the same context share a paragraph, as in the source files
            paragraphs.setdefault(r["context"], []).append(
                {"id": r["id"], "question": r["question"], "answers": r["answers"]})
        text = json.dumps({"data": [{"title": "", "paragraphs": [{"context": c, "qas": q}
                                                                 for c, q in paragraphs.items()]}],
                           "version": "1.1"}, ensure_ascii=False)
    elif k == "bitext":
        text = "".join(f"{q['relevant'][0]}\n" for q in _queries(rows))
    elif k == "mining":
        text = "".join(f"{q['id']}\t{t}\n" for q in _queries(rows) for t in q["relevant"])
    elif k == "ranking":
        text = json.dumps({q["id"]: list(q["relevant"]) for q in _queries(rows)}, ensure_ascii=False)
    else:
        raise LayoutError(f"no label format for task kind '{k}' ({task})")
    _dump(path, text)
    return path


def write_predictions(task: str, path_stem: Path, rows: list[dict], preds) -> Path:
    """One split-language's predictions in the official format. `preds`: one per row (classification
    label, choice index, tag list, answer text), per query (bitext: candidate index; ranking: ranked
    ids), or for mining the set of extracted (source id, English id) pairs."""
    k, path = kind(task), path_stem.with_suffix(f".{suffix(task)}")
    if k in ("classification", "bitext"):
        text = "".join(f"{p}\n" for p in preds)
    elif k == "multiple_choice":
        text = "".join(json.dumps({"label": int(p)}) + "\n" for p in preds)
    elif k == "tagging":
        text = "".join("".join(f"{t}\n" for t in tags) + "\n" for tags in preds)
    elif k == "qa":
        text = json.dumps({r["id"]: p for r, p in zip(rows, preds)}, ensure_ascii=False, indent=0)
    elif k == "mining":
        text = "".join(f"{s}\t{t}\n" for s, t in sorted(preds))
    elif k == "ranking":
        text = json.dumps({q["id"]: list(r) for q, r in zip(_queries(rows), preds)}, ensure_ascii=False)
    else:
        raise LayoutError(f"no prediction format for task kind '{k}' ({task})")
    _dump(path, text)
    return path
