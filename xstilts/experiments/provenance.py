"""Is a run's code the code here? The code deps of its stages as its dvc.lock records them, and the
md5s they have here.

A run is *current* when the code behind its numbers is the code here: every code dep of a stage up
to `score` (its script's manifest, data/code/<script>.json, or a code file listed directly) has, in
the run's dvc.lock, the md5 it has here (a manifest's: as the `code` stage would write it now).
A run from older code is stale: `xstilts grid` runs its setting again (DVC's run-cache makes the
unchanged stages free).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
from pathlib import Path

from xstilts.core import paths

CODE_DIRS = ("stages/", "xstilts/", f"{paths.CODE_MANIFESTS.as_posix()}/")  # code deps: files, or a stage's manifest
REPORT_STAGES = {"report"}        # the report reads results; it does not make them


def md5_file(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def md5_json(value) -> str:
    return hashlib.md5(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _resolve(value, params: dict):
    """A foreach/matrix list as dvc.yaml writes it: a literal, or "${param}" (dotted keys allowed)."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        out = params
        for key in value[2:-1].split("."):
            out = out[key]
        return out
    return value


def pipeline_stages(dvc_yaml: dict, params: dict) -> set[str]:
    """The stage names a dvc.yaml defines with these params, by DVC's naming: `name`,
    `name@item` (foreach over a list, `name@key` over a dict), `name@a-b` (matrix)."""
    names = set()
    for name, stage in (dvc_yaml.get("stages") or {}).items():
        if "foreach" in stage:
            names |= {f"{name}@{item}" for item in _resolve(stage["foreach"], params)}
        elif "matrix" in stage:
            axes = [_resolve(v, params) for v in stage["matrix"].values()]
            names |= {f"{name}@{'-'.join(map(str, combo))}" for combo in itertools.product(*axes)}
        else:
            names.add(name)
    return names


def code_deps(lock: dict, stage_names: set[str] | None = None) -> dict[str, str]:
    """{path: md5} of the git-tracked code files the stages up to `score` depend on. dvc.lock keeps
    the entries of stages that left the pipeline (a target dropped from the lists, a renamed stage),
    with the md5s of their last run: only the pipeline's own stages (`stage_names`) count. Two
    stages that ran the same file at different md5s make it "mixed:..." (never a file's md5: stale)."""
    deps = {}
    for name, stage in lock.get("stages", {}).items():
        if name in REPORT_STAGES or (stage_names is not None and name not in stage_names):
            continue
        for dep in stage.get("deps", []):
            if dep["path"].startswith(CODE_DIRS) and "md5" in dep and not dep["md5"].endswith(".dir"):
                seen = deps.get(dep["path"], dep["md5"])
                deps[dep["path"]] = seen if seen == dep["md5"] else f"mixed:{','.join(sorted({seen, dep['md5']}))}"
    return deps


def current_md5(path: str) -> str | None:
    """A code dep's md5 for the code here: a file's, or for a stage's manifest (data/code/<script>.json)
    the md5 the `code` stage would write now (xstilts/core/manifests.py)."""
    if path.startswith(f"{paths.CODE_MANIFESTS.as_posix()}/"):
        script = f"stages/{Path(path).stem}.py"
        return _manifest_md5(script, str(Path.cwd())) if Path(script).is_file() else None
    return md5_file(Path(path)) if Path(path).is_file() else None


@functools.cache
def _manifest_md5(script: str, root: str) -> str:
    """Once per script and process: collecting runs asks for the same manifests for every run."""
    from xstilts.core import manifests
    return hashlib.md5(manifests.manifest_text(script, Path(root)).encode()).hexdigest()


def stale_files(deps: dict[str, str]) -> list[str]:
    """The code deps whose md5 differs here (or that are gone)."""
    return sorted(path for path, md5 in deps.items() if current_md5(path) != md5)
