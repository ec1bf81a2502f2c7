import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository root as working directory (params.yaml is read from there)."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture(scope="session")
def small_world_params():
    from xstilts.core.config import WorldParams
    return WorldParams(seed=7, corpus_sentences=300, corpus_share={}, code_switch_rate=0.15, loanword_share=0.08,
                       train_examples=240, dev_examples=60, eval_per_language=30)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory, small_world_params):
    from xstilts.world import generate as generate_mod
    out = tmp_path_factory.mktemp("world")
    generate_mod.generate(out, small_world_params)
    return out


def stage_script(name: str):
    """A stage script of stages/ as a module (its main), as `python stages/<name>.py` runs it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
