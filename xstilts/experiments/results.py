"""Results of finished experiments, read from git, with their provenance; and reports/grid.json.

Where results live: every experiment `dvc exp run` made (git refs `refs/exps/<baseline>/<name>`),
every local branch, and HEAD (xstilts/experiments/gitrefs.py). At each such commit the score stage
left git-tracked files (reports/metrics_by_split.json: both arms, both splits, and the gains'
intervals over evaluation examples) and dvc.lock. A commit's results are a *run*: its params, its
numbers, the gains' intervals (none in runs scored before they existed), and their provenance
(experiment name, commit, and from dvc.lock the hash of the score stage and of the intermediate
encoder it scored).
A run is current when its code is the code here (xstilts/experiments/provenance.py).

`write_grid` writes reports/grid.json (the report stage's input): the current runs that match a
registered setting, with their numbers and provenance, keeping earlier entries whose code is still
current (so results survive in a fresh clone that has no experiment refs).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xstilts.core import config, io, paths
from xstilts.eval.headline import INTERVAL  # metrics_by_split.json's key beside the splits
from xstilts.experiments import cost, gitrefs
from xstilts.experiments.provenance import code_deps, current_md5, md5_json, pipeline_stages, stale_files

GRID_FILE = paths.GRID_FILE
BY_SPLIT = str(paths.BY_SPLIT)


@dataclass
class Run:
    source: str                 # experiment | branch | HEAD | grid.json (kept from an earlier collect)
    name: str
    commit: str
    params: dict
    by_split: dict              # {split: {arm: evaluate.py output}}
    provenance: dict
    stale: list[str] = field(default_factory=list)
    # the intermediate arm's gains' intervals over evaluation examples: {"resamples", "confidence", "seed",
    # split: {name: {low, high}} or {task: {key: {low, high}}}}; {} for a run scored before they existed
    gain_interval: dict = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.params["seed"]

    def as_dict(self) -> dict:
        out = {"source": self.source, "name": self.name, "commit": self.commit, "params": self.params,
               "provenance": self.provenance, "by_split": self.by_split}
        return {**out, INTERVAL: self.gain_interval} if self.gain_interval else out


def split_by_split(doc: dict) -> tuple[dict, dict]:
    """metrics_by_split.json -> ({split: {arm: ...}}, its gain intervals, {} when it has none)."""
    doc = dict(doc)
    return doc, doc.pop(INTERVAL, None) or {}


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
                  "encoder_md5": encoder_md5(stages),
                  "code_md5": md5_json(deps)}
    by_split, gain_interval = split_by_split(json.loads(by_split_text))
    return Run(kind, name, commit, params, by_split, provenance, stale_files(deps), gain_interval)


# the stage that trains the intermediate arm's encoder; `inter@intermediate` in runs committed before the rename
ENCODER_STAGES = ("intermediate@intermediate", "inter@intermediate")


def encoder_md5(stages: dict) -> str | None:
    """The md5 of the intermediate arm's encoder in a dvc.lock's stages, or None."""
    stage = next((stages[name] for name in ENCODER_STAGES if name in stages), {})
    return next((out.get("md5") for out in stage.get("outs", [])), None)


def read_run(kind: str, name: str, commit: str) -> Run | None:
    """The run at a commit, or None when the commit has no scored results."""
    return make_run(kind, name, commit, gitrefs.show(commit, BY_SPLIT), gitrefs.show(commit, "dvc.lock"),
                    gitrefs.show(commit, "params.yaml"), gitrefs.show(commit, "dvc.yaml"))


def collect_runs() -> list[Run]:
    runs, seen = [], set()
    for kind, name, commit, baseline in gitrefs.sources():
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


def workspace_run() -> Run | None:
    """This working tree's own scored experiment (the report stage runs before anything is committed)."""
    def text(path) -> str | None:
        return Path(path).read_text() if Path(path).exists() else None
    commit = gitrefs.git("rev-parse", "HEAD", check=False).strip() or "(no commit)"
    return make_run("workspace", "workspace", commit, text(BY_SPLIT), text("dvc.lock"), text(config.PARAMS_FILE),
                    text("dvc.yaml"))


def params_raw() -> dict:
    return yaml.safe_load(config.PARAMS_FILE.read_text())


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
        # an entry written before the intervals existed has none: its claims are judged on point values
        by_split, gain_interval = split_by_split(r["by_split"])
        runs.append(Run("grid.json", r["name"], r["commit"], r["params"], by_split, dict(r["provenance"]),
                        [] if fresh else ["(code changed since it was collected)"],
                        r.get(INTERVAL) or gain_interval))
    return runs


def current_code_md5() -> str | None:
    """md5 of {code file: md5} as this dvc.lock lists the files, computed on the files here."""
    lock_path = paths.DVC_LOCK
    if not lock_path.exists():
        return None
    names = pipeline_stages(yaml.safe_load(paths.DVC_YAML.read_text()), params_raw()) \
        if paths.DVC_YAML.exists() else None
    deps = code_deps(yaml.safe_load(lock_path.read_text()), names)
    return md5_json({path: md5 for path in deps if (md5 := current_md5(path)) is not None})


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
