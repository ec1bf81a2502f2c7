"""A corrupted mirror, one fault per test: prepare names the file, the row and the column.

A fixture mirror in the real Hub layouts (xstilts/data/fixtures/) is written once; each test copies
it, breaks one file the way real downloads and real sources break (a truncated file, a renamed
column, a label outside its ClassLabel, an empty split, tokens and tags of different lengths, an
answer that is not in its context, null text), and prepares the task that reads it as the stages do
(prepare.write_training / write_eval with `paper.data.local_hub` at the copy). Each must be a
`sources.DataSourceError` (exit code 3, printed as one line by the stages) whose message names the
parquet file, the row (and id) and the column where they apply, in under 300 characters. Then the
counted policies (repaired answer offsets, dropped unlabeled rows, both printed by the stage) and
that a failing prepare stage leaves no half-written output.
"""
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT

from xstilts.core import config, paths, tasks
from xstilts.data import fixtures, needs, normalize, prepare, sources

TARGETS, INTERMEDIATE, LANGS = ["xnli", "panx"], ["mnli", "squad_v1"], ["de"]
MNLI_TRAIN = tasks.TASKS["mnli"].train[0]                          # nyu-mll/glue mnli train (idx ids)
SQUAD_TRAIN = tasks.TASKS["squad_v1"].train[0]                     # rajpurkar/squad plain_text train
PANX_TRAIN = tasks.TASKS["panx"].train[0]                          # google/xtreme PAN-X.en train
XNLI_TEST = tasks.TARGETS["xnli"].eval_source("test", "de", "paper")   # facebook/xnli de test
XNLI_DEV = tasks.TARGETS["xnli"].eval_source("dev", "de", "paper")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    hub = tmp_path_factory.mktemp("faults") / "hub"
    fixtures.write_mirror(hub, needs.needs(TARGETS, INTERMEDIATE, ["xtreme"], languages=LANGS))
    return hub


@pytest.fixture
def hub(clean, tmp_path):
    copy = tmp_path / "hub"
    shutil.copytree(clean, copy)
    return copy


def params_for(hub, **top):
    raw = yaml.safe_load(open(ROOT / "params.yaml"))
    raw["profile"] = "paper"
    raw["paper"]["data"]["local_hub"] = str(hub)
    raw.update(top)
    return config.validate(raw)


def file_of(hub, source, lang="en"):
    files = sources.mirror_files(hub / source.repo, sources.config_name(source, lang, "paper"), source.split)
    assert len(files) == 1, files
    return files[0]


# --- breaking a parquet file, its datasets Features (schema metadata) kept consistent ---------------
def rewrite(path, change):
    pq.write_table(change(pq.read_table(path)), path)


def set_value(column, k, value):
    def change(table):
        i = table.column_names.index(column)
        values = table[column].to_pylist()
        values[k] = value(values[k]) if callable(value) else value
        return table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))
    return change


def rename(old, new):
    def change(table):
        meta = dict(table.schema.metadata or {})
        info = json.loads(meta[b"huggingface"])
        info["info"]["features"] = {new if k == old else k: v for k, v in info["info"]["features"].items()}
        meta[b"huggingface"] = json.dumps(info).encode()
        return table.rename_columns([new if c == old else c for c in table.column_names]).replace_schema_metadata(meta)
    return change


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def cell(path, column, k):
    return pq.read_table(path)[column][k].as_py()


# --- running prepare as the stages do -------------------------------------------------------------
def train(hub, out, task="mnli"):
    params = params_for(hub)
    meta = {"counts": {}, "dropped": {}}
    prepare.write_training(prepare.Loader(params), tasks.TASKS[task], params, out, meta)
    return meta


def evaluate(hub, out, task="xnli"):
    params = params_for(hub, finetune_targets=TARGETS, retrieval_targets=[], languages=LANGS)
    meta = {"counts": {}, "dropped": {}, "languages": list(params.target_languages(task))}
    prepare.write_eval(prepare.Loader(params), tasks.TARGETS[task], params, out, out / "labels", meta)
    return meta


def one_line(e, *fragments):
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 300, msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
    return msg


# --- the matrix: each fault, what the message must name --------------------------------------------
def truncated_parquet(hub):
    path = file_of(hub, MNLI_TRAIN)
    truncate(path)
    return train, [str(path), "truncated or corrupt"]


def renamed_column(hub):
    path = file_of(hub, XNLI_TEST, "de")
    rewrite(path, rename("label", "gold"))
    return evaluate, [str(path), "column 'label' is missing", "premise, hypothesis, gold"]


def classlabel_out_of_range(hub):
    path = file_of(hub, MNLI_TRAIN)
    rewrite(path, set_value("label", 5, 7))
    return train, [str(path), "row 5 ", f"(id '{cell(path, 'idx', 5)}')", "column 'label'", "label id 7",
                   "['entailment', 'neutral', 'contradiction']"]


def empty_split(hub):
    path = file_of(hub, XNLI_DEV, "de")
    rewrite(path, lambda table: table.slice(0, 0))
    return evaluate, [str(path), "0 rows", "'validation'"]


def tokens_tags_mismatch(hub):
    path = file_of(hub, PANX_TRAIN)
    n = len(cell(path, "tokens", 3))
    rewrite(path, set_value("ner_tags", 3, lambda tags: tags + [0]))
    return (lambda h, out: train(h, out, "panx")), [
        str(path), "row 3,", "column 'ner_tags'", f"{n + 1} tags for {n} tokens"]


def unlocatable_answer(hub):
    path = file_of(hub, SQUAD_TRAIN)
    rewrite(path, set_value("answers", 2, lambda a: {**a, "text": ["zebra crossing"] * len(a["text"])}))
    return (lambda h, out: train(h, out, "squad_v1")), [
        str(path), "row 2 ", f"(id '{cell(path, 'id', 2)}')", "column 'answers.text'", "'zebra crossing'",
        "does not occur in the context"]


def null_text(hub):
    path = file_of(hub, MNLI_TRAIN)
    rewrite(path, set_value("premise", 4, None))
    return train, [str(path), "row 4 ", f"(id '{cell(path, 'idx', 4)}')", "column 'premise'", "found null"]


FAULTS = [truncated_parquet, renamed_column, classlabel_out_of_range, empty_split, tokens_tags_mismatch,
          unlocatable_answer, null_text]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_a_broken_source_is_one_line_naming_file_row_and_column(fault, hub, tmp_path):
    run, fragments = fault(hub)
    with pytest.raises(sources.DataSourceError) as e:
        run(hub, tmp_path / "out")
    one_line(e, *fragments)
    assert e.value.exit_code == 3


def test_a_row_in_a_later_shard_is_named_in_its_own_file(hub, tmp_path):
    """A split of several parquet files: the message names the shard and the row within it."""
    path = file_of(hub, MNLI_TRAIN)
    table = pq.read_table(path)
    first, second = path.with_name("train-00000-of-00002.parquet"), path.with_name("train-00001-of-00002.parquet")
    pq.write_table(table.slice(0, 20), first)
    pq.write_table(table.slice(20), second)
    path.unlink()
    rewrite(second, set_value("label", 3, 9))
    with pytest.raises(sources.DataSourceError) as e:
        train(hub, tmp_path / "out")
    one_line(e, f"{second}: row 3 ", "column 'label'", "label id 9")


def test_a_hub_source_is_named_by_repo_config_split_and_revision():
    import datasets
    ds = datasets.Dataset.from_dict({"premise": ["p", None], "hypothesis": ["h", "i"], "label": [0, 2], "idx": [0, 1]},
                                    features=datasets.Features({
                                        "premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                        "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
                                        "idx": datasets.Value("int32")}))
    where = sources.Location("nyu-mll/glue", "mnli", "train", revision="refs/convert/parquet")
    with pytest.raises(sources.DataSourceError) as e:
        normalize.normalize(tasks.TASKS["mnli"], MNLI_TRAIN, ds, "en", "paper", where=where, strict=True)
    one_line(e, "nyu-mll/glue (config 'mnli', split 'train', revision 'refs/convert/parquet'): row 1 (id '1')",
             "column 'premise'", "found null")


# --- counted policies -------------------------------------------------------------------------------
def test_an_off_answer_start_is_repaired_and_counted(clean, hub, tmp_path):
    path = file_of(hub, SQUAD_TRAIN)
    rewrite(path, set_value("answers", 1, lambda a: {**a, "answer_start": [s + 1 for s in a["answer_start"]]}))
    meta = train(hub, tmp_path / "off", "squad_v1")
    assert meta["repaired"] == {"train": {SQUAD_TRAIN.label: {
        "answer_start repaired": len(cell(path, "answers", 1)["text"])}}}
    assert meta["dropped"] == {}
    assert "answer_start repaired" in prepare.drop_summary(meta)
    # the repaired rows are the rows of the unbroken source
    train(clean, tmp_path / "clean", "squad_v1")
    assert (tmp_path / "off/train.jsonl").read_bytes() == (tmp_path / "clean/train.jsonl").read_bytes()


def test_unlabeled_rows_are_dropped_counted_and_printed(hub, tmp_path, monkeypatch, capsys):
    """The real sources' placeholders (-1 test labels) are dropped, counted in meta.json by split,
    language and reason, and printed by the stage."""
    rewrite(file_of(hub, XNLI_TEST, "de"), lambda t: set_value("label", 1, -1)(set_value("label", 0, -1)(t)))
    monkeypatch.chdir(tmp_path)
    prepare.prepare_target(params_for(hub, finetune_targets=["xnli"], retrieval_targets=[], languages=LANGS), "xnli")
    meta = json.loads((tmp_path / paths.prepared("xnli") / paths.META).read_text())
    assert meta["dropped"] == {"test": {"de": {"unlabeled": 2}}} and meta["repaired"] == {}
    assert "prepare xnli: dropped 2 rows (unlabeled 2: test 2)" in capsys.readouterr().out


# --- no partial output ------------------------------------------------------------------------------
def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_failing_prepare_stage_leaves_no_half_written_output(hub, tmp_path, monkeypatch):
    """write_training succeeds, write_eval then fails: data/prepared/xnli and data/labels/xnli keep
    the previous run's files (or stay absent), and no temp dir is left beside them."""
    main = prepare.prepare_target
    params = params_for(hub, finetune_targets=["xnli"], retrieval_targets=[], languages=LANGS)
    monkeypatch.chdir(tmp_path)
    main(params, "xnli")
    before = _tree(tmp_path / "data")
    assert any(k.startswith("labels/xnli/") for k in before) and "prepared/xnli/meta.json" in before
    truncate(file_of(hub, XNLI_TEST, "de"))
    with pytest.raises(sources.DataSourceError):
        main(params, "xnli")
    assert _tree(tmp_path / "data") == before
    assert not [p for p in (tmp_path / "data").rglob(".*tmp-*")]
    # a first run that fails leaves nothing
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    with pytest.raises(sources.DataSourceError):
        main(params, "xnli")
    assert not (fresh / paths.prepared("xnli")).exists() and not (fresh / paths.labels("xnli")).exists()
    assert not [p for p in fresh.rglob(".*tmp-*")]
