"""Prediction with a trained task model: one prediction per row, decoded by the task's kind."""
from __future__ import annotations

import torch


def predict(model, rows: list[dict], tokenizer, hp, labels=(), batch_size: int = 128, no_answer: bool = False) -> list:
    """One prediction per row: a label name, a choice index, a list of tag names, or an answer
    string ('' = no answer, only when the task has unanswerable questions)."""
    kind = model.kind
    feats = kind.featurize(rows, tokenizer, hp, labels)
    batch_size = kind.eval_batch_size(batch_size, feats)
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(feats), batch_size):
            batch = kind.collate(feats[i:i + batch_size], tokenizer.pad_token_id)
            _, out = model(batch["input_ids"], batch["attention_mask"], n_choices=batch.get("n_choices"))
            outs.extend(kind.batch_outputs(out))
    model.train()
    return kind.decode(feats, rows, outs, labels, no_answer)
