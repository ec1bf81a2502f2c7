"""Tokenizer training for the tiny profile's models: SentencePiece unigram (XLM-R's recipe) and cased
WordPiece (mBERT's)."""
from __future__ import annotations

from pathlib import Path


def train_wordpiece(corpus_files: list[Path], out_dir: Path, vocab_size: int):
    """mBERT's tokenizer recipe: a cased WordPiece vocabulary (## continuations) with [PAD] [UNK]
    [CLS] [SEP] [MASK], wrapped as BertTokenizerFast and saved with tokenizer.json."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    wp = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True)
    wp.train([str(p) for p in corpus_files], vocab_size=vocab_size, min_frequency=2, show_progress=False,
             special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    wp.save_model(str(out_dir))
    # as with XLM-R (train_sentencepiece), transformers 5's BertTokenizerFast(vocab_file=...) silently
    # builds a 5-token tokenizer; from_pretrained on the directory holding vocab.txt reads it all
    tok = BertTokenizerFast.from_pretrained(str(out_dir), do_lower_case=False, strip_accents=False)
    if len(tok) < vocab_size // 4:
        raise RuntimeError(f"WordPiece training produced only {len(tok)} tokens (asked for {vocab_size})")
    return tok


def train_sentencepiece(corpus_files: list[Path], out_dir: Path, vocab_size: int):
    """A SentencePiece unigram model at out_dir/sentencepiece.bpe.model (XLM-R's file name), then
    the XLM-R tokenizer around it (fairseq id offset, <mask> last), saved with tokenizer.json."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=",".join(str(p) for p in corpus_files), model_prefix=str(out_dir / "sentencepiece.bpe"),
        vocab_size=vocab_size, model_type="unigram", character_coverage=1.0, num_threads=1,
        shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2)
    (out_dir / "sentencepiece.bpe.vocab").unlink(missing_ok=True)
    # transformers 5: XLMRobertaTokenizer(vocab_file=...) silently builds a 5-token tokenizer;
    # from_pretrained on the directory holding sentencepiece.bpe.model converts it properly.
    tok = XLMRobertaTokenizer.from_pretrained(str(out_dir))
    if len(tok) < vocab_size // 2:
        raise RuntimeError(f"tokenizer conversion produced only {len(tok)} tokens (expected ~{vocab_size})")
    return tok
