"""Stage `prepare@<dataset>`: load one dataset's source and write its canonical rows.

data/prepared/<dataset>/<split>-<lang>.jsonl for every split and language the dataset has in this
profile (English-only training data: zero-shot transfer never trains on other languages), plus
meta.json: type, label names, source repo/config/revision (and the commit a Hub load resolved to),
row counts and dropped rows with the reason.
"""
from __future__ import annotations

import json
from pathlib import Path

from stages import config, data, tasks


def split_languages(dataset: tasks.Dataset, split: str, profile: str) -> list[str]:
    langs = dataset.languages_for(profile)
    if split == "train":
        langs = tuple(l for l in langs if l in dataset.train_languages)
    missing = dataset.missing.get(split, ()) if profile == "paper" else ()
    return [l for l in langs if l not in missing]


def main(name: str) -> None:
    params = config.load()
    dataset = tasks.DATASETS[config.check_name("dataset", name, tasks.DATASETS)]
    dp = params.group("data")
    profile = params.profile
    if profile == "tiny":
        local_hub, revision = data.WORLD_HUB, "embedded-world"
    else:
        local_hub = Path(dp.local_hub) if dp.local_hub else None
        revision = (dp.revisions or {}).get(dataset.source.repo, "main")

    meta = {"dataset": dataset.name, "type": dataset.type, "labels": list(dataset.labels),
            "profile": profile, "source": {"repo": dataset.source.repo, "config": dataset.source.config,
                                           "revision": revision, "local_hub": str(local_hub) if local_hub else None,
                                           "resolved": {}},
            "counts": {}, "dropped": {}}
    out = data.PREPARED / dataset.name
    with data.atomic_dir(out) as tmp:
        for split, source_split in dataset.source.splits.items():
            for lang in split_languages(dataset, split, profile):
                config_name = data.config_name(dataset, lang, profile)
                ds = data.load_source(dataset.source.repo, config_name, source_split,
                                      local_hub=local_hub, revision=revision)
                if local_hub is None:
                    meta["source"]["resolved"][config_name] = data.resolved_revision(ds)
                rows, dropped = data.normalize(dataset, ds, f"{dataset.source.repo}:{config_name}:{source_split}")
                if split == "train" and dp.max_train_examples is not None:
                    rows = rows[:dp.max_train_examples]
                n = data.write_jsonl(tmp / f"{split}-{lang}.jsonl", rows)
                meta["counts"].setdefault(split, {})[lang] = n
                if dropped:
                    meta["dropped"].setdefault(split, {})[lang] = dropped
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    total = sum(n for split in meta["counts"].values() for n in split.values())
    print(f"prepare {dataset.name}: {total} rows in {sum(len(s) for s in meta['counts'].values())} files -> {out}")
