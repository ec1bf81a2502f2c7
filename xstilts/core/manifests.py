"""The code each DVC stage runs, computed from the code itself (pipeline plumbing, beside the stage
runner xstilts/core/stage.py: it imports nothing above core).

A stage's cmd runs one script in stages/. The code it can execute is that script plus every xstilts
module it imports, directly or through other modules (any import statement, at module level or
inside a function: a conservative closure), plus each imported module's packages (their __init__.py
run on import), plus the files those modules read as code (templates, measured tables: FILES_READ).

Stage `code` (stages/code.py) writes that closure for every stage script, with each file's md5, to
data/code/<script>.json (a *manifest*); every other stage depends on its own script's manifest. The
`code` stage depends on the whole of stages/ and xstilts/, so it reruns on any code change (about a
second), and a stage reruns exactly when a file it can run changed: its manifest's bytes changed.
No list is kept by hand, so none can go stale. `xstilts deps` prints a stage's closure and checks
that each stage of dvc.yaml depends on its own script's manifest and on no other.
"""
from __future__ import annotations

import ast
import hashlib
import json
import shlex
from pathlib import Path

import yaml

from xstilts.core import io, paths

PACKAGE = "xstilts"
# Non-Python files a module reads as part of its code: a change to them changes what it computes.
FILES_READ = {
    "xstilts/report/document.py": ["xstilts/report/templates"],
    "xstilts/claims/languages.py": ["data/languages.csv"],
    "xstilts/experiments/cost.py": ["benchmarks/throughput.csv", "benchmarks/gpu.csv"],
}


# What stage `code` depends on: all the code, and every table of FILES_READ (benchmarks/ as a folder:
# benchmarks/gpu.csv exists only after a GPU run, and DVC refuses a missing file dep).
CODE_DEPS = ["stages", PACKAGE, "data/languages.csv", "benchmarks"]


class DepsError(ValueError):
    pass


def module_file(root: Path, dotted: str) -> str | None:
    """The repo-relative file of an xstilts module or package, or None when it is not one."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def imported_modules(source: str) -> set[str]:
    """The dotted names of the xstilts modules a source file imports (`from a.b import c` counts
    a.b and, when it is a submodule, a.b.c)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == PACKAGE:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def closure(script: str, root: Path | None = None) -> list[str]:
    """Every repo-relative code file (or code folder, FILES_READ) that running `script` can execute
    or read, sorted. `root`: the repository (default: here, where dvc runs the stages)."""
    root = Path.cwd() if root is None else Path(root)
    seen: set[str] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in imported_modules((root / path).read_text(encoding="utf-8")):
            parts = dotted.split(".")
            for i in range(1, len(parts) + 1):  # the packages on the way run their __init__.py
                found = module_file(root, ".".join(parts[:i]))
                if found and found not in seen:
                    todo.append(found)
    files = set(seen)
    for module, read in FILES_READ.items():
        if module in seen:
            files |= set(read)
    return sorted(files)


def _md5s(path: Path, rel: str) -> dict[str, str]:
    if not path.exists():  # an optional table (benchmarks/gpu.csv before a GPU run): absent counts too
        return {rel: "absent"}
    if path.is_dir():
        return {f"{rel}/{p.relative_to(path).as_posix()}": hashlib.md5(p.read_bytes()).hexdigest()
                for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    return {rel: hashlib.md5(path.read_bytes()).hexdigest()}


def manifest_text(script: str, root: Path | None = None) -> str:
    """The manifest of one stage script: every file of its closure with its md5 (JSON, stable)."""
    root = Path.cwd() if root is None else Path(root)
    files: dict[str, str] = {}
    for rel in closure(script, root):
        files.update(_md5s(root / rel, rel))
    return json.dumps({"script": script, "files": files}, indent=1, sort_keys=True) + "\n"


def scripts(root: Path | None = None) -> list[str]:
    root = Path.cwd() if root is None else Path(root)
    return sorted(p.relative_to(root).as_posix() for p in (root / "stages").glob("*.py"))


def manifest_path(script: str) -> Path:
    return paths.CODE_MANIFESTS / f"{Path(script).stem}.json"


def script_of(cmd: str) -> str:
    words = shlex.split(cmd)
    if len(words) < 2 or words[0] != "python" or not words[1].startswith("stages/") or not words[1].endswith(".py"):
        raise DepsError(f"a stage's cmd must run its script as `python stages/<stage>.py ...`, got: {cmd}")
    return words[1]


def check(dvc_yaml: Path = paths.DVC_YAML) -> list[str]:
    """One line per stage that does not depend on its own script's manifest, or depends on code
    some other way (a code file listed by hand would rerun it for the wrong reasons, or miss some)."""
    stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
    problems = []
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = script_of(body["cmd"])
        deps = [d for d in body.get("deps", []) if isinstance(d, str)]
        if name == paths.CODE_STAGE:
            if sorted(deps) != sorted(CODE_DEPS):
                problems.append(f"{name}: deps must be {CODE_DEPS} (all the code), not {deps}")
            uncovered = [f for files in FILES_READ.values() for f in files
                         if not any(f == d or f.startswith(f"{d}/") for d in CODE_DEPS)]
            if uncovered:
                problems.append(f"{name}: its deps {CODE_DEPS} miss files the code reads: {', '.join(uncovered)}")
            continue
        own = manifest_path(script).as_posix()
        manifests = [d for d in deps if d.startswith(f"{paths.CODE_MANIFESTS.as_posix()}/")]
        code = [d for d in deps if d.startswith(("stages/", f"{PACKAGE}/"))]
        if manifests != [own]:
            problems.append(f"{name}: its code dep must be {own} (the manifest of {script}), not {manifests or 'none'}")
        if code:
            problems.append(f"{name}: lists code files by hand ({', '.join(code)}): its manifest covers them")
    return problems


def write_manifests(params) -> None:
    """Stage `code`: every stage script's manifest, data/code/<script>.json."""
    with io.atomic_dir(paths.CODE_MANIFESTS) as tmp:
        for script in scripts():
            (tmp / manifest_path(script).name).write_text(manifest_text(script))
    print(f"code: {len(scripts())} stage manifests -> {paths.CODE_MANIFESTS}")
