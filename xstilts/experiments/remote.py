"""The shared cache: a DVC remote (S3, or any DVC remote) that `xstilts grid`, `claim` and the family
grids push finished experiments to, and that a colleague's clone pulls them from.

What lives where: the git remote holds the experiments' refs (refs/exps/..., with their params,
dvc.lock and git-tracked metrics: all a verdict needs); the DVC remote holds their data, models and
DVC's run-cache (so a stage whose inputs match a pushed run is restored, not recomputed).
Credentials never enter a tracked file: `dvc remote modify --local` writes .dvc/config.local
(git-ignored), or boto's AWS_* environment variables apply.

Every failure of the remote becomes one line saying what to fix (server down, bucket missing, no
or rejected credentials), checked before anything is queued.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

from xstilts.experiments.errors import GridError


class RemoteError(GridError):
    """The DVC remote cannot be used as configured; the message says what to fix."""


@dataclass(frozen=True)
class Remote:
    name: str
    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")


SETUP = ("dvc remote add -d <name> s3://<bucket>/<path>; dvc remote modify --local <name> endpointurl <url> "
         "(not on AWS); dvc remote modify --local <name> access_key_id <id>; "
         "dvc remote modify --local <name> secret_access_key <secret>")


def _repo():
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    try:
        return Repo(".")
    except DvcException as e:
        raise RemoteError(f"DVC cannot read its config: {e} (a remote removed with its credentials left in "
                          f".dvc/config.local? edit that file)") from None


def default() -> Remote | None:
    """The default DVC remote (`dvc remote add -d`), or None when there is none."""
    with _repo() as repo:
        name = repo.config["core"].get("remote")
        if not name:
            return None
        conf = repo.config["remote"].get(name)
        if conf is None:
            raise RemoteError(f"the default DVC remote '{name}' is not defined: `dvc remote list` shows the "
                              f"remotes; `dvc remote default <name>` picks one")
        return Remote(name, conf["url"])


def describe(remote: Remote, error: BaseException | str) -> str:
    """One line: what is wrong with `remote` and what to do, from boto's, s3fs's or DVC's message."""
    text = str(error)
    kind = type(error).__name__ if isinstance(error, BaseException) else ""
    where = f"DVC remote '{remote.name}' ({remote.url})"
    if "NoCredentials" in kind or "Unable to locate credentials" in text:
        return (f"{where}: no credentials: `dvc remote modify --local {remote.name} access_key_id ...` and "
                f"`... secret_access_key ...`, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
    if "Could not connect to the endpoint" in text or "EndpointConnection" in kind or "Connect timeout" in text:
        endpoint = text.split('URL:')[-1].strip() if 'URL:' in text else text[:120]
        return (f"{where}: cannot reach the S3 endpoint ({endpoint}): "
                f"is the server up? Check `dvc remote modify --local {remote.name} endpointurl ...`")
    if "bucket does not exist" in text or "NoSuchBucket" in text:
        bucket = remote.url[len("s3://"):].split("/")[0]
        return f"{where}: the bucket '{bucket}' does not exist: create it (`aws s3 mb s3://{bucket}`) or fix the url"
    if any(s in text for s in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden")):
        return (f"{where}: the credentials were rejected ({text.strip().splitlines()[-1][:160]}): check "
                f"`dvc remote modify --local {remote.name} access_key_id/secret_access_key`")
    first = next((line for line in text.splitlines() if line.strip()), text)
    return f"{where}: {first.strip()[:300]}"


def check(remote: Remote) -> None:
    """Reach the remote before anything is queued; RemoteError with one line if it cannot be used."""
    if not remote.is_s3:
        return  # a directory (a cluster's shared disk) or another DVC remote: DVC's own errors say enough
    with _repo() as repo:
        try:
            store = repo.cloud.get_remote(remote.name)
            store.fs.ls(store.path.split("/")[0])
        except Exception as e:  # boto, s3fs and aiohttp raise unrelated classes for the same faults
            raise RemoteError(describe(remote, e)) from None


def git_remote() -> str | None:
    """The git remote experiments are pushed to: `origin` if present, else the only one, else None."""
    names = subprocess.run(["git", "remote"], capture_output=True, text=True).stdout.split()
    if "origin" in names:
        return "origin"
    return names[0] if len(names) == 1 else None


def _dvc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["dvc", *args], capture_output=True, text=True)


def _failure(remote: Remote, proc: subprocess.CompletedProcess) -> str | None:
    errors = [line[len("ERROR: "):] for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ERROR")]
    if proc.returncode == 0 and not errors:
        return None
    return describe(remote, "\n".join(errors) or (proc.stdout + proc.stderr)[-300:])


def push_experiments(names: list[str], remote: Remote, log=print) -> None:
    """`dvc exp push <git remote> NAME --run-cache` for each finished experiment: its ref to the git
    remote; its outputs and its stages' run-cache to the DVC remote."""
    git_name = git_remote()
    if git_name is None:
        log(f"not pushed: no git remote for the experiments' refs (`git remote add origin ...`); their data "
            f"can go to '{remote.name}' with `dvc exp push <git remote> <name>` once there is one")
        return
    refs_only = []
    for name in names:
        proc = _dvc("exp", "push", git_name, name, "--run-cache", "-f")
        problem = _failure(remote, proc)
        if problem and "config file error" in problem:
            # DVC reads the remote from the experiment's own commit: one made before the remote was
            # committed to .dvc/config cannot push its outputs (only .dvc/config.local's half is there)
            problem = _failure(remote, _dvc("exp", "push", git_name, name, "--no-cache", "-f"))
            refs_only.append(name)
        if problem:
            raise RemoteError(f"pushing experiment '{name}': {problem}")
    log(f"pushed {len(names)} experiment(s): refs to git remote '{git_name}', data and run-cache to '{remote.name}'")
    if refs_only:
        log(f"  only the refs of {', '.join(refs_only)}: made before remote '{remote.name}' was in the committed "
            f".dvc/config, so DVC cannot push their outputs; `dvc exp apply <name> && dvc push` does, or a rerun")


def push_workspace(remote: Remote, log=print) -> None:
    """`dvc push --run-cache`: the workspace's outputs and run-cache, so jobs elsewhere reuse them."""
    problem = _failure(remote, _dvc("push", "--run-cache"))
    if problem:
        raise RemoteError(problem)
    log(f"pushed the workspace's outputs and run-cache to '{remote.name}'")


def pull_experiments(remote: Remote | None, with_data: bool, log=print) -> int:
    """`xstilts collect --remote`: every experiment ref the git remote holds (its params, dvc.lock and
    metrics: all a verdict needs); with_data, also each one's outputs and run-cache from the DVC
    remote (`dvc exp pull`: profile paper's models are gigabytes). Returns how many refs are new."""
    git_name = git_remote()
    if git_name is None:
        raise RemoteError("no git remote to pull experiments from: `git remote add origin <url>`")
    before = _exp_refs()
    fetch = subprocess.run(["git", "fetch", "-q", git_name, "+refs/exps/*:refs/exps/*"], capture_output=True, text=True)
    if fetch.returncode != 0:
        last = (fetch.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RemoteError(f"git fetch {git_name} refs/exps/* failed: {last}")
    new = _exp_refs() - before
    if with_data:
        if remote is None:
            raise RemoteError(f"--with-data needs a default DVC remote: {SETUP}")
        check(remote)
        for name in sorted({ref.rsplit("/", 1)[1] for ref in _exp_refs()}):
            problem = _failure(remote, _dvc("exp", "pull", git_name, name, "--run-cache", "-f"))
            if problem:
                raise RemoteError(f"pulling experiment '{name}': {problem}")
    log(f"fetched {len(new)} new experiment ref(s) from git remote '{git_name}'"
        + (f"; their outputs and run-cache from '{remote.name}'" if with_data else
           "; `dvc exp pull <remote> <name>` (or --with-data) brings an experiment's outputs"))
    return len(new)


def _exp_refs() -> set[str]:
    out = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], capture_output=True, text=True)
    return {r for r in out.stdout.split() if r.count("/") == 4}


def unpushed(runs: list) -> list[str]:
    """Names of the experiments among `runs` whose commit the git remote does not hold yet."""
    git_name = git_remote()
    names = [r.name for r in runs if r.source == "experiment"]
    if git_name is None or not names:
        return names
    proc = subprocess.run(["git", "ls-remote", git_name, "refs/exps/*"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RemoteError(f"git ls-remote {git_name} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    there = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    return sorted({r.name for r in runs if r.source == "experiment" and r.commit not in there})
