"""The training loop, for every training stage and every trainable task kind.

The whole loop is visible in `train`: AdamW, linear warmup then linear decay, gradient clipping,
early stopping on the first N dev examples (the paper's protocol: N = 500), best weights restored.
Seeded: the same params and seed give the same numbers on CPU.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

import torch

from xstilts.train.predict import predict
from xstilts.train.sampling import draw_member, sampling_weights


def setup(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


# --- training ---------------------------------------------------------------------------------
@dataclass
class Member:
    """One task of a (possibly multi-task) run: its own head over the shared encoder."""
    name: str
    model: torch.nn.Module  # TaskModel (its kind: xstilts/kinds); every member's model holds the same encoder object
    train_rows: list[dict]
    dev_rows: list[dict]    # empty for MLM: it takes no part in early stopping
    hp: object              # config.TaskHparams
    labels: tuple = ()
    no_answer: bool = False

    @property
    def kind(self):
        return self.model.kind


def _batches(n: int, batch_size: int, gen: torch.Generator):
    """Endless epochs of shuffled index batches (the last batch of an epoch may be short)."""
    while True:
        order = torch.randperm(n, generator=gen).tolist()
        for i in range(0, n, batch_size):
            yield order[i:i + batch_size]


def train(model, train_rows: list[dict], dev_rows: list[dict], tokenizer, tp, hp,
          seed: int, labels=(), no_answer: bool = False, curve: list | None = None) -> list[dict]:
    """Single-task training: `train_members` with one member."""
    return train_members([Member("task", model, train_rows, dev_rows, hp, tuple(labels), no_answer)],
                         tokenizer, tp, seed, curve=curve)


def train_members(members: list[Member], tokenizer, tp, seed: int, sampler: str = "proportional",
                  examples_cap: int = 2 ** 17, temperature: float = 1.0, mlm_probability: float = 0.15,
                  lr: float | None = None, curve: list | None = None) -> list[dict]:
    """Train in place; restore the weights with the best early-stopping dev score. Returns the log
    (one row per evaluation); `curve`, when given, receives the mean training loss of every
    `tp.log_every` steps (the loss curve of reports/curves).

    Each optimizer step draws one member (`sampling_weights`) and takes one batch of it; with one
    member this is plain single-task training. The early-stopping score is the mean over members
    of their dev metric on the first `early_stopping_examples` dev rows (MLM has none). The number
    of steps is what the supervised members need for their epochs (a task's examples capped at K),
    scaled up by MLM's share of the draws so the supervised tasks still get their epochs."""
    feats = {m.name: m.kind.featurize(m.train_rows, tokenizer, m.hp, m.labels) for m in members}
    dev = {m.name: m.dev_rows[:tp.early_stopping_examples] for m in members if m.dev_rows}
    if not dev:
        raise ValueError("no member has dev data for early stopping")
    probs = sampling_weights({m.name: len(feats[m.name]) for m in members}, sampler, examples_cap, temperature)
    supervised = [m for m in members if m.kind.supervised]
    total = sum(math.ceil(min(len(feats[m.name]), examples_cap) / m.hp.batch_size) * m.hp.epochs for m in supervised)
    total = max(1, int(total / max(1e-9, sum(probs[m.name] for m in supervised))))
    warmup = int(tp.warmup_ratio * total)

    params = {}  # the encoder is shared: every parameter once
    for m in members:
        for n, p in m.model.named_parameters():
            params.setdefault(id(p), (f"{m.name}.{n}", p))
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in params.values() if not any(k in n for k in no_decay)], "weight_decay": tp.weight_decay},
        {"params": [p for n, p in params.values() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr if lr is not None else tp.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    streams = {m.name: _batches(len(feats[m.name]), m.hp.batch_size,
                                torch.Generator().manual_seed(seed + i)) for i, m in enumerate(members)}
    draw = random.Random(seed)  # which member each step trains (unused with one member)
    mlm_state = {"generator": torch.Generator().manual_seed(seed + 7919), "probability": mlm_probability}
    by_name = {m.name: m for m in members}

    def snapshot():
        return [p.detach().clone() for _, p in params.values()]

    log, running, best, bad, step, t0 = [], [], (-math.inf, None, 0), 0, 0, time.time()
    since_log = []  # losses since the last loss-curve point
    drawn = {m.name: 0 for m in members}
    for m in members:
        m.model.train()
    while step < total:
        name = draw_member(draw, probs)
        m = by_name[name]
        drawn[name] += 1
        batch = m.kind.collate([feats[name][k] for k in next(streams[name])], tokenizer.pad_token_id)
        batch = m.kind.train_batch(batch, tokenizer, mlm_state)
        loss, _ = m.model(**batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params.values()], tp.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad()
        running.append(loss.item())
        since_log.append(running[-1])
        step += 1
        if curve is not None and (step % tp.log_every == 0 or step == total):
            curve.append({"step": step, "loss": sum(since_log) / len(since_log)})
            since_log = []
        if step % tp.eval_every == 0 or step == total:
            scores = {}
            for n, rows in dev.items():
                d = by_name[n]
                preds = predict(d.model, rows, tokenizer, d.hp, d.labels, tp.eval_batch_size, d.no_answer)
                scores[n] = d.kind.dev_score(rows, preds, d.no_answer)
            score = sum(scores.values()) / len(scores)
            row = {"step": step, "loss": sum(running) / len(running), "dev_score": score,
                   "seconds": round(time.time() - t0, 1)}
            if len(members) > 1:
                row.update(dev_scores=scores, steps_per_task=dict(drawn))
            log.append(row)
            running = []
            if score > best[0]:
                best, bad = (score, snapshot(), step), 0
            else:
                bad += 1
            if bad >= tp.patience:
                break
    if best[1] is not None:
        with torch.no_grad():
            for (_, p), saved in zip(params.values(), best[1]):
                p.copy_(saved)
    for row in log:
        row["best"] = row["step"] == best[2]
    return log
