"""Stage `code`: for every stage script, the code it can run (the script, every xstilts module it
imports directly or not, the files those read) with each file's md5, to data/code/<script>.json.
Every other stage depends on its own script's manifest, so it reruns exactly when its code changed
(xstilts/research/deps.py)."""
from xstilts.core import io, paths, stage
from xstilts.research import deps


def main(params) -> None:
    with io.atomic_dir(paths.CODE_MANIFESTS) as tmp:
        for script in deps.scripts():
            (tmp / deps.manifest_path(script).name).write_text(deps.manifest_text(script))
    print(f"code: {len(deps.scripts())} stage manifests -> {paths.CODE_MANIFESTS}")


if __name__ == "__main__":
    stage.run(main)
