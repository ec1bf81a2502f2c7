"""Early checks of a run against its model (xstilts/core/checks.py), the report's statement of the
weights really loaded, and `xstilts preflight` on a fixture mirror and fixture models."""
import json
import shutil

import pytest
import yaml
from conftest import ROOT, run, trimmed_repo

from xstilts.core import checks, config
from xstilts.report import document


def paper_raw(**top) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw.update(profile="paper", **top)
    return raw


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """XLM-R large's and mT5 small's random-weight copies (the real depths, tiny widths)."""
    from xstilts.model import fixtures as model_fixtures
    root = tmp_path_factory.mktemp("models")
    params = config.validate(paper_raw())
    specs = {n: params.model_spec(n) for n in ("xlm-roberta-large", "mt5-small")}
    model_fixtures.write_models(root, specs)
    return root


# --- checks against the model: errors naming the param, its value and the model's limit ------------
def test_registry_shape_catches_depth_and_length_before_any_work():
    raw = paper_raw()
    raw["paper"]["retrieval"]["layer"] = 25
    raw["paper"]["target_train"]["tasks"]["xnli"]["max_seq_length"] = 600
    found = checks.run(config.validate(raw))
    assert found.shape.source == "registry" and found.shape.num_layers == 24
    assert any(e.startswith("paper.retrieval.layer is 25") and "24 layers" in e for e in found.errors)
    assert any(e.startswith("paper.target_train.tasks.xnli.max_seq_length is 600") and "at most 512" in e
               for e in found.errors)
    raw["retrieval_targets"] = []  # no retrieval target: the layer is not used, so not an error
    assert not any("retrieval.layer" in e for e in checks.run(config.validate(raw)).errors)
    # the registry's own retrieval layers are checked against the registry's depths by validation
    raw = paper_raw()
    raw["paper"]["models"]["mbert"]["retrieval_layer"] = 13
    with pytest.raises(config.ParamsError, match="retrieval_layer 13 is outside 0..12"):
        config.validate(raw)


def test_local_copy_is_read_and_its_differences_are_a_warning(fixtures):
    raw = paper_raw()
    raw["paper"]["pretrain"]["local_models"] = str(fixtures)
    found = checks.run(config.validate(raw), deep=True)
    assert found.errors == [] and found.shape.source.startswith("local copy")
    assert found.shape.num_layers == 24 and found.shape.max_positions == 512 and found.shape.parameters < 1e6
    assert len(found.warnings) == 1 and "hidden size 32 (registry: 1024)" in found.warnings[0]
    assert "registry: 560M" in found.warnings[0] and "judges no paper claim" in found.warnings[0]
    # a retrieval layer deeper than the copy, a tokenizer bigger than its embeddings, MLM without a head
    cfg_path = fixtures / "FacebookAI/xlm-roberta-large/config.json"
    cfg = json.loads(cfg_path.read_text())
    try:
        cfg_path.write_text(json.dumps({**cfg, "num_hidden_layers": 12, "vocab_size": 100}))
        errors = checks.run(config.validate(raw), deep=True).errors
        assert any("has 12 layers" in e for e in errors), errors
        assert any("its tokenizer emits ids up to" in e and "hold 100" in e for e in errors), errors
    finally:
        cfg_path.write_text(json.dumps(cfg))
    raw.update(model="mt5-small", intermediate_mlm=True)
    raw["paper"]["models"]["mt5-small"]["arch"] = "xlmr"  # a registry entry that claims an LM head: the copy decides
    errors = checks.run(config.validate(raw), deep=True).errors
    assert any("intermediate_mlm is true" in e and "no masked-LM head" in e for e in errors), errors


def test_a_missing_local_copy_names_the_download_command(tmp_path):
    raw = paper_raw()
    raw["paper"]["pretrain"]["local_models"] = str(tmp_path)
    errors = checks.run(config.validate(raw)).errors
    assert len(errors) == 1 and "hf download FacebookAI/xlm-roberta-large --revision c23d21b" in errors[0]


def test_a_stage_refuses_the_run_before_any_work(tmp_path):
    repo = trimmed_repo(tmp_path / "repo", ["xnli"], ["tatoeba"])
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["tiny"]["retrieval"]["layer"] = 9  # tiny-xlmr has 4 layers
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    proc = run(["python", "stages/world.py"], repo, check=False)
    assert proc.returncode == 2 and "tiny.retrieval.layer is 9" in proc.stderr and not (repo / "data/world").exists()
    proc = run(["xstilts", "check"], repo, check=False)
    assert proc.returncode == 2 and "tiny.retrieval.layer is 9" in proc.stderr


# --- the report names the weights it ran, and judges the paper's claims on the paper's models only -----
def test_model_statement_and_judging():
    hub = {"name": "xlm-roberta-large", "kind": "hub", "model": "FacebookAI/xlm-roberta-large",
           "revision": "c23d21b0620b635a76227c604d44e43a9f0ee389", "commit": "c23d21b0620b635a76227c604d44e43a9f0ee389",
           "parameters": 559_890_432, "differences": [], "matches_registry": True}
    text = document.model_statement(hub, "xlm-roberta-large")
    assert "FacebookAI/xlm-roberta-large @ c23d21b0620b from the Hub" in text and "559.89M" in text
    assert "the registry's model" in text and document.judges_paper_claims(hub, "paper")
    local = {**hub, "kind": "local", "commit": None, "parameters": 246_560, "matches_registry": False,
             "differences": ["hidden size 32 (registry: 1024)", "0.25M encoder parameters (registry: 560M)"]}
    text = document.model_statement(local, "xlm-roberta-large")
    assert "a local copy of FacebookAI/xlm-roberta-large (no Hub commit)" in text and "NOT the registry's model" in text
    assert not document.judges_paper_claims(local, "paper") and document.judges_paper_claims({}, "tiny")
    assert not document.judges_paper_claims({}, "paper")  # nothing known about the weights: no verdict either


# --- xstilts preflight ------------------------------------------------------------------------------
def test_preflight_on_a_fixture_mirror(tmp_path, fixtures):
    import torch

    from xstilts.data import fixtures as data_fixtures
    from xstilts.data import needs
    repo = trimmed_repo(tmp_path / "repo", ["xnli", "udpos"], ["tatoeba"])
    mirror = tmp_path / "mirror"
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["paper"]["data"]["local_hub"] = str(mirror)
    raw["paper"]["pretrain"]["local_models"] = str(fixtures)
    raw.update(profile="paper", languages=["de", "fr"])
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    wanted = needs.run_needs(config.validate({**raw, "profile": "paper"}))
    data_fixtures.write_mirror(mirror, wanted)
    assert {n.lang for n in wanted} <= {None, "en", "de", "fr"}  # `languages` restricts what the run reads

    gpu = torch.cuda.is_available()
    proc = run(["xstilts", "preflight"], repo, check=False)
    out = proc.stdout
    assert f"OK   data   mirror {mirror}: all {len(wanted)} splits" in out, out
    assert "OK   models xlm-roberta-large: local copy" in out and "WARN params" in out
    assert "OK   disk" in out and "GPU-hours" in out and "the paper's whole grid" in out
    assert proc.returncode == (0 if gpu else 1) and (gpu or "FAIL gpus   no CUDA GPU found" in out), out
    proc = run(["xstilts", "preflight", "--allow-cpu"], repo, check=False)
    assert proc.returncode == 0 and "preflight: OK" in proc.stdout, proc.stdout

    # a split missing from the mirror: the exact command that fetches its repo
    victim = next(n for n in wanted if n.repo == "google/xtreme")
    shutil.rmtree(mirror / victim.repo)
    proc = run(["xstilts", "preflight", "--allow-cpu"], repo, check=False)
    assert proc.returncode == 1 and "FAIL data" in proc.stdout
    assert f"hf download google/xtreme --repo-type dataset --revision main --local-dir {mirror}/google/xtreme" \
        in proc.stdout, proc.stdout
    # no mirror and no Hub (the tests run offline): every repo's command, and the model's
    raw["paper"]["data"]["local_hub"] = None
    raw["paper"]["pretrain"]["local_models"] = None
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    proc = run(["xstilts", "preflight", "--allow-cpu"], repo, check=False)
    assert proc.returncode == 1 and "the Hub is not reachable (HF_HUB_OFFLINE=1)" in proc.stdout
    repos = sorted({n.repo for n in wanted})
    assert all(f"hf download {r} --repo-type dataset" in proc.stdout for r in repos)
    assert "hf download FacebookAI/xlm-roberta-large --revision c23d21b" in proc.stdout
    # (issue 26 §2) each command fetches only the files the run reads: the configs and splits it opens, the
    # card; for the model, config, tokenizer and safetensors weights (no TF, Flax, ONNX or .bin copies)
    commands = [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("hf download")]
    assert len(commands) == len(repos) + 1 and all(" --include 'README.md' " in c for c in commands[:-1]), commands
    for n in wanted:
        cmd = next(c for c in commands if f"hf download {n.repo} " in c)
        assert f"'{n.config}/{n.split}-*'" in cmd, (n, cmd)
    assert commands[-1].endswith("--include '*.json' '*.model' '*.txt' '*.safetensors'"), commands[-1]
    assert "HF_HOME" in proc.stdout


def test_pin_writes_a_commit_per_repo_and_preflight_names_the_unpinned(tmp_path, monkeypatch):
    """issue 26 §2: `xstilts pin` (online; the Hub's API faked here) resolves every repo profile paper reads
    to a commit and writes paper.data.revisions, keeping the file valid; what is still unpinned is named."""
    import hashlib

    from xstilts.data import needs, pins
    params_file = tmp_path / "params.yaml"
    params_file.write_text((ROOT / "params.yaml").read_text())
    asked = []

    def resolve(repo, revision):
        asked.append((repo, revision))
        return hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()
    monkeypatch.setattr(pins, "resolve", resolve)
    raw = yaml.safe_load(params_file.read_text())
    paper = config.validate({**raw, "profile": "paper"})
    mlm = paper.group("intermediate_train").mlm_params()
    before = pins.repo_revisions(raw["paper"]["data"]["revisions"], mlm)
    new = pins.pin(params_file, raw["paper"]["data"]["revisions"], mlm, log=lambda line: None)
    single = {r for r, revs in before.items() if len(revs) == 1}
    assert set(new) == single and len(asked) == len(single) and all(pins.is_pinned(s) for s in new.values())
    after = yaml.safe_load(params_file.read_text())
    assert after["paper"]["data"]["revisions"] == {r: s for r, s in new.items() if r != mlm.corpus}
    assert after["paper"]["intermediate_train"]["mlm"]["revision"] == new[mlm.corpus]  # the MLM corpus: its own pin
    assert {k: v for k, v in after.items() if k != "paper"} == {k: v for k, v in raw.items() if k != "paper"}
    pinned = config.validate({**after, "profile": "paper"})
    mlm = pinned.group("intermediate_train").mlm_params()
    left = pins.unpinned(needs.run_needs(pinned))
    assert all(r.split("@")[0] not in single for r in left)
    assert pins.pin(params_file, after["paper"]["data"]["revisions"], mlm, log=lambda line: None) == {}  # idempotent
    assert pins.unpinned(needs.run_needs(paper))  # the committed params pin nothing yet: preflight names them
