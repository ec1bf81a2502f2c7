"""Tokenizer training for the tiny profile's models: SentencePiece unigram (XLM-R's recipe) and cased
WordPiece (mBERT's)."""
from __future__ import annotations

import io
from pathlib import Path

WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDPIECE_PREFIX = "##"


def _wordpiece_pass(files: list[str], vocab_size: int, special_tokens: list[str]):
    """BertWordPieceTokenizer(...).train(...) as mBERT's recipe calls it, but with no limit_alphabet:
    every character is kept (the wrapper's cap of 1000, whose ties at the cut would again fall in hash
    order, never binds on the world's ~100 characters)."""
    from tokenizers import BertWordPieceTokenizer, trainers

    wp = BertWordPieceTokenizer(lowercase=False, strip_accents=False, clean_text=True,
                                wordpieces_prefix=WORDPIECE_PREFIX)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                        special_tokens=special_tokens, continuing_subword_prefix=WORDPIECE_PREFIX)
    wp._tokenizer.train(files, trainer=trainer)
    return wp


def wordpiece_seed_tokens(files: list[str]) -> list[str]:
    """The units the WordPiece trainer starts from, in a fixed order: every character of the corpus
    (by code point, as the library orders them) then every continuation "##c" (same order).

    Why: `tokenizers`' WordPiece trainer (its BPE trainer underneath) numbers the "##c" units in the
    iteration order of a Rust HashMap of words, whose hasher is seeded at random in every process
    (PYTHONHASHSEED and thread counts play no part: two runs of one process setting differ too). It
    then breaks ties between equally frequent merges by those numbers, so both vocab.txt's order and
    which pieces make the cut changed from run to run. A first pass with no merges (vocab_size 0)
    gives the set of units, which does not depend on that order."""
    vocab = _wordpiece_pass(files, 0, WORDPIECE_SPECIALS).get_vocab()
    units = [t for t in vocab if t not in WORDPIECE_SPECIALS]
    chars = sorted((t for t in units if not t.startswith(WORDPIECE_PREFIX)), key=lambda t: [ord(c) for c in t])
    continued = sorted((t for t in units if t.startswith(WORDPIECE_PREFIX)),
                       key=lambda t: [ord(c) for c in t[len(WORDPIECE_PREFIX):]])
    odd = [t for t in chars if len(t) != 1] + [t for t in continued if len(t) != len(WORDPIECE_PREFIX) + 1]
    if odd:
        raise RuntimeError(f"WordPiece's first pass produced more than single characters: {odd[:10]}")
    return chars + continued


def train_wordpiece(corpus_files: list[Path], out_dir: Path, vocab_size: int):
    """mBERT's tokenizer recipe: a cased WordPiece vocabulary (## continuations) with [PAD] [UNK]
    [CLS] [SEP] [MASK], wrapped as BertTokenizerFast and saved with tokenizer.json.

    Deterministic (the same corpus gives the same bytes in every process, whatever the hash seed or
    thread count): the characters and "##c" continuations are handed to the trainer in a fixed order
    (wordpiece_seed_tokens) after the five special tokens, so every unit has a fixed id and the
    trainer's tie-break between equally frequent merges (by ids) is fixed. They are special tokens
    only for the trainer: only vocab.txt is kept, and BertTokenizerFast knows the five alone.
    The merges are the library's own; the result is one of the vocabularies it could produce before."""
    from transformers import BertTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in corpus_files]
    seeds = wordpiece_seed_tokens(files)
    wp = _wordpiece_pass(files, vocab_size, WORDPIECE_SPECIALS + seeds)
    vocab = wp.get_vocab()
    expected = WORDPIECE_SPECIALS + seeds
    if any(vocab.get(t) != i for i, t in enumerate(expected)):
        raise RuntimeError("WordPiece training did not keep the fixed ids of its special tokens and alphabet")
    wp.save_model(str(out_dir))
    # as with XLM-R (train_sentencepiece), transformers 5's BertTokenizerFast(vocab_file=...) silently
    # builds a 5-token tokenizer; from_pretrained on the directory holding vocab.txt reads it all
    tok = BertTokenizerFast.from_pretrained(str(out_dir), do_lower_case=False, strip_accents=False)
    if len(tok) < vocab_size // 4:
        raise RuntimeError(f"WordPiece training produced only {len(tok)} tokens (asked for {vocab_size})")
    return tok


def train_sentencepiece(corpus_files: list[Path], out_dir: Path, vocab_size: int):
    """A SentencePiece unigram model at out_dir/sentencepiece.bpe.model (XLM-R's file name), then
    the XLM-R tokenizer around it (fairseq id offset, <mask> last), saved with tokenizer.json.
    Deterministic: one thread, the input in file order, and no output path inside the model file."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    # model_writer, not model_prefix: the model's trainer_spec records model_prefix, and out_dir is a
    # staging folder named after the process id (xstilts/core/io.py), so the same model had other
    # bytes in every run. The trainer_spec keeps the input paths as given (the pipeline's are relative).
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        input=",".join(str(p) for p in corpus_files), model_writer=model,
        vocab_size=vocab_size, model_type="unigram", character_coverage=1.0, num_threads=1,
        shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2)
    (out_dir / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    # transformers 5: XLMRobertaTokenizer(vocab_file=...) silently builds a 5-token tokenizer;
    # from_pretrained on the directory holding sentencepiece.bpe.model converts it properly.
    tok = XLMRobertaTokenizer.from_pretrained(str(out_dir))
    if len(tok) < vocab_size // 2:
        raise RuntimeError(f"tokenizer conversion produced only {len(tok)} tokens (expected ~{vocab_size})")
    return tok
