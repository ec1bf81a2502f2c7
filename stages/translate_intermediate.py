"""Stage `translate_intermediate`: rows of data/prepared/intermediate whose `lang` is not English are
translated into it (prepare_intermediate assigned each example one language of
`intermediate_languages`), by the profile's engine (xstilts/data/translate.py); output
data/translated/intermediate/<member>/{train,dev}.jsonl, all rows, in the same order, and meta.json
with what was dropped and why."""
import json

from xstilts.core import io, paths, stage
from xstilts.data import prepared, translate


def main(params) -> None:
    src = paths.prepared(paths.INTERMEDIATE_DIR)
    out = paths.translated(paths.INTERMEDIATE_DIR)
    meta = prepared.prepared_meta(paths.INTERMEDIATE_DIR)
    info = {"task": meta["task"], "languages": params.intermediate_languages, "engine": None, "members": {}}
    with io.atomic_dir(out) as tmp:
        if "skipped" in meta:
            info["skipped"] = meta["skipped"]
        else:
            needs = any(l != "en" for l in params.intermediate_languages)
            engine = translate.engine_for(params) if needs else None
            info["engine"] = vars(params.group("translate")) if needs else "none (English only)"
            for member, m in meta["members"].items():
                info["members"][member] = {"counts": {}, "dropped": {}}
                for part in ("train", "dev"):
                    rows = io.read_jsonl(paths.rows(src / member, part))
                    if needs and m["type"] != "mlm":
                        rows, dropped = translate.translate_mixed(rows, m["type"], engine)
                        if dropped:
                            info["members"][member]["dropped"][part] = dropped
                    info["members"][member]["counts"][part] = io.write_jsonl(paths.rows(tmp / member, part), rows)
        (tmp / paths.META).write_text(json.dumps({**meta, "translation": info}, indent=2) + "\n")
    print(f"translate_intermediate ({', '.join(params.intermediate_languages)}): "
          + ("; ".join(f"{k}: {v['counts']}" for k, v in info["members"].items()) or info.get("skipped", "")))


if __name__ == "__main__":
    stage.run(main)
