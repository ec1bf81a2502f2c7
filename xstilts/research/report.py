"""Stage `report`: reports/report.tex from a jinja2 template, its figures, and reports/report.pdf.

Inputs: the collected runs (reports/grid.json, written by `xstilts grid`, `claim` or `collect`),
the claims registry, and this workspace's own experiment (reports/metrics.json, scores.json).
Contents: a title block with profile, model, date and commit (a tiny-profile report says plainly
that its numbers come from the synthetic world); the final version's claims with paper value,
reproduced value, difference, verdict and the runs behind each number; the intermediate x target
table of gains in the layout of v1's Table 2 (beside the paper's); a heatmap of those gains and a
per-language bar chart (matplotlib, vector PDF in reports/figures/); per-language tables; one
section per research-question family (families.yaml: its table, its figure and its answer in one
sentence computed from the numbers); the workspace experiment; every registered claim; the
provenance of every run; the parameters.
With several seeds (`seeds`), cells read mean ± std and claims show a bootstrap interval.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from xstilts.core import config, paths, tasks
from xstilts.research import answers, claims, cost, families, judge, results

REPORTS = paths.REPORTS


FIGURES = paths.FIGURES


TEX_SPECIALS = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                "<": r"\textless{}", ">": r"\textgreater{}", "±": r"$\pm$", "Δ": r"$\Delta$", "−": "-",
                "≥": r"$\geq$", "≤": r"$\leq$", "→": r"$\rightarrow$", "×": r"$\times$", "§": r"\S{}"}


# v1's Table 2 columns: (label, target, metric)
COLUMNS = [("XNLI", "xnli", "avg_metric"), ("PAWS-X", "pawsx", "avg_metric"), ("POS", "udpos", "avg_metric"),
           ("NER", "panx", "avg_metric"), ("XQuAD F1", "xquad", "avg_f1"), ("EM", "xquad", "avg_exact_match"),
           ("MLQA F1", "mlqa", "avg_f1"), ("EM", "mlqa", "avg_exact_match"), ("TyDiQA F1", "tydiqa", "avg_f1"),
           ("EM", "tydiqa", "avg_exact_match"), ("BUCC", "bucc2018", "avg_metric"), ("Tatoeba", "tatoeba", "avg_metric")]


XTREME = list(tasks.BENCHMARK_TARGETS["xtreme"])


HEADLINE = ("squad", "mnli", "hellaswag")   # the final version's three headline settings


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


def per_language(result: dict, task: str) -> dict[str, float]:
    """The per-language number behind a task's avg_metric: (EM+F1)/2 for QA, else its metric."""
    m = result[task]
    if "exact_match" in m:
        return {l: (m["exact_match"][l] + m["f1"][l]) / 2 for l in m["f1"]}
    return dict(m[next(k for k in m if not k.startswith("avg_"))])


def fmt(value, signed: bool = False, std: float | None = None) -> str:
    if value is None:
        return "--"
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    return text + (f"$\\pm${std:.1f}" if std is not None else "")


# --- the numbers -----------------------------------------------------------------------------------
class Grid:
    """The collected runs, matched to the registry's settings, with helpers the template calls."""

    def __init__(self, reg: claims.Registry, found: dict, seeds: list[int]):
        self.reg, self.found, self.seeds = reg, found, seeds
        self.evidence = results.evidence(found)
        self.runs = results.grid_runs(found)
        self.run_index = {r.commit: i + 1 for i, r in enumerate(self.runs)}

    def has(self, setting: str) -> bool:
        return all(seed in self.found.get(setting, {}) for seed in self.seeds)

    def cell(self, setting: str, target: str, metric: str = "avg_metric", split: str = "dev"):
        """(mean, std) of the setting's gain (baseline: its score) over the seeds, or (None, None)."""
        if setting == claims.BASELINE:
            rule = {"kind": "score", "setting": setting, "target": target, "metric": metric, "split": split}
        else:
            rule = {"kind": "gain", "setting": setting, "target": target, "metric": metric, "split": split}
        return self._measure(rule, setting)

    def average(self, setting: str, split: str = "dev"):
        kind = "score_avg" if setting == claims.BASELINE else "gain_avg"
        return self._measure({"kind": kind, "setting": setting, "targets": XTREME, "split": split}, setting)

    def _measure(self, rule: dict, setting: str):
        settings = (claims.BASELINE, setting)
        if judge.missing_runs(settings, self.evidence, self.seeds):
            return None, None
        try:
            outcome, std = judge.measure(rule, settings, self.evidence, self.seeds)
        except judge.MissingNumber:
            return None, None
        return outcome.value, std

    def languages(self, setting: str, target: str) -> dict[str, float]:
        """Per-language gain of a setting on a target (dev), averaged over the seeds; {} when not run."""
        sums: dict[str, float] = {}
        for seed in self.seeds:
            run = self.found[setting][seed]
            base = self.found[claims.BASELINE][seed]
            if target not in run.by_split["dev"]["intermediate"] or target not in base.by_split["dev"]["baseline"]:
                return {}
            ours = per_language(run.by_split["dev"]["intermediate"], target)
            theirs = per_language(base.by_split["dev"]["baseline"], target)
            for l, v in ours.items():
                sums[l] = sums.get(l, 0.0) + (v - theirs[l]) / len(self.seeds)
        return sums

    def refs(self, judgement: judge.Judgement) -> str:
        idx = sorted({self.run_index[p["commit"]] for p in judgement.provenance if p["commit"] in self.run_index})
        return ",".join(map(str, idx))


def judgements(reg: claims.Registry, evidence, seeds: list[int]) -> list[judge.Judgement]:
    return [judge.judge(c, evidence, seeds, reg.bootstrap) for c in reg.claims]


def shown(j: judge.Judgement) -> dict:
    """A judgement as the template prints it."""
    c = j.claim
    if j.value is None:
        ours = "--"
    elif c.is_statement:
        ours = f"{j.value:g} of {j.detail.get('of', '?')}"
    else:
        ours = fmt(j.value, c.relative, j.std)
    interval = ""
    if j.interval is not None:
        interval = f"[{j.interval[0]:.1f}, {j.interval[1]:.1f}]" if not c.is_statement else \
            f"[{j.stat_interval[0]:g}, {j.stat_interval[1]:g}]"
    paper = c.paper_value if c.is_statement else fmt(c.paper_value, c.relative)
    return {"id": c.id, "statement": c.statement, "source": c.source, "paper": paper, "ours": ours,
            "interval": interval, "delta": "" if j.delta is None else f"{j.delta:+.1f}", "verdict": j.verdict,
            "tolerance": "" if c.tolerance is None else f"{c.tolerance:g}", "note": c.note}


# --- figures ---------------------------------------------------------------------------------------
def heatmap(grid: Grid, settings: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    if not settings:
        return _placeholder(path)
    values = [[grid.cell(s, t)[0] for t in XTREME] for s in settings]
    finite = [abs(v) for row in values for v in row if v is not None]
    bound = max(finite, default=1.0) or 1.0
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(settings) + 1.4))
    masked = [[float("nan") if v is None else v for v in row] for row in values]
    im = ax.imshow(masked, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(XTREME)), [t for t in XTREME], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(settings)), settings, fontsize=8)
    for i, row in enumerate(values):
        for k, v in enumerate(row):
            ax.text(k, i, "--" if v is None else f"{v:+.1f}", ha="center", va="center", fontsize=6.5,
                    color="black" if v is None or abs(v) < 0.6 * bound else "white")
    fig.colorbar(im, ax=ax, label="gain over the baseline (points, dev)")
    ax.set_title("Gain of each intermediate setting on each XTREME target", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def language_bars(grid: Grid, settings: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    if not settings:
        return _placeholder(path)
    fig, axes = plt.subplots(3, 3, figsize=(7.5, 7.0))
    width = 0.8 / max(1, len(settings))
    for ax, target in zip(axes.flat, XTREME):
        langs = None
        for k, s in enumerate(settings):
            gains = grid.languages(s, target)
            langs = langs or list(gains)
            ax.bar([i + k * width for i in range(len(langs))], [gains.get(l, float("nan")) for l in langs], width, label=s)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xticks([i + width * (len(settings) - 1) / 2 for i in range(len(langs or []))], langs or [],
                      fontsize=7, rotation=90 if len(langs or []) > 8 else 0)
        ax.set_title(target if langs else f"{target} (not run)", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Gain over the baseline per language (dev)", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def family_figure(section: answers.Section, path: Path) -> None:
    """The figure that answers a family's question: lines with error bars (std over seeds) or grouped bars."""
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    fig_spec = section.figure
    series = {k: v for k, v in fig_spec["series"].items() if v}
    if not series:
        return _placeholder(path, f"no runs yet: `xstilts grid --family {section.family.id}`, then `dvc repro report`")
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    if fig_spec["kind"] == "bar":
        width = 0.8 / len(series)
        for k, (name, points) in enumerate(series.items()):
            ax.bar([x + k * width for x, _, _ in points], [y for _, y, _ in points], width,
                   yerr=[e for _, _, e in points], label=name, capsize=2)
        ticks = fig_spec["x_ticks"]
        ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(ticks))], ticks, fontsize=8)
        ax.axhline(0, color="black", linewidth=0.5)
    else:
        for name, points in series.items():
            ax.errorbar([x for x, _, _ in points], [y for _, y, _ in points], yerr=[e for _, _, e in points],
                        marker="o", capsize=3, label=name)
        if fig_spec.get("x_log"):
            ax.set_xscale("log")
        if fig_spec.get("x_names"):  # one tick per model, at its size
            ax.minorticks_off()
            ax.set_xticks([x for x, _ in fig_spec["x_names"]], [n for _, n in fig_spec["x_names"]], fontsize=7)
        if fig_spec.get("x_ticks"):
            ax.set_xticks(range(len(fig_spec["x_ticks"])), fig_spec["x_ticks"], fontsize=8)
    ax.set_xlabel(fig_spec["x_label"], fontsize=8)
    ax.set_ylabel(fig_spec["y_label"], fontsize=8)
    ax.tick_params(labelsize=7)
    if len(series) > 1:
        ax.legend(fontsize=7)
    ax.set_title(f"{section.family.id} ({section.profile}, {families.SPLIT})", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def family_sections(reg: claims.Registry, runs: list, raw: dict, params: config.Params) -> list[dict]:
    """Each family's table, figure (drawn into reports/figures) and answer, for the template."""
    out = []
    for fam in families.load().values():
        found = families.match(fam, reg, runs, raw, params.profile)
        section = answers.analyse(fam, reg, found, params, params.profile)
        figure = f"figures/family_{fam.id}.pdf"
        family_figure(section, REPORTS / figure)
        out.append({"section": section, "figure": figure,
                    "runs": [(label, seed, run) for label, seed, run in section.runs]})
    return out


def _placeholder(path: Path, text: str = "no collected runs yet: `xstilts grid` (or `xstilts claim <id>`), "
                                          "then `dvc repro report`") -> None:
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.pdf")
    # no creation date in the file: same numbers, same bytes
    fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
    plt.close(fig)
    tmp.replace(path)


# --- the document ----------------------------------------------------------------------------------
def render(params: config.Params, summary: dict, scores: dict, grid: Grid, judged: list, notes: list[str],
           figures: dict, sections: list[dict] | None = None) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES), undefined=jinja2.StrictUndefined,
        block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True)
    env.filters["tex"] = tex
    env.filters["tt"] = tt
    env.globals.update(fmt=fmt)
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
        table_columns=COLUMNS, rows=rows, grid=grid, paper_rows=[(s, raw_row) for s, raw_row in raw["rows"]],
        headline=[s for s in HEADLINE if grid.has(s)], xtreme=XTREME, figures=figures, notes=notes,
        runs=runs, sections=sections, model_name=params.model,
        n_settings=len([s for s in grid.reg.settings]), n_claims=len(judged),
        params=[(k, v) for k, v in flatten(params.raw) if not k.startswith(
            "paper." if params.profile == "tiny" else "tiny.")])
    return env.get_template("report.tex.j2").render(**context)


class CostView:
    """The cost appendix: measured device-hours per run (xstilts/research/cost.py), their total, the estimate."""

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
