"""The `xstilts` command: what a researcher runs by hand (check params, list tasks, claims, families,
models and languages, run grids and claims, collect results, score a predictions folder, check the
stages' code deps). The DVC stages do not go through it: each stage's cmd runs its script in stages/.

Heavy modules are imported inside the commands, so `--help`, `check` and a typo fail in well under
a second.
"""
from __future__ import annotations

import json
import sys

import typer

from xstilts.core import config, tasks
from xstilts.core.errors import XstiltsError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="X-STILTs (Phang et al., AACL 2020) as a DVC pipeline: English intermediate-task "
                       "training, then zero-shot cross-lingual transfer. Run from the repository root.")


@app.command()
def check() -> None:
    """Validate params.yaml (names of profile, tasks, targets, languages; unknown keys) and the run
    against its model (retrieval layer, sequence lengths, MLM head, tokenizer; a local copy that is
    not the registry's model)."""
    from xstilts.core import checks
    p = config.load()
    found = checks.run(p, deep=True)
    for w in found.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if found.errors:
        raise config.ParamsError("\n       ".join(found.errors))
    print(f"params.yaml OK: profile={p.profile} model={p.model} benchmark={p.benchmark} intermediate={p.intermediate} "
          f"targets={','.join(p.active_targets)} seed={p.seed}")


@app.command("tasks")
def tasks_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every intermediate and target task: type, source, metric, training data, languages."""
    rows = tasks.registry_rows()
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print(f"{'name':<14} {'role':<13} {'type':<18} {'metric':<15} {'trains on':<13} "
          f"{'xtreme':>6} {'xtreme_r':>8}  source")
    for r in rows:
        langs = {b: str(len(r["languages"].get(b, []))) if b in r["benchmarks"] else "-" for b in tasks.BENCHMARKS}
        print(f"{r['name']:<14} {r['role']:<13} {r['type']:<18} {r['metric']:<15} {r['train_data'] or '-':<13} "
              f"{langs['xtreme']:>6} {langs['xtreme_r']:>8}  {r['source']}")
    print(f"{tasks.NO_INTERMEDIATE:<14} {'intermediate':<13} (no intermediate training: the baseline)")
    for name, members in tasks.MULTITASK.items():
        print(f"{name:<14} {'intermediate':<13} (multi-task: {', '.join(members)})")
    print("Columns xtreme / xtreme_r: number of evaluation languages in that benchmark (- = not in it). "
          "`--json` has the full lists, splits, revisions and notes.")


@app.command("claims")
def claims_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every registered claim (claims.yaml): id, paper value, the experiments it needs."""
    from xstilts.claims import claims
    rows = claims.load()
    if as_json:
        print(json.dumps([c.as_dict() for c in rows], indent=2))
        return
    print(f"{'id':<34} {'paper':>9}  {'rule':<15} settings")
    for c in rows:
        relative = c.rule["kind"] in ("gain", "gain_avg", "best_setting") or c.id == "xtreme-best-per-task"
        value = c.paper_value if isinstance(c.paper_value, str) else f"{c.paper_value:{'+' if relative else ''}.1f}"
        print(f"{c.id:<34} {value:>9}  {c.rule['kind']:<15} {', '.join(c.settings)}")
    print(f"{len(rows)} claims (claims.yaml); `--json` has statements, sources, rules and tolerances.")


PROFILE_OPTION = typer.Option(None, "--profile", help="tiny | paper (default: params.yaml's)")


CLAIMS_OPTION = typer.Option(None, "--claims", help="comma-separated claim ids (`xstilts claims` lists them); "
                                                    "default all")


@app.command()
def grid(claim_ids: str = CLAIMS_OPTION,
         family: str = typer.Option(None, "--family", help="a research-question family instead of the claims "
                                                           "(`xstilts families` lists them)"),
         profile: str = typer.Option(None, "--profile", help="tiny | paper (default: params.yaml's)"),
         jobs: int = typer.Option(1, "--jobs", "-j", help="parallel queue workers (`dvc queue start -j`); each "
                                                          "stage leases its own GPU(s)"),
         wait: bool = typer.Option(True, "--wait/--no-wait", help="wait for the runs, then collect and judge"),
         dry_run: bool = typer.Option(False, "--dry-run", help="print the plan (profile paper: with a GPU-hour "
                                                                "estimate; with --slurm: the sbatch script), "
                                                                "run nothing"),
         on_slurm: bool = typer.Option(False, "--slurm", help="one SLURM job array, one experiment per task, each in "
                                                              "its own clone, sharing the default DVC remote"),
         partition: str = typer.Option(None, "--partition", help="--slurm: sbatch --partition"),
         gpus_per_job: int = typer.Option(None, "--gpus-per-job", help="--slurm: GPUs per task (sbatch --gres=gpu:G; "
                                                                       "default 1 in profile paper, 0 in tiny); "
                                                                       "G > 1 runs the stages DDP over them"),
         time_limit: str = typer.Option(None, "--time", help="--slurm: sbatch --time, e.g. 24:00:00"),
         cpus_per_task: int = typer.Option(None, "--cpus-per-task", help="--slurm: sbatch --cpus-per-task (default: "
                                                                         "runtime.<profile>.threads x GPUs per task)"),
         account: str = typer.Option(None, "--account", help="--slurm: sbatch --account"),
         qos: str = typer.Option(None, "--qos", help="--slurm: sbatch --qos"),
         mem: str = typer.Option(None, "--mem", help="--slurm: sbatch --mem, e.g. 64G"),
         constraint: str = typer.Option(None, "--constraint", help="--slurm: sbatch --constraint, e.g. 'a100|h100'"),
         signal_grace: int = typer.Option(300, "--signal-grace", help="--slurm: seconds before the time limit at "
                                                                      "which the stage gets SIGTERM and checkpoints "
                                                                      "(sbatch --signal=B:TERM@S; 0: none)"),
         sbatch: list[str] = typer.Option([], "--sbatch", help="--slurm: any other sbatch option, repeatable, "
                                                               "e.g. --sbatch=--exclude=node07")) -> None:
    """Run (DVC's queue here, or SLURM with --slurm) every experiment the registered claims need, or one
    family's grid, at every seed of `seeds`, skipping the ones done; wait; collect them into
    reports/grid.json; push them to the default DVC remote and the git remote; print each claim's
    verdict or the family's answer, and the measured device-hours."""
    from xstilts.experiments import grid as grid_mod
    from xstilts.experiments import slurm
    slurm_opts = slurm.Options(partition, gpus_per_job, time_limit, cpus_per_task, account, qos, mem, constraint,
                               signal_grace, tuple(sbatch)) if on_slurm else None
    if not on_slurm and (partition or gpus_per_job is not None or time_limit or cpus_per_task or account or qos
                         or mem or constraint or sbatch):
        raise config.ParamsError("--partition, --gpus-per-job, --time, --cpus-per-task, --account, --qos, --mem, "
                                 "--constraint and --sbatch go with --slurm")
    if family:
        if claim_ids:
            raise config.ParamsError("give --claims or --family, not both")
        grid_mod.family_grid(family, profile, jobs, wait, dry_run, slurm_opts)
        return
    ids = [c.strip() for c in claim_ids.split(",")] if claim_ids else None
    judged = grid_mod.claims_grid(ids, profile, jobs, wait, dry_run, slurm_opts)
    if judged:
        grid_mod.print_judgements(judged)


@app.command()
def pin(dry_run: bool = typer.Option(False, "--dry-run", help="print the pins, write nothing")) -> None:
    """Pin every Hub dataset repo profile paper reads to the commit its revision names now (online):
    writes paper.data.revisions in params.yaml (xstilts/data/pins.py). Commit the result."""
    from xstilts.claims import claims
    from xstilts.data import pins
    from xstilts.experiments import results
    p = config.load()
    paper = config.validate(claims.with_overrides(results.params_raw(), {"profile": "paper"}))
    new = pins.pin(config.PARAMS_FILE, p.raw["paper"]["data"].get("revisions"),
                   paper.group("intermediate_train").mlm_params(), dry_run=dry_run)
    print(f"pin: {len(new)} repo(s) {'would be ' if dry_run else ''}pinned"
          + ("" if dry_run or not new else f" in {config.PARAMS_FILE}: commit it"))


@app.command()
def claim(claim_id: str = typer.Argument(..., help="a claim id (`xstilts claims`)"),
          profile: str = PROFILE_OPTION,
          jobs: int = typer.Option(1, "--jobs", "-j", help="parallel queue workers")) -> None:
    """Regenerate one claim: run (or reuse) exactly the experiments it needs; print paper value,
    reproduced value, verdict, the provenance of every number and what its runs cost."""
    from xstilts.experiments import cost
    from xstilts.experiments import grid as grid_mod
    judged = grid_mod.claims_grid([claim_id], profile, jobs, True, False)
    grid_mod.print_judgements(judged)
    for j in judged:
        runs = {}
        for prov in j.provenance:
            print(f"  {prov['setting']}@{prov['seed']} ({prov['arm']} arm): {prov['source']} {prov['name']} "
                  f"commit {prov['commit'][:10]} score stage {prov['score_stage_md5'][:10]}")
            runs[prov["commit"]] = prov.get("cost")
        if j.detail:
            print(f"  detail: {json.dumps(j.detail, default=str)}")
        measured = [c for c in runs.values() if c]
        print(f"  cost: {cost.hours_text(sum(c['device_hours'] for c in measured))} device-hours measured for "
              f"{len(measured)} of {len(runs)} run(s)")


@app.command()
def collect(from_remote: bool = typer.Option(False, "--remote", help="first fetch every experiment the git remote "
                                                                    "holds (a colleague's, a cluster's)"),
            with_data: bool = typer.Option(False, "--with-data", help="--remote: also pull their outputs and "
                                                                      "run-cache from the default DVC remote")) -> None:
    """Gather the current runs of registered settings and families (experiments, branches, HEAD) into
    reports/grid.json."""
    from xstilts.claims import claims
    from xstilts.experiments import grid, remote, results
    if with_data and not from_remote:
        raise config.ParamsError("--with-data goes with --remote")
    if from_remote:
        remote.pull_experiments(remote.default(), with_data)
    p = config.load()
    reg = claims.registry()
    runs, notes, found = grid.grid_file_runs(reg, results.params_raw(), p.profile, results.current_runs())
    results.write_grid(runs, p.profile)
    for n in notes:
        print(f"warning: {n}")
    print(f"{results.GRID_FILE}: {len(runs)} runs, settings {', '.join(sorted(found)) or '(none)'}")


@app.command("families")
def families_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
                 profile: str = PROFILE_OPTION) -> None:
    """List the research-question families (families.yaml): question, analysis, experiments."""
    from xstilts.claims import claims, families
    profile = _profile_params(profile).profile
    reg = claims.registry()
    fams = families.load()
    rows = [{"id": f.id, "question": f.question, "analysis": f.analysis, "fixed": f.fixed,
             "experiments": [e.params for e in f.experiments(reg, profile)]} for f in fams.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r, f in zip(rows, fams.values()):
        axes = " x ".join(f"{a} ({len(f.values(a, profile))})" for a in f.axes)
        print(f"{r['id']:<24} {len(r['experiments']):>2} experiments ({profile}): {axes}\n  {r['question']}")


def _profile_params(profile: str | None) -> config.Params:
    """params.yaml as the named profile (default: its own) sees it."""
    from xstilts.claims import claims
    from xstilts.experiments import results
    p = config.load()
    profile = profile or p.profile
    config.check_name("profile", profile, tasks.PROFILES)
    return config.validate(claims.with_overrides(results.params_raw(), {"profile": profile}))


@app.command("models")
def models_cmd(profile: str = PROFILE_OPTION) -> None:
    """List the encoders the `model` param can name in a profile."""
    q = _profile_params(profile)
    profile = q.profile
    vocab = q.group("pretrain").vocab_size or 0
    print(f"{'model':<28} {'arch':<5} {'params (M)':>10} {'retrieval layer':>15}  source")
    for name in q.raw[profile]["models"]:
        spec = q.model_spec(name)
        source = f"{spec.hub} @ {spec.revision[:12]}" if spec.hub else \
            f"pretrained here: {spec.num_layers} layers x {spec.hidden_size}, {spec.num_heads} heads"
        mark = " (default)" if name == q.raw[profile]["default_model"] else ""
        print(f"{name + mark:<28} {spec.arch:<5} {config.approx_parameters(spec, vocab):>10.1f} "
              f"{spec.retrieval_layer:>15}  {source}")


@app.command("languages")
def languages_cmd(profile: str = PROFILE_OPTION) -> None:
    """List the profile's languages with family, script and resource level (xstilts/claims/languages.py)."""
    from xstilts.claims import languages
    q = _profile_params(profile)
    print(f"{'code':<5} {'name':<16} {'family':<28} {'script':<14} {'resource':<8} measured on")
    for info in languages.metadata(q).values():
        print(f"{info.code:<5} {info.name:<16} {info.family:<28} {info.script:<14} {info.resource:<8} "
              f"{info.pretraining}")


@app.command()
def score(predictions: str = typer.Option(..., help="a predictions folder in the leaderboard layout "
                                                   "(<task>/<split>-<lang>.<tsv|json|jsonl>)"),
          labels: str = typer.Option(..., help="the gold labels folder, same layout (the pipeline's: data/labels)"),
          benchmark: str = typer.Option("xtreme", help="xtreme | xtreme_r: tasks, language lists, groups"),
          split: str = typer.Option("test", help="test (evaluate.py's) | dev"),
          profile: str = typer.Option("paper", help="paper: the official language lists | tiny: the world's"),
          languages: str = typer.Option(None, help="comma-separated subset of each task's languages")) -> None:
    """Print evaluate.py's JSON for a predictions folder against a labels folder (the score stage's
    code: stages/score.py writes the pipeline's own with it). A file that cannot be read exits 2
    with one line naming it; unanswered questions are `note:` lines on stderr."""
    from xstilts.eval import scorer
    from xstilts.kinds import LayoutError
    try:
        subset = [l.strip() for l in languages.split(",")] if languages else None
        result, info = scorer.score_folder(predictions, labels, benchmark, split, profile, subset)
    except (LayoutError, OSError) as e:  # ScoreError and FileFormatError are LayoutErrors; OSError: unreadable files
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    if info["missing_tasks"]:
        print(f"note: no folder on both sides for {', '.join(info['missing_tasks'])}: left out, and with them "
              f"the overall score and their groups", file=sys.stderr)
    fallback = [t for t, s in info["scored"].items() if s["split"] != split]
    if fallback:
        print(f"note: {', '.join(fallback)} scored on test (no {split} split)", file=sys.stderr)
    for note in info["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps(result, indent=2))


@app.command()
def deps(script: str = typer.Argument(None, help="a stage script, e.g. stages/finetune.py: print the code it "
                                                 "runs")) -> None:
    """Print the code a stage script can run (its script and every xstilts module it imports, directly
    or not: what stage `code` records in its manifest); without SCRIPT, check that every stage of
    dvc.yaml depends on its own script's manifest."""
    from xstilts.core import manifests
    if script:
        print("\n".join(manifests.closure(script)))
        return
    problems = manifests.check()
    for line in problems:
        print(line)
    if problems:
        raise typer.Exit(1)
    print("dvc.yaml: every stage depends on its own script's code manifest")


@app.command()
def dry(overrides: list[str] = typer.Option(None, "-S", "--set-param", help="key=value, as `dvc exp run -S` "
                                             "takes it (repeatable)"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="also print DVC's own lines")) -> None:
    """List the stages `dvc repro` (no -S) or `dvc exp run -S key=value` would run here, running nothing:
    DVC's own dry run, which DVC 3.67's `--dry` cannot finish when a stage's input is not written yet
    (a fresh clone; every `dvc exp run --dry`). Stages whose inputs an earlier one rewrites are listed too."""
    from xstilts.core import dryrun
    stages = dryrun.listing(overrides or [], validate=config.load, verbose=verbose)
    what = f"dvc exp run -S {' -S '.join(overrides)}" if overrides else "dvc repro"
    if not stages:
        print(f"{what}: nothing would run (every stage is up to date or restored from the cache)")
        return
    print(f"{what} would run {len(stages)} stage(s):")
    for name in stages:
        print(f"  {name}")


@app.command()
def preflight(allow_cpu: bool = typer.Option(False, "--allow-cpu", help="pass without a GPU (a fixture run on a "
                                                                        "laptop)")) -> None:
    """Before a long profile-paper run, on the machine that will run it: params against the model,
    the Hub or the local mirror (every split the run reads; `hf download` commands for what is
    missing), the models, free disk, the GPUs, and the GPU-hour estimate of this run and of the paper's
    grid. Exits 1 when something would stop the run."""
    from xstilts.claims import claims
    from xstilts.experiments import preflight as pf
    from xstilts.experiments import results
    p = _profile_params("paper")
    lines, commands = pf.preflight(p, claims.with_overrides(results.params_raw(), {"profile": "paper"}), allow_cpu)
    for line in lines:
        print(f"{line.status:<4} {line.check:<6} {line.text}")
    if commands:
        print("\nTo fetch what is missing, on a machine with network:")
        print("\n".join(f"  {c}" for c in commands))
    failed = [line for line in lines if line.status == "FAIL"]
    print(f"\npreflight: {'FAIL: ' + str(len(failed)) + ' check(s) would stop the run' if failed else 'OK'}")
    if failed:
        raise typer.Exit(1)


fixtures = typer.Typer(no_args_is_help=True, help="Write fixtures in the real formats: a small Hub mirror of every "
                                                  "dataset, random-weight copies of every paper model.")
app.add_typer(fixtures, name="fixtures")


@fixtures.command("mirror")
def fixtures_mirror(out: str = typer.Argument(..., help="the mirror's directory (then paper.data.local_hub: OUT)"),
                    seed: int = typer.Option(0, help="the rows' seed")) -> None:
    """Every repo/config/split the task registry names (both benchmarks, every official language,
    published translations, the MLM corpus), a few rows each in the real layouts and schemas, and
    a CCGbank-shaped directory under OUT/ccgbank_1_1."""
    from pathlib import Path

    from xstilts.data import fixtures as data_fixtures
    from xstilts.data import needs
    p = _profile_params("paper")
    root = Path(out)
    summary = data_fixtures.write_mirror(root, needs.all_needs(p.group("intermediate_train").mlm_params()), seed=seed)
    ccg = data_fixtures.write_ccgbank(root / "ccgbank_1_1", seed=seed)
    print(f"fixtures mirror: {summary['files']} files in {len(summary['repos'])} repos "
          f"({summary['bytes'] / 1e6:.1f} MB) -> {root}; CCGbank -> {ccg}\n"
          f"Use it: dvc exp run -S profile=paper -S paper.data.local_hub={root.resolve()} "
          f"-S paper.data.ccgbank={ccg.resolve()}")


@fixtures.command("models")
def fixtures_models(out: str = typer.Argument(..., help="the models' directory (then "
                                                       "paper.pretrain.local_models: OUT)"),
                    only: str = typer.Option(None, help="comma-separated model names "
                                                        "(`xstilts models --profile paper`); "
                                                        "default all"),
                    seed: int = typer.Option(0, help="the weights' seed")) -> None:
    """Random-weight checkpoints of every paper model, in small configs of the real architectures
    (the real depth; XLM-R's SentencePiece, mBERT's WordPiece, mT5's SentencePiece), under OUT/<hub repo>/.
    Not the paper's models: a run on them checks the machinery, and its report says so."""
    from pathlib import Path

    from xstilts.model import fixtures as model_fixtures
    p = _profile_params("paper")
    names = [n.strip() for n in only.split(",")] if only else None
    for n in names or []:
        config.check_name("model for profile paper", n, p.raw["paper"]["models"])
    specs = {n: p.model_spec(n) for n in p.raw["paper"]["models"]}
    for m in model_fixtures.write_models(Path(out), specs, seed=seed, only=names):
        print(f"fixtures models: {m['name']:<18} {m['arch']:<5} {m['num_layers']:>2} layers, "
              f"{m['parameters']:,} encoder parameters -> {m['path']}")
    print(f"Use them: -S paper.pretrain.local_models={Path(out).resolve()}")


def main() -> None:
    try:
        app()
    except XstiltsError as e:  # an actionable message for the errors we anticipate, no traceback
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
