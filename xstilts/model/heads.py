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
    """A shared encoder and one head; the task kind (xstilts/kinds) makes the head, shapes its output
    and computes the loss. `head` is given only for MLM (the pretrained LM head)."""

    def __init__(self, encoder, kind, n_labels: int = 0, head: nn.Module | None = None):
        super().__init__()
        self.encoder = encoder
        self.kind = kind
        self.head = head if head is not None else kind.head(encoder.config.hidden_size, n_labels)

    def forward(self, input_ids, attention_mask, **targets):
        """(loss or None, output). `targets`: the kind's training targets (labels, start/end
        positions) and shape information (n_choices); the loss is computed when targets are given."""
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = self.kind.output(self.head(h), targets)
        has_targets = any(k != "n_choices" and v is not None for k, v in targets.items())
        return (self.kind.loss(out, targets) if has_targets else None), out
