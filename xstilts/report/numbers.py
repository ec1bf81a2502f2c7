"""The report's numbers: the collected runs matched to the claims' settings, each cell of the gains
table (mean and std over the seeds), per-language gains, and each judgement as the document prints it."""
from __future__ import annotations

from xstilts.claims import claims, judge
from xstilts.core import tasks
from xstilts.experiments import matching

# v1's Table 2 columns: (label, target, metric)
COLUMNS = [("XNLI", "xnli", "avg_metric"), ("PAWS-X", "pawsx", "avg_metric"), ("POS", "udpos", "avg_metric"),
           ("NER", "panx", "avg_metric"), ("XQuAD F1", "xquad", "avg_f1"), ("EM", "xquad", "avg_exact_match"),
           ("MLQA F1", "mlqa", "avg_f1"), ("EM", "mlqa", "avg_exact_match"), ("TyDiQA F1", "tydiqa", "avg_f1"),
           ("EM", "tydiqa", "avg_exact_match"), ("BUCC", "bucc2018", "avg_metric"),
           ("Tatoeba", "tatoeba", "avg_metric")]


XTREME = list(tasks.BENCHMARK_TARGETS["xtreme"])


HEADLINE = ("squad", "mnli", "hellaswag")   # the final version's three headline settings


def pack_rows(items: list, width_of, capacity: float, gap: float = 0.0) -> list[list]:
    """Items, in order, packed greedily into rows of at most `capacity` (widths by `width_of`, `gap`
    between neighbours); an item wider than a row gets a row of its own. The report's side-by-side
    tables (document.table_lines) and the per-language figure's panels (figures.panel_rows)."""
    rows: list[list] = []
    used = 0.0
    for item in items:
        w = width_of(item)
        if rows and used + gap + w <= capacity:
            rows[-1].append(item)
            used += gap + w
        else:
            rows.append([item])
            used = w
    return rows


def per_language(result: dict, task: str) -> dict[str, float]:
    """The per-language number behind a task's avg_metric: (EM+F1)/2 for QA, else its metric."""
    block = result[task]
    if "exact_match" in block:
        return {l: (block["exact_match"][l] + block["f1"][l]) / 2 for l in block["f1"]}
    return dict(block[next(k for k in block if not k.startswith("avg_"))])


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
        self.evidence = matching.evidence(found)
        self.runs = matching.grid_runs(found)
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


def beside_paper(grid: Grid, paper: dict[str, list[float]], settings: list[str]) -> list[dict]:
    """v1's Table 2 with the paper's cell beside ours, one table per target (and one for the average):
    {"title", "metrics": ["F1", "EM"] for QA else [""], "rows": [(setting, [(paper, ours), ...])]}.
    Rows: the paper's settings in its order, then every other setting that has runs; "--" where a
    side has no number. `paper`: setting -> v1's row as printed (COLUMNS, then the average)."""
    groups: dict[str, dict] = {}
    for k, (label, target, metric) in enumerate(COLUMNS):
        g = groups.setdefault(target, {"title": label.removesuffix(" F1"), "cols": []})
        g["cols"].append(("" if metric == "avg_metric" else label.split()[-1], metric, k))
    rows = list(paper) + [s for s in settings if s not in paper]
    out = []
    for target, g in groups.items():
        out.append({"title": g["title"], "metrics": [name for name, _, _ in g["cols"]], "rows": [
            (s, [(fmt(paper[s][k], s != claims.BASELINE) if s in paper else "--",
                  _shown(_cell(grid, s, target, metric), s)) for _, metric, k in g["cols"]])
            for s in rows]})
    avg = len(COLUMNS)
    out.append({"title": "Avg.", "metrics": [""], "rows": [
        (s, [(fmt(paper[s][avg], s != claims.BASELINE) if s in paper else "--",
              _shown(_mean(grid, s), s))]) for s in rows]})
    return out


def _cell(grid: Grid, setting: str, target: str, metric: str):
    return grid.cell(setting, target, metric) if grid.has(setting) else (None, None)


def _mean(grid: Grid, setting: str):
    return grid.average(setting) if grid.has(setting) else (None, None)


def _shown(cell: tuple, setting: str) -> str:
    return fmt(cell[0], setting != claims.BASELINE, cell[1])


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


