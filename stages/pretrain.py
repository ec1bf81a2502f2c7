"""Stage `pretrain`: phase (i), the `model` param's encoder, into models/pretrained/.

Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages, through the trainer every training stage uses (runtime device, resumable).
Profile paper: the Hub checkpoint materialized at its pinned revision (for mT5, its encoder stack),
so downstream stages depend on content in models/, not on a Hub cache.
xstilts/train/pretrain.py has both; pretrain_info.json records what was made or loaded.
"""
from xstilts.core import stage
from xstilts.train.pretrain import pretrain_encoder

if __name__ == "__main__":
    stage.run(pretrain_encoder)
