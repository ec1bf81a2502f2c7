"""Device leases (xstilts/core/leases.py) on fake devices: real processes contending for lock files."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from xstilts.core import leases

# A worker: lease, say so, hold, record when it held what. argv: lock_dir devices count wait hold out
WORKER = """
import json, os, sys, time
from xstilts.core import leases
lock_dir, devices, count, wait, hold, out = sys.argv[1:]
lease = leases.lease(int(count), devices=devices.split(",") if devices else None, lock_dir=lock_dir,
                     wait=None if wait == "none" else float(wait), poll=0.05)
start = time.time()
print("leased", os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(hold))
record = {"pid": os.getpid(), "devices": os.environ["CUDA_VISIBLE_DEVICES"].split(","), "start": start,
          "end": time.time()}
open(out, "w").write(json.dumps(record))
"""


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CUDA_VISIBLE_DEVICES", "LOCAL_RANK", leases.DEVICES_ENV, leases.LOCK_DIR_ENV)}
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return {**env, **extra}


def worker(tmp_path, name, devices="0,1,2,3", count=1, wait="none", hold=1.0):
    return subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "locks"), devices, str(count), str(wait),
                             str(hold), str(tmp_path / f"{name}.json")],
                            env=clean_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_all(procs, timeout=15):
    """Their stderr, once each has exited cleanly."""
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        errs.append(err)
    return errs


def holding(tmp_path, devices, count=1):
    """A worker that holds its lease (for a minute) once this returns."""
    p = worker(tmp_path, f"holder-{devices}", devices=devices, count=count, wait=0, hold=60)
    line = p.stdout.readline()
    assert line.startswith("leased"), p.stderr.read()
    return p


def overlap(a, b):
    return a["start"] < b["end"] and b["start"] < a["end"]


def check_exclusive(records):
    for i, a in enumerate(records):
        for b in records[i + 1:]:
            shared = set(a["devices"]) & set(b["devices"])
            assert not (shared and overlap(a, b)), f"device(s) {shared} leased twice at once: {a} {b}"


@pytest.fixture
def env(monkeypatch, tmp_path):
    """This process's environment as a fresh stage's, restored afterwards; no lease held."""
    for var in ("CUDA_VISIBLE_DEVICES", "LOCAL_RANK", leases.DEVICES_ENV, leases.LOCK_DIR_ENV):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path / "locks"
    for held in list(leases._HELD):
        held.release()


def test_four_processes_four_devices_each_get_their_own(tmp_path):
    procs = [worker(tmp_path, f"w{i}") for i in range(4)]
    wait_all(procs)
    records = [json.loads((tmp_path / f"w{i}.json").read_text()) for i in range(4)]
    assert sorted(d for r in records for d in r["devices"]) == ["0", "1", "2", "3"]
    check_exclusive(records)


def test_six_processes_three_devices_take_turns(tmp_path):
    procs = [worker(tmp_path, f"w{i}", devices="0,1,2", hold=0.5) for i in range(6)]
    errs = wait_all(procs)
    records = [json.loads((tmp_path / f"w{i}.json").read_text()) for i in range(6)]
    assert all(len(r["devices"]) == 1 and r["devices"][0] in "012" for r in records)
    check_exclusive(records)
    for r in records:  # at most 3 hold at any moment: the sweep over every start
        assert sum(1 for o in records if o["start"] <= r["start"] < o["end"]) <= 3
    # the (at least 3) waiters each said once who held what
    waited = [e for e in errs if "waiting for 1 free device(s) of 0,1,2; busy" in e]
    assert len(waited) >= 3 and all(e.count("waiting") == 1 for e in waited)


def test_killed_holder_frees_its_device_at_once(tmp_path, env):
    holder = holding(tmp_path, "0")
    try:
        with pytest.raises(leases.LeaseError, match=f"pid {holder.pid}"):
            leases.lease(1, devices=["0"], lock_dir=env, wait=0)
        assert [(h["device"], h["pid"], h["held"]) for h in leases.holders(env)] == [("0", holder.pid, True)]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # no cleanup ran (kill -9), yet the kernel dropped the flock with the process
    assert leases.holders(env)[0]["held"] is False
    start = time.monotonic()
    with leases.lease(1, devices=["0"], lock_dir=env, wait=0) as lease:
        assert lease.devices == ["0"] and os.environ["CUDA_VISIBLE_DEVICES"] == "0"
        now = leases.holders(env)[0]
        # this process's command line as launched (pytest's, or an xdist worker's `python -u -c ...`)
        mine = " ".join(Path("/proc/self/cmdline").read_bytes().decode().split("\0")).strip()
        assert now["held"] and now["pid"] == os.getpid() and now["command"] == mine
    assert time.monotonic() - start < 1
    assert leases.holders(env) == [{"device": "0", "pid": None, "host": None, "command": None, "held": False}]


def test_two_of_three_with_one_busy_gets_the_free_two(tmp_path, env):
    holder = holding(tmp_path, "1")
    try:
        lease = leases.lease(2, devices=["0", "1", "2"], lock_dir=env, wait=0)
        assert lease.devices == ["0", "2"] and os.environ["CUDA_VISIBLE_DEVICES"] == "0,2"
        # a second lease in this process is the same lease, not a self-deadlock on its own locks
        assert leases.lease(2, devices=["0", "1", "2"], lock_dir=env, wait=0) is lease
        lease.release()
        assert not lease.held and leases._HELD == []
    finally:
        holder.kill()
        holder.wait()


def test_two_busy_fails_at_once_naming_them_and_their_holders(tmp_path, env):
    holders = [holding(tmp_path, "0"), holding(tmp_path, "2")]
    try:
        start = time.monotonic()
        with pytest.raises(leases.LeaseError) as err:
            leases.lease(2, devices=["0", "1", "2"], lock_dir=env, wait=0)
        assert time.monotonic() - start < 1
        message = str(err.value)
        assert "\n" not in message
        assert f"0 (pid {holders[0].pid}" in message and f"2 (pid {holders[1].pid}" in message
        # nothing partial left behind: device 1 is free
        assert [h["held"] for h in leases.holders(env)] == [True, False, True]
        assert "CUDA_VISIBLE_DEVICES" not in os.environ
        # a short wait fails too, having said once who is busy
        with pytest.raises(leases.LeaseError, match="after 0.3 s"):
            leases.lease(2, devices=["0", "1", "2"], lock_dir=env, wait=0.3, poll=0.05)
    finally:
        for h in holders:
            h.kill()
            h.wait()


def test_visible_devices_are_the_candidates(tmp_path, env, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert leases.candidates() == ["2", "3"]
    with pytest.raises(leases.LeaseError, match="only 2 exist"):
        leases.lease(3, lock_dir=env, wait=0)
    with leases.lease(2, lock_dir=env, wait=0) as lease:
        assert lease.devices == ["2", "3"]
        assert sorted(h["device"] for h in leases.holders(env)) == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,1")  # CUDA reads entries until a negative one
    assert leases.candidates() == ["1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,-1,2")
    assert leases.candidates() == ["0"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv(leases.DEVICES_ENV, "5,6")
    assert leases.candidates() == ["5", "6"]


def test_torchrun_rank_inherits_its_launchers_lease(env, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2")
    lease = leases.lease(2, lock_dir=env, wait=0)
    assert lease.devices == ["1", "2"] and lease.inherited and not lease.held
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1,2" and not env.exists()


def test_queue_workers_share_the_queuing_repositorys_locks(tmp_path, env, monkeypatch):
    repo = tmp_path / "repo"
    workspace = repo / ".dvc" / "tmp" / "exps" / "tmpab12"  # where a DVC queue worker runs
    (workspace / ".dvc").mkdir(parents=True)
    (workspace / "stages").mkdir()
    monkeypatch.chdir(workspace / "stages")
    assert leases.default_lock_dir() == repo.resolve() / ".dvc" / "tmp" / "xstilts-gpus"
    monkeypatch.chdir(repo)
    assert leases.default_lock_dir() == repo.resolve() / ".dvc" / "tmp" / "xstilts-gpus"
    monkeypatch.setenv(leases.LOCK_DIR_ENV, str(tmp_path / "shared"))
    assert leases.default_lock_dir() == tmp_path / "shared"


def test_jobs_of_a_scheduler_never_wait_on_each_others_device_ids(tmp_path):
    """issue 26 §1.1: SLURM numbers each job's GPUs from 0, and every array task works in a clone under
    the same repository on the shared disk. Two jobs with CUDA_VISIBLE_DEVICES=0 are two GPUs: neither
    waits (the old lock dir, <repo>/.dvc/tmp/xstilts-gpus, made the second wait on gpu-0.lock)."""
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    code = ("import os, sys, time\nfrom xstilts.core import leases\n"
            "lease = leases.lease(1, wait=0)\nprint('leased', lease.devices, leases.default_lock_dir(), flush=True)\n"
            "time.sleep(30)\n")
    procs = []
    for job in ("101", "102"):  # two tasks of one array: each its own job id, the same device id, one repo
        work = repo / ".dvc" / "tmp" / "xstilts-slurm" / "work" / f"task{job}"
        (work / ".dvc").mkdir(parents=True)
        env = clean_env(CUDA_VISIBLE_DEVICES="0", SLURM_JOB_ID=job, TMPDIR=str(tmp_path / f"node{job}"))
        (tmp_path / f"node{job}").mkdir()
        procs.append(subprocess.Popen([sys.executable, "-c", code], cwd=work, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        lines = []
        for p in procs:  # the second leases while the first holds device 0
            line = p.stdout.readline()
            assert line.startswith("leased ['0']"), p.stderr.read()
            lines.append(line)
        assert "xstilts-gpus-job-101" in lines[0] and "xstilts-gpus-job-102" in lines[1]
        assert not (repo / ".dvc" / "tmp" / "xstilts-gpus").exists()  # nothing on the shared disk
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_every_stage_that_can_compute_on_cuda_leases_first(monkeypatch):
    """issue 26 §1.7: the translate stages' MT model took no lease; the lease lives in core, and the
    translator asks for it before torch looks for CUDA."""
    from xstilts.core import config
    from xstilts.data import translate
    asked = []
    monkeypatch.setattr(leases, "lease_for", lambda rt, count: asked.append((rt.device, count)))
    rt = config.RuntimeParams(device="auto", precision="fp32", max_device_batch=None, processes=1,
                              deterministic=True, threads=1, checkpoint_every=10, progress_every=10)
    tp = config.TranslateParams(engine="model", model="m", revision=None, max_length=16, batch_size=2)
    translate.ModelTranslator(tp, runtime=rt)._device()
    assert asked == [("auto", 1)]
