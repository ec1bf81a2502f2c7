"""The report's figures (matplotlib, vector PDF in reports/figures/): the heatmap of gains, the
per-language bars, and each family's figure."""
from __future__ import annotations

from pathlib import Path

from xstilts.claims import answers, claims, families
from xstilts.core import config, paths
from xstilts.experiments import matching
from xstilts.report.numbers import XTREME, Grid

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
            ax.bar([i + k * width for i in range(len(langs))], [gains.get(l, float("nan")) for l in langs], width,
                   label=s)
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


