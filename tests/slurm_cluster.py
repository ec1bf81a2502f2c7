"""A throw-away one-node SLURM cluster on loopback, for tests (standard library only).

    from slurm_cluster import require, start
    require()                                  # skip (or fail under XSTILTS_REQUIRE_SLURM=1) when impossible
    with start(tmp_path) as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env, check=True)

Everything the daemons write (config, state, spool, logs, pid files) lives under the given work directory, and
both daemons listen on TCP ports chosen free at start, so a second cluster, or a stale one left by an earlier run,
never collides.  Nothing under /etc/slurm is written: clients find the cluster through SLURM_CONF (`Cluster.env`).
munged is the host's (/etc/munge/munge.key, socket /run/munge/munge.socket.2): it is started when not running,
and stopped again when the last cluster of this process stops only if this module started it.
slurmd needs root for a one-node cluster (it runs jobs as their submitting user), so the tests run only as root.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

PARTITION = "debug"
NODE = "localhost"
MUNGED = "/usr/sbin/munged"
MUNGE_PID_FILE = Path("/run/munge/munged.pid")
REQUIRED = ("slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scancel", "scontrol", "munge", "unmunge")
SETUP_HINT = "run `bash .ci/setup` as root (it installs Debian's slurmctld slurmd slurm-client munge)"


def _which(name: str) -> str | None:
    # slurmctld, slurmd and munged live in /usr/sbin, which a non-login PATH may lack.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def unavailable() -> str | None:
    """None when a cluster can be started here, else a one-line reason."""
    missing = [name for name in REQUIRED if _which(name) is None]
    if not os.path.exists(MUNGED):
        missing.append("munged")
    if missing:
        return f"{'/'.join(missing)} not installed: {SETUP_HINT}"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root: slurmd needs root for a one-node cluster"
    if not os.path.exists("/etc/munge/munge.key"):
        return f"/etc/munge/munge.key missing (the munge package creates it): {SETUP_HINT}"
    return None


def require() -> None:
    """For tests: return when a cluster can be started, else skip, or fail under XSTILTS_REQUIRE_SLURM=1 (CI)."""
    import pytest

    reason = unavailable()
    if reason is None:
        return None
    if os.environ.get("XSTILTS_REQUIRE_SLURM") == "1":
        pytest.fail(f"XSTILTS_REQUIRE_SLURM=1 but no SLURM cluster can be started: {reason}", pytrace=False)
    pytest.skip(reason)


# --- munged ---------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_live: set[Cluster] = set()
_munged_ours = False  # this process started munged: stop it when its last cluster stops


def _munge_works() -> bool:
    try:
        cred = subprocess.run([_which("munge") or "munge", "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        check = subprocess.run([_which("unmunge") or "unmunge"], input=cred.stdout, capture_output=True, timeout=10)
        return check.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _ensure_munged() -> None:
    global _munged_ours
    if _munge_works():
        return
    # /run is a tmpfs on a booted machine and lacks munge's directory until the service first runs.
    run_dir = Path("/run/munge")
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    # --force: a munged killed earlier (kill -9, a container snapshot) leaves a socket that blocks a new one.
    started = subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", f"{MUNGED} --force"],
                             capture_output=True, text=True, timeout=30)
    deadline = time.monotonic() + 10
    while not _munge_works():
        if time.monotonic() > deadline:
            raise RuntimeError(f"munged did not start (rc={started.returncode}): "
                               f"{(started.stderr or started.stdout).strip()[-2000:]}")
        time.sleep(0.1)
    _munged_ours = True


def _stop_munged_if_ours() -> None:
    global _munged_ours
    if not _munged_ours or _live:
        return
    _munged_ours = False
    pid = _read_pid(MUNGE_PID_FILE)
    if pid is not None and _comm(pid) == "munged":
        _terminate(pid)


# --- processes ------------------------------------------------------------------------------------------------

def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _comm(pid: int) -> str | None:
    """The process's command name, or None when it is gone (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()[0]
    return None if state in ("Z", "X") else comm


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM, wait until gone, SIGKILL after timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while _comm(pid) is not None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"process {pid} survived SIGKILL")


def _free_ports(n: int) -> list[int]:
    # Hold all sockets open together so the ports differ; the daemons bind them a moment later.
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))  # the daemons listen on all addresses
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _real_memory_mb() -> int:
    """What slurmd will find, less headroom (a node configured with more memory than it has is marked invalid)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_mb = int(line.split()[1]) // 1024
                return max(256, min(16000, total_mb - 1024))
    except (OSError, ValueError):
        pass
    return 1000


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"--- {path.name}: (missing)"
    return f"--- {path.name} (last {min(lines, len(text))} lines):\n" + "\n".join(text[-lines:])


# --- the cluster ----------------------------------------------------------------------------------------------

class Cluster:
    partition = PARTITION

    def __init__(self, workdir: Path, cpus: int):
        self.workdir = Path(workdir)
        self.cpus = cpus
        self.conf = self.workdir / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.ctld_pid_file = self.workdir / "slurmctld.pid"
        self.slurmd_pid_file = self.workdir / "slurmd.pid"
        self.ctld_log = self.workdir / "slurmctld.log"
        self.slurmd_log = self.workdir / "slurmd.log"
        self._pids: dict[str, int] = {}
        self.stopped = False
        # slurmstepd makes a Unix socket per job step in SlurmdSpoolDir, and a socket path holds at most 108
        # bytes: under a deep workdir (pytest-xdist's tmp paths) every job fails to launch ("launch failed
        # requeued held"), so the spool lives in a short folder of its own, removed at stop().
        self.spool = Path(tempfile.mkdtemp(prefix="xs-slurmd-"))

    def _write_conf(self) -> None:
        ctld_port, slurmd_port = _free_ports(2)
        state, spool = self.workdir / "state", self.spool
        state.mkdir(parents=True, exist_ok=True)
        self.conf.write_text("\n".join([
            "ClusterName=xstilts",
            f"SlurmctldHost={NODE}",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            # A node is as configured here even where this machine has fewer cores (cpus= beyond nproc).
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "KillWait=5",
            # Jobs then start ~1 s after submit (or a free CPU) instead of ~3 s, the default batch_sched_delay.
            # The first job after slurmctld starts still waits ~3 s: the scheduler's first pass.
            "SchedulerParameters=batch_sched_delay=0",
            "InactiveLimit=0",
            f"StateSaveLocation={state}",
            f"SlurmdSpoolDir={spool}",
            f"SlurmctldLogFile={self.ctld_log}",
            f"SlurmdLogFile={self.slurmd_log}",
            f"SlurmctldPidFile={self.ctld_pid_file}",
            f"SlurmdPidFile={self.slurmd_pid_file}",
            f"NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_real_memory_mb()} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    def _run(self, *cmd: str, timeout: float = 15) -> subprocess.CompletedProcess:
        return subprocess.run([_which(cmd[0]) or cmd[0], *cmd[1:]], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def _daemon(self, name: str, pid_file: Path, log: Path, *args: str) -> None:
        # Both daemonize: the command returns once the child is forked; the pid file follows shortly, unless the
        # child dies first (a port taken meanwhile, a bad config): its log says so, and waiting on is pointless.
        log_start = log.stat().st_size if log.exists() else 0
        proc = subprocess.run([_which(name) or name, "-f", str(self.conf), *args], env=self.env,
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}")
        deadline = time.monotonic() + 10
        while True:
            pid = _read_pid(pid_file)
            if pid is not None and _comm(pid) == name:
                self._pids[name] = pid
                return
            try:
                with open(log, "rb") as f:
                    f.seek(log_start)
                    new = f.read().decode(errors="replace")
            except OSError:
                new = ""
            for fatal in ("fatal:", "Unable to bind listen port"):
                if fatal in new:
                    raise RuntimeError(f"{name} died at start: {new[new.index(fatal):].splitlines()[0]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} wrote no pid file {pid_file} within 10 s")
            time.sleep(0.05)

    def _ping(self) -> bool:
        # Short: a port taken by another program may accept and never answer (scontrol would wait 10 s).
        try:
            return self._run("scontrol", "ping", timeout=2).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def node_state(self) -> str:
        try:
            out = self._run("sinfo", "-h", "-N", "-n", NODE, "-o", "%T", timeout=10)
        except subprocess.TimeoutExpired:
            return "(sinfo timed out)"
        return out.stdout.strip() if out.returncode == 0 else f"(sinfo: {out.stderr.strip()})"

    def _start(self, timeout: float) -> None:
        self._write_conf()
        for stale in (self.ctld_pid_file, self.slurmd_pid_file):  # a workdir used before: never trust old pids
            stale.unlink(missing_ok=True)
        # -c: a reused workdir's saved state (jobs, and a node recorded idle before slurmd registers) is dropped.
        self._daemon("slurmctld", self.ctld_pid_file, self.ctld_log, "-c")
        deadline = time.monotonic() + timeout
        # slurmctld writes its pid file before it listens; a slurmd started then retries registering only after ~1 s.
        while not self._ping():
            if _comm(self._pids["slurmctld"]) != "slurmctld":
                raise RuntimeError("slurmctld died during start")
            if time.monotonic() > deadline:
                raise RuntimeError(f"slurmctld not answering `scontrol ping` after {timeout:.0f} s")
            time.sleep(0.05)
        self._daemon("slurmd", self.slurmd_pid_file, self.slurmd_log)
        state = ""
        while time.monotonic() < deadline:
            state = self.node_state()
            if state == "idle":
                return
            for name in ("slurmctld", "slurmd"):
                if _comm(self._pids[name]) != name:
                    raise RuntimeError(f"{name} died during start (node state {state!r})")
            time.sleep(0.1)
        raise RuntimeError(f"node not idle after {timeout:.0f} s (state {state!r})")

    @property
    def pids(self) -> dict[str, int]:
        """The daemons' pids, by name ("slurmctld", "slurmd"), as started."""
        return dict(self._pids)

    def daemons_alive(self) -> list[str]:
        """The names of this cluster's daemons still running (empty after stop())."""
        return [name for name, pid in sorted(self._pids.items()) if _comm(pid) == name]

    def logs(self) -> str:
        return "\n".join(_tail(p) for p in (self.ctld_log, self.slurmd_log))

    def stop(self) -> None:
        """Cancel leftover jobs, stop slurmd and slurmctld (by pid file) and wait until they are gone."""
        if self.stopped:
            return
        try:
            ctld = self._pids.get("slurmctld") or _read_pid(self.ctld_pid_file)
            if ctld is not None and _comm(ctld) == "slurmctld":
                # Running jobs' slurmstepd outlive slurmd: cancel them first, while slurmd can still kill them.
                try:
                    if self._run("scancel", f"--partition={PARTITION}", timeout=10).returncode == 0:
                        deadline = time.monotonic() + 10
                        while time.monotonic() < deadline:
                            q = self._run("squeue", "-h", "-o", "%i", timeout=10)
                            if q.returncode != 0 or not q.stdout.strip():
                                break
                            time.sleep(0.2)
                except subprocess.TimeoutExpired:
                    pass
            for name, pid_file in (("slurmd", self.slurmd_pid_file), ("slurmctld", self.ctld_pid_file)):
                pid = self._pids.get(name) or _read_pid(pid_file)
                if pid is not None and _comm(pid) == name:
                    _terminate(pid)
        finally:
            self.stopped = True
            shutil.rmtree(self.spool, ignore_errors=True)
            with _lock:
                _live.discard(self)
                _stop_munged_if_ours()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Cluster(conf={str(self.conf)!r}, pids={self._pids})"


def start(workdir: Path, cpus: int = 2, timeout: float = 30.0) -> Cluster:
    """Start a one-node cluster whose files all live under workdir; RuntimeError (with daemon logs) on failure."""
    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    workdir = Path(workdir).resolve()
    if any(c.isspace() for c in str(workdir)):
        raise ValueError(f"slurm.conf cannot hold a path with whitespace: {workdir}")
    workdir.mkdir(parents=True, exist_ok=True)
    attempts = 3
    for attempt in range(1, attempts + 1):
        cluster = Cluster(workdir, cpus)
        with _lock:  # one step: another thread's last stop() must not stop a munged this cluster counts on
            _ensure_munged()
            _live.add(cluster)
        try:
            cluster._start(timeout)
            return cluster
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            logs = cluster.logs()
            cluster.stop()
            # A port chosen free can be taken before the daemon binds it: pick new ones and try again,
            # keeping this attempt's logs aside.
            if attempt < attempts and "Address already in use" in logs:
                for log in (cluster.ctld_log, cluster.slurmd_log):
                    if log.exists():
                        log.rename(log.with_name(f"{log.name}.attempt{attempt}"))
                continue
            raise RuntimeError(f"SLURM cluster in {workdir} failed to start: {e}\n{logs}") from e
    raise AssertionError("unreachable")


@atexit.register
def _stop_all() -> None:
    # A test that forgot stop() (or died in between) must not leave daemons behind.
    for cluster in list(_live):
        try:
            cluster.stop()
        except Exception:
            pass
