"""Stage `code`: for every stage script, the code it can run (the script, every xstilts module it
imports directly or not, the files those read) with each file's md5, to data/code/<script>.json.
Every other stage depends on its own script's manifest, so it reruns exactly when its code changed
(xstilts/core/manifests.py)."""
from xstilts.core import stage
from xstilts.core.manifests import write_manifests

if __name__ == "__main__":
    stage.run(write_manifests)
