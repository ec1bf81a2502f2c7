"""Read and validate params.yaml, and read it typed (Params).

params.yaml holds every value; the code holds only the *shape*: which keys exist, their types and
ranges (the typed groups, xstilts/core/groups.py), and which names are valid (every rule, in one
table: xstilts/core/param_rules.py). Unknown keys, missing keys and unknown task/language/profile
names are errors that name the bad value, list the valid ones and suggest the closest. No heavy
imports here: `xstilts check` and every stage run this before torch is even loaded, so a typo fails
in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from xstilts.core import param_rules, paths, tasks
from xstilts.core.groups import (  # noqa: F401
    GROUPS,
    DataParams,
    MLMParams,
    ModelSpec,
    MultitaskParams,
    ParamsError,
    PretrainParams,
    RetrievalParams,
    RuntimeParams,
    TaskHparams,
    TrainParams,
    TranslateParams,
    WorldParams,
    _typed,
    unknown,
)
from xstilts.core.param_rules import (  # noqa: F401
    ARCHS,
    DEFAULT_MODEL,
    DEVICES,
    ENGINES,
    NAME_RE,
    POOLINGS,
    PRECISIONS,
    PROFILE_KEYS,
    SAMPLERS,
    TOP_LEVEL,
)

PARAMS_FILE = paths.PARAMS_FILE


@dataclass(frozen=True)
class Params:
    raw: dict

    @property
    def profile(self) -> str:
        return self.raw["profile"]

    @property
    def seed(self) -> int:
        return int(self.raw["seed"])

    @property
    def seeds(self) -> list[int]:
        return list(self.raw["seeds"])

    @property
    def model(self) -> str:
        """The encoder's name in this profile's `models` (`default` resolved)."""
        name = self.raw["model"]
        return self.raw[self.profile]["default_model"] if name == DEFAULT_MODEL else name

    def model_spec(self, name: str | None = None) -> ModelSpec:
        name = name or self.model
        models = self.raw[self.profile]["models"]
        if name not in models:
            raise unknown(f"model for profile {self.profile}", name, [DEFAULT_MODEL, *models])
        return _typed(ModelSpec, models[name], f"{self.profile}.models.{name}")

    def train_group(self, name: str) -> TrainParams:
        """intermediate_train / target_train, with the model's own learning rate where it has one."""
        group = self.group(name)
        lr = getattr(self.model_spec(), "intermediate_lr" if name == "intermediate_train" else "target_lr")
        return group if lr is None else replace(group, lr=lr)

    def retrieval_layer(self) -> int:
        layer = self.group("retrieval").layer
        return self.model_spec().retrieval_layer if layer is None else layer

    @property
    def intermediate(self) -> str:
        return self.raw["intermediate"]

    @property
    def intermediate_members(self) -> tuple[str, ...]:
        return tasks.intermediate_members(self.intermediate)

    @property
    def intermediate_mlm(self) -> bool:
        return bool(self.raw["intermediate_mlm"])

    @property
    def intermediate_languages(self) -> list[str]:
        return list(self.raw["intermediate_languages"])

    @property
    def intermediate_size(self) -> int | None:
        return self.raw["intermediate_size"]

    @property
    def target_training(self) -> str:
        return self.raw["target_training"]

    @property
    def benchmark(self) -> str:
        return self.raw["benchmark"]

    @property
    def finetune_targets(self) -> list[str]:
        return list(self.raw["finetune_targets"])

    @property
    def retrieval_targets(self) -> list[str]:
        return list(self.raw["retrieval_targets"])

    @property
    def targets(self) -> list[str]:
        return self.finetune_targets + self.retrieval_targets

    @property
    def active_targets(self) -> list[str]:
        """The targets this run evaluates: those listed that belong to the benchmark, in its order."""
        listed = set(self.targets)
        return [t for t in tasks.BENCHMARK_TARGETS[self.benchmark] if t in listed]

    def trained_tasks(self) -> list[tuple[str, str]]:
        """(training group, task) for every task this run trains: each active target with training
        data (target_train), then each intermediate member (intermediate_train)."""
        return [*(("target_train", t) for t in self.active_targets if tasks.TARGETS[t].trains),
                *(("intermediate_train", m) for m in self.intermediate_members)]

    @property
    def languages(self) -> list[str] | None:
        return self.raw["languages"]

    @property
    def eval_split(self) -> str:
        return self.raw["eval_split"]

    def group(self, name: str):
        section = self.raw[self.profile]
        if name not in section:
            raise ParamsError(f"params '{self.profile}' lacks group '{name}' "
                              f"(valid groups: {', '.join(GROUPS)})")
        return _typed(GROUPS[name], section[name], f"{self.profile}.{name}")

    @property
    def precision(self) -> str:
        """`<profile>.precision`: fp32 | bf16 (autocast, fp32 master weights) | fp16 (autocast + loss scaling)."""
        value = self.raw[self.profile].get("precision")
        if value not in PRECISIONS:
            raise unknown(f"precision in {self.profile}.precision", value, PRECISIONS)
        return value

    def runtime(self) -> RuntimeParams:
        """runtime.<profile>, with XSTILTS_<KEY> environment overrides (one command, one machine), and
        the profile's precision (a pipeline param, not a runtime setting: never from the environment)."""
        import os
        section = self.raw["runtime"]
        if not isinstance(section, dict) or not isinstance(section.get(self.profile), dict):
            raise ParamsError(f"params 'runtime' needs a '{self.profile}' section (runtime.{self.profile}.device, ...)")
        raw = dict(section[self.profile])
        if "precision" in raw:
            raise ParamsError(f"runtime.{self.profile}.precision: precision changes the numbers, so it is a pipeline "
                              f"param of the profile now: set {self.profile}.precision ({', '.join(PRECISIONS)}) "
                              f"and remove it from runtime.{self.profile}")
        if os.environ.get("XSTILTS_PRECISION") is not None:
            raise ParamsError(f"XSTILTS_PRECISION is not a runtime setting (precision changes the numbers): "
                              f"`dvc exp run -S {self.profile}.precision=<{'|'.join(PRECISIONS)}>` instead")
        raw["precision"] = self.precision
        for key in RuntimeParams.__dataclass_fields__:
            env = os.environ.get(f"XSTILTS_{key.upper()}")
            if env is not None:
                raw[key] = yaml.safe_load(env)
        runtime = _typed(RuntimeParams, raw, f"runtime.{self.profile}")
        if runtime.device not in DEVICES:
            raise unknown(f"device in runtime.{self.profile}", runtime.device, DEVICES)
        if runtime.precision == "fp16" and runtime.device == "cpu":
            raise ParamsError(f"{self.profile}.precision 'fp16' needs CUDA, but runtime.{self.profile}.device is cpu "
                              f"(on CPU: fp32 or bf16)")
        return runtime

    def world(self) -> WorldParams:
        """The embedded world's params: always tiny.world (the world exists in every profile)."""
        tiny = self.raw.get("tiny")
        if not isinstance(tiny, dict):
            raise ParamsError(f"params 'tiny' must be a mapping of the tiny profile's groups, got {tiny!r}")
        return _typed(WorldParams, tiny.get("world"), "tiny.world")

    def target_languages(self, target: str) -> tuple[str, ...]:
        return tasks.target_languages(target, self.profile, self.benchmark, self.languages)


def validate(raw: dict) -> Params:
    """params.yaml's values against every rule of xstilts/core/param_rules.py, in order: the first that
    fails is a ParamsError naming the key, the bad value and the valid ones."""
    params = Params(raw)
    param_rules.check(params)
    return params


def approx_parameters(spec: ModelSpec, vocab_size: int, positions: int = 258) -> float:
    """Encoder parameters in millions: the model's own count (paper), or the tiny shape's count with
    the tokenizer's nominal vocabulary (the trained one can be a little smaller)."""
    if spec.parameters_m is not None:
        return float(spec.parameters_m)
    h, f, n = spec.hidden_size, spec.intermediate_size, spec.num_layers
    layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h   # attention, 2 LayerNorms, FFN
    embeddings = (vocab_size + positions + 2) * h + 2 * h
    return (n * layer + embeddings) / 1e6


def load(path: Path = PARAMS_FILE) -> Params:
    if not path.exists():
        raise ParamsError(f"no {path} here: run xstilts from the repository root")
    with open(path) as f:
        raw = yaml.safe_load(f)
    return validate(raw)


def check_name(kind: str, value: str, valid) -> str:
    """Validate a CLI argument against the registry (same message as params)."""
    if not NAME_RE.match(value) or value not in valid:
        raise unknown(kind, value, list(valid))
    return value
