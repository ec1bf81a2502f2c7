"""The code deps of every DVC stage, computed from the code: a stage's cmd runs one script in stages/,
and the code it can execute is that script plus every xstilts module it imports, directly or
through other modules (any import statement, at module level or inside a function: a conservative
closure), plus each imported module's packages (their __init__.py run on import), plus the files
those modules read as code (templates, measured tables: FILES_READ).

`xstilts deps` checks dvc.yaml against this (a missing dep lets a stale number pass as regenerated;
an extra one reruns a stage for nothing); `xstilts deps --write` rewrites the code entries of every
stage's deps, keeping its data deps, in place (comments and layout kept).
"""
from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import yaml

from xstilts.core import paths

PACKAGE = "xstilts"
CODE_PREFIXES = ("stages/", f"{PACKAGE}/")
# Non-Python files a module reads as part of its code: a change to them changes what it computes.
FILES_READ = {
    "xstilts/research/report.py": ["xstilts/research/templates"],
    "xstilts/research/languages.py": ["data/languages.csv"],
    "xstilts/research/cost.py": ["benchmarks/throughput.csv"],
}
CODE_FILES = tuple(f for files in FILES_READ.values() for f in files)


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


def closure(script: str, root: Path = paths.REPO) -> list[str]:
    """Every repo-relative code file that running `script` can execute or read, sorted."""
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


def script_of(cmd: str) -> str:
    words = shlex.split(cmd)
    if len(words) < 2 or words[0] != "python" or not words[1].startswith("stages/") or not words[1].endswith(".py"):
        raise DepsError(f"a stage's cmd must run its script as `python stages/<stage>.py ...`, got: {cmd}")
    return words[1]


def is_code(dep: str) -> bool:
    return dep.startswith(CODE_PREFIXES) or dep in CODE_FILES


def declared(stage: dict) -> list[str]:
    return [d for d in stage.get("deps", []) if isinstance(d, str) and is_code(d)]


def check(dvc_yaml: Path = paths.DVC_YAML, root: Path = paths.REPO) -> list[str]:
    """One line per stage whose code deps differ from its closure (empty: all complete and exact)."""
    stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
    problems = []
    for name, stage in stages.items():
        body = stage.get("do", stage)
        want = closure(script_of(body["cmd"]), root)
        have = declared(body)
        missing = [f for f in want if f not in have]
        extra = [f for f in have if f not in want and not re.search(r"\$\{", f)]
        if missing:
            problems.append(f"{name}: missing code deps: {', '.join(missing)}")
        if extra:
            problems.append(f"{name}: code deps it never runs: {', '.join(extra)}")
    return problems


def write(dvc_yaml: Path = paths.DVC_YAML, root: Path = paths.REPO) -> list[str]:
    """Rewrite every stage's code deps (round trip: comments kept); returns what changed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 120
    doc = rt.load(Path(dvc_yaml).read_text())
    changed = []
    for name, stage in doc["stages"].items():
        body = stage["do"] if "do" in stage else stage
        want = closure(script_of(body["cmd"]), root)
        data = [d for d in body.get("deps", []) if not (isinstance(d, str) and is_code(d))]
        if declared(body) != want:
            changed.append(f"{name}: {len(want)} code deps")
        deps = CommentedSeq([*data, *want])
        body["deps"] = deps
    with open(dvc_yaml, "w") as f:
        rt.dump(doc, f)
    return changed
