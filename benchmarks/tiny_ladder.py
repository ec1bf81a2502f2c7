"""Speed of profile tiny's model ladder on this CPU: masked-LM pretraining steps per second (the
pretrain stage's batch and length) and what that makes of `max_steps`, per model of tiny.models.

  python benchmarks/tiny_ladder.py [--steps 30]

Random tokens over the nominal vocabulary; prints a table (run it alone: other jobs on the CPU
slow it down)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Vocab:
    """What modeling.tiny_masked_lm reads of a tokenizer."""

    def __init__(self, size: int):
        self.size, self.pad_token_id = size, 1

    def __len__(self) -> int:
        return self.size


def main() -> None:
    import torch

    from stages import config, modeling
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    params = config.load()
    pp = params.group("pretrain")
    torch.set_num_threads(pp.torch_threads)
    print(f"{'model':<14} {'arch':<5} {'params (M)':>10} {'steps/s':>8} {'pretrain (s)':>13}   "
          f"batch {pp.batch_size} x {pp.max_seq_length}, {pp.torch_threads} threads")
    for name in params.raw["tiny"]["models"]:
        spec = params.model_spec(name)
        torch.manual_seed(0)
        model = modeling.tiny_masked_lm(spec, _Vocab(pp.vocab_size), max_positions=256)
        opt = torch.optim.AdamW(model.parameters(), lr=pp.lr)
        ids = torch.randint(5, pp.vocab_size, (pp.batch_size, pp.max_seq_length))
        for step in range(args.steps + 3):
            if step == 3:
                t0 = time.perf_counter()
            loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        rate = args.steps / (time.perf_counter() - t0)
        n = sum(p.numel() for p in model.base_model.parameters()) / 1e6
        print(f"{name:<14} {spec.arch:<5} {n:>10.2f} {rate:>8.1f} {pp.max_steps / rate:>13.0f}")


if __name__ == "__main__":
    main()
