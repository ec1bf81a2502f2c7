"""End to end: the real DVC pipeline on a trimmed world, in a temporary copy of the repository: `dvc repro`
(run once for this file and tests/test_pipeline_scale.py: conftest's `pipeline_base`), a no-op, exactly what
changed rerunning, `dvc metrics diff` across branches, and variants one param away."""
import json
import re
import shutil
import time

import pytest
import yaml
from conftest import PIPELINE_FINETUNE as FINETUNE
from conftest import PIPELINE_RETRIEVAL as RETRIEVAL
from conftest import copy_of_base, run

from xstilts.core import tasks
from xstilts.eval import headline


@pytest.fixture(scope="module")
def repo(pipeline_base, tmp_path_factory):
    """A copy of the trimmed world's repository after its first `dvc repro`."""
    return copy_of_base(pipeline_base[0], tmp_path_factory.mktemp("repo"))


@pytest.mark.slow
def test_repro_then_noop_then_experiments(repo, pipeline_base):
    first = pipeline_base[1]["seconds"]  # the repro from scratch, run by the fixture
    assert "Running stage 'pretrain'" in pipeline_base[1]["stdout"]
    assert "Running stage 'finetune@intermediate-mlqa'" in pipeline_base[1]["stdout"]
    assert "up to date" in run(["dvc", "status"], repo).stdout  # the copy is the built repository
    head = json.loads((repo / "reports/metrics.json").read_text())
    # metrics.json: the headline numbers only (`dvc exp show`); the per-language rest in metrics_by_language.json
    assert "accuracy" not in head["xnli"] and "f1" not in head["mlqa"] and "avg_f1" in head["mlqa"]
    assert head["gain_interval"]["retrieval"]["low"] <= head["gain"]["retrieval"] <= head["gain_interval"][
        "retrieval"]["high"]
    metrics = headline.read_metrics(repo / "reports")
    langs = ["en", "qa", "qb", "qc", "qd", "qe"]
    active = {"xnli": "accuracy", "udpos": "f1", "mlqa": "f1", "bucc2018": "f1",
              "tatoeba": "accuracy"}  # xcopa, mewslix: XTREME-R only
    for task, metric in active.items():
        want = [l for l in langs if not (task in ("tatoeba", "bucc2018") and l == "en")]
        for block in (metrics, metrics["baseline"]):
            assert list(block[task][metric]) == want, (task, block[task])
            assert 0 <= block[task]["avg_metric"] <= 100
        assert metrics["gain"][task]["avg_metric"] == pytest.approx(
            metrics[task]["avg_metric"] - metrics["baseline"][task]["avg_metric"], abs=1e-9)
    assert metrics["mlqa"]["avg_metric"] == pytest.approx(
        (metrics["mlqa"]["avg_exact_match"] + metrics["mlqa"]["avg_f1"]) / 2, abs=1e-9)
    assert metrics["retrieval"] == pytest.approx(
        (metrics["bucc2018"]["avg_metric"] + metrics["tatoeba"]["avg_metric"]) / 2, abs=1e-9)
    # PAWS-X, PAN-X, XQuAD and TyDiQA did not run: no overall score, no classification, tagging or QA group
    assert "all_task" not in metrics and "tagging" not in metrics and "qa" not in metrics
    assert "classification" not in metrics
    assert "xcopa" not in metrics and "mewslix" not in metrics
    # reports/metrics.json is `xstilts score` on the pipeline's own folders, number for number
    scores = json.loads((repo / "reports/scores.json").read_text())
    assert scores["profile"] == "tiny" and scores["missing_tasks"] == ["pawsx", "panx", "xquad", "tydiqa"]
    ours = arm_scores(metrics)
    assert metrics["variant"]["intermediate"] == "mnli" and metrics["variant"]["target_training"] == "zero_shot"
    for arm, block in (("intermediate", ours), ("baseline", metrics["baseline"])):
        assert json.loads(run(scores["commands"][arm], repo).stdout) == block
    # predictions and gold labels in XTREME's leaderboard layout; skipped targets say why
    pred, gold = repo / "data/predictions/intermediate", repo / "data/labels"
    assert (pred / "xnli/test-qb.tsv").exists() and (pred / "mlqa/test-qc.json").exists()
    assert (pred / "udpos/dev-en.tsv").exists() and (pred / "tatoeba/test-qd.tsv").exists()
    assert (gold / "xnli/test-qb.tsv").exists() and (gold / "mlqa/test-qc.json").exists()
    assert all("\t" in line for line in (pred / "bucc2018/test-qa.tsv").read_text().splitlines())
    assert "xtreme" in json.loads((pred / "xcopa/skipped.json").read_text())["skipped"]
    assert "xtreme" in json.loads((gold / "xcopa/skipped.json").read_text())["skipped"]
    tex = (repo / "reports/report.tex").read_text()
    assert "not the paper's" in tex and "mnli" in tex
    if shutil.which("latexmk"):
        assert (repo / "reports/report.pdf").stat().st_size > 1000

    t0 = time.time()
    noop = run(["dvc", "repro"], repo)
    assert "Running stage" not in noop.stdout and time.time() - t0 < 15, noop.stdout

    # what `dvc exp run --dry -S intermediate=hellaswag` cannot list in DVC 3.67 (tests/test_dryrun.py):
    # the intermediate arm and what reads it, never the baseline arm; nothing runs
    dry = run(["xstilts", "dry", "-S", "intermediate=hellaswag"], repo).stdout
    want = ["prepare_intermediate", "translate_intermediate", "intermediate@intermediate",
            *[f"finetune@intermediate-{t}" for t in FINETUNE], *[f"retrieve@intermediate-{t}" for t in RETRIEVAL],
            "score", "report"]
    assert sorted(re.findall(r"^  (\S+)$", dry, re.M)) == sorted(want), dry
    assert "up to date" in run(["dvc", "status"], repo).stdout

    # exactly what changed reruns (issue 19): one task's epochs make that task's two fine-tunes stale, and
    # no other training; a forced rerun with the same inputs writes the same bytes, so `score` stays up to date
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["tiny"]["target_train"]["tasks"]["udpos"]["epochs"] = 2
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    stale = json.loads(run(["dvc", "status", "--json"], repo).stdout)
    # (the report prints every param of the profile in its appendix: it reruns too, in seconds)
    assert sorted(stale) == ["finetune@baseline-udpos", "finetune@intermediate-udpos", "report"], stale
    run(["git", "checkout", "--", "params.yaml"], repo)
    forced = run(["dvc", "repro", "-f", "-s", "finetune@baseline-xnli"], repo)
    assert "Running stage 'finetune@baseline-xnli'" in forced.stdout
    assert "up to date" in run(["dvc", "status"], repo).stdout

    # an edit to the report's code reruns the code stage and the report, no training (issue 16)
    report = repo / "xstilts/report/document.py"
    report.write_text(report.read_text() + "\n# an edit\n")
    edited = run(["dvc", "repro"], repo)
    assert re.findall(r"Running stage '([^']+)'", edited.stdout) == ["code", "report"], edited.stdout
    run(["git", "checkout", "--", "xstilts/report/document.py"], repo)
    run(["dvc", "repro"], repo)

    # a typo fails fast, names the bad value and the valid ones, and runs nothing
    t0 = time.time()
    bad = run(["dvc", "exp", "run", "-S", "intermediate=helaswag"], repo, check=False)
    assert bad.returncode != 0 and time.time() - t0 < 30
    assert "unknown intermediate task 'helaswag'" in bad.stdout + bad.stderr
    assert "squad_v1" in bad.stdout + bad.stderr
    run(["git", "checkout", "--", "params.yaml"], repo)

    # (another intermediate task as a DVC experiment, the baseline arm not recomputed: test_variants and the
    # claim test; XTREME-R by one param: the SLURM family grid below, on two models)
    print(f"first repro {first:.0f} s")


@pytest.mark.slow
def test_metrics_diff_across_branches(repo):
    run(["dvc", "repro"], repo)  # a no-op: the copy holds the trimmed world's results
    run("git add -A && git commit -q --allow-empty -m 'mnli results'", repo)
    run("git checkout -qb no-intermediate", repo)
    run(["dvc", "exp", "run", "-S", "intermediate=none"], repo)
    run("git add -A && git commit -qm 'none results'", repo)
    diff = json.loads(run(["dvc", "metrics", "diff", "main", "--json", "--all"], repo).stdout)
    changes = diff["reports/metrics.json"]  # the headline numbers; the per-language ones: --targets
    assert "reports/metrics_by_language.json" not in diff
    assert changes["variant.intermediate"]["new"] == "none"  # strings: old/new, no numeric diff
    changes = {k: c for k, c in changes.items() if not k.startswith("variant.")}
    by_language = json.loads(run(["dvc", "metrics", "diff", "main", "--json", "--all", "--targets",
                                  "reports/metrics_by_language.json"], repo).stdout)["reports/metrics_by_language.json"]
    assert {"retrieval", "xnli.avg_metric", "gain.retrieval", "mlqa.avg_f1", "gain_interval.retrieval.low"} <= set(
        changes)
    assert {"xnli.accuracy.qa", "udpos.f1.qc", "baseline.xnli.accuracy.en", "bucc2018.f1.qb",
            "mlqa.exact_match.qd", "gain.udpos.f1.qc"} <= set(by_language)
    assert not {k for k in changes if k.split(".")[-1] in ("en", "qa", "qb", "qc", "qd", "qe")}
    for every in (changes, by_language):
        assert any(c["diff"] != 0 for k, c in every.items() if not k.startswith("baseline."))
        # the baseline arm is the same model on both branches
        assert all(c["diff"] == 0 for k, c in every.items() if k.startswith("baseline."))
    # with intermediate=none both arms are the same model: the gain is exactly zero, and so is its interval
    now = json.loads((repo / "reports/metrics.json").read_text())
    assert now["gain"]["retrieval"] == pytest.approx(0, abs=1e-9)
    assert all(v["avg_metric"] == pytest.approx(0, abs=1e-9) for k, v in now["gain"].items() if isinstance(v, dict))
    assert now["gain_interval"]["retrieval"] == {"low": 0.0, "high": 0.0}


def arm_scores(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("baseline", "gain", "gain_interval", "variant")}


@pytest.mark.slow
def test_variants_are_one_param_away(repo):
    """issue 5: multi-task + MLM + a language mix + a size in one experiment, then translate-train."""
    run(["git", "checkout", "--", "params.yaml"], repo)
    run(["dvc", "repro"], repo)  # back to the committed params (run-cache), or the first run when alone
    base = headline.read_metrics(repo / "reports")

    # no early stop: with 9 tasks of 100 examples beside ~1,000 MLM lines, a stop after a few
    # evaluations can leave a task undrawn, and every member must be seen to take part
    exp = run(["dvc", "exp", "run", "-S", "intermediate=multitask", "-S", "intermediate_mlm=true",
               "-S", "intermediate_languages=[en,qb]", "-S", "intermediate_size=100",
               "-S", "tiny.intermediate_train.patience=1000"], repo)
    assert "Running stage 'translate_intermediate'" in exp.stdout
    assert "Running stage 'finetune@baseline" not in exp.stdout  # the baseline arm is untouched,
    assert "Running stage 'inter@baseline'" not in exp.stdout      # even by intermediate_train's change
    log = json.loads((repo / "models/intermediate/intermediate/train_log.json").read_text())
    assert set(log["members"]) == {*tasks.MULTITASK["multitask"], tasks.MLM}
    assert all(m["train_examples"] <= 100 for n, m in log["members"].items() if n != tasks.MLM)
    assert log["lr"] == yaml.safe_load((repo / "params.yaml").read_text())["tiny"]["intermediate_train"]["mlm"]["lr"]
    drawn = log["log"][-1]["steps_per_task"]
    assert all(drawn[n] > 0 for n in log["members"])
    rows = [json.loads(l) for l in (repo / "data/translated/intermediate/mnli/train.jsonl").read_text().splitlines()]
    assert {r["lang"] for r in rows} == {"en", "qb"} and len(rows) == 100
    metrics = headline.read_metrics(repo / "reports")
    assert metrics["variant"]["intermediate"] == "multitask" and metrics["variant"]["intermediate_mlm"] == "true"
    assert metrics["variant"]["intermediate_languages"] == "en,qb" and metrics["variant"]["intermediate_size"] == "100"
    assert arm_scores(metrics) != arm_scores(base)  # the numbers changed (the trimmed world's XNLI may sit at chance)
    assert metrics["baseline"] == base["baseline"]
    shown = json.dumps(json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout))
    assert '"xtreme"' in shown and '"multitask"' in shown

    run(["git", "checkout", "--", "params.yaml"], repo)
    # two languages and one target keep it to two models per arm (CI time; the other targets train the same
    # way). UD-POS: the trimmed world's XNLI sits at chance, so its numbers could not show the change
    exp = run(["dvc", "exp", "run", "-S", "target_training=translate_train", "-S", "languages=[en,qb]",
               "-S", "finetune_targets=[udpos]"], repo)
    assert ("Running stage 'translate_train@udpos'" in exp.stdout
            and "Running stage 'finetune@baseline-udpos'" in exp.stdout)
    tl = json.loads((repo / "data/predictions/intermediate/udpos/train_log.json").read_text())
    assert tl["target_training"] == "translate_train" and set(tl["runs"]) == {"en", "qb"}
    qb_train = (repo / "data/translated/udpos/qb/train.jsonl").read_text().splitlines()
    assert len(qb_train) > 0 and json.loads(qb_train[0])["lang"] == "qb"
    metrics = headline.read_metrics(repo / "reports")
    assert metrics["variant"]["target_training"] == "translate_train" and "xnli" not in metrics

    def qb(block):  # UD-POS's qb F1 in each arm: a language both runs score
        return block["udpos"]["f1"]["qb"], block["baseline"]["udpos"]["f1"]["qb"]
    assert qb(metrics)[0] != qb(base)[0] and qb(metrics)[1] != qb(base)[1], (qb(metrics), qb(base))
    run(["git", "checkout", "--", "params.yaml"], repo)
