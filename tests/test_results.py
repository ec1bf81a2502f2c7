"""Collecting runs from git (experiment refs, branches, HEAD), matching them to the registry's
settings, planning the grid, and reports/grid.json; on a small git repository built here."""
import copy
import hashlib
import json
import subprocess

import pytest
import yaml
from conftest import ROOT

from xstilts.claims import claims, judge
from xstilts.experiments import matching, planning, provenance, queue, results
from xstilts.experiments.errors import GridError

XTREME = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]


def _result(value: float) -> dict:
    return {t: {"accuracy": {"en": value}, "avg_accuracy": value, "avg_metric": value} for t in XTREME}


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _commit(repo, params: dict, inter: float, base: float, code: str = "print(1)\n", message="run",
            gain_interval: dict | None = None):
    (repo / "stages").mkdir(exist_ok=True)
    (repo / "stages" / "score.py").write_text(code)
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    (repo / "reports").mkdir(exist_ok=True)
    by_split = {s: {"intermediate": _result(inter), "baseline": _result(base)} for s in ("dev", "test")}
    if gain_interval is not None:  # what the score stage writes beside the splits
        by_split["gain_interval"] = gain_interval
    (repo / results.BY_SPLIT).write_text(json.dumps(by_split))
    md5 = hashlib.md5(code.encode()).hexdigest()
    lock = {"schema": "2.0", "stages": {"score": {"cmd": "xstilts score", "deps": [
        {"path": "stages/score.py", "hash": "md5", "md5": md5, "size": len(code)}],
        "outs": [{"path": results.BY_SPLIT, "hash": "md5", "md5": "abc", "size": 1}]},
        "inter@intermediate": {"cmd": "x", "outs": [{"path": "models/intermediate/intermediate", "md5": "enc.dir"}]}}}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", message, cwd=repo)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    _git("init", "-q", "-b", "main", cwd=tmp_path)
    _git("config", "user.email", "t@example.com", cwd=tmp_path)
    _git("config", "user.name", "t", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture(scope="module")
def reg():
    return claims.registry(ROOT / "claims.yaml")


def test_runs_come_from_experiment_refs_and_head_with_provenance(repo, raw, reg):
    head_params = claims.with_overrides(raw, reg.overrides("mnli", "tiny", raw["seed"]))
    head = _commit(repo, head_params, 60.0, 50.0)
    squad_params = claims.with_overrides(raw, reg.overrides("squad", "tiny", raw["seed"]))
    exp = _commit(repo, squad_params, 58.0, 50.0, message="exp")
    _git("reset", "-q", "--hard", head, cwd=repo)
    _git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/squad-s1234", exp, cwd=repo)
    _git("update-ref", "refs/exps/exec/EXEC_HEAD", exp, cwd=repo)  # DVC's own ref: not a run
    runs = results.collect_runs()
    assert sorted((r.source, r.name) for r in runs) == [("branch", "main"), ("experiment", "squad-s1234")]
    squad = next(r for r in runs if r.name == "squad-s1234")
    assert squad.commit == exp and squad.provenance["encoder_md5"] == "enc.dir" and not squad.stale
    # params.yaml of this repo is ROOT's: write it so that matching compares against it
    (repo / "params.yaml").write_text(yaml.safe_dump(raw))
    found, notes = matching.match(reg, runs, raw, "tiny")
    assert found["squad"][raw["seed"]] is squad and found["mnli"][raw["seed"]].name == "main"
    # (the baseline arm: the checked-out branch's run first, by matching.preference)
    assert found["baseline"][raw["seed"]].commit == head and notes == []
    j = judge.judge(reg.by_id(["squad-gain"])[0], matching.evidence(found), [raw["seed"]], reg.bootstrap)
    assert j.value == pytest.approx(8.0) and j.verdict == "reproduced"
    assert {p["setting"]: p["commit"] for p in j.provenance}["squad"] == exp


def test_changed_code_makes_a_run_stale_and_baselines_that_disagree_are_reported(repo, raw, reg):
    params = claims.with_overrides(raw, reg.overrides("squad", "tiny", raw["seed"]))
    _commit(repo, params, 58.0, 50.0)
    (repo / "stages" / "score.py").write_text("print(2)\n")  # the code behind the numbers changed
    [run] = results.collect_runs()
    assert run.stale == ["stages/score.py"] and results.current_runs(include_grid_file=False) == []
    (repo / "stages" / "score.py").write_text("print(1)\n")
    a = results.collect_runs()[0]
    b = copy.deepcopy(a)
    b.name, b.commit = "other", "f" * 40
    b.by_split["dev"]["baseline"]["xnli"]["avg_metric"] = 49.0
    b.params = claims.with_overrides(raw, reg.overrides("mnli", "tiny", raw["seed"]))
    _, notes = matching.match(reg, [a, b], raw, "tiny")
    assert len(notes) == 1 and "differs" in notes[0] and "1" in notes[0]
    # a translate-train run's baseline arm is trained differently: it is not the zero-shot baseline
    c = copy.deepcopy(a)
    c.params = {**a.params, "target_training": "translate_train"}
    found, _ = matching.match(reg, [c], raw, "tiny")
    assert "baseline" not in found


def test_the_run_chosen_for_a_setting_does_not_depend_on_ref_order(repo, raw, reg):
    """issue 26 §0: an experiment ref sits under its baseline commit's sha (timestamps: it differs between
    machines). Which run carries the baseline arm, and which of two runs of one setting wins, must not
    follow that order: a claim's baseline comes from its own experiment, other ties by matching.preference."""
    seed = raw["seed"]
    none = _commit(repo, claims.with_overrides(raw, reg.overrides("baseline", "tiny", seed)), 50.0, 50.0,
                   message="none")
    squad = _commit(repo, claims.with_overrides(raw, reg.overrides("squad", "tiny", seed)), 58.0, 50.0, message="squad")
    (repo / "twin.txt").write_text("the same experiment, run again\n")
    twin = _commit(repo, claims.with_overrides(raw, reg.overrides("squad", "tiny", seed)), 58.0, 50.0, message="twin")
    (repo / "params.yaml").write_text(yaml.safe_dump(raw))
    _git("commit", "-qam", "params", cwd=repo)
    picks = set()
    for first, last in (("00", "ff"), ("ff", "00")):  # the two orders two machines' timestamps can give
        for ref in subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], cwd=repo,
                                  capture_output=True, text=True).stdout.split():
            _git("update-ref", "-d", ref, cwd=repo)
        _git("update-ref", f"refs/exps/{first}/{'1' * 38}/timid-nuke", none, cwd=repo)
        _git("update-ref", f"refs/exps/{last}/{'2' * 38}/squad-s1234", squad, cwd=repo)
        _git("update-ref", f"refs/exps/{first}/{'3' * 38}/squad-s1234-2", twin, cwd=repo)
        runs = [r for r in results.collect_runs() if r.source == "experiment"]
        for order in (runs, runs[::-1]):
            found, _ = matching.match(reg, order, raw, "tiny", prefer=["squad", "baseline"])
            picks.add((found["squad"][seed].name, found["baseline"][seed].name))
            found, _ = matching.match(reg, order, raw, "tiny")
            picks.add(("no preference", found["baseline"][seed].name))
    # the claim's own experiment serves its baseline; of two runs of a setting, the first by name;
    # with no setting to prefer, every order gives the same run
    assert picks == {("squad-s1234", "squad-s1234"), ("no preference", "squad-s1234")}, picks


def test_plan_skips_done_settings_and_names_new_ones_uniquely(repo, raw, reg):
    params = claims.with_overrides(raw, reg.overrides("squad", "tiny", 1234))
    head = _commit(repo, params, 58.0, 50.0)
    _git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/mnli-s7", head, cwd=repo)  # a name already taken
    found, _ = matching.match(reg, results.collect_runs(), raw, "tiny")
    planned = planning.plan(reg, ["baseline", "squad", "mnli"], raw, "tiny", [1234, 7], found)
    by = {(p.setting, p.seed): p for p in planned}
    assert by[("squad", 1234)].done and not by[("mnli", 1234)].done
    assert ("baseline", 1234) not in by and ("baseline", 7) not in by  # carried by the other experiments
    assert by[("mnli", 7)].name == "mnli-s7-2" and by[("mnli", 1234)].name == "mnli-s1234"
    assert by[("mnli", 7)].overrides["seed"] == 7 and by[("mnli", 7)].overrides["intermediate"] == "mnli"
    only_baseline = planning.plan(reg, ["baseline"], raw, "tiny", [1234, 7], found)
    assert [(p.setting, p.seed, p.done) for p in only_baseline] == [("baseline", 7, False)]


def test_grid_file_keeps_current_runs_for_a_clone_without_refs(repo, raw, reg):
    params = claims.with_overrides(raw, reg.overrides("squad", "tiny", raw["seed"]))
    _commit(repo, params, 58.0, 50.0)
    found, _ = matching.match(reg, results.collect_runs(), raw, "tiny")
    results.write_grid(matching.grid_runs(found), "tiny")
    (repo / "stages").mkdir(exist_ok=True)
    kept = results.read_grid()
    assert [r.source for r in kept] == ["grid.json"] and kept[0].stale == []
    (repo / "stages" / "score.py").write_text("print(3)\n")
    assert results.read_grid()[0].stale != []


def test_runs_carry_their_gain_intervals_to_the_verdict_and_old_grid_entries_read_without(repo, raw, reg):
    """metrics_by_split.json's intervals over examples travel with the run (git, then reports/grid.json)
    to judge.py; a grid.json entry collected before they existed has none, and its claims are judged on
    the point as before."""
    seed = raw["seed"]
    params = claims.with_overrides(raw, reg.overrides("squad", "tiny", seed))
    interval = {"resamples": 1000, "confidence": 0.95, "seed": 0,
                "dev": {"all_task": {"low": 2.0, "high": 14.0}, "xnli": {"avg_metric": {"low": 1.0, "high": 15.0}}},
                "test": {"all_task": {"low": 3.0, "high": 13.0}}}
    _commit(repo, params, 58.0, 50.0, gain_interval=interval)
    [run] = results.collect_runs()
    assert set(run.by_split) == {"dev", "test"} and run.gain_interval == interval
    squad = reg.by_id(["squad-gain"])[0]

    def verdict(runs):
        found, _ = matching.match(reg, runs, raw, "tiny")
        return judge.judge(squad, matching.evidence(found), [seed], reg.bootstrap)
    j = verdict([run])  # +8.0 is within 8.2 +- 1, its interval over examples is not
    assert j.interval == (2.0, 14.0) and j.interval_over == "examples" and j.verdict == "inconclusive"
    found, _ = matching.match(reg, [run], raw, "tiny")
    results.write_grid(matching.grid_runs(found), "tiny")
    [kept] = results.read_grid()
    assert kept.gain_interval == interval and set(kept.by_split) == {"dev", "test"}
    assert verdict([kept]).verdict == "inconclusive"
    # the grid.json of older code: no intervals in its entries
    doc = json.loads(results.GRID_FILE.read_text())
    for entry in doc["runs"]:
        entry.pop("gain_interval")
    results.GRID_FILE.write_text(json.dumps(doc))
    [old] = results.read_grid()
    assert old.gain_interval == {} and old.by_split == kept.by_split and not old.stale
    j = verdict([old])
    assert j.interval is None and j.value == pytest.approx(8.0) and j.verdict == "reproduced"


def test_override_values_use_dvc_set_syntax():
    assert queue.yaml_value(["qa", "qb"]) == "[qa,qb]"
    assert queue.yaml_value(None) == "null" and queue.yaml_value(False) == "false"
    assert queue.yaml_value("squad_v1") == "squad_v1" and queue.yaml_value(1234) == "1234"


def test_more_seeds_do_not_invalidate_the_runs_made(repo, raw, reg):
    params = claims.with_overrides(raw, reg.overrides("squad", "tiny", raw["seed"]))
    _commit(repo, params, 58.0, 50.0)
    more = {**raw, "seeds": [raw["seed"], 7, 8]}
    found, _ = matching.match(reg, results.collect_runs(), more, "tiny")
    planned = planning.plan(reg, ["baseline", "squad"], more, "tiny", more["seeds"], found)
    assert [(p.setting, p.seed, p.done) for p in planned] == [("squad", raw["seed"], True), ("squad", 7, False),
                                                               ("squad", 8, False)]


def test_lock_entries_of_stages_no_longer_in_the_pipeline_do_not_count(raw):
    """dvc.lock keeps the entries of stages that left the pipeline (a target dropped from the lists,
    a renamed stage) with the code md5s of their last run: they fed nothing this run scored."""
    dvc_yaml = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    trimmed = {**raw, "finetune_targets": ["xnli"], "retrieval_targets": ["tatoeba"]}
    names = provenance.pipeline_stages(dvc_yaml, trimmed)
    assert {"world", "prepare@xnli", "prepare_retrieval@tatoeba", "intermediate@baseline", "intermediate@intermediate",
            "finetune@intermediate-xnli", "retrieve@baseline-tatoeba", "score", "report"} <= names
    assert "finetune@intermediate-panx" not in names and "prepare@tatoeba" not in names
    now = hashlib.md5((ROOT / "stages" / "finetune.py").read_bytes()).hexdigest()
    lock = {"stages": {
        "finetune@intermediate-xnli": {"deps": [{"path": "stages/finetune.py", "md5": now}]},
        "finetune@intermediate-panx": {"deps": [{"path": "stages/finetune.py", "md5": "0" * 32}]},  # dropped
        "inter@intermediate": {"deps": [{"path": "stages/finetune.py", "md5": now}]}}}
    assert provenance.code_deps(lock, names) == {"stages/finetune.py": now}
    # were panx still in the pipeline, two stages would have run two versions of the file: stale
    deps = provenance.code_deps(lock, provenance.pipeline_stages(dvc_yaml, {**trimmed,
                                                                            "finetune_targets": ["xnli", "panx"]}))
    assert deps["stages/finetune.py"].startswith("mixed:")
    assert provenance.stale_files({str(ROOT / p): m for p, m in deps.items()}) == [str(ROOT / "stages/finetune.py")]


def test_run_queue_waits_through_an_entry_in_transit_and_fails_on_a_vanished_one(monkeypatch):
    monkeypatch.setattr(queue, "dvc", lambda *a, **k: None)
    monkeypatch.setattr(queue.time, "sleep", lambda s: None)
    # right after `dvc queue start` an entry moving from queued to active is in neither list
    states = iter([{}, {"a": "Running"}, {"a": "Running"}, {"a": "Success"}])
    seen = []
    monkeypatch.setattr(queue, "queue_status", lambda: (seen.append(1), next(states))[1])
    queue.run_queue(1, ["a"], log=lambda line: None)
    assert len(seen) == 4
    monkeypatch.setattr(queue, "queue_status", lambda: {})
    with pytest.raises(GridError, match="no longer in DVC's queue: a"):
        queue.run_queue(1, ["a"], log=lambda line: None)
    monkeypatch.setattr(queue, "queue_status", lambda: {"a": "Failed"})
    with pytest.raises(GridError, match="experiments failed: a"):
        queue.run_queue(1, ["a"], log=lambda line: None)

    # the wall time counts a `dvc queue start` that runs the whole queue before it returns
    clock = [0.0]
    monkeypatch.setattr(queue.time, "time", lambda: clock[0])
    monkeypatch.setattr(queue, "dvc", lambda *a, **k: clock.__setitem__(0, 2640.0))
    monkeypatch.setattr(queue, "queue_status", lambda: {"a": "Success"})
    lines = []
    queue.run_queue(1, ["a"], log=lines.append)
    assert lines == ["grid: 1/1 finished (2640 s)"]


def test_a_run_is_current_by_its_stages_code_manifests(in_repo):
    """A stage's code dep is its script's manifest (data/code/<script>.json): a run whose manifest md5
    is what the `code` stage would write now is current; one made with other code is stale."""
    from xstilts.core import manifests
    now = hashlib.md5(manifests.manifest_text("stages/finetune.py").encode()).hexdigest()
    lock = {"stages": {"code": {"deps": [{"path": "xstilts", "md5": "1" * 32 + ".dir"}]},
                       "finetune@intermediate-xnli": {"deps": [{"path": "data/code/finetune.json", "md5": now}]}}}
    code = provenance.code_deps(lock)
    assert code == {"data/code/finetune.json": now} and provenance.stale_files(code) == []
    lock["stages"]["finetune@intermediate-xnli"]["deps"][0]["md5"] = "2" * 32
    assert provenance.stale_files(provenance.code_deps(lock)) == ["data/code/finetune.json"]


def test_the_encoder_md5_under_the_stage_name_before_and_after_the_rename():
    """Stage `inter@<arm>` became `intermediate@<arm>`: runs committed under either name keep their encoder md5."""
    out = {"outs": [{"path": "models/intermediate/intermediate", "md5": "e.dir"}]}
    assert results.encoder_md5({"intermediate@intermediate": out}) == "e.dir"
    assert results.encoder_md5({"inter@intermediate": out}) == "e.dir"
    assert results.encoder_md5({"intermediate@baseline": out}) is None
