"""Prediction with a trained task model: one prediction per row, decoded by the task's kind.

On the model's device, under `torch.inference_mode` and the accelerator's autocast; batches of
features sorted by length (little padding); under DDP each process predicts every P-th batch and
the outputs are gathered, so every process decodes the same complete list (no padded duplicates).
"""
from __future__ import annotations

import contextlib

import torch

from xstilts.train.progress import Progress


def _float(out):
    return tuple(_float(t) for t in out) if isinstance(out, (tuple, list)) else out.float()


def predict(model, rows: list[dict], tokenizer, hp, labels=(), batch_size: int = 128, no_answer: bool = False,
            task: str = "task", feats: list[dict] | None = None, acc=None, label: str | None = None,
            progress_every: float = 60.0) -> list:
    """One prediction per row: a label name, a choice index, a list of tag names, or an answer
    string ('' = no answer, only when the task has unanswerable questions). `model` is a TaskModel
    (not DDP-wrapped); `task` names its head; `feats`, when given, are `rows` already featurized;
    `label`, when given, names the progress lines (every `progress_every` seconds)."""
    kind = model.kinds[task]
    if feats is None:
        feats = kind.featurize(rows, tokenizer, hp, labels)
    if not feats:
        return kind.decode(feats, rows, [], labels, no_answer)
    batch_size = kind.eval_batch_size(batch_size, feats)
    device = next(model.parameters()).device
    processes, rank = (acc.num_processes, acc.process_index) if acc is not None else (1, 0)
    order = sorted(range(len(feats)), key=lambda i: -len(feats[i].get("input_ids") or feats[i]["choice_ids"][0]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    mine = []
    shown = Progress(label, len(batches), progress_every, enabled=label is not None and rank == 0, unit="batch",
                     final=False)
    was_training = model.training
    model.eval()
    autocast = acc.autocast() if acc is not None else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for k, b in enumerate(batches[rank::processes]):
            batch = kind.collate([feats[i] for i in b], tokenizer.pad_token_id)
            _, out = model(task, batch["input_ids"].to(device), batch["attention_mask"].to(device),
                           n_choices=batch.get("n_choices"))
            mine.extend(zip(b, kind.batch_outputs(_float(out))))
            shown.update(min(len(batches), (k + 1) * processes), tokens=int(batch["attention_mask"].sum()) * processes)
    shown.close()
    model.train(was_training)
    if processes > 1:
        from accelerate.utils import gather_object
        mine = gather_object(mine)
    outs = [None] * len(feats)
    for i, o in mine:
        outs[i] = o
    return kind.decode(feats, rows, outs, labels, no_answer)
