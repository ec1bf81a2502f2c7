"""Stage score's two files (reports/metrics.json: the headline numbers; metrics_by_language.json: the
rest) and the gains' paired bootstrap intervals over evaluation examples (xstilts/eval/intervals.py)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from test_scorer import build_mock, squad_labels, write_file

from xstilts.core import tasks
from xstilts.eval import headline, intervals, layout, scorer, summary

LANGS = ("en", "qa")


def _params(targets, benchmark="xtreme") -> SimpleNamespace:
    return SimpleNamespace(
        profile="tiny", model="tiny-xlmr", benchmark=benchmark, seed=1234, eval_split="dev", languages=None,
        intermediate="mnli", intermediate_mlm=False, intermediate_languages=["en"], intermediate_size=None,
        target_training="zero_shot", active_targets=list(targets), target_languages=lambda t: LANGS)


def _classification(root, task, split, lang, right: int, of: int) -> None:
    """`right` of `of` lines correct (gold alternates entailment / neutral)."""
    gold = ["entailment" if i % 2 else "neutral" for i in range(of)]
    pred = [g if i < right else ("neutral" if g == "entailment" else "entailment") for i, g in enumerate(gold)]
    suffix = layout.suffix(task)
    write_file(root / "labels" / task / f"{split}-{lang}.{suffix}", "".join(f"{g}\n" for g in gold))
    write_file(root / "pred" / task / f"{split}-{lang}.{suffix}", "".join(f"{p}\n" for p in pred))


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """data/labels and both arms' data/predictions for PAWS-X, XNLI (the classification group), MLQA
    and UD-POS, dev and test, two languages; the intermediate arm better on XNLI."""
    monkeypatch.chdir(tmp_path)
    labels = tmp_path / "data/labels"
    for arm, better in (("baseline", 0), ("intermediate", 6)):
        pred = tmp_path / "data/predictions" / arm
        for split in ("dev", "test"):
            for lang in LANGS:
                for task, right in (("pawsx", 10), ("xnli", 10 + better)):
                    _classification(tmp_path / "x", task, split, lang, right, 20)
                    for side, dest in (("labels", labels), ("pred", pred)):
                        name = f"{task}/{split}-{lang}.tsv"
                        write_file(dest / name, (tmp_path / "x" / side / name).read_text())
                qs = [[f"{lang}{i}", [f"answer {i}"]] for i in range(6)]
                write_file(labels / f"mlqa/{split}-{lang}.json", squad_labels(qs))
                write_file(pred / f"mlqa/{split}-{lang}.json",
                           json.dumps({q: (a[0] if i % 2 else "no") for i, (q, a) in enumerate(qs)}))
                write_file(labels / f"udpos/{split}-{lang}.tsv", "NOUN\nVERB\n\nDET\nNOUN\n")
                write_file(pred / f"udpos/{split}-{lang}.tsv", "NOUN\nVERB\n\nDET\nVERB\n")
    return tmp_path


def leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in tree.items():
        out.update(leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def test_metrics_json_holds_the_headline_numbers_and_the_rest_is_by_language(workspace):
    params = _params(["pawsx", "xnli", "udpos", "mlqa"])
    summary.write_scores(params)
    head = json.loads((workspace / "reports/metrics.json").read_text())
    keys = set(leaves(head))
    # headline only: no language anywhere, one avg_metric per task (QA: also EM and F1), the groups present
    assert not [k for k in keys if k.split(".")[-1] in LANGS or ".accuracy." in k or "precision" in k], keys
    for prefix in ("", "baseline.", "gain."):
        assert {f"{prefix}xnli.avg_metric", f"{prefix}classification", f"{prefix}mlqa.avg_f1",
                f"{prefix}mlqa.avg_exact_match", f"{prefix}udpos.avg_metric"} <= keys
        assert f"{prefix}xnli.avg_accuracy" not in keys and f"{prefix}udpos.avg_f1" not in keys
    assert {"gain_interval.classification.low", "gain_interval.xnli.avg_metric.high",
            "gain_interval.mlqa.avg_f1.low", "variant.intermediate"} <= keys
    assert len(keys) == 3 * (1 + 6) + 2 * (1 + 6) + 10  # arm, baseline, gain; intervals; variant
    # the merged view is evaluate.py's whole output, as metrics.json held it before the split
    ours, _ = scorer.evaluate("data/predictions/intermediate", "data/labels", "xtreme", "dev",
                              {t: LANGS for t in params.active_targets})
    base, _ = scorer.evaluate("data/predictions/baseline", "data/labels", "xtreme", "dev",
                              {t: LANGS for t in params.active_targets})
    merged = headline.read_metrics()
    assert merged == {**ours, "baseline": base, "gain": headline.subtract(ours, base),
                      "gain_interval": head["gain_interval"], "variant": head["variant"]}
    detail = json.loads((workspace / "reports/metrics_by_language.json").read_text())
    assert detail["xnli"]["accuracy"] == {"en": 80.0, "qa": 80.0} and detail["gain"]["xnli"]["accuracy"]["qa"] == 30
    # metrics_by_split.json: both splits, and beside them the intervals and how they were drawn
    by_split = json.loads((workspace / "reports/metrics_by_split.json").read_text())
    assert by_split["gain_interval"]["resamples"] == 1000 and by_split["gain_interval"]["dev"] == head["gain_interval"]
    assert set(by_split["gain_interval"]["test"]) == {"classification", "pawsx", "xnli", "udpos", "mlqa"}
    # an older metrics.json (everything in one file, no metrics_by_language.json) reads as it is
    (workspace / "reports/metrics_by_language.json").unlink()
    (workspace / "reports/metrics.json").write_text(json.dumps(merged))
    assert headline.read_metrics() == merged


def test_the_gain_interval_excludes_zero_only_when_the_examples_say_so(workspace):
    params = _params(["pawsx", "xnli", "udpos", "mlqa"])
    summary.write_scores(params)
    ci = json.loads((workspace / "reports/metrics.json").read_text())["gain_interval"]
    # XNLI: 6 of 20 examples fixed, none broken, in each language: +30, every resample gains
    assert 0 < ci["xnli"]["avg_metric"]["low"] < 30 < ci["xnli"]["avg_metric"]["high"]
    assert ci["classification"]["low"] > 0  # (PAWS-X: the same predictions in both arms, gain 0)
    assert ci["pawsx"]["avg_metric"] == {"low": 0.0, "high": 0.0}
    assert ci["mlqa"]["avg_f1"] == {"low": 0.0, "high": 0.0}


def test_paired_resampling_sees_a_consistent_small_gain_that_unpaired_noise_would_hide(tmp_path):
    """200 examples, both arms near 50%: the intermediate arm fixes 10 and breaks none (+5). Paired, every
    resample keeps that sign; resampled arm by arm the interval would be about ±7 points wide."""
    _classification(tmp_path / "a", "xnli", "test", "en", 110, 200)
    _classification(tmp_path / "b", "xnli", "test", "en", 100, 200)
    kind = layout.kind("xnli")
    ex = [kind.examples(tasks.TARGETS["xnli"], tmp_path / arm / "pred/xnli/test-en.tsv",
                        tmp_path / arm / "labels/xnli/test-en.tsv", "en") for arm in ("a", "b")]
    a, b = intervals.paired(*ex, "test/xnli/en")
    gain = intervals.interval(a["accuracy"] - b["accuracy"])
    assert 0 < gain["low"] < 5 < gain["high"] < 10
    assert a["accuracy"].shape == (intervals.RESAMPLES,)
    # the same file and key draw the same units: the interval is reproducible
    assert intervals.interval(np.subtract(*[x["accuracy"] for x in intervals.paired(*ex, "test/xnli/en")])) == gain
    # a tie (5 fixed, 5 broken) straddles zero
    _classification(tmp_path / "c", "xnli", "test", "en", 100, 200)
    tie = kind.examples(tasks.TARGETS["xnli"], tmp_path / "c/pred/xnli/test-en.tsv",
                        tmp_path / "c/labels/xnli/test-en.tsv", "en")
    tie.rows = [(1.0 - r[0],) if i in range(95, 105) else r for i, r in enumerate(tie.rows)]
    a, b = intervals.paired(tie, ex[1], "test/xnli/en")
    tied = intervals.interval(a["accuracy"] - b["accuracy"])
    assert tied["low"] < 0 < tied["high"]


@pytest.mark.parametrize("benchmark", ["xtreme", "xtreme_r"])
def test_every_kinds_examples_sum_to_its_score(tmp_path, benchmark):
    """The units' rows, summed over the whole file, give exactly what the scorer gives (the official mock
    folder: accuracy, seqeval F1, BUCC F1, SQuAD/MLQA EM and F1, Mewsli-X's reciprocal rank)."""
    preds, labels = build_mock(tmp_path, None if benchmark == "xtreme" else {"xnli", "mlqa", "tydiqa", "mewslix"})
    out, info = scorer.evaluate(preds, labels, benchmark)
    checked = set()
    for task, what in info["scored"].items():
        kind = layout.kind(task)
        for lang in what["languages"]:
            ex = kind.examples(tasks.TARGETS[task], layout.path(preds, task, "test", lang),
                               layout.path(labels, task, "test", lang), lang)
            sums = np.asarray(ex.rows, dtype=np.float64).sum(axis=0)[None]
            for metric, spec in ex.metrics.items():
                assert intervals.metric_values(sums, len(ex.ids), spec)[0] == pytest.approx(
                    out[task][metric][lang], abs=1e-9), (task, lang, metric)
                checked.add((kind.name, metric))
    assert checked == ({("classification", "accuracy"), ("tagging", "f1"), ("mining", "f1"), ("bitext", "accuracy"),
                        ("qa", "exact_match"), ("qa", "f1")} if benchmark == "xtreme" else
                       {("classification", "accuracy"), ("qa", "exact_match"), ("qa", "f1"), ("ranking", "map@20")})
    if benchmark == "xtreme":  # every task: all_task and the four groups get an interval (both arms alike: 0)
        ci = intervals.gain_intervals((preds, preds), labels, benchmark, info["scored"], (out, out))
        assert {"all_task", "classification", "tagging", "qa", "retrieval"} <= set(ci)
        assert ci["all_task"] == {"low": 0.0, "high": 0.0} and ci["xquad"]["avg_f1"] == {"low": 0.0, "high": 0.0}


def test_bucc_units_are_source_sentences_either_arm_names(tmp_path):
    """A sentence only one arm extracted from is a unit of zeros in the other: resampled for both."""
    write_file(tmp_path / "l/bucc2018/test-de.tsv", "de-1\ten-1\nde-2\ten-2\n")
    write_file(tmp_path / "a/bucc2018/test-de.tsv", "de-1\ten-1\nde-2\ten-2\nde-3\ten-3\n")  # F1 4/5
    write_file(tmp_path / "b/bucc2018/test-de.tsv", "de-1\ten-1\n")                              # F1 2/3
    kind = layout.kind("bucc2018")
    ex = [kind.examples(tasks.TARGETS["bucc2018"], tmp_path / arm / "bucc2018/test-de.tsv",
                        tmp_path / "l/bucc2018/test-de.tsv", "de") for arm in ("a", "b")]
    assert ex[0].ids == ["de-1", "de-2", "de-3"] and ex[1].ids == ["de-1", "de-2"]
    assert ex[1].rows == [(1, 1, 1), (0, 0, 1)]
    a, b = intervals.paired(*ex, "test/bucc2018/de")
    assert np.median(a["f1"]) == pytest.approx(80.0) and np.median(b["f1"]) == pytest.approx(200 / 3)


def test_qa_questions_without_a_prediction_are_units_that_score_zero(tmp_path):
    write_file(tmp_path / "l.json", squad_labels([["q1", ["a b"]], ["q2", ["c"]], ["q3", ["d"]]]))
    write_file(tmp_path / "p.json", json.dumps({"q1": "a b", "q3": "d e", "extra": "x"}))
    ex = layout.kind("xquad").examples(tasks.TARGETS["xquad"], tmp_path / "p.json", tmp_path / "l.json", "en")
    assert ex.ids == ["q1", "q2", "q3"] and ex.rows == [(1.0, 1.0), (0.0, 0.0), (0.0, pytest.approx(2 / 3))]


def test_the_score_stage_stays_fast_on_the_tiny_profiles_scale(workspace):
    """Both splits' intervals: RESAMPLES replicates of every language file, vectorised (numpy)."""
    import time
    t0 = time.time()
    summary.build(_params(["pawsx", "xnli", "udpos", "mlqa"]))
    assert time.time() - t0 < 5
