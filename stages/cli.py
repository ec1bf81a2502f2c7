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
    _print_planned(planned, 34)
    if dry_run and profile == "paper" and todo:
        _print_cost(planned, raw)
    if dry_run:
        return []
    if todo:
        if not _queue_and_wait(todo, jobs, wait):
            return []
        found, notes = results.match(reg, results.current_runs(), raw, profile)
    results.write_grid(_grid_file_runs(reg, raw, profile, results.current_runs())[0], profile)
    for n in notes:
        print(f"warning: {n}")
    print(f"collected into {results.GRID_FILE}; `dvc repro report` rebuilds the report")
    evidence = results.evidence(found)
    return [claims.judge(c, evidence, p.seeds, reg.bootstrap) for c in chosen]


PROFILE_OPTION = typer.Option(None, "--profile", help="tiny | paper (default: params.yaml's)")


CLAIMS_OPTION = typer.Option(None, "--claims", help="comma-separated claim ids (`xstilts claims` lists them); default all")


@app.command()
def grid(claim_ids: str = CLAIMS_OPTION,
         family: str = typer.Option(None, "--family", help="a research-question family instead of the claims "
                                                           "(`xstilts families` lists them)"),
         profile: str = typer.Option(None, "--profile", help="tiny | paper (default: params.yaml's)"),
         jobs: int = typer.Option(1, "--jobs", "-j", help="parallel queue workers (`dvc queue start -j`)"),
         wait: bool = typer.Option(True, "--wait/--no-wait", help="wait for the queue, then collect and judge"),
         dry_run: bool = typer.Option(False, "--dry-run", help="print the plan (profile paper: with a GPU-hour "
                                                                "estimate), queue nothing")) -> None:
    """Queue (DVC's queue) every experiment the registered claims need, or one family's grid, at every
    seed of `seeds`, skipping the ones done; wait; collect them into reports/grid.json; print each
    claim's verdict or the family's answer."""
    if family:
        if claim_ids:
            raise config.ParamsError("give --claims or --family, not both")
        _family_grid(family, profile, jobs, wait, dry_run)
        return
    ids = [c.strip() for c in claim_ids.split(",")] if claim_ids else None
    judged = _grid(ids, profile, jobs, wait, dry_run)
    if judged:
        _print_judgements(judged)


def _print_planned(planned: list, width: int) -> None:
    for e in planned:
        where = f"done: {e.run.source} {e.run.name} @ {e.run.commit[:8]}" if e.done else "to run"
        print(f"  {e.name:<{width}} {where}")


def _queue_and_wait(todo: list, jobs: int, wait: bool) -> bool:
    """Queue what is not queued yet; start the workers; with wait, block until they finish."""
    from stages import results
    status = results.queue_status()
    for e in todo:
        if status.get(e.name) not in ("Queued", "Running"):
            results.queue(e.name, e.overrides)
    if not wait:
        results.dvc("queue", "start", "-j", str(jobs))
        print(f"queued; started {jobs} worker(s). `dvc queue status` follows them; run the same command "
              f"again when they are done to collect")
        return False
    results.run_queue(jobs, [e.name for e in todo])
    return True


def _print_cost(planned: list, raw: dict) -> None:
    """Profile paper's GPU-hour estimate for the experiments still to run (stages/cost.py)."""
    from stages import cost, results

    def baseline_key(params: dict) -> tuple:
        p = config.validate(params)
        return (p.model, p.seed, p.benchmark, p.target_training, tuple(p.active_targets))

    covered = {baseline_key(results.apply(raw, e.run.params | {})) for e in planned if e.done}
    total, sources = 0.0, set()
    print(f"  {'experiment':<56} {'model':<18} {'train tokens':>13} {'GPU-h':>7}")
    for e in planned:
        if e.done:
            continue
        params = config.validate(results.apply(raw, e.overrides))
        key = baseline_key(results.apply(raw, e.overrides))
        est = cost.estimate(params, with_baseline=key not in covered)
        covered.add(key)
        total += est.gpu_hours
        sources.add(est.throughput_source)
        print(f"  {e.name:<56} {params.model:<18} {est.total_tokens:>13.3g} {est.gpu_hours:>7.1f}")
    print(f"estimated GPU-hours to run: {total:.1f} (one GPU; an upper bound on the schedule: full epochs, every "
          f"sequence at max_seq_length; evaluation, translation and downloads not included)")
    for s in sorted(sources):
        print(f"  throughput: {s}")


def _family_grid(family_id: str, profile: str | None, jobs: int, wait: bool, dry_run: bool) -> None:
    from stages import claims, families, results
    p = config.load()
    profile = profile or p.profile
    config.check_name("profile", profile, tasks.PROFILES)
    fams = families.load()
    fam = fams.get(family_id) or (_ for _ in ()).throw(config.unknown("family", family_id, list(fams)))
    reg = claims.registry()
    raw = results.params_raw()
    families.check({fam.id: fam}, reg, raw)
    found = families.match(fam, reg, results.current_runs(), raw, profile)
    planned = families.plan(fam, reg, raw, profile, p.seeds, found)
    todo = [e for e in planned if not e.done]
    print(f"{fam.id} ({profile}, seeds {', '.join(map(str, p.seeds))}): {fam.question}\n"
          f"{len(planned)} experiments: {len(planned) - len(todo)} done, {len(todo)} to run")
    _print_planned(planned, 56)
    if dry_run:
        if profile == "paper" and todo:
            _print_cost(planned, raw)
        return
    if todo and not _queue_and_wait(todo, jobs, wait):
        return
    runs = results.current_runs()
    results.write_grid(_grid_file_runs(reg, raw, profile, runs)[0], profile)
    print(f"collected into {results.GRID_FILE}; `dvc repro report` rebuilds the report")
    found = families.match(fam, reg, runs, raw, profile)
    section = families.analyse(fam, reg, found, config.validate(results.apply(raw, {"profile": profile})), profile)
    _print_section(section)


def _print_section(section) -> None:
    widths = [max(len(str(r[i])) for r in [section.header, *section.rows]) for i in range(len(section.header))]
    for row in [section.header, *section.rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print(f"answer: {section.answer}")
    if section.missing:
        print(f"missing experiments: {', '.join(section.missing)}")


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


def _grid_file_runs(reg, raw: dict, profile: str, runs: list) -> tuple[list, list[str], dict]:
    """The runs reports/grid.json keeps: every registered setting's, then every family experiment's
    (once each), with the notes on disagreeing baselines and the settings found."""
    from stages import families, results
    found, notes = results.match(reg, runs, raw, profile)
    out = results.grid_runs(found)
    seen = {r.commit for r in out}
    for fam in families.load().values():
        for _, by_seed in sorted(families.match(fam, reg, runs, raw, profile).items()):
            for _, run in sorted(by_seed.items()):
                if run.commit not in seen:
                    seen.add(run.commit)
                    out.append(run)
    return out, notes, found


@app.command()
def collect() -> None:
    """Gather the current runs of registered settings and families (experiments, branches, HEAD) into
    reports/grid.json."""
    from stages import claims, results
    p = config.load()
    reg = claims.registry()
    runs, notes, found = _grid_file_runs(reg, results.params_raw(), p.profile, results.current_runs())
    results.write_grid(runs, p.profile)
    for n in notes:
        print(f"warning: {n}")
    print(f"{results.GRID_FILE}: {len(runs)} runs, settings {', '.join(sorted(found)) or '(none)'}")


@app.command("families")
def families_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
                 profile: str = PROFILE_OPTION) -> None:
    """List the research-question families (families.yaml): question, analysis, experiments."""
    from stages import claims, families
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
    from stages import results
    p = config.load()
    profile = profile or p.profile
    config.check_name("profile", profile, tasks.PROFILES)
    return config.validate(results.apply(results.params_raw(), {"profile": profile}))


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
    """List the profile's languages with family, script and resource level (stages/languages.py)."""
    from stages import languages
    q = _profile_params(profile)
    print(f"{'code':<5} {'name':<16} {'family':<28} {'script':<14} {'resource':<8} measured on")
    for info in languages.metadata(q).values():
        print(f"{info.code:<5} {info.name:<16} {info.family:<28} {info.script:<14} {info.resource:<8} {info.pretraining}")


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
