"""The GPU check, for the first time a GPU box is lent: xstilts' trainer on xlm-roberta-large's real
shape (random weights, no Hub) at each target's paper settings (params.yaml paper.target_train).

  python benchmarks/gpu_check.py [--model xlm-roberta-large] [--steps 10] [--processes N] [--out benchmarks/gpu.csv]
  python benchmarks/gpu_check.py --smoke --out /tmp/gpu.csv      # a tiny shape on CPU: every branch, 2 steps

Per target: step time, training tokens/s with every sequence at max_seq_length (the GPU-hour
estimate counts tokens that way), MFU (model FLOPs over the detected GPU's dense bf16 peak), peak
memory; then XNLI in fp32 against bf16, and XNLI on N GPUs (DDP, torchrun; --processes, default
every GPU this box lets us lease) against one. --smoke runs the same branches on CPU: bf16 autocast,
and DDP as 2 gloo processes; its rows are labelled model "smoke", which the estimate never reads.

This process never initializes CUDA. The one-process rows are measured in a child process, which
leases its GPU before CUDA starts (xstilts/core/leases.py) and frees it when it exits; for the DDP
row this process leases N GPUs, which narrows CUDA_VISIBLE_DEVICES to them, and starts torchrun
with one rank per GPU it holds (`ddp_processes`). Each row goes into --out (benchmarks/gpu.csv,
which xstilts/experiments/cost.py prefers to benchmarks/throughput.csv) as soon as it is measured,
the table rewritten to a temp file and renamed over it: a later crash keeps it. A rerun replaces
the rows of the same model, task, precision and processes and keeps the others.
"""
from __future__ import annotations

import argparse
import csv
import io
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
SMOKE_MAX_LEN, SMOKE_MAX_BATCH = 64, 4
CPU_PROCESSES = 2   # the DDP row on CPU (--smoke): gloo processes
FIELDS = ["model", "task", "device", "precision", "processes", "batch", "max_seq_length", "step_s",
          "train_tokens_per_s", "mfu", "peak_memory_gib", "source"]
KEY = ("model", "task", "precision", "processes")   # a rerun's row replaces the earlier one of the same key
HEAD = "# xstilts' trainer on a GPU (benchmarks/gpu_check.py writes it; the GPU-hour estimate prefers it)\n"


def peak_of(name: str) -> float | None:
    return next((v for k, v in BF16_PEAK.items() if k in name), None)


def ddp_processes(pool: list[str], asked: int | None, cuda: bool) -> int:
    """Processes of the DDP row. CUDA: `asked`, else one per GPU of `pool` (the GPUs this process
    may lease: xstilts.core.leases.candidates(), counted without initializing CUDA), and never
    more than the pool has; the launch then leases that many and starts one rank per leased GPU.
    CPU: `asked`, else CPU_PROCESSES gloo processes. Below 2: no DDP row."""
    if not cuda:
        return CPU_PROCESSES if asked is None else asked
    n = len(pool) if asked is None else asked
    if n > len(pool):
        raise SystemExit(f"gpu_check: --processes {n} but only {len(pool)} GPU(s) here "
                         f"({','.join(pool) or 'none'})")
    return n


def read_rows(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def record(path: Path, row: dict) -> None:
    """Put `row` into the table at `path` now: one comment line, one header, the rows; an earlier
    row of the same KEY is replaced in its place, else `row` goes last. Written to a temp file and
    renamed over `path`, so a crash at any point leaves the table as it was or with the row."""
    from xstilts.core.io import atomic_write_text
    key = tuple(str(row[k]) for k in KEY)
    rows = read_rows(path)
    at = next((i for i, r in enumerate(rows) if tuple(str(r.get(k)) for k in KEY) == key), None)
    if at is None:
        rows.append(row)
    else:
        rows[at] = row
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=FIELDS, restval="", extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(Path(path), HEAD + text.getvalue())


def setting(tt: dict, task: str, smoke: bool) -> tuple[int, int]:
    """(batch, max_seq_length) of a target at its paper settings (--smoke: at most 4 x 64)."""
    hp = tt["tasks"][task]
    if smoke:
        return min(hp["batch_size"], SMOKE_MAX_BATCH), min(hp["max_seq_length"], SMOKE_MAX_LEN)
    return hp["batch_size"], hp["max_seq_length"]


def one(model_name: str, shape, task: str, kind_name: str, batch: int, max_len: int, precision: str,
        steps: int, max_device_batch: int | None, device: str = "cuda") -> dict:
    """Time `steps` optimizer steps of the trainer (after 3 warm-up steps) in this process (a rank
    of DDP under torchrun). Nothing touches CUDA before runtime.start has leased the GPU."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts import kinds
    from xstilts.core import config
    from xstilts.model.heads import TaskModel
    from xstilts.train import runtime, trainer
    rt = config.RuntimeParams(device=device, precision=precision, max_device_batch=max_device_batch, processes=1,
                              deterministic=False, threads=torch.get_num_threads(), checkpoint_every=10 ** 9,
                              progress_every=10 ** 9)
    acc, used = runtime.start(rt)   # leases the GPU, then CUDA starts (under torchrun: the launcher's)
    cuda = used.device == "cuda"
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


def measure(cmd: list[str], out: Path, rows: list[dict], env: dict | None = None) -> bool:
    """Run a child that prints `ROW {json}` lines; record each row in `out` the moment it comes.
    False if the child failed (the rows it gave before are kept)."""
    print(f"gpu_check: {' '.join(cmd[1:])}", flush=True)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as child:
        for line in child.stdout:
            if line.startswith("ROW "):
                rows.append(json.loads(line[4:]))
                record(out, rows[-1])
                print(rows[-1], flush=True)
            else:
                sys.stdout.write(line)
    if child.returncode != 0:
        print(f"gpu_check: failed ({child.returncode}): {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    return child.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="xlm-roberta-large", choices=[m for m in SHAPES if SHAPES[m][0] == "xlmr"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--processes", type=int, default=None,
                    help=f"processes of the DDP row (default: every GPU here; on CPU {CPU_PROCESSES}; <2: none)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu.csv"))
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny shape on CPU, 2 steps, every branch (bf16 autocast, DDP over gloo): the code path")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)   # a child: task:precision[,...] -> ROW lines
    args = ap.parse_args()
    from xstilts import kinds
    from xstilts.core import config, leases, tasks
    raw = config.load(ROOT / "params.yaml").raw   # validated: a bad params.yaml fails here, not mid-benchmark
    tt = raw["paper"]["target_train"]
    mdb = raw["runtime"]["paper"]["max_device_batch"]
    shape = SMOKE_SHAPE if args.smoke else SHAPES[args.model]
    model = "smoke" if args.smoke else args.model
    steps = 2 if args.smoke else args.steps
    if args.one:  # a child (or a torchrun rank): measure, print each row as it comes
        for item in args.one.split(","):
            task, precision = item.split(":")
            batch, max_len = setting(tt, task, args.smoke)
            row = one(model, shape, task, kinds.of_task(task).name, batch, max_len, precision, steps, mdb,
                      device="cpu" if args.smoke else "cuda")
            if int(os.environ.get("RANK", "0")) == 0:
                print("ROW " + json.dumps(row), flush=True)
        return
    cuda = not args.smoke
    pool = leases.candidates() if cuda else []   # NVML or CUDA_VISIBLE_DEVICES: CUDA stays uninitialized here
    if cuda and not pool:
        sys.exit("gpu_check needs a CUDA GPU (or --smoke for the code path on CPU)")
    processes = ddp_processes(pool, args.processes, cuda)
    out = Path(args.out)
    targets = ["xnli", "xquad"] if args.smoke else [t for t in tt["tasks"] if tasks.TARGETS[t].trains]
    child = [sys.executable, str(Path(__file__).resolve()), "--model", args.model, "--steps", str(steps),
             *(["--smoke"] if args.smoke else [])]
    rows: list[dict] = []
    # One process: every target in bf16, then XNLI in fp32; the child leases one GPU and frees it on exit.
    ok = measure([*child, "--one", ",".join([*(f"{t}:bf16" for t in targets), "xnli:fp32"])], out, rows)
    if processes < 2:
        print(f"DDP: {processes} process(es) ({len(pool)} GPU(s) here): no multi-process row")
    else:  # DDP: lease the GPUs first, then one rank per GPU held (CUDA_VISIBLE_DEVICES narrowed to them)
        held = leases.lease(processes) if cuda else None
        try:
            ranks = len(held.devices) if held else processes
            if held:
                print(f"gpu_check: leased GPU(s) {','.join(held.devices)} for {ranks} processes", flush=True)
            ok &= measure([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
                           *child[1:], "--one", "xnli:bf16"], out, rows)
        finally:
            if held:
                held.release()
    print(f"{'task':<8} {'prec':<5} {'procs':>5} {'batch x len':>11} {'s/step':>7} {'tokens/s':>9} {'MFU':>5} "
          f"{'peak GiB':>8}  device")
    for r in rows:
        print(f"{r['task']:<8} {r['precision']:<5} {r['processes']:>5} {r['batch']:>4} x {r['max_seq_length']:<4} "
              f"{r['step_s']:>7} {r['train_tokens_per_s']:>9} {str(r['mfu']):>5} {str(r['peak_memory_gib']):>8}  "
              f"{r['device']}")
    print(f"-> {out}")
    if not ok:
        sys.exit("gpu_check: a measurement failed (the rows measured before it are in the table)")


if __name__ == "__main__":
    main()
