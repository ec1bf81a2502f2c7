"""The official XTREME / XTREME-R scorer (xstilts/eval/scorer.py, xstilts/metrics/text.py).

Golden values:
  * tests/golden/xtreme_mock_test_data.tsv holds, compacted, the scorer-relevant content of
    google-research/xtreme's mock_test_data/ (Apache-2.0; read at da430dd), and EXPECTED below
    the averages its evaluate_test.py asserts (exact float equality there, so here too), plus the
    group and overall scores evaluate.py prints for that folder.
  * small folders built here by hand, with values worked out by hand in the comments.
Beyond these, tools/compare_with_official.py scores random folders with both the official
evaluate.py (given a checkout of it and seqeval 0.0.13) and this scorer, and lists any difference.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xstilts.core import tasks
from xstilts.eval import layout, scorer
from xstilts.eval.scorer import ScoreError, evaluate
from xstilts.kinds import qa as qa_kind

GOLDEN = Path(__file__).parent / "golden" / "xtreme_mock_test_data.tsv"

# evaluate_test.py's TASK2AVG_SCORES and XTREME_R_TASK2AVG_SCORES
EXPECTED = {
    "pawsx": {"avg_accuracy": 51.42857142857143},
    "xnli": {"avg_accuracy": 30.666666666666668},
    "panx": {"avg_f1": 57.50793650793652, "avg_precision": 54.729166666666664, "avg_recall": 62.750000000000014},
    "udpos": {"avg_f1": 70.21746048354693, "avg_precision": 71.02232625883823, "avg_recall": 69.54982073976082},
    "bucc2018": {"avg_f1": 55.0, "avg_precision": 55.0, "avg_recall": 55.0},
    "tatoeba": {"avg_accuracy": 53.611111111111114},
    "xquad": {"avg_exact_match": 77.27272727272727, "avg_f1": 79.9586776859504},
    "mlqa": {"avg_exact_match": 57.142857142857146, "avg_f1": 81.76870748299321},
    "tydiqa": {"avg_exact_match": 88.88888888888889, "avg_f1": 97.22222222222223},
}
EXPECTED_R = {"xnli": EXPECTED["xnli"], "mlqa": EXPECTED["mlqa"], "tydiqa": EXPECTED["tydiqa"],
              "mewslix": {"avg_map@20": 14.39025156130419}}
# evaluate.py on the whole mock folder (--xtreme_version xtreme)
EXPECTED_OVERALL = {"all_task": 62.17319850507246, "classification": 41.04761904761905,
                    "tagging": 63.862698495741725, "qa": 80.37568011593986, "retrieval": 54.30555555555556}


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def squad_labels(questions: list) -> str:
    """SQuAD v1.1 JSON holding [question id, [answers]] pairs."""
    qas = [{"id": qid, "question": "", "answers": [{"answer_start": 0, "text": a} for a in answers]}
           for qid, answers in questions]
    return json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "", "qas": qas}]}], "version": "1.1"})


def build_mock(root: Path, only: set[str] | None = None) -> tuple[Path, Path]:
    """The official mock folder, rebuilt from the compact golden file in the official layout."""
    preds, labels = root / "predictions", root / "labels"
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        task, lang, blob = line.split("\t")
        if only and task not in only:
            continue
        d = json.loads(blob)
        name = f"{task}/test-{lang}.{layout.suffix(task)}"
        for side, key in ((labels, "L"), (preds, "P")):
            v = d[key]
            if task in ("pawsx", "xnli", "tatoeba"):
                text = "".join(f"{x}\n" for x in v)
            elif task == "bucc2018":
                text = "".join(x.replace(">", "\t") + "\n" for x in v)
            elif task in ("panx", "udpos"):
                text = "\n".join("".join(f"{t}\n" for t in s.split()) for s in v)
            elif layout.kind(task).name == "qa":
                text = squad_labels(v) if key == "L" else json.dumps(v)
            else:  # mewslix
                text = json.dumps(v)
            write_file(side / name, text)
    return preds, labels


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    return build_mock(tmp_path_factory.mktemp("mock"))


# --- golden: the official mock data ---------------------------------------------------------------
@pytest.mark.parametrize("task", list(EXPECTED))
def test_official_mock_task_averages_xtreme(mock, task):
    out, _ = evaluate(*mock, "xtreme")
    assert {k: out[task][k] for k in EXPECTED[task]} == EXPECTED[task]  # exact, as evaluate_test.py


@pytest.mark.parametrize("task", list(EXPECTED_R))
def test_official_mock_task_averages_xtreme_r(tmp_path, task):
    out, info = evaluate(*build_mock(tmp_path, {task}), "xtreme_r")
    assert {k: out[task][k] for k in EXPECTED_R[task]} == EXPECTED_R[task]
    assert "all_task" not in out and task not in info["missing_tasks"]


def test_official_mock_overall_groups_and_layout(mock):
    out, info = evaluate(*mock, "xtreme")
    assert list(out)[:5] == list(EXPECTED_OVERALL)  # evaluate.py's key order: overall, groups, tasks
    assert list(out)[5:] == list(tasks.BENCHMARK_TARGETS["xtreme"])
    for key, value in EXPECTED_OVERALL.items():
        assert out[key] == pytest.approx(value, abs=1e-9)
    assert out["xquad"]["avg_metric"] == pytest.approx((77.27272727272727 + 79.9586776859504) / 2, abs=1e-12)
    assert list(out["panx"]) == ["f1", "precision", "recall", "avg_f1", "avg_precision", "avg_recall", "avg_metric"]
    assert list(out["panx"]["f1"]) == list(tasks.TARGETS["panx"].languages["xtreme"])  # official order
    # a few per-language values evaluate.py prints for the mock folder
    assert out["udpos"]["f1"]["ar"] == pytest.approx(53.09734513274336, abs=1e-12)  # seqeval 0.0.13 chunks
    assert out["mlqa"]["f1"]["es"] == pytest.approx(26.66666666666667, abs=1e-12)
    assert out["xquad"]["f1"]["zh"] == 25.0  # SQuAD normalization: no CJK segmentation
    assert info["missing_tasks"] == []


def test_missing_task_drops_overall_and_its_group(tmp_path):
    preds, labels = build_mock(tmp_path, set(EXPECTED) - {"tatoeba"})
    out, info = evaluate(preds, labels, "xtreme")
    assert info["missing_tasks"] == ["tatoeba"]
    assert "all_task" not in out and "retrieval" not in out and "tatoeba" not in out
    assert out["qa"] == pytest.approx(EXPECTED_OVERALL["qa"], abs=1e-9)


def test_missing_language_is_an_error_naming_it(tmp_path):
    preds, labels = build_mock(tmp_path, {"xnli"})
    (preds / "xnli" / "test-sw.tsv").unlink()
    with pytest.raises(ScoreError, match=r"xnli: language 'sw' is missing from the predictions"):
        evaluate(preds, labels, "xtreme")
    (preds / "xnli").rename(preds / "elsewhere")  # a task folder on one side only: a missing task
    assert evaluate(preds, labels, "xtreme")[1]["missing_tasks"] == list(tasks.BENCHMARK_TARGETS["xtreme"])


def test_xtreme_r_needs_its_longer_language_lists(tmp_path):
    # the mock PAN-X folder has XTREME's 40 languages; XTREME-R asks for 48 (evaluate.py fails too)
    with pytest.raises(ScoreError, match="panx: language 'qu' is missing"):
        evaluate(*build_mock(tmp_path, {"panx"}), "xtreme_r")


def test_line_count_mismatch_is_an_error(tmp_path):
    preds, labels = build_mock(tmp_path, {"pawsx"})
    write_file(preds / "pawsx" / "test-de.tsv", "0\n1\n")
    with pytest.raises(ScoreError, match="test-de.tsv has 2 lines"):
        evaluate(preds, labels, "xtreme")


def test_bad_benchmark_and_split_are_named(mock):
    with pytest.raises(ScoreError, match="unknown benchmark 'xtreme-s'; valid: xtreme, xtreme_r"):
        evaluate(*mock, "xtreme-s")
    with pytest.raises(ScoreError, match="unknown split 'val'"):
        evaluate(*mock, "xtreme", split="val")


# --- golden: small folders worked out by hand ----------------------------------------------------
def test_hand_built_xtreme_r_folder(tmp_path):
    p, l = tmp_path / "p", tmp_path / "l"
    langs = {"xnli": ("en", "de"), "xcopa": ("et",), "panx": ("en",), "udpos": ("en",), "mewslix": ("en",),
             "lareqa": ("en",), "tatoeba": ("de",), "xquad": ("en",), "mlqa": ("zh",), "tydiqa": ("en",)}
    write_file(l / "xnli/test-en.tsv", "entailment\nneutral\ncontradiction\nneutral\n")
    write_file(p / "xnli/test-en.tsv", "entailment\nneutral\nneutral\nneutral\n")            # 3/4 = 75
    write_file(l / "xnli/test-de.tsv", "entailment\nneutral\n")
    write_file(p / "xnli/test-de.tsv", "  neutral\t\nneutral\n")                              # stripped: 1/2 = 50
    write_file(l / "xcopa/test-et.jsonl", '{"label": 0, "premise": "x"}\n{"label": 1}\n')
    write_file(p / "xcopa/test-et.jsonl", '{"label": 0}\n{"label": 0}\n')                    # 1/2 = 50
    # PAN-X: gold chunks PER(0-1), LOC(4); predicted PER(0-1), ORG(4) -> p = r = 1/2, F1 = 50
    write_file(l / "panx/test-en.tsv", "B-PER\nI-PER\nO\n\nO\nB-LOC\n")
    write_file(p / "panx/test-en.tsv", "B-PER\nI-PER\nO\n\nO\nB-ORG\n")
    # UD-POS, seqeval 0.0.13 chunks: gold NOUN NOUN | VERB -> chunks NOUN(0-1), VERB(2); predicted
    # NOUN VERB | VERB -> NOUN(0), VERB(1-2): no chunk in common -> 0 (token accuracy would say 67)
    write_file(l / "udpos/test-en.tsv", "NOUN\nNOUN\nVERB\n")
    write_file(p / "udpos/test-en.tsv", "NOUN\nVERB\nVERB\n")
    # Mewsli-X: gold at rank 4 -> 25; a query with no prediction -> 0; mean 12.5
    write_file(l / "mewslix/test-en.json", json.dumps({"a": [" Q1 "], "b": ["Q2"]}))
    write_file(p / "mewslix/test-en.json", json.dumps({"a": ["Q9", "Q8", "Q7", "Q1"], "z": ["Q2"]}))
    # LAReQA: relevant {c1, c3}, ranked c1 c2 c3 -> AP = (1/1 + 2/3) / 2 = 5/6
    write_file(l / "lareqa/test-en.json", json.dumps({"q": ["c1", "c3"]}))
    write_file(p / "lareqa/test-en.json", json.dumps({"q": ["c1", "c2", "c3"]}))
    write_file(l / "tatoeba/test-de.tsv", "3\n0\n")
    write_file(p / "tatoeba/test-de.tsv", "3\n00\n")                                        # "00" != "0": 50
    # XQuAD: "the 308." vs "308" -> EM 1, F1 1; "136 times" vs "136" -> EM 0, F1 2/3
    write_file(l / "xquad/test-en.json", squad_labels([["q1", ["308"]], ["q2", ["136", "x"]]]))
    write_file(p / "xquad/test-en.json", json.dumps({"q1": "the 308.", "q2": "136 times"}))
    # MLQA zh: gold 北京 -> "北 京"; prediction 北京市 -> "北 京 市": EM 0, F1 = 2*(2/3*1)/(2/3+1) = 0.8
    write_file(l / "mlqa/test-zh.json", squad_labels([["m", ["北京"]]]))
    write_file(p / "mlqa/test-zh.json", json.dumps({"m": "北京市"}))
    # TyDiQA: a question without a prediction scores 0 -> EM 50, F1 50
    write_file(l / "tydiqa/test-en.json", squad_labels([["t1", ["a b"]], ["t2", ["c"]]]))
    write_file(p / "tydiqa/test-en.json", json.dumps({"t1": "A B", "extra": "c"}))

    out, info = evaluate(p, l, "xtreme_r", languages=langs)
    assert out["xnli"]["accuracy"] == {"en": 75.0, "de": 50.0} and out["xnli"]["avg_metric"] == 62.5
    assert out["xcopa"]["avg_metric"] == 50.0
    assert out["panx"]["avg_metric"] == pytest.approx(50.0)
    assert out["udpos"]["avg_metric"] == 0
    assert out["mewslix"]["avg_metric"] == pytest.approx(12.5)
    assert out["lareqa"]["avg_metric"] == pytest.approx(500 / 6)
    assert out["tatoeba"]["avg_metric"] == 50.0
    assert out["xquad"]["exact_match"]["en"] == 50.0 and out["xquad"]["f1"]["en"] == pytest.approx(250 / 3)
    assert out["xquad"]["avg_metric"] == pytest.approx((50 + 250 / 3) / 2)
    assert out["mlqa"]["exact_match"]["zh"] == 0 and out["mlqa"]["f1"]["zh"] == pytest.approx(80.0)
    assert out["tydiqa"]["avg_metric"] == pytest.approx(50.0)
    # groups as XTREME-R's evaluate.py; LAReQA (which it cannot score) counts only in all_task
    assert out["classification"] == pytest.approx((62.5 + 50) / 2)
    assert out["multi_choice"] == 50.0
    assert out["retrieval"] == pytest.approx((50 + 12.5) / 2)
    assert out["all_task"] == pytest.approx(sum(out[t]["avg_metric"] for t in langs) / 10)
    assert info["scored"]["xnli"] == {"split": "test", "languages": ["en", "de"]}


def test_bucc_scores_sets_of_pairs(tmp_path):
    p, l = tmp_path / "p", tmp_path / "l"
    write_file(l / "bucc2018/test-de.tsv", "de-1\ten-1\nde-2\ten-2\nde-3\ten-3\nde-4\ten-4\n")
    # 2 right, 1 wrong, one duplicate line (sets: counted once) -> p = 2/3, r = 2/4, F1 = 4/7
    write_file(p / "bucc2018/test-de.tsv", "de-1\ten-1\nde-1\ten-1\nde-2\ten-2\nde-3\ten-9\n")
    out, _ = evaluate(p, l, "xtreme", languages={"bucc2018": ("de",)})
    assert out["bucc2018"]["precision"]["de"] == pytest.approx(200 / 3)
    assert out["bucc2018"]["recall"]["de"] == pytest.approx(50.0)
    assert out["bucc2018"]["avg_metric"] == pytest.approx(400 / 7)


def test_dev_split_falls_back_to_test_where_a_task_has_no_dev(tmp_path):
    p, l = tmp_path / "p", tmp_path / "l"
    for root in (p, l):
        write_file(root / "xquad/test-en.json", squad_labels([["q", ["b"]]]) if root == l else '{"q": "b"}')
        write_file(root / "xnli/dev-en.tsv", "entailment\n")
    out, info = evaluate(p, l, "xtreme", split="dev", languages={"xquad": ("en",), "xnli": ("en",)})
    assert info["scored"]["xquad"]["split"] == "test" and info["scored"]["xnli"]["split"] == "dev"
    assert out["xquad"]["avg_metric"] == 100.0 and out["xnli"]["avg_metric"] == 100.0


def test_official_dev_languages_leave_out_those_without_dev_data():
    assert "kk" in scorer.official_languages("udpos", "xtreme", "test")
    assert "kk" not in scorer.official_languages("udpos", "xtreme", "dev")


# --- properties -----------------------------------------------------------------------------------
LABELS = st.lists(st.sampled_from(["entailment", "neutral", "contradiction"]), min_size=1, max_size=20)


@settings(max_examples=50, deadline=None)
@given(LABELS)
def test_identical_files_score_100(tmp_path_factory, labels):
    root = tmp_path_factory.mktemp("same")
    for side in ("p", "l"):
        write_file(root / side / "xnli/test-en.tsv", "".join(f"{x}\n" for x in labels))
    out, _ = evaluate(root / "p", root / "l", "xtreme", languages={"xnli": ("en",)})
    assert out["xnli"]["avg_metric"] == 100.0


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(tasks.TARGETS["xnli"].languages["xtreme"])))
def test_permuting_languages_changes_no_average(mock, order):
    out, _ = evaluate(*mock, "xtreme")
    permuted, _ = evaluate(*mock, "xtreme", languages={"xnli": tuple(order)})
    assert permuted["xnli"]["avg_metric"] == pytest.approx(out["xnli"]["avg_metric"], abs=1e-9)
    assert permuted["all_task"] == pytest.approx(out["all_task"], abs=1e-9)


# --- the command -------------------------------------------------------------------------------
def test_score_command_prints_evaluate_py_json(mock, capsys):
    from typer.testing import CliRunner

    from xstilts.cli import app

    preds, labels = mock
    result = CliRunner().invoke(app, ["score", "--predictions", str(preds), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["all_task"] == pytest.approx(EXPECTED_OVERALL["all_task"], abs=1e-9)
    bad = CliRunner().invoke(app, ["score", "--predictions", str(preds), "--labels", str(labels),
                                   "--benchmark", "xtreme-r"])
    assert bad.exit_code != 0 and "valid: xtreme, xtreme_r" in bad.output


# --- the pipeline's writers produce what the scorer reads ------------------------------------------
def test_gold_written_as_predictions_scores_100_for_every_target(tmp_path):
    qs = [{"kind": "query", "id": "q1", "text": "x", "relevant": ["c2"]},
          {"kind": "query", "id": "q2", "text": "y", "relevant": ["c1"]},
          {"kind": "candidate", "id": "c1", "text": "z"}]
    rows = {
        "classification": [{"id": "0", "label": "entailment"}, {"id": "1", "label": "neutral"}],
        "multiple_choice": [{"id": "0", "label": 1}, {"id": "1", "label": 0}],
        "tagging": [{"id": "0", "tags": ["B-PER", "I-PER", "O"]}, {"id": "1", "tags": ["NOUN", "VERB"]}],
        "qa": [{"id": "a", "context": "c d", "question": "?", "answers": [{"text": "d", "answer_start": 2}]},
               {"id": "b", "context": "c d", "question": "?", "answers": [{"text": "c", "answer_start": 0}]}],
        "bitext": qs, "mining": qs, "ranking": qs,
    }
    gold_as_pred = {
        "classification": lambda r: [x["label"] for x in r], "multiple_choice": lambda r: [x["label"] for x in r],
        "tagging": lambda r: [x["tags"] for x in r], "qa": lambda r: [x["answers"][0]["text"] for x in r],
        "bitext": lambda r: [q["relevant"][0] for q in r if q["kind"] == "query"],
        "mining": lambda r: {(q["id"], t) for q in r if q["kind"] == "query" for t in q["relevant"]},
        "ranking": lambda r: [q["relevant"] for q in r if q["kind"] == "query"],
    }
    for task in tasks.TARGETS:
        k = layout.kind(task).name
        layout.write_labels(task, tmp_path / "l" / task / "test-en", rows[k])
        layout.write_predictions(task, tmp_path / "p" / task / "test-en", rows[k], gold_as_pred[k](rows[k]))
    for benchmark in tasks.BENCHMARKS:
        out, info = evaluate(tmp_path / "p", tmp_path / "l", benchmark,
                             languages={t: ("en",) for t in tasks.TARGETS})
        assert out["all_task"] == 100.0 and not info["missing_tasks"]
        assert all(out[t]["avg_metric"] == 100.0 for t in tasks.BENCHMARK_TARGETS[benchmark]), out


def test_mlqa_scores_the_tiny_worlds_languages_like_hindi(tmp_path):
    assert qa_kind.mlqa_language("qc") == "hi" and qa_kind.mlqa_language("zh") == "zh"
    write_file(tmp_path / "l.json", squad_labels([["q", ["Die Katze"]]]))
    write_file(tmp_path / "p.json", json.dumps({"q": "die katze"}))
    assert scorer.score_language("mlqa", tmp_path / "p.json", tmp_path / "l.json", "qc")["exact_match"] == 100
    with pytest.raises(ValueError, match="language 'fr'"):  # a real language MLQA lacks stays an error
        scorer.score_language("mlqa", tmp_path / "p.json", tmp_path / "l.json", "fr")
