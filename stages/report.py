"""Stage `report`: reports/report.tex (jinja2) and reports/report.pdf (latexmk, when installed), from
this workspace's scores (reports/metrics.json, scores.json), the collected runs (reports/grid.json:
`xstilts grid`, `claim`, `collect`), the claims registry and the families; with the figures under
reports/figures/. xstilts/report/ renders; this stage gathers and writes."""
from xstilts.core import stage
from xstilts.report.write import write_report

if __name__ == "__main__":
    stage.run(write_report)
