"""Stage `translate_train@<target>`: with `target_training` other than zero_shot, the target's English
training and dev data in each of its evaluation languages, data/translated/<target>/<lang>/, by the
profile's engine (xstilts/data/translate.py). In profile paper with `translate.published`, XNLI and
PAWS-X take the Hub's own translated training sets instead (as XTREME's translate-train baselines),
early-stopping on English dev. Under zero_shot, or for a skipped or retrieval target, it only says so."""
import json
import sys

from xstilts.core import config, io, paths, stage, tasks
from xstilts.data import prepared, translate


def main(params, target: str) -> None:
    config.check_name("target", target, tasks.TARGETS)
    out = paths.translated(target)
    meta = prepared.prepared_meta(target)
    info: dict = {"target": target, "target_training": params.target_training}
    skip = None
    if "skipped" in meta:
        skip = meta["skipped"]
    elif params.target_training == "zero_shot":
        skip = "target_training is zero_shot (English training data only)"
    elif not tasks.TARGETS[target].trains:
        skip = "no training data (retrieval)"
    with io.atomic_dir(out) as tmp:
        if skip:
            info["skipped"] = skip
        else:
            tp = params.group("translate")
            task = tasks.TARGETS[target]
            published = tp.published and task.translated_train is not None and params.profile == "paper"
            engine = None if published else translate.engine_for(params)
            info.update(engine=vars(tp), counts={}, dropped={},
                        source=task.translated_train.label if published else "translated by the engine")
            for lang in params.target_languages(target):
                if lang == "en":
                    continue
                for part in ("train", "dev"):
                    rows = prepared.load_train(target, part)
                    if published and part == "train":
                        rows, dropped = translate.published_rows(params, task, lang)
                    elif published:  # no published dev translation: early stopping on English dev
                        dropped = {}
                    else:
                        rows, dropped = translate.translate_rows(rows, meta["type"], lang, engine)
                    info["counts"].setdefault(lang, {})[part] = io.write_jsonl(paths.rows(tmp / lang, part), rows)
                    if dropped:
                        info["dropped"].setdefault(lang, {})[part] = dropped
        (tmp / paths.META).write_text(json.dumps(info, indent=2) + "\n")
    print(f"translate_train {target}: " + (f"skipped ({skip})" if skip else
                                           ", ".join(f"{l} {c['train']}" for l, c in info["counts"].items())))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python stages/translate_train.py <target>")
    stage.run(main, sys.argv[1])
