"""The runtime: where and how a stage computes (params.yaml `runtime.<profile>`), never what.

`start(rt)` turns the settings into an `accelerate.Accelerator`: the device (cuda when asked or
found), mixed precision (bf16 autocast with fp32 master weights; fp16 with loss scaling where the
GPU lacks bf16), DDP when the stage runs under torchrun, threads, TF32 and determinism. A stage
with `processes: N > 1` re-executes itself under torchrun first (`relaunch`), so the same command
runs on one process or N.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass

from xstilts.core import leases


@dataclass
class Runtime:
    """What `start` resolved (numerics(): what train_log.json records; record(): all, for the cost log)."""
    device: str
    precision: str
    processes: int
    max_device_batch: int | None
    deterministic: bool
    threads: int
    device_name: str

    def record(self) -> dict:
        return asdict(self)

    def numerics(self) -> dict:
        """The run's settings that change its numbers: what train_log.json records and what a checkpoint
        must match to resume. Not the thread count or the device's name, though the numbers depend on
        them too, in their last bits: torch splits a CPU reduction across its threads and picks its
        kernels for the CPU (AVX2 or AVX-512), so either changes the order of float sums. They are
        the machine's, not the experiment's (the cost log, outside DVC's outputs, has them): kept out
        of the outputs, a rerun that computes the same numbers writes the same bytes, and one on
        another machine differs in its hashes, not in its metrics (docs/outputs.md)."""
        return {k: v for k, v in asdict(self).items() if k not in ("threads", "device_name")}


def distributed() -> bool:
    """True inside a torchrun-launched process."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def relaunch(rt) -> None:
    """With `processes > 1`, run this very command again under torchrun with that many processes
    (one per GPU, or gloo processes on CPU) and exit with its status. Call it after the cheap checks
    and before any tensor work; inside a launched process it does nothing."""
    if rt.processes <= 1 or "LOCAL_RANK" in os.environ:
        return
    leases.lease_for(rt, rt.processes)  # the ranks inherit CUDA_VISIBLE_DEVICES; this process holds the locks
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={rt.processes}",
           *sys.argv]
    print(f"runtime: {rt.processes} processes (DDP): {' '.join(cmd[1:])}", flush=True)
    child = subprocess.Popen(cmd)
    # A scheduler's SIGTERM (preemption, a time limit) goes on to torchrun, which passes it to the
    # ranks; they checkpoint and exit, and we wait for them. (stage.run's own handler would raise
    # SystemExit here, and subprocess would then SIGKILL torchrun before the ranks had saved.)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    sys.exit(child.wait())


def resolve(rt) -> tuple[str, str]:
    """(device, precision) actually used: `auto` resolved, and what this machine cannot do an error
    (the precision is the run's, a pipeline param: never changed here to fit the GPU)."""
    import torch

    from xstilts.core.groups import ParamsError
    cuda = torch.cuda.is_available()
    device = ("cuda" if cuda else "cpu") if rt.device == "auto" else rt.device
    if device == "cuda" and not cuda:
        raise ParamsError("runtime device is 'cuda' but torch sees no CUDA device (valid here: auto, cpu)")
    if rt.precision == "fp16" and device == "cpu":
        raise ParamsError("precision 'fp16' needs CUDA (on CPU: fp32 or bf16)")
    if rt.precision == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise ParamsError(f"precision 'bf16' but {torch.cuda.get_device_name()} has no bf16: run with "
                          f"`-S <profile>.precision=fp16` (autocast with loss scaling) or fp32")
    return device, rt.precision


def allow_tf32() -> None:
    """fp32 matmuls and convolutions outside autocast on tensor cores (TF32), through torch's
    `fp32_precision` API (torch >= 2.9; the project pins 2.13). Never the legacy `allow_tf32` flags:
    torch deprecates them, and on CUDA a process that uses both APIs (transformers >= 5 uses the new
    one) raises "you have used mix of the legacy and new APIs to set the TF32 status" (pytorch#179445)."""
    import torch
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    torch.backends.cudnn.conv.fp32_precision = "tf32"


def start(rt, multitask: bool = False):
    """(Accelerator, Runtime). Call before any CUDA work: determinism must be set up first, and the
    GPU leased (CUDA_VISIBLE_DEVICES is read once, when CUDA starts)."""
    leases.lease_for(rt, 1)  # (xstilts/core/leases.py: DVC queue workers of `grid -j N` would all use GPU 0)
    if rt.deterministic:  # cuBLAS needs this before CUDA initializes, or deterministic mode raises
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedDataParallelKwargs
    device, precision = resolve(rt)
    # accelerate keeps one state per process; a second `start` in one process (tests, benchmarks)
    # may ask for another precision or device
    AcceleratorState._reset_state(reset_partial_state=not distributed())
    torch.set_num_threads(rt.threads)
    if torch.are_deterministic_algorithms_enabled() != rt.deterministic:
        if "torch._inductor.config" in sys.modules:
            torch.use_deterministic_algorithms(rt.deterministic)
        else:  # the same switch, without the import of torch._inductor that the public call makes
            # only to set inductor's flag (2.3 s of every stage's start; nothing here compiles)
            torch._C._set_deterministic_algorithms(rt.deterministic)
    if device == "cuda":
        allow_tf32()
    # One head per member task and one member per step: the other heads get no gradient that step.
    kwargs = [DistributedDataParallelKwargs(find_unused_parameters=multitask)]
    acc = Accelerator(cpu=device == "cpu", mixed_precision={"fp32": "no"}.get(precision, precision),
                      kwargs_handlers=kwargs)
    name = torch.cuda.get_device_name(acc.device) if acc.device.type == "cuda" else "cpu"
    return acc, Runtime(device=acc.device.type, precision=precision, processes=acc.num_processes,
                        max_device_batch=rt.max_device_batch, deterministic=rt.deterministic, threads=rt.threads,
                        device_name=name)


def write_cost(stage: str, used: Runtime, runs: dict, seconds: float) -> None:
    """logs/costs/<stage>.json: what the stage cost, outside DVC's outs (wall-clock times would
    change the outputs' hashes on every rerun). runs: run name -> trainer Stats (or a dict).

    Inside a DVC experiment (DVC_EXP_NAME set), also <repository>/logs/costs/experiments/<baseline
    commit>/<name>/<stage>.json, where DVC_ROOT is the repository that queued it (a queue worker's
    workspace is a temporary copy): `xstilts grid` and the report sum these per experiment."""
    import json
    import os
    from pathlib import Path

    from xstilts.core import io, paths
    # (a step's perf_counter() and tokens are the benchmarks' instruments: nothing to keep)
    rows = {name: ({k: v for k, v in vars(st).items() if k not in ("step_ends", "step_tokens")}
                   if not isinstance(st, dict) else st) for name, st in runs.items()}
    experiment, baseline = os.environ.get("DVC_EXP_NAME"), os.environ.get("DVC_EXP_BASELINE_REV")
    text = json.dumps({
        "stage": stage, "runtime": used.record(), "seconds": round(seconds, 1),
        "device_seconds": round(seconds * used.processes, 1),
        "tokens": sum(r.get("tokens", 0) for r in rows.values()),
        "experiment": experiment, "baseline": baseline, "runs": rows}, indent=2, default=str) + "\n"
    io.atomic_write_text(paths.COSTS / f"{stage}.json", text)
    if experiment and baseline:
        root = Path(os.environ.get("DVC_ROOT", "."))
        io.atomic_write_text(root / paths.COSTS / "experiments" / baseline / experiment / f"{stage}.json", text)
