"""End to end: the real DVC pipeline on a trimmed world, in a temporary copy of the repository."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

TRIM = {
    "world": {"corpus_sentences": 400, "mnli_train": 300, "mnli_dev": 60, "squad_train": 150, "squad_dev": 40,
              "udpos_train": 150, "eval_per_language": 24},
    "pretrain": {"max_steps": 30, "batch_size": 16},
}


def run(cmd, cwd, check=True):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=isinstance(cmd, str))
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A fresh git repo holding the project's files (committed or not), with a trimmed world."""
    dst = tmp_path_factory.mktemp("repo")
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ROOT).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith(("data/", "models/", "reports/")):
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst / f)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    for group, values in TRIM.items():
        params["tiny"][group].update(values)
    for group in ("intermediate_train", "target_train"):
        params["tiny"][group].update({"eval_every": 10, "early_stopping_examples": 24})
        for hp in params["tiny"][group]["tasks"].values():
            hp.update({"batch_size": 16, "epochs": 1})
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run("git init -q -b main && git config user.email t@t && git config user.name t && git add -A && "
        "git commit -qm init", dst)
    return dst


@pytest.mark.slow
def test_repro_then_noop_then_experiments(repo):
    t0 = time.time()
    run(["dvc", "repro"], repo)
    first = time.time() - t0
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    params = yaml.safe_load((repo / "params.yaml").read_text())
    langs = ["en", "qa", "qb", "qc", "qd", "qe"]
    for task in params["finetune_targets"] + params["retrieval_targets"]:
        want = [l for l in langs if not (task == "tatoeba" and l == "en")]
        for block in (metrics, metrics["baseline"], metrics["gain"]):
            assert set(block[task]) == {"avg", *want}
            assert block[task]["avg"] == pytest.approx(sum(block[task][l] for l in want) / len(want), abs=1e-3)
    for block in (metrics, metrics["baseline"]):
        for task in params["finetune_targets"] + params["retrieval_targets"]:
            assert 0 <= block[task]["avg"] <= 100
    assert metrics["gain"]["xtreme"]["avg"] == pytest.approx(
        metrics["xtreme"]["avg"] - metrics["baseline"]["xtreme"]["avg"], abs=1e-3)
    scores = json.loads((repo / "reports/scores.json").read_text())
    assert scores["profile"] == "tiny" and "f1" in scores["scores"]["intermediate"]["xquad"]["test"]["qa"]
    # prediction files in XTREME's leaderboard layout
    pred = repo / "data/predictions/intermediate"
    assert (pred / "xnli/test-qb.tsv").exists() and (pred / "xquad/test-qc.json").exists()
    assert (pred / "udpos/dev-en.tsv").exists() and (pred / "tatoeba/test-qd.tsv").exists()
    tex = (repo / "reports/report.tex").read_text()
    assert "not the paper's" in tex and "mnli" in tex
    if shutil.which("latexmk"):
        assert (repo / "reports/report.pdf").stat().st_size > 1000

    t0 = time.time()
    noop = run(["dvc", "repro"], repo)
    assert "Running stage" not in noop.stdout and time.time() - t0 < 15, noop.stdout

    # a typo fails fast, names the bad value and the valid ones, and runs nothing
    t0 = time.time()
    bad = run(["dvc", "exp", "run", "-S", "intermediate=helaswag"], repo, check=False)
    assert bad.returncode != 0 and time.time() - t0 < 30
    assert "unknown intermediate task 'helaswag'" in bad.stdout + bad.stderr
    assert "squad_v1" in bad.stdout + bad.stderr
    run(["git", "checkout", "--", "params.yaml"], repo)

    # another intermediate task as a DVC experiment: the baseline arm is not recomputed
    exp = run(["dvc", "exp", "run", "-S", "intermediate=squad_v1", "-n", "squad"], repo)
    assert "Running stage 'inter@intermediate'" in exp.stdout
    assert "Running stage 'finetune@baseline" not in exp.stdout and "Running stage 'inter@baseline'" not in exp.stdout
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    text = json.dumps(shown)
    assert '"xtreme"' in text and "squad" in text
    print(f"first repro {first:.0f} s")


@pytest.mark.slow
def test_metrics_diff_across_branches(repo):
    if not (repo / "dvc.lock").exists():
        run(["dvc", "repro"], repo)
    run("git add -A && git commit -qm 'squad_v1 results'", repo)
    run("git checkout -qb no-intermediate", repo)
    run(["dvc", "exp", "run", "-S", "intermediate=none"], repo)
    run("git add -A && git commit -qm 'none results'", repo)
    diff = json.loads(run(["dvc", "metrics", "diff", "main", "--json", "--all"], repo).stdout)
    changes = diff["reports/metrics.json"]
    assert {"xtreme.avg", "xnli.avg", "xnli.qa", "udpos.qc", "gain.xtreme.avg", "baseline.xnli.en"} <= set(changes)
    assert any(c["diff"] != 0 for k, c in changes.items() if not k.startswith("baseline."))
    # the baseline arm is the same model on both branches
    assert all(c["diff"] == 0 for k, c in changes.items() if k.startswith("baseline."))
    # with intermediate=none both arms are the same model: the gain is exactly zero
    now = json.loads((repo / "reports/metrics.json").read_text())
    assert now["gain"]["xtreme"]["avg"] == pytest.approx(0, abs=1e-9)
