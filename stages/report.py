"""Stage `report`: reports/report.tex from a jinja2 template, and reports/report.pdf via latexmk.

Profile, model, date and commit are on the title block; a tiny-profile report says plainly that its
numbers come from the synthetic world. Without a LaTeX engine the stage still writes the .tex and
says that the PDF was skipped and how to install the engine (the PDF is therefore not a DVC out).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from stages import config, data, tasks

REPORTS = Path("reports")
TEX_SPECIALS = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def tex(value) -> str:
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in str(value))


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


def render(params: config.Params, summary: dict, scores: dict) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), undefined=jinja2.StrictUndefined,
        block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True)
    env.filters["tex"] = tex
    scored = scores["scored"]  # task -> {split, languages}, in the benchmark's order
    targets = list(scored)
    base = summary["baseline"]
    columns = {t: [m for m in summary[t] if not m.startswith("avg_")] for t in targets}

    def per_language(block: dict, t: str) -> dict:
        """The per-language number behind a task's avg_metric: (EM+F1)/2 for QA, else its metric."""
        m = block[t]
        if "exact_match" in m:
            return {l: (m["exact_match"][l] + m["f1"][l]) / 2 for l in scored[t]["languages"]}
        return dict(m[columns[t][0]])

    overall = [k for k in ("all_task", *tasks.BENCHMARK_GROUPS[params.benchmark]) if k in summary]
    pretrain = Path("models/pretrained/pretrain_info.json")
    info = json.loads(pretrain.read_text()) if pretrain.exists() else {}
    model = (f"{info['model']} @ {info.get('revision')}" if info.get("kind") == "hub"
             else f"tiny XLM-R from scratch ({info.get('parameters', 0):,} parameters)")
    context = dict(
        profile=params.profile, intermediate=params.intermediate, targets=targets, eval_split=params.eval_split,
        benchmark=params.benchmark, benchmark_size=len(tasks.BENCHMARK_TARGETS[params.benchmark]),
        seed=params.seed, commit=git_commit(), date=dt.date.today().isoformat(), model=model,
        model_size=f"{info.get('parameters', 0) / 1e6:.1f}M-parameter",
        world_languages=", ".join(f"{l.name} ({c})" for c, l in tasks.WORLD_LANGUAGES.items() if c != "en"),
        ours=summary, base=base, gain=summary["gain"], scored=scored, columns=columns, overall=overall,
        missing=scores["missing_tasks"], commands=scores["commands"], variant=summary["variant"],
        headline_ours={t: per_language(summary, t) for t in targets},
        headline_base={t: per_language(base, t) for t in targets},
        params=[(k, v) for k, v in flatten(params.raw) if not k.startswith(
            "paper." if params.profile == "tiny" else "tiny.")])
    return env.get_template("report.tex.j2").render(**context)


def compile_pdf(tex_path: Path) -> str:
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        return ("PDF skipped: no LaTeX engine (latexmk + pdflatex) on this machine. Install it with "
                "`apt-get install texlive-latex-base texlive-latex-recommended latexmk`, then `dvc repro report`.")
    build = tex_path.parent / ".latex-build"
    build.mkdir(exist_ok=True)
    proc = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error",
                           f"-outdir={build}", str(tex_path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"latexmk failed on {tex_path}:\n{proc.stdout[-3000:]}")
    (build / "report.pdf").replace(tex_path.with_suffix(".pdf"))
    shutil.rmtree(build, ignore_errors=True)
    return f"PDF written: {tex_path.with_suffix('.pdf')}"


def main() -> None:
    params = config.load()
    summary = json.loads((REPORTS / "metrics.json").read_text())
    scores = json.loads((REPORTS / "scores.json").read_text())
    tex_path = REPORTS / "report.tex"
    data.atomic_write_text(tex_path, render(params, summary, scores))
    pdf = tex_path.with_suffix(".pdf")
    pdf.unlink(missing_ok=True)  # never leave a PDF from an earlier run beside a new .tex
    print(f"report: {tex_path}; {compile_pdf(tex_path)}")
