"""The loopback SLURM cluster of tests/slurm_cluster.py runs an array job and leaves no daemon behind."""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ is no package: import its helper module
import slurm_cluster  # noqa: E402


def test_array_job_runs_on_loopback_cluster(tmp_path):
    """In a deep folder too (its job sockets would pass the 108-byte limit of a Unix socket path)."""
    slurm_cluster.require()
    out = tmp_path / "out"
    out.mkdir()
    cluster = slurm_cluster.start(tmp_path / ("deep-" * 12) / "cluster")
    with cluster:
        assert cluster.daemons_alive() == ["slurmctld", "slurmd"]
        submit = subprocess.run(
            ["sbatch", "--parsable", "--array=0-1", f"--partition={cluster.partition}", f"--output={out}/%A_%a.out",
             "--wrap", f"echo task $SLURM_ARRAY_TASK_ID > {out}/done_$SLURM_ARRAY_TASK_ID"],
            env=cluster.env, capture_output=True, text=True, timeout=30)
        assert submit.returncode == 0, submit.stderr
        job_id = submit.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 60
        while True:
            queue = subprocess.run(["squeue", "-h", "-j", job_id], env=cluster.env, capture_output=True, text=True,
                                   timeout=30)
            # A job already purged from slurmctld's memory reads "Invalid job id specified": it is done too.
            if not queue.stdout.strip() and (queue.returncode == 0 or "Invalid job id" in queue.stderr):
                break
            assert time.monotonic() < deadline, f"job {job_id} still queued after 60 s:\n{queue.stdout}{cluster.logs()}"
            time.sleep(0.2)
        for task in (0, 1):
            done = out / f"done_{task}"
            assert done.exists(), f"{done} missing; outputs: {sorted(p.name for p in out.iterdir())}\n{cluster.logs()}"
            assert done.read_text() == f"task {task}\n"
            assert (out / f"{job_id}_{task}.out").exists()
    assert cluster.stopped and not cluster.spool.exists()
    assert cluster.daemons_alive() == [], f"still running after stop(): {cluster.pids}"
