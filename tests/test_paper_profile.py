"""Profile paper end to end, as a user without Hub access checks a GPU box: `xstilts fixtures mirror`
(every dataset split the registry names, in the real Hub layouts) and `xstilts fixtures models`
(random-weight copies of the paper's encoders), then `dvc exp run -S profile=paper` twice:

  A: XTREME, xlm-roberta-large's fixture, multi-task intermediate training (all nine tasks, SQuAD
     v2.0's no-answer and CCGbank's format among them) + MLM; targets of every kind XTREME has:
     classification (XNLI), tagging (PAN-X), QA (TyDiQA), mining (BUCC), bitext (Tatoeba).
  B: XTREME-R, mBERT's fixture (another architecture and tokenizer), no intermediate task; the
     kinds XTREME lacks: multiple choice (XCOPA) and ranking (Mewsli-X's entity pool).
(Skipped targets and LAReQA's pooled candidates are covered by tests/test_pipeline.py on the tiny
profile; each stage here costs ~10 s of start-up, so the runs hold one target per kind.)

Each asserts the official language lists, the leaderboard layout, the metrics keys and the report's
statement of the model (a local copy that is not the registry's model: no paper claim judged).
Between them, every tiny.* param changes and `dvc status` must find nothing to run.
"""
import json
import time

import pytest
import yaml
from conftest import run, trimmed_repo

from xstilts.core import tasks
from xstilts.eval import headline

# small settings for fixture data: one epoch, small batches, short sequences, early stopping on a few rows
PAPER_TRIM = {
    "intermediate_train": {"eval_every": 10, "early_stopping_examples": 16, "log_every": 5,
                           "multitask": {"sampler": "proportional", "examples_cap": 64, "temperature": 1.0}},
    "target_train": {"eval_every": 10, "early_stopping_examples": 16, "log_every": 5, "eval_batch_size": 32},
    "retrieval": {"max_seq_length": 64, "batch_size": 32},
}
TASK_TRIM = {"batch_size": 8, "epochs": 1, "max_seq_length": 64}
QA_TRIM = {"batch_size": 8, "epochs": 1, "max_seq_length": 128, "doc_stride": 48}


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """A repo copy whose paper profile reads a fixture mirror and fixture models (and does not train
    for long), plus the `-S` overrides that point it at them."""
    root = tmp_path_factory.mktemp("paper")
    repo = trimmed_repo(root / "repo", ["xnli", "panx", "tydiqa"], ["bucc2018", "tatoeba"])
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    for group, values in PAPER_TRIM.items():
        raw["paper"][group].update(values)
    for group in ("intermediate_train", "target_train"):
        for _name, hp in raw["paper"][group]["tasks"].items():
            hp.update(QA_TRIM if "doc_stride" in hp else TASK_TRIM)
    raw["paper"]["intermediate_train"]["mlm"].update(sentences=48, batch_size=8, max_seq_length=64)
    raw["runtime"]["paper"].update(threads=2)  # two cores here
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    run("git commit -qam 'paper profile on fixtures'", repo)
    run(["xstilts", "fixtures", "mirror", str(root / "mirror")], repo)
    run(["xstilts", "fixtures", "models", str(root / "models"), "--only", "xlm-roberta-large,mbert"], repo)
    overrides = ["-S", "profile=paper", "-S", f"paper.data.local_hub={root / 'mirror'}",
                 "-S", f"paper.data.ccgbank={root / 'mirror' / 'ccgbank_1_1'}",
                 "-S", f"paper.pretrain.local_models={root / 'models'}"]
    return repo, overrides


def check_outputs(repo, benchmark: str, scored: list[str], hub: str) -> dict:
    """The official language lists, the leaderboard layout, the metrics keys, the model statement."""
    metrics = headline.read_metrics(repo / "reports")  # metrics.json with metrics_by_language.json merged in
    scores = json.loads((repo / "reports/scores.json").read_text())
    assert scores["profile"] == "paper" and scores["benchmark"] == benchmark
    assert sorted(scores["scored"]) == sorted(scored), scores["scored"]
    for task in scored:
        official = list(tasks.TARGETS[task].languages[benchmark])
        assert sorted(scores["scored"][task]["languages"]) == sorted(official), task
        for block in (metrics, metrics["baseline"]):
            per_language = next(v for k, v in block[task].items() if isinstance(v, dict))
            assert sorted(per_language) == sorted(official), (task, sorted(per_language))
            assert 0 <= block[task]["avg_metric"] <= 100
        split = scores["scored"][task]["split"]
        for arm in ("baseline", "intermediate"):  # XTREME's leaderboard layout: <task>/<split>-<lang>.<ext>
            files = {p.name.split(".")[0] for p in (repo / "data/predictions" / arm / task).iterdir()}
            assert {f"{split}-{lang}" for lang in official} <= files, (arm, task, sorted(files))
    groups = [g for g, members in tasks.BENCHMARK_GROUPS[benchmark].items() if all(m in scored for m in members)]
    for key in groups:
        assert key in metrics and key in metrics["gain"], key
    # the model really loaded: a local random-weight copy, named as such, and no claim judged on it
    info = json.loads((repo / "models/pretrained/pretrain_info.json").read_text())
    assert info["kind"] == "local" and info["model"] == hub and info["matches_registry"] is False
    assert info["commit"] is None and "parameters" in " ".join(info["differences"])
    assert metrics["variant"]["weights"] == f"local copy of {hub}, not the registry's model"
    report = (repo / "reports/report.tex").read_text()
    assert f"a local copy of {hub}" in report and "NOT the registry" in report
    assert "The paper's claims are not judged" in report
    assert "& reproduced &" not in report and "& not reproduced &" not in report and "& not judged &" in report
    return metrics


@pytest.mark.slow
def test_paper_profile_end_to_end_on_fixtures(paper):
    repo, overrides = paper
    t0 = time.time()
    # A: XTREME on XLM-R large's fixture, multi-task + MLM
    run(["dvc", "exp", "run", *overrides, "-S", "benchmark=xtreme", "-S", "intermediate=multitask",
         "-S", "intermediate_mlm=true", "-n", "paper-a"], repo)
    check_outputs(repo, "xtreme", ["xnli", "panx", "tydiqa", "bucc2018", "tatoeba"], "FacebookAI/xlm-roberta-large")
    print(f"paper run A: {time.time() - t0:.0f} s")
    meta = json.loads((repo / "data/prepared/intermediate/meta.json").read_text())
    assert set(tasks.MULTITASK["multitask"]) <= set(meta["members"]) and (
        repo / "data/prepared/intermediate/mlm").is_dir()

    # no tiny artifact in profile paper's DAG: changing any tiny.* param leaves nothing to run
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    assert raw["profile"] == "paper"
    raw["tiny"]["world"].update(eval_per_language=7, corpus_sentences=111, seed=5)
    raw["tiny"]["pretrain"]["max_steps"] = 3
    raw["tiny"]["target_train"]["lr"] = 0.1
    raw["tiny"]["data"]["max_train_examples"] = 5
    raw["tiny"]["models"]["tiny-xlmr"]["num_layers"] = 2
    (repo / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    status = run(["dvc", "status"], repo).stdout
    assert "up to date" in status, status
    run(["git", "checkout", "params.yaml"], repo)

    # B: XTREME-R on mBERT's fixture; multiple choice and ranking
    t0 = time.time()
    run(["dvc", "exp", "run", *overrides, "-S", "benchmark=xtreme_r", "-S", "model=mbert",
         "-S", "intermediate=none", "-S", "finetune_targets=[xcopa]", "-S", "retrieval_targets=[mewslix]",
         "-n", "paper-b"], repo)
    check_outputs(repo, "xtreme_r", ["xcopa", "mewslix"], "google-bert/bert-base-multilingual-cased")
    print(f"paper run B: {time.time() - t0:.0f} s")
