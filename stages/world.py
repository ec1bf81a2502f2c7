"""Stage `world`: generate the embedded synthetic multilingual world (profile tiny's data and corpus)
under data/world/ (xstilts/world/generate.py says what is in it)."""
from xstilts.core import io, paths, stage
from xstilts.world.generate import generate


def main(params) -> None:
    with io.atomic_dir(paths.WORLD) as tmp:
        summary = generate(tmp, params.world())
    n_files = sum(1 for _ in paths.WORLD.rglob("*.parquet"))
    print(f"world: {len(summary['languages'])} languages, {n_files} parquet files -> {paths.WORLD}")


if __name__ == "__main__":
    stage.run(main)
