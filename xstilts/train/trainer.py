"""The trainer: one loop for every training stage (tiny MLM pretraining, intermediate, target
fine-tuning, translate-train), on HF accelerate (device placement, bf16/fp16 autocast, DDP).

The loop is `train`, in one screen; the pieces it calls are named below it: `featurize`,
`plan`, `set_up_optimizer` (AdamW, fused; linear warmup then linear decay), `resume` and
`save_checkpoint`, `evaluate` and `early_stopping`. What the loop has done lives in a `TrainState`,
its random streams in `Draws`. Gradient clipping, early stopping on the first N dev examples (the
paper's protocol: N = 500) with the best weights kept in CPU memory and restored at the end. Each
optimizer step draws one member task (one member = plain single-task training; the draw follows the
`multitask` sampler settings) and takes one batch of it: `batch_size` is the effective batch; it is
split over processes and into micro-batches of at most `max_device_batch` sequences, each weighted by
its share of the loss's units, so the sum is the whole batch's loss and gradient. Every
`checkpoint_every` steps, and on SIGTERM, the state is saved to resume from
(xstilts/train/checkpoint.py); a resumed run ends bit-identical to an uninterrupted one on CPU.
Under fp16 loss scaling, a step whose gradients overflow (inf/nan) is skipped by the scaler and
counts for nothing: the step count, the LR schedule, the logs and the resume state stay where they
were, and the next batch takes its place.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import torch

from xstilts.core.groups import MultitaskParams
from xstilts.train.batches import micro_batches
from xstilts.train.predict import predict
from xstilts.train.progress import Progress
from xstilts.train.resumable import Draws, Optimization, SigtermFlag, TrainState, resume, save_checkpoint
from xstilts.train.sampling import draw_member, sampling_weights


@dataclass
class Member:
    """One task of a (possibly multi-task) run: its head in the model is `model.heads[name]`."""
    name: str
    kind: object            # xstilts/kinds
    train_rows: list[dict]
    dev_rows: list[dict]    # empty for MLM: it takes no part in early stopping
    hparams: object         # config.TaskHparams
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

    def add_step(self, started: float, tokens: int, padded: int) -> None:
        """An optimizer step's cost, skipped or not (the work was done); `started`: its perf_counter()."""
        now = time.perf_counter()
        self.step_seconds.append(now - started)
        self.step_ends.append(now)
        self.step_tokens.append(tokens)
        self.tokens += tokens
        self.padded_tokens += padded


@dataclass
class TrainData:
    """A run's examples, featurized once (not at every evaluation)."""
    train_feats: dict[str, list[dict]]   # each member's training features
    dev_rows: dict[str, list[dict]]      # the early-stopping rows of each member that has dev data
    dev_feats: dict[str, list[dict]]     # ... featurized


# The sampler without multitask settings: the paper's (proportional, K = 2^17). With one member it
# only caps an epoch at K examples.
PAPER_SAMPLING = MultitaskParams(sampler="proportional", examples_cap=2 ** 17, temperature=1.0)

# fp16: this many skipped steps in a row (the loss scale halved each time: 2^16 down to 2^-34) is
# not an overflow the scaler can back off from but a loss or gradient that is not finite at all
MAX_SKIPPED_IN_A_ROW = 50


def train(model, members: list[Member], tokenizer, train_params, seed: int, acc, runtime_params, *,
          multitask: MultitaskParams = PAPER_SAMPLING, mlm_probability: float = 0.15, lr: float | None = None,
          total_steps: int | None = None, checkpoint=None, label: str = "train",
          curve: list | None = None) -> tuple[list[dict], Stats]:
    """Train `model` (a TaskModel with one head per member) in place; restore the weights with the
    best early-stopping dev score (or keep the last ones when no member has dev data). Returns the
    log (one row per evaluation) and what the run cost. `curve`, when given, receives the mean
    training loss of every `train_params.log_every` steps. The number of steps is what the supervised
    members need for their epochs (`plan`); `total_steps` overrides it (pretraining). `multitask`:
    the sampler's settings (intermediate_train.multitask); `lr` overrides train_params.lr;
    `checkpoint` (a checkpoint.Checkpoint) makes the run resumable."""
    t0 = time.time()
    data = featurize(members, tokenizer, train_params.early_stopping_examples)
    probs, total = plan(members, data, multitask, total_steps)
    optimization = set_up_optimizer(model, acc, train_params, lr if lr is not None else train_params.lr, total)
    wrapped, optimizer = optimization.wrapped, optimization.optimizer
    draws = Draws.seeded(members, data.train_feats, seed, train_params.group_by_length, mlm_probability)
    by_name = {m.name: m for m in members}
    state = resume(checkpoint, acc, optimization, draws)
    state = state or TrainState(steps_per_member={m.name: 0 for m in members})
    stats = Stats(resumed_from=state.step)
    if curve is not None:
        curve[:] = state.curve

    def save_and_exit(step: int) -> None:  # after SIGTERM
        save_checkpoint(checkpoint, acc, optimization, state, draws)
        raise SystemExit(f"{label}: stopped by SIGTERM at step {step}; checkpoint saved in "
                         f"{checkpoint.dir}: rerun to resume")

    progress = Progress(label, total, runtime_params.progress_every, enabled=acc.is_main_process, start=state.step)
    if stats.resumed_from:
        progress.note(f"resumed from the checkpoint at step {stats.resumed_from}")
    wrapped.train()
    skipped_in_a_row, scale = 0, _scale(acc)  # (before the first step: the initial or the resumed scale)
    with SigtermFlag(enabled=checkpoint is not None) as sigterm, contextlib.closing(progress):
        while state.step < total:
            step_start = time.perf_counter()
            name = draw_member(draws.member, probs)
            member = by_name[name]
            batch_feats = member.kind.prepare_train([data.train_feats[name][k] for k in draws.batches[name].next()],
                                                    tokenizer, draws.mlm)
            step_loss, tokens, padded = backward_batch(wrapped, acc, name, member.kind, batch_feats,
                                                       tokenizer.pad_token_id, runtime_params.max_device_batch)
            if acc.num_processes > 1:
                step_loss, tokens, padded, sigterm.received = _sum_over_processes(acc, step_loss, tokens, padded,
                                                                                  sigterm.received)
            acc.clip_grad_norm_(wrapped.parameters(), train_params.max_grad_norm)  # (fp16: unscales first)
            optimizer.step()
            before, scale = scale, _scale(acc)
            skipped = scale is not None and scale < before  # (see _scale)
            optimizer.zero_grad(set_to_none=True)
            loss_value = float(step_loss)  # waits for the device: the step's time is complete
            stats.add_step(step_start, tokens, padded)
            if skipped:  # no step: the count, the schedule, the logs and the curve stay where they were
                stats.skipped_steps += 1
                skipped_in_a_row += 1
                _note_skipped_step(progress, label, state.step + 1, scale, skipped_in_a_row, loss_value)
                if checkpoint is not None and sigterm.received:
                    save_and_exit(state.step)
                continue
            skipped_in_a_row = 0
            optimization.scheduler.step()
            step = state.add_step(name, loss_value)
            progress.update(step, loss_value, tokens)
            if curve is not None and (step % train_params.log_every == 0 or step == total):
                curve[:] = state.add_curve_point()
            if data.dev_rows and (step % train_params.eval_every == 0 or step == total):
                scores = evaluate(acc, wrapped, by_name, data, tokenizer, train_params.eval_batch_size)
                score = state.add_evaluation(scores, per_member=len(members) > 1)
                if early_stopping(state, score, acc.unwrap_model(wrapped), progress, train_params.patience):
                    break
            if checkpoint is not None and step < total and (step % runtime_params.checkpoint_every == 0
                                                            or sigterm.received):
                if sigterm.received:
                    save_and_exit(step)
                save_checkpoint(checkpoint, acc, optimization, state, draws)
    model = acc.unwrap_model(wrapped)
    if state.best_weights is not None:
        model.load_state_dict(state.best_weights)
    acc.free_memory()  # the accelerator forgets this run's model and optimizer (translate-train runs several)
    for row in state.log:
        row["best"] = row["step"] == state.best_step
    stats.steps, stats.seconds = state.step, time.time() - t0
    return state.log, stats


def featurize(members: list[Member], tokenizer, early_stopping_examples: int) -> TrainData:
    """Each member's training features, and its first `early_stopping_examples` dev rows featurized."""
    train_feats = {m.name: m.train_feats if m.train_feats is not None
                   else m.kind.featurize(m.train_rows, tokenizer, m.hparams, m.labels) for m in members}
    dev_rows = {m.name: m.dev_rows[:early_stopping_examples] for m in members if m.dev_rows}
    dev_feats = {m.name: m.kind.featurize(dev_rows[m.name], tokenizer, m.hparams, m.labels)
                 for m in members if m.name in dev_rows}
    return TrainData(train_feats, dev_rows, dev_feats)


def plan(members: list[Member], data: TrainData, multitask: MultitaskParams,
         total_steps: int | None) -> tuple[dict[str, float], int]:
    """Each member's probability of being drawn for a step, and the number of steps: `total_steps`,
    or the steps of the supervised members' epochs (each member's examples capped at `examples_cap`),
    scaled up by the unsupervised members' share of the draws."""
    probs = sampling_weights({m.name: len(data.train_feats[m.name]) for m in members}, multitask.sampler,
                             multitask.examples_cap, multitask.temperature)
    if total_steps is not None:
        return probs, total_steps
    supervised = [m for m in members if m.kind.supervised]
    steps = sum(math.ceil(min(len(data.train_feats[m.name]), multitask.examples_cap) / m.hparams.batch_size)
                * m.hparams.epochs for m in supervised)
    return probs, max(1, int(steps / max(1e-9, sum(probs[m.name] for m in supervised))))


def set_up_optimizer(model, acc, train_params, lr: float, total: int) -> Optimization:
    """AdamW (fused; no weight decay on biases and LayerNorm weights) with a linear warmup over
    `warmup_ratio` of the `total` steps, then a linear decay to 0; model and optimizer prepared by
    accelerate."""
    warmup = int(train_params.warmup_ratio * total)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    named = list(model.named_parameters())  # each parameter once (the MLM decoder is tied to the embeddings)
    groups = [{"params": [p for n, p in named if not any(k in n for k in no_decay)],
               "weight_decay": train_params.weight_decay},
              {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0}]
    # fused AdamW, on CUDA and on CPU: on CPU it is 5x the default's speed for XLM-R's 250k x 768
    # embedding (0.23 s a step against 1.23 s, measured), which dominates small batches
    optimizer = torch.optim.AdamW(groups, lr=lr, fused=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    wrapped, optimizer = acc.prepare(model, optimizer)
    return Optimization(wrapped, optimizer, scheduler)


def evaluate(acc, wrapped, by_name: dict[str, Member], data: TrainData, tokenizer,
             eval_batch_size: int) -> dict[str, float]:
    """Each member's dev score on its early-stopping rows; the model goes back to training mode."""
    scores = {}
    for name, rows in data.dev_rows.items():
        member = by_name[name]
        preds = predict(acc.unwrap_model(wrapped), rows, tokenizer, member.hparams, member.labels, eval_batch_size,
                        member.no_answer, task=name, feats=data.dev_feats[name], acc=acc)
        scores[name] = member.kind.dev_score(rows, preds, member.no_answer)
    wrapped.train()
    return scores


def early_stopping(state: TrainState, score: float, model, progress: Progress, patience: int) -> bool:
    """The step's dev score against the best so far (whose weights are kept in CPU memory); True
    when `patience` evaluations in a row brought no improvement: training stops."""
    step = state.step
    if score > state.best_score:
        state.best_score, state.best_step, state.evals_without_improvement = score, step, 0
        state.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        progress.note(f"step {step}: dev {score:.4f} (best so far)")
    else:
        state.evals_without_improvement += 1
        progress.note(f"step {step}: dev {score:.4f} (best {state.best_score:.4f} at step {state.best_step}; "
                      f"{state.evals_without_improvement}/{patience} without improvement)")
    return state.evals_without_improvement >= patience


def _sum_over_processes(acc, step_loss: torch.Tensor, tokens: int, padded: int,
                        sigterm: bool) -> tuple[torch.Tensor, int, int, bool]:
    """The step's loss and token counts summed over the processes, and whether any of them got
    SIGTERM (so that all stop at the same step): one all-reduce a step."""
    counts = torch.tensor([float(tokens), float(padded), float(sigterm)], device=acc.device)
    summed = acc.reduce(torch.cat([step_loss.reshape(1), counts]), "sum")
    return summed[0], int(summed[1]), int(summed[2]), bool(summed[3] > 0)


def _note_skipped_step(progress: Progress, label: str, step: int, scale: float, in_a_row: int,
                       loss_value: float) -> None:
    """Say that the fp16 loss scaler skipped `step`; too many in a row: the loss is not finite at all."""
    progress.note(f"step {step}: skipped by the fp16 loss scaler (inf/nan gradients); loss scale now {scale:g}")
    if in_a_row >= MAX_SKIPPED_IN_A_ROW:
        raise FloatingPointError(f"{label}: {in_a_row} steps in a row had inf/nan gradients under fp16 loss "
                                 f"scaling (at step {step}, last loss {loss_value}): the loss itself is not finite")


def backward_batch(wrapped, acc, task: str, kind, batch_feats: list[dict], pad_id: int,
                   max_device_batch: int | None) -> tuple[torch.Tensor, int, int]:
    """Forward and backward of one batch (the effective batch, every process's share of it):
    this process's micro-batches of at most `max_device_batch` sequences, each loss weighted by its
    share of the batch's loss units (rows, or labelled tokens), so the accumulated gradient is the
    whole batch's. Gradients are synchronized across processes on the last micro-batch only.
    Returns this process's part of the batch's loss and the real and padded tokens it processed."""
    processes = acc.num_processes
    units = kind.loss_units(batch_feats)
    rows_per_micro = kind.eval_batch_size(max_device_batch, batch_feats) if max_device_batch else None
    parts = micro_batches(len(batch_feats), processes, acc.process_index, rows_per_micro)
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
                acc.backward(loss * (weight * processes))  # DDP averages the processes' gradients: undo it
                step_loss += loss.detach().float() * weight
                tokens += int(batch["attention_mask"].sum())
                padded += batch["attention_mask"].numel()
            else:  # nothing of the batch here: a zero loss, so that DDP's backward passes still match
                acc.backward(_zero(out))
    return step_loss, tokens, padded


def _zero(out) -> torch.Tensor:
    """A zero loss connected to the graph (an empty micro-batch still runs backward under DDP)."""
    tensors = out if isinstance(out, (tuple, list)) else (out,)
    return sum(t.float().sum() for t in tensors) * 0.0


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _scale(acc) -> float | None:
    """The fp16 loss scaler's current scale (None without loss scaling: fp32, bf16). It tells a
    skipped step: the scaler skips a step whose gradients hold inf/nan and halves its scale (every
    process alike: the gradients are all-reduced). accelerate's optimizer_step_was_skipped cannot
    tell with the fused AdamW: the scaler hands the optimizer `found_inf` and calls its step() every
    time, and the fused kernel skips the update itself."""
    return acc.scaler.get_scale() if acc.scaler is not None and acc.scaler.is_enabled() else None


