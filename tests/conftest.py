import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# The longest files first: under `-n 2 --dist loadfile` (the README's test command) each file goes whole to
# one worker in this order, so the pipeline tests (a chain on one module-scoped repository, about half the
# suite's time) start at once and the other worker takes everything else beside them.
LONGEST_FIRST = ("test_pipeline.py", "test_paper_profile.py", "test_runtime_stages.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository root as working directory (params.yaml is read from there)."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture(scope="session")
def small_world_params():
    from xstilts.core.config import WorldParams
    return WorldParams(seed=7, corpus_sentences=300, corpus_share={}, cognate_share={"qa": 0.8, "qe": 1.0},
                       code_switch_rate=0.15, loanword_share=0.08,
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


def run(cmd, cwd, check=True, env=None):
    """A command in `cwd` with this venv's executables first on PATH; its output in the error."""
    import subprocess
    import sys
    env = {**os.environ, **(env or {})}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=isinstance(cmd, str))
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


TRIM = {
    "world": {"corpus_sentences": 400, "train_examples": 240, "dev_examples": 48, "eval_per_language": 24},
    "pretrain": {"max_steps": 30, "batch_size": 16},
}


def trimmed_repo(dst: Path, finetune: list[str], retrieval: list[str], epochs: int = 1) -> Path:
    """A fresh git repo in `dst` holding the project's files (committed or not), with a trimmed
    world, the given targets, and every task trained `epochs` epochs at batch 16."""
    import shutil

    import yaml
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and (not f.startswith(("data/", "models/", "reports/"))
                                     or f in ("reports/grid.json", "data/languages.csv")):
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst / f)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params.update(finetune_targets=finetune, retrieval_targets=retrieval)
    for group, values in TRIM.items():
        params["tiny"][group].update(values)
    for group in ("intermediate_train", "target_train"):
        params["tiny"][group].update({"eval_every": 10, "early_stopping_examples": 24})
        for hp in params["tiny"][group]["tasks"].values():
            hp.update({"batch_size": 16, "epochs": epochs})
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run("git init -q -b main && git config user.email t@t && git config user.name t && git add -A && "
        "git commit -qm init", dst)
    return dst
