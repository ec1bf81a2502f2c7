"""The trainer: one loop for every training stage (tiny MLM pretraining, intermediate, target
fine-tuning, translate-train), on HF accelerate (device placement, bf16/fp16 autocast, DDP).

The whole loop is visible in `train`: AdamW (fused), linear warmup then linear decay,
gradient clipping, early stopping on the first N dev examples (the paper's protocol: N = 500) with
the best weights kept in CPU memory and restored at the end. Each optimizer step draws one member
task (one member = plain single-task training) and takes one batch of it: `batch_size` is the
effective batch; it is split over processes and into micro-batches of at most `max_device_batch`
sequences, each weighted by its share of the loss's units, so the sum is the whole batch's loss
and gradient. Every `checkpoint_every` steps, and on SIGTERM, the state is saved to resume from
(xstilts/train/checkpoint.py); a resumed run ends bit-identical to an uninterrupted one on CPU.
Under fp16 loss scaling, a step whose gradients overflow (inf/nan) is skipped by the scaler and
counts for nothing: the step count, the LR schedule, the logs and the resume state stay where they
were, and the next batch takes its place.
"""
from __future__ import annotations

import contextlib
import math
import random
import signal
import time
from dataclasses import dataclass, field

import torch

from xstilts.train.batches import Shuffler, micro_batches
from xstilts.train.predict import predict
from xstilts.train.progress import Progress
from xstilts.train.sampling import draw_member, sampling_weights


@dataclass
class Member:
    """One task of a (possibly multi-task) run: its head in the model is `model.heads[name]`."""
    name: str
    kind: object            # xstilts/kinds
    train_rows: list[dict]
    dev_rows: list[dict]    # empty for MLM: it takes no part in early stopping
    hp: object              # config.TaskHparams
    labels: tuple = ()
    no_answer: bool = False
    train_feats: list[dict] | None = None   # already featurized (tiny pretraining's packed sequences)


@dataclass
class Stats:
    """What a training run cost (goes to the cost log, never into train_log.json)."""
    steps: int = 0
    resumed_from: int = 0
    tokens: int = 0          # real tokens trained on (all processes)
    padded_tokens: int = 0   # with the padding
    seconds: float = 0.0
    step_seconds: list = field(default_factory=list)   # each optimizer step's wall time (benchmarks)
    step_ends: list = field(default_factory=list)      # perf_counter() at each step's end, and
    step_tokens: list = field(default_factory=list)    # its real tokens: a benchmark times steps end to end
    skipped_steps: int = 0   # fp16: steps the loss scaler skipped (inf/nan gradients); not in `steps`


# fp16: this many skipped steps in a row (the loss scale halved each time: 2^16 down to 2^-34) is
# not an overflow the scaler can back off from but a loss or gradient that is not finite at all
MAX_SKIPPED_IN_A_ROW = 50


def _zero(out) -> torch.Tensor:
    """A zero loss connected to the graph (an empty micro-batch still runs backward under DDP)."""
    tensors = out if isinstance(out, (tuple, list)) else (out,)
    return sum(t.float().sum() for t in tensors) * 0.0


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _scale(acc) -> float | None:
    """The fp16 loss scaler's current scale (None without loss scaling: fp32, bf16)."""
    return acc.scaler.get_scale() if acc.scaler is not None and acc.scaler.is_enabled() else None


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def backward_batch(wrapped, acc, task: str, kind, batch_feats: list[dict], pad_id: int,
                   max_device_batch: int | None) -> tuple[torch.Tensor, int, int]:
    """Forward and backward of one batch (the effective batch, every process's share of it):
    this process's micro-batches of at most `max_device_batch` sequences, each loss weighted by its
    share of the batch's loss units (rows, or labelled tokens), so the accumulated gradient is the
    whole batch's. Gradients are synchronized across processes on the last micro-batch only.
    Returns this process's part of the batch's loss and the real and padded tokens it processed."""
    P = acc.num_processes
    units = kind.loss_units(batch_feats)
    rows_per_micro = kind.eval_batch_size(max_device_batch, batch_feats) if max_device_batch else None
    parts = micro_batches(len(batch_feats), P, acc.process_index, rows_per_micro)
    step_loss, tokens, padded = torch.zeros((), device=acc.device), 0, 0
    for j, part in enumerate(parts):
        part_feats = [batch_feats[k] for k in part]
        part_units = kind.loss_units(part_feats) if part_feats else 0
        batch = _to(kind.collate(part_feats or batch_feats[:1], pad_id), acc.device)
        sync = contextlib.nullcontext() if j == len(parts) - 1 else acc.no_sync(wrapped)
        with sync:
            loss, out = wrapped(task, **batch)
            if part_units and units:
                weight = part_units / units
                acc.backward(loss * (weight * P))  # DDP averages the processes' gradients: undo it
                step_loss += loss.detach().float() * weight
                tokens += int(batch["attention_mask"].sum())
                padded += batch["attention_mask"].numel()
            else:  # nothing of the batch here: a zero loss, so that DDP's backward passes still match
                acc.backward(_zero(out))
    return step_loss, tokens, padded


def train(model, members: list[Member], tokenizer, tp, seed: int, acc, rt, *, sampler: str = "proportional",
          examples_cap: int = 2 ** 17, temperature: float = 1.0, mlm_probability: float = 0.15,
          lr: float | None = None, total_steps: int | None = None, checkpoint=None, label: str = "train",
          curve: list | None = None) -> tuple[list[dict], Stats]:
    """Train `model` (a TaskModel with one head per member) in place; restore the weights with the
    best early-stopping dev score (or keep the last ones when no member has dev data). Returns the
    log (one row per evaluation) and what the run cost. `curve`, when given, receives the mean
    training loss of every `tp.log_every` steps. The number of steps is what the supervised members
    need for their epochs (a task's examples capped at K), scaled up by the unsupervised members'
    share of the draws; `total_steps` overrides it (pretraining)."""
    t0, main = time.time(), acc.is_main_process
    P, rank = acc.num_processes, acc.process_index
    feats = {m.name: m.train_feats if m.train_feats is not None
             else m.kind.featurize(m.train_rows, tokenizer, m.hp, m.labels) for m in members}
    dev_rows = {m.name: m.dev_rows[:tp.early_stopping_examples] for m in members if m.dev_rows}
    dev_feats = {n: by.kind.featurize(rows, tokenizer, by.hp, by.labels)   # once, not at every evaluation
                 for n, rows in dev_rows.items() for by in members if by.name == n}
    probs = sampling_weights({m.name: len(feats[m.name]) for m in members}, sampler, examples_cap, temperature)
    supervised = [m for m in members if m.kind.supervised]
    if total_steps is None:
        total = sum(math.ceil(min(len(feats[m.name]), examples_cap) / m.hp.batch_size) * m.hp.epochs
                    for m in supervised)
        total = max(1, int(total / max(1e-9, sum(probs[m.name] for m in supervised))))
    else:
        total = total_steps
    warmup = int(tp.warmup_ratio * total)

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    named = list(model.named_parameters())  # each parameter once (the MLM decoder is tied to the embeddings)
    groups = [{"params": [p for n, p in named if not any(k in n for k in no_decay)], "weight_decay": tp.weight_decay},
              {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0}]
    # fused AdamW, on CUDA and on CPU: on CPU it is 5x the default's speed for XLM-R's 250k x 768
    # embedding (0.23 s a step against 1.23 s, measured), which dominates small batches
    opt = torch.optim.AdamW(groups, lr=lr if lr is not None else tp.lr, fused=True)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    wrapped, opt = acc.prepare(model, opt)

    streams = {m.name: Shuffler([len(f.get("input_ids") or f["choice_ids"][0]) for f in feats[m.name]],
                                m.hp.batch_size, seed + i, tp.group_by_length) for i, m in enumerate(members)}
    draw = random.Random(seed)  # which member each step trains (unused with one member)
    mlm_state = {"generator": torch.Generator().manual_seed(seed + 7919), "probability": mlm_probability}
    by_name = {m.name: m for m in members}
    s = {"step": 0, "log": [], "curve": [], "running": [], "since_log": [], "drawn": {m.name: 0 for m in members},
         "best_score": -math.inf, "best_step": 0, "bad": 0, "best_weights": None}

    def save() -> None:
        state = None
        if main:
            state = {**s, "model": {k: v.detach().cpu() for k, v in acc.unwrap_model(wrapped).state_dict().items()},
                     "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "scaler": acc.scaler.state_dict() if acc.scaler is not None else None,
                     "draw": draw.getstate(), "mlm": mlm_state["generator"].get_state(),
                     "streams": {n: st.state() for n, st in streams.items()}}
        checkpoint.save(state, rank, _rng_state())
        acc.wait_for_everyone()

    stats = Stats()
    resumed = checkpoint.load(rank) if checkpoint is not None else None
    if resumed is not None:
        state, rng = resumed
        acc.unwrap_model(wrapped).load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if acc.scaler is not None and state["scaler"] is not None:
            acc.scaler.load_state_dict(state["scaler"])
        draw.setstate(state["draw"])
        mlm_state["generator"].set_state(state["mlm"])
        for n, st in state["streams"].items():
            streams[n].restore(st)
        s.update({k: state[k] for k in s})
        _set_rng_state(rng)
        stats.resumed_from = s["step"]
    if curve is not None:
        curve[:] = s["curve"]

    def stopped(step: int) -> None:
        save()
        raise SystemExit(f"{label}: stopped by SIGTERM at step {step}; checkpoint saved in "
                         f"{checkpoint.dir}: rerun to resume")

    stop = {"signal": False}
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.update(signal=True)) if checkpoint is not None else None
    progress = Progress(label, total, rt.progress_every, enabled=main, start=s["step"])
    if stats.resumed_from:
        progress.note(f"resumed from the checkpoint at step {stats.resumed_from}")
    pad_id, device = tokenizer.pad_token_id, acc.device
    wrapped.train()
    skipped_in_a_row, scale = 0, _scale(acc)  # (before the first step: the initial or the resumed scale)
    try:
        while s["step"] < total:
            step_start = time.perf_counter()
            name = draw_member(draw, probs)
            m = by_name[name]
            batch_feats = m.kind.prepare_train([feats[name][k] for k in streams[name].next()], tokenizer, mlm_state)
            step_loss, tokens, padded = backward_batch(wrapped, acc, name, m.kind, batch_feats, pad_id,
                                                       rt.max_device_batch)
            if P > 1:
                counts = torch.tensor([float(tokens), float(padded), float(stop["signal"])], device=device)
                total_of = acc.reduce(torch.cat([step_loss.reshape(1), counts]), "sum")  # one all-reduce a step
                step_loss, tokens, padded = total_of[0], int(total_of[1]), int(total_of[2])
                stop["signal"] = bool(total_of[3] > 0)
            acc.clip_grad_norm_(wrapped.parameters(), tp.max_grad_norm)  # (fp16: unscales the gradients first)
            opt.step()
            # fp16: the scaler skips a step whose gradients hold inf/nan and halves its scale (every
            # process alike: the gradients are all-reduced). accelerate's optimizer_step_was_skipped
            # cannot tell with the fused AdamW: the scaler hands the optimizer `found_inf` and calls
            # its step() every time, and the fused kernel skips the update itself. The scale tells.
            before, scale = scale, _scale(acc)
            skipped = scale is not None and scale < before
            opt.zero_grad(set_to_none=True)
            loss_value = float(step_loss)  # waits for the device: the step's time is complete
            now = time.perf_counter()
            stats.step_seconds.append(now - step_start)
            stats.step_ends.append(now)
            stats.step_tokens.append(tokens)
            stats.tokens += tokens  # the work was done, skipped or not (the cost log)
            stats.padded_tokens += padded
            if skipped:  # no step: the count, the schedule, the logs and the curve stay where they were
                stats.skipped_steps += 1
                skipped_in_a_row += 1
                progress.note(f"step {s['step'] + 1}: skipped by the fp16 loss scaler (inf/nan gradients); "
                              f"loss scale now {scale:g}")
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    raise FloatingPointError(
                        f"{label}: {skipped_in_a_row} steps in a row had inf/nan gradients under fp16 loss scaling "
                        f"(at step {s['step'] + 1}, last loss {loss_value}): the loss itself is not finite")
                if checkpoint is not None and stop["signal"]:
                    stopped(s["step"])
                continue
            skipped_in_a_row = 0
            sched.step()
            s["drawn"][name] += 1
            s["running"].append(loss_value)
            s["since_log"].append(loss_value)
            s["step"] += 1
            step = s["step"]
            progress.update(step, loss_value, tokens)
            if curve is not None and (step % tp.log_every == 0 or step == total):
                s["curve"].append({"step": step, "loss": sum(s["since_log"]) / len(s["since_log"])})
                curve[:] = s["curve"]
                s["since_log"] = []
            if dev_rows and (step % tp.eval_every == 0 or step == total):
                scores = {}
                for n, rows in dev_rows.items():
                    d = by_name[n]
                    preds = predict(acc.unwrap_model(wrapped), rows, tokenizer, d.hp, d.labels, tp.eval_batch_size,
                                    d.no_answer, task=n, feats=dev_feats[n], acc=acc)
                    scores[n] = d.kind.dev_score(rows, preds, d.no_answer)
                wrapped.train()
                score = sum(scores.values()) / len(scores)
                row = {"step": step, "loss": sum(s["running"]) / len(s["running"]), "dev_score": score}
                if len(members) > 1:
                    row.update(dev_scores=scores, steps_per_task=dict(s["drawn"]))
                s["log"].append(row)
                s["running"] = []
                if score > s["best_score"]:
                    s["best_score"], s["best_step"], s["bad"] = score, step, 0
                    s["best_weights"] = {k: v.detach().to("cpu", copy=True)
                                         for k, v in acc.unwrap_model(wrapped).state_dict().items()}
                    progress.note(f"step {step}: dev {score:.4f} (best so far)")
                else:
                    s["bad"] += 1
                    progress.note(f"step {step}: dev {score:.4f} (best {s['best_score']:.4f} at step "
                                  f"{s['best_step']}; {s['bad']}/{tp.patience} without improvement)")
                if s["bad"] >= tp.patience:
                    break
            if checkpoint is not None and step < total and (step % rt.checkpoint_every == 0 or stop["signal"]):
                if stop["signal"]:
                    stopped(step)
                save()
    finally:
        progress.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    model = acc.unwrap_model(wrapped)
    if s["best_weights"] is not None:
        model.load_state_dict(s["best_weights"])
    acc.free_memory()  # the accelerator forgets this run's model and optimizer (translate-train runs several)
    log = s["log"]
    for row in log:
        row["best"] = row["step"] == s["best_step"]
    stats.steps, stats.seconds = s["step"], time.time() - t0
    return log, stats
