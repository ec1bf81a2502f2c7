"""Results of finished experiments, read from git, with their provenance; and the grid that makes them.

Where results live: every experiment `dvc exp run` made (git refs `refs/exps/<baseline>/<name>`),
every local branch, and HEAD. At each such commit the score stage left git-tracked files
(reports/metrics_by_split.json: both arms, both splits) and dvc.lock. A commit's results are a
*run*: its params, its numbers, and their provenance (experiment name, commit, and from dvc.lock
the hash of the score stage and of the intermediate encoder it scored).

A run is *current* when the code behind its numbers is the code here: every code dep of a stage up
to `score` (its script's manifest, data/code/<script>.json, or a code file listed directly) has, in
the run's dvc.lock, the md5 it has here (a manifest's: as the `code` stage would write it now).
A run from older code is stale: `xstilts grid` runs its setting again (DVC's run-cache makes the
unchanged stages free).

A setting (claims.yaml) at a seed is the set of params an experiment sets (`overrides`); a run
*is* that experiment when its params.yaml equals this repository's params.yaml with the overrides
applied (`eval_split` aside: the runs carry both splits). The baseline setting needs no run of its
own: every run carries the baseline arm at its seed.

`collect` writes reports/grid.json (the report stage's input): the current runs that match a
registered setting, with their numbers and provenance, keeping earlier entries whose code is still
current (so results survive in a fresh clone that has no experiment refs).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xstilts.core import config, io, paths
from xstilts.research import cost
from xstilts.core.errors import XstiltsError

GRID_FILE = paths.GRID_FILE
BY_SPLIT = str(paths.BY_SPLIT)


IGNORED_PARAMS = {"eval_split", "seeds"}   # both splits are in every run; `seeds` is the grid's, not a run's


CODE_DIRS = ("stages/", "xstilts/", f"{paths.CODE_MANIFESTS.as_posix()}/")  # code deps: files, or a stage's manifest
REPORT_STAGES = {"report"}        # the report reads results; it does not make them


class GridError(XstiltsError, RuntimeError):
    """The grid could not be planned, queued or run; the message says what to do."""
    exit_code = 4


# --- git -------------------------------------------------------------------------------------
def git(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise GridError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def show(commit: str, path: str) -> str | None:
    proc = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def sources() -> list[tuple[str, str, str, str | None]]:
    """(kind, name, commit, baseline commit or None) of every place results can live: experiments,
    branches, HEAD."""
    out = []
    for line in git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps", "refs/heads").splitlines():
        ref, sha = line.split()
        parts = ref.split("/")
        if parts[1] == "exps":  # refs/exps/<2 hex>/<38 hex>/<name>; exec/ and celery/ refs are DVC's own
            if len(parts) == 5 and len(parts[2]) == 2 and len(parts[3]) == 38:
                out.append(("experiment", parts[4], sha, parts[2] + parts[3]))
        else:
            out.append(("branch", "/".join(parts[2:]), sha, None))
    head = git("rev-parse", "HEAD").strip()
    out.append(("HEAD", "HEAD", head, None))
    return out


def md5_file(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def md5_json(value) -> str:
    return hashlib.md5(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _resolve(value, params: dict):
    """A foreach/matrix list as dvc.yaml writes it: a literal, or "${param}" (dotted keys allowed)."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        out = params
        for key in value[2:-1].split("."):
            out = out[key]
        return out
    return value


def pipeline_stages(dvc_yaml: dict, params: dict) -> set[str]:
    """The stage names a dvc.yaml defines with these params, by DVC's naming: `name`,
    `name@item` (foreach over a list, `name@key` over a dict), `name@a-b` (matrix)."""
    names = set()
    for name, stage in (dvc_yaml.get("stages") or {}).items():
        if "foreach" in stage:
            names |= {f"{name}@{item}" for item in _resolve(stage["foreach"], params)}
        elif "matrix" in stage:
            axes = [_resolve(v, params) for v in stage["matrix"].values()]
            names |= {f"{name}@{'-'.join(map(str, combo))}" for combo in itertools.product(*axes)}
        else:
            names.add(name)
    return names


def code_deps(lock: dict, stage_names: set[str] | None = None) -> dict[str, str]:
    """{path: md5} of the git-tracked code files the stages up to `score` depend on. dvc.lock keeps
    the entries of stages that left the pipeline (a target dropped from the lists, a renamed stage),
    with the md5s of their last run: only the pipeline's own stages (`stage_names`) count. Two
    stages that ran the same file at different md5s make it "mixed:..." (never a file's md5: stale)."""
    deps = {}
    for name, stage in lock.get("stages", {}).items():
        if name in REPORT_STAGES or (stage_names is not None and name not in stage_names):
            continue
        for d in stage.get("deps", []):
            if d["path"].startswith(CODE_DIRS) and "md5" in d and not d["md5"].endswith(".dir"):
                seen = deps.get(d["path"], d["md5"])
                deps[d["path"]] = seen if seen == d["md5"] else f"mixed:{','.join(sorted({seen, d['md5']}))}"
    return deps


def current_md5(path: str) -> str | None:
    """A code dep's md5 for the code here: a file's, or for a stage's manifest (data/code/<script>.json)
    the md5 the `code` stage would write now (xstilts/research/deps.py)."""
    if path.startswith(f"{paths.CODE_MANIFESTS.as_posix()}/"):
        script = f"stages/{Path(path).stem}.py"
        return _manifest_md5(script, str(Path.cwd())) if Path(script).is_file() else None
    return md5_file(Path(path)) if Path(path).is_file() else None


@functools.lru_cache(maxsize=None)
def _manifest_md5(script: str, root: str) -> str:
    """Once per script and process: collecting runs asks for the same manifests for every run."""
    from xstilts.research import deps
    return hashlib.md5(deps.manifest_text(script, Path(root)).encode()).hexdigest()


def stale_files(deps: dict[str, str]) -> list[str]:
    """The code deps whose md5 differs here (or that are gone)."""
    return sorted(p for p, m in deps.items() if current_md5(p) != m)


@dataclass
class Run:
    source: str                 # experiment | branch | HEAD | grid.json (kept from an earlier collect)
    name: str
    commit: str
    params: dict
    by_split: dict              # {split: {arm: evaluate.py output}}
    provenance: dict
    stale: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int:
        return self.params["seed"]

    def as_dict(self) -> dict:
        return {"source": self.source, "name": self.name, "commit": self.commit, "params": self.params,
                "provenance": self.provenance, "by_split": self.by_split}


def make_run(kind: str, name: str, commit: str, by_split_text: str | None, lock_text: str | None,
             params_text: str | None, dvc_yaml_text: str | None = None) -> Run | None:
    """A run from the three files a scored commit (or the workspace) holds; None when one is missing."""
    if by_split_text is None or lock_text is None or params_text is None:
        return None
    stages = yaml.safe_load(lock_text).get("stages", {})
    if "score" not in stages:
        return None
    params = yaml.safe_load(params_text)
    names = pipeline_stages(yaml.safe_load(dvc_yaml_text), params) if dvc_yaml_text else None
    deps = code_deps({"stages": stages}, names)
    provenance = {"source": kind, "name": name, "commit": commit,
                  "score_stage_md5": md5_json(stages["score"]),
                  "metrics_md5": next((o.get("md5") for o in stages["score"].get("outs", [])
                                       if o["path"] == BY_SPLIT), None),
                  "encoder_md5": next((o.get("md5") for o in stages.get("inter@intermediate", {}).get("outs", [])),
                                      None),
                  "code_md5": md5_json(deps)}
    return Run(kind, name, commit, params, json.loads(by_split_text), provenance, stale_files(deps))


def read_run(kind: str, name: str, commit: str) -> Run | None:
    """The run at a commit, or None when the commit has no scored results."""
    return make_run(kind, name, commit, show(commit, BY_SPLIT), show(commit, "dvc.lock"), show(commit, "params.yaml"),
                    show(commit, "dvc.yaml"))


def collect_runs() -> list[Run]:
    runs, seen = [], set()
    for kind, name, commit, baseline in sources():
        if commit in seen:
            continue
        seen.add(commit)
        run = read_run(kind, name, commit)
        if run is not None:
            if baseline is not None:
                measured = cost.measured(baseline, name)
                if measured is not None:
                    run.provenance["cost"] = measured
            runs.append(run)
    return runs


# --- settings as params ------------------------------------------------------------------------
def yaml_value(value) -> str:
    """A value as DVC's `-S key=value` (Hydra override syntax) reads it."""
    if isinstance(value, list):
        return "[" + ",".join(yaml_value(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def apply(raw: dict, overrides: dict) -> dict:
    out = copy.deepcopy(raw)
    out.update(copy.deepcopy(overrides))
    return out


def comparable(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in IGNORED_PARAMS}


def matches(run: Run, raw: dict, overrides: dict) -> bool:
    """Is this run the experiment `raw + overrides`?"""
    return comparable(run.params) == comparable(apply(raw, overrides))


def matches_baseline(run: Run, raw: dict, overrides: dict, setting_keys) -> bool:
    """Does this run carry the baseline arm of `raw + overrides`? (The params in `setting_keys` don't
    touch the baseline arm, so any run equal in all other params has it.)"""
    def strip(p):
        return {k: v for k, v in comparable(p).items() if k not in setting_keys}
    return strip(run.params) == strip(apply(raw, overrides))


# --- reports/grid.json -----------------------------------------------------------------------
def write_grid(runs: list[Run], profile: str) -> None:
    doc = {"note": "written by `xstilts collect` (also at the end of `xstilts grid` and `xstilts claim`): "
                   "each run's numbers with their provenance; the report stage reads this file",
           "profile": profile}
    # one run per line: compact, and a new run is a one-line diff
    head = json.dumps(doc)[:-1]
    lines = ",\n".join(json.dumps(slim(r.as_dict()), separators=(",", ":")) for r in runs)
    io.atomic_write_text(GRID_FILE, f'{head}, "runs": [\n{lines}\n]}}\n')


def slim(run: dict) -> dict:
    """The test split's per-language numbers stay in the experiment's commit: claims read test
    averages only (v1's XTREME rows), the report's per-language views are dev."""
    out = dict(run)
    out["by_split"] = {split: ({arm: {task: ({k: v for k, v in block.items() if k.startswith("avg_")}
                                             if isinstance(block, dict) else block)
                                      for task, block in result.items()} for arm, result in arms.items()}
                               if split == "test" else arms) for split, arms in run["by_split"].items()}
    return out


def read_grid() -> list[Run]:
    if not GRID_FILE.exists():
        return []
    doc = json.loads(GRID_FILE.read_text())
    runs, here = [], current_code_md5()
    for r in doc.get("runs", []):
        fresh = r["provenance"].get("code_md5") == here
        runs.append(Run("grid.json", r["name"], r["commit"], r["params"], r["by_split"], dict(r["provenance"]),
                        [] if fresh else ["(code changed since it was collected)"]))
    return runs


def current_code_md5() -> str | None:
    """md5 of {code file: md5} as this dvc.lock lists the files, computed on the files here."""
    lock_path = paths.DVC_LOCK
    if not lock_path.exists():
        return None
    names = pipeline_stages(yaml.safe_load(paths.DVC_YAML.read_text()), params_raw()) \
        if paths.DVC_YAML.exists() else None
    deps = code_deps(yaml.safe_load(lock_path.read_text()), names)
    return md5_json({p: md5 for p in deps if (md5 := current_md5(p)) is not None})


def current_runs(include_grid_file: bool = True) -> list[Run]:
    """Every current run: from git first, then the ones grid.json kept (a commit seen in git wins)."""
    runs = [r for r in collect_runs() if not r.stale]
    if include_grid_file:
        kept = {r.commit: r for r in read_grid() if not r.stale}
        for r in runs:  # a cost measured where the run was collected before (a colleague's, a job's)
            if "cost" not in r.provenance and "cost" in kept.get(r.commit, Run("", "", "", {}, {}, {})).provenance:
                r.provenance["cost"] = kept[r.commit].provenance["cost"]
        commits = {r.commit for r in runs}
        runs += [r for r in kept.values() if r.commit not in commits]
    return runs


def params_raw() -> dict:
    return yaml.safe_load(config.PARAMS_FILE.read_text())


# --- runs -> the evidence claims read ------------------------------------------------------------
SOURCE_RANK = {"HEAD": 0, "branch": 1, "experiment": 2, "grid.json": 3}


def preference(run: Run) -> tuple:
    """Which run wins when several current runs are the same setting at the same seed (same params, same
    code: their numbers agree, up to machine-dependent float arithmetic): what is checked out first, then
    branches, then experiment refs, then runs only grid.json keeps (their outputs may be nowhere here);
    ties by name, then commit. Never the order git lists refs in: an experiment ref sits under its
    baseline commit's sha, which depends on commit timestamps, so that order differs between machines."""
    return SOURCE_RANK.get(run.source, len(SOURCE_RANK)), run.name, run.commit


def match(reg, runs: list[Run], raw: dict, profile: str, prefer: list[str] | None = None
          ) -> tuple[dict[str, dict[int, Run]], list[str]]:
    """{setting: {seed: run}} for every registered setting a current run is, and notes on runs whose
    baseline arms disagree (they should not: same params, same seed, same code).

    Several runs can be one setting: `preference` picks. Every run carries the baseline arm, so the
    baseline setting at a seed comes from the run already chosen for one of the `prefer` settings at
    that seed (the settings the caller judges, in their order; a claim's own experiment then serves its
    baseline too, and nothing else needs pushing or restoring), else by `preference`."""
    from xstilts.research.claims import BASELINE, SETTING_PARAMS
    runs = sorted(runs, key=preference)
    found: dict[str, dict[int, Run]] = {}
    for name in reg.settings:
        if name == BASELINE:
            continue
        for run in runs:
            if run.params.get("profile") == profile and matches(run, raw, reg.overrides(name, profile, run.seed)):
                found.setdefault(name, {}).setdefault(run.seed, run)
    # target_training changes the baseline arm too; the intermediate params do not
    carriers = [run for run in runs if run.params.get("profile") == profile and matches_baseline(
        run, raw, reg.overrides(BASELINE, profile, run.seed), SETTING_PARAMS - {"target_training"})]
    chosen = [found[s][seed] for s in (prefer or []) if s != BASELINE and s in found for seed in sorted(found[s])]
    for run in [r for r in chosen if any(r is c for c in carriers)] + carriers:
        found.setdefault(BASELINE, {}).setdefault(run.seed, run)
    notes = []
    for run in carriers:
        first = found[BASELINE][run.seed]
        if first is not run:
            diff = max_difference(first.by_split, run.by_split, "baseline")
            if diff > 1e-9:
                notes.append(f"baseline arm at seed {run.seed}: {run.name} differs from {first.name} by up to {diff:.3g}")
    return found, notes


def max_difference(a: dict, b: dict, arm: str) -> float:
    from xstilts.research.judge import flatten
    worst = 0.0
    for split in a:
        fa, fb = flatten(a[split][arm], split), flatten(b.get(split, {}).get(arm, {}), split)
        for k in set(fa) | set(fb):
            worst = max(worst, abs(fa.get(k, math.inf) - fb.get(k, -math.inf)))
    return worst


def evidence(found: dict[str, dict[int, Run]]):
    from xstilts.research.claims import BASELINE
    from xstilts.research.judge import Evidence, flatten
    numbers, provenance = {}, {}
    for name, by_seed in found.items():
        arm = "baseline" if name == BASELINE else "intermediate"
        for seed, run in by_seed.items():
            flat = {}
            for split, arms in run.by_split.items():
                flat.update(flatten(arms[arm], split))
            numbers.setdefault(name, {})[seed] = flat
            provenance.setdefault(name, {})[seed] = {"arm": arm, **run.provenance}
    return Evidence(numbers, provenance)


@dataclass
class Planned:
    setting: str
    seed: int
    overrides: dict
    name: str = ""
    run: Run | None = None       # the run that already is this experiment

    @property
    def done(self) -> bool:
        return self.run is not None


def plan(reg, settings: list[str], raw: dict, profile: str, seeds: list[int], found: dict) -> list[Planned]:
    """One entry per setting and seed; the baseline setting only where no other experiment at that seed
    will carry the baseline arm."""
    from xstilts.research.claims import BASELINE
    out = []
    for seed in seeds:
        for s in settings:
            if s == BASELINE:
                continue
            out.append(Planned(s, seed, reg.overrides(s, profile, seed), run=found.get(s, {}).get(seed)))
        if BASELINE in settings and seed not in found.get(BASELINE, {}) and not any(
                p.seed == seed for p in out):
            out.append(Planned(BASELINE, seed, reg.overrides(BASELINE, profile, seed)))
    return name_planned(out, profile)


def name_planned(planned: list[Planned], profile: str) -> list[Planned]:
    """A done experiment keeps its run's name; a new one is `<setting>-s<seed>` (+ `-paper`), made
    unique against every experiment ref (a family's setting `family:values` becomes `family_values`)."""
    taken = set(experiment_names())
    for p in planned:
        if p.done:
            p.name = p.run.name
            continue
        base = f"{p.setting.replace(':', '_')}-s{p.seed}" + ("" if profile == "tiny" else f"-{profile}")
        name, k = base, 2
        while name in taken:
            name, k = f"{base}-{k}", k + 1
        p.name = name
        taken.add(name)
    return planned


def waves(todo: list[Planned], raw: dict) -> list[list[Planned]]:
    """The experiments to run in waves, so that what they share is computed once, never by N at once:
    first one experiment alone (the prepared data, its model and seed's baseline arm), then the first
    experiment of every other baseline (xstilts/research/cost.py's baseline_key: model, seed,
    benchmark, target training, targets), then the rest. Each wave starts when the one before has
    ended, and DVC's run-cache (local, or the shared remote's) restores what it computed."""
    key = {id(e): cost.baseline_key(config.validate(apply(raw, e.overrides))) for e in todo}
    first, leaders, rest, seen = todo[:1], [], [], {key[id(e)] for e in todo[:1]}
    for e in todo[1:]:
        if key[id(e)] in seen:
            rest.append(e)
        else:
            seen.add(key[id(e)])
            leaders.append(e)
    return [w for w in (first, leaders, rest) if w]


def experiment_names() -> list[str]:
    return [name for kind, name, _, _ in sources() if kind == "experiment"]


def grid_runs(found: dict[str, dict[int, Run]]) -> list[Run]:
    """The runs behind `found`, once each, in a stable order (for reports/grid.json)."""
    out, seen = [], set()
    for name in sorted(found):
        for seed in sorted(found[name]):
            run = found[name][seed]
            if run.commit not in seen:
                seen.add(run.commit)
                out.append(run)
    return out


def workspace_run() -> Run | None:
    """This working tree's own scored experiment (the report stage runs before anything is committed)."""
    def text(path) -> str | None:
        return Path(path).read_text() if Path(path).exists() else None
    commit = git("rev-parse", "HEAD", check=False).strip() or "(no commit)"
    return make_run("workspace", "workspace", commit, text(BY_SPLIT), text("dvc.lock"), text(config.PARAMS_FILE),
                    text("dvc.yaml"))
