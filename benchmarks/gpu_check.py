"""The GPU check, for the first time a GPU box is lent: xstilts' trainer on xlm-roberta-large's real
shape (random weights, no Hub) at each target's paper settings (params.yaml paper.target_train).

  python benchmarks/gpu_check.py [--model xlm-roberta-large] [--steps 10] [--out benchmarks/gpu.csv]
  python benchmarks/gpu_check.py --smoke --out /tmp/gpu.csv      # a tiny shape on CPU: the code path only

Per target: step time, training tokens/s with every sequence at max_seq_length (the GPU-hour
estimate counts tokens that way), MFU (model FLOPs over the detected GPU's dense bf16 peak), peak
memory; then XNLI in fp32 against bf16, and XNLI on every GPU of the box (DDP, torchrun) against
one. Writes the table to --out (benchmarks/gpu.csv, which xstilts/research/cost.py prefers to
benchmarks/throughput.csv) and prints it.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from throughput import SHAPES, flops_per_token  # noqa: E402

# Dense bf16 peaks (FLOP/s) from the vendors' datasheets, by a substring of torch's device name.
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10": 125e12,
             "RTX 4090": 165e12, "V100": 125e12}
SMOKE_SHAPE = ("xlmr", 2, 64, 64, 128, 1000)
FIELDS = ["model", "task", "device", "precision", "processes", "batch", "max_seq_length", "step_s",
          "train_tokens_per_s", "mfu", "peak_memory_gib", "source"]


def peak_of(name: str) -> float | None:
    return next((v for k, v in BF16_PEAK.items() if k in name), None)


def one(model_name: str, shape, task: str, kind_name: str, batch: int, max_len: int, precision: str,
        steps: int, max_device_batch: int | None) -> dict:
    """Time `steps` optimizer steps of the trainer (after 3 warm-up steps) in this process."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts import kinds
    from xstilts.core import config
    from xstilts.model.heads import TaskModel
    from xstilts.train import runtime, trainer
    cuda = torch.cuda.is_available() and shape is not SMOKE_SHAPE
    rt = config.RuntimeParams(device="cuda" if cuda else "cpu", precision=precision,
                              max_device_batch=max_device_batch, processes=1, deterministic=False,
                              threads=torch.get_num_threads(), checkpoint_every=10 ** 9, progress_every=10 ** 9)
    acc, used = runtime.start(rt)
    _, layers, hidden, attn, ffn, vocab = shape
    kind = kinds.get(kind_name)
    n_choices = 2 if kind_name == "multiple_choice" else 1
    g = torch.Generator().manual_seed(0)

    def feat():
        ids = [0, *torch.randint(5, vocab, (max_len - 2,), generator=g).tolist(), 2]
        if kind_name == "multiple_choice":
            return {"choice_ids": [ids] * n_choices, "labels": 0}
        if kind_name == "qa":
            return {"input_ids": ids, "start_positions": 5, "end_positions": 9}
        if kind_name == "tagging":
            return {"input_ids": ids, "labels": [k % 7 for k in range(max_len)]}
        return {"input_ids": ids, "labels": 1}
    feats = [feat() for _ in range(batch * (steps + 3))]

    class Tok:
        pad_token_id = 1
    tp = config.TrainParams(lr=3e-6, warmup_ratio=0.1, weight_decay=0.01, max_grad_norm=1.0, early_stopping_examples=0,
                            eval_every=10 ** 9, patience=1, tasks={})
    hp = config.TaskHparams(batch_size=batch, epochs=1, max_seq_length=max_len)
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                           num_attention_heads=max(2, hidden // 64), intermediate_size=ffn,
                           max_position_embeddings=514, pad_token_id=1, attn_implementation="sdpa")
    model = TaskModel(XLMRobertaModel(cfg, add_pooling_layer=False), {"task": (kind, kind.head(hidden, 7))})
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    _, stats = trainer.train(model, [trainer.Member("task", kind, [], [], hp, train_feats=feats)], Tok(), tp, 0,
                             acc, rt, total_steps=3 + steps)
    timed = stats.step_seconds[3:]  # after 3 warm-up steps
    step = sum(timed) / len(timed)
    tokens = batch * n_choices * max_len / step   # the whole batch, over every process
    if cuda and used.processes > 1:  # MFU against the peak of all the processes' GPUs
        tokens_per_gpu = tokens / used.processes
    else:
        tokens_per_gpu = tokens
    peak = peak_of(used.device_name)
    return {"model": model_name, "task": task, "device": used.device_name, "precision": used.precision,
            "processes": used.processes, "batch": batch, "max_seq_length": max_len, "step_s": round(step, 6),
            "train_tokens_per_s": round(tokens), "mfu":
                round(flops_per_token(*shape[:5]) * tokens_per_gpu / peak, 3) if peak and cuda else "",
            "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 1) if cuda else "",
            "source": "measured: xstilts trainer, every sequence at max_seq_length"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="xlm-roberta-large", choices=[m for m in SHAPES if SHAPES[m][0] == "xlmr"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu.csv"))
    ap.add_argument("--smoke", action="store_true", help="a tiny shape on CPU, 2 targets: checks the code path")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)   # a torchrun child: one JSON row
    args = ap.parse_args()
    from xstilts import kinds
    from xstilts.core import config, tasks
    params = config.load(ROOT / "params.yaml")
    tt = params.raw["paper"]["target_train"]
    mdb = params.raw["runtime"]["paper"]["max_device_batch"]
    shape = SMOKE_SHAPE if args.smoke else SHAPES[args.model]
    if args.one:
        task, precision = args.one.split(":")
        hp = tt["tasks"][task]
        row = one(args.model, shape, task, kinds.of_task(task).name, hp["batch_size"], hp["max_seq_length"], precision,
                  args.steps, mdb)
        if int(os.environ.get("RANK", "0")) == 0:
            print("ROW " + json.dumps(row))
        return
    if not args.smoke and not torch.cuda.is_available():
        sys.exit("gpu_check needs a CUDA GPU (or --smoke for the code path on CPU)")
    targets = ["xnli", "xquad"] if args.smoke else [t for t in tt["tasks"] if tasks.TARGETS[t].trains]
    precision = "fp32" if args.smoke else "bf16"
    steps = 2 if args.smoke else args.steps
    rows = []
    for task in targets:
        hp = tt["tasks"][task]
        max_len = min(hp["max_seq_length"], 64) if args.smoke else hp["max_seq_length"]
        rows.append(one(args.model, shape, task, kinds.of_task(task).name, hp["batch_size"], max_len, precision,
                        steps, mdb))
        print(rows[-1], flush=True)
    if not args.smoke:
        hp = tt["tasks"]["xnli"]
        rows.append(one(args.model, shape, "xnli", "classification", hp["batch_size"], hp["max_seq_length"], "fp32",
                        steps, mdb))
        gpus = torch.cuda.device_count()
        if gpus > 1:
            out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                  f"--nproc_per_node={gpus}", __file__, "--model", args.model, "--steps", str(steps),
                                  "--one", "xnli:bf16"], capture_output=True, text=True, check=True).stdout
            rows.extend(json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW "))
        else:
            print("one GPU on this box: no multi-process row")
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("# xstilts' trainer on a GPU (benchmarks/gpu_check.py writes it; the GPU-hour estimate prefers it)\n")
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    print(f"{'task':<8} {'prec':<5} {'procs':>5} {'batch x len':>11} {'s/step':>7} {'tokens/s':>9} {'MFU':>5} "
          f"{'peak GiB':>8}  device")
    for r in rows:
        print(f"{r['task']:<8} {r['precision']:<5} {r['processes']:>5} {r['batch']:>4} x {r['max_seq_length']:<4} "
              f"{r['step_s']:>7} {r['train_tokens_per_s']:>9} {str(r['mfu']):>5} {str(r['peak_memory_gib']):>8}  "
              f"{r['device']}")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
