"""Multi-task sampling: which member task each optimizer step trains."""
from __future__ import annotations

import random


def sampling_weights(sizes: dict[str, int], sampler: str = "proportional", examples_cap: int = 2 ** 17,
                     temperature: float = 1.0) -> dict[str, float]:
    """Probability of drawing each task for an optimizer step. proportional: min(n_m, K) / sum_k
    min(n_k, K) (the paper's, after Raffel et al.; K = examples_cap); temperature: the same
    weights raised to 1/T before normalizing (T = 1 is proportional); uniform: 1 / #tasks."""
    if sampler == "uniform":
        weights = {m: 1.0 for m in sizes}
    elif sampler in ("proportional", "temperature"):
        t = 1.0 if sampler == "proportional" else temperature
        weights = {m: min(n, examples_cap) ** (1.0 / t) for m, n in sizes.items()}
    else:
        raise ValueError(f"unknown sampler '{sampler}'; valid: proportional, temperature, uniform")
    total = sum(weights.values())
    return {m: w / total for m, w in weights.items()}


def draw_member(rng: random.Random, probs: dict[str, float]) -> str:
    """The member one optimizer step trains, drawn with the sampler's probabilities."""
    names = list(probs)
    return names[0] if len(names) == 1 else rng.choices(names, weights=[probs[n] for n in names])[0]
