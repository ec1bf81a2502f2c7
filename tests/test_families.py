"""Research-question families on hand-made runs: every experiment is valid params in both profiles,
runs are matched by params whoever made them, each analysis computes its table and its one-sentence
answer from the numbers; the paper-profile GPU-hour estimate; language metadata; model params."""
import copy

import pytest
import yaml
from conftest import ROOT

from xstilts.claims import answers, claims, families, languages
from xstilts.core import config, tasks
from xstilts.experiments import cost, gitrefs, matching, planning, results

WORLD = ["en", "qa", "qb", "qc", "qd", "qe"]


@pytest.fixture(scope="module")
def reg():
    return claims.registry(ROOT / "claims.yaml")


@pytest.fixture(scope="module")
def fams():
    return families.load(ROOT / "families.yaml")


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def block(per_lang: dict[str, float], benchmark: str) -> dict:
    """evaluate.py's output for every target of the benchmark, the same per-language scores each."""
    avg = sum(per_lang.values()) / len(per_lang)
    return {t: {"accuracy": dict(per_lang), "avg_accuracy": avg, "avg_metric": avg}
            for t in tasks.BENCHMARK_TARGETS[benchmark]}


def make_run(raw, exp, seed, inter: dict, base: dict, k: int) -> results.Run:
    params = claims.with_overrides(raw, families.overrides(exp, "tiny", seed))
    bench = exp.params.get("benchmark", "xtreme")
    commit = f"{k:040d}"
    return results.Run("experiment", f"other-name-{k}", commit, params,
                       {"dev": {"intermediate": block(inter, bench), "baseline": block(base, bench)}},
                       {"source": "experiment", "name": f"other-name-{k}", "commit": commit})


def flat(value: float) -> dict:
    return {l: value for l in WORLD}


def analyse(fam, reg, raw, runs, profile="tiny"):
    found = matching.match_family(fam, reg, runs, raw, profile)
    return answers.analyse(fam, reg, found, config.validate(claims.with_overrides(raw, {"profile": profile})), profile)


def test_every_experiment_of_every_family_is_valid_params_in_both_profiles(fams, reg, raw):
    assert set(fams) == {"rq-size-gap", "rq-data-size-diversity", "rq-architectures", "rq-low-resource-scale",
                         "rq-single-vs-multi"}
    families.check(fams, reg, raw)
    exps = fams["rq-size-gap"].experiments(reg, "tiny")
    assert len(exps) == 6 and exps[1].params["intermediate_languages"] == ["qa", "qb", "qc", "qd", "qe"]
    assert exps[0].params["intermediate"] == "mnli" and exps[0].label == "tiny-xlmr-s_en"


def test_a_family_with_a_bad_value_is_refused_by_name(tmp_path, reg, raw):
    text = (ROOT / "families.yaml").read_text().replace("tiny-xlmr-l]", "tiny-xlmr-xl]", 1)
    (tmp_path / "f.yaml").write_text(text)
    with pytest.raises(families.FamilyError, match="tiny-xlmr-xl"):
        families.check(families.load(tmp_path / "f.yaml"), reg, raw)
    (tmp_path / "g.yaml").write_text("families:\n  rq-x: {question: q, analysis: size_gap, axes: {model: [a]}}\n")
    with pytest.raises(families.FamilyError, match="reads axes"):
        families.load(tmp_path / "g.yaml")


def test_size_gap_answer_follows_the_numbers_and_reuses_any_matching_run(fams, reg, raw):
    fam = fams["rq-size-gap"]
    runs, k = [], 0
    # English gains 5/4/3 by size, translated 1/2/2.5: the gap 4.0 -> 0.5 shrinks
    for exp in fam.experiments(reg, "tiny"):
        model, langs = exp.value("model"), exp.value("intermediate_languages")
        g = {"tiny-xlmr-s": (5, 1), "tiny-xlmr": (4, 2), "tiny-xlmr-l": (3, 2.5)}[model][langs != ["en"]]
        for seed, shift in ((1234, 0.0), (7, 1.0)):
            k += 1
            runs.append(make_run(raw, exp, seed, flat(40 + g + shift), flat(40), k))
    found = matching.match_family(fam, reg, runs, raw, "tiny")
    assert len(found) == 6 and all(len(v) == 2 for v in found.values())   # names do not matter, params do
    section = analyse(fam, reg, raw, runs)
    assert "+4.0" in section.answer and "+0.5" in section.answer and "shrinks" in section.answer
    assert section.missing == [] and section.rows[0][0] == "tiny-xlmr-s"
    assert section.rows[0][3] == "+5.5 ± 0.7"   # mean and sample std over the two seeds
    # a planned family experiment that a run already is counts as done; the others get unique names
    planned = planning.plan_family(fam, reg, raw, "tiny", [1234, 99], found)
    assert sum(p.done for p in planned) == 6 and all(p.name.startswith("rq-size-gap_") for p in planned if not p.done)


def test_size_gap_says_so_when_runs_are_missing(fams, reg, raw):
    section = analyse(fams["rq-size-gap"], reg, raw, [])
    assert "Not enough runs" in section.answer and len(section.missing) == 6
    assert all(row[-1] == "--" for row in section.rows)


def test_data_size_diversity_tabulates_sizes_by_language_set_and_answers(fams, reg, raw):
    fam = fams["rq-data-size-diversity"]
    # gains by intermediate_size (null = all) and by language set: English only, 4, 6 languages;
    # the low-resource languages (qd, qe) gain 1 point less than the rest
    gains = {250: (1, 0.5, 0), 1000: (2, 1, 0.5), None: (3, 4, 1)}
    runs = []
    for k, exp in enumerate(fam.experiments(reg, "tiny")):
        langs = exp.value("intermediate_languages")
        g = gains[exp.value("intermediate_size")][{1: 0, 4: 1, 6: 2}[len(langs)]]
        inter = {l: 30 + g - (1 if l in ("qd", "qe") else 0) for l in WORLD}
        runs.append(make_run(raw, exp, 1234, inter, flat(30), k))
    section = analyse(fam, reg, raw, runs)
    assert section.header[1:5] == ["English-only: gain", "English-only: low-res. gain", "4-language: gain",
                                   "4-language: low-res. gain"]
    assert [row[0] for row in section.rows] == ["250", "1000", "all"]
    assert section.rows[2][3:5] == ["+3.7", "+3.0"] and section.missing == []   # English is in the average
    assert section.answer == ("With all examples, the 4-language data gains the most, +3.7 points (low-resource "
                              "languages +3.0); with English-only data the gain rises from +0.7 to +2.7 "
                              "as the data grows.")


def test_low_resource_scale_groups_languages_by_resource_level(fams, reg, raw):
    fam = fams["rq-low-resource-scale"]
    info = languages.world_languages(raw["tiny"]["world"]["corpus_share"], raw["tiny"]["world"]["cognate_share"])
    assert {c: i.resource for c, i in info.items()} == {"en": "high", "qa": "high", "qb": "high", "qc": "mid",
                                                        "qd": "low", "qe": "low"}
    def section_with(low_by_model: dict[str, float]):
        """English at 95, the other high-resource languages at 60, mid at 55, low at the model's value"""
        runs = []
        for k, exp in enumerate(fam.experiments(reg, "tiny")):
            low = low_by_model[exp.value("model")]
            scores = {l: (60 if info[l].resource == "high" else 55 if info[l].resource == "mid" else low)
                      for l in WORLD}
            scores["en"] = 95   # the source language: not a transfer score, left out of "high"
            runs.append(make_run(raw, exp, 1234, scores, flat(20), k))
        return analyse(fam, reg, raw, runs)

    section = section_with({"tiny-xlmr-s": 30, "tiny-xlmr": 40, "tiny-xlmr-l": 50})
    assert "30.0 points with tiny-xlmr-s and 10.0 with tiny-xlmr-l" in section.answer and "narrows" in section.answer
    assert section.rows[0][2:5] == ["60.0", "55.0", "30.0"]
    # low-resource languages scoring above high-resource ones: no weakness to mitigate, said so
    section = section_with({"tiny-xlmr-s": 62, "tiny-xlmr": 66, "tiny-xlmr-l": 70})
    assert "-2.0 points with tiny-xlmr-s and -10.0 with tiny-xlmr-l" in section.answer
    assert "do not transfer worse" in section.answer and "widens" not in section.answer
    section = section_with({"tiny-xlmr-s": 50, "tiny-xlmr": 60, "tiny-xlmr-l": 65})
    assert "10.0 points with tiny-xlmr-s and -5.0 with tiny-xlmr-l: scale closes it" in section.answer
    section = section_with({"tiny-xlmr-s": 62, "tiny-xlmr": 58, "tiny-xlmr-l": 50})
    assert ("-2.0 points with tiny-xlmr-s and 10.0 with tiny-xlmr-l: the smallest model has no weakness"
            in section.answer)


def test_single_vs_multi_and_architectures(fams, reg, raw):
    runs, k = [], 0
    for name in ("rq-single-vs-multi", "rq-architectures"):
        for exp in fams[name].experiments(reg, "tiny"):
            multi = exp.value("intermediate") == "multitask"
            g = {"tiny-xlmr-s": (1, 3), "tiny-xlmr": (2, 3), "tiny-xlmr-l": (3, 3), "tiny-mbert": (0.5, 1)}[
                exp.value("model")][multi]
            k += 1
            runs.append(make_run(raw, exp, 1234, flat(30 + g), flat(30), k))
    section = analyse(fams["rq-single-vs-multi"], reg, raw, runs)
    assert "from +2.0 points with tiny-xlmr-s to +0.0 with tiny-xlmr-l" in section.answer
    assert answers._gap_trend(4.0, 0.5) == "the gap shrinks with size"
    assert answers._gap_trend(2.0, -1.0) == "the gap shrinks with size and changes sign"
    arch = analyse(fams["rq-architectures"], reg, raw, runs)
    # rq-architectures' tiny-xlmr runs are rq-single-vs-multi's: found once, used by both
    assert "squad_v1 gains the most with tiny-xlmr (+2.0) and the least with tiny-mbert (+0.5)" in arch.answer
    assert arch.missing == []
    # the answer's words follow the gains' signs: no "gains the most" for a setting that hurts
    assert answers._spread("multitask", [("a", -0.9), ("b", -3.8)]) == \
        "multitask helps no model: it hurts a the least (-0.9) and b the most (-3.8)"
    assert answers._spread("squad_v1", [("a", 1.0), ("b", -1.1)]) == \
        "squad_v1 helps a the most (+1.0) and hurts b the most (-1.1)"


def test_gpu_hour_estimate_is_the_schedule_over_the_throughput(raw, monkeypatch, tmp_path):
    monkeypatch.setattr(cost.paths, "GPU_CSV", tmp_path / "absent.csv")  # as on a repo before any GPU run
    p = config.validate(claims.with_overrides(raw, {"profile": "paper", "intermediate": "mnli",
                                            "finetune_targets": ["xnli"], "retrieval_targets": []}))
    est = cost.estimate(p, with_baseline=True)
    it, tt = p.group("intermediate_train").for_task("mnli"), p.group("target_train").for_task("xnli")
    assert est.tokens["intermediate"] == 392_702 * it.epochs * it.max_seq_length
    assert est.tokens["targets"] == est.tokens["baseline targets"] == 392_702 * tt.epochs * tt.max_seq_length
    tps, source = cost.throughput("xlm-roberta-large", gpu_csv=tmp_path / "absent.csv")
    assert "estimate" in source
    # (issue 26 §2) a per-step cost on top of the tokens, and the evaluations' forward passes
    ti, tx = p.group("intermediate_train"), p.group("target_train")
    assert est.steps == pytest.approx(392_702 * it.epochs / it.batch_size + 2 * 392_702 * tt.epochs / tt.batch_size)
    final = cost.EVAL_EXAMPLES["xnli"] * len(p.target_languages("xnli")) * tt.max_seq_length
    evals = (((392_702 * it.epochs / it.batch_size) // ti.eval_every + 1) * ti.early_stopping_examples
             * it.max_seq_length)
    evals += 2 * (((392_702 * tt.epochs / tt.batch_size) // tx.eval_every + 1) * tx.early_stopping_examples
                  * tt.max_seq_length + final)
    assert est.eval_tokens == pytest.approx(evals)
    assert est.gpu_hours == pytest.approx(((est.total_tokens + cost.EVAL_COST * est.eval_tokens) / tps
                                           + est.steps * cost.STEP_OVERHEAD_S) / 3600)
    squad = config.validate(claims.with_overrides(raw, {"profile": "paper", "intermediate": "squad_v1"}))
    sq = squad.group("intermediate_train").for_task("squad_v1")
    assert cost.estimate(squad, with_baseline=False).tokens["intermediate"] == pytest.approx(
        87_599 * cost.WINDOWS["squad_v1"] * sq.epochs * sq.max_seq_length)  # contexts longer than a window
    multi = config.validate(claims.with_overrides(raw, {"profile": "paper", "intermediate": "multitask"}))
    cap = multi.group("intermediate_train").multitask_params().examples_cap
    anli = multi.group("intermediate_train").for_task("anli_plus")
    assert cost.task_tokens("anli_plus", "anli_plus", anli, cap) == cap * anli.epochs * anli.max_seq_length
    small = config.validate(claims.with_overrides(raw, {"profile": "paper", "intermediate": "mnli",
                                                        "intermediate_size": 2000, "finetune_targets": ["xnli"],
                                                        "retrieval_targets": []}))
    assert cost.estimate(small, with_baseline=False).tokens["intermediate"] == 2000 * it.epochs * it.max_seq_length
    with pytest.raises(config.ParamsError, match="no throughput for model 'nope'"):
        cost.throughput("nope")


def test_the_trainer_measured_on_a_gpu_is_preferred_to_the_estimate(tmp_path):
    gpu = tmp_path / "gpu.csv"
    gpu.write_text("# made by hand\nmodel,task,device,precision,processes,train_tokens_per_s\n"
                   "xlm-roberta-large,xnli,H200,bf16,1,30000\nxlm-roberta-large,xquad,H200,bf16,1,50000\n"
                   "xlm-roberta-large,xnli,H200,fp32,1,9000\nxlm-roberta-large,xnli,H200,bf16,8,200000\n")
    tps, source = cost.throughput("xlm-roberta-large", gpu_csv=gpu)
    assert tps == 40000 and "xstilts trainer" in source and "H200" in source
    assert "estimate" in cost.throughput("mbert", gpu_csv=gpu)[1]  # not measured there: the table's row


def _gpu_check(path=ROOT / "benchmarks" / "gpu_check.py"):
    """benchmarks/gpu_check.py as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(path):
    import csv
    lines = path.read_text().splitlines()
    assert sum(line.startswith("#") for line in lines) == 1 and sum(line.startswith("model,") for line in lines) == 1
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


def test_gpu_check_runs_every_branch_on_cpu(tmp_path):
    """benchmarks/gpu_check.py waits for a GPU; --smoke runs all of its branches here on a tiny
    shape: the targets in bf16 (autocast on CPU), XNLI in fp32, and XNLI in DDP over 2 gloo processes."""
    import sys

    from conftest import run
    out = tmp_path / "gpu.csv"
    run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke", "--out", str(out)], cwd=ROOT)
    rows = _table(out)
    assert [(r["task"], r["precision"], r["processes"]) for r in rows] == [
        ("xnli", "bf16", "1"), ("xquad", "bf16", "1"), ("xnli", "fp32", "1"), ("xnli", "bf16", "2")]
    assert all(float(r["train_tokens_per_s"]) > 0 and float(r["step_s"]) > 0 for r in rows)
    assert all(r["model"] == "smoke" and r["device"] == "cpu" and r["source"].startswith("measured") for r in rows)


def test_gpu_check_on_four_gpus_starts_one_rank_per_gpu_it_holds(tmp_path, monkeypatch):
    """Issue 26: on a box with 4 GPUs the check leased one GPU (CUDA_VISIBLE_DEVICES narrowed to
    it), then started torchrun with the 4 it had counted before: ranks >= 1 died (invalid device
    ordinal) and gpu.csv, written at the end, was lost. Here on CPU: 4 GPUs visible, every child
    process faked; each torchrun must get no more ranks than the GPUs its launcher holds and the
    ranks see, and each row must be in the table once measured, a later crash or not."""
    import json
    import os
    import sys
    import types

    import torch

    from xstilts.core import leases
    gc = _gpu_check()
    locks = tmp_path / "locks"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    monkeypatch.setenv(leases.LOCK_DIR_ENV, str(locks))
    for var in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)   # what the GPU box says
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    started, ddp_fails = [], []

    def row(task, precision, processes):
        return {"model": "xlm-roberta-large", "task": task, "device": "NVIDIA H100", "precision": precision,
                "processes": processes, "batch": 32, "max_seq_length": 128, "step_s": 0.1,
                "train_tokens_per_s": 1000 * processes, "mfu": 0.4, "peak_memory_gib": 9.0, "source": "measured"}

    def child(cmd):  # the ROW lines a child process would print
        if "torch.distributed.run" in cmd:
            ranks = int(next(a for a in cmd if a.startswith("--nproc_per_node=")).split("=")[1])
            visible = leases._visible(os.environ.get("CUDA_VISIBLE_DEVICES", ""))
            held = {h["device"] for h in leases.holders(locks) if h["held"]}
            assert ranks <= len(visible), f"{ranks} ranks, CUDA_VISIBLE_DEVICES={visible}: invalid device ordinal"
            assert set(visible) <= held, f"ranks on GPU(s) {visible}, launcher holds {sorted(held)}"
            started.append(ranks)
            return [] if ddp_fails else [row("xnli", "bf16", ranks)]
        return [row(*item.split(":"), 1) for item in cmd[cmd.index("--one") + 1].split(",")]

    class Popen:
        def __init__(self, cmd, **kw):
            self.stdout = iter(f"ROW {json.dumps(r)}\n" for r in child(cmd))
            self.returncode = 1 if ddp_fails and "torch.distributed.run" in cmd else 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def subprocess_run(cmd, **kw):
        return types.SimpleNamespace(stdout="".join(f"ROW {json.dumps(r)}\n" for r in child(cmd)), returncode=0)

    def one(model, shape, task, kind, batch, max_len, precision, *rest, **kw):
        leases.lease_for(types.SimpleNamespace(device="cuda"), 1)   # what runtime.start does first
        return row(task, precision, 1)
    monkeypatch.setattr(gc, "subprocess", types.SimpleNamespace(Popen=Popen, run=subprocess_run, PIPE=-1))
    monkeypatch.setattr(gc, "one", one)
    out = tmp_path / "gpu.csv"
    try:
        monkeypatch.setattr(sys, "argv", ["gpu_check.py", "--out", str(out)])
        gc.main()
        assert started == [4]
        assert not [h for h in leases.holders(locks) if h["held"]]   # the DDP lease given back
        rows = _table(out)
        settings = [(r["task"], r["precision"], r["processes"]) for r in rows]
        assert {("xnli", "bf16", "4"), ("xnli", "fp32", "1"), ("xquad", "bf16", "1")} <= set(settings)
        monkeypatch.setattr(sys, "argv", ["gpu_check.py", "--out", str(out), "--processes", "2"])
        ddp_fails.append(True)   # a rerun on 2 of the 4 GPUs whose torchrun dies
        with pytest.raises(SystemExit, match="failed"):
            gc.main()
        assert started == [4, 2]
        again = _table(out)   # one header still, every row kept, replaced in place by the rerun's
        assert [(r["task"], r["precision"], r["processes"]) for r in again] == settings
        assert gc.ddp_processes(["0", "1", "2", "3"], None, cuda=True) == 4
        assert gc.ddp_processes(["0", "1", "2", "3"], 2, cuda=True) == 2
        assert gc.ddp_processes(["3"], None, cuda=True) == 1   # one GPU: no DDP row
        assert gc.ddp_processes([], None, cuda=False) == 2     # CPU: 2 gloo processes
        with pytest.raises(SystemExit, match="only 4 GPU"):
            gc.ddp_processes(["0", "1", "2", "3"], 8, cuda=True)
    finally:
        for held in list(leases._HELD):
            held.release()


def test_gpu_check_table_has_one_header_and_one_row_per_setting(tmp_path):
    """Each row is written the moment it is measured (temp file, rename); a rerun replaces a
    setting's row in place, another model's rows are added, and the header is never repeated."""
    gc = _gpu_check()
    out = tmp_path / "gpu.csv"
    base = {"model": "xlm-roberta-large", "task": "xnli", "device": "H100", "precision": "bf16", "processes": 1,
            "train_tokens_per_s": 100, "source": "measured"}
    gc.record(out, base)
    gc.record(out, {**base, "task": "xquad"})
    gc.record(out, {**base, "train_tokens_per_s": 300})
    gc.record(out, {**base, "model": "xlm-roberta-base"})
    assert [(r["model"], r["task"], r["train_tokens_per_s"]) for r in _table(out)] == [
        ("xlm-roberta-large", "xnli", "300"), ("xlm-roberta-large", "xquad", "100"),
        ("xlm-roberta-base", "xnli", "100")]
    assert [p.name for p in tmp_path.iterdir()] == ["gpu.csv"]   # no temp file left
    assert cost.throughput("xlm-roberta-large", gpu_csv=out)[0] == 200   # what the estimate reads


def test_family_dry_run_in_profile_paper_prints_experiments_and_gpu_hours(in_repo, monkeypatch):
    from typer.testing import CliRunner

    from xstilts.cli import app
    monkeypatch.setattr(results, "current_runs", lambda include_grid_file=True: [])
    monkeypatch.setattr(gitrefs, "experiment_names", lambda: [])
    out = CliRunner().invoke(app, ["grid", "--family", "rq-size-gap", "--profile", "paper", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert ("4 experiments: 0 done, 4 to run" in out.output
            and "rq-size-gap_xlm-roberta-large_en-s1234-paper" in out.output)
    assert "estimated GPU-hours to run:" in out.output and "throughput:" in out.output
    bad = CliRunner().invoke(app, ["grid", "--family", "rq-size", "--dry-run"])
    assert bad.exit_code != 0 and "rq-size-gap" in str(bad.exception)


def test_language_metadata_covers_every_real_language_and_states_its_buckets(tmp_path):
    real = languages.real_languages()
    assert set(real) == set(tasks.REAL_LANGUAGES)
    assert real["sw"].resource == "low" and real["yo"].pretraining == "not in CC-100" and real["de"].resource == "high"
    assert languages.by_level({"en": 90, "de": 80, "ur": 60, "sw": 40, "yo": 20}, real) == {
        "high": 80, "mid": 60, "low": 30}
    text = languages.LANGUAGES_CSV.read_text().replace("sw,Swahili,Niger-Congo,Bantu,Latin,1.6,low",
                                                       "sw,Swahili,Niger-Congo,Bantu,Latin,1.6,high")
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(ValueError, match="sw says resource 'high' but 1.6 GiB is 'low'"):
        languages.real_languages(tmp_path / "l.csv")


def test_model_param_names_the_profile_model_and_its_settings(raw):
    p = config.validate(copy.deepcopy(raw))
    assert p.model == "tiny-xlmr" and p.retrieval_layer() == 2
    paper = config.validate(claims.with_overrides(raw, {"profile": "paper", "model": "mbert"}))
    assert paper.train_group("target_train").lr == 2e-5 and paper.model_spec().hub.endswith("multilingual-cased")
    assert len(paper.model_spec().revision) == 40
    with pytest.raises(config.ParamsError, match="unknown model for profile paper 'tiny-xlmr'.*mt5-small"):
        config.validate(claims.with_overrides(raw, {"profile": "paper", "model": "tiny-xlmr"}))
    odd = copy.deepcopy(raw)
    odd["tiny"]["models"]["tiny-xlmr-l"]["num_heads"] = 5
    with pytest.raises(config.ParamsError, match="tiny-xlmr-l: hidden_size 192 is not a multiple of num_heads 5"):
        config.validate(odd)
    with pytest.raises(config.ParamsError, match="no masked-LM head|has none"):
        config.validate(claims.with_overrides(raw, {"profile": "paper", "model": "mt5-base", "intermediate_mlm": True}))
