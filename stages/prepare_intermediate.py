"""Stage `prepare_intermediate`: the English data of every task the `intermediate` param names (one
task, or all of multitask's), into data/prepared/intermediate/<member>/{train,dev}.jsonl, subsampled
to `intermediate_size`, each row assigned one of `intermediate_languages` (translate_intermediate then
translates it); plus mlm/ with the MLM corpus sample when `intermediate_mlm` is on; meta.json names
the members, and what each dropped and repaired, by reason (also printed). `intermediate: none` is
skipped (the baseline arm). A malformed source is one line naming the file, the row and the column
(exit code 3), and leaves the previous output as it was."""
import json

from xstilts.core import io, paths, stage, tasks
from xstilts.data import prepare


def main(params) -> None:
    out = paths.prepared(paths.INTERMEDIATE_DIR)
    meta: dict = {"task": params.intermediate, "profile": params.profile, "mlm": params.intermediate_mlm,
                  "languages": params.intermediate_languages, "size": params.intermediate_size, "members": {}}
    with io.atomic_dir(out) as tmp:
        if not params.intermediate_members:
            meta["skipped"] = "no intermediate task (the baseline arm)"
        loader = prepare.Loader(params)
        for member in params.intermediate_members:
            task = tasks.TASKS[member]
            m = {"type": task.type, "no_answer": task.no_answer, "counts": {}, "dropped": {}}
            m["labels"] = prepare.write_training(loader, task, params, tmp / member, m, params.intermediate_size,
                                                 params.intermediate_languages)
            meta["members"][member] = m
        if params.intermediate_mlm:
            rows, m = prepare.mlm_corpus(params, loader)
            m["counts"] = {"train": io.write_jsonl(paths.rows(tmp / tasks.MLM, "train"), rows), "dev": 0}
            io.write_jsonl(paths.rows(tmp / tasks.MLM, "dev"), [])
            meta["members"][tasks.MLM] = m
        meta["sources"] = loader.provenance
        (tmp / paths.META).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"prepare intermediate {params.intermediate}: "
          + ("; ".join(f"{k} train {v['counts']['train']}" for k, v in meta["members"].items())
             or meta.get("skipped", "")))
    for member, m in meta["members"].items():
        summary = prepare.drop_summary(m)
        if summary:
            print(f"prepare intermediate {member}: {summary}")


if __name__ == "__main__":
    stage.run(main)
