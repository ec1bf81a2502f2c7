"""Which examples each optimizer step trains on, and how a batch is split over processes and
micro-batches. Both are pure functions of the seed and the step: resuming, a second process or a
smaller `max_device_batch` never changes what is computed."""
from __future__ import annotations


class Shuffler:
    """Endless seeded epochs of a member's example indices, `batch_size` at a time (an epoch's last
    batch may be short). group_by_length: each epoch's permutation is cut into mega-batches of 50
    batches, each sorted by length, longest first (HF's LengthGroupedSampler), so a batch holds
    examples of similar length and pads little. The state is (epoch, position): each epoch's order
    is recomputed from (seed, epoch)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, group_by_length: bool = False):
        self.lengths, self.batch_size, self.seed, self.group = lengths, batch_size, seed, group_by_length
        self.epoch, self.pos, self._order = 0, 0, None

    def order(self, epoch: int) -> list[int]:
        import torch
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(self.lengths), generator=gen).tolist()
        if not self.group:
            return perm
        size = 50 * self.batch_size
        return [i for k in range(0, len(perm), size)
                for i in sorted(perm[k:k + size], key=lambda i: -self.lengths[i])]

    def next(self) -> list[int]:
        if self.pos >= len(self.lengths):
            self.epoch, self.pos, self._order = self.epoch + 1, 0, None
        if self._order is None:
            self._order = self.order(self.epoch)
        batch = self._order[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return batch

    def state(self) -> tuple[int, int]:
        return self.epoch, self.pos

    def restore(self, state) -> None:
        self.epoch, self.pos = state
        self._order = None


def split(n: int, parts: int) -> list[range]:
    """`n` items in `parts` contiguous ranges whose sizes differ by at most one."""
    q, r = divmod(n, parts)
    out, start = [], 0
    for k in range(parts):
        size = q + (k < r)
        out.append(range(start, start + size))
        start += size
    return out


def micro_batches(n_rows: int, processes: int, rank: int, rows_per_micro: int | None) -> list[range]:
    """This process's micro-batches (row ranges) of a global batch of `n_rows`. The batch is split
    into one shard per process, each shard into the same number of micro-batches on every process
    (DDP needs as many backward passes everywhere); a micro-batch can come out empty, which the
    trainer runs with weight 0."""
    shards = split(n_rows, processes)
    widest = max(len(s) for s in shards)
    k = max(1, -(-widest // rows_per_micro)) if rows_per_micro else 1
    mine = shards[rank]
    return [range(mine.start + r.start, mine.start + r.stop) for r in split(len(mine), k)]
