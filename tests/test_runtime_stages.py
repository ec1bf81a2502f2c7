"""The runtime on real stages (slow): a fine-tuning stage killed with kill -9 (and one stopped by
SIGTERM) resumes and ends bit-identical to an uninterrupted run; two DDP processes on CPU (gloo)
and bf16 autocast complete and land near the one-process fp32 run; XQuAD and MLQA share one
SQuAD-trained model; changing the runtime settings reruns no stage."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import run, trimmed_repo

STAGE = ["python", "stages/finetune.py", "--arm", "baseline", "--task", "xnli"]
OUT = Path("data/predictions/baseline/xnli")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    dst = trimmed_repo(tmp_path_factory.mktemp("runtime"), ["xnli", "xquad", "mlqa"], ["tatoeba"], epochs=4)
    run(["dvc", "repro", "finetune@baseline-xnli", "finetune@baseline-xquad", "finetune@baseline-mlqa"], dst,
        env={"XSTILTS_PROGRESS_EVERY": "0.5"})
    return dst


def outputs(repo: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted((repo / OUT).iterdir())}


def accuracy(repo: Path) -> float:
    scores = []
    for pred in sorted((repo / OUT).glob("test-*.tsv")):
        gold = (repo / "data/labels/xnli" / pred.name).read_text().split()
        scores.append(sum(p == g for p, g in zip(pred.read_text().split(), gold)) / len(gold))
    return sum(scores) / len(scores)


def popen(repo: Path, env: dict) -> subprocess.Popen:
    import os
    return subprocess.Popen(STAGE, cwd=repo,
                            env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_checkpoint(repo: Path, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while not list((repo / ".checkpoints").glob("finetune-baseline-xnli/en-*/state.pt")):
        assert proc.poll() is None, f"the stage ended before its first checkpoint:\n{proc.stdout.read()}"
        assert time.time() < deadline
        time.sleep(0.02)


@pytest.mark.slow
def test_runtime_settings_rerun_nothing(repo):
    before = run(["dvc", "status", "finetune@baseline-xnli", "finetune@baseline-mlqa"], repo).stdout
    assert "up to date" in before, before
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["runtime"]["tiny"].update(threads=1, max_device_batch=4, processes=2, deterministic=False,
                                     checkpoint_every=7, progress_every=5)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        after = run(["dvc", "status", "finetune@baseline-xnli", "finetune@baseline-mlqa"], repo).stdout
        assert "up to date" in after, after
        # the precision is not a runtime setting (issue 26 §1.3): it changes the numbers, so it reruns them
        params["tiny"]["precision"] = "bf16"
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        stale = run(["dvc", "status", "finetune@baseline-xnli", "finetune@baseline-mlqa"], repo).stdout
        assert "tiny.precision" in stale and "up to date" not in stale, stale
    finally:
        run(["git", "checkout", "params.yaml"], repo)


@pytest.mark.slow
def test_xquad_and_mlqa_share_one_squad_model(repo):
    logs = {t: json.loads((repo / f"data/predictions/baseline/{t}/train_log.json").read_text())
            for t in ("xquad", "mlqa")}
    assert logs["xquad"]["runs"] == logs["mlqa"]["runs"]  # the same training, once
    assert not (repo / ".checkpoints/trained").exists() or not any((repo / ".checkpoints/trained").iterdir())
    costs = {t: json.loads((repo / f"logs/costs/finetune-baseline-{t}.json").read_text()) for t in ("xquad", "mlqa")}
    assert costs["xquad"]["runs"]["en"]["steps"] > 0 and "reused" in costs["mlqa"]["runs"]["en"]
    assert costs["xquad"]["tokens"] > 0 and costs["xquad"]["runtime"]["device"] == "cpu"


@pytest.mark.slow
def test_kill_9_then_rerun_resumes_bit_identical(repo):
    reference = outputs(repo)  # the uninterrupted run, by dvc repro
    log = json.loads(reference["train_log.json"])
    assert log["runtime"]["processes"] == 1 and "seconds" not in json.dumps(log)
    proc = popen(repo, {"XSTILTS_CHECKPOINT_EVERY": "3"})
    wait_for_checkpoint(repo, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resumed = run(STAGE, repo, env={"XSTILTS_CHECKPOINT_EVERY": "3"})
    assert "resumed from the checkpoint at step" in resumed.stdout, resumed.stdout
    assert outputs(repo) == reference
    assert (not list((repo / OUT.parent).glob(".xnli.tmp-*"))
            and not (repo / ".checkpoints/finetune-baseline-xnli").exists())


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes(repo):
    reference = outputs(repo)
    proc = popen(repo, {"XSTILTS_CHECKPOINT_EVERY": "1000", "XSTILTS_PROGRESS_EVERY": "0.2"})
    while "step" not in proc.stdout.readline() and proc.poll() is None:
        pass  # the first progress line: training is under way
    proc.send_signal(signal.SIGTERM)
    text = proc.stdout.read()
    proc.wait()
    assert proc.returncode != 0 and "stopped by SIGTERM at step" in text, text
    resumed = run(STAGE, repo)
    assert "resumed from the checkpoint at step" in resumed.stdout
    assert outputs(repo) == reference


@pytest.mark.slow
def test_two_ddp_processes_and_bf16_land_near_the_reference(repo):
    reference, ref_acc = outputs(repo), accuracy(repo)
    ddp = run(STAGE, repo, env={"XSTILTS_PROCESSES": "2", "XSTILTS_MAX_DEVICE_BATCH": "4"})
    log = json.loads((repo / OUT / "train_log.json").read_text())
    assert log["runtime"]["processes"] == 2 and log["runtime"]["max_device_batch"] == 4
    assert set(outputs(repo)) == set(reference)  # written once, by the main process
    assert not list((repo / OUT.parent).glob(".xnli.tmp-*"))
    assert ddp.stdout.count("finetune baseline/xnli [zero_shot: en]: dev") == 1
    ddp_acc = accuracy(repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["tiny"]["precision"] = "bf16"   # a pipeline param: the stage's own command reads it
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        bf16 = run(STAGE, repo)
    finally:
        run(["git", "checkout", "params.yaml"], repo)
    assert json.loads((repo / OUT / "train_log.json").read_text())["runtime"]["precision"] == "bf16", bf16.stdout
    bf16_acc = accuracy(repo)
    print(f"XNLI test accuracy, mean over languages: fp32 1 process {ref_acc:.3f}, 2 DDP processes {ddp_acc:.3f}, "
          f"bf16 {bf16_acc:.3f}")
    # Same effective batch, same data order; only dropout's masks differ (each process draws its own).
    assert abs(ddp_acc - ref_acc) <= 0.05 and abs(bf16_acc - ref_acc) <= 0.05
    run(["dvc", "repro", "finetune@baseline-xnli"], repo)
