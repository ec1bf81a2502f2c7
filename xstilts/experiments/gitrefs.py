"""Git, where results live: the command, a file at a commit, and every place a run can be (experiment
refs `refs/exps/<baseline>/<name>`, local branches, HEAD)."""
from __future__ import annotations

import subprocess

from xstilts.experiments.errors import GridError


def git(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise GridError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def show(commit: str, path: str) -> str | None:
    proc = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def sources() -> list[tuple[str, str, str, str | None]]:
    """(kind, name, commit, baseline commit or None) of every place results can live: experiments,
    branches, HEAD."""
    out = []
    for line in git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps", "refs/heads").splitlines():
        ref, sha = line.split()
        parts = ref.split("/")
        if parts[1] == "exps":  # refs/exps/<2 hex>/<38 hex>/<name>; exec/ and celery/ refs are DVC's own
            if len(parts) == 5 and len(parts[2]) == 2 and len(parts[3]) == 38:
                out.append(("experiment", parts[4], sha, parts[2] + parts[3]))
        else:
            out.append(("branch", "/".join(parts[2:]), sha, None))
    head = git("rev-parse", "HEAD").strip()
    out.append(("HEAD", "HEAD", head, None))
    return out


def experiment_names() -> list[str]:
    return [name for kind, name, _, _ in sources() if kind == "experiment"]
