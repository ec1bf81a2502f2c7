"""What `dvc repro` or `dvc exp run -S key=value` would run, listed by DVC's own dry run.

DVC 3.67's `--dry` crashes with "No such file or directory" on the first stage whose input an earlier
stage has not written yet: the run-cache lookup hashes the missing input (treeverse/dvc#9818). That is
every stage after the first in a fresh clone, and every changed stage of `dvc exp run --dry`, which
always runs in an empty temporary copy of the repository (`tests/test_dryrun.py` shows both on a
two-stage pipeline). `listing` runs DVC's dry reproduction in-process with that lookup answering "not
cached" for a stage whose inputs do not exist yet, which is what it means; DVC decides the rest.

With overrides, the dry run happens in a temporary copy of the working tree whose DVC outputs are
checked out from this repository's cache (as links), so it lists what `dvc exp run -S` would run
here: the stages the overrides change and everything downstream of them, nothing the cache restores.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def missing_inputs_are_uncached() -> Iterator[None]:
    """DVC's run-cache lookup, answering "not cached" when a stage's input does not exist yet."""
    from dvc.stage import cache as stage_cache

    original = stage_cache._can_hash

    def can_hash(stage) -> bool:
        if any(dep.protocol == "local" and not dep.exists for dep in stage.deps):
            return False
        return original(stage)

    stage_cache._can_hash = can_hash
    try:
        yield
    finally:
        stage_cache._can_hash = original


@contextlib.contextmanager
def _dvc_quiet() -> Iterator[None]:
    """DVC's per-stage lines ("Running stage", the command, "didn't change") go nowhere: the caller lists the stages."""
    dvc_logger = logging.getLogger("dvc")
    level = dvc_logger.level
    dvc_logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        dvc_logger.setLevel(level)


def _dry_reproduce(root: Path, verbose: bool) -> list[str]:
    from dvc.repo import Repo

    with (missing_inputs_are_uncached(), contextlib.chdir(root), Repo(str(root)) as repo,
          contextlib.nullcontext() if verbose else _dvc_quiet()):
        return [stage.addressing for stage in repo.reproduce(dry=True, force_downstream=True)]


def _working_copy(root: Path, into: Path) -> None:
    """The working tree's files git knows or would add (uncommitted edits included, as `dvc exp run` does),
    DVC's config, and the DVC outputs checked out from `root`'s cache as symlinks."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = root / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    subprocess.run(["git", "init", "-q"], cwd=into, check=True)
    from dvc.repo import Repo

    with Repo(str(root)) as source_repo:
        cache = source_repo.cache.local_cache_dir
    with Repo(str(into)) as repo, repo.config.edit("local") as local:
        local.setdefault("cache", {}).update({"dir": str(cache), "type": "symlink"})
    with contextlib.chdir(into), Repo(str(into)) as repo:
        repo.checkout(allow_missing=True)


def listing(overrides: list[str] | None = None, root: Path | None = None,
            validate: Callable[[Path], object] | None = None, verbose: bool = False) -> list[str]:
    """The stages `dvc repro` (no overrides) or `dvc exp run -S <overrides>` would run in `root`, in order.
    `validate` is called on the overridden params file first (a typo fails before any DVC work); `verbose`
    shows DVC's own lines."""
    root = Path(root or os.getcwd()).resolve()
    if not overrides:
        return _dry_reproduce(root, verbose)
    from dvc.utils.hydra import apply_overrides

    with tempfile.TemporaryDirectory(prefix="xstilts-dry-") as tmp:
        _working_copy(root, Path(tmp))
        params_file = Path(tmp) / "params.yaml"
        apply_overrides(str(params_file), list(overrides))
        if validate:
            validate(params_file)
        return _dry_reproduce(Path(tmp), verbose)
