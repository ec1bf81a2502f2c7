"""Stage `world`: generate the embedded synthetic multilingual world (profile tiny's data and corpus)
under data/world/ (xstilts/world/generate.py says what is in it). Profile paper has no world
(`paper.world: null`): the stage writes an empty placeholder with the same paths, so the stages
that list data/world paths as deps (for profile tiny) never rerun when a tiny.* param changes."""
from xstilts.core import io, paths, stage
from xstilts.world.generate import generate, placeholder


def main(params) -> None:
    with io.atomic_dir(paths.WORLD) as tmp:
        if params.profile == "paper":
            placeholder(tmp)
            print(f"world: profile paper has no synthetic world: empty placeholder -> {paths.WORLD}")
            return
        summary = generate(tmp, params.world())
    n_files = sum(1 for _ in paths.WORLD.rglob("*.parquet"))
    print(f"world: {len(summary['languages'])} languages, {n_files} parquet files -> {paths.WORLD}")


if __name__ == "__main__":
    stage.run(main)
