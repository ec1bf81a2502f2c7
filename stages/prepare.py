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
import json
import sys

from xstilts.core import config, io, paths, stage, tasks
from xstilts.data import prepare
from xstilts.data.prepared import write_skipped


def main(params, name: str) -> None:
    config.check_name("target", name, tasks.TARGETS)
    out = paths.prepared(name)
    meta: dict = {"task": name, "profile": params.profile}
    if name not in params.active_targets:
        skip = f"not a target of benchmark {params.benchmark}"
        with io.atomic_dir(out) as tmp:
            (tmp / paths.META).write_text(json.dumps({**meta, "skipped": skip}, indent=2) + "\n")
        write_skipped(paths.labels(name), {"skipped": skip})
        print(f"prepare {name}: skipped ({skip})")
        return

    task = tasks.TASKS[name]
    loader = prepare.Loader(params)
    meta.update({"type": task.type, "retrieval": task.retrieval, "no_answer": task.no_answer,
                 "counts": {}, "dropped": {}})
    with io.atomic_dir(out) as tmp:
        meta["labels"] = prepare.write_training(loader, task, params, tmp, meta) if task.train else []
        # the `languages` param restricts what is loaded too (a mirror of two languages is enough for
        # -S 'languages=[de,fr]'); LAReQA's pooled candidates then come from those languages only
        meta["languages"] = list(params.target_languages(name))
        if params.languages is not None:
            meta["restricted_to"] = params.languages
        # both outputs are written in temp dirs and renamed into place only when everything was
        # read: a source that fails (DataSourceError) leaves neither half-written
        with io.atomic_dir(paths.labels(name)) as labels_tmp:
            prepare.write_eval(loader, task, params, tmp, labels_tmp, meta)
            meta["sources"] = loader.provenance
            (tmp / paths.META).write_text(json.dumps(meta, indent=2) + "\n")
    counts = meta["counts"]
    n_eval = sum(n for split in counts.get("eval", {}).values() for n in split.values())
    print(f"prepare {name}: train {counts.get('train', 0)}, dev {counts.get('dev', 0)}, "
          f"eval {n_eval} rows in {sum(len(s) for s in counts.get('eval', {}).values())} files -> {out}")
    summary = prepare.drop_summary(meta)
    if summary:
        print(f"prepare {name}: {summary}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python stages/prepare.py <target>")
    stage.run(main, sys.argv[1])
