"""Stages `prepare@<target>` and `prepare_retrieval@<target>`: load a target's sources (the embedded
world, the Hub or a local mirror) and write canonical rows.

data/prepared/<target>/: train.jsonl and dev.jsonl (English training and early-stopping data),
eval/<split>-<lang>.jsonl for every evaluation split and language of the active benchmark (those of
the `languages` param, when it is set), and
meta.json (type, label names, every source with its revision, row counts, dropped and repaired rows
by reason, both also printed). Gold labels go to data/labels/<target>/<split>-<lang>.<suffix> in the
leaderboard layout.
A listed target outside the active benchmark is skipped: meta.json says so, downstream skips too.
A malformed source is one line naming the file, the row and the column (exit code 3), and leaves
the previous outputs as they were.
"""
import sys

from xstilts.core import stage
from xstilts.data.prepare import prepare_target

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python stages/prepare.py <target>")
    stage.run(prepare_target, sys.argv[1])
