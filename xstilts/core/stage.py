"""How a stage script runs: params.yaml read and validated once, checked against the model
(xstilts/core/checks.py), profile tiny kept offline, and the
errors a user can fix printed as one line with their exit code (2 params, 3 data source, ...)."""
from __future__ import annotations

import os
import signal
import sys
from typing import Callable

from xstilts.core import checks, config
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
        if params.profile == "tiny":  # profile tiny never touches the network
            for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
                os.environ[var] = "1"
        main(params, *args)
    except XstiltsError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


def arm_and_task(argv: list[str] | None = None) -> tuple[str, str]:
    """--arm A --task T, as the finetune, intermediate and retrieve stages take them."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm", required=True, help="baseline | intermediate (names the output)")
    ap.add_argument("--task", required=True)
    ns = ap.parse_args(argv)
    return ns.arm, ns.task


def check_arm(arm: str) -> None:
    config.check_name("arm", arm, ["baseline", "intermediate"])
