"""Phase (i), for stage `pretrain` (stages/pretrain.py), the pretrained multilingual encoder, into models/pretrained.

The encoder is the `model` param's entry in the profile's `models`.
Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages.
Profile paper: the Hub checkpoint materialized at its pinned revision (for mT5, its encoder stack),
so downstream stages depend on content in models/, not on a Hub cache.
"""
from __future__ import annotations

import random
from pathlib import Path

from xstilts.core import checks, paths
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


def pretrain_tiny(pp, spec, seed: int, out: Path, rt) -> dict:
    """A tokenizer trained on the world's corpus, then masked-LM pretraining from scratch through
    the project's one trainer (xstilts/train/trainer.py) and its one masker (kinds/mlm.py). Under
    DDP every process trains the (deterministic) tokenizer into its own `out`; the main process's
    is the one kept. Returns the info, or {} in the other processes."""
    import torch

    from xstilts import kinds
    from xstilts.core.groups import TaskHparams, TrainParams
    from xstilts.model.heads import TaskModel
    from xstilts.train import checkpoint, runtime, trainer

    acc, used = runtime.start(rt)
    torch.manual_seed(seed)
    corpus_files = sorted(paths.WORLD_CORPUS.glob("*.txt"))
    if not corpus_files:
        raise FileNotFoundError(f"no corpus under {paths.WORLD_CORPUS}: run `dvc repro world`")
    if spec.arch == "bert":
        tokenizer = tokenizers.train_wordpiece(corpus_files, out, pp.vocab_size)
    else:
        tokenizer = tokenizers.train_sentencepiece(corpus_files, out, pp.vocab_size)
    packed = [{"input_ids": ids} for ids in pack(tokenizer, corpus_files, pp.max_seq_length, seed)]

    mlm = encoders.tiny_masked_lm(spec, tokenizer, max_positions=TINY_MAX_POSITIONS)
    encoder, head = (mlm.bert, mlm.cls) if spec.arch == "bert" else (mlm.roberta, mlm.lm_head)
    model = TaskModel(encoder, {"mlm": (kinds.get("mlm"), head)})
    tp = TrainParams(lr=pp.lr, warmup_ratio=pp.warmup_ratio, weight_decay=pp.weight_decay, max_grad_norm=1.0,
                     early_stopping_examples=0, eval_every=pp.max_steps + 1, patience=1, tasks={}, log_every=50)
    hp = TaskHparams(batch_size=pp.batch_size, epochs=1, max_seq_length=pp.max_seq_length)
    key = checkpoint.digest(paths.WORLD_CORPUS, (paths.CODE_MANIFESTS / "pretrain.json").read_text(), vars(pp),
                            vars(spec), seed, used.numerics())
    curve = []
    _, stats = trainer.train(model, [trainer.Member("mlm", kinds.get("mlm"), [], [], hp, train_feats=packed)],
                             tokenizer, tp, seed, acc, rt, mlm_probability=pp.mlm_probability,
                             total_steps=pp.max_steps, checkpoint=checkpoint.Checkpoint("pretrain", "mlm", key),
                             label="pretrain", curve=curve)
    if not acc.is_main_process:
        return {}
    mlm.to("cpu").save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    log = [{"step": c["step"], "mlm_loss": c["loss"]} for c in curve]
    return {"kind": "tiny-from-scratch", "arch": spec.arch,
            "parameters": sum(p.numel() for p in encoder.parameters()),
            "vocab_size": len(tokenizer), "steps": pp.max_steps,
            "final_mlm_loss": log[-1]["mlm_loss"], "first_mlm_loss": log[0]["mlm_loss"], "curve": log,
            "runtime": used.numerics(), "cost": (used, stats)}


def pretrain_paper(pp, spec, out: Path) -> dict:
    """The checkpoint with its MLM head (XLM-R, BERT: intermediate MLM continues it), or mT5's
    encoder stack alone (MT5EncoderModel drops the decoder's weights)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, MT5EncoderModel

    source = str(Path(pp.local_models) / spec.hub) if pp.local_models else spec.hub
    revision = None if pp.local_models else spec.revision
    cls = MT5EncoderModel if spec.arch == "mt5" else AutoModelForMaskedLM
    print(f"pretrain: loading {spec.hub} from {source}" + ("" if pp.local_models else f" @ {spec.revision}"))
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
    return loaded_info(spec, out, sum(p.numel() for p in encoder.parameters()), local=bool(pp.local_models),
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
