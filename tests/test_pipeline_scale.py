"""End to end at scale, on a copy of the trimmed world's repository after its first `dvc repro` (conftest's
`pipeline_base`, shared with tests/test_pipeline.py): `xstilts claim` through DVC's queue, pushed to a git
remote and a real S3 server on loopback, then `xstilts grid --family --slurm` on a one-node SLURM cluster
sharing that remote, and a fresh clone that collects, claims and reproduces with nothing run."""
import json
import re
import shutil
import time

import pytest
import slurm_cluster
import yaml
from conftest import copy_of_base, run
from s3_server import KEY_ID, SECRET, configure, s3_server


@pytest.fixture(scope="module")
def repo(pipeline_base, tmp_path_factory):
    """A copy of the trimmed world's repository after its first `dvc repro`."""
    return copy_of_base(pipeline_base[0], tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def shared(repo, tmp_path_factory):
    """A git remote (a bare repository) and a default DVC remote on a real S3
    server on loopback (moto), its endpoint and credentials in .dvc/config.local only, as
    docs/scale-out.md sets them up. Yields (git remote path, S3 endpoint)."""
    origin = tmp_path_factory.mktemp("remotes") / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], origin.parent)
    with s3_server() as endpoint:
        run("git checkout -q -f main && git checkout -q -- .", repo)
        configure(repo, run, endpoint)
        run(f"git add .dvc/config && git commit -qm 'the shared cache' && git remote add origin {origin} && "
            f"git push -q origin main", repo)
        yield origin, endpoint


@pytest.mark.slow
def test_claim_runs_its_experiment_once_and_the_report_has_every_claim(repo, shared):
    """issues 6 and 20: `xstilts claim` queues exactly what the claim needs through DVC's queue and
    pushes it (ref to the git remote, outputs and run-cache to S3); a second call reruns and pushes
    nothing; the report stage builds a PDF holding every registered claim."""
    run("git checkout -q -f main && git checkout -q -- .", repo)
    # v1's SQuAD cell on XNLI: a claim whose target the trimmed world runs
    first = run(["xstilts", "claim", "v1-squad-xnli"], repo)
    assert "0 experiments done, 1 to run" in first.stdout and "squad-s1234" in first.stdout, first.stdout
    assert "pushed 1 experiment(s)" in first.stdout and "only the refs" not in first.stdout, first.stdout
    assert re.search(r"cost: [0-9.]+ device-hours measured for 1 of 1 run", first.stdout), first.stdout
    line = next(l for l in first.stdout.splitlines() if l.startswith("v1-squad-xnli "))
    # the verdict is the trimmed world's; any of the judge's words, decided by an interval over examples
    assert "-1.4" in line and "interval over examples" in line, line
    assert any(v in line for v in ("reproduced", "inconclusive", "same sign", "not reproduced")), line
    refs = run("git for-each-ref refs/exps", repo).stdout
    assert "squad-s1234" in refs
    grid = json.loads((repo / "reports/grid.json").read_text())
    squad = next(r for r in grid["runs"] if r["name"] == "squad-s1234")
    assert squad["params"]["intermediate"] == "squad_v1" and squad["provenance"]["score_stage_md5"]
    assert squad["commit"] in refs and set(squad["by_split"]) == {"dev", "test"}

    second = run(["xstilts", "claim", "v1-squad-xnli"], repo)
    assert "1 experiments done, 0 to run" in second.stdout and "pushed" not in second.stdout, second.stdout
    assert run("git for-each-ref refs/exps", repo).stdout == refs  # no new experiment
    assert next(l for l in second.stdout.splitlines() if l.startswith("v1-squad-xnli ")) == line

    # a claim whose targets the trimmed world lacks is refused up front, naming them
    bad = run(["xstilts", "claim", "squad-gain"], repo, check=False)
    assert bad.returncode == 2 and "panx" in bad.stderr and "tydiqa" in bad.stderr
    bad = run(["xstilts", "claim", "squad-gian"], repo, check=False)
    assert bad.returncode == 2 and "unknown claim 'squad-gian'" in bad.stderr

    run(["dvc", "repro", "report"], repo)
    tex = (repo / "reports/report.tex").read_text()
    assert "squad-s1234" in tex and "not the paper's" in tex
    if not shutil.which("latexmk"):
        pytest.skip("no LaTeX engine: bash .ci/setup installs it")
    from pypdf import PdfReader
    pdf = PdfReader(str(repo / "reports/report.pdf"))
    text = "".join(page.extract_text() for page in pdf.pages).replace("\n", " ")
    ids = [c["id"] for c in json.loads(run(["xstilts", "claims", "--json"], repo).stdout)]
    assert len(ids) == 257 and [i for i in ids if i not in text] == []
    assert len(pdf.pages) >= 8 and "profile tiny" in text and "these numbers are not the paper" in text
    assert (repo / "reports/figures/gains_heatmap.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_family_grid_on_slurm_sharing_s3_then_a_fresh_clone_runs_nothing(repo, shared, tmp_path):
    """issues 7 and 20: `xstilts grid --family --slurm` submits one job array for exactly the family's
    experiments (a trimmed rq-low-resource-scale over two tiny models, one BERT-shaped: each pretrained
    from scratch, then every head type on XTREME-R), each task in its own clone, sharing the S3
    remote (what the claim test pushed is restored, not recomputed); the grid collects, pushes,
    answers, and a second call submits nothing. Then a fresh clone of the git remote, with its own
    credentials, collects the experiments and `xstilts claim` prints the verdict without running a stage."""
    slurm_cluster.require()
    origin, endpoint = shared
    run("git checkout -q -f main && git checkout -q -- .", repo)
    fams = yaml.safe_load((repo / "families.yaml").read_text())
    fams["families"]["rq-low-resource-scale"]["axes"]["model"]["tiny"] = ["tiny-xlmr-s", "tiny-mbert"]
    (repo / "families.yaml").write_text(yaml.safe_dump(fams, sort_keys=False))
    run("git commit -qam 'trim rq-low-resource-scale to two models' && git push -q origin main", repo)
    with slurm_cluster.start(tmp_path / "slurm") as cluster:
        dry = run(["xstilts", "grid", "--family", "rq-low-resource-scale", "--slurm", "--dry-run"], repo,
                  env=cluster.env)
        # two models, two baseline arms: two waves (the second restores the data the first prepared)
        assert dry.stdout.count("#SBATCH --array=0-0") == 2 and "dvc exp run $PULL" in dry.stdout, dry.stdout
        assert "#SBATCH --dependency=afterany:" in dry.stdout and "#SBATCH --signal=B:TERM@300" in dry.stdout
        assert not (repo / ".dvc/tmp/xstilts-slurm/jobs.json").exists()

        t0 = time.time()
        first = run(["xstilts", "grid", "--family", "rq-low-resource-scale", "--slurm"], repo, env=cluster.env)
        took = time.time() - t0
        assert "2 experiments: 0 done, 2 to run" in first.stdout and "submitted job array" in first.stdout, first.stdout
        answer = next(l for l in first.stdout.splitlines() if l.startswith("answer: "))
        assert "with tiny-xlmr-s and" in answer and "with tiny-mbert" in answer, first.stdout
        refs = run("git for-each-ref refs/exps", repo).stdout
        assert "rq-low-resource-scale_tiny-mbert-s1234" in refs
        # each task restored from S3's run-cache what the claim's experiment had pushed (the world, the intermediate
        # task's data; not the targets' data: `benchmark` is a param of prepare)
        logs = "".join(p.read_text() for p in (repo / ".dvc/tmp/xstilts-slurm").glob("*_*.log"))
        # (the world: restored from the run-cache, or pulled when the committed dvc.lock already lists it)
        assert "Running stage 'world'" not in logs and "Running stage 'code'" not in logs, logs[-3000:]
        assert "Stage 'prepare_intermediate' is cached - skipping run" in logs, logs[-3000:]
        pushed = run(["git", "ls-remote", str(origin), "refs/exps/*"], repo).stdout
        assert ("rq-low-resource-scale_tiny-mbert-s1234" in pushed
                and "rq-low-resource-scale_tiny-xlmr-s-s1234" in pushed)
        grid = json.loads((repo / "reports/grid.json").read_text())
        bert = next(r for r in grid["runs"] if r["name"] == "rq-low-resource-scale_tiny-mbert-s1234")
        assert bert["params"]["model"] == "tiny-mbert" and bert["params"]["benchmark"] == "xtreme_r"
        scored = bert["by_split"]["dev"]["intermediate"]
        assert {"xnli", "xcopa", "udpos", "mlqa", "tatoeba", "mewslix"} <= set(scored)  # every head type ran on BERT
        # XTREME-R by one param: its targets and groups; XTREME's own (PAWS-X, BUCC) skipped; XCOPA has no English
        metrics = json.loads(run(["git", "show", f"{bert['commit']}:reports/metrics.json"], repo).stdout)
        assert {"xnli", "xcopa", "udpos", "mlqa", "tatoeba", "mewslix"} <= set(metrics)
        assert "pawsx" not in metrics and "bucc2018" not in metrics and "all_task" not in metrics
        by_language = json.loads(run(["git", "show", f"{bert['commit']}:reports/metrics_by_language.json"],
                                     repo).stdout)
        assert list(by_language["xcopa"]["accuracy"]) == ["qa", "qb", "qc", "qd", "qe"]
        assert {"classification", "multi_choice", "retrieval"} <= set(metrics)  # XNLI+XCOPA, Tatoeba+Mewsli-X
        # what each run cost, measured in its job (CPU here) and summed by the grid
        cost = bert["provenance"]["cost"]
        assert cost["devices"] == ["cpu"] and 0 < cost["device_hours"] * 3600 < took and cost["stages"] >= 10
        assert "device-hours measured for 2 of 2 run(s)" in first.stdout

        second = run(["xstilts", "grid", "--family", "rq-low-resource-scale", "--slurm"], repo, env=cluster.env)
        assert "2 experiments: 2 done, 0 to run" in second.stdout and answer in second.stdout, second.stdout
        assert "submitted" not in second.stdout and run("git for-each-ref refs/exps", repo).stdout == refs

        claimed = run(["xstilts", "claim", "v1-squad-xnli"], repo)
        verdict = next(l for l in claimed.stdout.splitlines() if l.startswith("v1-squad-xnli "))

        run(["dvc", "repro", "report"], repo)
        tex = " ".join((repo / "reports/report.tex").read_text().split())
        assert "Research questions" in tex and answer[len("answer: "):].split(":")[0] in tex
        assert "What the runs cost" in tex and "device-hours (2 of 2 runs measured)" in tex
        assert (repo / "reports/figures/family_rq-low-resource-scale.pdf").stat().st_size > 1000

        # no credential in any tracked file of any commit (branches and experiments), here or pushed
        objects = run("git for-each-ref --format='%(objectname)'", repo).stdout.split()
        for secret in (SECRET, KEY_ID, endpoint):  # (tests/s3_server.py itself defines the throwaway keys)
            found = run(["git", "grep", "-l", secret, *objects, "--", ":!tests/s3_server.py"], repo, check=False)
            assert found.stdout == "", found.stdout

        # a colleague: a fresh clone of the git remote, the S3 remote with their own credentials
        fresh = tmp_path / "fresh"
        run(["git", "clone", "-q", str(origin), str(fresh)], tmp_path)
        configure(fresh, run, endpoint)
        got = run(["xstilts", "collect", "--remote"], fresh)
        assert "fetched 3 new experiment ref(s)" in got.stdout, got.stdout
        again = run(["xstilts", "claim", "v1-squad-xnli"], fresh)
        assert "1 experiments done, 0 to run" in again.stdout and verdict in again.stdout, again.stdout
        assert "Running stage" not in again.stdout + again.stderr and "pushed" not in again.stdout
        fam = run(["xstilts", "grid", "--family", "rq-low-resource-scale"], fresh)
        assert "2 done, 0 to run" in fam.stdout and answer in fam.stdout
        # and an experiment's outputs come from S3: pulled, applied and reproduced, nothing is recomputed
        # (issue 26 §1.8: the experiment runs the whole pipeline, so its commit's every output was pushed)
        name = "rq-low-resource-scale_tiny-mbert-s1234"
        run(["dvc", "exp", "pull", "origin", name], fresh)
        run(["dvc", "exp", "apply", name], fresh)
        restored = run(["dvc", "repro", "--pull"], fresh)
        assert "Running stage" not in restored.stdout + restored.stderr, restored.stdout[-3000:]
        assert json.loads((fresh / "reports/metrics.json").read_text()) == metrics
    print(f"SLURM family grid: {took:.0f} s")
