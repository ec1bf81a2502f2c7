"""Params typed and ranged, for any value a user (or `dvc exp run -S`) can write: a property test over
random overrides of params.yaml. Every outcome is either a valid Params (and then the checks against
the model run too) or one ParamsError line naming the key and the value: never another exception,
never a hang."""
import copy
import time

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xstilts.core import checks, config, tasks

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())


def paths_of(node, prefix=()):
    """Every key path of the params tree, leaves and groups alike."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from paths_of(v, prefix + (k,))


PATHS = sorted(set(paths_of(RAW)))
SCALARS = st.one_of(
    st.integers(-5, 5), st.integers(-10**9, 10**9), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(),
    st.sampled_from(["1e-05", "3e-6", "fast", "", "xnli", "de", "qa", "auto", "cuda", "bf16", "null", "[xnli]",
                     "/no/such/dir", "mnli", "paper", "tiny", "xtreme_r", "0.5", "-1"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.lists(st.lists(SCALARS, max_size=2), max_size=2),
                   st.dictionaries(st.sampled_from(["a", "lr", "batch_size", "xnli"]), SCALARS, max_size=2))


def set_path(raw, path, value):
    node = raw
    for k in path[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(k, {})
    if isinstance(node, dict):
        node[path[-1]] = value


def exercise(params) -> None:
    """What a stage reads of valid params: every group, every listed task's hparams, the checks."""
    params.runtime()
    for name in ("data", "pretrain", "intermediate_train", "target_train", "retrieval", "translate"):
        params.group(name)
    for t in params.active_targets:
        if tasks.TARGETS[t].trains:
            params.train_group("target_train").for_task(t)
    for m in params.intermediate_members:
        params.train_group("intermediate_train").for_task(m)
    params.retrieval_layer()
    checks.run(params)


@settings(max_examples=500, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(profile=st.sampled_from(["tiny", "paper"]),
       overrides=st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_any_override_is_valid_or_one_line_naming_it(profile, overrides):
    raw = copy.deepcopy(RAW)
    raw["profile"] = profile
    for path, value in overrides:
        set_path(raw, path, value)
    t0 = time.time()
    try:
        params = config.validate(raw)
        exercise(params)
    except config.ParamsError as e:
        msg = str(e)
        assert msg and "Traceback" not in msg
        assert all(line.strip() for line in msg.splitlines())  # one line per error, none empty
    assert time.time() - t0 < 2


@pytest.mark.parametrize("path,value,needle", [
    (("tiny", "target_train", "tasks", "xnli", "batch_size"), -4,
     "tiny.target_train.tasks.xnli.batch_size must be a positive integer, got -4"),
    (("tiny", "target_train", "tasks", "xnli", "epochs"), 0,
     "tiny.target_train.tasks.xnli.epochs must be a positive number, got 0"),
    (("tiny", "target_train", "lr"), "fast", "tiny.target_train.lr must be a positive number, got 'fast'"),
    (("finetune_targets",), [["xnli"]], "finetune_targets must be a list of target names, got [['xnli']]"),
    (("runtime", "tiny", "threads"), 0, "runtime.tiny.threads must be a positive integer, got 0"),
    (("tiny", "intermediate_train", "mlm", "probability"), 1.5,
     "tiny.intermediate_train.mlm.probability must be a number in (0, 1], got 1.5"),
    (("tiny", "target_train", "warmup_ratio"), -0.1,
     "tiny.target_train.warmup_ratio must be a number in [0, 1), got -0.1"),
    (("languages",), ["en", 3], "languages must be null or a non-empty list of language codes, got ['en', 3]"),
    (("tiny", "retrieval", "batch_size"), 2.5, "tiny.retrieval.batch_size must be a positive integer, got 2.5"),
    (("seed",), True, "seed must be an integer, got True"),
])
def test_bad_values_name_key_value_and_range(path, value, needle):
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    set_path(raw, path, value)
    with pytest.raises(config.ParamsError) as e:
        config.validate(raw)
    assert needle in str(e.value), str(e.value)


def test_learning_rates_written_as_yaml_1_1_strings_are_numbers():
    """`dvc exp run -S paper.target_train.lr=1e-5` writes `lr: 1e-05`, which YAML 1.1 reads as a string."""
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    raw["profile"] = "paper"
    raw["paper"]["target_train"]["lr"] = "1e-05"
    raw["paper"]["intermediate_train"]["mlm"]["lr"] = "5e-6"
    params = config.validate(raw)
    assert params.group("target_train").lr == pytest.approx(1e-5) and isinstance(params.group("target_train").lr, float)
    assert params.group("intermediate_train").mlm_params().lr == pytest.approx(5e-6)
    assert yaml.safe_load("lr: 1e-05")["lr"] == "1e-05"  # the trap itself
    for bad in ("nan", "-1e-5", "1e-5x"):
        raw["paper"]["target_train"]["lr"] = bad
        with pytest.raises(config.ParamsError, match="paper.target_train.lr must be a positive number, got "):
            config.validate(raw)


def test_paths_the_profile_uses_must_exist(tmp_path):
    raw = yaml.safe_load(yaml.safe_dump(RAW))
    raw["profile"] = "paper"
    raw["paper"]["data"]["local_hub"] = str(tmp_path / "no-mirror")
    errors = checks.run(config.validate(raw)).errors
    assert any("paper.data.local_hub" in e and "no-mirror" in e and "does not exist" in e for e in errors), errors
    raw["paper"]["data"]["local_hub"] = None
    raw["intermediate"] = "ccg"
    raw["paper"]["data"]["ccgbank"] = str(tmp_path)
    errors = checks.run(config.validate(raw)).errors
    assert any("paper.data.ccgbank" in e and "data/AUTO" in e for e in errors), errors
