"""The grid behind `xstilts grid`, `claim` and `collect`: plan the experiments the claims (or one
family) need at every seed, queue the missing ones on DVC's queue, wait, collect them into
reports/grid.json, and print verdicts or the family's answer. Both kinds of grid (`ClaimsGrid`,
`FamilyGrid`) go through one sequence, `run_grid`: match, plan, print, estimate, run, collect, push.
Printing is part of the job: these functions are the command line's bodies."""
from __future__ import annotations

from dataclasses import dataclass

from xstilts.claims import answers, claims, families, judge
from xstilts.core import config, tasks
from xstilts.experiments import cost, matching, planning, queue, remote, results, slurm
from xstilts.experiments.errors import GridError


def fmt(value, relative: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:{'+' if relative else ''}.1f}"


def print_judgements(judged) -> None:
    print(f"{'claim':<34} {'paper':>9} {'reproduced':>16} {'delta':>7}  verdict")
    for j in judged:
        c = j.claim
        if c.is_statement and j.value is not None:
            ours = f"{j.value:g}/{j.detail.get('of', '?')}"
        else:
            ours = fmt(j.value, c.relative)
            if j.std is not None:
                ours += f"±{j.std:.1f}"
        delta = "-" if j.delta is None else f"{j.delta:+.1f}"
        within = ""
        if j.interval is not None and not c.is_statement:
            within = f" (interval over {j.interval_over}: [{fmt(j.interval[0], c.relative)}, " \
                     f"{fmt(j.interval[1], c.relative)}])"
        print(f"{c.id:<34} {fmt(c.paper_value, c.relative):>9} {ours:>16} {delta:>7}  {j.verdict}{within}"
              + (f" (missing: {', '.join(j.missing[:3])}{', ...' if len(j.missing) > 3 else ''})" if j.missing else ""))


@dataclass
class Grid:
    """One grid: the claims' settings or one family's experiments, at every seed. How runs match its
    experiments, how the missing ones are planned, and what `run_grid` prints first."""
    reg: claims.Registry
    raw: dict
    profile: str
    seeds: list[int]
    label: str              # names the SLURM job array
    width: int              # of the experiment column

    def match(self, runs: list) -> tuple[dict, list[str]]:
        """({experiment: {seed: run}}, notes on disagreeing baseline arms) over current runs."""
        raise NotImplementedError

    def plan(self, found: dict) -> list[planning.Planned]:
        raise NotImplementedError

    def header(self, planned: list, todo: list) -> str:
        raise NotImplementedError

    def reads(self, experiment: str) -> bool:
        """Are the runs of this experiment results the grid reads (pushed to the shared cache)?"""
        return True


@dataclass
class ClaimsGrid(Grid):
    chosen: list[claims.Claim]   # the claims judged
    needed: list[str]            # the settings they need, in their order

    def match(self, runs: list) -> tuple[dict, list[str]]:
        return matching.match(self.reg, runs, self.raw, self.profile, prefer=self.needed)

    def plan(self, found: dict) -> list[planning.Planned]:
        return planning.plan(self.reg, self.needed, self.raw, self.profile, self.seeds, found)

    def header(self, planned: list, todo: list) -> str:
        return (f"grid ({self.profile}, seeds {', '.join(map(str, self.seeds))}): {len(self.chosen)} claims need "
                f"{len(self.needed)} settings; {len(planned) - len(todo)} experiments done, {len(todo)} to run")

    def reads(self, experiment: str) -> bool:
        # what these claims read (their settings and the baseline arm), not every registered setting found here
        return experiment in self.needed or experiment == claims.BASELINE


@dataclass
class FamilyGrid(Grid):
    family: families.Family

    def match(self, runs: list) -> tuple[dict, list[str]]:
        return matching.match_family(self.family, self.reg, runs, self.raw, self.profile), []

    def plan(self, found: dict) -> list[planning.Planned]:
        planned = planning.plan_family(self.family, self.reg, self.raw, self.profile, self.seeds, found)
        if claims.ccgbank_available(self.raw, self.profile):
            return planned
        # the rest of the family runs; its answer lists what is missing
        ccg = [e for e in planned if not e.done and claims.trains_on_ccg(
            e.overrides.get("intermediate", self.raw["intermediate"]))]
        if ccg:
            print(f"no CCGbank (paper.data.ccgbank): {len(ccg)} experiment(s) that train on CCG are left out "
                  f"({', '.join(e.name for e in ccg)}): CCGbank is licensed (LDC2005T13)")
            planned = [e for e in planned if e not in ccg]
        return planned

    def header(self, planned: list, todo: list) -> str:
        return (f"{self.family.id} ({self.profile}, seeds {', '.join(map(str, self.seeds))}): "
                f"{self.family.question}\n"
                f"{len(planned)} experiments: {len(planned) - len(todo)} done, {len(todo)} to run")


def run_grid(grid: Grid, jobs: int, wait: bool, dry_run: bool, on_slurm: slurm.Options | None) -> dict | None:
    """The one sequence of every grid: match the current runs, plan the missing experiments, print the
    plan (profile paper's dry run: with its GPU-hour estimate), run them (DVC's queue here, or a SLURM
    job array), collect them into reports/grid.json and push what the grid reads to the shared cache.
    {experiment: {seed: run}} once collected; None when nothing is to be read yet (a dry run, runs queued)."""
    found, notes = grid.match(results.current_runs())
    planned = grid.plan(found)
    todo = [e for e in planned if not e.done]
    print(grid.header(planned, todo))
    print_planned(planned, grid.width)
    if dry_run and grid.profile == "paper" and todo:
        print_cost(planned, grid.raw)
    store = None if dry_run else shared_cache()
    if todo and not run_todo(todo, jobs, wait, dry_run, on_slurm, grid.label, store):
        return None
    if dry_run:
        return None
    runs = results.current_runs()
    if todo:
        found, notes = grid.match(runs)
        require_done(todo, [r.name for by in found.values() for r in by.values()], on_slurm)
    results.write_grid(grid_file_runs(grid.reg, grid.raw, grid.profile, runs)[0], grid.profile)
    for note in notes:
        print(f"warning: {note}")
    print(f"collected into {results.GRID_FILE}; `dvc repro report` rebuilds the report")
    read = [r for experiment, by in found.items() if grid.reads(experiment) for r in by.values()]
    push(read, store)
    print_measured(read)
    return found


def claims_grid(claim_ids: list[str] | None, profile: str | None, jobs: int, wait: bool, dry_run: bool,
                on_slurm: slurm.Options | None = None) -> list:
    """Plan, queue and run the experiments the claims need (DVC's queue here, or a SLURM job array);
    collect; push them to the shared cache; judge. Shared by grid and claim."""
    params = config.load()
    profile = profile or params.profile
    config.check_name("profile", profile, tasks.PROFILES)
    reg = claims.registry()
    chosen = reg.by_id(claim_ids) if claim_ids else reg.claims
    needed = reg.needed(chosen)
    raw = results.params_raw()
    targets = {t for c in chosen
               for t in c.rule.get("targets", []) + ([c.rule["target"]] if "target" in c.rule else [])}
    listed = set(raw["finetune_targets"]) | set(raw["retrieval_targets"])
    if targets - listed:
        raise config.ParamsError(f"the claims need targets that params.yaml does not list: "
                                 f"{', '.join(sorted(targets - listed))}; "
                                 f"add them to finetune_targets/retrieval_targets")
    without = claims.ccgbank_missing(reg, raw, profile, needed)
    if without:  # the rest of the grid runs; those claims say what they need
        print(f"no CCGbank (paper.data.ccgbank): {len(without)} setting(s) that train on CCG are left out "
              f"({', '.join(without)}); their claims read '{claims.NEEDS_CCGBANK}'. CCGbank is licensed (LDC2005T13): "
              f"set paper.data.ccgbank to its ccgbank_1_1 directory to run them")
        needed = [setting for setting in needed if setting not in without]
    label = "claims" if claim_ids is None else "-".join(claim_ids)[:40]
    grid = ClaimsGrid(reg, raw, profile, params.seeds, label, 34, chosen=chosen, needed=needed)
    found = run_grid(grid, jobs, wait, dry_run, on_slurm)
    if found is None:
        return []
    evidence = matching.evidence(found)
    return claims.mark_ccgbank([judge.judge(c, evidence, params.seeds, reg.bootstrap) for c in chosen], without)


def shared_cache() -> remote.Remote | None:
    """The default DVC remote, checked before anything runs (one line on what to fix), or None."""
    store = remote.default()
    if store is not None:
        remote.check(store)
    return store


def run_todo(todo: list, jobs: int, wait: bool, dry_run: bool, on_slurm, label: str, store) -> bool:
    """Run the missing experiments here (DVC's queue) or on SLURM, in waves (planning.waves: what they
    share is computed once, before the fan-out); True when they are done and to collect."""
    waves = planning.waves(todo, results.params_raw())
    if on_slurm is not None:
        profile = todo[0].overrides.get("profile") or config.load().profile
        threads = config.validate(claims.with_overrides(results.params_raw(), {"profile": profile})).runtime().threads
        on_slurm = slurm.for_profile(on_slurm, profile, threads)
        if store is not None and not dry_run:
            remote.push_workspace(store)  # what this workspace computed, for the jobs to restore
        return slurm.run(waves, on_slurm, label, wait, dry_run, store)
    if dry_run:
        return False
    if len(waves) > 1:
        print(f"in {len(waves)} waves ({' + '.join(str(len(w)) for w in waves)} experiments): what they share "
              f"(data, each model and seed's baseline arm) is computed once, then restored by DVC's run-cache")
    for i, wave in enumerate(waves):
        if not queue_and_wait(wave, jobs, wait):
            if i + 1 < len(waves):
                print(f"queued wave 1 of {len(waves)}; run the same command again when it is done for the next")
            return False
    return True


def require_done(todo: list, found_names: list[str], on_slurm) -> None:
    """After the runs: every planned experiment has a current run, else say which did not and where to look."""
    missing = [e.name for e in todo if e.name not in found_names]
    if not missing:
        return
    where = slurm.failed_tasks(missing) if on_slurm is not None else \
        [f"{n}: `dvc queue logs {n}`" for n in missing]
    raise GridError(f"{len(missing)} experiment(s) ended without a result:\n  " + "\n  ".join(where)
                            + "\nrerun the same command: what is done is skipped, and a task resumes from its "
                              "checkpoints")


def push(runs: list, store) -> None:
    """With a default DVC remote: every experiment these results use that the git remote lacks."""
    if store is None:
        return
    names = remote.unpushed(runs)
    if names:
        remote.push_experiments(names, store)


def print_measured(runs: list) -> None:
    """Measured device-hours per experiment (xstilts/train/runtime.py's cost logs), with the estimate."""
    seen = {}
    for r in runs:
        seen.setdefault(r.commit, r)
    if not seen:
        return
    print("cost, measured where each run's stages ran (stages restored from the run-cache cost nothing):")
    print(f"  {'run':<56} {'device-h':>9} {'device':<22} {'estimate GPU-h':>14}")
    for r in seen.values():
        c = r.provenance.get("cost")
        print(f"  {r.name:<56} {cost.hours_text(c['device_hours']) if c else '-':>9} "
              f"{', '.join(c['devices']) if c else 'not measured here':<22} "
              f"{cost.hours_text(cost.run_estimate(r.params)):>14}")
    total, n, of = cost.measured_hours(seen.values())
    print(f"  total: {cost.hours_text(total)} device-hours measured for {n} of {of} run(s)")


def print_planned(planned: list, width: int) -> None:
    for e in planned:
        where = f"done: {e.run.source} {e.run.name} @ {e.run.commit[:8]}" if e.done else "to run"
        measured = e.run.provenance.get("cost") if e.done else None
        if measured:
            where += f" ({cost.hours_text(measured['device_hours'])} device-h, {', '.join(measured['devices'])})"
        print(f"  {e.name:<{width}} {where}")


def queue_and_wait(todo: list, jobs: int, wait: bool) -> bool:
    """Queue what is not queued yet; start the workers; with wait, block until they finish."""
    status = queue.queue_status()
    for e in todo:
        if status.get(e.name) not in ("Queued", "Running"):
            queue.queue(e.name, e.overrides)
    if not wait:
        queue.dvc("queue", "start", "-j", str(jobs))
        print(f"queued; started {jobs} worker(s). `dvc queue status` follows them; run the same command "
              f"again when they are done to collect")
        return False
    queue.run_queue(jobs, [e.name for e in todo])
    return True


def print_cost(planned: list, raw: dict) -> None:
    """Profile paper's GPU-hour estimate for the experiments still to run (xstilts/experiments/cost.py)."""
    covered = {cost.baseline_key(config.validate(claims.with_overrides(raw, e.run.params | {})))
               for e in planned if e.done}
    todo = [e for e in planned if not e.done]
    experiments = [config.validate(claims.with_overrides(raw, e.overrides)) for e in todo]
    total, sources = 0.0, set()
    print(f"  {'experiment':<56} {'model':<18} {'train tokens':>13} {'GPU-h':>7}")
    for e, params, est in zip(todo, experiments, cost.estimate_all(experiments, covered)):
        total += est.gpu_hours
        sources.add(est.throughput_source)
        print(f"  {e.name:<56} {params.model:<18} {est.total_tokens:>13.3g} {est.gpu_hours:>7.1f}")
    print(f"estimated GPU-hours to run: {total:.1f} (one GPU; {cost.ASSUMPTIONS})")
    for s in sorted(sources):
        print(f"  throughput: {s}")


def family_grid(family_id: str, profile: str | None, jobs: int, wait: bool, dry_run: bool,
                on_slurm: slurm.Options | None = None) -> None:
    """Plan, queue and run one family's experiments; collect; push them; print the family's answer."""
    params = config.load()
    profile = profile or params.profile
    config.check_name("profile", profile, tasks.PROFILES)
    fams = families.load()
    fam = fams.get(family_id) or (_ for _ in ()).throw(config.unknown("family", family_id, list(fams)))
    reg = claims.registry()
    raw = results.params_raw()
    families.check({fam.id: fam}, reg, raw)
    found = run_grid(FamilyGrid(reg, raw, profile, params.seeds, fam.id, 56, family=fam), jobs, wait, dry_run, on_slurm)
    if found is None:
        return
    profile_params = config.validate(claims.with_overrides(raw, {"profile": profile}))
    print_section(answers.analyse(fam, reg, found, profile_params, profile))


def print_section(section) -> None:
    widths = [max(len(str(r[i])) for r in [section.header, *section.rows]) for i in range(len(section.header))]
    for row in [section.header, *section.rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print(f"answer: {section.answer}")
    if section.missing:
        print(f"missing experiments: {', '.join(section.missing)}")


def grid_file_runs(reg, raw: dict, profile: str, runs: list) -> tuple[list, list[str], dict]:
    """The runs reports/grid.json keeps: every registered setting's, then every family experiment's
    (once each), with the notes on disagreeing baselines and the settings found."""
    found, notes = matching.match(reg, runs, raw, profile)
    out = matching.grid_runs(found)
    seen = {r.commit for r in out}
    for fam in families.load().values():
        for _, by_seed in sorted(matching.match_family(fam, reg, runs, raw, profile).items()):
            for _, run in sorted(by_seed.items()):
                if run.commit not in seen:
                    seen.add(run.commit)
                    out.append(run)
    return out, notes, found
