"""Phase (i), for stage `pretrain` (stages/pretrain.py), the pretrained multilingual encoder, into models/pretrained.

The encoder is the `model` param's entry in the profile's `models`.
Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages.
Profile paper: the Hub checkpoint materialized at its pinned revision (for mT5, its encoder stack),
so downstream stages depend on content in models/, not on a Hub cache.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

from xstilts.core import checks, io, paths
from xstilts.core.groups import TINY_MAX_POSITIONS
from xstilts.data import sources
from xstilts.model import encoders, tokenizers


def pack(tokenizer, corpus_files: list[Path], max_len: int, seed: int) -> list[list[int]]:
    """RoBERTa-style packing: consecutive sentences of one language fill each sequence up to
    max_len, so every position embedding gets trained (QA contexts are several sentences long).
    The sequences of all languages are then shuffled together (seeded). Each sequence is framed as
    the model frames one sentence: <s> ... </s> for XLM-R, [CLS] ... [SEP] for BERT."""
    start, end = tokenizer.cls_token_id, tokenizer.sep_token_id
    chunks = []
    for f in corpus_files:
        lines = [line for line in f.read_text(encoding="utf-8").splitlines() if line]
        random.Random(f"{seed}-{f.stem}").shuffle(lines)
        current = []
        for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]:
            ids = ids[:max_len - 2]
            if len(current) + len(ids) > max_len - 2:
                chunks.append([start, *current, end])
                current = []
            current.extend(ids)
        if current:
            chunks.append([start, *current, end])
    random.Random(seed).shuffle(chunks)
    return chunks


def pretrain_tiny(pretrain_params, spec, seed: int, out: Path, runtime_params) -> dict:
    """A tokenizer trained on the world's corpus, then masked-LM pretraining from scratch through
    the project's one trainer (xstilts/train/trainer.py) and its one masker (kinds/mlm.py). Under
    DDP every process trains the (deterministic) tokenizer into its own `out`; the main process's
    is the one kept. Returns the info, or {} in the other processes."""
    import torch

    from xstilts import kinds
    from xstilts.core.groups import TaskHparams, TrainParams
    from xstilts.model.heads import TaskModel
    from xstilts.train import checkpoint, runtime, trainer

    acc, resolved_runtime = runtime.start(runtime_params)
    torch.manual_seed(seed)
    corpus_files = sorted(paths.WORLD_CORPUS.glob("*.txt"))
    if not corpus_files:
        raise FileNotFoundError(f"no corpus under {paths.WORLD_CORPUS}: run `dvc repro world`")
    if spec.arch == "bert":
        tokenizer = tokenizers.train_wordpiece(corpus_files, out, pretrain_params.vocab_size)
    else:
        tokenizer = tokenizers.train_sentencepiece(corpus_files, out, pretrain_params.vocab_size)
    packed = [{"input_ids": ids} for ids in pack(tokenizer, corpus_files, pretrain_params.max_seq_length, seed)]

    mlm = encoders.tiny_masked_lm(spec, tokenizer, max_positions=TINY_MAX_POSITIONS)
    encoder, head = (mlm.bert, mlm.cls) if spec.arch == "bert" else (mlm.roberta, mlm.lm_head)
    model = TaskModel(encoder, {"mlm": (kinds.get("mlm"), head)})
    train_params = TrainParams(lr=pretrain_params.lr, warmup_ratio=pretrain_params.warmup_ratio,
                               weight_decay=pretrain_params.weight_decay, max_grad_norm=1.0, early_stopping_examples=0,
                               eval_every=pretrain_params.max_steps + 1, patience=1, tasks={}, log_every=50)
    hparams = TaskHparams(batch_size=pretrain_params.batch_size, epochs=1,
                          max_seq_length=pretrain_params.max_seq_length)
    key = checkpoint.digest(paths.WORLD_CORPUS, (paths.CODE_MANIFESTS / "pretrain.json").read_text(),
                            vars(pretrain_params), vars(spec), seed, resolved_runtime.numerics())
    curve = []
    _, stats = trainer.train(model, [trainer.Member("mlm", kinds.get("mlm"), [], [], hparams, train_feats=packed)],
                             tokenizer, train_params, seed, acc, runtime_params,
                             mlm_probability=pretrain_params.mlm_probability, total_steps=pretrain_params.max_steps,
                             checkpoint=checkpoint.Checkpoint("pretrain", "mlm", key), label="pretrain", curve=curve)
    if not acc.is_main_process:
        return {}
    mlm.to("cpu").save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    log = [{"step": c["step"], "mlm_loss": c["loss"]} for c in curve]
    return {"kind": "tiny-from-scratch", "arch": spec.arch,
            "parameters": sum(p.numel() for p in encoder.parameters()),
            "vocab_size": len(tokenizer), "steps": pretrain_params.max_steps,
            "final_mlm_loss": log[-1]["mlm_loss"], "first_mlm_loss": log[0]["mlm_loss"], "curve": log,
            "runtime": resolved_runtime.numerics(), "cost": (resolved_runtime, stats)}


def pretrain_paper(pretrain_params, spec, out: Path) -> dict:
    """The checkpoint with its MLM head (XLM-R, BERT: intermediate MLM continues it), or mT5's
    encoder stack alone (MT5EncoderModel drops the decoder's weights)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, MT5EncoderModel

    local_models = pretrain_params.local_models
    source = str(Path(local_models) / spec.hub) if local_models else spec.hub
    revision = None if local_models else spec.revision
    cls = MT5EncoderModel if spec.arch == "mt5" else AutoModelForMaskedLM
    print(f"pretrain: loading {spec.hub} from {source}" + ("" if local_models else f" @ {spec.revision}"))
    try:
        model = cls.from_pretrained(source, revision=revision)
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    except (ConnectionError, OSError) as e:
        raise sources.DataSourceError(
            f"could not load model {spec.hub} at revision '{spec.revision}' from {source}: "
            f"{type(e).__name__}: {e}\nTo use a local copy: on a machine with network run\n"
            f"  {checks.model_download_command(spec, f'<DIR>/{spec.hub}')}\n"
            f"then set `paper.pretrain.local_models: <DIR>` in params.yaml.") from e
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    encoder = model if spec.arch == "mt5" else model.base_model
    return loaded_info(spec, out, sum(p.numel() for p in encoder.parameters()), local=bool(local_models),
                       commit=getattr(model.config, "_commit_hash", None))


def loaded_info(spec, folder: Path, parameters: int, local: bool, commit: str | None) -> dict:
    """What was really loaded, for pretrain_info.json and the report: where from (a Hub commit, or a
    local copy: its path is machine-specific and stays out of this DVC-tracked file), its shape and
    parameter count, and how it differs from the registry entry (none: the paper's model)."""
    shape = checks.read_shape(folder, "loaded", deep=False)
    shape.parameters = parameters
    differences = checks.registry_differences(spec, shape)
    return {"kind": "local" if local else "hub", "arch": shape.arch, "model": spec.hub, "revision": spec.revision,
            "source": "a local copy (paper.pretrain.local_models)" if local else "the Hugging Face Hub",
            "commit": None if local else commit, "parameters": parameters, "num_layers": shape.num_layers,
            "hidden_size": shape.hidden_size, "vocab_size": shape.vocab_size,
            "registry": {"parameters_m": spec.parameters_m, "num_layers": spec.num_layers,
                         "hidden_size": spec.hidden_size, "vocab_size": spec.vocab_size},
            "differences": differences, "matches_registry": not differences}


def pretrain_encoder(params) -> None:
    """Stage `pretrain`: tiny: a tokenizer and MLM from scratch; paper: the pinned checkpoint; into
    models/pretrained/."""
    pretrain_params = params.group("pretrain")
    spec = params.model_spec()
    t0 = time.time()
    if params.profile == "paper":
        with io.atomic_dir(paths.PRETRAINED) as tmp:
            info = {"name": params.model, **pretrain_paper(pretrain_params, spec, tmp)}
            (tmp / paths.PRETRAIN_INFO.name).write_text(json.dumps(info, indent=2) + "\n")
    else:
        from xstilts.train import checkpoint, runtime
        runtime_params = params.runtime()
        runtime.relaunch(runtime_params)  # processes > 1: this command again under torchrun
        main_process = os.environ.get("RANK", "0") == "0"
        work = paths.PRETRAINED.with_name(f".{paths.PRETRAINED.name}.rank-{os.environ.get('RANK', '0')}")
        with io.atomic_dir(paths.PRETRAINED if main_process else work) as tmp:
            info = pretrain_tiny(pretrain_params, spec, params.seed, tmp, runtime_params)
            if main_process:
                used, stats = info.pop("cost")
                info = {"name": params.model, **info}
                (tmp / paths.PRETRAIN_INFO.name).write_text(json.dumps(info, indent=2) + "\n")
        if not main_process:
            shutil.rmtree(work, ignore_errors=True)
            return
        runtime.write_cost("pretrain", used, {"mlm": stats}, time.time() - t0)
        checkpoint.clear("pretrain")
    if info.get("differences"):
        print(f"warning: pretrain: {params.model} is not the registry's {info['model']}: "
              f"{', '.join(info['differences'])}; the report will say so and judge no paper claim on it")
    extra = f", MLM loss {info['first_mlm_loss']:.2f} -> {info['final_mlm_loss']:.2f}" \
        if "final_mlm_loss" in info else ""
    print(f"pretrain: {params.model} ({info['kind']}), {info['parameters']:,} encoder parameters{extra} -> "
          f"{paths.PRETRAINED}")
