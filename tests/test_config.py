"""Params validation: bad names fail early with the valid ones listed; typos fail in seconds."""
import subprocess
import sys
import time

import pytest
import yaml

from stages import config


@pytest.fixture
def raw(in_repo):
    return yaml.safe_load((in_repo / "params.yaml").read_text())


def test_repo_params_are_valid(in_repo):
    p = config.load()
    assert p.profile == "tiny"
    assert p.group("target_train").for_task("xnli").batch_size > 0


@pytest.mark.parametrize("key,value,needle", [
    ("intermediate", "mnlii", "Did you mean 'mnli'"),
    ("profile", "papr", "Did you mean 'paper'"),
    ("finetune_targets", ["xnli", "xnl"], "unknown target"),
    ("finetune_targets", ["tatoeba"], "belongs in retrieval_targets"),
    ("languages", ["en", "de"], "unknown language for profile tiny 'de'"),
    ("eval_split", "train", "unknown eval_split"),
    ("intermediate", "a@b", "unknown intermediate task"),
])
def test_bad_values_name_value_and_valid_ones(raw, key, value, needle):
    raw[key] = value
    with pytest.raises(config.ParamsError) as e:
        config.validate(raw)
    assert needle in str(e.value)
    assert "Valid:" in str(e.value) or "belongs" in str(e.value)


def test_unknown_keys_are_errors(raw):
    raw["tiny"]["target_train"]["learning_rate"] = 1.0
    with pytest.raises(config.ParamsError, match="unknown key in params 'tiny.target_train' 'learning_rate'"):
        config.validate(raw)
    del raw["tiny"]["target_train"]["learning_rate"]
    raw["intermediat"] = "mnli"
    with pytest.raises(config.ParamsError, match="Did you mean 'intermediate'"):
        config.validate(raw)


def test_cli_typo_fails_fast(in_repo):
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "stages.cli", "intermediate", "--task", "helaswag",
                           "--arm", "intermediate"], capture_output=True, text=True, cwd=in_repo)
    assert proc.returncode == 2
    assert "unknown intermediate task 'helaswag'" in proc.stderr and "mnli" in proc.stderr
    assert time.time() - t0 < 10


def test_help_lists_every_stage_command(in_repo):
    out = subprocess.run([sys.executable, "-m", "stages.cli", "--help"], capture_output=True, text=True,
                         cwd=in_repo).stdout
    for cmd in ("world", "prepare", "pretrain", "intermediate", "finetune", "retrieve", "score", "report", "tasks"):
        assert cmd in out
    dvc_yaml = (in_repo / "dvc.yaml").read_text()
    for line in dvc_yaml.splitlines():
        if line.strip().startswith("cmd:"):
            assert line.split("cmd:")[1].split()[0] == "xstilts"
