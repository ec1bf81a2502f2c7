"""Pinned data: the commit each Hub dataset repo of profile paper is read at.

A revision that is a branch or a ref (`main`, `refs/convert/parquet`) moves when the repo's owner
pushes: the same params can read other bytes next month. `paper.data.revisions` pins a repo to a
commit. `xstilts pin` (online) resolves every repo the registry reads to the commit its revision
names now and writes the pins into params.yaml; `xstilts preflight` and the report name the sources
left unpinned. A repo whose splits are read at two different revisions (a parquet export beside
`main`) cannot take one pin: it is named, and left as it is.
"""
from __future__ import annotations

import re
from pathlib import Path

from xstilts.core import tasks
from xstilts.data import needs

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def is_pinned(revision: str | None) -> bool:
    return bool(revision) and bool(COMMIT.match(revision))


def repo_revisions(revisions: dict | None, mlm=None) -> dict[str, set[str]]:
    """{repo: the revisions its splits are read at}, for everything the registry reads in profile paper
    (with params' pins applied)."""
    out: dict[str, set[str]] = {}
    for n in needs.needs(list(tasks.TARGETS), list(tasks.INTERMEDIATE_TASKS), list(tasks.BENCHMARKS),
                         translated_train=True, mlm=mlm, revisions=revisions):
        out.setdefault(n.repo, set()).add(n.revision)
    return out


def unpinned(wanted) -> list[str]:
    """'repo@revision' of the needs (xstilts/data/needs.py Need) not read at a commit."""
    return sorted({f"{n.repo}@{n.revision}" for n in wanted if not is_pinned(n.revision)})


def resolve(repo: str, revision: str) -> str:
    """The commit a dataset repo's revision names now (network: the Hub's API)."""
    from huggingface_hub import HfApi
    return HfApi().dataset_info(repo, revision=revision).sha


def pin(params_file: Path, revisions: dict | None, mlm=None, dry_run: bool = False, log=print) -> dict[str, str]:
    """Resolve every unpinned repo and write `paper.data.revisions` (the MLM corpus: its own
    `paper.intermediate_train.mlm.revision`), through the round trip DVC's -S uses, so the file's
    comments and layout stay. Returns {repo: commit} of the new pins."""
    new, mixed = {}, []
    found = repo_revisions(revisions, mlm)
    corpus = mlm.corpus if mlm is not None and mlm.corpus else None
    for repo, revs in sorted(found.items()):
        if repo == corpus:
            revs = {mlm.revision or "main"}
        if len(revs) > 1:
            mixed.append(f"{repo} ({', '.join(sorted(revs))})")
            continue
        rev = next(iter(revs))
        if is_pinned(rev):
            continue
        new[repo] = resolve(repo, rev)
        log(f"pin: {repo}@{rev} -> {new[repo]}")
    for m in mixed:
        log(f"pin: {m}: read at two revisions, not pinned (one pin per repo); pin it by hand if both are commits")
    if new and not dry_run:
        from dvc.utils.serialize import modify_yaml
        with modify_yaml(params_file) as doc:
            section = doc["paper"]["data"]
            for repo, sha in new.items():
                if repo == corpus:
                    doc["paper"]["intermediate_train"]["mlm"]["revision"] = sha
                    continue
                if not section.get("revisions"):
                    section["revisions"] = {}
                section["revisions"][repo] = sha
    return new
