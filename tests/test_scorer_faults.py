"""Faulty prediction and label files (issue 19, item 3): each is one XstiltsError (a FileFormatError)
whose one line names the file, the line (or JSON position, or question id), what was expected and
what was found; `xstilts score` exits 2 on it with that line and no traceback. QA questions without
a prediction, and predictions without a question, are scored as the official script scores them
and reported as notes.

Folders are the leaderboard layout, written by the pipeline's own writers (layout.write_labels,
layout.write_predictions) or rebuilt from the official mock data (test_scorer.build_mock), then
spoiled one fault at a time."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run
from test_scorer import build_mock, write_file

from xstilts.core.errors import XstiltsError
from xstilts.eval import layout, scorer
from xstilts.kinds import ScoreError, base
from xstilts.metrics import text as metrics

NLI = [{"id": str(i), "label": label} for i, label in
       enumerate(["entailment", "neutral", "contradiction", "neutral"])]
TAGGED = [{"id": "0", "tags": ["B-PER", "I-PER", "O"]}, {"id": "1", "tags": ["O", "B-LOC"]},
          {"id": "2", "tags": ["O"]}]
QUESTIONS = [{"id": f"q{i}", "context": f"w{i} x{i}", "question": "?", "answers": [{"text": f"x{i}", "start": 3}]}
             for i in range(1, 9)]


def folders(root: Path, task: str, rows: list[dict], preds, lang: str = "en") -> tuple[Path, Path, Path, Path]:
    """(predictions folder, labels folder, the predictions file, the labels file) of one language."""
    p, l = root / "p", root / "l"
    gold = layout.write_labels(task, l / task / f"test-{lang}", rows)
    pred = layout.write_predictions(task, p / task / f"test-{lang}", rows, preds)
    return p, l, pred, gold


def fault(p: Path, l: Path, task: str, lang: str = "en", benchmark: str = "xtreme") -> base.FileFormatError:
    """The error scoring the folders raises: an XstiltsError (so stages and the command print one
    line), a ScoreError (what callers already catch), a FileFormatError."""
    with pytest.raises(XstiltsError) as e:
        scorer.evaluate(p, l, benchmark, languages={task: (lang,)})
    assert isinstance(e.value, ScoreError) and isinstance(e.value, base.FileFormatError), type(e.value)
    assert "\n" not in str(e.value)
    return e.value


def score_command(p: Path, l: Path, lang: str = "en", benchmark: str = "xtreme", check_ok: bool = False):
    proc = run(["xstilts", "score", "--predictions", str(p), "--labels", str(l), "--benchmark", benchmark,
                "--languages", lang], p.parent, check=check_ok)
    return proc


def assert_command_fails_with(p: Path, l: Path, message: str, lang: str = "en", benchmark: str = "xtreme") -> None:
    proc = score_command(p, l, lang, benchmark)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {message}", proc.stderr


# --- not UTF-8 ----------------------------------------------------------------------------------
def test_latin1_tsv_names_file_line_and_byte(tmp_path):
    p, l, pred, _ = folders(tmp_path, "xnli", NLI, [r["label"] for r in NLI])
    pred.write_bytes("entailment\nneutral\ncontradiction\nneutr\xe9\n".encode("latin-1"))
    e = fault(p, l, "xnli")
    offset = len(b"entailment\nneutral\ncontradiction\nneutr")
    assert str(e) == (f"{pred}: line 4 (byte offset {offset}): expected UTF-8 text, "
                      f"found the byte 0xe9 (save the file as UTF-8)")
    assert_command_fails_with(p, l, str(e))


def test_latin1_gold_json_names_the_labels_file(tmp_path):
    p, l, _, gold = folders(tmp_path, "xquad", QUESTIONS, [q["answers"][0]["text"] for q in QUESTIONS])
    gold.write_bytes(gold.read_text(encoding="utf-8").replace('"?"', '"caf\xe9?"').encode("latin-1"))
    e = fault(p, l, "xquad")
    assert str(e).startswith(f"{gold}: line 1 (byte offset ") and "0xe9" in str(e)


# --- invalid JSON / JSONL -----------------------------------------------------------------------
def test_invalid_json_names_line_and_column(tmp_path):
    p, l, pred, _ = folders(tmp_path, "xquad", QUESTIONS, [q["answers"][0]["text"] for q in QUESTIONS])
    pred.write_text('{\n"q1": "x1",\n"q2": "x2"\n"q3": "x3"\n}', encoding="utf-8")  # a comma missing
    e = fault(p, l, "xquad")
    assert str(e) == f"""{pred}: line 4 column 1: expected JSON (Expecting ',' delimiter), found '"q3": "x3"\\n}}'"""
    assert_command_fails_with(p, l, str(e))


def test_invalid_jsonl_names_the_line(tmp_path):
    rows = [{"id": str(i), "label": i % 2} for i in range(3)]
    p, l, pred, _ = folders(tmp_path, "xcopa", rows, [0, 1, 0], lang="et")
    pred.write_text('{"label": 0}\n{"label": 1}\n{"label": 0\n', encoding="utf-8")
    e = fault(p, l, "xcopa", "et", "xtreme_r")
    assert str(e) == f"{pred}: line 3 column 12: expected JSON (Expecting ',' delimiter), found the end of the line"
    pred.write_text('{"label": 0}\n{"label": "1"}\n{"label": 0}\n', encoding="utf-8")  # would compare unequal to 1
    assert str(fault(p, l, "xcopa", "et", "xtreme_r")) == \
        f'{pred}: line 2: expected a choice index (an integer) under "label", found "1"'


# --- the number of lines -------------------------------------------------------------------------
def test_fewer_or_more_lines_than_the_gold_names_the_line(tmp_path):
    preds, labels = build_mock(tmp_path, {"pawsx"})
    pred, gold = preds / "pawsx/test-de.tsv", labels / "pawsx/test-de.tsv"
    n = len(gold.read_text(encoding="utf-8").splitlines())
    write_file(pred, "0\n1\n")
    e = fault(preds, labels, "pawsx", "de")
    assert str(e) == (f"{pred} has 2 lines, {gold} has {n}: expected one line per gold line; "
                      f"line 3 of {gold} has no prediction")
    write_file(pred, "0\n" * (n + 1))
    assert str(fault(preds, labels, "pawsx", "de")).endswith(f"line {n + 1} of {pred} has no gold counterpart")
    assert_command_fails_with(preds, labels, str(fault(preds, labels, "pawsx", "de")), lang="de")


# --- answers, columns, labels, tags --------------------------------------------------------------
@pytest.mark.parametrize("answer,found", [(None, "null"), (3, "3"), (["x2"], 'a list ["x2"]')])
def test_a_null_or_non_string_answer_names_the_question(tmp_path, answer, found):
    p, l, pred, _ = folders(tmp_path, "tydiqa", QUESTIONS, [q["answers"][0]["text"] for q in QUESTIONS])
    pred.write_text(json.dumps({"q1": "x1", "q2": answer}), encoding="utf-8")
    e = fault(p, l, "tydiqa")
    assert str(e) == f"{pred}: question 'q2': expected the answer text (a string), found {found}"
    if answer is None:
        assert_command_fails_with(p, l, str(e))


def test_a_tsv_line_with_more_columns_names_it(tmp_path):
    p, l, pred, _ = folders(tmp_path, "xnli", NLI, [r["label"] for r in NLI])
    pred.write_text("entailment\nneutral\tentailment\ncontradiction\nneutral\n", encoding="utf-8")
    e = fault(p, l, "xnli")
    assert str(e) == f"{pred}: line 2: expected one column (a label), found 2 tab-separated columns: " \
                     "'neutral\\tentailment'"
    assert_command_fails_with(p, l, str(e))
    # BUCC: exactly two columns, each an id
    qs = [{"kind": "query", "id": f"de-{i}", "text": "t", "relevant": [f"en-{i}"]} for i in range(3)]
    p, l, pred, _ = folders(tmp_path / "bucc", "bucc2018", qs, {(q["id"], q["relevant"][0]) for q in qs}, "de")
    pred.write_text("de-0\ten-0\nde-1\ten-1\tscore 0.9\nde-2\ten-2\n", encoding="utf-8")
    assert str(fault(p, l, "bucc2018", "de")) == (f"{pred}: line 2: expected two tab-separated ids "
                                                  "(<source id><TAB><English id>), found 3 columns: "
                                                  "'de-1\\ten-1\\tscore 0.9'")


def test_an_unknown_label_is_named_with_the_valid_ones(tmp_path):
    p, l, pred, _ = folders(tmp_path, "xnli", NLI, [r["label"] for r in NLI])
    pred.write_text("entailment\nneutral\ncontradictory\nneutral\n", encoding="utf-8")
    e = fault(p, l, "xnli")
    assert str(e) == (f"{pred}: line 3: expected one of xnli's labels (entailment, neutral, contradiction), "
                      "found 'contradictory'")
    assert_command_fails_with(p, l, str(e))


def test_an_unknown_tag_names_its_line(tmp_path):
    p, l, pred, _ = folders(tmp_path, "panx", TAGGED, [r["tags"] for r in TAGGED])
    pred.write_text("B-PER\nI-PER\nO\n\nO\nB-MISC\n\nO\n\n", encoding="utf-8")  # line 6
    e = fault(p, l, "panx")
    assert str(e) == (f"{pred}: line 6: expected one of panx's labels (O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, "
                      "I-LOC), found 'B-MISC'")


def test_a_tag_sequence_of_another_length_names_sentence_and_lines(tmp_path):
    p, l, pred, gold = folders(tmp_path, "panx", TAGGED, [r["tags"] for r in TAGGED])
    pred.write_text("B-PER\nI-PER\nO\n\nO\n\nO\n\n", encoding="utf-8")  # sentence 2 lost a tag
    e = fault(p, l, "panx")
    assert str(e) == f"{pred}: sentence 2 (line 5): expected 2 tags, as sentence 2 of {gold} (line 5), found 1"
    assert_command_fails_with(p, l, str(e))
    # a blank line missing between sentences 2 and 3: the count differs, and where is named
    pred.write_text("B-PER\nI-PER\nO\n\nO\nB-LOC\nO\n\n", encoding="utf-8")
    assert str(fault(p, l, "panx")) == (f"{pred}: sentence 2 (line 5): expected 2 tags, as sentence 2 of {gold} "
                                        f"(line 5), found 3 (2 sentences where {gold} has 3: a blank line ends each)")


# --- QA: unanswered questions and predictions for no question ------------------------------------
def test_missing_and_extra_qa_ids_are_scored_as_the_official_script_and_noted(tmp_path):
    answered = {"q1": "x1", "q2": "wrong"}                        # q3..q8 unanswered: 0 each
    p, l, pred, gold = folders(tmp_path, "xquad", QUESTIONS, [q["answers"][0]["text"] for q in QUESTIONS])
    pred.write_text(json.dumps({**answered, "z1": "x", "z2": "y"}), encoding="utf-8")
    out, info = scorer.evaluate(p, l, "xtreme", languages={"xquad": ("en",)})
    # the official v1.1 loop: every gold question in the denominator, the unanswered ones score 0
    official = metrics.squad_v1({q["id"]: [q["answers"][0]["text"]] for q in QUESTIONS}, answered)
    assert out["xquad"]["exact_match"]["en"] == official["exact_match"] == 100 / 8
    assert out["xquad"]["f1"]["en"] == official["f1"]
    assert info["notes"] == [
        f"{pred}: 6 of 8 questions of {gold} have no prediction, scored 0 as the official script does: "
        "'q3', 'q4', 'q5', 'q6', 'q7' and 1 more",
        f"{pred}: 2 predicted questions are not in {gold}, ignored: 'z1', 'z2'"]
    # `xstilts score` prints the same numbers on stdout and the notes on stderr
    proc = score_command(p, l, check_ok=True)
    assert json.loads(proc.stdout)["xquad"]["exact_match"]["en"] == 100 / 8
    assert [f"note: {n}" for n in info["notes"]] == [x for x in proc.stderr.splitlines() if "question" in x]


def test_complete_qa_predictions_have_no_notes(tmp_path):
    p, l, _, _ = folders(tmp_path, "mlqa", QUESTIONS, [q["answers"][0]["text"] for q in QUESTIONS])
    out, info = scorer.evaluate(p, l, "xtreme", languages={"mlqa": ("en",)})
    assert out["mlqa"]["avg_metric"] == 100.0 and info["notes"] == []


def test_the_score_stage_prints_notes_and_keeps_them_in_scores_json(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from xstilts.core import io, paths
    from xstilts.eval import intervals
    from xstilts.eval import summary as summaries
    monkeypatch.chdir(tmp_path)  # no pipeline outputs to lean on: the scorer and the intervals are faked
    monkeypatch.setattr(intervals, "gain_intervals", lambda *a, **k: {})
    notes = ["data/predictions/intermediate/xquad/dev-en.json: 1 of 2 questions ... have no prediction"]
    info = {"scored": {"xquad": {"split": "test", "languages": ["en"]}}, "missing_tasks": [], "notes": notes}
    block = {"xquad": {"avg_metric": 50.0}}
    monkeypatch.setattr(summaries.scorer, "evaluate", lambda *a, **k: (block, info))
    monkeypatch.setattr(summaries, "variant", lambda params: {"profile": "tiny"})
    params = SimpleNamespace(profile="tiny", benchmark="xtreme", intermediate="mnli", seed=1, eval_split="dev",
                             active_targets=["xquad"], languages=[], target_languages=lambda t: ("en",))
    written = {}
    monkeypatch.setattr(io, "atomic_write_text", lambda path, text: written.__setitem__(path, text))
    summaries.write_scores(params)
    scores = json.loads(written[paths.SCORES])
    assert scores["notes"] == notes * 4  # both arms, both splits (each note names its own file)
    assert scores["scored"] == info["scored"] and scores["missing_tasks"] == [] and scores["profile"] == "tiny"
    assert f"note: {notes[0]}" in capsys.readouterr().err


def test_a_faulty_file_in_the_score_stage_is_one_line_no_traceback(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from xstilts.core import stage
    p, l, pred, _ = folders(tmp_path, "xnli", NLI, [r["label"] for r in NLI])
    pred.write_text("entailment\nneutral\nLABEL_2\nneutral\n", encoding="utf-8")
    monkeypatch.setattr(stage.config, "load", lambda: SimpleNamespace(profile="paper"))  # no params.yaml needed
    monkeypatch.setattr(stage.checks, "run", lambda params: SimpleNamespace(errors=[]))
    with pytest.raises(SystemExit) as e:
        stage.run(lambda params: scorer.evaluate(p, l, "xtreme", languages={"xnli": ("en",)}))
    assert e.value.code == 2
    assert capsys.readouterr().err == (f"error: {pred}: line 3: expected one of xnli's labels (entailment, neutral, "
                                       "contradiction), found 'LABEL_2'\n")


def test_a_failing_score_stage_says_dvc_removed_the_tracked_metrics(tmp_path, monkeypatch, capsys):
    """DVC deletes a stage's outputs before running it: a score stage that fails leaves the git-tracked
    reports/metrics.json deleted, and says so, with the command that brings it back."""
    from types import SimpleNamespace

    from xstilts.eval import summary as summaries
    monkeypatch.chdir(tmp_path)

    def broken(params):
        raise summaries.scorer.ScoreError("data/predictions/intermediate/xnli/test-en.tsv: line 3: bad")
    monkeypatch.setattr(summaries, "build", broken)
    with pytest.raises(Exception, match="line 3"):
        summaries.write_scores(SimpleNamespace())
    err = capsys.readouterr().err
    assert "DVC removed reports/metrics.json" in err and "git checkout -- reports/metrics.json" in err


def test_the_score_stage_scores_only_the_listed_targets(tmp_path, monkeypatch):
    """A target folder an earlier run left behind (the full list ran, then `finetune_targets` was narrowed,
    in a copied or moved workspace where DVC's checkout no longer knew to remove it) is not scored: it
    made the stage fail on a language the narrowed run never predicted."""
    import shutil
    from types import SimpleNamespace

    from xstilts.eval import summary as summaries
    monkeypatch.chdir(tmp_path)
    preds, labels = build_mock(tmp_path / "mock", {"xnli", "udpos"})
    for folder in (*preds.rglob("test-*"), *labels.rglob("test-*")):  # the dev split, as the pipeline writes it
        shutil.copy(folder, folder.with_name(folder.name.replace("test-", "dev-")))
    for arm in ("baseline", "intermediate"):
        shutil.copytree(preds, tmp_path / "data/predictions" / arm)
    shutil.copytree(labels, tmp_path / "data/labels")
    for stale in (tmp_path / "data/predictions/baseline/xnli").glob("*-sw.tsv"):  # the left-behind run's languages
        stale.unlink()
    monkeypatch.setattr(summaries, "variant", lambda params: {"profile": "paper"})
    params = SimpleNamespace(profile="paper", benchmark="xtreme", intermediate="none", seed=1, eval_split="dev",
                             active_targets=["udpos"], languages=[],
                             target_languages=lambda task: scorer.official_languages(task, "xtreme"))
    head, by_language, scores, by_split = summaries.build(params)
    assert scores["scored"] == {"udpos": {"split": "dev", "languages": list(scorer.official_languages(
        "udpos", "xtreme", "dev"))}}
    assert "xnli" in scores["missing_tasks"] and "xnli" not in by_language and "udpos" in by_language
