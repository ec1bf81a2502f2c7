"""How a stage script runs: params.yaml read and validated once, checked against the model
(xstilts/core/checks.py), the script's command-line arguments checked against the same params
(xstilts/core/param_rules.py, STAGE_ARGUMENTS), profile tiny kept offline, and the
errors a user can fix printed as one line with their exit code (2 params, 3 data source, ...)."""
from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from xstilts.core import checks, config, param_rules
from xstilts.core.errors import XstiltsError


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds: atomic_dir removes what was being written


def run(main: Callable[..., None], *args) -> None:
    """Call main(params, *args). SIGTERM (a scheduler's preemption) exits through Python's unwinding,
    so nothing half-written stays (the trainer takes SIGTERM over while it trains, to checkpoint)."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        params = config.load()
        problems = checks.run(params).errors  # the run against its model: milliseconds, before any work
        if problems:
            raise config.ParamsError("\n       ".join(problems))
        check_arguments(sys.argv[0], params, args)  # the script's own arguments, against the same params
        if params.profile == "tiny":  # profile tiny never touches the network
            for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
                os.environ[var] = "1"
        main(params, *args)
    except XstiltsError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


def arm_and_task(argv: list[str] | None = None) -> tuple[str, str]:
    """--arm A --task T, as the finetune and retrieve stages take them."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", required=True, help="baseline | intermediate (names the output)")
    parser.add_argument("--task", required=True)
    parsed = parser.parse_args(argv)
    return parsed.arm, parsed.task


def check_arguments(script: str, params: config.Params, args: tuple) -> None:
    """The command-line arguments of a stage script (stages/<name>.py), each a name valid for these
    params (param_rules.STAGE_ARGUMENTS): a name mistyped running the script by hand fails here, once,
    before any work. dvc.yaml passes values of params already validated."""
    path = Path(script)
    if path.parent.name != "stages":
        return
    for (what, valid), value in zip(param_rules.STAGE_ARGUMENTS.get(path.stem, ()), args):
        config.check_name(what, value, valid(params) if callable(valid) else valid)


def check_arm(arm: str) -> None:
    config.check_name("arm", arm, param_rules.ARMS)
