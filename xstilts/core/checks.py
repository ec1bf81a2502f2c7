"""Early checks of a run against its model, in milliseconds, before any work (`xstilts check`,
`xstilts preflight` and every stage, through xstilts/core/stage.py).

params.yaml can be valid on its own and still not fit the model it names: a retrieval layer deeper
than the encoder, a max_seq_length past its position table, masked-LM intermediate training on a
model without an LM head, a tokenizer larger than the embedding table. Those used to surface hours
in (at `retrieve`, after all training) or as an index error inside torch. Here they are errors that
name the param, its value and the model's limit.

The model's shape comes from, in this order: the local copy the pretrain stage will load
(`paper.pretrain.local_models`/<hub repo>/config.json), the materialized models/pretrained/ when it
holds this `model`, else the registry (params.yaml `models`: the real checkpoint's config for
profile paper, the shape to build for profile tiny). A local copy whose shape or size differs from
its registry entry is a *warning*, not an error (random-weight fixtures are such copies): the
pretrain stage records it in pretrain_info.json and the report then names the model it really ran
and judges no paper claim on it. Only json and the standard library here: no torch, no transformers.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from xstilts.core import paths, tasks
from xstilts.core.groups import TINY_MAX_POSITIONS

ARCH_OF_MODEL_TYPE = {"xlm-roberta": "xlmr", "bert": "bert", "mt5": "mt5", "t5": "mt5"}
PARAMETER_TOLERANCE = 0.05   # a registry's parameters_m is rounded to the million; 5 % tells a fixture from the model
ENCODER_PREFIXES = {"xlmr": ("roberta.",), "bert": ("bert.",), "mt5": ("shared.", "encoder.")}


@dataclass
class Shape:
    """What is known of the encoder a run will use, and where it was read."""
    source: str                          # registry | local copy <path> | models/pretrained
    arch: str
    num_layers: int | None
    hidden_size: int | None = None
    vocab_size: int | None = None
    max_positions: int | None = None     # longest input in tokens (None: no limit known, or none: mT5)
    has_mlm_head: bool | None = None
    tokenizer_size: int | None = None
    parameters: int | None = None        # the encoder's, embeddings included (from the weights file's header)


@dataclass
class Findings:
    shape: Shape
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def local_copy(params) -> Path | None:
    """The folder the pretrain stage loads the model from, when a local copy is configured."""
    if params.profile != "paper":
        return None
    local = params.group("pretrain").local_models
    return Path(local) / params.model_spec().hub if local else None


def read_shape(folder: Path, source: str, deep: bool = True) -> Shape:
    """A checkpoint folder's shape from its config.json (and, when `deep`, the tokenizer.json and the
    safetensors header: the tokenizer's size and the encoder's parameter count, without loading weights)."""
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model_type = cfg.get("model_type", "?")
    arch = ARCH_OF_MODEL_TYPE.get(model_type, model_type)
    positions = cfg.get("max_position_embeddings")
    if positions is not None and arch == "xlmr":  # RoBERTa's positions start after the padding index
        positions -= cfg.get("pad_token_id", 1) + 1
    shape = Shape(source=source, arch=arch, num_layers=cfg.get("num_hidden_layers", cfg.get("num_layers")),
                  hidden_size=cfg.get("hidden_size", cfg.get("d_model")), vocab_size=cfg.get("vocab_size"),
                  max_positions=None if arch == "mt5" else positions,
                  has_mlm_head=any(a.endswith("ForMaskedLM") or a.endswith("ForPreTraining")
                                   for a in cfg.get("architectures") or []))
    if deep:
        shape.tokenizer_size = tokenizer_size(folder)
        shape.parameters = encoder_parameters(folder, arch)
    return shape


def tokenizer_size(folder: Path) -> int | None:
    """Token ids the tokenizer can emit: its model's vocabulary plus added tokens (tokenizer.json)."""
    path = folder / "tokenizer.json"
    if not path.exists():
        return None
    tok = json.loads(path.read_text(encoding="utf-8"))
    vocab = tok.get("model", {}).get("vocab") or {}
    ids = set(vocab.values()) if isinstance(vocab, dict) else set(range(len(vocab)))
    ids |= {t["id"] for t in tok.get("added_tokens", [])}
    return max(ids) + 1 if ids else None


def encoder_parameters(folder: Path, arch: str) -> int | None:
    """The encoder's parameter count from the safetensors headers (no weights read): the tensors under
    the encoder's prefix (roberta., bert., mT5's shared. + encoder.), pooler excluded."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    shapes = {}
    for f in files:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        shapes.update({k: v["shape"] for k, v in header.items() if k != "__metadata__"})
    prefixes = ENCODER_PREFIXES.get(arch, ())
    names = [k for k in shapes if k.startswith(prefixes)] or \
        [k for k in shapes if not k.startswith(("lm_head.", "cls.", "decoder.", "qa_outputs.", "classifier."))]
    total = 0
    for k in names:
        if ".pooler." in k or k.startswith("pooler."):
            continue
        size = 1
        for d in shapes[k]:
            size *= d
        total += size
    return total


# What a checkpoint folder needs to load in PyTorch: config, tokenizer files, safetensors weights; never
# the TF, Flax, ONNX or pytorch_model.bin copies the same repos also hold (several GiB for XLM-R large)
MODEL_FILES = ("*.json", "*.model", "*.txt", "*.safetensors")


def model_download_command(spec, local_dir: str) -> str:
    """`hf download` of a model at its pinned revision, limited to the files a PyTorch load reads."""
    return (f"hf download {spec.hub} --revision {spec.revision} --local-dir {local_dir} --include"
            + "".join(f" '{p}'" for p in MODEL_FILES))


def shape_of(params, deep: bool = True) -> tuple[Shape, list[str]]:
    """The run's model shape and the errors met reading it (a configured local copy that is not there)."""
    spec = params.model_spec()
    folder = local_copy(params)
    if folder is not None:
        if not (folder / "config.json").exists():
            return registry_shape(params), [
                f"model '{params.model}': no config.json in {folder} (paper.pretrain.local_models). Copy it there on a "
                f"machine with network: {model_download_command(spec, str(folder))}"]
        return read_shape(folder, f"local copy {folder}", deep), []
    info = paths.PRETRAIN_INFO
    if (paths.PRETRAINED / "config.json").exists() and info.exists():
        try:
            if json.loads(info.read_text()).get("name") == params.model:
                return read_shape(paths.PRETRAINED, str(paths.PRETRAINED), deep=False), []
        except (ValueError, OSError):  # a damaged info file: the registry then, and pretrain rewrites it
            pass
    return registry_shape(params), []


def registry_shape(params) -> Shape:
    spec = params.model_spec()
    tiny = params.profile == "tiny"
    positions = spec.max_positions if spec.max_positions is not None else (TINY_MAX_POSITIONS if tiny else None)
    return Shape(source="registry", arch=spec.arch, num_layers=spec.num_layers, hidden_size=spec.hidden_size,
                 vocab_size=spec.vocab_size, max_positions=positions, has_mlm_head=spec.arch != "mt5")


def registry_differences(spec, shape: Shape) -> list[str]:
    """How a loaded model differs from its registry entry (profile paper), one phrase each."""
    out = []
    for what, ours, theirs in (("arch", shape.arch, spec.arch), ("layers", shape.num_layers, spec.num_layers),
                               ("hidden size", shape.hidden_size, spec.hidden_size),
                               ("vocabulary", shape.vocab_size, spec.vocab_size)):
        if theirs is not None and ours is not None and ours != theirs:
            out.append(f"{what} {ours} (registry: {theirs})")
    if spec.parameters_m and shape.parameters is not None:
        millions = shape.parameters / 1e6
        if abs(millions - spec.parameters_m) > PARAMETER_TOLERANCE * spec.parameters_m:
            out.append(f"{millions:.2f}M encoder parameters (registry: {spec.parameters_m}M)")
    return out


def lengths(params) -> dict[str, int]:
    """Every max_seq_length this run uses, by the param that sets it."""
    profile = params.profile
    out = {f"{profile}.{group}.tasks.{task}.max_seq_length": params.group(group).for_task(task).max_seq_length
           for group, task in params.trained_tasks()}
    if params.intermediate_mlm:
        out[f"{profile}.intermediate_train.mlm.max_seq_length"] = \
            params.group("intermediate_train").mlm_params().max_seq_length
    if retrieves(params):
        out[f"{profile}.retrieval.max_seq_length"] = params.group("retrieval").max_seq_length
    if profile == "tiny":
        out["tiny.pretrain.max_seq_length"] = params.group("pretrain").max_seq_length
    return out


def retrieves(params) -> bool:
    """Whether the run evaluates a retrieval target (it reads the retrieval group and layer)."""
    return any(tasks.TARGETS[t].type == "retrieval" for t in params.active_targets)


def path_errors(params) -> list[str]:
    """The folders profile paper reads that must exist: the mirror, and CCGbank when ccg trains
    (the local models: shape_of). Profile tiny's are written by its own world stage."""
    if params.profile != "paper":
        return []
    data, out = params.group("data"), []
    if data.local_hub and not Path(data.local_hub).is_dir():
        out.append(f"paper.data.local_hub is {data.local_hub!r}, which does not exist: the folder of the Hub mirror "
                   f"(`xstilts preflight` lists the `hf download` commands that fill it)")
    if "ccg" in params.intermediate_members and not data.ccgbank:
        out.append(f"intermediate '{params.intermediate}' trains on ccg, which needs CCGbank (LDC2005T13, licensed; "
                   f"no Hub copy): set paper.data.ccgbank to its ccgbank_1_1 directory, or choose an intermediate "
                   f"task without ccg (`xstilts grid` runs every other experiment and marks the claims that need it)")
    elif "ccg" in params.intermediate_members and not (Path(data.ccgbank) / "data" / "AUTO").is_dir():
        out.append(f"paper.data.ccgbank is {data.ccgbank!r}, which holds no data/AUTO/: the ccgbank_1_1 directory "
                   f"of CCGbank (LDC2005T13)")
    return out


# --- the checks of a run against its model's shape: each gives its errors, one line each ------------
def retrieval_layer_fits(params, shape: Shape, name: str) -> list[str]:
    if not retrieves(params) or shape.num_layers is None:
        return []
    layer = params.retrieval_layer()
    if 0 <= layer <= shape.num_layers:
        return []
    key = f"{params.profile}.retrieval.layer" if params.group("retrieval").layer is not None else \
        f"{params.profile}.models.{params.model}.retrieval_layer"
    return [f"{key} is {layer}, but {name} has {shape.num_layers} layers: hidden_states "
            f"0..{shape.num_layers} (0 = the embeddings)"]


def lengths_fit(params, shape: Shape, name: str) -> list[str]:
    if shape.max_positions is None:
        return []
    return [f"{key} is {n}, but {name} takes at most {shape.max_positions} tokens (its position embeddings)"
            for key, n in lengths(params).items() if n > shape.max_positions]


def mlm_head_present(params, shape: Shape, name: str) -> list[str]:
    """params.yaml already refuses masked-LM on an mt5 entry (param_rules.py); this is the model's own
    config saying it has no LM head (a local copy, the materialized model)."""
    if params.intermediate_mlm and shape.has_mlm_head is False:
        return [f"intermediate_mlm is true, but {name} has no masked-LM head "
                f"({shape.arch}); use an xlmr or bert model, or intermediate_mlm: false"]
    return []


def tokenizer_fits(params, shape: Shape, name: str) -> list[str]:
    if shape.tokenizer_size is not None and shape.vocab_size is not None and shape.tokenizer_size > shape.vocab_size:
        return [f"{name}: its tokenizer emits ids up to {shape.tokenizer_size - 1}, but its embeddings "
                f"hold {shape.vocab_size}: the tokenizer belongs to another model"]
    return []


MODEL_CHECKS = (retrieval_layer_fits, lengths_fit, mlm_head_present, tokenizer_fits)


def run(params, deep: bool = False) -> Findings:
    """Every check of the run against its model (MODEL_CHECKS, in order), and whether a local copy is
    the registry's model. `deep` also reads the tokenizer and the weights' header of a local copy (a
    second or so for a 250k-token tokenizer)."""
    shape, errors = shape_of(params, deep)
    found = Findings(shape, errors + path_errors(params))
    name = f"model '{params.model}' ({shape.source})"
    for check in MODEL_CHECKS:
        found.errors.extend(check(params, shape, name))
    if shape.source.startswith("local copy"):
        differences = registry_differences(params.model_spec(), shape)
        if differences:
            found.warnings.append(
                f"{name} is not the registry's {params.model_spec().hub}: {', '.join(differences)}. The run works, "
                f"but its numbers are not that model's: the report says so and judges no paper claim")
    return found
