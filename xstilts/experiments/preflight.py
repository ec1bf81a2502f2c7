"""`xstilts preflight`: on the GPU box, before a long profile-paper run, everything that would stop it
hours in, checked in seconds.

One line per check, each OK, WARN or FAIL; the exit status is 1 when any check fails. Checks:
  params   params.yaml and the run against its model (xstilts/core/checks.py)
  data     the Hub reachable, or the local mirror (paper.data.local_hub) complete: every
           repo/config/split the configured run reads (xstilts/data/needs.py), with the exact
           `hf download` command of each repo that lacks something; CCGbank when ccg trains
  models   the encoder (the Hub, or its local copy in paper.pretrain.local_models), and the MT
           checkpoints the run translates with
  disk     free space where DVC writes (the workspace and its cache) against an estimate
  gpus     each GPU's name, memory and bf16 support; none found fails unless --allow-cpu
  cost     the GPU-hour estimate of this run and of the whole paper grid (xstilts/experiments/cost.py)
"""
from __future__ import annotations

import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from xstilts.core import checks, config, tasks
from xstilts.data import needs as run_needs
from xstilts.data import sources

HUB_URL = "https://huggingface.co"
GIB = 1024 ** 3
DATA_GUESS_GIB = 20.0     # the Hub's datasets of a full run, when no mirror tells their size (the MLM dumps: more)
MODEL_COPIES = 8          # models/pretrained + 2 arms, each in the workspace and DVC's cache, + a checkpoint with
                          # the optimizer's two moments (AdamW): about eight copies of the weights at the peak


@dataclass
class Line:
    check: str
    status: str      # OK | WARN | FAIL
    text: str


def hub_reachable(timeout: float = 5.0) -> tuple[bool, str]:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False, "HF_HUB_OFFLINE=1"
    try:
        urllib.request.urlopen(urllib.request.Request(HUB_URL, method="HEAD"), timeout=timeout)
        return True, HUB_URL
    except Exception as e:  # noqa: BLE001 (any failure means: not reachable from here)
        return False, f"{type(e).__name__}: {e}"


def found_files(mirror: Path, need, cards: dict[str, str]) -> list[Path] | None:
    """The files load_source would read for a need (the layouts it reads); [] when the repo's dataset
    card declares its config (the card's own data_files then say where); None when it is missing.
    `cards`: the dataset cards read so far, by repo (each card is read once)."""
    repo_dir = mirror / need.repo
    files = sources.mirror_files(repo_dir, need.config, need.split)
    if files:
        return files
    if need.repo not in cards:
        card = repo_dir / "README.md"
        cards[need.repo] = card.read_text(encoding="utf-8", errors="replace") if card.exists() else ""
    return [] if f"config_name: {need.config}" in cards[need.repo] else None


def include_patterns(needs: list) -> list[str]:
    """The files of a dataset repo that the run reads (the layouts sources.mirror_files reads), and its
    card: `hf download --include` fetches those, never the whole repo (a Wikipedia dump has hundreds
    of configs; the run reads a few)."""
    out = ["README.md"]
    for n in needs:
        pats = [f"{n.config}/{n.split}-*", f"{n.config}/{n.split}/*"]
        if n.config == "default":
            pats += [f"data/{n.split}-*", f"data/{n.split}/*"]
        out += [p for p in pats if p not in out]
    return out


def download_command(repo: str, revision: str, mirror: str, needs: list | None = None) -> str:
    include = "".join(f" '{p}'" for p in include_patterns(needs)) if needs else ""
    return (f"hf download {repo} --repo-type dataset --revision {revision} --local-dir {mirror}/{repo}"
            + (f" --include{include}" if include else ""))


def hub_cache() -> str:
    """Where datasets and models downloaded from the Hub are kept: HF_HOME's hub/ (and datasets/)."""
    home = os.environ.get("HF_HOME") or "~/.cache/huggingface"
    return f"{home} (HF_HOME{'' if os.environ.get('HF_HOME') else ', unset'})"


def data_lines(params: config.Params, hub_ok: bool, hub_why: str) -> tuple[list[Line], list[str], float]:
    """The data checks, the commands that fetch what is missing, and the data's size in GiB."""
    dp = params.group("data")
    wanted = run_needs.run_needs(params)
    repos = sorted({n.repo for n in wanted})
    lines, commands, size = [], [], DATA_GUESS_GIB
    if dp.local_hub:
        mirror = Path(dp.local_hub)
        cards: dict[str, str] = {}
        found = {n: found_files(mirror, n, cards) for n in wanted}   # one glob per split
        missing = [n for n in wanted if found[n] is None]
        if missing:
            by_repo: dict[str, list] = {}
            for n in missing:
                by_repo.setdefault(n.repo, []).append(n)
            shown = ", ".join(f"{r} ({len(ns)}: {', '.join(n.config + '/' + n.split for n in ns[:3])}"
                              f"{', ...' if len(ns) > 3 else ''})" for r, ns in sorted(by_repo.items()))
            lines.append(Line("data", "FAIL", f"mirror {mirror}: {len(missing)} of {len(wanted)} splits missing, in "
                                              f"{len(by_repo)} of {len(repos)} repos: {shown}"))
            commands += [download_command(r, ns[0].revision, str(mirror), ns) for r, ns in sorted(by_repo.items())]
        else:
            lines.append(Line("data", "OK", f"mirror {mirror}: all {len(wanted)} splits of {len(repos)} repos present"))
        size = sum(f.stat().st_size for files in found.values() for f in files or ()) / GIB
    elif hub_ok:
        lines.append(Line("data", "OK", f"the Hub is reachable ({hub_why}): {len(wanted)} splits of {len(repos)} repos "
                                        f"will be downloaded at their pinned revisions into {hub_cache()}"))
    else:
        lines.append(Line("data", "FAIL", f"the Hub is not reachable ({hub_why}) and paper.data.local_hub is not set: "
                                          f"mirror the {len(repos)} repos on a machine with network, then set "
                                          f"paper.data.local_hub: <MIRROR> (or, with network here, the "
                                          f"downloads land in the Hub cache {hub_cache()})"))
        commands += [download_command(r, next(n.revision for n in wanted if n.repo == r), "<MIRROR>",
                                      [n for n in wanted if n.repo == r]) for r in repos]
    from xstilts.data import pins
    loose = pins.unpinned(wanted)
    if loose:
        lines.append(Line("data", "WARN", f"{len(loose)} source(s) not pinned to a commit (what they read can change): "
                                          f"{', '.join(loose[:6])}{' ...' if len(loose) > 6 else ''}; `xstilts pin` "
                                          f"(online) writes the commits into paper.data.revisions"))
    else:
        lines.append(Line("data", "OK", "every source pinned to a commit (paper.data.revisions)"))
    if "ccg" in params.intermediate_members:
        root = dp.ccgbank
        ok = root is not None and (Path(root) / "data" / "AUTO").is_dir()
        lines.append(Line("data", "OK" if ok else "FAIL",
                          f"CCGbank at {root}" if ok else
                          f"intermediate task ccg needs CCGbank (LDC2005T13): set "
                          f"paper.data.ccgbank to the ccgbank_1_1 directory (now {root!r})"))
    return lines, commands, size


def translation_models(params: config.Params) -> list[str]:
    """The MT checkpoints this run translates with (none for zero-shot English-only runs)."""
    translate = params.group("translate")
    if translate.engine != "model":
        return []
    langs = set(l for l in params.intermediate_languages if l != "en")
    if params.target_training != "zero_shot":
        for t in params.active_targets:
            target = tasks.TARGETS[t]
            if target.trains and not (translate.published and target.translated_train is not None):
                langs |= {l for l in params.target_languages(t) if l != "en"}
    model = translate.model
    return sorted({model.format(lang=l) if "{lang}" in model else model for l in langs})


def model_lines(params: config.Params, hub_ok: bool) -> tuple[list[Line], list[str], float]:
    spec = params.model_spec()
    folder = checks.local_copy(params)
    lines, commands = [], []
    weights_gib = (spec.parameters_m or 0) * 1e6 * 4 / GIB   # fp32 safetensors
    if folder is not None:
        files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("pytorch_model*.bin"))
        if (folder / "config.json").exists() and files:
            weights_gib = sum(f.stat().st_size for f in files) / GIB
            lines.append(Line("models", "OK",
                              f"{params.model}: local copy {folder} ({weights_gib:.2f} GiB of weights)"))
        else:
            lines.append(Line("models", "FAIL", f"{params.model}: no config.json and weights in {folder}"))
            commands.append(checks.model_download_command(spec, str(folder)))
    elif hub_ok:
        lines.append(Line("models", "OK", f"{params.model}: {spec.hub} @ {spec.revision[:12]} from the Hub"))
    else:
        lines.append(Line("models", "FAIL", f"{params.model}: the Hub is not reachable and paper.pretrain.local_models "
                                            f"is not set"))
        commands.append(checks.model_download_command(spec, f"<DIR>/{spec.hub}"))
    checkpoints = translation_models(params)
    if checkpoints:
        status = "OK" if hub_ok else "FAIL"
        lines.append(Line("models", status, f"translation checkpoints ({len(checkpoints)}): "
                                            f"{', '.join(checkpoints[:4])}"
                                            f"{', ...' if len(checkpoints) > 4 else ''}" + ("" if hub_ok else
                                                                                  " (the Hub is not reachable)")))
    return lines, commands, weights_gib


def gpu_lines(params: config.Params, allow_cpu: bool) -> list[Line]:
    import torch
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    runtime = params.runtime()
    if n == 0:
        if allow_cpu:
            return [Line("gpus", "WARN", "no CUDA GPU: the run will train on the CPU (--allow-cpu); "
                                         "fine for fixtures, days for the paper's models")]
        return [Line("gpus", "FAIL", "no CUDA GPU found (torch.cuda.is_available() is False): a paper run needs one "
                                     "(--allow-cpu to run anyway, e.g. on fixtures)")]
    lines = []
    for i in range(n):
        p = torch.cuda.get_device_properties(i)
        bf16 = torch.cuda.is_bf16_supported() if i == torch.cuda.current_device() else p.major >= 8
        if params.precision == "bf16" and not bf16:
            lines.append(Line("gpus", "FAIL", f"cuda:{i} {p.name} has no bf16, and {params.profile}.precision is bf16: "
                                              f"run with `-S {params.profile}.precision=fp16` (loss scaling) or fp32"))
        else:
            lines.append(Line("gpus", "OK", f"cuda:{i} {p.name}, {p.total_memory / GIB:.0f} GiB, "
                                            f"{'bf16' if bf16 else 'no bf16'}; the run computes in {params.precision}"))
    if runtime.processes > n:
        lines.append(Line("gpus", "FAIL",
                          f"runtime.{params.profile}.processes is {runtime.processes}, but {n} GPU(s) found"))
    return lines


def disk_estimate_line(params: config.Params) -> Line:
    """The disk one experiment's clone takes at its peak (a SLURM task's, or a queue worker's): the encoder's
    weights MODEL_COPIES times (pretrained, two arms, workspace and cache, a checkpoint with AdamW's
    moments), plus its prepared data (about the mirror's size, or DATA_GUESS_GIB without one)."""
    spec = params.model_spec()
    weights = (spec.parameters_m or 0) * 1e6 * 4 / GIB
    return Line("cost", "OK", f"disk per experiment (one clone: a SLURM task's or a queue worker's): about "
                              f"{weights * MODEL_COPIES + DATA_GUESS_GIB:.0f} GiB at its peak "
                              f"(weights {weights:.1f} GiB x {MODEL_COPIES}, data up to {DATA_GUESS_GIB:.0f} GiB)")


def cost_lines(params: config.Params, raw: dict) -> list[Line]:
    from xstilts.claims import claims
    from xstilts.experiments import cost
    try:
        run = cost.estimate(params, with_baseline=True)
        lines = [Line("cost", "OK", f"this run: {run.gpu_hours:.1f} GPU-hours ({run.total_tokens:.3g} training tokens, "
                                    f"{run.steps:.3g} optimizer steps, {run.eval_tokens:.3g} evaluation tokens; "
                                    f"throughput: {run.throughput_source})"),
                 disk_estimate_line(params)]
        reg = claims.registry()
        experiments = [config.validate(claims.with_overrides(raw, reg.overrides(setting, "paper", seed)))
                       for seed in params.seeds for setting in reg.needed(reg.claims) if setting != claims.BASELINE]
        total = sum(e.gpu_hours for e in cost.estimate_all(experiments))
        lines.append(Line("cost", "OK", f"the paper's whole grid: {len(experiments)} experiments, "
                                        f"{total:.0f} GPU-hours (seeds {', '.join(map(str, params.seeds))}; "
                                        f"{cost.ASSUMPTIONS})"))
        return lines
    except config.ParamsError as e:
        return [Line("cost", "WARN", f"no estimate: {e}")]


def disk_line(data_gib: float, weights_gib: float, where: Path = Path(".")) -> Line:
    need = data_gib * 3 + weights_gib * MODEL_COPIES   # data: the mirror or Hub cache, data/prepared, DVC's cache
    free = shutil.disk_usage(where).free / GIB
    status = "OK" if free >= need else "FAIL"
    return Line("disk", status, f"{free:.1f} GiB free under {where.resolve()}, about {need:.1f} GiB needed "
                                f"(data {data_gib:.2f} GiB x 3, weights {weights_gib:.2f} GiB x {MODEL_COPIES})")


def preflight(params: config.Params, raw: dict, allow_cpu: bool = False) -> tuple[list[Line], list[str]]:
    """Every check of a profile-paper run; (lines, commands that fetch what is missing)."""
    found = checks.run(params, deep=True)
    lines = [Line("params", "FAIL", e) for e in found.errors] + [Line("params", "WARN", w) for w in found.warnings]
    if not found.errors:
        lines.insert(0, Line("params", "OK", f"profile {params.profile}, model {params.model} ({found.shape.source}), "
                                             f"benchmark {params.benchmark}, "
                                             f"targets {', '.join(params.active_targets)}, "
                                             f"intermediate {params.intermediate}"
                                             + (" + MLM" if params.intermediate_mlm else "")))
    need_hub = not params.group("data").local_hub or not params.group("pretrain").local_models \
        or bool(translation_models(params))
    hub_ok, hub_why = hub_reachable() if need_hub else (False, "not needed: local copies configured")
    data, commands, data_gib = data_lines(params, hub_ok, hub_why)
    models, model_commands, weights_gib = model_lines(params, hub_ok)
    lines += data + models + [disk_line(data_gib, weights_gib)] + gpu_lines(params, allow_cpu) + cost_lines(params, raw)
    return lines, commands + model_commands
