"""The report's figures (matplotlib, vector PDF in reports/figures/): the heatmap of gains, the
per-language bars, and each family's figure."""
from __future__ import annotations

from pathlib import Path

from xstilts.claims import answers, claims, families
from xstilts.core import config, paths
from xstilts.experiments import matching
from xstilts.report.numbers import XTREME, Grid, pack_rows

REPORTS = paths.REPORTS


def heatmap(grid: Grid, settings: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    if not settings:
        return _placeholder(path)
    values = [[grid.cell(s, t)[0] for t in XTREME] for s in settings]
    finite = [abs(v) for row in values for v in row if v is not None]
    bound = max(finite, default=1.0) or 1.0
    # never shorter than the colour bar's label
    fig, ax = plt.subplots(figsize=(7.5, max(2.6, 0.32 * len(settings) + 1.4)))
    masked = [[float("nan") if v is None else v for v in row] for row in values]
    im = ax.imshow(masked, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(XTREME)), [t for t in XTREME], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(settings)), settings, fontsize=8)
    for i, row in enumerate(values):
        for k, v in enumerate(row):
            ax.text(k, i, "--" if v is None else f"{v:+.1f}", ha="center", va="center", fontsize=6.5,
                    color="black" if v is None or abs(v) < 0.6 * bound else "white")
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("gain over the baseline (points, dev)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ax.set_title("Gain of each intermediate setting on each XTREME target", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


# The per-language bars: one panel per target, as wide as its languages need, packed into rows
FIGURE_WIDTH_PT = 7.5 * 72
PANEL_OVERHEAD_PT = 34.0      # a panel's y axis, its tick labels and the space between panels
LABEL_PITCH_PT = 8.5          # the room one rotated tick label takes (its height at TICK_FONT, and a gap)
TICK_FONT = 7.0
MIN_PANEL_PT = 150.0          # at most three panels a row, however few languages
ROW_HEIGHT_IN = 1.85


def panel_rows(counts: dict[str, int]) -> list[list[tuple[str, float]]]:
    """Targets (in order) with the width (points) each panel needs for its languages' tick labels,
    packed into rows of the figure's width."""
    widths = [(target, min(FIGURE_WIDTH_PT, max(MIN_PANEL_PT, PANEL_OVERHEAD_PT + LABEL_PITCH_PT * max(n, 1))))
              for target, n in counts.items()]
    return pack_rows(widths, lambda panel: panel[1], FIGURE_WIDTH_PT)


def language_bars(grid: Grid, settings: list[str], path: Path) -> None:
    """Gain per language of each setting on each target. A panel is as wide as its languages need (40
    PAN-X languages get a wide one, six tiny-world languages a third of the figure), so tick labels
    never overlap; labels stand upright when they do not fit side by side."""
    import matplotlib
    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    if not settings:
        return _placeholder(path)
    gains = {t: {s: grid.languages(s, t) for s in settings} for t in XTREME}
    langs = {t: next((list(g) for g in gains[t].values() if g), []) for t in XTREME}
    rows = panel_rows({t: len(langs[t]) for t in XTREME})
    fig = plt.figure(figsize=(7.5, 0.35 + ROW_HEIGHT_IN * len(rows)), layout="constrained")
    outer = fig.add_gridspec(len(rows), 1)
    width = 0.8 / max(1, len(settings))
    first = None
    for r, row in enumerate(rows):
        spare = FIGURE_WIDTH_PT - sum(w for _, w in row)  # left blank where another panel could have stood
        ratios = [w for _, w in row] + ([spare] if spare >= MIN_PANEL_PT else [])
        inner = outer[r].subgridspec(1, len(ratios), width_ratios=ratios)
        for k, (target, w) in enumerate(row):
            ax = fig.add_subplot(inner[0, k])
            first = first or ax
            names = langs[target]
            for j, s in enumerate(settings):
                ax.bar([i + j * width for i in range(len(names))],
                       [gains[target][s].get(l, float("nan")) for l in names], width, label=s)
            ax.axhline(0, color="black", linewidth=0.5)
            pitch = (w - PANEL_OVERHEAD_PT) / max(1, len(names))
            upright = max((len(n) for n in names), default=0) * 0.6 * TICK_FONT + 4 > pitch
            ax.set_xticks([i + width * (len(settings) - 1) / 2 for i in range(len(names))], names,
                          fontsize=TICK_FONT, rotation=90 if upright else 0)
            if names:
                ax.set_xlim(-0.6, len(names) - 0.4 + width * (len(settings) - 1))
            ax.set_title(target if names else f"{target} (not run)", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
    fig.legend(*first.get_legend_handles_labels(), loc="outside upper center", ncols=len(settings), fontsize=7,
               frameon=False)
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
        if fig_spec.get("x_names"):  # one tick per model, at its size; models of about one size share it
            ax.minorticks_off()
            ticks = size_ticks(fig_spec["x_names"], bool(fig_spec.get("x_log")))
            ax.set_xticks([x for x, _ in ticks], [n for _, n in ticks], fontsize=7)
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


def size_ticks(names: list[tuple[float, str]], log: bool, axis_pt: float = 5.5 * 72 * 0.8,
               font_pt: float = 7.0) -> list[tuple[float, str]]:
    """Tick positions and labels of a model-size axis ((size, "name\\nsize") per model), merged where two
    labels would overlap: xlm-roberta-base (278M) and mt5-base (277M) share one tick whose label
    lists both, one per line. Overlap is judged on the axis (axis_pt wide, log-scaled if log) with
    each label 0.6 * font_pt per character of its longest line."""
    import math
    if len(names) < 2:
        return list(names)
    pos = {x: math.log10(x) if log else x for x, _ in names}
    lo, hi = min(pos.values()), max(pos.values())
    scale = axis_pt / ((hi - lo) * 1.1 or 1.0)     # matplotlib's 5% margin on either side

    def half_width(label: str) -> float:
        return max(len(line) for line in label.split("\n")) * 0.6 * font_pt / 2

    groups: list[list[tuple[float, str]]] = []
    for x, label in sorted(names):
        if groups:
            last = groups[-1]
            merged = "\n".join(" ".join(n.split("\n")) for _, n in last)
            if (pos[x] - pos[last[-1][0]]) * scale < half_width(merged) + half_width(label) + 4:
                last.append((x, label))
                continue
        groups.append([(x, label)])
    out = []
    for g in groups:
        if len(g) == 1:
            out.append(g[0])
            continue
        where = 10 ** (sum(pos[x] for x, _ in g) / len(g)) if log else sum(x for x, _ in g) / len(g)
        out.append((where, "\n".join(" ".join(n.split("\n")) for _, n in g)))
    return out


def family_sections(reg: claims.Registry, runs: list, raw: dict, params: config.Params) -> list[dict]:
    """Each family's table, figure (drawn into reports/figures) and answer, for the template."""
    out = []
    for fam in families.load().values():
        found = matching.match_family(fam, reg, runs, raw, params.profile)
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


