"""What DVC's own bookkeeping costs, with ruamel.yaml's pure-Python parser against its C parser
(ruamel.yaml.clib, a dependency of xstilts since issue 28), side by side in one run.

DVC reads params.yaml once per stage that lists params (52 of the tiny pipeline's 53 stages), with
ruamel.yaml's safe loader: pure Python unless ruamel.yaml.clib is installed. `dvc status`, a no-op
`dvc repro` and every stage of a real one pay for it.

    python benchmarks/dvc_overhead.py [--repeat 3]      # in a repository whose outputs are present

Prints, per command: the median wall time of --repeat runs with each parser, and their ratio.
Read-only: `dvc status` and `dvc repro --dry` run no stage.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["status", "-q"], ["repro", "--dry", "-q"])
# DVC's command line in this interpreter; `pure` hides the C extension, so ruamel falls back to Python
DVC = ("import sys; {hide}from dvc.cli import main; sys.exit(main(sys.argv[1:]))")
PARSERS = {"pure Python": "sys.modules['_ruamel_yaml'] = None; ", "C (ruamel.yaml.clib)": ""}


def timed(code: str, args: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode not in (0, 1):  # `dvc status -q` exits 1 when something changed
        raise SystemExit(f"dvc {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import _ruamel_yaml  # noqa: F401
    except ImportError:
        raise SystemExit("ruamel.yaml.clib is not installed: nothing to compare (pip install -e .)") from None
    rows = []
    for command in COMMANDS:
        medians = [statistics.median(timed(DVC.format(hide=hide), command) for _ in range(args.repeat))
                   for hide in PARSERS.values()]
        rows.append((f"dvc {' '.join(command)}", *medians, medians[0] / medians[1]))
    names = list(PARSERS)
    print(f"{'command':24} {names[0]:>14} {names[1]:>22} {'ratio':>7}")
    for name, pure, c, ratio in rows:
        print(f"{name:24} {pure:13.2f}s {c:21.2f}s {ratio:6.2f}x")


if __name__ == "__main__":
    main()
