"""DVC's experiment queue, driven for `xstilts grid` / `claim`: queue an experiment with its
overrides (as DVC's `-S key=value` reads them), start workers, wait for the names it queued."""
from __future__ import annotations

import subprocess
import time

from xstilts.experiments.errors import GridError


def yaml_value(value) -> str:
    """A value as DVC's `-S key=value` (Hydra override syntax) reads it."""
    if isinstance(value, list):
        return "[" + ",".join(yaml_value(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


# --- the queue ---------------------------------------------------------------------------------
def dvc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise GridError(f"dvc {' '.join(args)} failed (exit {proc.returncode}):\n"
                        f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


def queue_status() -> dict[str, str]:
    """{experiment name: status} of `dvc queue status` (Queued, Running, Success, Failed)."""
    status = {}
    for line in dvc("queue", "status").stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 3 and cols[-1] in ("Queued", "Running", "Success", "Failed"):
            status[cols[1]] = cols[-1]
    return status


def queue(name: str, overrides: dict) -> None:
    """Queue one experiment of the whole pipeline, report included: its commit's dvc.lock is then
    complete and current (its report reads its own scores), so a colleague's `dvc exp pull` +
    `dvc exp apply` + `dvc repro --pull` restores it and runs nothing."""
    args = ["exp", "run", "--queue", "--name", name]
    for k, v in overrides.items():
        args += ["-S", f"{k}={yaml_value(v)}"]
    dvc(*args)


def _log(line: str) -> None:
    print(line, flush=True)  # progress shows even when stdout is a file


def run_queue(jobs: int, names: list[str], poll: float = 10.0, log=_log) -> None:
    """Start the queue's workers and wait until every experiment in `names` has finished."""
    # timed from before the start: `dvc queue start` can itself run the queue to its end before it
    # returns (seen with -j 1 here: "8/8 finished (2 s)" after 44 min)
    t0, last, unlisted_polls = time.time(), None, 0
    dvc("queue", "start", "-j", str(jobs))
    while True:
        status = queue_status()
        # an entry passing from queued to active is briefly in neither list: only Success and
        # Failed are final, and an entry unlisted for several polls running has vanished
        pending = [n for n in names if status.get(n) not in ("Success", "Failed")]
        failed = [n for n in names if status.get(n) == "Failed"]
        unlisted_polls = unlisted_polls + 1 if pending and all(n not in status for n in pending) else 0
        if unlisted_polls > 6:
            raise GridError(f"experiments no longer in DVC's queue: {', '.join(pending)} (`dvc queue status`)")
        line = f"{len(names) - len(pending)}/{len(names)} finished ({time.time() - t0:.0f} s)"
        if line.split(" (")[0] != last:
            log(f"grid: {line}")
            last = line.split(" (")[0]
        if not pending:
            break
        time.sleep(poll)
    if failed:
        raise GridError(f"experiments failed: {', '.join(failed)}; see `dvc queue logs <name>`")
