"""Reading what the prepare stages wrote under data/prepared/<task>/ (xstilts/data/normalize/ has
the row schemas): English train/dev rows, evaluation rows per split and language, candidate pools,
meta.json."""
from __future__ import annotations

import json
from pathlib import Path

from xstilts.core import io, paths
from xstilts.core.paths import PREPARED


# --- reading prepared data --------------------------------------------------------------------
def task_dir(task: str, root: Path = PREPARED) -> Path:
    return root / task


def eval_path(task: str, split: str, lang: str, root: Path = PREPARED) -> Path:
    return paths.eval_rows(task_dir(task, root), split, lang)


def load_rows(path: Path) -> list[dict]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dvc repro` (the prepare stages write it)")
    return io.read_jsonl(path)


def load_train(task_dir_name: str, part: str, root: Path = PREPARED) -> list[dict]:
    """English training ('train') or early-stopping ('dev') rows of a prepared task."""
    return load_rows(paths.rows(task_dir(task_dir_name, root), part))


def load_eval(task: str, split: str, lang: str, root: Path = PREPARED) -> list[dict]:
    return load_rows(eval_path(task, split, lang, root))


def load_pool(task: str, split: str, root: Path = PREPARED) -> list[dict]:
    return load_rows(paths.pool_rows(task_dir(task, root), split))


def prepared_meta(task: str, root: Path = PREPARED) -> dict:
    path = task_dir(task, root) / paths.META
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dvc repro` (the prepare stages write it)")
    return json.loads(path.read_text())


def write_skipped(out: Path, meta: dict) -> bool:
    """A task the prepare stage skipped (outside the benchmark, or `none`): record why, return True."""
    if "skipped" not in meta:
        return False
    with io.atomic_dir(out) as tmp:
        (tmp / paths.SKIPPED).write_text(json.dumps({"skipped": meta["skipped"]}) + "\n")
    print(f"{out}: skipped ({meta['skipped']})")
    return True


def eval_sets(task: str, languages, root: Path = PREPARED) -> list[tuple[str, str]]:
    """The (split, lang) evaluation files a prepared task has, among `languages`."""
    counts = prepared_meta(task, root)["counts"].get("eval", {})
    return [(split, lang) for split in ("dev", "test") for lang in languages if lang in counts.get(split, {})]
