"""The library side of stages `prepare@<target>` and `prepare_intermediate` (stages/prepare.py,
stages/prepare_intermediate.py): load a task's sources, write canonical rows.

data/prepared/<target>/: train.jsonl and dev.jsonl (English training and early-stopping data),
eval/<split>-<lang>.jsonl for every evaluation split and language of the active benchmark in this
profile, and meta.json (type, label names, every source with its revision and the commit a Hub load
resolved to, row counts, dropped rows and repaired rows by reason: `dropped` / `repaired`, as
{part: {source or language: {reason: n}}}). A target's gold labels also go to
data/labels/<target>/<split>-<lang>.<suffix> in the leaderboard layout that evaluate.py (and
`xstilts score --labels data/labels`) reads.

data/prepared/intermediate/: one directory per task the `intermediate` param names (one task, or
all of multitask's), each with train.jsonl and dev.jsonl, subsampled to `intermediate_size` and
each row assigned one of `intermediate_languages` (the translate stage then translates it); plus
mlm/ with the MLM corpus sample when `intermediate_mlm` is on; meta.json names the members.

A source that cannot be read, or holds rows that are not what its format says (a missing column, a
label outside the label set, tokens and tags of different lengths, null text, an answer that is not
in its context), is a `sources.DataSourceError`: one line naming the file, the row and the column
(xstilts/data/normalize/__init__.py lists the policies). The stages write through `io.atomic_dir`,
so such an error leaves the previous output (or none) in place, never a half-written one.

A listed target outside the active benchmark, and `intermediate: none`, are *skipped*: meta.json
says so and the stages downstream skip too. Of the prepare stages only the target ones read the
`benchmark` param, so switching benchmarks reruns downstream stages only where the prepared data
actually changed.
"""
from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

from xstilts.core import config, io, paths, tasks
from xstilts.data import normalize, sources
from xstilts.data.read_prepared import write_skipped
from xstilts.eval import layout


class Loader:
    """Loads one source for the active profile: the embedded world (tiny), the Hub or a local mirror
    (paper), or the CCGbank directory."""

    def __init__(self, params: config.Params):
        data_params = params.group("data")
        self.profile = params.profile
        self.ccgbank = data_params.ccgbank
        if self.profile == "tiny":
            self.local_hub, self.revisions = paths.WORLD_HUB, {}
        else:
            self.local_hub = Path(data_params.local_hub) if data_params.local_hub else None
            self.revisions = dict(data_params.revisions or {})
        self.provenance: list[dict] = []

    def revision(self, source: tasks.Source) -> str:
        if self.profile == "tiny":
            return "embedded-world"
        return self.revisions.get(source.repo, source.revision)

    def rows(self, task: tasks.Task, source: tasks.Source, lang: str) -> tuple[list[dict], dict]:
        """Canonical rows of one source in language `lang`, and what was dropped, by reason (its
        `.repaired`: what was repaired). Whatever datasets, pyarrow or a normalizer raises on a
        malformed source becomes a one-line DataSourceError naming the file."""
        if source.repo == tasks.CCGBANK:
            rows = sources.load_ccgbank(self.ccgbank, source.split)
            # the param that names the folder, not the folder: a path is the machine's, and moving the
            # data must not change this tracked file (nor rerun what depends on it)
            self.provenance.append({"source": source.label, "from": f"{self.profile}.data.ccgbank"})
            return rows, normalize.Dropped()
        ds = self.dataset(source, lang)
        where = self.location(source, lang)
        with reading(where, source.format):
            return normalize.normalize(task, source, ds, lang, self.profile, where=where, strict=True)

    def location(self, source: tasks.Source, lang: str) -> sources.Location:
        """Where one source's split lives (the mirror's files or the Hub repo), for error messages."""
        return sources.Location(source.repo, sources.config_name(source, lang, self.profile), source.split,
                                local_hub=self.local_hub, revision=self.revision(source))

    def dataset(self, source: tasks.Source, lang: str):
        config_name = sources.config_name(source, lang, self.profile)
        revision = self.revision(source)
        ds = sources.load_source(source.repo, config_name, source.split, local_hub=self.local_hub, revision=revision)
        record = {"repo": source.repo, "config": config_name, "split": source.split, "revision": revision}
        if self.local_hub is not None:  # which mirror, not where it is (see rows)
            record["from"] = "the embedded world" if self.profile == "tiny" else "paper.data.local_hub"
        else:
            record["resolved"] = sources.resolved_revision(ds)
        if record not in self.provenance:
            self.provenance.append(record)
        return ds


@contextlib.contextmanager
def reading(where, fmt: str):
    """What a normalizer (or datasets/pyarrow under it) raises on rows it did not expect, as a
    one-line DataSourceError naming the file; DataSourceErrors pass unchanged."""
    import pyarrow as pa

    try:
        yield
    except sources.DataSourceError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, pa.ArrowException) as e:
        raise sources.DataSourceError(f"{where}: rows not in the '{fmt}' format "
                                      f"({type(e).__name__}: {sources.brief(e, 100)})") from e


def _count(into: dict | None, part: str, key: str, counts: dict | None) -> None:
    if into is not None and counts:
        into.setdefault(part, {})[key] = dict(counts)


def interleave(parts: list[list[dict]]) -> list[dict]:
    """Merge several sources proportionally (row k of a source of n rows sits at (k + 0.5) / n), so
    the first N rows of ANLI+'s dev (early stopping) mix all five sources. Deterministic, no RNG."""
    keyed = [((k + 0.5) / len(rows), i, row) for i, rows in enumerate(parts) for k, row in enumerate(rows)]
    return [row for _, _, row in sorted(keyed, key=lambda x: (x[0], x[1]))]


def english(loader: Loader, task: tasks.Task, sources, dropped: dict, part: str,
            repaired: dict | None = None) -> list[dict]:
    """The English rows of a task's train or dev sources, interleaved; what each source dropped
    goes to `dropped[part][source]`, what it repaired to `repaired[part][source]` (by reason)."""
    parts = []
    for _i, source in enumerate(sources):
        rows, why = loader.rows(task, source, "en")
        if len(sources) > 1:  # ids are unique within a source only
            for r in rows:
                r["id"] = f"{source.repo}:{source.split}:{r['id']}"
        _count(dropped, part, source.label, why)
        _count(repaired, part, source.label, getattr(why, "repaired", None))
        parts.append(rows)
    return interleave(parts)


def write_training(loader: Loader, task: tasks.Task, params: config.Params, tmp: Path, meta: dict,
                   size: int | None = None, languages: list[str] | None = None) -> list[str]:
    """English train.jsonl and dev.jsonl of a task under `tmp`; returns its label names.
    `size`: a seeded subsample of the training set; `languages`: each example is assigned one of
    them (round robin over a seeded shuffle), for the translate stage to translate into."""
    data_params = params.group("data")
    repaired = meta.setdefault("repaired", {})
    train = english(loader, task, task.train, meta["dropped"], "train", repaired)
    if data_params.max_train_examples is not None:
        train = train[:data_params.max_train_examples]
    dev = english(loader, task, task.dev, meta["dropped"], "dev", repaired)
    labels = task.labels if task.labels is not None else tuple(
        sorted({t for r in train + dev for t in r["tags"]}))  # CCG: the supertags seen
    if size is not None and size < len(train):
        rng = random.Random(f"{params.seed}:size:{task.name}")
        keep = sorted(rng.sample(range(len(train)), size))
        train = [train[i] for i in keep]
    if languages:
        train = assign_languages(train, languages, f"{params.seed}:lang:{task.name}:train")
        dev = assign_languages(dev, languages, f"{params.seed}:lang:{task.name}:dev")
    meta["counts"]["train"] = io.write_jsonl(paths.rows(tmp, "train"), train)
    meta["counts"]["dev"] = io.write_jsonl(paths.rows(tmp, "dev"), dev)
    return list(labels)


def assign_languages(rows: list[dict], languages: list[str], seed: str) -> list[dict]:
    """Each row gets one language: round robin over a seeded shuffle, so every language holds an
    equal share and the rows keep their order."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    lang_of = {i: languages[k % len(languages)] for k, i in enumerate(order)}
    return [{**r, "lang": lang_of[i]} for i, r in enumerate(rows)]


def mlm_corpus(params: config.Params, loader: Loader) -> tuple[list[dict], dict]:
    """Multilingual MLM text: `sentences` lines, language l drawn with probability ~ n_l^alpha
    (n_l = lines available; paper: alpha 0.3 over the 40 XTREME languages' Wikipedia). Tiny: the
    world's corpus; paper: the Hub dump named in intermediate_train.mlm."""
    mlm = params.group("intermediate_train").mlm_params()
    if params.profile == "tiny":
        texts = {code: (paths.WORLD / "corpus" / f"{code}.txt").read_text(encoding="utf-8").splitlines()
                 for code in tasks.WORLD_LANGUAGES}
        sizes = {code: len(lines) for code, lines in texts.items()}
        source = "the embedded world's corpus"
    else:
        langs = sorted({l for t in tasks.BENCHMARK_TARGETS["xtreme"] for l in tasks.TARGETS[t].languages["xtreme"]})
        dumps = {code: sources.load_source(mlm.corpus, mlm.corpus_config.format(code=code), "train",
                                        local_hub=loader.local_hub, revision=mlm.revision) for code in langs}
        sizes = {code: len(ds) for code, ds in dumps.items()}
        texts = None
        source = f"{mlm.corpus} ({mlm.corpus_config}) @ {mlm.revision}"
    weights = {c: n ** mlm.alpha for c, n in sizes.items()}
    total = sum(weights.values())
    quota = {c: round(mlm.sentences * w / total) for c, w in weights.items()}
    rows = []
    for code in sorted(quota):
        rng = random.Random(f"{params.seed}:mlm:{code}")
        if texts is not None:
            lines = [l for l in texts[code] if l.strip()]
            picked = rng.sample(lines, min(quota[code], len(lines)))
        else:  # articles in a seeded order, cut into sentences, until the quota is met
            picked, ds = [], dumps[code]
            for i in rng.sample(range(len(ds)), len(ds)):
                text = ds[i]["text"]
                if type(text) is not str:
                    where = sources.Location(mlm.corpus, mlm.corpus_config.format(code=code), "train",
                                             local_hub=loader.local_hub, revision=mlm.revision)
                    raise sources.DataSourceError(f"{where.row(i)}, column 'text': expected text, found "
                                                  f"{'null' if text is None else type(text).__name__}")
                picked += [sentence for _, sentence in normalize.split_sentences(text)]
                if len(picked) >= quota[code]:
                    break
            picked = picked[:quota[code]]
        rows += [{"id": f"{code}-{k}", "text": t, "lang": code} for k, t in enumerate(picked)]
    random.Random(f"{params.seed}:mlm:order").shuffle(rows)
    return rows, {"type": "mlm", "source": source, "alpha": mlm.alpha, "per_language": quota,
                  "no_answer": False, "labels": [], "dropped": {}}


def write_eval(loader: Loader, task: tasks.Task, params: config.Params, tmp: Path, labels: Path,
               meta: dict) -> None:
    counts = meta["counts"].setdefault("eval", {})
    repaired = meta.setdefault("repaired", {})

    def write(split: str, lang: str, rows: list[dict]) -> None:
        counts.setdefault(split, {})[lang] = io.write_jsonl(paths.eval_rows(tmp, split, lang), rows)
        layout.write_labels(task.name, labels / f"{split}-{lang}", rows)

    # Mewsli-X: one candidate set for every split (loaded once: ~1M entities in profile paper)
    shared_pool = None
    if task.pool is not None:
        shared_pool, why = loader.rows(task, task.pool, "en")
        _count(meta["dropped"], "pool", task.pool.label, why)
        _count(repaired, "pool", task.pool.label, getattr(why, "repaired", None))
    for split in task.eval:
        pooled: dict[str, object] = {}
        where: dict[str, sources.Location] = {}
        for lang in meta["languages"]:
            source = task.eval_source(split, lang, params.profile)
            if source is None:  # e.g. UD-POS kk/th/tl/yo have no dev data
                continue
            if source.format in normalize.POOLED_FORMATS:
                pooled[lang] = loader.dataset(source, lang)
                where[lang] = loader.location(source, lang)
                continue
            rows, dropped = loader.rows(task, source, lang)
            _count(meta["dropped"], split, lang, dropped)
            _count(repaired, split, lang, getattr(dropped, "repaired", None))
            if not rows:  # e.g. a test split whose gold labels the source blanks: nothing to score
                print(f"prepare {task.name}: {split}-{lang} has no labeled rows ({dropped}); not evaluated")
                continue
            write(split, lang, rows)
        pool = None
        if pooled:  # LAReQA: the relevant candidates of a question span every language
            fmt, why = task.eval[split].format, {}
            with reading(", ".join(map(str, where.values())), fmt):
                queries, pool = normalize.POOLED_FORMATS[fmt](pooled, counts=why, where=where, strict=True)
            for lang, dropped in why.items():
                _count(meta["dropped"], split, lang, dropped)
                _count(repaired, split, lang, dropped.repaired)
            for lang, rows in queries.items():
                write(split, lang, rows)
        elif shared_pool is not None:
            pool = shared_pool
        if pool is not None:
            meta["counts"].setdefault("pool", {})[split] = io.write_jsonl(paths.pool_rows(tmp, split), pool)


def drop_summary(meta: dict) -> str | None:
    """What a prepare stage dropped and repaired, by reason and part, for its log: e.g.
    "dropped 12 rows (unlabeled 10: test 10; no answer 2: train 2); repaired 3 (answer_start
    repaired 3: train 3)"; None when nothing was."""
    parts = []
    for what, unit in (("dropped", " rows"), ("repaired", "")):
        by_reason: dict[str, dict[str, int]] = {}
        for part, per_source in (meta.get(what) or {}).items():
            for counts in per_source.values():
                for reason, n in counts.items():
                    by_reason.setdefault(reason, {}).setdefault(part, 0)
                    by_reason[reason][part] += n
        if by_reason:
            total = sum(n for p in by_reason.values() for n in p.values())
            detail = "; ".join(f"{reason} {sum(p.values())}: " + ", ".join(f"{part} {n}" for part, n in p.items())
                               for reason, p in by_reason.items())
            parts.append(f"{what} {total}{unit[:-1] if total == 1 else unit} ({detail})")
    return "; ".join(parts) or None


def prepare_target(params, name: str) -> None:
    """Stage `prepare@<target>`: the target's canonical rows and gold labels, or a `skipped` meta.json when
    the benchmark does not score it."""
    out = paths.prepared(name)
    meta: dict = {"task": name, "profile": params.profile}
    if name not in params.active_targets:
        skip = f"not a target of benchmark {params.benchmark}"
        with io.atomic_dir(out) as tmp:
            (tmp / paths.META).write_text(json.dumps({**meta, "skipped": skip}, indent=2) + "\n")
        write_skipped(paths.labels(name), {"skipped": skip})
        print(f"prepare {name}: skipped ({skip})")
        return

    task = tasks.TASKS[name]
    loader = Loader(params)
    meta.update({"type": task.type, "retrieval": task.retrieval, "no_answer": task.no_answer,
                 "counts": {}, "dropped": {}})
    with io.atomic_dir(out) as tmp:
        meta["labels"] = write_training(loader, task, params, tmp, meta) if task.train else []
        # the `languages` param restricts what is loaded too (a mirror of two languages is enough for
        # -S 'languages=[de,fr]'); LAReQA's pooled candidates then come from those languages only
        meta["languages"] = list(params.target_languages(name))
        if params.languages is not None:
            meta["restricted_to"] = params.languages
        # both outputs are written in temp dirs and renamed into place only when everything was
        # read: a source that fails (DataSourceError) leaves neither half-written
        with io.atomic_dir(paths.labels(name)) as labels_tmp:
            write_eval(loader, task, params, tmp, labels_tmp, meta)
            meta["sources"] = loader.provenance
            (tmp / paths.META).write_text(json.dumps(meta, indent=2) + "\n")
    counts = meta["counts"]
    n_eval = sum(n for split in counts.get("eval", {}).values() for n in split.values())
    print(f"prepare {name}: train {counts.get('train', 0)}, dev {counts.get('dev', 0)}, "
          f"eval {n_eval} rows in {sum(len(by_lang) for by_lang in counts.get('eval', {}).values())} files -> {out}")
    summary = drop_summary(meta)
    if summary:
        print(f"prepare {name}: {summary}")


def prepare_intermediate(params) -> None:
    """Stage `prepare_intermediate`: every member task's English rows (+ the MLM sample), each assigned a language."""
    out = paths.prepared(paths.INTERMEDIATE_DIR)
    meta: dict = {"task": params.intermediate, "profile": params.profile, "mlm": params.intermediate_mlm,
                  "languages": params.intermediate_languages, "size": params.intermediate_size, "members": {}}
    with io.atomic_dir(out) as tmp:
        if not params.intermediate_members:
            meta["skipped"] = "no intermediate task (the baseline arm)"
        loader = Loader(params)
        for member in params.intermediate_members:
            task = tasks.TASKS[member]
            member_meta = {"type": task.type, "no_answer": task.no_answer, "counts": {}, "dropped": {}}
            member_meta["labels"] = write_training(loader, task, params, tmp / member, member_meta,
                                                   params.intermediate_size, params.intermediate_languages)
            meta["members"][member] = member_meta
        if params.intermediate_mlm:
            rows, member_meta = mlm_corpus(params, loader)
            member_meta["counts"] = {"train": io.write_jsonl(paths.rows(tmp / tasks.MLM, "train"), rows), "dev": 0}
            io.write_jsonl(paths.rows(tmp / tasks.MLM, "dev"), [])
            meta["members"][tasks.MLM] = member_meta
        meta["sources"] = loader.provenance
        (tmp / paths.META).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"prepare intermediate {params.intermediate}: "
          + ("; ".join(f"{k} train {v['counts']['train']}" for k, v in meta["members"].items())
             or meta.get("skipped", "")))
    for member, member_meta in meta["members"].items():
        summary = drop_summary(member_meta)
        if summary:
            print(f"prepare intermediate {member}: {summary}")
