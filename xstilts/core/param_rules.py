"""Every rule of params.yaml, as one table (RULES), checked in order by `check` (config.validate);
and the names a stage script takes on its command line (STAGE_ARGUMENTS, checked by stage.run).

A row names a key path and the check of the value there. The path is dotted, `{profile}` is the
run's profile, and a last `*` checks each entry of the mapping or list there. A check is one of a
few kinds: `one_of` (a name among the valid ones: the error names it, the closest valid one and all
of them), `must` (a shape, the message says which), `keys_among` (a mapping's keys), `schema` (a
typed group of groups.py: its keys, each field's type and range), or a small named function for the
checks across fields. The rows run in order and the first that fails is the error, so a row may rely
on the rows above it (the profile is a known one, its section a mapping, a group well-formed).
What needs the model's own files (a layer deeper than the encoder, ...) is xstilts/core/checks.py's.
No heavy imports: every stage runs this before torch is loaded.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xstilts.core import tasks
from xstilts.core.groups import GROUPS, MLMParams, ModelSpec, MultitaskParams, ParamsError, TaskHparams, _typed, unknown

NAME_RE = re.compile(r"^[a-z0-9_.-]+$")  # DVC stage names break on '@' and spaces

# the top-level params every params.yaml has, besides one section per profile
REQUIRED = ("profile", "seed", "seeds", "model", "intermediate", "intermediate_mlm", "intermediate_languages",
            "intermediate_size", "target_training", "benchmark", "finetune_targets", "retrieval_targets", "languages",
            "eval_split", "runtime")
TOP_LEVEL = {*REQUIRED, *tasks.PROFILES}
PROFILE_KEYS = {*GROUPS, "models", "default_model", "precision"}   # a profile section: the typed groups, its
#                                                                   models, and the precision its stages compute in
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
EVAL_SPLITS = ("dev", "test")
INTERMEDIATE_VALUES = (tasks.NO_INTERMEDIATE, *tasks.INTERMEDIATE_TASKS, *tasks.MULTITASK)
ARMS = ("baseline", "intermediate")
TINY_FROM_SCRATCH = ("vocab_size", "max_seq_length", "batch_size", "max_steps", "lr", "warmup_ratio", "weight_decay",
                     "mlm_probability")   # tiny.pretrain keys that may be null elsewhere, not in profile tiny


@dataclass(frozen=True)
class At:
    """Where a rule looks: the run's params, the key path (for messages), its last key, the value there."""
    params: Any
    where: str
    key: Any
    value: Any


@dataclass(frozen=True)
class Rule:
    key: str                          # dotted key path; `{profile}`: the run's profile; a last `*`: each entry
    check: Callable[[At], None]       # raises ParamsError naming the bad value and what is valid
    when: Callable[[Any], bool] | None = None   # only for the runs it is true of (a profile)


# --- the kinds of check -------------------------------------------------------------------------
def one_of(valid, what: str) -> Callable[[At], None]:
    """A name among `valid` (the names, or a function of the params giving them). `what` may say
    {profile}; the error names the value, the closest valid name and all of them."""
    def check(at: At) -> None:
        names = list(valid(at.params) if callable(valid) else valid)
        if not isinstance(at.value, str) or at.value not in names:
            raise unknown(what.format(profile=_profile(at)), at.value, names)
    return check


def must(test: Callable[[Any], bool], message: str) -> Callable[[At], None]:
    """A value `test` holds for; else `message`, formatted with {where}, {value} and {profile}."""
    def check(at: At) -> None:
        if not test(at.value):
            raise ParamsError(message.format(where=at.where, value=at.value, profile=_profile(at)))
    return check


def keys_among(valid, what: str) -> Callable[[At], None]:
    """A mapping whose every key is one of `valid`."""
    def check(at: At) -> None:
        for key in at.value:
            if key not in valid:
                raise unknown(what.format(profile=_profile(at)), key, sorted(valid))
    return check


def schema(cls) -> Callable[[At], None]:
    """A typed group (groups.py): the keys its dataclass names, each of its field's type and range."""
    return lambda at: _typed(cls, at.value, at.where)


def all_of(*checks: Callable[[At], None]) -> Callable[[At], None]:
    """Each check in turn, on the same value (each entry of a `*` row: all of its checks, then the next)."""
    def check(at: At) -> None:
        for one in checks:
            one(at)
    return check


def _profile(at: At) -> Any:
    return at.params.raw.get("profile")


def _is_tiny(params) -> bool:
    return params.profile == "tiny"


def _is_paper(params) -> bool:
    return params.profile == "paper"


# --- shapes -------------------------------------------------------------------------------------
def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _distinct_integers(value) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_integer, value)) and len(set(value)) == len(value)


def _names(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _some_names(value) -> bool:
    return _names(value) and bool(value)


def _distinct(value) -> bool:
    return len(set(value)) == len(value)


# --- the checks across fields: small named functions ---------------------------------------------
def _has_every_top_level_param(at: At) -> None:
    for key in REQUIRED:
        if key not in at.value:
            raise ParamsError(f"params.yaml lacks the top-level param '{key}'")


def _mlm_needs_an_intermediate_task(at: At) -> None:
    if at.value and at.params.intermediate == tasks.NO_INTERMEDIATE:
        raise ParamsError("intermediate_mlm: true needs an intermediate task to add MLM to (intermediate is 'none')")


def _targets_in_their_list(at: At) -> None:
    """Each name a target, in the list of its kind. The lists may hold targets of either benchmark
    (dvc.yaml makes one stage per listed target); one outside the active benchmark is skipped."""
    retrieval = at.key == "retrieval_targets"
    for name in at.value:
        if name not in tasks.TARGETS:
            raise unknown(f"target in {at.key}", name, list(tasks.TARGETS))
        if (tasks.TARGETS[name].type == "retrieval") != retrieval:
            other = "finetune_targets" if retrieval else "retrieval_targets"
            raise ParamsError(f"target '{name}' belongs in {other}, not {at.key}")


def _some_target_in_the_benchmark(at: At) -> None:
    params = at.params
    if not params.active_targets:
        raise ParamsError(f"no target listed in finetune_targets/retrieval_targets belongs to benchmark "
                          f"'{params.benchmark}' (its targets: {', '.join(tasks.BENCHMARK_TARGETS[params.benchmark])})")


def _profile_languages(params) -> list[str]:
    return list(tasks.languages_of(params.profile))


def _every_target_keeps_a_language(at: At) -> None:
    if at.value is None:
        return
    for target in at.params.active_targets:
        if not at.params.target_languages(target):
            raise ParamsError(f"languages {at.value} leaves target '{target}' with no language")


def _paper_has_no_world(at: At) -> None:
    section = at.params.raw["paper"]
    if section.get("world", "absent") is not None:
        raise ParamsError(f"paper.world must be null (profile paper has no synthetic world; dvc.yaml's world stage "
                          f"reads it), got {section.get('world', '(no key)')!r}")


def _model_names(params) -> list:
    return list(params.raw[params.profile]["models"])


def _model_entry(at: At) -> None:
    """One model of the profile's `models`: its name, its spec's keys, types and arch."""
    if not isinstance(at.key, str) or not NAME_RE.match(at.key):
        raise ParamsError(f"model name '{at.key}' must match {NAME_RE.pattern}")
    spec = _typed(ModelSpec, at.value, at.where)
    if spec.arch not in ARCHS:
        raise unknown(f"arch of model {at.key}", spec.arch, ARCHS)


def _model_shape(at: At) -> None:
    """What a model's profile needs of its spec: tiny builds its shape, paper pins a Hub repo."""
    spec, tiny = _typed(ModelSpec, at.value, at.where), _is_tiny(at.params)
    for field_name in ("hidden_size", "num_layers", "num_heads", "intermediate_size") if tiny else ("hub", "revision"):
        if getattr(spec, field_name) is None:
            raise ParamsError(f"{at.where} lacks '{field_name}'")
    if tiny and spec.hidden_size % spec.num_heads:
        raise ParamsError(f"{at.where}: hidden_size {spec.hidden_size} is not a multiple of num_heads {spec.num_heads}")
    depth = spec.num_layers
    if spec.retrieval_layer < 0 or (depth is not None and spec.retrieval_layer > depth):
        raise ParamsError(f"{at.where}.retrieval_layer {spec.retrieval_layer} is outside "
                          f"0..{depth if depth is not None else 'num_layers'}")


def _masked_lm_needs_an_lm_head(at: At) -> None:
    params = at.params
    if params.intermediate_mlm and params.model_spec().arch == "mt5":
        raise ParamsError(f"intermediate_mlm: true needs a masked-LM head, and model '{params.model}' (mt5, "
                          f"span-corruption pretrained) has none; use an xlmr or bert model")


def _runtime(at: At) -> None:
    at.params.runtime()   # typed with its environment overrides, device and precision checked


def _group(at: At) -> None:
    at.params.group(at.key)   # there, and typed by its dataclass (groups.GROUPS)


def _model_engine_names_a_model(at: At) -> None:
    if at.value["engine"] == "model" and not at.value.get("model"):
        raise ParamsError(f"{at.where}.engine is 'model' but no translate.model is named")


def _every_trained_task_has_hparams(at: At) -> None:
    for group, task in at.params.trained_tasks():
        at.params.group(group).for_task(task)


def _world(at: At) -> None:
    at.params.world()   # the world exists in every profile: always tiny.world


def _world_language(at: At) -> None:
    others = [lang for lang in tasks.WORLD_LANGUAGES if lang != "en"]
    if at.key not in others:
        raise unknown(f"language in {at.where.rpartition('.')[0]}", at.key, others)


RULES = (
    Rule("", keys_among(TOP_LEVEL, "top-level param")),
    Rule("", _has_every_top_level_param),
    Rule("profile", one_of(tasks.PROFILES, "profile")),
    Rule("{profile}", must(lambda v: isinstance(v, dict),
                           "params.yaml has no '{profile}' section for profile '{profile}'")),
    Rule("benchmark", one_of(tasks.BENCHMARKS, "benchmark")),
    Rule("intermediate", one_of(INTERMEDIATE_VALUES, "intermediate task")),
    Rule("intermediate_mlm", must(lambda v: isinstance(v, bool), "{where} must be true or false, got {value!r}")),
    Rule("intermediate_mlm", _mlm_needs_an_intermediate_task),
    Rule("intermediate_size", must(lambda v: v is None or (_integer(v) and v >= 1),
                                   "{where} must be null or a positive integer, got {value!r}")),
    Rule("target_training", one_of(tasks.TARGET_TRAINING, "target_training")),
    Rule("eval_split", one_of(EVAL_SPLITS, "eval_split")),
    Rule("seed", must(_integer, "{where} must be an integer, got {value!r}")),
    Rule("seeds", must(_distinct_integers, "{where} must be a non-empty list of distinct integers, got {value!r}")),
    *(row for key in ("finetune_targets", "retrieval_targets") for row in (
        Rule(key, must(_names, "{where} must be a list of target names, got {value!r}")),
        Rule(key, _targets_in_their_list),
        Rule(key, must(_distinct, "{where} lists a target twice: {value}")))),
    Rule("finetune_targets", _some_target_in_the_benchmark),
    Rule("languages", must(lambda v: v is None or _some_names(v),
                           "{where} must be null or a non-empty list of language codes, got {value!r}")),
    Rule("languages.*", one_of(_profile_languages, "language for profile {profile}")),
    Rule("languages", _every_target_keeps_a_language),
    Rule("intermediate_languages", must(lambda v: _some_names(v) and _distinct(v),
                                        "{where} must be a non-empty list without repeats, got {value!r}")),
    Rule("intermediate_languages.*", one_of(_profile_languages, "intermediate language for profile {profile}")),
    Rule("paper.world", _paper_has_no_world, when=_is_paper),
    Rule("{profile}", keys_among(PROFILE_KEYS, "group in params '{profile}'")),
    # the profile's models
    Rule("{profile}.models", must(lambda v: isinstance(v, dict) and bool(v),
                                  "params '{profile}' needs a non-empty 'models' mapping (name -> spec)")),
    Rule("{profile}.default_model", one_of(_model_names, "default_model of profile {profile}")),
    Rule("model", one_of(lambda params: [DEFAULT_MODEL, *_model_names(params)], "model for profile {profile}")),
    Rule("{profile}.models.*", all_of(_model_entry, _model_shape)),
    Rule("intermediate_mlm", _masked_lm_needs_an_lm_head),
    # how the stages compute: runtime.<profile> and <profile>.precision
    Rule("runtime.{profile}", _runtime),
    # the typed groups every stage reads (world: below)
    *(Rule(f"{{profile}}.{group}", _group) for group in ("data", "pretrain", "intermediate_train", "target_train",
                                                         "retrieval", "translate")),
    *(Rule(f"tiny.pretrain.{key}", must(lambda v: v is not None, "{where} must be set (tiny pretrains its model "
                                        "from scratch), got null"), when=_is_tiny) for key in TINY_FROM_SCRATCH),
    Rule("{profile}.intermediate_train.tasks.*", schema(TaskHparams)),   # `tasks: dict`: a mapping, typed above
    Rule("{profile}.target_train.tasks.*", schema(TaskHparams)),
    Rule("{profile}.intermediate_train.multitask", schema(MultitaskParams)),
    Rule("{profile}.intermediate_train.multitask.sampler", one_of(SAMPLERS, "multitask sampler")),
    Rule("{profile}.intermediate_train.mlm", schema(MLMParams)),
    Rule("{profile}.translate.engine", one_of(ENGINES, "translate engine")),
    Rule("{profile}.translate", _model_engine_names_a_model),
    Rule("{profile}.retrieval.pooling", one_of(POOLINGS, "retrieval pooling")),
    Rule("{profile}", _every_trained_task_has_hparams),   # every trained target and intermediate member
    # the embedded world (every profile has one: tiny's)
    Rule("tiny.world", _world),   # its corpus_share a mapping (`corpus_share: dict`)
    Rule("tiny.world.corpus_share.*", all_of(_world_language, must(
        lambda v: isinstance(v, (int, float)) and 0 < v <= 1, "{where} must be in (0, 1], got {value!r}"))),
    Rule("tiny.world.cognate_share.*", all_of(_world_language, must(
        lambda v: isinstance(v, (int, float)) and 0 <= v <= 1, "{where} must be in [0, 1], got {value!r}"))),
)


def places(params, key: str) -> list[At]:
    """The values a row's key path names: one, or each entry of the mapping or list at a last `*`.
    A key absent from its mapping reads as null."""
    parts = (key.format(profile=params.profile) if "{profile}" in key else key).split(".") if key else []
    node, where = params.raw, []
    for part in parts:
        if part == "*":
            entries = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            return [At(params, ".".join([*where, str(k)]), k, v) for k, v in entries]
        node = node.get(part) if isinstance(node, dict) else None
        where.append(part)
    return [At(params, ".".join(where) or "params.yaml", parts[-1] if parts else None, node)]


def check(params, rules=RULES) -> None:
    """Every rule, in order, on the params: the first that fails raises ParamsError."""
    for rule in rules:
        if rule.when is None or rule.when(params):
            for at in places(params, rule.key):
                rule.check(at)


# --- the names a stage script takes on its command line ------------------------------------------
# stages/<name>.py: what each of the arguments it passes its stage names, in their order, and the valid
# values (or a function of the params giving them). dvc.yaml passes values of validated params; a person
# running a script by hand can mistype one: stage.run checks them once, before the stage starts.
STAGE_ARGUMENTS: dict[str, tuple[tuple[str, Any], ...]] = {
    "prepare": (("target", tasks.TARGETS),),
    "translate_train": (("target", tasks.TARGETS),),
    "intermediate": (("arm", ARMS),),   # its task: none, or what data/translated/intermediate/meta.json holds
    "finetune": (("arm", ARMS), ("fine-tuned target", lambda params: params.finetune_targets)),
    "retrieve": (("arm", ARMS), ("retrieval target", lambda params: params.retrieval_targets)),
}
