"""`xstilts grid --slurm`: the experiments a grid is missing as one SLURM job array, one experiment
per array task.

Each task clones this repository (a path every node reaches, as a cluster's home or project disk
is) into its own work directory, checks out the commit the grid was planned on and runs
`dvc exp run -n NAME -S ...` there (the whole pipeline, report included, so the experiment's commit
is complete: a colleague's clone applies it and reproduces nothing): tasks never share a DVC lock or
a workspace. The cache is shared through the default DVC remote (`dvc exp run --pull` restores what
any run pushed, stage by stage, from the run-cache; the task pushes its experiment with
`dvc exp push origin NAME --run-cache`, its ref landing in this repository) or, with no remote,
through this repository's own cache directory on the shared disk. A task's work directory lives
until the task succeeds, so a requeued or resubmitted task resumes from its stages' checkpoints (a
preempted stage's SIGTERM saves one).

The jobs run in the environment `xstilts grid --slurm` was started from (sbatch's default
--export=ALL): the same virtual environment, the same AWS_* or XSTILTS_* settings.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from xstilts.core import io, paths
from xstilts.experiments.errors import GridError
from xstilts.experiments.gitrefs import git
from xstilts.experiments.queue import yaml_value

STATE = paths.SLURM_DIR / "jobs.json"     # what was submitted: job id -> experiment names, commit
ACTIVE = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUE_HOLD",
          "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD")


@dataclass(frozen=True)
class Options:
    partition: str | None = None
    gpus_per_job: int | None = None  # None: 1 in profile paper, 0 in tiny; > 1: DDP over them (XSTILTS_PROCESSES)
    time: str | None = None       # sbatch --time, e.g. 24:00:00
    cpus_per_task: int | None = None  # None: the profile's runtime threads x the task's processes
    account: str | None = None
    qos: str | None = None
    mem: str | None = None        # sbatch --mem, e.g. 64G
    constraint: str | None = None  # sbatch --constraint, e.g. a100|h100
    grace: int = 300              # seconds before the time limit at which the task's stages get SIGTERM and checkpoint
    extra: tuple[str, ...] = ()   # any other sbatch option, as written after #SBATCH (e.g. --exclude=node07)

    def __post_init__(self):
        if self.gpus_per_job is not None and self.gpus_per_job < 0:
            raise GridError(f"--gpus-per-job must be 0 or more, got {self.gpus_per_job}")
        if self.grace < 0:
            raise GridError(f"--signal-grace must be 0 or more seconds, got {self.grace}")
        for opt in self.extra:
            if not opt.startswith("--") or "\n" in opt:
                raise GridError(f"--sbatch takes one sbatch option starting with '--' (e.g. --exclude=node07), "
                                f"got {opt!r}")


def for_profile(opts: Options, profile: str, threads: int | None = None) -> Options:
    """Options with the GPU count settled (one GPU per task in profile paper, none in tiny, unless given)
    and the CPUs per task matching the runtime's threads per process (unless given)."""
    gpus = opts.gpus_per_job if opts.gpus_per_job is not None else (1 if profile == "paper" else 0)
    cpus = opts.cpus_per_task
    if cpus is None and threads is not None:
        cpus = threads * max(gpus, 1)
    return replace(opts, gpus_per_job=gpus, cpus_per_task=cpus)


def script(todo: list, commit: str, opts: Options, label: str, repo: Path, shared_remote: str | None,
           after: list[str] | None = None) -> str:
    """The sbatch script: one array task per experiment in `todo` (name, overrides); with `after`, it
    starts once those jobs have ended (an earlier wave, whose results it restores from the cache)."""
    head = sbatch_header(len(todo), commit, opts, label, (repo / paths.SLURM_DIR).resolve(), after)
    return "\n".join(head) + "\n" + task_body(todo, commit, opts, repo, shared_remote)


def sbatch_header(tasks: int, commit: str, opts: Options, label: str, logs: Path,
                  after: list[str] | None) -> list[str]:
    """The script's #SBATCH lines: a job array of `tasks` tasks, with the options given."""
    head = [
        "#!/bin/bash",
        f"# written by `xstilts grid --slurm` ({label}): {tasks} experiment(s) at commit {commit[:10]},",
        "# one per array task, each in its own clone; submit with sbatch (xstilts does, unless --dry-run)",
        f"#SBATCH --job-name=xstilts-{label}",
        f"#SBATCH --array=0-{tasks - 1}",
        f"#SBATCH --output={logs}/%A_%a.log",
        "#SBATCH --open-mode=append",
        "#SBATCH --requeue",
        "#SBATCH --ntasks=1",
    ]
    if opts.partition:
        head.append(f"#SBATCH --partition={opts.partition}")
    if opts.gpus_per_job:
        head.append(f"#SBATCH --gres=gpu:{opts.gpus_per_job}")
    if opts.cpus_per_task:
        head.append(f"#SBATCH --cpus-per-task={opts.cpus_per_task}")
    if opts.time:
        head.append(f"#SBATCH --time={opts.time}")
    for flag, value in (("account", opts.account), ("qos", opts.qos), ("mem", opts.mem),
                        ("constraint", opts.constraint)):
        if value:
            head.append(f"#SBATCH --{flag}={value}")
    if opts.grace:
        # SIGTERM to the batch shell `grace` s before the time limit; the script passes it on to the stage,
        # which saves a checkpoint (rerun the same grid command: the task resumes from it)
        head.append(f"#SBATCH --signal=B:TERM@{opts.grace}")
    if after:
        head.append(f"#SBATCH --dependency=afterany:{':'.join(after)}")
    return head + [f"#SBATCH {opt}" for opt in opts.extra]


# the task's shell passes SIGTERM on to the stage's process group, waits for its checkpoint, exits
TRAP = ("trap 'echo \"xstilts: SIGTERM: passed on to the stage, which saves a checkpoint\"; "
        "kill -TERM -- -$RUN 2>/dev/null; wait $RUN; exit 143' TERM")
PUSH_WITH_DATA = ('dvc exp push origin "$NAME" --run-cache -f   '
                  '# its ref into $REPO, its data and run-cache to the remote')
PUSH_REF_ONLY = ('dvc exp push origin "$NAME" --no-cache -f   '
                 '# its ref into $REPO (its data is in the shared cache already)')


def _cache_setup(shared_remote: str | None) -> str:
    """How a task's clone reaches the shared cache: the DVC remote, or the repository's own cache dir."""
    if shared_remote:
        return (f"# the cache: DVC remote '{shared_remote}' (its endpoint and credentials from the repository's "
                f".dvc/config.local)\n"
                f"[ ! -f \"$REPO/.dvc/config.local\" ] || cp \"$REPO/.dvc/config.local\" .dvc/config.local\n"
                f"PULL=--pull")
    return ("# no DVC remote: the repository's own cache directory, on the disk the nodes share\n"
            "dvc cache dir --local \"$REPO/.dvc/cache\"\nPULL=")


def task_body(todo: list, commit: str, opts: Options, repo: Path, shared_remote: str | None) -> str:
    """What each array task runs: its experiment in its own clone, then the push of its ref (and data)."""
    cases = []
    for i, e in enumerate(todo):
        sets = " ".join(f"-S {shlex.quote(f'{k}={yaml_value(v)}')}" for k, v in e.overrides.items())
        cases.append(f"  {i}) NAME={shlex.quote(e.name)}; SET=({sets}) ;;")
    cache = _cache_setup(shared_remote)
    procs = f"export XSTILTS_PROCESSES={opts.gpus_per_job}  # DDP over the job's GPUs\n" \
        if opts.gpus_per_job > 1 else ""
    push = PUSH_WITH_DATA if shared_remote else PUSH_REF_ONLY
    costs = paths.COSTS.as_posix()
    return f"""
set -euo pipefail
REPO={shlex.quote(str(repo.resolve()))}
COMMIT={commit}
case "$SLURM_ARRAY_TASK_ID" in
{chr(10).join(cases)}
  *) echo "no experiment for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;
esac
echo "xstilts: $NAME on $(hostname) (job $SLURM_JOB_ID, task $SLURM_ARRAY_TASK_ID) at $(date -u +%FT%TZ)"
WORK="${{XSTILTS_SLURM_WORKDIR:-$REPO/{paths.SLURM_DIR.as_posix()}/work}}/$NAME"
if [ -d "$WORK/.git" ]; then
  # a requeued or resubmitted task: same clone, so its stages resume from their checkpoints
  git -C "$WORK" fetch -q origin && git -C "$WORK" checkout -q -f "$COMMIT"
  rm -f "$WORK/.dvc/tmp/rwlock"   # left by the killed run; nothing else uses this clone
  git -C "$WORK" for-each-ref --format='%(refname)' refs/exps | xargs -r -n1 git -C "$WORK" update-ref -d
else
  mkdir -p "$(dirname "$WORK")"
  git clone -q "$REPO" "$WORK" && git -C "$WORK" checkout -q "$COMMIT"
fi
cd "$WORK"
{cache}
{procs}# in its own process group, in the background: the shell's trap passes SIGTERM (a preemption, or --signal
# before the time limit) to DVC and the stage running under it, which checkpoints, and waits for them
setsid dvc exp run $PULL -n "$NAME" "${{SET[@]}}" &
RUN=$!
{TRAP}
wait $RUN
trap - TERM
{push}
# what it cost (logs/costs/experiments/<baseline>/<name>/<stage>.json), beside the repository's own
mkdir -p "$REPO/{costs}" && cp -r {costs}/experiments "$REPO/{costs}/" 2>/dev/null || true
cd / && rm -rf "$WORK"
echo "xstilts: $NAME done at $(date -u +%FT%TZ)"
"""


def _state() -> list[dict]:
    return json.loads(STATE.read_text()) if STATE.exists() else []


def in_flight() -> dict[str, str]:
    """{experiment name: "<job>_<task> <STATE>"} of submitted tasks SLURM still holds."""
    jobs = _state()
    if not jobs:
        return {}
    proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise GridError(f"squeue failed: {proc.stderr.strip() or proc.stdout.strip()} (is this a SLURM login node? "
                        f"SLURM_CONF?)")
    states = dict(line.split()[:2] for line in proc.stdout.splitlines() if len(line.split()) >= 2)
    out = {}
    for job in jobs:
        for i, name in enumerate(job["names"]):
            task = f"{job['job']}_{i}"
            state = states.get(task) or (states.get(job["job"]) if len(job["names"]) == 1 else None)
            if state in ACTIVE:
                out[name] = f"{task} {state}"
    return out


def submit(text: str, names: list[str], commit: str) -> str:
    paths.SLURM_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = paths.SLURM_DIR / f"grid-{stamp}.sbatch"
    io.atomic_write_text(path, text)
    proc = subprocess.run(["sbatch", "--parsable", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise GridError(f"sbatch {path} failed: {(proc.stderr or proc.stdout).strip()}")
    job = proc.stdout.strip().split(";")[0]
    io.atomic_write_text(STATE, json.dumps(_state() + [{"job": job, "names": names, "commit": commit,
                                                         "script": str(path), "submitted": stamp}], indent=1))
    return job


def require_clean_tree() -> str:
    """The commit the jobs check out: HEAD, which must hold every change the experiments read."""
    # reports/grid.json is the grid's own output (collect), read by the report stage only
    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if line[3:] != paths.GRID_FILE.as_posix()]
    if dirty:
        raise GridError(f"SLURM jobs run a commit, and the work tree has uncommitted changes: "
                        f"{', '.join(dirty[:5])}{' ...' if len(dirty) > 5 else ''}; commit them (or stash) first")
    return git("rev-parse", "HEAD").strip()


def run(waves: list[list], opts: Options, label: str, wait: bool, dry_run: bool, remote, log=print,
        poll: float = 10.0) -> bool:
    """Submit the missing experiments (skipping those SLURM still runs), one job array per wave
    (planning.waves), each array starting after the one before has ended (--dependency=afterany), so
    what the experiments share is computed once; with wait, block until every task has left the
    queue. True when the caller should collect now."""
    flying = in_flight() if not dry_run else {}
    todo = [e for wave in waves for e in wave]
    for name, where in flying.items():
        if any(e.name == name for e in todo):
            log(f"  {name}: already submitted ({where})")
    commit = git("rev-parse", "HEAD").strip() if dry_run else require_clean_tree()
    after: list[str] = sorted({w.split("_")[0] for n, w in flying.items() if any(e.name == n for e in todo)})
    for i, wave in enumerate(waves):
        new = [e for e in wave if e.name not in flying]
        if not new:
            continue
        text = script(new, commit, opts, label, Path.cwd(), remote.name if remote else None, after=after)
        if dry_run:
            print(f"# --- wave {i + 1} of {len(waves)} ---\n{text}", end="")
            after = ["<the job above>"]
            continue
        job = submit(text, [e.name for e in new], commit)
        log(f"submitted job array {job} (wave {i + 1} of {len(waves)}, {len(new)} task(s)"
            f"{', after ' + ','.join(after) if after else ''}); logs: {paths.SLURM_DIR}/{job}_<task>.log")
        after = [job]
    if dry_run:
        return False
    if not wait:
        log("`squeue` follows them; run the same command again when they are done to collect "
            "(what is done is skipped, what is still queued is not submitted twice)")
        return False
    names = [e.name for e in todo]
    t0, last = time.time(), None
    while True:
        flying = {n: w for n, w in in_flight().items() if n in names}
        line = f"grid: {len(names) - len(flying)}/{len(names)} tasks finished"
        if line != last:
            log(f"{line} ({time.time() - t0:.0f} s)")
            last = line
        if not flying:
            return True
        time.sleep(poll)


def failed_tasks(names: list[str]) -> list[str]:
    """For experiments that left the queue without a result: where their logs are, and their last line."""
    out = []
    for job in reversed(_state()):
        for i, name in enumerate(job["names"]):
            if name in names and not any(name in o.split(":")[0] for o in out):
                log = paths.SLURM_DIR / f"{job['job']}_{i}.log"
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else ["(no log yet)"]
                out.append(f"{name}: {log}: {tail[0][:200] if tail else ''}")
    return out
