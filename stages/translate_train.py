"""Stage `translate_train@<target>`: with `target_training` other than zero_shot, the target's English
training and dev data in each of its evaluation languages, data/translated/<target>/<lang>/, by the
profile's engine (xstilts/data/translate.py). In profile paper with `translate.published`, XNLI and
PAWS-X take the Hub's own translated training sets instead (as XTREME's translate-train baselines),
early-stopping on English dev. Under zero_shot, or for a skipped or retrieval target, it only says so."""
import sys

from xstilts.core import stage
from xstilts.data.translate import translate_training_data

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python stages/translate_train.py <target>")
    stage.run(translate_training_data, sys.argv[1])
