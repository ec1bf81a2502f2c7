"""Stage `intermediate@<arm>`: phase (ii), intermediate-task training of the encoder.

The baseline arm: the pretrained encoder, unchanged (task `none`). The intermediate arm: trained on
the task(s) its data hold (data/translated/intermediate/: the `intermediate` param, plus MLM when
`intermediate_mlm` is on). Output: models/intermediate/<arm>/ (encoder, tokenizer, train_log.json)
and the curves reports/curves/{loss,dev}/intermediate-<arm>.csv. The work is xstilts/train/intermediate.py.
"""
import argparse

from xstilts.core import stage
from xstilts.train.intermediate import train_intermediate


def arm(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", required=True, help="baseline | intermediate (names the output)")
    return parser.parse_args(argv).arm


if __name__ == "__main__":
    stage.run(train_intermediate, arm())
