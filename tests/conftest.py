import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# The longest files first: under `-n 2 --dist loadfile` (the README's test command) each file goes whole to
# one worker in this order, so the two pipeline files (which share one trimmed `dvc repro`: `pipeline_base`)
# start at once, and the paper profile and the runtime stages follow on whichever worker frees first.
LONGEST_FIRST = ("test_pipeline.py", "test_pipeline_scale.py", "test_paper_profile.py", "test_runtime_stages.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order


def pytest_xdist_make_scheduler(config, log):
    """xdist's file scheduler, except behind a long file. xdist hands a worker its next file once two or
    fewer of its tests are left, so a file queued behind the pipeline's claim and SLURM tests waited a
    quarter of an hour while the other worker sat idle. Here a worker running a long file gets nothing
    more until its last test, and then the file of fewest tests (xdist's worker runs its last test only
    once it holds a next one)."""
    from xdist.scheduler import LoadFileScheduling

    def is_long(scope: str) -> bool:
        return Path(scope).name in LONGEST_FIRST

    class LongFilesAlone(LoadFileScheduling):
        def _reschedule(self, node):
            assigned = self.assigned_work.get(node, {})
            long_left = sum(not done for scope, tests in assigned.items() if is_long(scope) for done in tests.values())
            if node.shutting_down or not self.workqueue or long_left == 0:
                return super()._reschedule(node)
            if long_left > 1 or self._pending_of(assigned) > long_left:
                return  # more than its last test left, or something already queued behind it
            short = [scope for scope in self.workqueue if not is_long(scope)]
            if short:
                self.workqueue.move_to_end(min(short, key=lambda scope: len(self.workqueue[scope])), last=False)
            self._assign_work_unit(node)

    return LongFilesAlone(config, log)


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


# The end-to-end pipeline files' trimmed world: one target of every kind (and of both benchmarks). PAWS-X, a
# second sentence-pair classification target, is covered by the loader, scorer and fixture-mirror tests:
# each target here costs two stages in every experiment the pipeline tests run.
PIPELINE_FINETUNE = ["xnli", "xcopa", "udpos", "mlqa"]
PIPELINE_RETRIEVAL = ["bucc2018", "tatoeba", "mewslix"]


@pytest.fixture(scope="session")
def pipeline_base(tmp_path_factory):
    """The trimmed world's `dvc repro` from scratch, committed, run once per test session for the two
    pipeline files (test_pipeline.py, test_pipeline_scale.py), which each take a copy (`copy_of_base`).
    Under xdist the first worker to ask builds it in the session's folder shared by the workers, under a
    file lock, and the other waits for it. Returns (the built repository, {"seconds", "stdout"} of its repro)."""
    import fcntl
    import json
    import shutil
    import time
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-<n>/: this session's, shared by its workers (each has its own below it)
    base, built = shared / "pipeline-base", shared / "pipeline-base.json"
    with open(shared / "pipeline-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the worker dies
        if not built.exists():
            if base.exists():
                shutil.rmtree(base)  # a build that failed: try again, and fail here with its error
            base.mkdir()
            trimmed_repo(base, PIPELINE_FINETUNE, PIPELINE_RETRIEVAL)
            t0 = time.time()
            repro = run(["dvc", "repro"], base)
            # committed, as a user commits a repro's results: main's dvc.lock is then the trimmed world's (the
            # copied project's lock describes the full world's outputs, which no cache here holds)
            run("git add -A && git commit -qm 'the trimmed world: dvc repro'", base)
            built.write_text(json.dumps({"seconds": time.time() - t0, "stdout": repro.stdout}))
    return base, json.loads(built.read_text())


def copy_of_base(base: Path, dst: Path) -> Path:
    """A copy of `pipeline_base`'s repository (git history, workspace, DVC cache and run-cache), without
    DVC's temporary folder (its hash index, locks and experiment queue belong to the original)."""
    import shutil

    def temporary(folder, names):
        return ["tmp"] if Path(folder) == base / ".dvc" else []
    shutil.copytree(base, dst, symlinks=True, ignore=temporary, dirs_exist_ok=True)
    return dst
