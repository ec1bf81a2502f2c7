"""The typed groups of params.yaml: one dataclass per group, its fields the keys the group must have
(fields with a default are optional, profile-specific ones). No defaults of values here: params.yaml
holds every value."""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import MISSING, dataclass, fields
from typing import Any

from xstilts.core.errors import XstiltsError


class ParamsError(XstiltsError, ValueError):
    """A bad value in params.yaml or on the command line."""
    exit_code = 2


def unknown(what: str, value: Any, valid: list[str] | tuple[str, ...]) -> ParamsError:
    close = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ParamsError(f"unknown {what} '{value}'.{hint} Valid: {', '.join(map(str, valid))}.")


# --- typed groups: field names are the keys params.yaml must have (no defaults here) ----------
@dataclass(frozen=True)
class WorldParams:
    seed: int
    corpus_sentences: int
    code_switch_rate: float
    loanword_share: float
    train_examples: int      # English training sets (some tasks take a fraction: xstilts/world/twins*.py)
    dev_examples: int        # English dev sets
    eval_per_language: int   # evaluation rows per split and language
    corpus_share: dict       # language -> share of corpus_sentences in its pretraining corpus (English: 1);
                             # the world's high/mid/low-resource languages (xstilts/claims/languages.py)
    cognate_share: dict      # language -> share of its words descended from English's (xstilts/world/grammar.py)


@dataclass(frozen=True)
class DataParams:
    max_train_examples: int | None
    revisions: dict | None = None   # profile paper only: Hub repo -> revision
    local_hub: str | None = None    # profile paper only: a local mirror in the Hub's parquet layout
    ccgbank: str | None = None      # a CCGbank directory (holding data/AUTO/00..24); licensed, never on the Hub


@dataclass(frozen=True)
class PretrainParams:
    # profile tiny: the tokenizer and the MLM schedule (the architecture is the model's, `models`);
    # profile paper: where to read checkpoints from when the Hub is out of reach
    local_models: str | None = None   # profile paper: a directory holding <hub repo>/ copies (`hf download`)
    vocab_size: int | None = None
    max_seq_length: int | None = None
    batch_size: int | None = None
    max_steps: int | None = None
    lr: float | None = None
    warmup_ratio: float | None = None
    weight_decay: float | None = None
    mlm_probability: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One encoder of a profile's `models` (params.yaml). Profile tiny builds it from its shape and
    pretrains it; profile paper materializes `hub` at `revision`."""
    arch: str                        # xlmr | bert | mt5 (mT5's encoder only, under our task heads)
    retrieval_layer: int             # hidden_states index for BUCC/Tatoeba/... (0 = embeddings)
    hub: str | None = None           # profile paper: the Hub repo
    revision: str | None = None      # profile paper: the commit it is pinned to
    parameters_m: float | None = None  # profile paper: parameters in millions (the whole encoder, embeddings included)
    hidden_size: int | None = None   # profile tiny: the shape to build; profile paper: the checkpoint's (checked)
    num_layers: int | None = None
    num_heads: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None    # profile paper: the checkpoint's vocabulary (tiny: pretrain.vocab_size)
    max_positions: int | None = None  # longest input in tokens; null: tiny's TINY_MAX_POSITIONS, or no limit (mT5's
                                      # relative positions)
    intermediate_lr: float | None = None   # null = intermediate_train.lr; a model's own learning rate otherwise
    target_lr: float | None = None         # null = target_train.lr


TINY_MAX_POSITIONS = 256   # the position table of the tiny models (pretrain_tiny builds them so)


@dataclass(frozen=True)
class TaskHparams:
    batch_size: int
    epochs: float
    max_seq_length: int
    doc_stride: int | None = None


@dataclass(frozen=True)
class MultitaskParams:
    sampler: str            # proportional | temperature | uniform (training.sampling_weights)
    examples_cap: int       # K: a task counts with at most K examples (paper: 2^17)
    temperature: float      # only for sampler: temperature


@dataclass(frozen=True)
class MLMParams:
    lr: float               # the whole run's learning rate when MLM is on (paper: 5e-6 instead of 1e-5)
    batch_size: int
    max_seq_length: int
    probability: float      # share of tokens predicted
    sentences: int          # corpus lines to train on, drawn across languages
    alpha: float            # language sampling exponent: p(l) ~ n_l^alpha (paper: 0.3)
    corpus: str | None = None          # profile paper: a Hub Wikipedia dump (tiny: the world's corpus)
    corpus_config: str | None = None   # its config, {code} = the language (20231101.{code})
    revision: str | None = None


@dataclass(frozen=True)
class TrainParams:
    lr: float
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    early_stopping_examples: int
    eval_every: int
    patience: int
    tasks: dict
    eval_batch_size: int = 128
    group_by_length: bool = False   # batches of similar length, seeded (HF's LengthGroupedSampler): less padding
    log_every: int = 10             # steps between points of the training-loss curve (reports/curves)
    multitask: dict | None = None   # intermediate_train only: MultitaskParams
    mlm: dict | None = None         # intermediate_train only: MLMParams

    def multitask_params(self) -> MultitaskParams:
        return _typed(MultitaskParams, self.multitask, "intermediate_train.multitask")

    def mlm_params(self) -> MLMParams:
        return _typed(MLMParams, self.mlm, "intermediate_train.mlm")

    def for_task(self, name: str) -> TaskHparams:
        if name not in self.tasks:
            raise unknown("task in the training params (add its batch_size/epochs/max_seq_length)",
                          name, list(self.tasks))
        return _typed(TaskHparams, self.tasks[name], f"tasks.{name}")


@dataclass(frozen=True)
class RetrievalParams:
    layer: int | None       # null = the model's retrieval_layer
    pooling: str
    max_seq_length: int
    batch_size: int


@dataclass(frozen=True)
class TranslateParams:
    engine: str                       # world: the tiny world's bilingual lexicon | model: a transformers MT model
    model: str | None = None          # engine model: a checkpoint, or a template with {lang} (one per language)
    revision: str | None = None
    batch_size: int = 16
    max_length: int = 256
    lang_codes: dict | None = None    # engine model, multilingual checkpoints: our code -> the model's (deu_Latn)
    published: bool = False           # target translate-train: the Hub's own translations where they exist


@dataclass(frozen=True)
class RuntimeParams:
    """How a stage computes, not what: params.yaml's `runtime.<profile>`. No stage lists these in
    dvc.yaml, so changing one reruns nothing; train_log.json records the values used. Each can be
    overridden for one command by XSTILTS_<KEY> in the environment (XSTILTS_PROCESSES=4). `precision`
    is the exception: it is the profile's pipeline param (`<profile>.precision`), carried here for the
    code that computes."""
    device: str                   # auto (cuda when there is one) | cpu | cuda
    precision: str                # from <profile>.precision: fp32 | bf16 | fp16 (CUDA only, with loss scaling)
    max_device_batch: int | None  # sequences per forward pass: a batch is split into micro-batches with gradient
                                  # accumulation (same loss and gradients); null = the whole batch at once
    processes: int                # DDP processes of one stage (torchrun); 1 = no DDP
    deterministic: bool           # torch.use_deterministic_algorithms (CUDA: CUBLAS_WORKSPACE_CONFIG set first)
    threads: int                  # torch CPU threads per process
    checkpoint_every: int         # optimizer steps between resumable checkpoints (and on SIGTERM)
    progress_every: float         # seconds between progress lines when stdout is not a terminal


GROUPS = {"world": WorldParams, "data": DataParams, "pretrain": PretrainParams,
          "intermediate_train": TrainParams, "target_train": TrainParams, "retrieval": RetrievalParams,
          "translate": TranslateParams}


# --- types and ranges: each field's type is its annotation, its range is named here ------------------
POSITIVE_INT = ("a positive integer", lambda v: v >= 1)
NON_NEGATIVE_INT = ("a non-negative integer", lambda v: v >= 0)
POSITIVE = ("a positive number", lambda v: v > 0)
NON_NEGATIVE = ("a non-negative number", lambda v: v >= 0)
PROBABILITY = ("a number in (0, 1]", lambda v: 0 < v <= 1)
SHARE = ("a number in [0, 1]", lambda v: 0 <= v <= 1)
WARMUP = ("a number in [0, 1)", lambda v: 0 <= v < 1)
RANGES = {
    **dict.fromkeys(("batch_size", "max_seq_length", "doc_stride", "max_steps", "vocab_size", "eval_every",
                     "patience", "log_every", "eval_batch_size", "examples_cap", "sentences", "max_train_examples",
                     "corpus_sentences", "train_examples", "dev_examples", "eval_per_language", "hidden_size",
                     "num_layers", "num_heads", "intermediate_size", "max_positions", "max_length", "processes",
                     "threads", "checkpoint_every", "max_device_batch"), POSITIVE_INT),
    **dict.fromkeys(("early_stopping_examples", "layer", "retrieval_layer"), NON_NEGATIVE_INT),
    **dict.fromkeys(("epochs", "lr", "temperature", "max_grad_norm", "parameters_m", "intermediate_lr", "target_lr",
                     "progress_every"), POSITIVE),
    **dict.fromkeys(("weight_decay", "alpha"), NON_NEGATIVE),
    **dict.fromkeys(("probability", "mlm_probability"), PROBABILITY),
    **dict.fromkeys(("code_switch_rate", "loanword_share"), SHARE),
    "warmup_ratio": WARMUP,
}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def typed_value(value: Any, kind: str, where: str) -> Any:
    """A value of annotation `kind` ("int", "float | None", ...) checked against its field's range;
    a float written as a YAML 1.1 string (`1e-05`: how `dvc exp run -S lr=1e-5` writes it) is read
    as the number it is. Raises ParamsError naming the key, the value and what is allowed."""
    parts = kind.replace(" ", "").split("|")
    optional, base = "None" in parts, next(p for p in parts if p != "None")
    if value is None:
        if optional:
            return None
        raise ParamsError(f"{where} must be set ({_describe(base, where)}), got null")
    name = where.rsplit(".", 1)[-1]
    if base in ("int", "float"):
        if base == "float" and isinstance(value, str) and _NUMBER.match(value.strip()):
            value = float(value)
        ok = isinstance(value, int) and not isinstance(value, bool) if base == "int" else \
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and base == "float":
            value = float(value) if not isinstance(value, int) else value
        rule = RANGES.get(name)
        if not ok or (rule is not None and not rule[1](value)):
            raise ParamsError(f"{where} must be {_describe(base, where)}, got {value!r}")
        return value
    types = {"bool": bool, "str": str, "dict": dict}
    if base in types and not isinstance(value, types[base]):
        raise ParamsError(f"{where} must be {_describe(base, where)}, got {value!r}")
    return value


def _describe(base: str, where: str) -> str:
    rule = RANGES.get(where.rsplit(".", 1)[-1])
    if rule is not None:
        return rule[0]
    return {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
            "dict": "a mapping"}.get(base, base)


def _typed(cls, raw: Any, where: str):
    if not isinstance(raw, dict):
        raise ParamsError(f"params '{where}' must be a mapping, got {raw!r}")
    names = [f.name for f in fields(cls)]
    for key in raw:
        if key not in names:
            raise unknown(f"key in params '{where}'", key, names)
    for f in fields(cls):  # fields with a default are optional (profile-specific ones)
        if f.name not in raw and f.default is MISSING:
            raise ParamsError(f"params '{where}' lacks key '{f.name}'")
    return cls(**{f.name: typed_value(raw[f.name], f.type, f"{where}.{f.name}") for f in fields(cls) if f.name in raw})
