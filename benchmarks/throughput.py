"""Training throughput of the paper profile's encoders, the table behind `xstilts grid --dry-run`'s
GPU-hour estimate (benchmarks/throughput.csv).

  python benchmarks/throughput.py --measure     # on a GPU: each model built from its real shape,
                                                # randomly initialized (no Hub), trained for a few steps
  python benchmarks/throughput.py --estimate    # no GPU: FLOP-based rows, marked as estimates

Measuring: bf16 autocast, AdamW, batch 32 x 256 tokens, a classification head on the first token,
5 warm-up steps then 20 timed ones. Rows of the other kind for the same model are kept; the
estimate reads a measured row first. Prints the table it writes.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "throughput.csv"
SEQ, BATCH = 256, 32
H100_BF16_DENSE = 989e12   # FLOP/s, NVIDIA's H100 SXM datasheet (the H200 has the same compute)
H100_HBM = 3.35e12         # bytes/s, same datasheet
ASSUMED_MFU = 0.30         # share of the FLOP peak an encoder fine-tuning step reaches: an assumption
ADAMW_BYTES = 28           # per parameter and step: read weight, grad, 2 moments (fp32), write 3 back

# The real shapes (config.json of each pinned checkpoint): layers, hidden, attention width, FFN, vocab;
# and all encoder parameters in millions (embeddings included: the optimizer updates them too).
PARAMETERS_M = {"xlm-roberta-large": 560, "xlm-roberta-base": 278, "mbert": 178, "mt5-small": 147, "mt5-base": 277,
                "mt5-large": 564}
SHAPES = {
    "xlm-roberta-large": ("xlmr", 24, 1024, 1024, 4096, 250002),
    "xlm-roberta-base": ("xlmr", 12, 768, 768, 3072, 250002),
    "mbert": ("bert", 12, 768, 768, 3072, 119547),
    "mt5-small": ("mt5", 8, 512, 384, 1024, 250112),
    "mt5-base": ("mt5", 12, 768, 768, 2048, 250112),
    "mt5-large": ("mt5", 24, 1024, 1024, 2816, 250112),
}


def flops_per_token(arch: str, layers: int, hidden: int, attn: int, ffn: int) -> float:
    """Training FLOPs per token: 6 x non-embedding weights (forward 2, backward 4) plus attention's
    score and value products (12 x layers x seq x attention width)."""
    ffn_weights = (3 if arch == "mt5" else 2) * hidden * ffn   # mT5's FFN is gated (wi_0, wi_1, wo)
    weights = layers * (4 * hidden * attn + ffn_weights)
    return 6 * weights + 12 * layers * SEQ * attn


def estimate_rows() -> list[dict]:
    """Per step of BATCH x SEQ tokens: the FLOPs at ASSUMED_MFU of the peak, plus AdamW's pass over
    every parameter at the memory bandwidth (it dominates for small encoders with 250k-word vocabularies)."""
    rows = []
    for m, shape in SHAPES.items():
        step = (BATCH * SEQ * flops_per_token(*shape[:5]) / (ASSUMED_MFU * H100_BF16_DENSE)
                + PARAMETERS_M[m] * 1e6 * ADAMW_BYTES / H100_HBM)
        rows.append({"model": m, "device": "H100 (not measured)", "train_tokens_per_s": round(BATCH * SEQ / step),
                     "source": f"estimate: FLOPs at {ASSUMED_MFU:.0%} of H100 bf16 peak + AdamW at HBM bandwidth, "
                               f"batch {BATCH} x {SEQ}"})
    return rows


def build(arch: str, layers: int, hidden: int, attn: int, ffn: int, vocab: int):
    from transformers import BertConfig, BertModel, MT5Config, MT5EncoderModel, XLMRobertaConfig, XLMRobertaModel
    if arch == "mt5":
        return MT5EncoderModel(MT5Config(vocab_size=vocab, d_model=hidden, d_kv=64, num_heads=attn // 64,
                                         num_layers=layers, d_ff=ffn, feed_forward_proj="gated-gelu",
                                         tie_word_embeddings=False))
    shape = dict(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=hidden // 64,
                 intermediate_size=ffn)
    if arch == "bert":
        return BertModel(BertConfig(**shape), add_pooling_layer=False)
    return XLMRobertaModel(XLMRobertaConfig(**shape, max_position_embeddings=514), add_pooling_layer=False)


def measure_rows(models: list[str]) -> list[dict]:
    import torch
    if not torch.cuda.is_available():
        sys.exit("--measure needs a CUDA GPU; use --estimate here")
    device = torch.cuda.get_device_name(0)
    rows = []
    for m in models:
        arch, *shape = SHAPES[m]
        model = build(arch, *shape).cuda()
        head = torch.nn.Linear(shape[1], 3).cuda()
        opt = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-5)
        ids = torch.randint(5, shape[-1] - 5, (BATCH, SEQ), device="cuda")
        labels = torch.randint(0, 3, (BATCH,), device="cuda")
        for step in range(25):
            if step == 5:
                torch.cuda.synchronize()
                t0 = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                h = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
                loss = torch.nn.functional.cross_entropy(head(h[:, 0]).float(), labels)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        tps = 20 * BATCH * SEQ / (time.perf_counter() - t0)
        rows.append({"model": m, "device": device, "train_tokens_per_s": round(tps),
                     "source": f"measured: bf16 autocast, AdamW, batch {BATCH} x {SEQ}"})
        del model, head, opt
        torch.cuda.empty_cache()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kind = ap.add_mutually_exclusive_group(required=True)
    kind.add_argument("--measure", action="store_true")
    kind.add_argument("--estimate", action="store_true")
    ap.add_argument("--models", default=",".join(SHAPES))
    args = ap.parse_args()
    models = args.models.split(",")
    new = measure_rows(models) if args.measure else [r for r in estimate_rows() if r["model"] in models]
    kept = []
    if OUT.exists():
        with open(OUT, encoding="utf-8") as f:
            old = list(csv.DictReader(line for line in f if not line.startswith("#")))
        replaced = {(r["model"], r["source"].split(":")[0]) for r in new}
        kept = [r for r in old if (r["model"], r["source"].split(":")[0]) not in replaced]
    rows = sorted(kept + new, key=lambda r: (r["model"], r["source"]))
    tmp = OUT.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("# Training throughput per paper-profile encoder (benchmarks/throughput.py writes it).\n")
        w = csv.DictWriter(f, fieldnames=["model", "device", "train_tokens_per_s", "source"])
        w.writeheader()
        w.writerows(rows)
    tmp.replace(OUT)
    print(f"{'model':<20} {'tokens/s':>10}  {'device':<24} source")
    for r in rows:
        print(f"{r['model']:<20} {r['train_tokens_per_s']:>10}  {r['device']:<24} {r['source']}")


if __name__ == "__main__":
    main()
