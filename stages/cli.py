"""The `xstilts` command. Every DVC stage's cmd is one of these subcommands.

Heavy modules (torch, transformers, datasets) are imported inside the commands, after params are
validated, so `--help`, `check` and a typo fail in well under a second.
"""
from __future__ import annotations

import json
import os
import sys

import typer

from stages import config, tasks

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="X-STILTs (Phang et al., AACL 2020) as a DVC pipeline: English intermediate-task "
                       "training, then zero-shot cross-lingual transfer. Run from the repository root.")


def _offline_if_tiny() -> None:
    """Profile tiny never touches the network."""
    try:
        profile = config.load().profile
    except config.ParamsError:
        return
    if profile == "tiny":
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


@app.command()
def check() -> None:
    """Validate params.yaml (names of profile, tasks, targets, languages; unknown keys)."""
    p = config.load()
    print(f"params.yaml OK: profile={p.profile} benchmark={p.benchmark} intermediate={p.intermediate} "
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
    from stages import claims
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


def _fmt(value, relative: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:{'+' if relative else ''}.1f}"


def _print_judgements(judged) -> None:
    print(f"{'claim':<34} {'paper':>9} {'reproduced':>16} {'delta':>7}  verdict")
    for j in judged:
        c = j.claim
        if c.is_statement and j.value is not None:
            ours = f"{j.value:g}/{j.detail.get('of', '?')}"
        else:
            ours = _fmt(j.value, c.relative)
            if j.std is not None:
                ours += f"±{j.std:.1f}"
        delta = "-" if j.delta is None else f"{j.delta:+.1f}"
        print(f"{c.id:<34} {_fmt(c.paper_value, c.relative):>9} {ours:>16} {delta:>7}  {j.verdict}"
              + (f" (missing: {', '.join(j.missing[:3])}{', ...' if len(j.missing) > 3 else ''})" if j.missing else ""))


def _grid(claim_ids: list[str] | None, profile: str | None, jobs: int, wait: bool, dry_run: bool) -> list:
    """Plan, queue and run the experiments the claims need; collect; judge. Shared by grid and claim."""
    from stages import claims, results
    p = config.load()
    profile = profile or p.profile
    config.check_name("profile", profile, tasks.PROFILES)
    reg = claims.registry()
    chosen = reg.by_id(claim_ids) if claim_ids else reg.claims
    needed = reg.needed(chosen)
    raw = results.params_raw()
    targets = {t for c in chosen for t in c.rule.get("targets", []) + ([c.rule["target"]] if "target" in c.rule else [])}
    listed = set(raw["finetune_targets"]) | set(raw["retrieval_targets"])
    if targets - listed:
        raise config.ParamsError(f"the claims need targets that params.yaml does not list: "
                                 f"{', '.join(sorted(targets - listed))}; add them to finetune_targets/retrieval_targets")
    found, notes = results.match(reg, results.current_runs(), raw, profile)
    planned = results.plan(reg, needed, raw, profile, p.seeds, found)
    todo = [e for e in planned if not e.done]
    print(f"grid ({profile}, seeds {', '.join(map(str, p.seeds))}): {len(chosen)} claims need "
          f"{len(needed)} settings; {len(planned) - len(todo)} experiments done, {len(todo)} to run")
    for e in planned:
        where = f"done: {e.run.source} {e.run.name} @ {e.run.commit[:8]}" if e.done else "to run"
        print(f"  {e.name:<34} {where}")
    if dry_run:
        return []
    if todo:
        status = results.queue_status()
        for e in todo:
            if status.get(e.name) in ("Queued", "Running"):
                continue
            results.queue(e.name, e.overrides)
        if not wait:
            results.dvc("queue", "start", "-j", str(jobs))
            print(f"queued; started {jobs} worker(s). `dvc queue status` follows them; run the same command "
                  f"again when they are done to collect and judge")
            return []
        results.run_queue(jobs, [e.name for e in todo])
        found, notes = results.match(reg, results.current_runs(), raw, profile)
    results.write_grid(results.grid_runs(found), profile)
    for n in notes:
        print(f"warning: {n}")
    print(f"collected into {results.GRID_FILE}; `dvc repro report` rebuilds the report")
    evidence = results.evidence(found)
    return [claims.judge(c, evidence, p.seeds, reg.bootstrap) for c in chosen]


CLAIMS_OPTION = typer.Option(None, "--claims", help="comma-separated claim ids (`xstilts claims` lists them); default all")


@app.command()
def grid(claim_ids: str = CLAIMS_OPTION,
         profile: str = typer.Option(None, "--profile", help="tiny | paper (default: params.yaml's)"),
         jobs: int = typer.Option(1, "--jobs", "-j", help="parallel queue workers (`dvc queue start -j`)"),
         wait: bool = typer.Option(True, "--wait/--no-wait", help="wait for the queue, then collect and judge"),
         dry_run: bool = typer.Option(False, "--dry-run", help="print the plan, queue nothing")) -> None:
    """Queue (DVC's queue) every experiment the registered claims need, at every seed of `seeds`,
    skipping the ones done; wait; collect them into reports/grid.json; print each claim's verdict."""
    ids = [c.strip() for c in claim_ids.split(",")] if claim_ids else None
    judged = _grid(ids, profile, jobs, wait, dry_run)
    if judged:
        _print_judgements(judged)


@app.command()
def claim(claim_id: str = typer.Argument(..., help="a claim id (`xstilts claims`)"),
          jobs: int = typer.Option(1, "--jobs", "-j", help="parallel queue workers")) -> None:
    """Regenerate one claim: run (or reuse) exactly the experiments it needs; print paper value,
    reproduced value, verdict and the provenance of every number."""
    judged = _grid([claim_id], None, jobs, True, False)
    _print_judgements(judged)
    for j in judged:
        for prov in j.provenance:
            print(f"  {prov['setting']}@{prov['seed']} ({prov['arm']} arm): {prov['source']} {prov['name']} "
                  f"commit {prov['commit'][:10]} score stage {prov['score_stage_md5'][:10]}")
        if j.detail:
            print(f"  detail: {json.dumps(j.detail, default=str)}")


@app.command()
def collect() -> None:
    """Gather the current runs of registered settings (experiments, branches, HEAD) into reports/grid.json."""
    from stages import claims, results
    p = config.load()
    reg = claims.registry()
    found, notes = results.match(reg, results.current_runs(), results.params_raw(), p.profile)
    runs = results.grid_runs(found)
    results.write_grid(runs, p.profile)
    for n in notes:
        print(f"warning: {n}")
    print(f"{results.GRID_FILE}: {len(runs)} runs, settings {', '.join(sorted(found)) or '(none)'}")


@app.command()
def world(out: str = "data/world") -> None:
    """Generate the embedded synthetic world (profile tiny's data and corpus)."""
    from stages import world as stage
    stage.main(out)


def _target_or_intermediate(target: str | None, intermediate: bool) -> None:
    """Validate params and the `<target> | --intermediate` choice that prepare and translate share."""
    config.load()
    if intermediate == (target is not None):
        raise config.ParamsError("give either a target name or --intermediate")
    if target is not None:
        config.check_name("target", target, tasks.TARGETS)


INTERMEDIATE_FLAG = typer.Option(False, "--intermediate", help="the intermediate data (the `intermediate` param's tasks)")


@app.command()
def prepare(target: str = typer.Argument(None, help="a target task; omit with --intermediate"),
            intermediate: bool = INTERMEDIATE_FLAG) -> None:
    """Load a task's sources (world or Hub) and write canonical rows to data/prepared/<task>."""
    _target_or_intermediate(target, intermediate)
    from stages import prepare as stage
    stage.main(target, intermediate=intermediate)


@app.command()
def translate(target: str = typer.Argument(None, help="a target task (translate-train); omit with --intermediate"),
              intermediate: bool = INTERMEDIATE_FLAG) -> None:
    """Training data in other languages: the world's lexicon (tiny) or an MT model (paper)."""
    _target_or_intermediate(target, intermediate)
    from stages import translate as stage
    stage.main_intermediate() if intermediate else stage.main_target(target)


@app.command()
def pretrain(out: str = "models/pretrained") -> None:
    """Phase (i): train tokenizer + MLM from scratch (tiny) or materialize xlm-roberta-large (paper)."""
    config.load()
    from stages import pretrain as stage
    stage.main(out)


@app.command()
def intermediate(task: str = typer.Option(..., help="intermediate task, or `none`"),
                 arm: str = typer.Option(..., help="baseline | intermediate (names the output)")) -> None:
    """Phase (ii): train the encoder on the intermediate task(s) (`none`: copy it unchanged)."""
    config.load()
    config.check_name("intermediate task", task, [tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK])
    config.check_name("arm", arm, ["baseline", "intermediate"])
    from stages import intermediate as stage
    stage.main(task, arm)


@app.command()
def finetune(task: str = typer.Option(...), arm: str = typer.Option(...)) -> None:
    """Phase (iii): fine-tune on the target's English data (fresh head), predict every language."""
    p = config.load()
    config.check_name("fine-tuned target", task, p.finetune_targets)
    config.check_name("arm", arm, ["baseline", "intermediate"])
    from stages import finetune as stage
    stage.main(task, arm)


@app.command()
def retrieve(task: str = typer.Option(...), arm: str = typer.Option(...)) -> None:
    """Retrieval targets: sentence embeddings from a hidden layer, nearest neighbours, no training."""
    p = config.load()
    config.check_name("retrieval target", task, p.retrieval_targets)
    config.check_name("arm", arm, ["baseline", "intermediate"])
    from stages import retrieve as stage
    stage.main(task, arm)


@app.command()
def score(predictions: str = typer.Option(None, help="a predictions folder in the leaderboard layout "
                                                    "(<task>/<split>-<lang>.<tsv|json|jsonl>)"),
          labels: str = typer.Option(None, help="the gold labels folder, same layout (the pipeline's: data/labels)"),
          benchmark: str = typer.Option("xtreme", help="xtreme | xtreme_r: tasks, language lists, groups"),
          split: str = typer.Option("test", help="test (evaluate.py's) | dev"),
          profile: str = typer.Option("paper", help="paper: the official language lists | tiny: the world's"),
          languages: str = typer.Option(None, help="comma-separated subset of each task's languages")) -> None:
    """Without options: the pipeline's score stage (reports/metrics.json, reports/scores.json).
    With --predictions and --labels: print evaluate.py's JSON for that folder (same code)."""
    from stages import score as stage
    if predictions is None and labels is None:
        config.load()
        stage.main()
        return
    from stages.leaderboard import LayoutError
    try:
        if predictions is None or labels is None:
            raise LayoutError("--predictions and --labels go together")
        subset = [l.strip() for l in languages.split(",")] if languages else None
        result, info = stage.cli(predictions, labels, benchmark, split, profile, subset)
    except (LayoutError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2)
    if info["missing_tasks"]:
        print(f"note: no folder on both sides for {', '.join(info['missing_tasks'])}: left out, and with them "
              f"the overall score and their groups", file=sys.stderr)
    fallback = [t for t, s in info["scored"].items() if s["split"] != split]
    if fallback:
        print(f"note: {', '.join(fallback)} scored on test (no {split} split)", file=sys.stderr)
    print(json.dumps(result, indent=2))


@app.command()
def report() -> None:
    """Render reports/report.tex (jinja2) and compile reports/report.pdf when LaTeX is installed."""
    config.load()
    from stages import report as stage
    stage.main()


def main() -> None:
    _offline_if_tiny()
    try:
        app()
    except config.ParamsError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # an actionable message for the errors we anticipate, no traceback
        from stages.data import DataSourceError
        from stages.results import GridError
        if isinstance(e, DataSourceError):
            print(f"error: {e}", file=sys.stderr)
            sys.exit(3)
        if isinstance(e, GridError):
            print(f"error: {e}", file=sys.stderr)
            sys.exit(4)
        raise


if __name__ == "__main__":
    main()
