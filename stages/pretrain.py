"""Stage `pretrain`: phase (i), the `model` param's encoder, into models/pretrained/.

Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages. Profile paper: the Hub checkpoint materialized at its pinned revision (for
mT5, its encoder stack), so downstream stages depend on content in models/, not on a Hub cache.
xstilts/train/pretrain.py has both; pretrain_info.json records what was made or loaded.
"""
import json

from xstilts.core import io, paths, stage
from xstilts.train import pretrain


def main(params) -> None:
    pp = params.group("pretrain")
    spec = params.model_spec()
    with io.atomic_dir(paths.PRETRAINED) as tmp:
        info = (pretrain.pretrain_tiny(pp, spec, params.seed, tmp) if params.profile == "tiny"
                else pretrain.pretrain_paper(pp, spec, tmp))
        info = {"name": params.model, **info}
        (tmp / paths.PRETRAIN_INFO.name).write_text(json.dumps(info, indent=2) + "\n")
    extra = f", MLM loss {info['first_mlm_loss']:.2f} -> {info['final_mlm_loss']:.2f} in {info['seconds']} s" \
        if "final_mlm_loss" in info else ""
    print(f"pretrain: {params.model} ({info['kind']}), {info['parameters']:,} encoder parameters{extra} -> "
          f"{paths.PRETRAINED}")


if __name__ == "__main__":
    stage.run(main)
