"""Progress you can watch: a tqdm bar on a terminal, a plain line every `every` seconds when stdout
is a file (under DVC, SLURM, nohup). Only the main process prints."""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    def __init__(self, label: str, total: int, every: float, enabled: bool = True, start: int = 0, unit: str = "step",
                 final: bool = True):
        """final: also print a line at the end (training), not only every `every` seconds (prediction)."""
        self.label, self.total, self.every, self.enabled, self.unit = label, total, every, enabled, unit
        self.final = final
        self.start_step, self.t0, self.last = start, time.time(), time.time()
        self.tokens = 0
        self.bar = None
        if enabled and sys.stdout.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=start, desc=label, unit=unit, dynamic_ncols=True)

    def update(self, step: int, loss: float | None = None, tokens: int = 0) -> None:
        if not self.enabled:
            return
        self.tokens += tokens
        now = time.time()
        rate = self.tokens / max(1e-9, now - self.t0)
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            post = {"tok/s": f"{rate:,.0f}"}
            if loss is not None:
                post["loss"] = f"{loss:.4f}"
            self.bar.set_postfix(post, refresh=False)
            return
        if now - self.last < self.every and not (self.final and step == self.total):
            return
        self.last = now
        done = step - self.start_step
        eta = (now - self.t0) / done * (self.total - step) if done else 0.0
        loss_text = f" loss {loss:.4f}" if loss is not None else ""
        print(f"{self.label}: {self.unit} {step}/{self.total} ({100 * step / max(1, self.total):.0f}%){loss_text} "
              f"{rate:,.0f} tok/s, {_clock(now - self.t0)} elapsed, ETA {_clock(eta)}", flush=True)

    def note(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(f"{self.label}: {text}")
        else:
            print(f"{self.label}: {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
