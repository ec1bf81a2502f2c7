"""What every task kind provides, and the file readers the kinds share.

A kind (xstilts/kinds/<kind>.py) owns everything that differs between task types: how rows become
model inputs (featurize, collate), its head and loss, how outputs become predictions (decode), the
early-stopping dev score, how its rows are translated, its leaderboard files (gold labels and
predictions, in the format google-research/xtreme's evaluate.py reads) and how one language file is
scored. The training loop, the stages and the scorer call these methods and never ask which kind
they hold. Modules here import torch only inside the methods that compute on tensors, so the cheap
stages (prepare, score) load no torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class LayoutError(ValueError):
    """A file or task the leaderboard layout cannot hold or read; the message names it."""


class ScoreError(LayoutError):
    """Predictions or labels that cannot be scored; the message names the file and what is wrong."""


class Kind:
    name: str = ""
    suffix: str = "tsv"        # leaderboard files: <split>-<lang>.<suffix>
    supervised: bool = True    # MLM: trained on, but no dev score and no epochs of its own
    main_metric: str = ""      # the metric whose average is the task's avg_metric

    # --- training and prediction (torch) --------------------------------------------------------
    def featurize(self, rows: list[dict], tokenizer, hp, labels=()) -> list[dict]:
        raise NotImplementedError(f"{self.name}: no featurization")

    def collate(self, feats: list[dict], pad_id: int) -> dict:
        """Pad `input_ids` into a batch; copy the targets the kind's features carry."""
        import torch
        batch = pad([f["input_ids"] for f in feats], pad_id)
        if "labels" in feats[0]:
            batch["labels"] = torch.tensor([f["labels"] for f in feats])
        return batch

    def head(self, hidden: int, n_labels: int):
        raise NotImplementedError(f"{self.name}: no trainable head")

    def output(self, head_out, batch_shape: dict):
        """The head's output as the kind reads it (multiple choice: one row per example; QA: padding
        masked). batch_shape: the targets, n_choices and the attention mask."""
        return head_out

    def loss(self, out, targets: dict):
        raise NotImplementedError

    def prepare_train(self, feats: list[dict], tokenizer, state: dict) -> list[dict]:
        """The features of one training batch just before the step (MLM masks them here, the whole
        batch before it is split, so micro-batching and processes never change which tokens are masked)."""
        return feats

    def loss_units(self, feats: list[dict]) -> int:
        """What the kind's loss averages over, in these features: rows (sequence-level kinds) or
        labelled tokens (tagging, MLM). Micro-batches are weighted by it, so that accumulating them
        gives exactly the whole batch's loss and gradients."""
        return len(feats)

    def eval_batch_size(self, batch_size: int, feats: list[dict]) -> int:
        return batch_size

    def batch_outputs(self, out) -> list:
        """One entry per feature of a prediction batch."""
        return out.argmax(-1).tolist()

    def decode(self, feats: list[dict], rows: list[dict], outs: list, labels, no_answer: bool) -> list:
        raise NotImplementedError

    def dev_score(self, rows: list[dict], preds: list, no_answer: bool = False) -> float:
        raise NotImplementedError

    # --- data --------------------------------------------------------------------------------
    def translate(self, rows: list[dict], lang: str, engine) -> tuple[list[dict], dict]:
        raise ValueError(f"cannot translate rows of task kind '{self.name}'")

    # --- the leaderboard layout ----------------------------------------------------------------
    def labels_text(self, rows: list[dict]) -> str:
        raise LayoutError(f"no label format for task kind '{self.name}'")

    def predictions_text(self, rows: list[dict], preds) -> str:
        raise LayoutError(f"no prediction format for task kind '{self.name}'")

    def score(self, task, pred_path: Path, label_path: Path, lang: str) -> dict[str, float]:
        """Every metric of one language file, 0-100, in evaluate.py's key order."""
        raise ScoreError(f"no scorer for task kind '{self.name}' ({task.name})")

    def avg_metric(self, averages: dict) -> float:
        return averages[f"avg_{self.main_metric}"]


PAD_MULTIPLE = 8   # tensor cores want widths in multiples of 8 (dynamic padding, per batch)


def pad(sequences: list[list[int]], pad_id: int) -> dict:
    import torch
    width = -(-max(len(s) for s in sequences) // PAD_MULTIPLE) * PAD_MULTIPLE
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return {"input_ids": ids, "attention_mask": mask}


@dataclass
class RetrievalRun:
    """What a retrieval kind needs from the retrieve stage: the evaluation files, an embedder, and
    where each split-language's predictions go."""
    sets: list[tuple[str, str]]                         # (split, lang) evaluation files present
    languages: list[str]
    rows: Callable[[str, str], list[dict]]              # (split, lang) -> prepared rows
    pool: Callable[[str], list[dict]]                   # split -> the shared candidate pool
    vectors: Callable[[list[dict]], object]             # rows -> embeddings of their `text`
    write: Callable[[str, str, list[dict], object], None]   # (split, lang, query rows, predictions)
    log: dict


def labelled_tokens(feats: list[dict]) -> int:
    return sum(sum(1 for t in f["labels"] if t != -100) for f in feats)


def pad_labels(feats: list[dict], shape) -> "object":
    """Token labels padded with -100 (ignored by the loss) to the batch's shape."""
    import torch
    labels = torch.full(shape, -100, dtype=torch.long)
    for i, f in enumerate(feats):
        labels[i, :len(f["labels"])] = torch.tensor(f["labels"])
    return labels


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    return [r for r in rows if r["kind"] == "query"], [r for r in rows if r["kind"] == "candidate"]


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


def queries(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind", "query") == "query"]


def same_count(pred, gold, pred_path: Path, label_path: Path, unit: str) -> None:
    if len(pred) != len(gold):
        raise ScoreError(f"{pred_path} has {len(pred)} {unit}, {label_path} has {len(gold)}")
    if not gold:
        raise ScoreError(f"{label_path} is empty")


def lines_text(values) -> str:
    """One value per line: classification labels, Tatoeba match indices."""
    return "".join(f"{v}\n" for v in values)


def score_lines(pred_path: Path, label_path: Path) -> dict:
    """Accuracy of one-value-per-line files, as evaluate.py scores classification and Tatoeba."""
    pred, gold = read_lines(pred_path), read_lines(label_path)
    same_count(pred, gold, pred_path, label_path, "lines")
    return accuracy(pred, gold)


def accuracy(pred: list, gold: list) -> dict:
    correct = sum(p == g for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}  # evaluate.py's operation order, to the last bit
