"""The fixture mirror (xstilts/data/fixtures/) against what the loaders read (xstilts/data/needs.py).

One mirror of everything the registry names is written once for the module; every target is then
prepared from it in each benchmark it belongs to, every intermediate task's training data, the MLM
corpus and the published translations are loaded, as the stages would with `paper.data.local_hub`
pointing at it. Every load goes through `sources.load_source`, wrapped to record what was opened and
with which features, so the tests can check that the mirror holds exactly what is opened, in the
schema it was written in, and that `needs` predicts it.
"""
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

from xstilts.core import config, io, paths, tasks
from xstilts.data import fixtures, needs, prepare, sources, translate


def paper_raw(hub, **top) -> dict:
    raw = yaml.safe_load(open(ROOT / "params.yaml"))
    raw["profile"] = "paper"
    raw["paper"]["data"]["local_hub"] = str(hub)
    raw.update(top)
    return raw


def mlm_params(hub):
    return config.validate(paper_raw(hub)).group("intermediate_train").mlm_params()


class Recorder:
    """Wraps sources.load_source: which (repo, config, split) were opened, with which features."""

    def __init__(self, monkeypatch):
        self.opened: dict[tuple, object] = {}
        real = sources.load_source

        def load(repo, config_name, split, **kw):
            ds = real(repo, config_name, split, **kw)
            self.opened[(repo, config_name, split)] = ds.features
            return ds
        monkeypatch.setattr(sources, "load_source", load)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture_mirror")
    hub = root / "hub"
    wanted = needs.all_needs(mlm_params(hub))
    summary = fixtures.write_mirror(hub, wanted)
    ccg = fixtures.write_ccgbank(root / "ccgbank_1_1")
    return {"root": root, "hub": hub, "ccg": ccg, "needs": wanted, "summary": summary}


def _check_training(task, tmp, meta):
    """English train and dev: rows in both, every class of the task present in each."""
    for part in ("train", "dev"):
        assert meta["counts"][part] > 0, (task.name, part)
        rows = io.read_jsonl(paths.rows(tmp, part))
        if task.type == "classification":
            assert {r["label"] for r in rows} == set(task.labels), (task.name, part)
        elif task.type == "tagging" and task.labels:
            assert {t for r in rows for t in r["tags"]} == set(task.labels), (task.name, part)
        elif task.type == "multiple_choice":
            assert {r["label"] for r in rows} == set(range(len(rows[0]["choices"]))), (task.name, part)
        elif task.type == "qa" and not task.no_answer:
            assert all(r["answers"] for r in rows), (task.name, part)


@pytest.fixture(scope="module")
def prepared(mirror, tmp_path_factory):
    """Every target prepared in each of its benchmarks, every intermediate task, the MLM corpus and
    the published translations, loaded from the mirror; what was opened, counted and dropped."""
    out = tmp_path_factory.mktemp("prepared")
    with pytest.MonkeyPatch.context() as mp:
        rec = Recorder(mp)
        targets = {}
        for name, task in tasks.TARGETS.items():
            for benchmark in task.languages:
                params = config.validate(paper_raw(mirror["hub"], benchmark=benchmark))
                loader = prepare.Loader(params)
                meta = {"counts": {}, "dropped": {}, "languages": list(task.languages_for("paper", benchmark))}
                tmp = out / benchmark / name
                if task.trains:
                    prepare.write_training(loader, task, params, tmp, meta)
                    _check_training(task, tmp, meta)
                prepare.write_eval(loader, task, params, tmp, out / "labels" / benchmark / name, meta)
                targets[(name, benchmark)] = meta
        raw = paper_raw(mirror["hub"])
        raw["paper"]["data"]["ccgbank"] = str(mirror["ccg"])
        params = config.validate(raw)
        loader = prepare.Loader(params)
        intermediate = {}
        for name, task in tasks.INTERMEDIATE_TASKS.items():
            meta = {"counts": {}, "dropped": {}}
            labels = prepare.write_training(loader, task, params, out / "intermediate" / name, meta)
            _check_training(task, out / "intermediate" / name, meta)
            intermediate[name] = (meta, labels)
        mlm_rows, mlm_meta = prepare.mlm_corpus(params, loader)
        published = {(t, lang): translate.published_rows(params, tasks.TARGETS[t], lang)
                     for t in ("xnli", "pawsx") for lang in tasks.TARGETS[t].all_languages() if lang != "en"}
    return {"targets": targets, "intermediate": intermediate, "mlm": (mlm_rows, mlm_meta),
            "published": published, "opened": rec.opened}


def test_every_target_prepares_every_official_language_with_nothing_dropped(prepared):
    for (name, benchmark), meta in prepared["targets"].items():
        task = tasks.TARGETS[name]
        official = task.languages[benchmark]
        for split in task.eval:
            expected = {l for l in official if l not in task.missing.get(split, ())}
            counts = meta["counts"]["eval"][split]
            assert set(counts) == expected, (name, benchmark, split)
            assert all(n > 0 for n in counts.values()), (name, benchmark, split, counts)
        assert meta["dropped"] == {}, (name, benchmark, meta["dropped"])
        if task.retrieval == "ranking":  # LAReQA and Mewsli-X: a candidate pool for every split
            assert all(meta["counts"]["pool"][split] > 0 for split in task.eval), (name, benchmark)


def test_every_intermediate_task_the_mlm_corpus_and_published_translations_load(prepared):
    for name, (meta, labels) in prepared["intermediate"].items():
        assert meta["counts"]["train"] > 0 and meta["counts"]["dev"] > 0 and meta["dropped"] == {}, name
        task = tasks.TASKS[name]
        expected = list(task.labels) if task.labels is not None else labels  # CCG: the tags seen
        assert labels == expected and (labels or task.type in ("qa", "multiple_choice")), name
    assert "N" in prepared["intermediate"]["ccg"][1] and "(S[dcl]\\NP)/NP" in prepared["intermediate"]["ccg"][1]
    rows, meta = prepared["mlm"]
    assert {r["lang"] for r in rows} == set(needs.mlm_languages()) and len(needs.mlm_languages()) == 40
    assert all(r["text"].strip() and not r["text"].endswith(" ") for r in rows)
    for (target, lang), (rows, dropped) in prepared["published"].items():
        assert rows and dropped == {} and {r["lang"] for r in rows} == {lang}, (target, lang)
        assert {r["label"] for r in rows} == set(tasks.TARGETS[target].labels), (target, lang)


def test_the_mirror_holds_exactly_what_the_loaders_open_in_the_schema_it_was_written_in(mirror, prepared):
    wanted = {n.key: n for n in mirror["needs"]}
    assert len(wanted) == len(mirror["needs"])  # deduplicated
    assert set(prepared["opened"]) == set(wanted)  # needs predicts every open, and nothing more
    schemas = fixtures.features()
    for key, feats in prepared["opened"].items():
        assert feats == schemas[fixtures.schema_of(wanted[key])], key
    # on disk: one data file per need where its repo keeps it, and no other file but dataset cards
    hub = mirror["hub"]
    on_disk = {str(p.relative_to(hub)) for p in hub.rglob("*") if p.is_file()}
    expected = {f"{n.repo}/{fixtures.relative_path(n)}" for n in mirror["needs"]}
    cards = {f"{repo}/README.md" for repo in fixtures.CARD_REPOS if any(n.repo == repo for n in mirror["needs"])}
    assert on_disk == expected | cards
    summary = mirror["summary"]
    assert summary["files"] == len(expected) and summary["repos"] == sorted({n.repo for n in mirror["needs"]})
    assert summary["bytes"] == sum((hub / f).stat().st_size for f in on_disk)
    assert not any(p.name.startswith(".") for p in hub.rglob("*"))  # no temp dirs left


def test_layouts_are_the_real_repos(mirror):
    by_label = {n.label: fixtures.relative_path(n) for n in mirror["needs"]}
    assert by_label["allenai/cosmos_qa:default:train"] == "default/train/0000.parquet"
    assert by_label["izhx/mewsli-x:candidate_entities:test"] == "candidate_entities/test/0000.parquet"
    assert by_label["izhx/mewsli-x:de:validation"] == "de/validation-00000-of-00001.parquet"
    assert by_label["Rowan/hellaswag:default:validation"] == "data/validation-00000-of-00001.parquet"
    assert by_label["tau/commonsense_qa:default:train"] == "data/train-00000-of-00001.parquet"
    assert by_label["izhx/xtreme-r-udpos:lt:test"] == "lt/test.parquet"
    assert by_label["google/xtreme:udpos.German:test"] == "udpos.German/test-00000-of-00001.parquet"
    assert by_label["wikimedia/wikipedia:20231101.de:train"] == "20231101.de/train-00000-of-00001.parquet"
    card = (mirror["hub"] / "izhx/xtreme-r-udpos/README.md").read_text()
    assert (card.startswith("---\nconfigs:\n")
            and all(f"- config_name: {l}\n" in card for l in ("lt", "pl", "uk", "wo", "ro")))
    # the registry's revision decides: the parquet export when params pin it for a repo
    n = needs.needs(["xnli"], [], ["xtreme"], languages=["de"], revisions={"facebook/xnli": "refs/convert/parquet"})
    assert {fixtures.relative_path(x) for x in n if x.repo == "facebook/xnli"} == {"de/validation/0000.parquet",
                                                                                   "de/test/0000.parquet"}


def test_parallel_sets_and_links_are_consistent(mirror):
    import datasets
    import pyarrow.parquet as pq

    def load(repo, config_name, split):
        return sources.load_source(repo, config_name, split, local_hub=mirror["hub"])
    # TyDiQA: one config, every language under its name's prefix
    ids = load("google/xtreme", "tydiqa", "validation")["id"]
    assert {i.split("-")[0] for i in ids} == {tasks.REAL_LANGUAGES[l].name.lower() for l in tasks.TYDIQA}
    # XQuAD and XQuAD-R: the same question ids in every language
    for repo, pattern in (("google/xquad", "xquad.{}"), ("google-research-datasets/xquad_r", "{}")):
        langs = tasks.XQUAD_R if repo == "google/xquad" else tasks.LAREQA
        ids = {tuple(load(repo, pattern.format(l), "validation")["id"]) for l in langs}
        assert len(ids) == 1 and len(set(next(iter(ids)))) == len(next(iter(ids))), repo
    # ids are unique within a split, as the real sources' are
    for n in mirror["needs"]:
        table = pq.read_table(mirror["hub"] / n.repo / fixtures.relative_path(n))
        for col in {"id", "uid", "idx", "ind", "entity_id"} & set(table.column_names):
            assert len(set(table[col].to_pylist())) == table.num_rows, (n.label, col)
    # Mewsli-X: every mention links to a candidate entity
    qids = set(load("izhx/mewsli-x", "candidate_entities", "test")["entity_id"])
    for lang in tasks.MEWSLIX:
        for split in ("validation", "test"):
            linked = {m["entity_id"] for a in load("izhx/mewsli-x", lang, split)["mentions"] for m in a}
            assert linked and linked <= qids, (lang, split)
    # mteb/BUCC: one row, 1-based gold indices into both lists
    row = load("mteb/BUCC", "de-en", "test")[0]
    assert all(1 <= i <= len(row["sentence1"]) and 1 <= j <= len(row["sentence2"]) for i, j in row["gold"])
    assert isinstance(load("google/xtreme", "MLQA.de.de", "test").features["answers"], dict)
    assert list(load("google/xtreme", "MLQA.de.de", "test").features["answers"]) == ["answer_start", "text"]
    assert isinstance(load("facebook/xnli", "de", "test").features["label"], datasets.ClassLabel)


def test_run_needs_of_a_restricted_run_is_what_its_stages_open(mirror, tmp_path, monkeypatch):
    raw = paper_raw(mirror["hub"], benchmark="xtreme", finetune_targets=["xnli", "xcopa"], retrieval_targets=[],
                    languages=["de", "fr"], intermediate="mnli", target_training="translate_train")
    params = config.validate(raw)
    got = needs.run_needs(params)
    labels = [n.label for n in got]
    assert len(labels) == len(set(labels))
    # xcopa is not an XTREME target (skipped); prepare evaluates, and translate-train reads, the
    # languages of `languages` only (a mirror of them is enough)
    assert set(labels) == {"nyu-mll/glue:mnli:train", "nyu-mll/glue:mnli:validation_matched",
                           *(f"facebook/xnli:{l}:{s}" for l in ("de", "fr") for s in ("validation", "test", "train"))}
    assert {n.key for n in got} < {n.key for n in mirror["needs"]}
    # what the stages of this run open, loaded from the mirror
    rec = Recorder(monkeypatch)
    loader = prepare.Loader(params)
    for name in params.active_targets:
        task = tasks.TARGETS[name]
        meta = {"counts": {}, "dropped": {}, "languages": list(params.target_languages(name))}  # as stages/prepare.py
        prepare.write_training(loader, task, params, tmp_path / name, meta)
        prepare.write_eval(loader, task, params, tmp_path / name, tmp_path / "labels" / name, meta)
        for lang in params.target_languages(name):
            if lang != "en":
                translate.published_rows(params, task, lang)
    for name in params.intermediate_members:
        prepare.write_training(loader, tasks.TASKS[name], params, tmp_path / "intermediate" / name,
                               {"counts": {}, "dropped": {}})
    assert set(rec.opened) == {n.key for n in got}
    # zero-shot drops the translations; intermediate_mlm adds the 40 corpus configs
    raw.update(target_training="zero_shot", intermediate_mlm=True)
    got = needs.run_needs(config.validate(raw))
    assert not any(n.label.endswith(":train") and n.repo == "facebook/xnli" for n in got)
    assert [n.config for n in got if n.format == needs.MLM_FORMAT] == [f"20231101.{l}" for l in needs.mlm_languages()]
    # needs() itself restricts every language list it is given
    restricted = needs.needs(["xnli"], ["mnli"], ["xtreme"], languages=["de", "fr"], translated_train=True)
    assert {n.label for n in restricted} == {"nyu-mll/glue:mnli:train", "nyu-mll/glue:mnli:validation_matched",
                                             *(f"facebook/xnli:{l}:{s}" for l in ("de", "fr")
                                               for s in ("validation", "test", "train"))}


def test_needs_skip_ccgbank_missing_splits_and_deduplicate():
    everything = needs.all_needs(None)
    assert not any(n.repo == tasks.CCGBANK or n.format == needs.MLM_FORMAT for n in everything)
    labels = {n.label for n in everything}
    assert len(labels) == len(everything)
    assert "google/xtreme:udpos.Kazakh:test" in labels and "google/xtreme:udpos.Kazakh:validation" not in labels
    assert "izhx/xtreme-r-udpos:lt:test" in labels and "google/xtreme:udpos.Lithuanian:test" not in labels
    assert "unimelb-nlp/wikiann:qu:validation" in labels and "google/xtreme:PAN-X.qu:test" not in labels
    tydi = [n for n in everything if n.config == "tydiqa"]
    assert [(n.split, n.lang) for n in tydi] == [("train", None), ("validation", None)]
    pool = next(n for n in everything if n.config == "candidate_entities")
    assert (pool.revision, pool.lang) == ("refs/convert/parquet", None)
    assert {n.lang for n in everything if n.repo == "facebook/xnli" and n.split == "train"} == set(tasks.XNLI) - {"en"}
    assert needs.needs(["xcopa"], [], ["xtreme"]) == []  # not an XTREME target: prepare skips it


def test_same_seed_same_bytes_and_interrupted_writes_leave_nothing(mirror, tmp_path, monkeypatch):
    again = fixtures.write_mirror(tmp_path / "again", mirror["needs"], seed=0)
    assert again == mirror["summary"]
    assert fixtures.digest(tmp_path / "again") == fixtures.digest(mirror["hub"])
    assert fixtures.digest(fixtures.write_ccgbank(tmp_path / "ccg")) == fixtures.digest(mirror["ccg"])
    some = [n for n in mirror["needs"] if n.repo == "facebook/xnli"]
    fixtures.write_mirror(tmp_path / "other", some, seed=1)
    assert (fixtures.digest(tmp_path / "other/facebook/xnli")
            != fixtures.digest(tmp_path / "again/facebook/xnli"))
    # a write that fails halfway leaves the earlier copy of the repo as it was, and no temp dir
    before = fixtures.digest(tmp_path / "other")
    real, calls = fixtures.rows_for, []

    def failing(need, *a, **kw):
        calls.append(need)
        if len(calls) == 3:
            raise RuntimeError("interrupted")
        return real(need, *a, **kw)
    monkeypatch.setattr(fixtures, "rows_for", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        fixtures.write_mirror(tmp_path / "other", some, seed=0)
    assert fixtures.digest(tmp_path / "other") == before
    assert [p.name for p in (tmp_path / "other/facebook").iterdir()] == ["xnli"]


def test_unknown_source_is_refused_and_needs_imports_nothing_heavy():
    odd = needs.Need("acme/toy", "en", "train", "main", "toy", "toy_nli", "en")
    with pytest.raises(ValueError, match="no fixture schema for acme/toy:en:train"):
        fixtures.rows_for(odd)
    code = ("import sys, xstilts.data.needs as n; n.all_needs(None); "
            "print(sorted(m for m in ('datasets', 'pyarrow', 'torch', 'numpy', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_schema_has_a_generator_and_a_source():
    """One schema table (xstilts/core/schemas.py) for the world's twins and the mirror; each of its
    schemas has a row generator here and a source that uses it."""
    ours = fixtures.features()
    assert set(fixtures.GENERATORS) == set(ours) == set(fixtures.SCHEMA_OF.values())


def test_moving_the_mirror_changes_no_prepared_byte(mirror, tmp_path):
    """meta.json names the mirror by its param, not its path: a mirror moved to another folder (or
    another machine) reruns prepare, which writes the same bytes, so nothing downstream reruns."""
    import json
    import shutil

    moved = tmp_path / "elsewhere"
    shutil.copytree(mirror["hub"] / "facebook/xnli", moved / "facebook/xnli")
    shutil.copytree(mirror["hub"] / "nyu-mll/glue", moved / "nyu-mll/glue")
    written = []
    for hub in (mirror["hub"], moved):
        params = config.validate(paper_raw(hub, finetune_targets=["xnli"], retrieval_targets=[], languages=["de"]))
        loader, task = prepare.Loader(params), tasks.TARGETS["xnli"]
        meta = {"counts": {}, "dropped": {}, "languages": list(params.target_languages("xnli"))}
        out = tmp_path / f"prepared-{len(written)}"
        prepare.write_training(loader, task, params, out, meta)
        prepare.write_eval(loader, task, params, out, tmp_path / f"labels-{len(written)}", meta)
        meta["sources"] = loader.provenance
        written.append((json.dumps(meta, sort_keys=True), sorted((p.relative_to(out).as_posix(), p.read_bytes())
                                                                 for p in out.rglob("*") if p.is_file())))
    assert written[0] == written[1] and str(mirror["hub"]) not in written[0][0]
