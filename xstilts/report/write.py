"""Stage `report` (stages/report.py): gathers this workspace's scores, the collected runs (reports/grid.json),
the claims and the families, judges, draws the figures and writes reports/report.tex (document.py renders)."""
from __future__ import annotations

import json
import shutil

from xstilts.claims import claims
from xstilts.core import io, paths
from xstilts.eval import headline
from xstilts.experiments import matching, results
from xstilts.report import document, figures, numbers


def write_report(params) -> None:
    """Stage `report`: reports/report.tex and its figures (and the PDF where LaTeX is installed)."""
    summary = headline.read_metrics()  # metrics.json with metrics_by_language.json merged back in
    scores = json.loads(paths.SCORES.read_text())
    reg = claims.registry()
    raw = results.params_raw()
    kept = results.read_grid()
    stale = [r.name for r in kept if r.stale]
    runs = [r for r in kept if not r.stale]
    here = results.workspace_run()  # this workspace's own experiment fills what the grid lacks
    if here is not None and not here.stale:
        runs.append(here)
    found, notes = matching.match(reg, runs, raw, params.profile)
    if stale:
        notes.append(f"left out, collected from older code: {', '.join(stale)} (rerun `xstilts grid`)")
    if params.profile == "paper":  # what the run read at a branch or ref (its bytes can change): named
        from xstilts.data import needs, pins
        loose = pins.unpinned(needs.run_needs(params))
        if loose:
            notes.append(f"sources not pinned to a commit: {', '.join(loose)} (`xstilts pin` writes the commits)")
    grid = numbers.Grid(reg, found, params.seeds)
    judged = numbers.judgements(reg, grid.evidence, params.seeds)
    # profile paper without CCGbank (licensed): the claims that need it say so instead of "not run"
    judged = claims.mark_ccgbank(judged, claims.ccgbank_missing(reg, raw, params.profile, list(reg.settings)))
    info = document.pretrain_info()
    if not document.judges_paper_claims(info, params.profile):
        judged = document.unjudged(judged, info)
        notes.insert(0, f"The paper's claims are not judged: this run's weights are "
                        f"{document.model_statement(info, params.model)}.")
    settings = [s for s in reg.settings if s != claims.BASELINE and grid.has(s)]
    shutil.rmtree(paths.FIGURES, ignore_errors=True)  # figures from an earlier grid never outlive it
    ready = bool(settings) and grid.has(claims.BASELINE)
    figures.heatmap(grid, settings if ready else [], paths.FIGURES / "gains_heatmap.pdf")
    figures.language_bars(grid, ([s for s in numbers.HEADLINE if grid.has(s)] or settings[:3]) if ready else [],
                          paths.FIGURES / "gains_per_language.pdf")
    drawn = {"heatmap": "figures/gains_heatmap.pdf", "languages": "figures/gains_per_language.pdf"}
    sections = figures.family_sections(reg, runs, raw, params)
    tex_path = paths.REPORTS / "report.tex"
    tex_path.with_suffix(".pdf").unlink(missing_ok=True)  # never leave a PDF from an earlier run beside a new .tex
    io.atomic_write_text(tex_path, document.render(params, summary, scores, grid, judged, notes, drawn, sections))
    print(f"report: {tex_path}; {document.compile_pdf(tex_path)}; claims: "
          + ", ".join(f"{v} {n}" for v, n in sorted(document.tally_of(judged).items())))
