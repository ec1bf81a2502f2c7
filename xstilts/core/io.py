"""Atomic outputs and JSON lines: an interrupted stage never leaves a half-written output that
looks complete (a temp path under .staging/, then rename)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from xstilts.core import paths


# --- atomic outputs ---------------------------------------------------------------------------
def staging_dir(path: Path, pid: int | None = None) -> Path:
    """Where `path` is written before it is complete. A pipeline output (a relative path) is staged
    under .staging/, outside every folder a stage lists as a dep (a half-written folder inside
    data/predictions would be hashed into `score`'s deps); anything else beside itself."""
    pid = os.getpid() if pid is None else pid
    if not path.is_absolute():
        return paths.STAGING / f"{path.as_posix().replace('/', '__')}.tmp-{pid}"
    return path.with_name(f".{path.name}.tmp-{pid}")


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temp dir; on success it replaces `path`, on error (and on SIGTERM: xstilts/core/stage.py
    turns it into SystemExit) it is removed. An interrupted stage thus never leaves a half-written
    output that looks complete; what kill -9 leaves is removed by the next write of the same output."""
    path = Path(path)
    tmp = staging_dir(path)
    remove_stale(path)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(path)


def remove_stale(path: Path) -> None:
    """Earlier temp folders of `path` (a process killed by kill -9 cannot clean up), whichever process
    made them: one stage writes an output, and DVC runs one stage of a workspace at a time."""
    path, mine = Path(path), staging_dir(Path(path))
    prefixes = {(mine.parent, mine.name.rsplit("-", 1)[0] + "-"), (path.parent, f".{path.name}.tmp-")}  # the
    for where, prefix in prefixes:                                # latter: beside the output, as older code wrote
        if not where.is_dir():
            continue
        for old in where.iterdir():
            if old.name.startswith(prefix) and old.name[len(prefix):].isdigit() and old != mine:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_jsonl(path: Path, rows) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
