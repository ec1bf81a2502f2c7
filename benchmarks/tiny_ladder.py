"""Speed of profile tiny's model ladder on this CPU: masked-LM pretraining steps per second (the
pretrain stage's batch and length) and what that makes of `max_steps`, per model of tiny.models.

  python benchmarks/tiny_ladder.py [--steps 30] [--threads N] [--processes K] [--models a,b]

--threads overrides runtime.tiny.threads; --processes runs K copies at once (as
`xstilts grid -j K` runs K experiments) and reports each copy's rate and their sum, which shows
whether K jobs of N threads beat one job. Random tokens over the nominal vocabulary; prints a
table (run it alone: other jobs on the CPU slow it down, and threads beyond the cores slow it
down a lot)."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Vocab:
    """What encoders.tiny_masked_lm reads of a tokenizer."""

    def __init__(self, size: int):
        self.size, self.pad_token_id = size, 1

    def __len__(self) -> int:
        return self.size


def rate_of(name: str, params, threads: int, steps: int) -> float:
    import torch

    from xstilts.model import encoders
    pp = params.group("pretrain")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = encoders.tiny_masked_lm(params.model_spec(name), _Vocab(pp.vocab_size), max_positions=256)
    opt = torch.optim.AdamW(model.parameters(), lr=pp.lr)
    ids = torch.randint(5, pp.vocab_size, (pp.batch_size, pp.max_seq_length))
    for step in range(steps + 3):
        if step == 3:
            t0 = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    from xstilts.core import config
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--models", default=None, help="comma-separated names of tiny.models (default: all)")
    ap.add_argument("--rate-only", action="store_true", help=argparse.SUPPRESS)  # a child of --processes
    args = ap.parse_args()
    params = config.load()
    pp = params.group("pretrain")
    threads = args.threads or params.runtime().threads
    known = list(params.raw["tiny"]["models"])
    names = args.models.split(",") if args.models else known
    for name in names:
        if name not in known:
            ap.error(f"unknown model '{name}' (tiny.models: {', '.join(known)})")
    if args.rate_only:
        print(rate_of(names[0], params, threads, args.steps))
        return
    print(f"{'model':<14} {'arch':<5} {'params (M)':>10} {'threads':>7} {'procs':>5} {'steps/s each':>14} "
          f"{'steps/s total':>13} {'pretrain (s)':>13}   batch {pp.batch_size} x {pp.max_seq_length}")
    for name in names:
        spec = params.model_spec(name)
        if args.processes == 1:
            rates = [rate_of(name, params, threads, args.steps)]
        else:
            cmd = [sys.executable, __file__, "--rate-only", "--models", name, "--threads", str(threads),
                   "--steps", str(args.steps)]
            procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(args.processes)]
            rates = [float(p.communicate()[0].split()[-1]) for p in procs]
        n = config.approx_parameters(spec, pp.vocab_size)
        each = " / ".join(f"{r:.2f}" for r in rates)
        print(f"{name:<14} {spec.arch:<5} {n:>10.2f} {threads:>7} {args.processes:>5} {each:>14} "
              f"{sum(rates):>13.2f} {pp.max_steps / (sum(rates) / len(rates)):>13.0f}")


if __name__ == "__main__":
    main()
