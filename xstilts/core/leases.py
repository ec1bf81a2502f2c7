"""Device leases: which GPU(s) a stage may compute on while other experiments run beside it.

`xstilts grid -j N` runs N DVC experiments at once (DVC queue workers), and DVC has no notion of
GPUs: every worker inherits the same environment, so all N would compute on GPU 0. A stage that
computes on CUDA therefore leases free device(s) *before CUDA initializes* and narrows
CUDA_VISIBLE_DEVICES to them (the CUDA driver reads that variable once, when it initializes).

One lock file per device under a shared directory, held with an exclusive `fcntl.flock` for the
holder's life. The kernel drops a flock when its last file descriptor closes, so a holder that
dies, even by kill -9, frees its device with no stale-lock cleanup. The file also records the
holder's pid, host and command line, so `holders()` can say who holds what.

Under torchrun (LOCAL_RANK set) `lease` does nothing: the launching process leases one device per
rank before it starts torchrun (`runtime.relaunch`) and the ranks inherit CUDA_VISIBLE_DEVICES.

Under a batch scheduler (SLURM, PBS, LSF) the scheduler already gave this job its devices, and
numbers them from 0 in every job: two jobs' "GPU 0" are two GPUs, and a lock on a shared disk
would make every job of an array wait on one file (or fail where the file system has no flock).
There the locks live in a folder of this job alone, on the node (the temp dir): they still keep
the experiments one job runs at once (`grid -j N` inside an allocation) apart, never two jobs.

Every stage that computes on CUDA leases through `lease_for` (training, prediction, embedding,
translation), which is why this module lives in `core`, below every layer that computes.

Pure standard library: devices are counted with NVML through ctypes (what torch.cuda.device_count
does first) or `nvidia-smi -L`, never through torch, whose fallback (cudaGetDeviceCount)
initializes the CUDA driver in this process and would freeze CUDA_VISIBLE_DEVICES before we set it.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from xstilts.core.errors import XstiltsError

# Overrides: the lock directory (e.g. one shared by several clones of the repository) and the
# candidate devices where neither CUDA_VISIBLE_DEVICES nor discovery fits (MIG, no NVML).
LOCK_DIR_ENV = "XSTILTS_GPU_LOCKS"
DEVICES_ENV = "XSTILTS_DEVICES"
# A job id a scheduler sets in every job (SLURM: one per array task too): the devices are the job's.
SCHEDULER_JOB_ENVS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID")


class LeaseError(XstiltsError):
    """Not enough free devices within the wait, or more devices asked than exist."""


class Lease:
    """Devices this process holds: `.devices` (the ids CUDA_VISIBLE_DEVICES was set to), `.release()`,
    and a context manager. `inherited`: a torchrun rank's, leased by its launcher (nothing held here)."""

    def __init__(self, devices: list[str], files: list, inherited: bool = False):
        self.devices = devices
        self.inherited = inherited
        self._files = files  # open lock files: closing one drops its flock

    @property
    def held(self) -> bool:
        return bool(self._files)

    def release(self) -> None:
        """Free the devices (idempotent). CUDA_VISIBLE_DEVICES stays as set: the process usually exits."""
        for f in self._files:
            try:  # clear the record first, so `holders` shows no holder that is gone
                os.ftruncate(f.fileno(), 0)
            finally:
                f.close()
        self._files = []
        if self in _HELD:
            _HELD.remove(self)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "inherited" if self.inherited else "held" if self.held else "released"
        return f"Lease(devices={self.devices}, {state})"


# This process's live leases. They own the open lock files, and keeping them referenced here keeps
# those files open (and the devices locked) for the process's life, whatever the caller keeps.
_HELD: list[Lease] = []


def lease(count: int = 1, devices: list[str] | None = None, lock_dir: Path | None = None,
          wait: float | None = None, poll: float = 2.0) -> Lease:
    """Lease `count` free devices of `devices` (default: `candidates()`) and point
    CUDA_VISIBLE_DEVICES at them; call before anything initializes CUDA.

    All `count` or none: locks are taken one by one without blocking, and when fewer than `count`
    can be had the ones taken are given back before the next try (no deadlock, no partial lease).
    When busy: retry every `poll` s for up to `wait` s (None: forever, 0: fail at once), saying once
    which devices are busy and who holds them, then raise LeaseError. Under torchrun (LOCAL_RANK
    set): nothing is leased; the devices inherited from the launcher are returned. A second call in
    a process that holds a lease of `count` devices returns that lease (a stage may `start` twice)."""
    if count < 1:
        raise ValueError(f"lease count must be >= 1, not {count}")
    if "LOCAL_RANK" in os.environ:
        return Lease(_visible(os.environ.get("CUDA_VISIBLE_DEVICES", "")), [], inherited=True)
    if _HELD:  # this process's own locks would look busy to a second lease (a flock is per open file)
        held = _HELD[0]
        if len(held.devices) == count:
            return held
        raise LeaseError(f"this process already holds device(s) {','.join(held.devices)}; "
                         f"release that lease before leasing {count}")
    pool = list(dict.fromkeys(str(d) for d in devices)) if devices is not None else candidates()
    if count > len(pool):
        raise LeaseError(f"{count} device(s) asked but only {len(pool)} exist here "
                         f"({','.join(pool) or 'none'}); set CUDA_VISIBLE_DEVICES or {DEVICES_ENV} if that is wrong")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = None if wait is None else time.monotonic() + wait
    said_busy = False
    while True:
        files, busy = _take(pool, count, lock_dir)
        if files:
            break
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise LeaseError(f"{count} of device(s) {','.join(pool)} not free"
                             f"{f' after {wait:g} s' if wait else ''}: busy {_describe(busy, lock_dir)} "
                             f"(lock dir {lock_dir})")
        if not said_busy:
            print(f"leases: waiting for {count} free device(s) of {','.join(pool)}; busy "
                  f"{_describe(busy, lock_dir)}", file=sys.stderr, flush=True)
            said_busy = True
        time.sleep(poll if left is None else min(poll, left))
    leased = [d for d, _ in files]
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command_line(),
              "since": time.time()}
    for device, f in files:
        data = json.dumps({"device": device, **record}).encode()
        # In place, never by rename: the flock lives on this inode, and a replaced file would be a
        # second, unlocked lock file for the next process.
        os.ftruncate(f.fileno(), 0)
        os.pwrite(f.fileno(), data, 0)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(leased)
    new = Lease(leased, [f for _, f in files])
    _HELD.append(new)
    return new


def holders(lock_dir: Path | None = None) -> list[dict]:
    """Every device with a lock file: {device, pid, host, command, held}. held=False: free now
    (pid, host and command then name its last holder when it died without releasing, else None)."""
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    rows = []
    for path in sorted(lock_dir.glob("gpu-*.lock")):
        with open(path, "rb") as f:
            try:  # a shared lock that we get means nobody holds the exclusive one
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                held = True
            else:
                held = False
                fcntl.flock(f, fcntl.LOCK_UN)
        info = _read_record(path)
        rows.append({"device": info.get("device", path.stem[len("gpu-"):]), "pid": info.get("pid"),
                     "host": info.get("host"), "command": info.get("command"), "held": held})
    return rows


def candidates() -> list[str]:
    """The device ids a lease may choose from: CUDA_VISIBLE_DEVICES's entries if set (a scheduler
    such as SLURM, or a launching process, already restricted us), else XSTILTS_DEVICES's, else
    every GPU NVML (or `nvidia-smi -L`) sees, numbered 0..n-1; [] without GPUs."""
    for var in ("CUDA_VISIBLE_DEVICES", DEVICES_ENV):
        if var in os.environ:
            return _visible(os.environ[var])
    return [str(i) for i in range(_count_devices())]


def lease_for(rt, count: int) -> Lease | None:
    """The lease a stage takes before CUDA starts, from its runtime settings (`rt.device`): `count`
    free GPUs, or None on CPU or where no GPU is found. Says which devices it got."""
    if rt.device == "cpu" or not candidates():  # no GPU here: `cuda` is the runtime's error to give, clearly
        return None
    held = lease(count)
    if not held.inherited:
        print(f"leases: GPU(s) {','.join(held.devices)}", flush=True)
    return held


def scheduler_job() -> str | None:
    """The batch scheduler's job id when this process runs inside a job, else None."""
    return next((os.environ[v] for v in SCHEDULER_JOB_ENVS if os.environ.get(v)), None)


def default_lock_dir() -> Path:
    """XSTILTS_GPU_LOCKS if set; inside a scheduler's job, a folder of that job in the node's temp
    dir (the job's devices are its own); else .dvc/tmp/xstilts-gpus/ of the repository around the
    working directory; else ~/.cache/xstilts/gpus/."""
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    job = scheduler_job()
    if job is not None:
        import tempfile
        return Path(tempfile.gettempdir()) / f"xstilts-gpus-job-{re.sub(r'[^A-Za-z0-9_.-]', '_', job)}"
    cwd = Path.cwd().resolve()
    # A DVC queue worker runs in <repo>/.dvc/tmp/exps/<tmp>/, a copy of the repository with its own
    # .dvc/: the workers must share the locks of the repository that queued them, not their copies'.
    if ".dvc" in cwd.parts:
        return Path(*cwd.parts[:cwd.parts.index(".dvc")]) / ".dvc" / "tmp" / "xstilts-gpus"
    for d in (cwd, *cwd.parents):
        if (d / ".dvc").is_dir():
            return d / ".dvc" / "tmp" / "xstilts-gpus"
    return Path.home() / ".cache" / "xstilts" / "gpus"


def _take(pool: list[str], count: int, lock_dir: Path) -> tuple[list, list[str]]:
    """([(device, open locked file)] for `count` devices of the pool, or [] if that many are not
    free now, all taken ones given back); the devices found busy."""
    taken, busy = [], []
    for device in pool:
        # os.open, not open(..., "w"): no truncation before we hold the lock (that would erase the
        # holder's record); Python's fds are close-on-exec, so torchrun and other children never
        # hold the lock on our behalf.
        fd = os.open(_lock_path(lock_dir, device), os.O_RDWR | os.O_CREAT, 0o666)
        f = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            busy.append(device)
            continue
        taken.append((device, f))
        if len(taken) == count:
            return taken, busy
    for _, f in taken:
        f.close()
    return [], busy


def _lock_path(lock_dir: Path, device: str) -> Path:
    # Ids may be UUIDs or MIG paths ("MIG-GPU-.../1/0"): keep them one safe file name.
    return lock_dir / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', device)}.lock"


def _read_record(path: Path) -> dict:
    # A new holder truncates, then writes its record: retry briefly rather than show half of it.
    for _ in range(5):
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return {}
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            time.sleep(0.01)
    return {}


def _describe(busy: list[str], lock_dir: Path) -> str:
    """'0 (pid 123 on host: python stages/finetune.py ...), 1 (...)'."""
    parts = []
    for device in busy:
        info = _read_record(_lock_path(lock_dir, device))
        who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}"
        command = " ".join((info.get("command") or "").split())  # one line, even for `python -c` scripts
        parts.append(f"{device} ({who}{': ' + command[:80] if command else ''})")
    return ", ".join(parts) or "none"


def _command_line() -> str:
    try:  # the command as launched (argv[0] included), not Python's view of it
        raw = Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
        return " ".join(raw.decode(errors="replace").split("\0")).strip()
    except OSError:
        return " ".join([sys.executable, *sys.argv])


def _visible(value: str) -> list[str]:
    """CUDA_VISIBLE_DEVICES's entries as CUDA reads them: up to the first negative one, repeats dropped."""
    ids = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry or entry.startswith("-"):
            break
        ids.append(entry)
    return list(dict.fromkeys(ids))


def _count_devices() -> int:
    """GPUs on this machine, without initializing CUDA in this process: NVML through ctypes (the
    call torch.cuda.device_count makes first), else `nvidia-smi -L` in a child process, else 0."""
    try:
        from ctypes import CDLL, byref, c_uint
        nvml = CDLL("libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() == 0:
            try:
                n = c_uint(0)
                if nvml.nvmlDeviceGetCount_v2(byref(n)) == 0:
                    return n.value
            finally:
                nvml.nvmlShutdown()
    except (OSError, AttributeError):
        pass
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))
