"""The report stage on hand-made runs: the PDF is built, has its pages, and its text holds every claim
id and the numbers of the collected runs; targets a run lacks are shown as not run."""
import json
import shutil

import pytest
import yaml
from conftest import ROOT

from xstilts.claims import claims, judge
from xstilts.experiments import matching, results

LANGS = ["en", "qa", "qb"]
XTREME = ["pawsx", "xnli", "panx", "udpos", "bucc2018", "tatoeba", "xquad", "mlqa", "tydiqa"]


def _block(value: float, targets) -> dict:
    out = {}
    for t in targets:
        if t in ("xquad", "mlqa", "tydiqa"):
            out[t] = {"exact_match": {l: value - 2 for l in LANGS}, "f1": {l: value + 2 for l in LANGS},
                      "avg_exact_match": value - 2, "avg_f1": value + 2, "avg_metric": value}
        else:
            out[t] = {"accuracy": {l: value for l in LANGS}, "avg_accuracy": value, "avg_metric": value}
    return out


@pytest.fixture(params=["split", "one file"])
def workspace(tmp_path, monkeypatch, request):
    """reports/metrics.json as the score stage writes it now (headline numbers, the rest in
    metrics_by_language.json) or as it wrote it before (everything in one file): the report reads both."""
    for f in ("params.yaml", "claims.yaml", "families.yaml"):
        shutil.copy(ROOT / f, tmp_path / f)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    reg = claims.registry(ROOT / "claims.yaml")
    (tmp_path / "reports").mkdir()
    (tmp_path / "models/pretrained").mkdir(parents=True)
    (tmp_path / "models/pretrained/pretrain_info.json").write_text(json.dumps({"kind": "tiny", "parameters": 954075}))
    metrics = {**_block(50.0, XTREME), "baseline": _block(45.0, XTREME), "gain": _block(5.0, XTREME),
               "variant": {"intermediate": "mnli", "intermediate_mlm": "false", "intermediate_languages": "en",
                           "intermediate_size": "all", "target_training": "zero_shot"}}
    if request.param == "split":
        from xstilts.eval import headline
        head, detail = headline.split_summary(_block(50.0, XTREME), _block(45.0, XTREME))
        metrics = {**head, "gain_interval": {"all_task": {"low": 1.0, "high": 9.0}}, "variant": metrics["variant"]}
        (tmp_path / "reports/metrics_by_language.json").write_text(json.dumps(detail))
    (tmp_path / "reports/metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "reports/scores.json").write_text(json.dumps({
        "scored": {t: {"split": "dev", "languages": LANGS} for t in XTREME}, "missing_tasks": [],
        "commands": {"intermediate": "xstilts score ...", "baseline": "xstilts score ..."}}))
    runs = []
    # squad ran every target; hellaswag lacks PAN-X (a trimmed target list): its cells read "not run"
    for i, (setting, value, targets) in enumerate((("squad", 58.0, XTREME), ("hellaswag", 52.0,
                                                                               [t for t in XTREME if t != "panx"]))):
        by_split = {s: {"intermediate": _block(value, targets), "baseline": _block(45.0, XTREME)}
                    for s in ("dev", "test")}
        params = claims.with_overrides(raw, reg.overrides(setting, "tiny", raw["seed"]))
        runs.append(results.Run("experiment", f"{setting}-s1234", f"{i}" * 40, params, by_split,
                                {"source": "experiment", "name": f"{setting}-s1234", "commit": f"{i}" * 40,
                                 "score_stage_md5": "ab" * 16, "encoder_md5": "cd" * 16, "code_md5": None}))
    # rq-low-resource-scale's three runs (XTREME-R): high-resource languages 60, low 30/40/50 by size
    from xstilts.claims import families
    fam = families.load(ROOT / "families.yaml")["rq-low-resource-scale"]
    for k, exp in enumerate(fam.experiments(reg, "tiny")):
        low = {"tiny-xlmr-s": 30.0, "tiny-xlmr": 40.0, "tiny-xlmr-l": 50.0}[exp.value("model")]
        per_lang = {"en": 60.0, "qa": 60.0, "qb": 60.0, "qc": 55.0, "qd": low, "qe": low}
        targets = ("xnli", "udpos", "tatoeba")
        mean = sum(per_lang.values()) / len(per_lang)
        arm = {t: {"accuracy": per_lang, "avg_accuracy": mean, "avg_metric": mean} for t in targets}
        params = claims.with_overrides(raw, families.overrides(exp, "tiny", raw["seed"]))
        commit = f"f{k}" * 20
        runs.append(results.Run("experiment", f"rq-low-{k}", commit, params,
                                {"dev": {"intermediate": arm, "baseline": arm}},
                                {"source": "experiment", "name": f"rq-low-{k}", "commit": commit,
                                 "score_stage_md5": "ab" * 16, "encoder_md5": "cd" * 16, "code_md5": None}))
    monkeypatch.chdir(tmp_path)
    results.write_grid(runs, "tiny")
    return tmp_path


def test_report_pdf_holds_every_claim_and_the_collected_numbers(workspace):
    if not shutil.which("latexmk"):
        pytest.skip("no LaTeX engine: bash .ci/setup installs it")
    from pypdf import PdfReader

    from xstilts.core import config
    from xstilts.report import numbers
    from xstilts.report.write import write_report
    write_report(config.load())
    tex = (workspace / "reports/report.tex").read_text()
    # squad's gain is 13 points on every target: the claim's number, and its verdict against +8.2
    assert "squad-s1234" in tex and "+13.0" in tex and "not the paper's" in tex
    pdf = PdfReader(str(workspace / "reports/report.pdf"))
    text = "".join(p.extract_text() for p in pdf.pages)
    ids = [c.id for c in claims.load()]
    assert [i for i in ids if i not in text] == [] and len(pdf.pages) >= 8
    for name in ("gains_heatmap.pdf", "gains_per_language.pdf", "family_rq-low-resource-scale.pdf",
                 "family_rq-size-gap.pdf"):
        assert (workspace / "reports/figures" / name).stat().st_size > 1000
    # one section per family; the one with runs answers from their numbers, the others say what is missing
    assert "Research questions" in text and "scale narrows it" in " ".join(text.split())
    assert tex.count("\\subsection{\\texttt{rq-") == 5 and "Not enough runs yet" in tex
    assert "rq-low-resource-scale:tiny-xlmr-s@1234" in tex  # the family's runs are in the provenance table
    # one seed: each section with runs says its cells carry no spread; those without say nothing of seeds
    secs = [" ".join(sec.split()) for sec in tex.split("\\subsection{")[1:]]
    said = [("One seed per cell, so no spread is shown" in sec, "Runs (provenance table)" in sec) for sec in secs]
    assert all(a == b for a, b in said) and (True, True) in said and (False, False) in said
    judged = {j.claim.id: j for j in numbers.judgements(claims.registry(), numbers.Grid(
        claims.registry(), matching.match(claims.registry(), results.read_grid(), results.params_raw(), "tiny")[0],
        [1234]).evidence, [1234])}
    assert judged["squad-gain"].value == pytest.approx(13.0) and judged["squad-gain"].verdict == "same sign"
    assert judged["hellaswag-gain"].verdict == "not run"  # PAN-X missing
    assert judged["v1-hellaswag-xnli"].value == pytest.approx(7.0)


def test_cells_with_several_seeds_are_mean_and_std(workspace):
    from xstilts.report import numbers
    raw = results.params_raw()
    reg = claims.registry()
    runs = results.read_grid()
    # squad again at seed 7, three points higher: the cell becomes 14.5 +- 2.1 (sample std)
    extra = results.Run("experiment", "squad-s7", "9" * 40, {**runs[0].params, "seed": 7},
                        {s: {"intermediate": _block(61.0, XTREME), "baseline": _block(45.0, XTREME)}
                         for s in ("dev", "test")}, {**runs[0].provenance, "commit": "9" * 40})
    found, _ = matching.match(reg, [*runs, extra], raw, "tiny")
    grid = numbers.Grid(reg, found, [1234, 7])
    mean, std = grid.cell("squad", "xnli")
    assert mean == pytest.approx(14.5) and std == pytest.approx(2 ** 0.5 * 1.5)
    assert grid.cell("hellaswag", "xnli") == (None, None)  # no run at seed 7
    j = judge.judge(reg.by_id(["squad-gain"])[0], grid.evidence, [1234, 7], reg.bootstrap)
    assert j.interval == pytest.approx((13.0, 16.0), abs=0.2) and j.verdict == "same sign"
    assert numbers.fmt(mean, True, std) == "+14.5$\\pm$2.1"
