"""README "Extend", recipe 1, followed once: a new task of an existing kind is one registry entry
(xstilts/core/tasks.py), one normalizer (xstilts/data/normalize/, in NORMALIZERS), one twin generator
(here: the fixture files a twin would write) and this fixture test. Nothing else is edited: the kind's
class featurizes it, writes its leaderboard files and scores it."""
import datasets
import pytest
import yaml
from conftest import ROOT

from xstilts import kinds
from xstilts.core import config, tasks
from xstilts.data import normalize, prepare
from xstilts.eval import layout, scorer

ROWS = {"en": [("a cat sleeps", "an animal sleeps", 0), ("a cat sleeps", "a dog barks", 1)] * 6,
        "de": [("eine Katze schläft", "ein Tier schläft", 0), ("eine Katze schläft", "ein Hund bellt", 1)] * 3}


def toy_normalizer(ds, task, source, lang, where, dropped):
    """The toy source's schema: premise, hypothesis, ClassLabel(entails, differs)."""
    names = ds.features["verdict"].names
    return [{"id": str(k), "text_a": r["premise"], "text_b": r["hypothesis"], "label": names[r["verdict"]]}
            for k, r in enumerate(ds)]


@pytest.fixture
def toy_task(monkeypatch, tmp_path):
    for registry in ("TASKS", "TARGETS", "INTERMEDIATE_TASKS"):  # this test's registrations end with it
        monkeypatch.setattr(tasks, registry, dict(getattr(tasks, registry)))
    monkeypatch.setitem(normalize.NORMALIZERS, "toy", toy_normalizer)                     # 2. the normalizer
    task = tasks.register(tasks.Task(                                                     # 1. the registry entry
        "toy_nli", "target", "classification", "accuracy", "a toy entailment task",
        train=(tasks.Source("acme/toy", "en", "train", "toy"),),
        dev=(tasks.Source("acme/toy", "en", "validation", "toy"),),
        train_from="toy_nli", labels=("entails", "differs"),
        eval={"test": tasks.Source("acme/toy", "{code}", "test", "toy")}, languages={"xtreme": ("en", "de")}))
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "verdict": datasets.ClassLabel(names=["entails", "differs"])})
    for lang, rows in ROWS.items():                                                       # 3. what its twin writes
        splits = ("train", "validation", "test") if lang == "en" else ("test",)
        for split in splits:
            ds = datasets.Dataset.from_dict({"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows],
                                             "verdict": [r[2] for r in rows]}, features=features)
            out = tmp_path / "mirror/acme/toy" / lang / f"{split}-00000-of-00001.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(out))
    return task, tmp_path


def test_a_task_of_an_existing_kind_needs_only_its_registry_entry_and_normalizer(toy_task):
    task, root = toy_task
    assert "toy_nli" in tasks.TARGETS and kinds.of_task("toy_nli").name == "classification"
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw.update(profile="paper", finetune_targets=["xnli"], retrieval_targets=[])
    raw["paper"]["data"]["local_hub"] = str(root / "mirror")
    params = config.validate(raw)
    loader = prepare.Loader(params)
    meta = {"counts": {}, "dropped": {}, "languages": ["en", "de"]}
    labels = prepare.write_training(loader, task, params, root / "prepared", meta)
    prepare.write_eval(loader, task, params, root / "prepared", root / "labels/toy_nli", meta)
    assert labels == ["entails", "differs"] and meta["counts"]["train"] == 12
    assert meta["counts"]["eval"] == {"test": {"en": 12, "de": 6}}
    # predictions in the leaderboard layout, scored by evaluate.py's rules: a perfect and a constant guesser
    for lang, n in (("en", 12), ("de", 6)):
        rows = [{"label": ("entails", "differs")[r[2]]} for r in ROWS[lang]]
        layout.write_predictions("toy_nli", root / "perfect/toy_nli" / f"test-{lang}", rows,
                                 [r["label"] for r in rows])
        layout.write_predictions("toy_nli", root / "constant/toy_nli" / f"test-{lang}", rows, ["entails"] * n)
    perfect = scorer.score_task("toy_nli", root / "perfect", root / "labels", "test", ("en", "de"))
    constant = scorer.score_task("toy_nli", root / "constant", root / "labels", "test", ("en", "de"))
    assert perfect["avg_metric"] == 100.0 and constant["accuracy"] == {"en": 50.0, "de": 50.0}
    # and the kind featurizes it for training with the task's label names
    class Tok:
        def __call__(self, a, b, truncation, max_length):
            return {"input_ids": [[0, len(x), len(y), 2] for x, y in zip(a, b)]}
    feats = kinds.of_task("toy_nli").featurize(prepare.english(loader, task, task.train, {}, "train")[:2], Tok(),
                                               config.TaskHparams(8, 1, 32), labels)
    assert [f["labels"] for f in feats] == [0, 1]


def test_registering_a_name_twice_is_refused(toy_task):
    with pytest.raises(ValueError, match="already registered"):
        tasks.register(tasks.TASKS["xnli"])
