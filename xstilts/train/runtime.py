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
        """The settings the numbers can depend on: what train_log.json records and what a checkpoint
        must match to resume. Not the thread count or the device's name: those are the machine's (the
        cost log, outside DVC's outputs, has them), so a rerun elsewhere with the same numbers leaves
        the outputs' bytes, and everything downstream, unchanged."""
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
    lease_devices(rt, rt.processes)  # the ranks inherit CUDA_VISIBLE_DEVICES; this process holds the locks
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={rt.processes}",
           *sys.argv]
    print(f"runtime: {rt.processes} processes (DDP): {' '.join(cmd[1:])}", flush=True)
    child = subprocess.Popen(cmd)
    # A scheduler's SIGTERM (preemption, a time limit) goes on to torchrun, which passes it to the
    # ranks; they checkpoint and exit, and we wait for them. (stage.run's own handler would raise
    # SystemExit here, and subprocess would then SIGKILL torchrun before the ranks had saved.)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    sys.exit(child.wait())


def lease_devices(rt, count: int) -> None:
    """Lease `count` free GPUs before CUDA initializes (xstilts/train/leases.py: DVC queue workers of
    `xstilts grid -j N` would otherwise all land on GPU 0). Nothing on CPU, or where no GPU is found."""
    from xstilts.train import leases
    if rt.device == "cpu" or (rt.device == "auto" and not leases.candidates()):
        return
    held = leases.lease(count)
    if not held.inherited:
        print(f"runtime: leased GPU(s) {','.join(held.devices)}", flush=True)


def resolve(rt) -> tuple[str, str]:
    """(device, precision) actually used: auto resolved, and a CUDA request without CUDA an error."""
    import torch
    from xstilts.core.groups import ParamsError
    cuda = torch.cuda.is_available()
    device = ("cuda" if cuda else "cpu") if rt.device == "auto" else rt.device
    if device == "cuda" and not cuda:
        raise ParamsError("runtime device is 'cuda' but torch sees no CUDA device (valid here: auto, cpu)")
    precision = rt.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device == "cuda" else "fp32"
    if precision == "fp16" and device == "cpu":
        raise ParamsError("runtime precision 'fp16' needs CUDA (on CPU: fp32 or bf16)")
    return device, precision


def start(rt, multitask: bool = False):
    """(Accelerator, Runtime). Call before any CUDA work: determinism must be set up first, and the
    GPU leased (CUDA_VISIBLE_DEVICES is read once, when CUDA starts)."""
    lease_devices(rt, 1)
    if rt.deterministic:  # cuBLAS needs this before CUDA initializes, or deterministic mode raises
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    from accelerate.state import AcceleratorState
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
        torch.backends.cuda.matmul.allow_tf32 = True   # fp32 matmuls outside autocast on tensor cores
        torch.backends.cudnn.allow_tf32 = True
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
    rows = {name: (vars(st) if not isinstance(st, dict) else st) for name, st in runs.items()}
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
