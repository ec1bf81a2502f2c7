"""The sbatch script `xstilts grid --slurm` writes (xstilts/experiments/slurm.py), without a cluster: its
options, and a SIGTERM before the time limit reaching the stage that runs under DVC."""
import os
import signal
import subprocess
import sys
import time

import pytest

from xstilts.experiments import planning, slurm
from xstilts.experiments.errors import GridError


def planned(name="mnli-s1234"):
    return planning.Planned("mnli", 1234, {"profile": "paper", "intermediate": "mnli", "seed": 1234}, name=name)


def test_the_options_real_clusters_need_are_in_the_script(tmp_path):
    opts = slurm.for_profile(slurm.Options(partition="gpu", time="24:00:00", account="proj42", qos="high", mem="64G",
                                           constraint="a100|h100", extra=("--exclude=node07",)), "paper", threads=8)
    assert opts.gpus_per_job == 1 and opts.cpus_per_task == 8   # the runtime's threads, one process per GPU
    text = slurm.script([planned()], "a" * 40, opts, "claims", tmp_path, None)
    for line in ("--partition=gpu", "--gres=gpu:1", "--cpus-per-task=8", "--time=24:00:00", "--account=proj42",
                 "--qos=high", "--mem=64G", "--constraint=a100|h100", "--signal=B:TERM@300", "--exclude=node07"):
        assert f"#SBATCH {line}\n" in text, line
    four = slurm.for_profile(slurm.Options(gpus_per_job=4), "paper", threads=8)
    assert four.cpus_per_task == 32 and "export XSTILTS_PROCESSES=4" in slurm.script([planned()], "a" * 40, four,
                                                                                       "x", tmp_path, None)
    assert slurm.for_profile(slurm.Options(cpus_per_task=3), "tiny", threads=8).cpus_per_task == 3
    assert "#SBATCH --signal" not in slurm.script([planned()], "a" * 40, slurm.Options(grace=0, gpus_per_job=0),
                                                  "x", tmp_path, None)
    with pytest.raises(GridError, match="one sbatch option starting with '--'"):
        slurm.Options(extra=("exclude=node07",))


FAKE_DVC = """#!/bin/bash
# `dvc exp run`: start a "stage" that checkpoints on SIGTERM, as stages/*.py do, and wait for it
if [ "$1 $2" = "exp run" ]; then
  {python} -c '
import signal, sys, time
def stop(*_):
    open("{out}/checkpointed", "w").write("saved")
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
open("{out}/started", "w").write("running")
time.sleep(60)
' &
  wait $!
  exit $?
fi
exit 0
"""


def test_sigterm_before_the_time_limit_reaches_the_stage_under_dvc(tmp_path):
    """`--signal=B:TERM@grace` signals the batch shell only; without passing it on, the stage would be
    killed at the time limit without its checkpoint."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"],
                 ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    out = tmp_path / "out"
    out.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dvc").write_text(FAKE_DVC.format(python=sys.executable, out=out))
    (bin_dir / "dvc").chmod(0o755)
    text = slurm.script([planned()], commit, slurm.Options(gpus_per_job=0), "t", repo, None)
    (tmp_path / "job.sbatch").write_text(text)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_ARRAY_TASK_ID": "0", "SLURM_JOB_ID": "7"}
    job = subprocess.Popen(["bash", str(tmp_path / "job.sbatch")], env=env, cwd=tmp_path, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not (out / "started").exists():
        assert job.poll() is None and time.time() < deadline, job.stdout.read()
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)  # what SLURM sends the batch shell `grace` seconds before the limit
    text, _ = job.communicate(timeout=30)
    assert (out / "checkpointed").exists(), text
    assert job.returncode == 143 and "passed on to the stage" in text, text
    assert (repo / ".dvc/tmp/xstilts-slurm/work/mnli-s1234/.git").is_dir()  # kept: a rerun resumes there
