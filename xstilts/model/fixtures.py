"""Random-weight stand-ins for the paper profile's Hub encoders, so its loading code can be tested
without the Hub.

write_models() writes, for each model of the paper registry (params.yaml `paper.models`), a folder
laid out as `hf download <hub> --local-dir DIR/<hub>` leaves it: the architecture's real model
class and config conventions (XLM-R's padding index and position offset, BERT's two token types,
mT5's full encoder-decoder with T5's special ids and untied head) at the model's real depth,
every other dimension tiny, and a tokenizer of the model's own kind trained on a small
deterministic multilingual text. Pointing `paper.pretrain.local_models` at DIR then exercises the
paper profile's loading path (xstilts/train/pretrain.py::pretrain_paper) end to end on CPU in seconds.
The weights are random: nothing here measures anything about the real models.
"""
from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

ARCHS = ("xlmr", "bert", "mt5")
# Every dimension but the depth is tiny; the depth stays the real one because retrieval reads
# hidden_states[retrieval_layer] (up to 14).
HIDDEN, HEADS, FFN = 32, 2, 64
VOCAB_SIZE = 800            # asked of the tokenizer trainers; the small text yields somewhat fewer pieces
DEFAULT_DEPTH = 2           # a spec without num_layers (params.yaml before it listed the real depths)
SENTENCES = 600

# Short word lists per script, so the tokenizers learn pieces beyond Latin: the test sentences
# (and the project's non-English data) must not come out as all <unk>.
WORDS = {
    "en": "the a cat dog house water sees likes gives small big red green old new world hello friend book "
          "city river walks reads writes today never always".split(),
    "de": "der die das Katze Hund Haus Wasser sieht mag gibt klein groß rot grün alt neu Welt Straße "
          "Brücke schön über für Mädchen".split(),
    "fr": "le la chat chien maison eau voit aime donne petit grand rouge vert vieux nouveau monde été "
          "élève très garçon forêt".split(),
    "es": "el la gato perro casa agua ve quiere da pequeño grande rojo verde viejo nuevo mundo niño "
          "mañana corazón canción".split(),
    "ru": "кот собака дом вода видит любит даёт маленький большой красный зелёный старый новый мир "
          "привет друг книга город река".split(),
    "el": "γάτα σκύλος σπίτι νερό βλέπει αγαπά δίνει μικρός μεγάλος κόκκινος πράσινος παλιός νέος "
          "κόσμος γεια φίλος βιβλίο".split(),
    "ar": "قطة كلب بيت ماء يرى يحب يعطي صغير كبير أحمر أخضر قديم جديد عالم مرحبا صديق كتاب مدينة".split(),
    "hi": "बिल्ली कुत्ता घर पानी देखता पसंद देता छोटा बड़ा लाल हरा पुराना नया दुनिया नमस्ते दोस्त किताब शहर".split(),
    "ko": "고양이 개 집 물 본다 좋아한다 준다 작은 큰 빨간 초록 오래된 새로운 세계 안녕 친구 책 도시".split(),
    # written without spaces between words
    "zh": "猫 狗 房子 水 看见 喜欢 给 小 大 红色 绿色 旧 新 世界 你好 朋友 书 城市 河 今天".split(),
    "ja": "猫 犬 家 水 見る 好き あげる 小さい 大きい 赤い 緑 古い 新しい 世界 こんにちは 友達 本 町".split(),
    "th": "แมว หมา บ้าน น้ำ เห็น ชอบ ให้ เล็ก ใหญ่ แดง เขียว เก่า ใหม่ โลก สวัสดี เพื่อน หนังสือ เมือง".split(),
}
UNSPACED = {"zh", "ja", "th"}
PUNCTUATION = {"zh": "。", "ja": "。", "th": "", "ar": ".", "hi": "।"}


def training_text(seed: int, sentences: int = SENTENCES) -> list[str]:
    """Short sentences drawn from WORDS (seeded): the same seed gives the same text, hence the same
    tokenizers. Words recur, so WordPiece's min_frequency keeps them whole."""
    rng = random.Random(seed)
    langs = sorted(WORDS)
    lines = []
    for i in range(sentences):
        lang = langs[i % len(langs)]
        words = [rng.choice(WORDS[lang]) for _ in range(rng.randint(3, 9))]
        words[0] = words[0][:1].upper() + words[0][1:]   # capitals too (cased vocabularies), where the script has them
        text = "".join(words) if lang in UNSPACED else " ".join(words)
        lines.append(text + PUNCTUATION.get(lang, "."))
    return lines


def write_models(out: Path, specs: dict, seed: int = 0, only: list[str] | None = None) -> list[dict]:
    """For each (name, spec) of `specs` (name -> xstilts.core.groups.ModelSpec, profile paper's registry;
    `only`: a subset of names), write a random-weight checkpoint + tokenizer under out/<spec.hub>/ and return
    one dict per model: {"name", "hub", "arch", "path", "num_layers", "parameters"} (parameters = the
    encoder's count, embeddings included, as MT5EncoderModel / AutoModel(add_pooling_layer=False) count them)."""
    from xstilts.model import encoders

    encoders.quiet_transformers()   # no shard-writing progress bars per model
    out = Path(out)
    names = list(specs) if only is None else list(only)
    missing = [n for n in names if n not in specs]
    if missing:
        raise KeyError(f"no model {', '.join(missing)} among the specs ({', '.join(specs)})")
    for name in names:
        spec = specs[name]
        if spec.arch not in ARCHS:
            raise ValueError(f"model {name}: no fixture for arch '{spec.arch}' (fixtures: {', '.join(ARCHS)})")
        if not spec.hub:
            raise ValueError(f"model {name} has no hub repo: fixtures stand in for paper-profile models only")

    written: dict[str, dict] = {}   # hub -> its record: specs sharing a repo share one folder
    records = []
    with tempfile.TemporaryDirectory(prefix="xstilts-fixture-text-") as scratch:
        corpus = Path(scratch) / "text.txt"
        corpus.write_text("\n".join(training_text(seed)) + "\n", encoding="utf-8")
        for name in names:
            spec = specs[name]
            if spec.hub not in written:
                written[spec.hub] = write_model(out / spec.hub, spec, [corpus], seed)
            records.append({"name": name, "hub": spec.hub, **written[spec.hub]})
    return records


def write_model(target: Path, spec, corpus: list[Path], seed: int) -> dict:
    """One model folder at `target`, built in a sibling temp folder and renamed into place, so a
    crash never leaves a half-written model where a loader would take it for a whole one."""
    num_layers = getattr(spec, "num_layers", None) or DEFAULT_DEPTH
    max_positions = getattr(spec, "max_positions", None)
    build = {"xlmr": build_xlmr, "bert": build_bert, "mt5": build_mt5}[spec.arch]
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        model, tokenizer, parameters = build(tmp, corpus, num_layers, max_positions, seed)
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        for sentencepiece_file in tmp.glob("*.model"):
            drop_training_paths(sentencepiece_file)
        check_tokenizer_round_trip(tmp, tokenizer)
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"arch": spec.arch, "path": str(target), "num_layers": num_layers, "parameters": parameters}


def replace_dir(src: Path, dst: Path) -> None:
    """Rename src to dst, replacing a dst folder (rename cannot overwrite a non-empty directory)."""
    old = None
    if dst.exists():
        old = dst.with_name(f"{dst.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old)


def drop_training_paths(model_file: Path) -> None:
    """SentencePiece stores its training input and output paths in the model file (here temp paths
    holding the process id): cleared, the same seed gives the same bytes on any machine."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_file.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    model_file.write_bytes(proto.SerializeToString())


def check_tokenizer_round_trip(path: Path, tokenizer) -> None:
    """AutoTokenizer must read the saved folder back as the same tokenizer (transformers 5 can
    silently rebuild a few-token one from a sentencepiece/vocab file instead)."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(path))
    if type(loaded) is not type(tokenizer) or len(loaded) != len(tokenizer):
        raise RuntimeError(f"{path}: AutoTokenizer reads back {type(loaded).__name__} of {len(loaded)} tokens, "
                           f"not the {type(tokenizer).__name__} of {len(tokenizer)} tokens written")


def count(params) -> int:
    """Parameters once each, as Module.parameters() counts tied weights."""
    return sum(p.numel() for p in {id(p): p for p in params}.values())


def build_xlmr(tmp: Path, corpus: list[Path], num_layers: int, max_positions: int | None, seed: int):
    """XLM-R: a SentencePiece unigram tokenizer saved as XLM-R's (sentencepiece.bpe.model, fairseq
    id offset: <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last) and XLMRobertaForMaskedLM with XLM-R's
    conventions (positions start after the padding index: 512 + 2 position embeddings)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    from xstilts.model import tokenizers

    tokenizer = tokenizers.train_sentencepiece(corpus, tmp, VOCAB_SIZE)
    expected = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "unk_token_id": 3}
    check_special_ids(tokenizer, expected, "XLM-R")
    positions = max_positions or 512
    tokenizer.model_max_length = positions
    torch.manual_seed(seed)
    model = XLMRobertaForMaskedLM(XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=num_layers, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=positions + 2, type_vocab_size=1, layer_norm_eps=1e-5,
        pad_token_id=1, bos_token_id=0, eos_token_id=2))
    return model, tokenizer, count(model.roberta.parameters())


def build_bert(tmp: Path, corpus: list[Path], num_layers: int, max_positions: int | None, seed: int):
    """mBERT: a cased WordPiece tokenizer (vocab.txt, [PAD]=0) and BertForMaskedLM with BERT's
    conventions (two token types, 512 positions from 0). The one part not reproducible: the
    `tokenizers` WordPiece trainer breaks ties between equally frequent merges in hash-map order, so
    vocab.txt (its order and some pieces) differs from run to run; its size, hence the weights, does not."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from xstilts.model import tokenizers

    tokenizer = tokenizers.train_wordpiece(corpus, tmp, VOCAB_SIZE)
    check_special_ids(tokenizer, {"pad_token_id": 0}, "BERT")
    positions = max_positions or 512
    tokenizer.model_max_length = positions
    torch.manual_seed(seed)
    model = BertForMaskedLM(BertConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=num_layers, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=positions, type_vocab_size=2, pad_token_id=0))
    return model, tokenizer, count(model.bert.parameters())


def build_mt5(tmp: Path, corpus: list[Path], num_layers: int, max_positions: int | None, seed: int):
    """mT5: a SentencePiece unigram spiece.model with T5's ids (<pad>=0 </s>=1 <unk>=2, no <s>) in
    T5Tokenizer (what AutoTokenizer picks for model_type mt5; extra_ids 0 as mT5's tokenizer_config
    has it), and the whole MT5ForConditionalGeneration as the Hub repo holds it: gated-GELU,
    untied LM head, the embedding matrix padded to a multiple of 128 past the tokenizer's
    vocabulary (mT5: 250112 rows for 250100 pieces). Relative position buckets: no position
    table, so max_positions does not apply. The decoder is one layer: the project drops it."""
    import sentencepiece as spm
    import torch
    from transformers import MT5Config, MT5ForConditionalGeneration, T5Tokenizer

    spm.SentencePieceTrainer.train(
        input=",".join(str(p) for p in corpus), model_prefix=str(tmp / "spiece"), vocab_size=VOCAB_SIZE,
        model_type="unigram", character_coverage=1.0, num_threads=1, shuffle_input_sentence=False,
        hard_vocab_limit=False, minloglevel=2, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    (tmp / "spiece.vocab").unlink(missing_ok=True)
    # as in tokenizers.train_sentencepiece: T5Tokenizer(vocab_file=...) silently builds a 4-token
    # tokenizer in transformers 5; from_pretrained on the folder converts spiece.model whole
    tokenizer = T5Tokenizer.from_pretrained(str(tmp), extra_ids=0)
    if len(tokenizer) < VOCAB_SIZE // 2:
        raise RuntimeError(f"mT5 tokenizer conversion produced only {len(tokenizer)} tokens (asked for {VOCAB_SIZE})")
    check_special_ids(tokenizer, {"pad_token_id": 0, "eos_token_id": 1, "unk_token_id": 2, "bos_token_id": None},
                      "mT5")
    torch.manual_seed(seed)
    model = MT5ForConditionalGeneration(MT5Config(
        vocab_size=-(-len(tokenizer) // 128) * 128, d_model=HIDDEN, d_kv=HIDDEN // HEADS, d_ff=FFN,
        num_layers=num_layers, num_decoder_layers=1, num_heads=HEADS, feed_forward_proj="gated-gelu",
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, tokenizer_class="T5Tokenizer"))
    # transformers 5's MT5Config forces tie_word_embeddings=True whatever it is given, and the model
    # then shares lm_head with the embedding. mT5's repos hold an untied head (config false, its own
    # lm_head.weight), so untie after construction: save_pretrained then writes both, as they are
    # there (loading the full model warns that it keeps them untied; MT5EncoderModel drops lm_head).
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(torch.empty_like(model.shared.weight).normal_(0.0, 1.0))
    # MT5EncoderModel's parameters: the shared embedding and the encoder stack (which reuses it)
    return model, tokenizer, count([*model.shared.parameters(), *model.encoder.parameters()])


def check_special_ids(tokenizer, expected: dict, what: str) -> None:
    got = {k: getattr(tokenizer, k) for k in expected}
    if got != expected:
        raise RuntimeError(f"the {what} fixture tokenizer has special ids {got}, not {what}'s {expected}")
