"""Loading sources and normalizing them to one canonical schema per task type.

One path serves both profiles: a source is a Hub dataset repo (repo, config, split, revision).
Profile paper loads it from the Hub, or from a local mirror in the Hub's own parquet layout
(`paper.data.local_hub`); profile tiny reads the embedded world, which *is* such a mirror
(data/world/hub/<repo>/<config>/<split>-*.parquet). Rows are then normalized by the same code.

Canonical rows (JSON lines, data/prepared/<dataset>/<split>-<lang>.jsonl):
  classification  {id, text_a, text_b, label}            label = a *name* from the task's list
  qa              {id, context, question, answers: [{text, start}]}
  tagging         {id, tokens: [...], tags: [...]}       tags = names
  retrieval       {id, src, tgt}                          aligned pair; gold = same row
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from stages import tasks

WORLD_HUB = Path("data/world/hub")
PREPARED = Path("data/prepared")


class DataSourceError(RuntimeError):
    """A source could not be loaded; the message says what failed and what to do."""


# --- atomic outputs ---------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temp dir beside `path`; on success it replaces `path`, on error it is removed.
    An interrupted stage thus never leaves a half-written output that looks complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    tmp.rename(path)


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


# --- sources ----------------------------------------------------------------------------------
def config_name(dataset: tasks.Dataset, lang: str, profile: str) -> str:
    info = tasks.languages_of(profile)[lang]
    return dataset.source.config.format(code=info.code, iso3=info.iso3, name=info.name)


def load_source(repo: str, config: str, split: str, *, local_hub: Path | None, revision: str = "main"):
    """A `datasets.Dataset` for one (repo, config, split): from a local mirror in the Hub's parquet
    layout when `local_hub` is given, else from the Hub at `revision`."""
    import datasets

    datasets.disable_progress_bars()
    if local_hub is not None:
        files = sorted((Path(local_hub) / repo / config).glob(f"{split}-*.parquet"))
        if not files:
            raise DataSourceError(
                f"no parquet files for {repo} config '{config}' split '{split}' under {local_hub}/{repo}/{config}/ "
                f"(expected {split}-00000-of-0000N.parquet, the Hub's own layout)")
        return datasets.load_dataset("parquet", data_files=[str(p) for p in files], split="train")
    try:
        return datasets.load_dataset(repo, config, split=split, revision=revision)
    except (ConnectionError, OSError) as e:
        raise DataSourceError(
            f"could not load {repo} (config '{config}', split '{split}', revision '{revision}') from the "
            f"Hugging Face Hub: {type(e).__name__}: {e}\n"
            f"To use a local copy: on a machine with network run\n"
            f"  huggingface-cli download {repo} --repo-type dataset --revision {revision} "
            f"--local-dir <MIRROR>/{repo}\n"
            f"then set `paper.data.local_hub: <MIRROR>` in params.yaml (the same layout the embedded "
            f"world uses: <MIRROR>/<repo>/<config>/<split>-*.parquet).") from e
    except ValueError as e:  # unknown config or split names
        raise DataSourceError(f"{repo}: config '{config}' / split '{split}' not found at revision "
                              f"'{revision}': {e}") from e


def resolved_revision(ds) -> str | None:
    """The commit a Hub load resolved to, when datasets exposes it (for meta.json provenance)."""
    for f in getattr(ds, "cache_files", []) or []:  # datasets caches under .../<commit sha>/...
        for part in Path(f.get("filename", "")).parts[:-1]:
            if len(part) == 40 and all(c in "0123456789abcdef" for c in part):
                return part
    return None


# --- normalizers: source rows -> canonical rows ------------------------------------------------
def _label_names(ds, column: str):
    feature = ds.features[column]
    names = getattr(feature, "names", None)
    if names is None and hasattr(feature, "feature"):  # Sequence(ClassLabel) / List(ClassLabel)
        names = getattr(feature.feature, "names", None)
    return names


def _label(value, names, valid: tuple[str, ...], where: str) -> str | None:
    """Map a source label to its canonical *name*; None for unlabeled placeholders (-1, '')."""
    if value is None or value == -1 or value == "":
        return None
    name = names[value] if names is not None and isinstance(value, int) else str(value)
    name = tasks.LABEL_ALIASES.get(name, name)
    if name not in valid:
        raise DataSourceError(f"{where}: label '{name}' is not one of {list(valid)}")
    return name


def normalize(dataset: tasks.Dataset, ds, where: str) -> tuple[list[dict], dict]:
    """Canonical rows of one loaded split, and counts of what was dropped and why."""
    fmt, rows, dropped = dataset.row_format, [], {}

    def drop(reason):
        dropped[reason] = dropped.get(reason, 0) + 1

    if fmt == "nli":
        cols = ("premise", "hypothesis", "label") if "premise" in ds.column_names \
            else ("sentence1", "sentence2", "gold_label")  # google/xtreme XNLI
        names = _label_names(ds, cols[2])
        for k, r in enumerate(ds):
            label = _label(r[cols[2]], names, dataset.labels, where)
            if label is None:
                drop("unlabeled")
                continue
            rows.append({"id": str(r.get("idx", k)), "text_a": r[cols[0]], "text_b": r[cols[1]], "label": label})
    elif fmt == "squad":
        for r in ds:
            answers = []
            for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
                start = repair_offset(r["context"], text, start)
                if start is None:
                    drop("answer not in context")
                    continue
                answers.append({"text": text, "start": start})
            if not answers and r["answers"]["text"]:
                drop("no answer left")
                continue
            rows.append({"id": r["id"], "context": r["context"], "question": r["question"], "answers": answers})
    elif fmt == "udpos":
        names = _label_names(ds, "pos_tags")
        for k, r in enumerate(ds):
            tags = [_label(t, names, dataset.labels, where) for t in r["pos_tags"]]
            if not r["tokens"] or None in tags:
                drop("empty or untagged")
                continue
            rows.append({"id": str(k), "tokens": list(r["tokens"]), "tags": tags})
    elif fmt == "tatoeba":
        for k, r in enumerate(ds):  # the google/xtreme builder kept each line's newline
            rows.append({"id": str(k), "src": r["source_sentence"].strip(), "tgt": r["target_sentence"].strip()})
    else:
        raise ValueError(f"no normalizer for row format '{fmt}'")
    return rows, dropped


def repair_offset(context: str, text: str, start: int) -> int | None:
    """google/xtreme strips context/answers, which can shift offsets: find the nearest match."""
    if context[start:start + len(text)] == text:
        return start
    hits, pos = [], context.find(text)
    while pos != -1:
        hits.append(pos)
        pos = context.find(text, pos + 1)
    return min(hits, key=lambda h: abs(h - start)) if hits else None


# --- reading prepared data --------------------------------------------------------------------
def prepared_path(dataset: str, split: str, lang: str, root: Path = PREPARED) -> Path:
    return root / dataset / f"{split}-{lang}.jsonl"


def load_prepared(dataset: str, split: str, lang: str, root: Path = PREPARED) -> list[dict]:
    path = prepared_path(dataset, split, lang, root)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dvc repro prepare@{dataset}`")
    return read_jsonl(path)


def prepared_meta(dataset: str, root: Path = PREPARED) -> dict:
    return json.loads((root / dataset / "meta.json").read_text())


def eval_sets(dataset: str, languages, root: Path = PREPARED) -> list[tuple[str, str]]:
    """The (split, lang) evaluation files a prepared dataset has, among `languages`."""
    counts = prepared_meta(dataset, root)["counts"]
    return [(split, lang) for split in ("dev", "test") for lang in languages if lang in counts.get(split, {})]
