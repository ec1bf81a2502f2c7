"""Numerics as part of a run's identity: precision is a pipeline param; TF32 through torch's current API."""
import ast

import torch
from conftest import ROOT

from xstilts.train import runtime


def test_tf32_is_set_through_the_new_api_only():
    """issue 26 §1.4: on CUDA, torch >= 2.9 raises when a process mixes the legacy TF32 flags and the
    fp32_precision API (transformers >= 5 uses the new one). No code of ours may set the legacy ones
    (a CPU build never raises, so the source is what is checked), and allow_tf32 sets the new ones."""
    legacy = []
    for path in [*ROOT.glob("xstilts/**/*.py"), *ROOT.glob("stages/*.py"), *ROOT.glob("benchmarks/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute)
                    and node.attr in ("allow_tf32", "allow_bf16_reduced_precision_reduction")):
                legacy.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "set_float32_matmul_precision":
                legacy.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert legacy == []
    before = (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
    try:
        runtime.allow_tf32()
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"
    finally:
        torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = before


COMPUTING_SCRIPTS = ("pretrain", "intermediate", "finetune", "retrieve", "translate_intermediate", "translate_train")


def test_precision_is_a_pipeline_param_of_every_stage_that_computes():
    """issue 26 §1.3: precision was a runtime setting (no stage listed it), so DVC's run-cache (shared on
    S3) could hand a bf16 run an fp32 result. Now each profile has one, and every stage that trains,
    predicts, embeds or translates lists it."""
    import yaml
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert raw["tiny"]["precision"] == "fp32" and raw["paper"]["precision"] == "bf16"
    assert all("precision" not in section for section in raw["runtime"].values())
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    computing = {name for name, st in stages.items()
                 if any(f"stages/{s}.py" in str(st.get("cmd", st.get("do", {}).get("cmd"))) for s in COMPUTING_SCRIPTS)}
    assert len(computing) == len(COMPUTING_SCRIPTS)
    for name in computing:
        params = stages[name].get("params") or stages[name]["do"]["params"]
        assert "${profile}.precision" in params, name


def test_precision_is_validated_and_never_comes_from_the_runtime(monkeypatch):
    import pytest
    import yaml

    from xstilts.core import config
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert config.validate(raw).runtime().precision == "fp32"
    bad = {**raw, "tiny": {**raw["tiny"], "precision": "auto"}}
    with pytest.raises(config.ParamsError, match="unknown precision in tiny.precision 'auto'.*fp32, bf16, fp16"):
        config.validate(bad)
    old = {**raw, "runtime": {**raw["runtime"], "tiny": {**raw["runtime"]["tiny"], "precision": "bf16"}}}
    with pytest.raises(config.ParamsError, match="set tiny.precision"):
        config.validate(old)
    fp16_cpu = {**raw, "tiny": {**raw["tiny"], "precision": "fp16"}}
    with pytest.raises(config.ParamsError, match="'fp16' needs CUDA"):
        config.validate(fp16_cpu)
    monkeypatch.setenv("XSTILTS_PRECISION", "bf16")
    with pytest.raises(config.ParamsError, match="-S tiny.precision="):
        config.validate(raw).runtime()


def test_a_translation_cache_entry_is_one_precision(tmp_path, monkeypatch):
    from xstilts.core import config, leases
    from xstilts.data import translate
    monkeypatch.setattr(leases, "lease_for", lambda rt, count: None)
    tp = config.TranslateParams(engine="model", model="m")

    def path(device, precision, bf16):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: device != "cpu")
        rt = config.RuntimeParams(device=device, precision=precision, max_device_batch=None, processes=1,
                                  deterministic=True, threads=1, checkpoint_every=10, progress_every=10)
        return translate.ModelTranslator(tp, cache_dir=tmp_path, runtime=rt).cache_path("de")
    cpu, gpu_bf16, gpu_fp16 = path("cpu", "bf16", True), path("cuda", "bf16", True), path("cuda", "fp16", False)
    assert len({cpu, gpu_bf16, gpu_fp16}) == 3
    assert path("auto", "bf16", True) == gpu_bf16  # (is_available patched True: auto is cuda)
