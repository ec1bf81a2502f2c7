"""The report read as a reader: the paper's Table 2 beside ours in one table per target, family tables
and every other line within the page's width, figure tick labels that never overlap (40 PAN-X
languages; models of about one size), and a tiny-profile banner that says what a rehearsal shows."""
import re
import shutil
import subprocess
import types

import pytest
from test_report import workspace  # noqa: F401  (the fixture: hand-made runs in a temporary workspace)

from xstilts.claims import claims
from xstilts.core import tasks
from xstilts.experiments import matching, results
from xstilts.report import document, figures, numbers


def _write(monkeypatch, pdf: bool = False) -> str:
    from xstilts.core import config
    from xstilts.report.write import write_report
    if not pdf:
        monkeypatch.setattr(document, "compile_pdf", lambda path: "no PDF (test)")
    write_report(config.load())
    return open("reports/report.tex").read()


def _grid() -> numbers.Grid:
    reg = claims.registry()
    found, _ = matching.match(reg, results.read_grid(), results.params_raw(), "tiny")
    return numbers.Grid(reg, found, [1234])


# --- the paper beside ours ---------------------------------------------------------------------
def test_one_table_per_target_with_the_papers_cell_beside_ours(workspace, monkeypatch):  # noqa: F811
    blocks = numbers.beside_paper(_grid(), dict(document.v1_table2()["rows"]), ["baseline", "squad", "hellaswag"])
    assert [b["title"] for b in blocks] == ["XNLI", "PAWS-X", "POS", "NER", "XQuAD", "MLQA", "TyDiQA", "BUCC",
                                            "Tatoeba", "Avg."]
    by = {b["title"]: b for b in blocks}
    assert by["XQuAD"]["metrics"] == ["F1", "EM"] and by["XNLI"]["metrics"] == [""]
    rows = {s: cells for s, cells in by["XNLI"]["rows"]}
    # v1's Table 2 prints squad's XNLI gain as -1.4; ours is 58 - 45 = +13.0; the baseline row is a score
    assert rows["squad"] == [("-1.4", "+13.0")] and rows["baseline"] == [("80.1", "45.0")]
    assert rows["qqp"] == [("-1.4", "--")]                      # in the paper, not run here
    assert dict(by["NER"]["rows"])["hellaswag"] == [("-1.0", "--")]   # hellaswag's runs lack PAN-X
    assert dict(by["XQuAD"]["rows"])["squad"] == [("+1.1", "+13.0"), ("+1.3", "+13.0")]
    assert dict(by["Avg."]["rows"])["squad"] == [("+8.3", "+13.0")]

    tex = _write(monkeypatch)
    section = tex.split(r"\section{Intermediate task")[1].split(r"\begin{figure}")[0]
    assert "The paper (arXiv v1" not in section and r"\caption*" not in section   # no second table below
    tables = section.split(r"\begin{tabular}")[1:]
    assert len(tables) == 10
    for table, block in zip(tables, blocks):
        assert rf"\textbf{{{document.tex(block['title'])}}}" in table
        assert table.count("& Paper & Ours") == len(block["metrics"])
    assert r"\texttt{squad} & -1.4 & +13.0 \\" in tables[0]


def test_side_by_side_tables_are_packed_into_lines_of_the_page():
    def block(metrics, ours="+1.0"):
        return {"title": "t", "metrics": metrics, "rows": [("commonsenseqa_mlm", [("+20.1", ours)] * len(metrics))]}
    one, qa = block([""]), block(["F1", "EM"])
    layout = document.table_lines([one] * 4 + [qa] * 3 + [one] * 3)
    assert [len(line) for line in layout] == [4, 3, 3]
    # several seeds: "+14.5$\pm$2.1" cells are wider, so fewer tables share a line
    wide = block([""], "+14.5$\\pm$2.1")
    assert max(len(line) for line in document.table_lines([wide] * 4)) < 4


# --- within the page's width -------------------------------------------------------------------
def test_family_headers_group_shared_prefixes():
    head = document.header_rows(["examples", "English-only: gain", "English-only: low-res. gain",
                                 "4-language: gain", "4-language: low-res. gain"])
    assert head["top"] == [("", 1, 1), ("English-only", 2, 3), ("4-language", 4, 5)]
    assert head["bottom"] == ["examples", "gain", "low-res. gain", "gain", "low-res. gain"]
    head = document.header_rows(["model", "params (M)", "gain, squad_v1", "gain, multitask", "multi minus single"])
    assert head["top"][2] == ("gain", 3, 4) and head["bottom"][2:] == ["squad_v1", "multitask", "multi minus single"]
    assert document.header_rows(["model", "high", "low"]) == {"top": [], "bottom": ["model", "high", "low"]}


def test_nothing_in_the_report_is_wider_than_the_page(workspace, monkeypatch):  # noqa: F811
    if not shutil.which("pdflatex"):
        pytest.skip("no LaTeX engine: bash .ci/setup installs it")
    tex = _write(monkeypatch)
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                          cwd=workspace / "reports", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (workspace / "reports/report.log").read_text(errors="replace")
    # before: the rq-data-size-diversity table ran 94pt past the margin, the per-target Table 2
    # 67pt, names in the notes and the not-run lists up to 70pt
    wide = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert [w for w in wide if w > 1.0] == []
    assert tex.count(r"\fitwidth{") >= 5 + 3   # every family table, every line of the Table 2 tables


# --- figures -----------------------------------------------------------------------------------
def _captured(monkeypatch) -> list:
    figs = []

    def keep(fig, path):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        fig.canvas.draw()
        figs.append(fig)
    monkeypatch.setattr(figures, "_save", keep)
    return figs


def _overlaps(fig) -> int:
    renderer = fig.canvas.get_renderer()
    n = 0
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
        n += sum(1 for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b))
    return n


def test_per_language_tick_labels_never_overlap(monkeypatch, tmp_path):
    """Profile paper's languages (PAN-X 40, Tatoeba 36, UD-POS 33): the old 3 x 3 grid drew them on top
    of one another (106 overlapping pairs); each panel is now as wide as its labels need."""
    langs = {t: list(tasks.TASKS[t].languages_for("paper", "xtreme")) for t in figures.XTREME}
    assert len(langs["panx"]) == 40
    grid = types.SimpleNamespace(languages=lambda s, t: {l: float(i % 5 - 2) for i, l in enumerate(langs[t])})
    figs = _captured(monkeypatch)
    figures.language_bars(grid, ["squad", "mnli", "hellaswag"], tmp_path / "bars.pdf")
    (fig,) = figs
    assert _overlaps(fig) == 0
    panx = next(ax for ax in fig.axes if ax.get_title() == "panx")
    assert len(panx.get_xticklabels()) == 40 and panx.get_position().width > 0.5   # a wide panel of its own
    assert fig.get_size_inches()[1] <= 11   # still one page

    # the tiny world's six languages: three panels a row, labels upright in none
    tiny = types.SimpleNamespace(languages=lambda s, t: {l: 1.0 for l in ("en", "qa", "qb", "qc", "qd", "qe")})
    figures.language_bars(tiny, ["mnli"], tmp_path / "tiny.pdf")
    assert [len(r) for r in figures.panel_rows({t: 6 for t in figures.XTREME})] == [3, 3, 3]
    assert _overlaps(figs[1]) == 0 and all(t.get_rotation() == 0 for t in figs[1].axes[0].get_xticklabels())


def test_models_of_about_one_size_share_a_tick(monkeypatch, tmp_path):
    """rq-low-resource-scale on profile paper: xlm-roberta-base (278M) and mt5-base (277M), and
    xlm-roberta-large (560M) and mt5-large (564M), sit at one x each: their labels were drawn over
    each other."""
    sizes = {"mt5-small": 147.0, "mt5-base": 277.0, "xlm-roberta-base": 278.0, "xlm-roberta-large": 560.0,
             "mt5-large": 564.0}
    names = [(x, f"{m}\n{x:.3g}M") for m, x in sizes.items()]
    ticks = figures.size_ticks(names, log=True)
    assert [label for _, label in ticks] == ["mt5-small\n147M", "mt5-base 277M\nxlm-roberta-base 278M",
                                             "xlm-roberta-large 560M\nmt5-large 564M"]
    tiny = [(0.2, "tiny-xlmr-s\n0.2M"), (1.0, "tiny-xlmr\n1M"), (2.9, "tiny-xlmr-l\n2.9M")]
    assert figures.size_ticks(tiny, log=True) == tiny   # apart: one tick each, as named
    spec = {"kind": "line", "x_label": "encoder parameters (M)", "x_log": True, "y_label": "points",
            "x_names": names, "series": {"gap": [(x, 1.0, 0.1) for x, _ in names]}}
    section = types.SimpleNamespace(figure=spec, family=types.SimpleNamespace(id="rq-low-resource-scale"),
                                    profile="paper")
    figs = _captured(monkeypatch)
    figures.family_figure(section, tmp_path / "family.pdf")
    assert _overlaps(figs[0]) == 0


# --- the tiny banner ---------------------------------------------------------------------------
def test_the_tiny_banner_says_what_the_rehearsal_shows_and_what_it_does_not(workspace, monkeypatch):  # noqa: F811
    tex = _write(monkeypatch)
    banner = " ".join(tex.split(r"\fbox{")[1].split(r"\end{center}")[0].split())
    assert "not the paper's" in banner
    for said in ("every stage", "synthetic world", "from scratch on CPU", "What it shows:", "zero-shot transfer",
                 "intermediate-task training", "What it does not show:", "the paper's numbers", "XLM-R large",
                 "only profile \\texttt{paper} tests that"):
        assert said in banner, said
