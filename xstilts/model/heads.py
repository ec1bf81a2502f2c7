"""Task heads and the task model: a shared encoder with a fresh head (the paper re-initializes heads
in every phase). What a head computes and its loss are the task kind's (xstilts/kinds)."""
from __future__ import annotations

import torch
from torch import nn


# --- heads ------------------------------------------------------------------------------------
class ClassificationHead(nn.Module):
    """RoBERTa's sentence(-pair) head on the <s> token."""

    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_labels)

    def forward(self, h):
        x = self.dropout(h[:, 0])
        return self.out(self.dropout(torch.tanh(self.dense(x))))


class TaggingHead(nn.Module):
    def __init__(self, hidden: int, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_labels)

    def forward(self, h):
        return self.out(self.dropout(h))


class SpanHead(nn.Module):
    """Start and end logits per token (extractive QA)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.out = nn.Linear(hidden, 2)

    def forward(self, h):
        start, end = self.out(h).unbind(-1)
        return start, end


class TaskModel(nn.Module):
    """One shared encoder and one head per member task (an nn.ModuleDict), as one module: DDP wraps
    it once. A single-task model has one head; multi-task intermediate training has one per task,
    MLM's being the pretrained LM head. The kind (xstilts/kinds) of each head makes it, shapes its
    output and computes the loss; the paper re-initializes heads in every phase."""

    def __init__(self, encoder, heads: dict):
        """heads: member name -> (kind, head module)."""
        super().__init__()
        self.encoder = encoder
        self.kinds = {name: kind for name, (kind, _) in heads.items()}
        self.heads = nn.ModuleDict({name: head for name, (_, head) in heads.items()})

    @classmethod
    def single(cls, encoder, kind, n_labels: int = 0, name: str = "task") -> TaskModel:
        return cls(encoder, {name: (kind, kind.head(encoder.config.hidden_size, n_labels))})

    def forward(self, task: str, input_ids, attention_mask, **targets):
        """(loss or None, output) of member `task`. `targets`: the kind's training targets (labels,
        start/end positions) and shape information (n_choices); the loss needs the targets."""
        kind = self.kinds[task]
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = kind.output(self.heads[task](h), {**targets, "attention_mask": attention_mask})
        has_targets = any(k != "n_choices" and v is not None for k, v in targets.items())
        return (kind.loss(out, targets) if has_targets else None), out
