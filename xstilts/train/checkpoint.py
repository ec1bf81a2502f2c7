"""Resumable training state, outside DVC's outs (.checkpoints/<stage>/<run>-<inputs hash>/).

DVC deletes a stage's outputs before running it, and a paper-profile stage runs for hours: the
state to resume from lives beside the outputs, keyed by a hash of everything that determines the
result (params, code manifest, input data, runtime numerics), so a changed param or input never
resumes a stale checkpoint. Writes are atomic (temp file, then rename); the stage removes its
checkpoints once its outputs are written.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from xstilts.core import paths


def digest(*parts) -> str:
    """sha256 of JSON-able parts; a Path part counts as the md5 of every file under it."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for f in files:
                md5 = hashlib.md5()
                with open(f, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 22), b""):
                        md5.update(chunk)
                h.update(f"{f.relative_to(part) if part.is_dir() else f.name}:{md5.hexdigest()}\n".encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
            h.update(b"\n")
    return h.hexdigest()


class Checkpoint:
    """One training run's resumable state: state.pt (written by the main process) and rng-<rank>.pt
    (each process's dropout RNG), plus result.json once the run has finished."""

    def __init__(self, stage: str, run: str, key: str):
        self.stage_dir = paths.CHECKPOINTS / stage
        self.dir = self.stage_dir / f"{run}-{key[:20]}"
        if self.stage_dir.is_dir():  # another key of this run: its inputs changed, it can never resume
            for old in self.stage_dir.glob(f"{run}-*"):
                if old != self.dir:
                    shutil.rmtree(old, ignore_errors=True)

    def _write(self, name: str, obj) -> None:
        import torch
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{name}.tmp-{os.getpid()}"
        torch.save(obj, tmp)
        os.replace(tmp, self.dir / name)

    def save(self, state: dict | None, rank: int, rng: dict) -> None:
        self._write(f"rng-{rank}.pt", rng)
        if state is not None:
            self._write("state.pt", state)

    def load(self, rank: int) -> tuple[dict, dict] | None:
        import torch
        state, rng = self.dir / "state.pt", self.dir / f"rng-{rank}.pt"
        if not (state.exists() and rng.exists()):
            return None
        return (torch.load(state, map_location="cpu", weights_only=False),
                torch.load(rng, map_location="cpu", weights_only=False))

    def save_result(self, result: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".result.json.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(result))
        os.replace(tmp, self.dir / "result.json")

    def result(self) -> dict | None:
        f = self.dir / "result.json"
        return json.loads(f.read_text()) if f.exists() else None


def clear(stage: str) -> None:
    """The stage finished and wrote its outputs: its checkpoints are no longer needed."""
    shutil.rmtree(paths.CHECKPOINTS / stage, ignore_errors=True)
