"""Stage `report`'s document: reports/report.tex from the jinja2 template (templates/report.tex.j2),
and reports/report.pdf; the numbers it shows are xstilts/report/numbers.py's, its figures figures.py's.

Inputs: the collected runs (reports/grid.json, written by `xstilts grid`, `claim` or `collect`),
the claims registry, and this workspace's own experiment (reports/metrics.json, scores.json).
Contents: a title block with profile, model, date and commit (a tiny-profile report says plainly
what its rehearsal does and does not show); the final version's claims with paper value,
reproduced value, difference, verdict and the runs behind each number; v1's Table 2 of gains as one
table per target, the paper's cell beside ours (numbers.beside_paper, packed into lines of the page
by table_lines); a heatmap of those gains and a per-language bar chart (matplotlib, vector PDF in
reports/figures/); per-language tables; one section per research-question family (families.yaml:
its table, its figure and its answer in one sentence computed from the numbers); the workspace
experiment; every registered claim; the provenance of every run; the parameters. Tables wider than
the line are scaled to it (\\fitwidth in the template).
With several seeds (`seeds`), cells read mean ± std and claims show a bootstrap interval.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from xstilts.claims import claims, judge
from xstilts.core import config, paths, tasks
from xstilts.experiments import cost
from xstilts.report.numbers import HEADLINE, XTREME, Grid, beside_paper, fmt, pack_rows, per_language, shown

TEMPLATES = Path(__file__).resolve().parent / "templates"


TEX_SPECIALS = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                "<": r"\textless{}", ">": r"\textgreater{}", "±": r"$\pm$", "Δ": r"$\Delta$", "−": "-",
                "≥": r"$\geq$", "≤": r"$\leq$", "→": r"$\rightarrow$", "×": r"$\times$", "§": r"\S{}"}


def tex(value) -> str:
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in str(value))


def tt(value) -> str:
    """For \\texttt: the typewriter font's own underscore glyph (OT1's \\_ is a drawn rule, which PDF
    text extraction reads as a space), so ids like v1-anli_plus-xnli survive copy and paste."""
    return tex(value).replace(r"\_", r"\char95{}")


def flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows.extend(flatten(v, key + "."))
        else:
            rows.append((key, json.dumps(v) if not isinstance(v, str) else v))
    return rows


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return out.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- the document ----------------------------------------------------------------------------------
def render(params: config.Params, summary: dict, scores: dict, grid: Grid, judged: list, notes: list[str],
           figures: dict, sections: list[dict] | None = None) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
        block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True)
    env.filters["tex"] = tex
    env.filters["tt"] = tt
    env.globals.update(fmt=fmt, header_rows=header_rows)
    scored = scores["scored"]  # task -> {split, languages}, in the benchmark's order
    targets = list(scored)
    base = summary["baseline"]
    columns = {t: [m for m in summary[t] if not m.startswith("avg_")] for t in targets}
    overall = [k for k in ("all_task", *tasks.BENCHMARK_GROUPS[params.benchmark]) if k in summary]
    info = pretrain_info()
    model = model_statement(info, params.model)
    sections = sections or []
    runs = [(grid.run_index[r.commit], r, ", ".join(f"{s}@{seed}" for s, by in grid.found.items()
                                                    for seed, rr in by.items() if rr is r)) for r in grid.runs]
    index = dict(grid.run_index)
    for sec in sections:  # family runs that no claim setting uses join the provenance table
        for label, seed, run in sec["runs"]:
            tag = f"{sec['section'].family.id}:{label}@{seed}"
            if run.commit in index:
                k = index[run.commit] - 1
                runs[k] = (runs[k][0], runs[k][1], f"{runs[k][2]}, {tag}" if runs[k][2] else tag)
            else:
                index[run.commit] = len(runs) + 1
                runs.append((len(runs) + 1, run, tag))
    for sec in sections:
        sec["refs"] = ",".join(str(i) for i in sorted({index[r.commit] for _, _, r in sec["runs"]}))
        sec["cost"] = hours_phrase([r for _, _, r in sec["runs"]])
    by_commit = {r.commit: r for _, r, _ in runs}
    raw = v1_table2()
    order = [s for s in (claims.BASELINE, *raw["deltas"]) if s in grid.reg.settings]
    order += [s for s in grid.reg.settings if s not in order]
    rows = [s for s in order if grid.has(s)]
    final = [shown(j) for j in judged if not j.claim.id.startswith("v1")]
    context = dict(
        profile=params.profile, intermediate=params.intermediate, targets=targets, eval_split=params.eval_split,
        benchmark=params.benchmark, benchmark_size=len(tasks.BENCHMARK_TARGETS[params.benchmark]),
        seed=params.seed, seeds=grid.seeds, commit=git_commit(), date=dt.date.today().isoformat(), model=model,
        model_size=f"{info.get('parameters', 0) / 1e6:.1f}M-parameter",
        world_languages=", ".join(f"{l.name} ({c})" for c, l in tasks.WORLD_LANGUAGES.items() if c != "en"),
        ours=summary, base=base, gain=summary["gain"], scored=scored, columns=columns, overall=overall,
        missing=scores["missing_tasks"], commands=scores["commands"], variant=summary["variant"],
        headline_ours={t: per_language(summary, t) for t in targets},
        headline_base={t: per_language(base, t) for t in targets},
        final=final, all_claims=[{**shown(j), "refs": grid.refs(j),
                     "hours": claim_hours(j, by_commit)} for j in judged], tally=tally_of(judged),
        final_refs={j.claim.id: grid.refs(j) for j in judged},
        cost=CostView([r for _, r, _ in runs]),
        rows=rows, grid=grid, beside=table_lines(beside_paper(grid, dict(raw["rows"]), rows)),
        headline=[s for s in HEADLINE if grid.has(s)], xtreme=XTREME, figures=figures, notes=notes,
        runs=runs, sections=sections, model_name=params.model,
        n_settings=len([s for s in grid.reg.settings]), n_claims=len(judged),
        params=[(k, v) for k, v in flatten(params.raw) if not k.startswith(
            "paper." if params.profile == "tiny" else "tiny.")])
    return env.get_template("report.tex.j2").render(**context)


def header_rows(header: list[str]) -> dict:
    """A family table's header in two rows, so that it fits the page: consecutive columns whose names
    share a prefix before ": " or ", " ("English-only: gain", "English-only: low-res. gain") get it once,
    spanning them, above what tells them apart. {"top": [(text, first, last)] (1-based columns, ""
    where nothing spans), "bottom": [text per column]}; top is empty when no columns group."""
    def split(h: str) -> tuple[str, str]:
        for sep in (": ", ", "):
            if sep in h:
                head, tail = h.split(sep, 1)
                return head, tail
        return "", h
    parts = [split(h) for h in header]
    top: list[tuple[str, int, int]] = []
    for k, (head, _) in enumerate(parts, start=1):
        if top and head and top[-1][0] == head:
            top[-1] = (head, top[-1][1], k)
        else:
            top.append((head, k, k))
    if all(first == last for _, first, last in top):  # nothing shared: one row, as named
        return {"top": [], "bottom": list(header)}
    # a prefix on a single column stays in its name
    grouped = {k for _, first, last in top if first != last for k in range(first, last + 1)}
    return {"top": [(t if first != last else "", first, last) for t, first, last in top],
            "bottom": [parts[k - 1][1] if k in grouped else h for k, h in enumerate(header, start=1)]}


def table_lines(blocks: list[dict], width_pt: float = 500.0, gap_pt: float = 7.0) -> list[list[dict]]:
    """Side-by-side tables packed into lines of the page (\\textwidth: 500pt), a new line when the next
    table would not fit. A table's width is estimated from its longest cells at \\scriptsize with
    2.5pt of column separation: 3.7pt per typewriter character, 3.5pt per digit or sign, a number
    column never narrower than its header (measured on the rendered report: 113pt for one metric)."""
    def width(block: dict) -> float:
        name = max(len(s) for s, _ in block["rows"]) * 3.7 + 5
        cells = [max(len(c[k][side].replace("$\\pm$", "±")) for _, c in block["rows"]) for k in
                 range(len(block["metrics"])) for side in range(2)]
        return name + sum(max(n, 5) * 3.5 + 5 for n in cells)
    return pack_rows(blocks, width, width_pt, gap_pt)


class CostView:
    """The cost appendix: measured device-hours per run (xstilts/experiments/cost.py), their total, the estimate."""

    def __init__(self, runs: list):
        total, self.measured, _ = cost.measured_hours(runs)
        self.total = cost.hours_text(total)
        estimates = [cost.run_estimate(r.params) for r in runs]
        self.estimate = cost.hours_text(sum(e for e in estimates if e is not None)) if any(
            e is not None for e in estimates) else ""

    @staticmethod
    def hours(run) -> str:
        c = run.provenance.get("cost")
        return cost.hours_text(c["device_hours"]) if c else "--"

    @staticmethod
    def devices(run) -> str:
        c = run.provenance.get("cost")
        return ", ".join(c["devices"]) if c else "--"

    @staticmethod
    def estimate_of(run) -> str:
        e = cost.run_estimate(run.params)
        return "--" if e is None else cost.hours_text(e)


def hours_phrase(runs: list) -> str:
    total, n, of = cost.measured_hours(runs)
    return f"{cost.hours_text(total)} device-hours ({n} of {of} runs measured)"


def claim_hours(j: judge.Judgement, by_commit: dict) -> str:
    """Device-hours of the distinct runs behind a claim's number; -- when none was measured."""
    runs = [by_commit[p["commit"]] for p in j.provenance if p["commit"] in by_commit]
    total, n, _ = cost.measured_hours(runs)
    return cost.hours_text(total) if n else "--"


def pretrain_info() -> dict:
    return json.loads(paths.PRETRAIN_INFO.read_text()) if paths.PRETRAIN_INFO.exists() else {}


def model_statement(info: dict, model: str) -> str:
    """What the weights behind the numbers really were (models/pretrained/pretrain_info.json), not
    what params.yaml asked for: the Hub commit or a local copy, the encoder's parameter count, and
    whether that is the registry's model."""
    name = info.get("name", model)
    if info.get("kind") in ("hub", "local"):
        where = f"{info['model']} @ {(info.get('commit') or info.get('revision') or '?')[:12]} from the Hub" \
            if info["kind"] == "hub" else f"a local copy of {info['model']} (no Hub commit)"
        size = f"{info.get('parameters', 0) / 1e6:,.2f}M encoder parameters"
        verdict = "the registry's model" if info.get("matches_registry", True) else \
            "NOT the registry's model: " + "; ".join(info.get("differences", []))
        return f"{name}: {where}, {size}, {verdict}"
    if not info:
        return f"{name} (no models/pretrained/pretrain_info.json: what was loaded is unknown)"
    return (f"{name}, {info.get('arch', 'xlmr')}-shaped, from scratch "
            f"({info.get('parameters', 0):,} encoder parameters)")


def judges_paper_claims(info: dict, profile: str) -> bool:
    """The paper's claims are judged on the paper's models only: in profile paper, weights that are
    not their registry entry (a random-weight fixture, another checkpoint) get no verdict. Profile
    tiny judges its synthetic numbers, under the report's banner that they are not the paper's."""
    return profile == "tiny" or (info.get("kind") == "hub" and info.get("matches_registry", True))


def unjudged(judged: list, info: dict) -> list:
    """Every claim marked 'not judged', with the reason in its detail."""
    import dataclasses
    why = ("the weights are not the registry's model (" + "; ".join(info.get("differences", [])) + ")"
           if info.get("differences") else "no Hub checkpoint of the registry's model was loaded")
    return [dataclasses.replace(j, verdict="not judged", detail={**j.detail, "not_judged": why}) for j in judged]


def v1_table2() -> dict:
    """v1's Table 2 as printed (claims.yaml), for the side-by-side table."""
    import yaml
    t2 = yaml.safe_load(claims.CLAIMS_FILE.read_text())["v1_table2"]
    rows = [(s, v) for s, v in {**t2["absolute"], **t2["deltas"]}.items()]
    return {"rows": rows, "deltas": list(t2["deltas"])}


LATEX_INSTALL = ("apt-get install texlive-latex-base texlive-latex-recommended latexmk (bash .ci/setup does, "
                 "as root)")


def compile_pdf(tex_path: Path) -> str:
    """reports/report.pdf from the .tex with latexmk, or, without a LaTeX engine, a line saying how to get
    it. The PDF is a rendering of the .tex (which DVC tracks), not a DVC output: a machine without LaTeX
    (a cluster node running an experiment) still completes the stage."""
    pdf = tex_path.with_suffix(".pdf")
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        return (f"no PDF: no LaTeX engine (latexmk + pdflatex) here; {LATEX_INSTALL}, then "
                f"`latexmk -pdf -cd {tex_path}` writes {pdf}")
    build = tex_path.parent / ".latex-build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    # run beside the .tex, so that its figures/ paths resolve
    proc = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           f"-outdir={build.name}", tex_path.name], capture_output=True, text=True, cwd=tex_path.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"latexmk failed on {tex_path}:\n{proc.stdout[-3000:]}")
    (build / "report.pdf").replace(pdf)
    shutil.rmtree(build, ignore_errors=True)
    return f"PDF written: {pdf}"


def tally_of(judged) -> dict[str, int]:
    out: dict[str, int] = {}
    for j in judged:
        out[j.verdict] = out.get(j.verdict, 0) + 1
    return out
