"""What a training run saves to resume from, and how the trainer (xstilts/train/trainer.py) saves
and restores it: the loop's own state (`TrainState`), its seeded random streams (`Draws`), the model
with its optimizer, LR schedule and loss scaler (`Optimization`), and each process's RNG. The files
are written by xstilts/train/checkpoint.py; SIGTERM while a checkpoint is kept (`SigtermFlag`) asks
the loop to save and exit at the end of its step.
"""
from __future__ import annotations

import math
import random
import signal
from dataclasses import dataclass, field

import torch

from xstilts.train.batches import Shuffler

# TrainState's fields -> their keys in a checkpoint's state (the keys it has always had: a checkpoint
# written before still resumes)
SAVED_AS = {"step": "step", "log": "log", "curve": "curve", "losses_since_eval": "running",
            "losses_since_log": "since_log", "steps_per_member": "drawn", "best_score": "best_score",
            "best_step": "best_step", "evals_without_improvement": "bad", "best_weights": "best_weights"}


@dataclass
class TrainState:
    """What the loop has done so far. With the weights, the optimizer's state and the random streams,
    what a checkpoint saves and a resumed run continues from."""
    step: int = 0                                          # optimizer steps taken (not the skipped ones)
    log: list = field(default_factory=list)                # one row per evaluation
    curve: list = field(default_factory=list)              # the mean training loss of every log_every steps
    losses_since_eval: list = field(default_factory=list)  # the steps' losses since the last evaluation
    losses_since_log: list = field(default_factory=list)   # ... and since the last point of the curve
    steps_per_member: dict = field(default_factory=dict)   # how many steps each member trained
    best_score: float = -math.inf                          # early stopping: the best mean dev score,
    best_step: int = 0                                     # its step,
    evals_without_improvement: int = 0                     # the evaluations since,
    best_weights: dict | None = None                       # and its weights (in CPU memory)

    def saved(self) -> dict:
        return {key: getattr(self, name) for name, key in SAVED_AS.items()}

    @classmethod
    def from_saved(cls, saved: dict) -> TrainState:
        return cls(**{name: saved[key] for name, key in SAVED_AS.items()})

    def add_step(self, member: str, loss: float) -> int:
        """A step taken: its member and loss counted; returns the new step count."""
        self.steps_per_member[member] += 1
        self.losses_since_eval.append(loss)
        self.losses_since_log.append(loss)
        self.step += 1
        return self.step

    def add_curve_point(self) -> list:
        """The mean loss since the last point, at this step; returns the curve."""
        self.curve.append({"step": self.step, "loss": sum(self.losses_since_log) / len(self.losses_since_log)})
        self.losses_since_log = []
        return self.curve

    def add_evaluation(self, scores: dict[str, float], per_member: bool) -> float:
        """A row of the log: the mean loss since the last evaluation and the members' mean dev score
        (per_member: each member's score and steps too); returns that mean score."""
        score = sum(scores.values()) / len(scores)
        row = {"step": self.step, "loss": sum(self.losses_since_eval) / len(self.losses_since_eval),
               "dev_score": score}
        if per_member:
            row.update(dev_scores=scores, steps_per_task=dict(self.steps_per_member))
        self.log.append(row)
        self.losses_since_eval = []
        return score


@dataclass
class Draws:
    """The run's seeded random streams, each saved in a checkpoint: which member each step trains
    (unused with one member), each member's batches, and masked-LM's masks."""
    member: random.Random
    batches: dict[str, Shuffler]
    mlm: dict   # {"generator", "probability"}: what the kinds' prepare_train reads (kinds/mlm.py)

    @classmethod
    def seeded(cls, members: list, train_feats: dict, seed: int, group_by_length: bool,
               mlm_probability: float) -> Draws:
        """The streams of a new run: `members` are the trainer's (trainer.Member), `train_feats` their
        training features by name."""
        batches = {m.name: Shuffler([len(f.get("input_ids") or f["choice_ids"][0]) for f in train_feats[m.name]],
                                    m.hparams.batch_size, seed + i, group_by_length) for i, m in enumerate(members)}
        return cls(random.Random(seed), batches,
                   {"generator": torch.Generator().manual_seed(seed + 7919), "probability": mlm_probability})

    def saved(self) -> dict:
        return {"draw": self.member.getstate(), "mlm": self.mlm["generator"].get_state(),
                "streams": {name: batches.state() for name, batches in self.batches.items()}}

    def restore(self, saved: dict) -> None:
        self.member.setstate(saved["draw"])
        self.mlm["generator"].set_state(saved["mlm"])
        for name, batches in saved["streams"].items():
            self.batches[name].restore(batches)


@dataclass
class Optimization:
    """The model as accelerate prepared it (DDP-wrapped under torchrun), its optimizer and LR schedule."""
    wrapped: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def resume(checkpoint, acc, optimization: Optimization, draws: Draws) -> TrainState | None:
    """The checkpoint's state restored into the model, the optimizer, the schedule, the loss scaler,
    the random streams and this process's RNG; returns the loop's state, or None when there is none
    to resume from (or no checkpoint)."""
    loaded = checkpoint.load(acc.process_index) if checkpoint is not None else None
    if loaded is None:
        return None
    saved, rng = loaded
    acc.unwrap_model(optimization.wrapped).load_state_dict(saved["model"])
    optimization.optimizer.load_state_dict(saved["optimizer"])
    optimization.scheduler.load_state_dict(saved["scheduler"])
    if acc.scaler is not None and saved["scaler"] is not None:
        acc.scaler.load_state_dict(saved["scaler"])
    draws.restore(saved)
    state = TrainState.from_saved(saved)
    _set_rng_state(rng)
    return state


def save_checkpoint(checkpoint, acc, optimization: Optimization, state: TrainState, draws: Draws) -> None:
    """What `resume` restores: the state from the main process, each process's RNG from each."""
    saved = None
    if acc.is_main_process:
        model = acc.unwrap_model(optimization.wrapped)
        saved = {**state.saved(), "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                 "optimizer": optimization.optimizer.state_dict(), "scheduler": optimization.scheduler.state_dict(),
                 "scaler": acc.scaler.state_dict() if acc.scaler is not None else None, **draws.saved()}
    checkpoint.save(saved, acc.process_index, _rng_state())
    acc.wait_for_everyone()


class SigtermFlag:
    """While `enabled` (the run keeps a checkpoint), SIGTERM only sets `received`: the loop saves
    the state at the end of the step and exits. The previous handler comes back at the end."""

    def __init__(self, enabled: bool):
        self.enabled, self.received, self.previous = enabled, False, None

    def __enter__(self) -> SigtermFlag:
        if self.enabled:
            self.previous = signal.signal(signal.SIGTERM, self._receive)
        return self

    def _receive(self, *_) -> None:
        self.received = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
