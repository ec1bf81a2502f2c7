"""Read and validate params.yaml.

params.yaml holds every value; this module holds only the *shape*: which keys exist, their types,
and which names are valid. Unknown keys, missing keys and unknown task/language/profile names are
errors that name the bad value, list the valid ones and suggest the closest. No heavy imports here:
`xstilts check` and every stage run this before torch is even loaded, so a typo fails in seconds.
"""
from __future__ import annotations

import re
from pathlib import Path
from dataclasses import dataclass, replace

import yaml

from xstilts.core import paths, tasks
from xstilts.core.groups import (GROUPS, DataParams, MLMParams, ModelSpec, MultitaskParams, ParamsError,  # noqa: F401
                                 PretrainParams, RetrievalParams, RuntimeParams, TaskHparams, TrainParams,
                                 TranslateParams, WorldParams, _typed, unknown)

PARAMS_FILE = paths.PARAMS_FILE


NAME_RE = re.compile(r"^[a-z0-9_.-]+$")  # DVC stage names break on '@' and spaces


TOP_LEVEL = {"profile", "seed", "seeds", "model", "intermediate", "intermediate_mlm", "intermediate_languages", "intermediate_size",
             "target_training", "benchmark", "finetune_targets", "retrieval_targets", "languages", "eval_split",
             "runtime", *tasks.PROFILES}


PROFILE_KEYS = {*GROUPS, "models", "default_model", "precision"}   # a profile section: the typed groups, its models,
                                                                  # and the numeric precision its stages compute in


ARCHS = ("xlmr", "bert", "mt5")


DEFAULT_MODEL = "default"   # `model: default` = the profile's default_model


POOLINGS = ("mean", "cls")


SAMPLERS = ("proportional", "temperature", "uniform")


ENGINES = ("world", "model")


DEVICES = ("auto", "cpu", "cuda")


# A pipeline param of each profile (`tiny.precision`, `paper.precision`): it changes the numbers, so
# every stage that trains, predicts, embeds or translates lists it, and DVC's run-cache never hands
# a bf16 run an fp32 result. No `auto`: a run's identity cannot depend on the GPU it lands on.
PRECISIONS = ("fp32", "bf16", "fp16")


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

    def train_group(self, name: str) -> "TrainParams":
        """intermediate_train / target_train, with the model's own learning rate where it has one."""
        tp = self.group(name)
        lr = getattr(self.model_spec(), "intermediate_lr" if name == "intermediate_train" else "target_lr")
        return tp if lr is None else replace(tp, lr=lr)

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
        rt = _typed(RuntimeParams, raw, f"runtime.{self.profile}")
        if rt.device not in DEVICES:
            raise unknown(f"device in runtime.{self.profile}", rt.device, DEVICES)
        if rt.precision == "fp16" and rt.device == "cpu":
            raise ParamsError(f"{self.profile}.precision 'fp16' needs CUDA, but runtime.{self.profile}.device is cpu "
                              f"(on CPU: fp32 or bf16)")
        return rt

    def world(self) -> WorldParams:
        """The embedded world's params: always tiny.world (the world exists in every profile)."""
        tiny = self.raw.get("tiny")
        if not isinstance(tiny, dict):
            raise ParamsError(f"params 'tiny' must be a mapping of the tiny profile's groups, got {tiny!r}")
        return _typed(WorldParams, tiny.get("world"), "tiny.world")

    def target_languages(self, target: str) -> tuple[str, ...]:
        return tasks.target_languages(target, self.profile, self.benchmark, self.languages)


def validate(raw: dict) -> Params:
    for key in raw:
        if key not in TOP_LEVEL:
            raise unknown("top-level param", key, sorted(TOP_LEVEL))
    for key in TOP_LEVEL - set(tasks.PROFILES):
        if key not in raw:
            raise ParamsError(f"params.yaml lacks the top-level param '{key}'")
    if raw["profile"] not in tasks.PROFILES:
        raise unknown("profile", raw["profile"], tasks.PROFILES)
    if not isinstance(raw.get(raw["profile"]), dict):
        raise ParamsError(f"params.yaml has no '{raw['profile']}' section for profile '{raw['profile']}'")
    if raw["benchmark"] not in tasks.BENCHMARKS:
        raise unknown("benchmark", raw["benchmark"], tasks.BENCHMARKS)
    inter = raw["intermediate"]
    valid_inter = [tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK]
    if not isinstance(inter, str) or inter not in valid_inter:
        raise unknown("intermediate task", inter, valid_inter)
    if not isinstance(raw["intermediate_mlm"], bool):
        raise ParamsError(f"intermediate_mlm must be true or false, got {raw['intermediate_mlm']!r}")
    if raw["intermediate_mlm"] and inter == tasks.NO_INTERMEDIATE:
        raise ParamsError("intermediate_mlm: true needs an intermediate task to add MLM to (intermediate is 'none')")
    size = raw["intermediate_size"]
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        raise ParamsError(f"intermediate_size must be null or a positive integer, got {size!r}")
    if raw["target_training"] not in tasks.TARGET_TRAINING:
        raise unknown("target_training", raw["target_training"], tasks.TARGET_TRAINING)
    if raw["eval_split"] not in ("dev", "test"):
        raise unknown("eval_split", raw["eval_split"], ["dev", "test"])
    if not isinstance(raw["seed"], int) or isinstance(raw["seed"], bool):
        raise ParamsError(f"seed must be an integer, got {raw['seed']!r}")
    seeds = raw["seeds"]
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in seeds) or len(set(seeds)) != len(seeds)):
        raise ParamsError(f"seeds must be a non-empty list of distinct integers, got {seeds!r}")

    # The lists may hold targets of either benchmark (dvc.yaml makes one stage per listed target);
    # a listed target outside the active benchmark is skipped by its stages.
    for key, wanted in (("finetune_targets", False), ("retrieval_targets", True)):
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ParamsError(f"{key} must be a list of target names, got {value!r}")
        for name in value:
            if name not in tasks.TARGETS:
                raise unknown(f"target in {key}", name, list(tasks.TARGETS))
            if (tasks.TARGETS[name].type == "retrieval") != wanted:
                other = "retrieval_targets" if not wanted else "finetune_targets"
                raise ParamsError(f"target '{name}' belongs in {other}, not {key}")
        if len(set(value)) != len(value):
            raise ParamsError(f"{key} lists a target twice: {value}")

    params = Params(raw)
    if not params.active_targets:
        raise ParamsError(f"no target listed in finetune_targets/retrieval_targets belongs to benchmark "
                          f"'{params.benchmark}' (its targets: {', '.join(tasks.BENCHMARK_TARGETS[params.benchmark])})")
    langs = raw["languages"]
    if langs is not None:
        if not isinstance(langs, list) or not langs or not all(isinstance(l, str) for l in langs):
            raise ParamsError(f"languages must be null or a non-empty list of language codes, got {langs!r}")
        known = tasks.languages_of(params.profile)
        for lang in langs:
            if lang not in known:
                raise unknown(f"language for profile {params.profile}", lang, list(known))
        for target in params.active_targets:
            if not params.target_languages(target):
                raise ParamsError(f"languages {langs} leaves target '{target}' with no language")
    inter_langs = raw["intermediate_languages"]
    if not isinstance(inter_langs, list) or not inter_langs or not all(isinstance(l, str) for l in inter_langs) \
            or len(set(inter_langs)) != len(inter_langs):
        raise ParamsError(f"intermediate_languages must be a non-empty list without repeats, got {inter_langs!r}")
    for lang in inter_langs:
        if lang not in tasks.languages_of(params.profile):
            raise unknown(f"intermediate language for profile {params.profile}", lang,
                          list(tasks.languages_of(params.profile)))
    if params.profile == "paper" and raw["paper"].get("world", "absent") is not None:
        raise ParamsError(f"paper.world must be null (profile paper has no synthetic world; dvc.yaml's world stage "
                          f"reads it), got {raw['paper'].get('world', '(no key)')!r}")
    for key in raw[params.profile]:
        if key not in PROFILE_KEYS:
            raise unknown(f"group in params '{params.profile}'", key, sorted(PROFILE_KEYS))
    validate_models(params)
    params.runtime()
    for name in ("data", "pretrain", "intermediate_train", "target_train", "retrieval", "translate"):
        params.group(name)  # every group the stages read must be there and well-formed
    if params.profile == "tiny":  # the paper profile reads none of these (it loads a pretrained checkpoint)
        pp = params.group("pretrain")
        for key in ("vocab_size", "max_seq_length", "batch_size", "max_steps", "lr", "warmup_ratio", "weight_decay",
                    "mlm_probability"):
            if getattr(pp, key) is None:
                raise ParamsError(f"tiny.pretrain.{key} must be set (tiny pretrains its model from scratch), got null")
    for group in ("intermediate_train", "target_train"):  # every task's hparams, typed and ranged, named in full
        where = f"{params.profile}.{group}"
        tp = params.group(group)
        if not isinstance(tp.tasks, dict):
            raise ParamsError(f"{where}.tasks must be a mapping task -> {{batch_size, epochs, max_seq_length}}, "
                              f"got {tp.tasks!r}")
        for name, hp in tp.tasks.items():
            _typed(TaskHparams, hp, f"{where}.tasks.{name}")
    it = params.group("intermediate_train")
    where = f"{params.profile}.intermediate_train"
    multitask = _typed(MultitaskParams, it.multitask, f"{where}.multitask")
    if multitask.sampler not in SAMPLERS:
        raise unknown("multitask sampler", multitask.sampler, SAMPLERS)
    _typed(MLMParams, it.mlm, f"{where}.mlm")
    tr = params.group("translate")
    if tr.engine not in ENGINES:
        raise unknown("translate engine", tr.engine, ENGINES)
    if tr.engine == "model" and not tr.model:
        raise ParamsError(f"{params.profile}.translate.engine is 'model' but no translate.model is named")
    if params.group("retrieval").pooling not in POOLINGS:
        raise unknown("retrieval pooling", params.group("retrieval").pooling, POOLINGS)
    for name in params.active_targets:  # every trained target and the intermediate task need hparams
        if tasks.TARGETS[name].trains:
            params.group("target_train").for_task(name)
    for member in params.intermediate_members:
        params.group("intermediate_train").for_task(member)
    wp = params.world()
    if not isinstance(wp.corpus_share, dict):
        raise ParamsError(f"tiny.world.corpus_share must be a mapping language -> share, got {wp.corpus_share!r}")
    for lang, share in wp.corpus_share.items():
        if lang not in tasks.WORLD_LANGUAGES or lang == "en":
            raise unknown("language in tiny.world.corpus_share", lang, [l for l in tasks.WORLD_LANGUAGES if l != "en"])
        if not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ParamsError(f"tiny.world.corpus_share.{lang} must be in (0, 1], got {share!r}")
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


def validate_models(params: Params) -> None:
    section = params.raw[params.profile]
    models = section.get("models")
    if not isinstance(models, dict) or not models:
        raise ParamsError(f"params '{params.profile}' needs a non-empty 'models' mapping (name -> spec)")
    if not isinstance(section.get("default_model"), str) or section.get("default_model") not in models:
        raise unknown(f"default_model of profile {params.profile}", section.get("default_model"), list(models))
    name = params.raw["model"]
    if not isinstance(name, str) or (name != DEFAULT_MODEL and name not in models):
        raise unknown(f"model for profile {params.profile}", name, [DEFAULT_MODEL, *models])
    for key in models:
        if not NAME_RE.match(key):
            raise ParamsError(f"model name '{key}' must match {NAME_RE.pattern}")
        spec = params.model_spec(key)
        if spec.arch not in ARCHS:
            raise unknown(f"arch of model {key}", spec.arch, ARCHS)
        needed = ("hidden_size", "num_layers", "num_heads", "intermediate_size") if params.profile == "tiny" \
            else ("hub", "revision")
        for field_name in needed:
            if getattr(spec, field_name) is None:
                raise ParamsError(f"{params.profile}.models.{key} lacks '{field_name}'")
        if params.profile == "tiny" and spec.hidden_size % spec.num_heads:
            raise ParamsError(f"tiny.models.{key}: hidden_size {spec.hidden_size} is not a multiple of "
                              f"num_heads {spec.num_heads}")
        depth = spec.num_layers
        if spec.retrieval_layer < 0 or (depth is not None and spec.retrieval_layer > depth):
            raise ParamsError(f"{params.profile}.models.{key}.retrieval_layer {spec.retrieval_layer} is outside "
                              f"0..{depth if depth is not None else 'num_layers'}")
    spec = params.model_spec()
    if params.intermediate_mlm and spec.arch == "mt5":
        raise ParamsError(f"intermediate_mlm: true needs a masked-LM head, and model '{params.model}' (mt5, "
                          f"span-corruption pretrained) has none; use an xlmr or bert model")


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
