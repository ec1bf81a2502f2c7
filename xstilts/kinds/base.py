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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xstilts.core.errors import XstiltsError


class LayoutError(ValueError):
    """A file or task the leaderboard layout cannot hold or read; the message names it."""


class ScoreError(LayoutError, XstiltsError):
    """Predictions or labels that cannot be scored; the message names the file and what is wrong.
    An XstiltsError, so the score stage and the command print its one line, no traceback."""
    exit_code = 2  # what `xstilts score` has always exited with on it


class FileFormatError(ScoreError):
    """A prediction or label file its kind cannot read: the message names the file, where in it
    (line, byte offset or question id), what was expected there and what was found."""

    def __init__(self, path, where: str, expected: str, found: str, message: str | None = None):
        self.path, self.where, self.expected, self.found = Path(path), where, expected, found
        super().__init__(message or f"{path}: {where}: expected {expected}, found {found}")


class Scores(dict):
    """One language file's metrics (a dict, as Kind.score returns) and the notes the scorer reports
    with them: what was scored anyway but a reader should know (QA questions without a prediction)."""

    def __init__(self, metrics: dict, notes: list[str] = ()):
        super().__init__(metrics)
        self.notes = list(notes)


@dataclass
class Examples:
    """One language file's evaluation examples as the paired bootstrap over examples resamples them
    (xstilts/eval/intervals.py): the units drawn (a line, a sentence, a question, a query, a source
    sentence), one row of numbers per unit, and how the column sums over any multiset of units give
    the file's metrics (0-100), each as its scorer computes it on the whole file:
      ("mean", c)        100 * (sum of column c) / (number of units): accuracy, QA EM and F1, mAP@20
      ("f1", c, p, g)    100 * 2 * correct / (predicted + gold), 0 when both are 0: micro F1 of counts"""
    ids: list
    rows: list[tuple[float, ...]]
    metrics: dict[str, tuple]


def accuracy_examples(pred: list, gold: list) -> Examples:
    """One unit per line: 1 when the prediction is the gold value."""
    return Examples(list(range(len(gold))), [(float(p == g),) for p, g in zip(pred, gold)],
                    {"accuracy": ("mean", 0)})


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
        """Every metric of one language file, 0-100, in evaluate.py's key order; a `Scores` where
        the scorer should report notes with them. A file that cannot be read raises FileFormatError."""
        raise ScoreError(f"no scorer for task kind '{self.name}' ({task.name})")

    def examples(self, task, pred_path: Path, label_path: Path, lang: str) -> Examples | None:
        """One language file's examples for the bootstrap interval of its metrics (files `score` has
        already read and checked); None: the kind has no such decomposition, and no interval."""
        return None

    def avg_metric(self, averages: dict) -> float:
        """The task's avg_metric from its per-metric language averages (numbers, or numpy arrays of
        bootstrap replicates: xstilts/eval/intervals.py)."""
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


def pad_labels(feats: list[dict], shape) -> object:
    """Token labels padded with -100 (ignored by the loss) to the batch's shape."""
    import torch
    labels = torch.full(shape, -100, dtype=torch.long)
    for i, f in enumerate(feats):
        labels[i, :len(f["labels"])] = torch.tensor(f["labels"])
    return labels


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    return [r for r in rows if r["kind"] == "query"], [r for r in rows if r["kind"] == "candidate"]


# --- readers (the same for predictions and labels, as evaluate.py) ------------------------------
# Each reads what evaluate.py reads, value for value; where evaluate.py would crash, or silently
# score a file it misread, they raise FileFormatError naming the file and the line (or question id).
TAB = "\t"


def read_text(path: Path) -> str:
    """The file's text as evaluate.py's open() reads it: UTF-8, universal newlines."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise not_utf8(path) from None


def not_utf8(path: Path) -> FileFormatError:
    # open() decodes in chunks, so its error's offset is within a chunk: decode the whole file again
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return FileFormatError(path, f"line {line} (byte offset {e.start})", "UTF-8 text",
                               f"the byte 0x{data[e.start]:02x} (save the file as UTF-8)")
    return FileFormatError(path, "somewhere", "UTF-8 text", "bytes that are not")


def raw_lines(path: Path) -> list[str]:
    """The file's lines as iterating over it gives them, without their line ends."""
    lines = read_text(path).split("\n")
    if lines[-1] == "":  # the line end of the last line opens no line of its own
        lines.pop()
    return lines


def read_lines(path: Path) -> list[str]:
    """One entry per line, stripped; blank lines are entries (they are examples in evaluate.py)."""
    return [line.strip() for line in raw_lines(path)]


def shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def found_line(value: str) -> str:
    return "an empty line" if value == "" else repr(shorten(value))


def describe(value) -> str:
    """A JSON value as a message names it, in JSON's spelling."""
    text = shorten(json.dumps(value, ensure_ascii=False))
    return f"an object {text}" if isinstance(value, dict) else f"a list {text}" if isinstance(value, list) else text


def read_values(path: Path, what: str) -> list[str]:
    """One value per line (classification labels, Tatoeba indices). A tab means the line holds more
    than the value (a score, an id): evaluate.py would compare the whole line and count it wrong."""
    values = read_lines(path)
    for n, value in enumerate(values, 1):
        if TAB in value:
            raise FileFormatError(path, f"line {n}", f"one column ({what})",
                                  f"{value.count(TAB) + 1} tab-separated columns: {found_line(value)}")
    return values


def check_values(path: Path, values: list[str], valid, expected: str, lines=None) -> None:
    """Every value passes `valid`, or the first that does not is named with its line (`lines`: each
    value's line, where they are not one a line from line 1)."""
    for n, value in zip(lines or range(1, len(values) + 1), values):
        if not valid(value):
            raise FileFormatError(path, f"line {n}", expected, found_line(value))


def label_set(task, gold) -> tuple[str, ...]:
    """The labels a prediction may name: the task's, and any other its gold file holds (a folder
    scored as another task's still compares label to label). Empty: the task lists none (CCG reads
    its labels from the data), so none is checked."""
    listed = tuple(task.labels or ())
    return listed + tuple(dict.fromkeys(g for g in gold if g not in listed)) if listed else ()


def check_labels(path: Path, task, values: list[str], gold, lines=None) -> None:
    valid = label_set(task, gold)
    if valid:
        check_values(path, values, set(valid).__contains__, f"one of {task.name}'s labels ({', '.join(valid)})",
                     lines)


def read_tagged(path: Path) -> list[tuple[int, list[str]]]:
    """Sentences of tags, each with the line it starts on: a blank line closes a sentence (even an
    empty one, which starts on that blank line), as evaluate.py's read_tag."""
    sentences, current, start = [], [], 1
    for n, line in enumerate(read_values(path, "a tag"), 1):
        if line:
            start = start if current else n
            current.append(line)
        else:
            sentences.append((start if current else n, current))
            current = []
    if current:
        sentences.append((start, current))
    return sentences


def read_json(path: Path):
    text = read_text(path)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise invalid_json(path, e, e.lineno, "the end of the file") from None
    return obj["data"] if isinstance(obj, dict) and "data" in obj else obj  # SQuAD files wrap theirs


def invalid_json(path: Path, e: json.JSONDecodeError, line: int, end: str) -> FileFormatError:
    """`line`: the file's line (a JSONL line is parsed on its own); `end`: what an empty rest is."""
    after = e.doc[e.pos:]
    return FileFormatError(path, f"line {line} column {e.colno}", f"JSON ({e.msg})",
                           repr(shorten(after, 30)) if after.strip() else end)


def read_jsonl_labels(path: Path) -> list[int]:
    """The "label" of each line's object: a choice index (an int; true, 1.0 or "1" would compare
    differently from the gold's index)."""
    labels = []
    for n, line in enumerate(raw_lines(path), 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise invalid_json(path, e, n, "the end of the line") from None
        if not isinstance(obj, dict) or "label" not in obj:
            raise FileFormatError(path, f"line {n}", 'a JSON object with a "label"', describe(obj))
        label = obj["label"]
        if not isinstance(label, int) or isinstance(label, bool):
            raise FileFormatError(path, f"line {n}", 'a choice index (an integer) under "label"', describe(label))
        labels.append(label)
    return labels


def json_object(path: Path, obj, expected: str) -> dict:
    if not isinstance(obj, dict):
        raise FileFormatError(path, "the top level", expected, describe(obj))
    return obj


SQUAD = 'SQuAD v1.1 JSON ({"data": [{"paragraphs": [{"qas": [{"id", "answers": [{"text"}]}]}]}]})'


def squad_answers(data, path: Path) -> dict[str, list[str]]:
    """{question id: gold answer texts} of a SQuAD v1.1 file's `data`."""
    gold = {}
    for a, article in enumerate(squad_list(data, None, path, "the top level"), 1):
        for p, paragraph in enumerate(squad_list(article, "paragraphs", path, f"article {a}"), 1):
            for q, qa in enumerate(squad_list(paragraph, "qas", path, f"article {a} paragraph {p}"), 1):
                qid = qa.get("id") if isinstance(qa, dict) else None
                if not isinstance(qid, str):
                    raise FileFormatError(path, f"article {a} paragraph {p} question {q}",
                                          f'a question id (a string) under "id" of {SQUAD}', squad_found(qa, "id"))
                texts = []
                for answer in squad_list(qa, "answers", path, f"question '{qid}'"):
                    if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
                        raise FileFormatError(path, f"question '{qid}'", 'answers with a "text" (a string)',
                                              squad_found(answer, "text"))
                    texts.append(answer["text"])
                gold[qid] = texts
    return gold


def squad_list(obj, key: str | None, path: Path, where: str) -> list:
    value = obj if key is None else obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, list):
        raise FileFormatError(path, where, SQUAD if key is None else f'a list under "{key}" of {SQUAD}',
                              squad_found(obj, key))
    return value


def squad_found(obj, key: str | None) -> str:
    if key is None or not isinstance(obj, dict):
        return describe(obj)
    return describe(obj[key]) if key in obj else f'no "{key}" in {describe(obj)}'


def queries(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind", "query") == "query"]


def same_count(pred, gold, pred_path: Path, label_path: Path, unit: str, starts=None) -> None:
    """One prediction per gold entry. `starts`: (pred, gold) lists of the line each entry starts
    on, where an entry is not one line (a tag file's sentences)."""
    if len(pred) != len(gold):
        one = unit[:-1]
        first = min(len(pred), len(gold))  # the first entry without a counterpart
        path = pred_path if len(pred) > len(gold) else label_path
        line = (starts[0] if path == pred_path else starts[1])[first] if starts else first + 1
        at = f"{one} {first + 1} of {path} (line {line})" if starts else f"line {line} of {path}"
        lacks = "has no gold counterpart" if path == pred_path else "has no prediction"
        raise FileFormatError(pred_path, at, f"{len(gold)} {unit}, one per gold {one}", f"{len(pred)}",
                              f"{pred_path} has {len(pred)} {unit}, {label_path} has {len(gold)}: "
                              f"expected one {one} per gold {one}; {at} {lacks}")
    if not gold:
        raise FileFormatError(label_path, "line 1", f"at least one {unit[:-1]}", "an empty file",
                              f"{label_path} is empty")


def lines_text(values) -> str:
    """One value per line: classification labels, Tatoeba match indices."""
    return "".join(f"{v}\n" for v in values)


def accuracy(pred: list, gold: list) -> dict:
    correct = sum(p == g for p, g in zip(pred, gold))
    return {"accuracy": correct / len(pred) * 100}  # evaluate.py's operation order, to the last bit


def id_notes(gold: dict, pred: dict, pred_path: Path, label_path: Path, units: tuple[str, str]) -> list[str]:
    """Gold ids without a prediction (each scored 0, as the official scripts do) and
    predicted ids with no gold (ignored): counted, with up to 5 examples, per file. `units`: what an
    id names, singular and plural ("question", "questions")."""
    missing = [q for q in gold if q not in pred]
    extra = [q for q in pred if q not in gold]
    notes = []
    if missing:
        notes.append(f"{pred_path}: {len(missing)} of {len(gold)} {units[len(gold) > 1]} of {label_path} "
                     f"{'has' if len(missing) == 1 else 'have'} no prediction, scored 0 as the official "
                     f"script does: {examples(missing)}")
    if extra:
        notes.append(f"{pred_path}: {len(extra)} predicted {units[len(extra) > 1]} "
                     f"{'are' if len(extra) > 1 else 'is'} not in {label_path}, ignored: {examples(extra)}")
    return notes


def examples(ids: list[str], n: int = 5) -> str:
    shown = ", ".join(repr(shorten(str(i), 40)) for i in ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")
