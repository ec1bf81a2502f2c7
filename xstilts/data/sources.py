"""Loading one split of one source: the Hub, a local mirror in the Hub's parquet layout (the
embedded world is one), or a CCGbank directory (licensed, never on the Hub)."""
from __future__ import annotations

import re
from pathlib import Path

from xstilts.core import tasks
from xstilts.core.errors import XstiltsError


class DataSourceError(XstiltsError, RuntimeError):
    """A source could not be loaded, or holds rows the normalizers cannot read; the message is one
    line naming the file (or repo/config/split/revision), the row and the column, and what was
    expected and found."""
    exit_code = 3


def brief(e: BaseException, limit: int = 120) -> str:
    """The first line of an exception's message, cut to `limit` characters (for one-line errors)."""
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Location:
    """Where one loaded split lives, for error messages: the mirror's parquet file(s), or the Hub
    repo with its config, split and revision. `row(k)` names row k of the split (0-based, in the
    source's own order), in the shard that holds it when the split has several files; the files
    and their row counts are only looked up when a message needs them."""

    def __init__(self, repo: str, config: str, split: str, *, local_hub: Path | str | None = None,
                 revision: str = "main"):
        self.repo, self.config, self.split, self.revision = repo, config, split, revision
        self.local_hub = Path(local_hub) if local_hub is not None else None
        self._files: list[Path] | None = None

    @property
    def files(self) -> list[Path]:
        if self._files is None:
            self._files = (mirror_files(self.local_hub / self.repo, self.config, self.split)
                           if self.local_hub is not None else [])
        return self._files

    def __str__(self) -> str:
        files = self.files
        if files:
            return str(files[0]) + (f" (+{len(files) - 1} more files)" if len(files) > 1 else "")
        if self.local_hub is not None:  # a card-configured layout: the repo directory
            return f"{self.local_hub / self.repo} (config '{self.config}', split '{self.split}')"
        return f"{self.repo} (config '{self.config}', split '{self.split}', revision '{self.revision}')"

    def row(self, k: int) -> str:
        files = self.files
        if len(files) > 1:
            for path in files:
                n = _parquet_rows(path)
                if k < n:
                    return f"{path}: row {k}"
                k -= n
        return f"{self}: row {k}"


def _parquet_rows(path: Path) -> int:
    """A parquet file's row count, from its footer (the only part read). A truncated or corrupt
    file is a DataSourceError naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as e:
        raise DataSourceError(f"{path}: not a readable parquet file, truncated or corrupt "
                              f"({brief(e, 90).split('. ')[0]}); download it again") from e


# --- sources ----------------------------------------------------------------------------------
def config_name(source: tasks.Source, lang: str, profile: str) -> str:
    info = tasks.languages_of(profile)[lang]
    return source.config.format(code=info.code, iso3=info.iso3, name=info.name, lower=info.name.lower())


def mirror_files(repo_dir: Path, config: str, split: str) -> list[Path]:
    """The parquet files of (config, split) in a local copy of a Hub dataset repo, for the layouts
    Hub repos use: <config>/<split>-*.parquet (most; also the embedded world's), the parquet export
    (refs/convert/parquet) <config>/<split>/*.parquet, and a default config's data/<split>-*.parquet."""
    patterns = [f"{config}/{split}-*.parquet", f"{config}/{split}/*.parquet"]
    if config == "default":
        patterns += [f"data/{split}-*.parquet", f"data/{split}/*.parquet"]
    for pattern in patterns:
        files = sorted(repo_dir.glob(pattern))
        if files:
            return files
    return []


def load_source(repo: str, config: str, split: str, *, local_hub: Path | None, revision: str = "main"):
    """A `datasets.Dataset` for one (repo, config, split): from a local mirror (a copy of the repo's
    files, e.g. by `hf download`) when `local_hub` is given, else from the Hub at
    `revision`."""
    import datasets
    import pyarrow as pa
    from datasets.exceptions import DatasetGenerationError

    datasets.disable_progress_bars()
    where = Location(repo, config, split, local_hub=local_hub, revision=revision)
    if local_hub is not None:
        repo_dir = Path(local_hub) / repo
        files = mirror_files(repo_dir, config, split)
        if files:
            # footers first: a truncated or corrupt file is named, and an empty split refused,
            # before datasets converts anything (it would say neither)
            if sum(_parquet_rows(p) for p in files) == 0:
                raise DataSourceError(f"{where}: 0 rows (split '{split}' is empty)")
            try:
                ds = datasets.load_dataset("parquet", data_files=[str(p) for p in files], split="train")
            except (DatasetGenerationError, pa.ArrowException, OSError, ValueError) as e:
                raise DataSourceError(f"{where}: could not be read as parquet ({_cause(e)})") from e
            return ds
        if (repo_dir / "README.md").exists():  # other layouts (JSON, per-language dirs): the card's configs
            try:
                ds = datasets.load_dataset(str(repo_dir), config, split=split)
            except (ValueError, FileNotFoundError) as e:
                raise DataSourceError(f"{repo_dir}: config '{config}' / split '{split}' not found by the "
                                      f"dataset card's configs: {e}") from e
            except (DatasetGenerationError, pa.ArrowException, OSError) as e:
                raise DataSourceError(f"{where}: could not be read ({_cause(e)})") from e
            return _not_empty(ds, where)
        raise DataSourceError(
            f"no data for {repo} config '{config}' split '{split}' under {repo_dir}/: looked for "
            f"{config}/{split}-*.parquet, {config}/{split}/*.parquet"
            + (", data/{split}-*.parquet" if config == "default" else "")
            + " and a README.md whose configs name the files (a `hf download` copy has one)")
    try:
        ds = datasets.load_dataset(repo, config, split=split, revision=revision)
    except DatasetGenerationError as e:  # the files were fetched but could not be read
        raise DataSourceError(f"{where}: could not be read ({_cause(e)})") from e
    except (ConnectionError, OSError) as e:
        raise DataSourceError(
            f"could not load {repo} (config '{config}', split '{split}', revision '{revision}') from the "
            f"Hugging Face Hub: {type(e).__name__}: {e}\n"
            f"To use a local copy: on a machine with network run\n"
            f"  hf download {repo} --repo-type dataset --revision {revision} "
            f"--local-dir <MIRROR>/{repo}\n"
            f"then set `paper.data.local_hub: <MIRROR>` in params.yaml (the same layout the embedded "
            f"world uses: <MIRROR>/<repo>/<config>/<split>-*.parquet).") from e
    except (ValueError, RuntimeError) as e:  # unknown config/split; a repo that still has a loading script
        raise DataSourceError(
            f"{repo}: config '{config}' / split '{split}' could not be loaded at revision '{revision}': {e}\n"
            f"If the repo's main branch still holds a loading script (datasets >= 4 refuses those), pin "
            f"`paper.data.revisions.{repo}: refs/convert/parquet` (the Hub's parquet export).") from e
    return _not_empty(ds, where)


def _not_empty(ds, where: Location):
    if len(ds) == 0:
        raise DataSourceError(f"{where}: 0 rows (split '{where.split}' is empty)")
    return ds


def _cause(e: BaseException) -> str:
    """The root of a datasets error (DatasetGenerationError wraps what pyarrow raised), in brief."""
    while e.__cause__ is not None:
        e = e.__cause__
    return f"{type(e).__name__}: {brief(e, 100)}"


def resolved_revision(ds) -> str | None:
    """The commit a Hub load resolved to, when datasets exposes it (for meta.json provenance)."""
    for f in getattr(ds, "cache_files", []) or []:  # datasets caches under .../<commit sha>/...
        for part in Path(f.get("filename", "")).parts[:-1]:
            if len(part) == 40 and all(c in "0123456789abcdef" for c in part):
                return part
    return None


# --- CCGbank (LDC2005T13): AUTO files, one derivation per sentence ---------------------------
CCG_SECTIONS = {"train": range(0, 19), "dev": range(19, 22), "test": range(22, 25)}  # jiant's split


_CCG_LEAF = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")


def load_ccgbank(root: str | Path | None, split: str) -> list[dict]:
    """Supertagging rows {id, tokens, tags} from <root>/data/AUTO/<section>/wsj_*.auto: each leaf
    `(<L category modified_POS original_POS word predicate_arg_category>)` gives a word and its tag."""
    if root is None:
        raise DataSourceError(
            "intermediate task 'ccg' needs CCGbank, which is licensed by the LDC (LDC2005T13) and not on the "
            "Hub. Extract it and set `paper.data.ccgbank: /path/to/ccgbank_1_1` in params.yaml (the directory "
            "that holds data/AUTO/00 ... data/AUTO/24).")
    auto = Path(root) / "data" / "AUTO"
    if not auto.is_dir():
        raise DataSourceError(f"CCGbank directory {root} has no data/AUTO/ (expected data/AUTO/00 ... data/AUTO/24 "
                              f"with wsj_*.auto files; set the data group's `ccgbank` to the ccgbank_1_1 directory)")
    rows = []
    for section in CCG_SECTIONS[split]:
        for path in sorted((auto / f"{section:02d}").glob("*.auto")):
            sentence_id = None
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("ID="):
                    sentence_id = line.split()[0][3:]
                elif line.strip():
                    leaves = _CCG_LEAF.findall(line)
                    if leaves:
                        rows.append({"id": sentence_id or f"{path.stem}.{len(rows)}",
                                     "tokens": [leaf[3] for leaf in leaves], "tags": [leaf[0] for leaf in leaves]})
    if not rows:
        raise DataSourceError(f"no CCG derivations found for split '{split}' (sections "
                              f"{CCG_SECTIONS[split].start:02d}-{CCG_SECTIONS[split].stop - 1:02d}) under {auto}")
    return rows
