"""The shared cache (issue 20) on a real S3 server process on loopback (moto's): check, push, pull
into a fresh clone with nothing recomputed, one-line faults, and no credential in any tracked file.
A toy DVC project keeps it fast; tests/test_pipeline_scale.py runs the grids through it."""
import os

import pytest
from conftest import run
from s3_server import KEY_ID, NO_AMBIENT_CREDENTIALS, SECRET, configure, s3_server

from xstilts.experiments import remote


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A git + DVC project with one stage, a bare git remote, and no AWS credentials in the environment."""
    for k, v in NO_AMBIENT_CREDENTIALS.items():
        monkeypatch.setenv(k, v) if v else monkeypatch.delenv(k, raising=False)
    origin = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    run("git init -q -b main && git config user.email t@t && git config user.name t && dvc init -q", repo)
    (repo / "in.txt").write_text("1\n")
    (repo / "params.yaml").write_text("n: 1\n")
    run(["dvc", "stage", "add", "-q", "-n", "double", "-d", "in.txt", "-p", "n", "-o", "out.txt",
         "python -c \"import yaml; n = yaml.safe_load(open('params.yaml'))['n']; "
         "open('out.txt', 'w').write(str(2 * n) + open('in.txt').read())\""], repo)
    run(f"git add -A && git commit -qm init && git remote add origin {origin} && git push -q origin main", repo)
    monkeypatch.chdir(repo)
    return repo


def test_push_then_a_fresh_clone_pulls_and_recomputes_nothing(project, tmp_path):
    # an experiment made before there was a remote: DVC cannot push its outputs, and says so
    run(["dvc", "exp", "run", "-S", "n=2", "-n", "early"], project)
    with s3_server() as endpoint:
        configure(project, run, endpoint)
        logged = []
        remote.push_experiments(["early"], remote.default(), log=logged.append)
        assert ("only the refs of early" in logged[1]
                and "early" in run("git ls-remote origin 'refs/exps/*'", project).stdout)
        run("git add .dvc/config && git commit -qm 'shared cache' && git push -q origin main", project)
        store = remote.default()
        assert store == remote.Remote("shared", "s3://xstilts-cache/cache")
        remote.check(store)
        run(["dvc", "exp", "run", "-S", "n=3", "-n", "three"], project)
        assert remote.unpushed(remote_runs(["three"])) == ["three"]
        logged = []
        remote.push_experiments(["three"], store, log=logged.append)
        assert "pushed 1 experiment(s)" in logged[0]
        assert "three" in run("git ls-remote origin 'refs/exps/*'", project).stdout

        # no credential in any tracked file of any commit (branches and experiments)
        refs = run("git for-each-ref --format='%(objectname)'", project).stdout.split()
        for secret in (SECRET, KEY_ID, endpoint):
            assert run(["git", "grep", "-l", secret, *refs], project, check=False).stdout == ""
        assert SECRET in (project / ".dvc/config.local").read_text()
        assert run(["git", "check-ignore", ".dvc/config.local"], project).returncode == 0

        fresh = tmp_path / "fresh"
        run(["git", "clone", "-q", str(tmp_path / "origin.git"), str(fresh)], tmp_path)
        configure(fresh, run, endpoint)  # the colleague's own endpoint and credentials
        os.chdir(fresh)
        run(["git", "push", "-q", "origin", ":" + next(r for r in run("git ls-remote origin 'refs/exps/*'", fresh)
                                                          .stdout.split() if r.endswith("/early"))], fresh)
        assert remote.pull_experiments(remote.default(), with_data=True, log=lambda s: None) == 1
        run(["dvc", "exp", "apply", "three"], fresh)
        assert (fresh / "out.txt").read_text() == "61\n"  # its output, from S3
        again = run(["dvc", "repro"], fresh)
        assert "Running stage" not in again.stdout, again.stdout


def remote_runs(names):
    from xstilts.experiments import results
    return [r for r in (results.Run("experiment", n, c, {}, {}, {}) for n, c in exp_commits().items())
            if r.name in names]


def exp_commits() -> dict:
    out = run("git for-each-ref --format='%(refname) %(objectname)' refs/exps", os.getcwd()).stdout
    return {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in out.splitlines() if line.count("/") == 4}


def test_faults_are_one_line_saying_what_to_fix(project):
    with s3_server() as endpoint:
        configure(project, run, endpoint, bucket="no-such-bucket")
        with pytest.raises(remote.RemoteError) as e:
            remote.check(remote.default())
        assert "the bucket 'no-such-bucket' does not exist" in str(e.value) and "\n" not in str(e.value)
        # through the command line: `xstilts collect --remote --with-data` exits with that line, no traceback
        out = run(["xstilts", "collect", "--remote", "--with-data"], project, check=False)
        assert out.returncode == 4 and "the bucket 'no-such-bucket' does not exist" in out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr

        configure(project, run, endpoint, with_credentials=False)
        run(["dvc", "remote", "modify", "--local", "--unset", "shared", "access_key_id"], project, check=False)
        run(["dvc", "remote", "modify", "--local", "--unset", "shared", "secret_access_key"], project, check=False)
        with pytest.raises(remote.RemoteError) as e:
            remote.check(remote.default())
        assert "no credentials" in str(e.value) and "access_key_id" in str(e.value) and "\n" not in str(e.value)
    # the server is gone now
    configure(project, run, endpoint)
    with pytest.raises(remote.RemoteError) as e:
        remote.check(remote.default())
    assert "cannot reach the S3 endpoint" in str(e.value) and "is the server up" in str(e.value)
    assert "\n" not in str(e.value)


def test_describe_names_the_remote_and_the_fix():
    r = remote.Remote("shared", "s3://lab-bucket/xstilts")
    assert "aws s3 mb s3://lab-bucket" in remote.describe(r, "An error occurred (NoSuchBucket) when calling ...")
    assert "rejected" in remote.describe(r, "An error occurred (InvalidAccessKeyId) when calling the PutObject op")
    assert remote.describe(r, "something else\nmore").endswith("something else")
