"""Params validation: bad names fail early with the valid ones listed; typos fail in seconds."""
import subprocess
import sys
import time

import pytest
import yaml

from xstilts.core import config


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


def test_stage_typo_fails_fast_before_torch(in_repo):
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-X", "importtime", "stages/finetune.py", "--task", "xnil",
                           "--arm", "baseline"], capture_output=True, text=True, cwd=in_repo)
    assert proc.returncode == 2
    assert "unknown fine-tuned target 'xnil'" in proc.stderr and "xnli" in proc.stderr
    assert "| torch" not in proc.stderr and "| transformers" not in proc.stderr  # importtime lists every import
    proc = subprocess.run([sys.executable, "-X", "importtime", "stages/intermediate.py", "--arm", "intermedate"],
                          capture_output=True, text=True, cwd=in_repo)
    assert proc.returncode == 2
    assert "unknown arm 'intermedate'" in proc.stderr and "intermediate" in proc.stderr
    assert "| torch" not in proc.stderr and "| transformers" not in proc.stderr  # importtime lists every import
    assert time.time() - t0 < 10


def test_every_stage_cmd_runs_its_own_script(in_repo):
    """One hop from dvc.yaml to a stage's code: `python stages/<script>.py`, and no stage script
    imports another (they share the library, xstilts)."""
    stages = yaml.safe_load((in_repo / "dvc.yaml").read_text())["stages"]
    scripts = set()
    for name, stage in stages.items():
        words = stage.get("do", stage)["cmd"].split()
        assert words[0] == "python" and words[1].startswith("stages/") and (in_repo / words[1]).is_file(), name
        scripts.add(words[1])
    assert scripts == {f"stages/{p.name}" for p in (in_repo / "stages").glob("*.py")}
    for script in scripts:
        text = (in_repo / script).read_text()
        assert "import stages" not in text and "from stages" not in text, script
    out = subprocess.run([sys.executable, "-m", "xstilts.cli", "--help"], capture_output=True, text=True,
                         cwd=in_repo).stdout
    for cmd in ("check", "tasks", "claims", "grid", "claim", "collect", "families", "score", "deps"):
        assert cmd in out
