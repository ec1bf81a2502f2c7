"""The rules of params.yaml as one table (xstilts/core/param_rules.py), and the stage scripts'
command-line arguments checked once, against the same params, by stage.run."""
import copy
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

from xstilts.core import config, param_rules, stage, tasks

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.mark.parametrize("profile", tasks.PROFILES)
def test_every_rule_names_a_key_params_yaml_has(profile):
    """A misspelled key path would read as null and check nothing: every row's path is in params.yaml."""
    params = config.validate({**copy.deepcopy(RAW), "profile": profile})
    for rule in param_rules.RULES:
        if rule.when is not None and not rule.when(params):
            continue
        parts = rule.key.format(profile=profile).split(".") if rule.key else []
        node = params.raw
        for part in parts:
            if part == "*":
                break
            assert isinstance(node, dict) and part in node, f"rule for {rule.key}: no '{part}' in params.yaml"
            node = node[part]


def test_each_entry_of_a_star_row_gets_all_its_checks_in_turn():
    raw = copy.deepcopy(RAW)
    first, second = list(raw["tiny"]["models"])[:2]
    raw["tiny"]["models"][first]["num_heads"] = 7         # the first entry's second check fails ...
    raw["tiny"]["models"][second]["arch"] = "gpt"         # ... before the second entry's first one
    with pytest.raises(config.ParamsError, match=f"tiny.models.{first}: hidden_size .* num_heads 7"):
        config.validate(raw)


@pytest.mark.parametrize("share, needle", [
    ({"qz": 0.5}, r"unknown language in tiny.world.cognate_share 'qz'.*Valid: qa, qb, qc, qd, qe"),
    ({"qa": 1.5}, r"tiny.world.cognate_share.qa must be in \[0, 1\], got 1.5"),
    ({"qa": "lots"}, r"tiny.world.cognate_share.qa must be in \[0, 1\], got 'lots'"),
])
def test_a_bad_cognate_share_names_the_value_and_what_is_valid(share, needle):
    raw = copy.deepcopy(RAW)
    raw["tiny"]["world"]["cognate_share"] = share
    with pytest.raises(config.ParamsError, match=needle):
        config.validate(raw)


def test_a_model_name_that_is_no_string_is_a_params_error():
    raw = copy.deepcopy(RAW)
    raw["tiny"]["models"][5] = raw["tiny"]["models"][raw["tiny"]["default_model"]]
    with pytest.raises(config.ParamsError, match=r"model name '5' must match"):
        config.validate(raw)


def test_trained_tasks_are_the_targets_then_the_intermediate_members():
    params = config.validate({**copy.deepcopy(RAW), "intermediate": "multitask_v1"})
    trained = params.trained_tasks()
    assert trained == [("target_train", t) for t in params.active_targets if tasks.TARGETS[t].trains] + \
        [("intermediate_train", m) for m in tasks.MULTITASK["multitask_v1"]]


def test_every_stage_script_that_takes_arguments_has_them_in_the_table():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, entry in stages.items():
        words = entry.get("do", entry)["cmd"].split()
        if len(words) > 2:
            assert words[1].removeprefix("stages/").removesuffix(".py") in param_rules.STAGE_ARGUMENTS, name


@pytest.mark.parametrize("script,args,needle", [
    ("stages/finetune.py", ("basline", "xnli"), "unknown arm 'basline'. Did you mean 'baseline'?"),
    ("stages/finetune.py", ("baseline", "tatoeba"), "unknown fine-tuned target 'tatoeba'"),
    ("stages/retrieve.py", ("intermediate", "xnli"), "unknown retrieval target 'xnli'"),
    ("stages/prepare.py", ("xnl",), "unknown target 'xnl'. Did you mean 'xnli'?"),
    ("stages/translate_train.py", ("a b",), "unknown target 'a b'"),
])
def test_a_mistyped_stage_argument_names_the_valid_ones(script, args, needle):
    params = config.validate(copy.deepcopy(RAW))
    with pytest.raises(config.ParamsError) as e:
        stage.check_arguments(script, params, args)
    assert needle in str(e.value) and "Valid:" in str(e.value)
    stage.check_arguments("tools/finetune.py", params, args)   # not a stage script: not its arguments


def test_valid_stage_arguments_pass():
    params = config.validate(copy.deepcopy(RAW))
    stage.check_arguments("stages/finetune.py", params, ("baseline", params.finetune_targets[0]))
    stage.check_arguments("stages/retrieve.py", params, ("intermediate", params.retrieval_targets[0]))
    stage.check_arguments("stages/prepare.py", params, ("xcopa",))   # any target: outside the lists, it is skipped
    stage.check_arguments("stages/intermediate.py", params, ("baseline",))


def test_a_stage_run_by_hand_with_a_typo_fails_with_exit_code_2(in_repo):
    proc = subprocess.run([sys.executable, "stages/prepare.py", "xnl"], capture_output=True, text=True, cwd=in_repo)
    assert proc.returncode == 2, proc.stderr
    assert "error: unknown target 'xnl'. Did you mean 'xnli'?" in proc.stderr
