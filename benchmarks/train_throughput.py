"""Training throughput of xstilts' trainer against transformers.Trainer, side by side in one run.

  python benchmarks/train_throughput.py [--configs tiny-xlmr/xnli,xlmr-base/xnli,xlmr-base/xquad] [--steps N]
                                        [--repeats R] [--profile]

Three trainers on the same model (the same random weights, from the real architecture's shape; no
Hub), the same features, the same effective batch, optimizer and number of steps:
  default   transformers.Trainer with run_xnli.py's / run_qa.py's default recipe: every sequence
            padded to max_seq_length (pad_to_max_length=True), fp32 (the scripts' default)
  best      transformers.Trainer with its best options: dynamic padding to a multiple of 8,
            train_sampling_strategy="group_by_length" (transformers 4: group_by_length=True), bf16 on CUDA,
            torch_compile on CUDA
  xstilts   xstilts/train/trainer.py as the pipeline runs it: dynamic padding to a multiple of 8,
            seeded length-grouped batches, SDPA, bf16 autocast on CUDA (fp32 on CPU, as profile tiny)
A fair race: both length-grouping samplers sort windows of 50 batches (HF's LengthGroupedSampler
takes min(examples / (4 x batch), 50) batches: each trainer gets at least 200 batches of examples,
of which it trains `steps`); the first WARMUP steps of every run are left out of the timed window
(allocator, kernels, torch.compile), each step timed end to end (the wall time between step ends,
everything the trainer does per step included); each trainer runs `repeats` times (>= 3) in
alternating order, and the table shows medians. Settings are profile paper's (params.yaml
paper.target_train: XNLI batch 4 x 256, XQuAD batch 16 x 384) and profile tiny's for tiny-xlmr.
Lengths are synthetic, drawn from log-normals shaped like the real data (MNLI premise+hypothesis:
median 45 XLM-R tokens; SQuAD windows: median 170, capped at 384): an assumption, stated, since the
real data is not here. Prints a table (tokens/s real and padded, ratios to `default` and `best`);
the last line is `ratio_vs_default=<r> ratio_vs_best=<r>`, the smallest ratios over the
configurations run. --profile prints cProfile's top functions of one xstilts run per configuration
(where its per-step time goes). Run it alone: other jobs on the machine skew it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# shape: arch, layers, hidden, attention width, FFN, vocab (benchmarks/throughput.py's SHAPES for the real ones)
CONFIGS = {
    "tiny-xlmr/xnli": dict(shape=("xlmr", 4, 128, 128, 512, 1000), task="classification", batch=32, max_len=64,
                           median=22, sigma=0.35),
    "xlmr-base/xnli": dict(shape=("xlmr", 12, 768, 768, 3072, 250002), task="classification", batch=4, max_len=256,
                           median=45, sigma=0.45),
    "xlmr-base/xquad": dict(shape=("xlmr", 12, 768, 768, 3072, 250002), task="qa", batch=16, max_len=384,
                            median=170, sigma=0.45),
    "xlmr-large/xnli": dict(shape=("xlmr", 24, 1024, 1024, 4096, 250002), task="classification", batch=4,
                            max_len=256, median=45, sigma=0.45),
    "xlmr-large/xquad": dict(shape=("xlmr", 24, 1024, 1024, 4096, 250002), task="qa", batch=16, max_len=384,
                             median=170, sigma=0.45),
}
PAD = 1
WARMUP = 3           # steps left out of the timed window
WINDOW_BATCHES = 50  # the length-grouping window, in batches, of both samplers (xstilts/train/batches.py)


def timed(ends: list[float], tokens: list[int], steps: int) -> tuple[float, int]:
    """(seconds, real tokens) of the `steps` steps after the warm-up, from each step's end time."""
    ends, tokens = ends[:WARMUP + steps], tokens[:WARMUP + steps]
    return ends[-1] - ends[WARMUP - 1], sum(tokens[WARMUP:])


def features(cfg: dict, n: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    vocab, out = cfg["shape"][-1], []
    lengths = torch.exp(torch.randn(n, generator=g) * cfg["sigma"]) * cfg["median"]
    for length in lengths.clamp(8, cfg["max_len"]).round().int().tolist():
        ids = [0, *torch.randint(5, vocab, (length - 2,), generator=g).tolist(), 2]
        f = {"input_ids": ids}
        if cfg["task"] == "qa":
            start = int(torch.randint(1, length - 2, (1,), generator=g))
            f.update(start_positions=start, end_positions=min(length - 2, start + 3))
        else:
            f["labels"] = int(torch.randint(0, 3, (1,), generator=g))
        out.append(f)
    return out


def config_of(cfg: dict):
    from transformers import XLMRobertaConfig
    _, layers, hidden, _, ffn, vocab = cfg["shape"]
    return XLMRobertaConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=max(2, hidden // 64), intermediate_size=ffn,
                            max_position_embeddings=max(514, cfg["max_len"] + 2), pad_token_id=PAD,
                            num_labels=2 if cfg["task"] == "qa" else 3,  # QA: start and end
                            attn_implementation="sdpa")


def run_xstilts(cfg, feats, steps, device, bf16):
    from transformers import XLMRobertaModel

    from xstilts import kinds
    from xstilts.core import config
    from xstilts.model.heads import TaskModel
    from xstilts.train import runtime, trainer

    rt = config.RuntimeParams(device=device, precision="bf16" if bf16 else "fp32", max_device_batch=None, processes=1,
                              deterministic=False, threads=torch.get_num_threads(), checkpoint_every=10 ** 9,
                              progress_every=10 ** 9)
    acc, _ = runtime.start(rt)
    torch.manual_seed(0)
    kind = kinds.get(cfg["task"])
    model = TaskModel(XLMRobertaModel(config_of(cfg), add_pooling_layer=False),
                      {"task": (kind, kind.head(cfg["shape"][2], 3))})
    tp = config.TrainParams(lr=1e-5, warmup_ratio=0.1, weight_decay=0.01, max_grad_norm=1.0, early_stopping_examples=0,
                            eval_every=10 ** 9, patience=1, tasks={}, group_by_length=True)
    hp = config.TaskHparams(batch_size=cfg["batch"], epochs=1, max_seq_length=cfg["max_len"])

    class Tok:
        pad_token_id = PAD
    _, stats = trainer.train(model, [trainer.Member("task", kind, [], [], hp, train_feats=feats)], Tok(), tp, 0, acc,
                             rt, total_steps=WARMUP + steps)
    return timed(stats.step_ends, stats.step_tokens, steps)


def run_hf(cfg, feats, steps, device, bf16, best: bool):
    from transformers import (
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        XLMRobertaForQuestionAnswering,
        XLMRobertaForSequenceClassification,
    )
    from transformers.utils import logging
    logging.set_verbosity_error()
    torch.manual_seed(0)
    cls = XLMRobertaForQuestionAnswering if cfg["task"] == "qa" else XLMRobertaForSequenceClassification
    model = cls(config_of(cfg))
    counted = {"real": []}

    def collate(batch):
        width = cfg["max_len"] if not best else -(-max(len(f["input_ids"]) for f in batch) // 8) * 8
        ids = torch.full((len(batch), width), PAD, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, f in enumerate(batch):
            ids[i, :len(f["input_ids"])] = torch.tensor(f["input_ids"])
            mask[i, :len(f["input_ids"])] = 1
        counted["real"].append(int(mask.sum()))  # in step order (a batch fetched ahead comes after)
        out = {"input_ids": ids, "attention_mask": mask}
        for key in ("labels", "start_positions", "end_positions"):
            if key in batch[0]:
                out[key] = torch.tensor([f[key] for f in batch])
        return out
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=cfg["batch"], max_steps=WARMUP + steps, learning_rate=1e-5,
            warmup_steps=int(0.1 * steps), weight_decay=0.01, max_grad_norm=1.0, logging_steps=10 ** 6,
            save_strategy="no", report_to=[], use_cpu=device == "cpu", dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if best else "random",  # transformers 5: was group_by_length
            bf16=bf16 and best, torch_compile=best and device == "cuda", seed=0, disable_tqdm=True,
            remove_unused_columns=False)
        ends = []

        class StepEnds(TrainerCallback):
            def on_step_end(self, *_, **__):
                if device == "cuda":
                    torch.cuda.synchronize()
                ends.append(time.perf_counter())
        trainer = Trainer(model=model, args=args, train_dataset=feats, data_collator=collate, callbacks=[StepEnds()])
        trainer.remove_callback(PrinterCallback)  # its end-of-training dict would interleave with the table
        trainer.train()
        return timed(ends, counted["real"], steps)


def median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def profile_xstilts(cfg, feats, steps, device, bf16) -> None:
    """cProfile's top functions (cumulative time) of one xstilts run: where a step's time goes."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.runcall(run_xstilts, cfg, feats, steps, device, bf16)
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default=None, help=f"comma-separated, of: {', '.join(CONFIGS)} "
                                                    "(default: tiny and base on CPU, large on CUDA)")
    ap.add_argument("--steps", type=int, default=None, help="timed optimizer steps per run (default: 24, QA on CPU 8)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per trainer, in alternating order (>= 3)")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's top functions of one xstilts run")
    args = ap.parse_args()
    if args.repeats < 3:
        ap.error("--repeats must be at least 3 (medians)")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    names = args.configs.split(",") if args.configs else (
        ["tiny-xlmr/xnli", "xlmr-base/xnli", "xlmr-base/xquad"] if device == "cpu"
        else ["xlmr-base/xnli", "xlmr-base/xquad", "xlmr-large/xnli", "xlmr-large/xquad"])
    for name in names:
        if name not in CONFIGS:
            ap.error(f"unknown config '{name}'; valid: {', '.join(CONFIGS)}")
    print(f"device {device}{' (bf16)' if bf16 else ''}, {torch.get_num_threads()} threads; the same model, features, "
          f"effective batch and steps for each trainer; {WARMUP} warm-up steps untimed; medians of {args.repeats} "
          f"runs each, in alternating order")
    print(f"{'config':<18} {'trainer':<9} {'batch x len':>11} {'steps':>5} {'s/step':>7} {'real tok/s':>10} "
          f"{'vs default':>10} {'vs best':>8}")
    worst = {"default": float("inf"), "best": float("inf")}
    trainers = {"default": lambda c, f, n: run_hf(c, f, n, device, bf16, best=False),
                "best": lambda c, f, n: run_hf(c, f, n, device, bf16, best=True),
                "xstilts": lambda c, f, n: run_xstilts(c, f, n, device, bf16)}
    for name in names:
        cfg = CONFIGS[name]
        steps = args.steps or (8 if device == "cpu" and cfg["task"] == "qa" and "tiny" not in name else 24)
        # >= 4 x 50 batches: HF's sampler then sorts 50-batch windows, as xstilts' does
        feats = features(cfg, cfg["batch"] * max(WARMUP + steps, 4 * WINDOW_BATCHES))
        seconds = {k: [] for k in trainers}
        tokens = {k: [] for k in trainers}
        order = list(trainers)
        for r in range(args.repeats):
            for k in order[r % len(order):] + order[:r % len(order)]:  # each trainer first in turn
                sec, real = trainers[k](cfg, feats, steps)
                seconds[k].append(sec)
                tokens[k].append(real)
        rate = {k: median([t / s for t, s in zip(tokens[k], seconds[k])]) for k in trainers}
        for k in trainers:
            print(f"{name:<18} {k:<9} {cfg['batch']:>4} x {cfg['max_len']:<4} {steps:>5} "
                  f"{median(seconds[k]) / steps:>7.3f} {rate[k]:>10,.0f} {rate[k] / rate['default']:>10.2f} "
                  f"{rate[k] / rate['best']:>8.2f}")
        worst["default"] = min(worst["default"], rate["xstilts"] / rate["default"])
        worst["best"] = min(worst["best"], rate["xstilts"] / rate["best"])
        if args.profile:
            profile_xstilts(cfg, feats, steps, device, bf16)
    print(f"ratio_vs_default={worst['default']:.2f} ratio_vs_best={worst['best']:.2f}")


if __name__ == "__main__":
    main()
